"""A linear layer's forward product x @ W.T + b through the BLAS's cblas_?gemm, in the operand
layout that is fastest for its shape, with the bias added by the product itself.

np.matmul(x, W.T) with W C-contiguous runs OpenBLAS's "NT" GEMM, which packs W transposed
for every call: for the few rows of a generation step (64 tokens, d_model 128) that packing
makes the product ~25% slower than the same product on a C-contiguous W.T ("NN"). OpenBLAS's
own out-of-place transpose (cblas_?omatcopy) writes W.T in 5-12 us for 16K-64K weights, well
under that difference, so from NN_MIN_ROWS rows (and while the transpose stays small against
the product) the weight is transposed into a scratch buffer and the product runs NN; torch's
MKL runs NT at NN's speed (bench/linear_layouts.py measures all routes per shape).

The bias is broadcast into the output first and the GEMM accumulates onto it (beta = 1, as
torch's addmm): no separate pass over the output for the add. Fewer rows than that take
ops/_gemm.py's route (its weight-side-first form below 64 rows, NumPy's GEMV for one row).
Only float32/float64 on OpenBLAS; `linear` answers None elsewhere and callers keep NumPy.
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _gemm, _blas_strided

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
# from this many rows the NN product on a transposed copy of W beats NT (bench/linear_layouts.py;
# below it _gemm's weight-side-first form wins where it applies; at 1024 rows, caches cold as in
# a training step, NN still 2-5% faster); from NT_MIN_ROWS rows NT runs without the transpose,
# which a large weight would no longer repay; so does a layer of at most NT_MAX_OUT outputs
# (a classifier head: 64 -> 10 at 64 rows, NT through cblas 0.55-0.6x NumPy's matmul, NN 0.8x)
NN_MIN_ROWS, NT_MIN_ROWS, NT_MAX_OUT = 24, 2048, 16

# OpenBLAS's small-matrix kernels (built for AVX-512 cores: SkylakeX and later) serve products of
# up to 100^3 multiply-adds without packing the operands. A training batch's first layer with a
# deep input, x (64, 784) @ W.T (784 -> 128), runs as row pieces of 8 (800K each) in 128 us
# against 166 for the one product (torch 140); pieces of 10+ rows leave those kernels (445 us),
# and with K < 512 they lose to the packed kernels, so only deep K takes pieces; so do layers of
# more than NT_MAX_OUT outputs only (a classifier head is faster NT in one call: 64x1024 -> 10
# 20 us against 29 as pieces) and from 24 rows (16x512 -> 64: 16 us against 18)
PIECE_ROWS, PIECE_MACS, PIECE_MIN_K, PIECE_MIN_ROWS, PIECE_MAX_ROWS = 8, 1_000_000, 512, 24, 128
_SMALL_KERNEL_CORES = (b"SkylakeX", b"Cooperlake", b"SapphireRapids")
MIN_ROWS = min(NN_MIN_ROWS, PIECE_MIN_ROWS)  # fewer rows: linear() always answers None

_char = ctypes.c_char
_addr = ctypes.addressof


class _Fns:
    ready = False
    gemm: dict = {}      # numpy dtype -> cblas_?gemm
    omatcopy: dict = {}  # numpy dtype -> cblas_?omatcopy
    small_kernels = False  # whether the OpenBLAS core has the small-matrix kernels


_f = _Fns()


def _load() -> None:
    _f.ready = True
    ptr = ctypes.c_void_p
    _f.gemm = _blas_strided.gemm_fns()
    _f.omatcopy = _gemm.cblas("omatcopy", lambda i, r: [ctypes.c_int, ctypes.c_int, i, i, r, ptr,
                                                        i, ptr, i])
    try:
        core = getattr(_gemm._blas.dll, _gemm._blas.symbol("openblas_get_corename"))
        core.restype = ctypes.c_char_p
        _f.small_kernels = core() in _SMALL_KERNEL_CORES
    except (AttributeError, TypeError):  # not OpenBLAS
        _f.small_kernels = False


def _address(a: np.ndarray) -> int:
    try:  # from_buffer: the address in 0.3 us where arr.ctypes.data takes 1.2
        return _addr(_char.from_buffer(a))
    except (TypeError, ValueError):  # read-only
        return a.__array_interface__["data"][0]


def linear(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None,
           layout: str | None = None) -> np.ndarray | None:
    """x @ w.T (+ bias) for x (m, k) and w (n, k) C-contiguous of one float dtype, bias (n,) of
    that dtype or None; None where this route does not apply (the caller uses NumPy).
    `layout` forces "nn" or "nt" (benchmarks and tests); None picks by shape, and answers None
    below NN_MIN_ROWS rows and where _gemm's weight-side-first form is faster."""
    m, k = x.shape
    n = w.shape[0]
    if layout is None:
        if k >= PIECE_MIN_K and PIECE_MIN_ROWS <= m <= PIECE_MAX_ROWS and n > NT_MAX_OUT:
            out = _row_pieces(x, w, bias)
            if out is not None:
                return out
        if m < NN_MIN_ROWS or _gemm._weight_side_first(x, w.T):
            return None
        layout = "nt" if m >= NT_MIN_ROWS or n <= NT_MAX_OUT else "nn"
    return _product(x, w, bias, layout)


def _row_pieces(x, w, bias):
    """x @ w.T (+ bias) as products of a few rows each, for OpenBLAS's small-matrix kernels;
    None where they are not available or the pieces would be too thin."""
    if not _f.ready:
        _load()
    m, k = x.shape
    n = w.shape[0]
    rows = min(PIECE_ROWS, PIECE_MACS // (k * n))
    if not _f.small_kernels or rows < 4 or m * k * n >= _gemm.SERIAL_MACS or \
            x.dtype != w.dtype or x.dtype.kind != "f" or x.dtype.itemsize < 4 or \
            not (x.flags.c_contiguous and w.flags.c_contiguous):
        return None
    if _gemm._blas.current != 1:
        _gemm._use(1)
    out = np.empty((m, n), x.dtype)
    wt = w.T
    for i in range(0, m, rows):
        _gemm._matmul(x[i:i + rows], wt, out=out[i:i + rows])
    if bias is not None:
        out += bias
    return out


def transposed_product(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """a @ b for b the transpose of a C-contiguous matrix (x @ W.T), for _gemm.gemm once its
    weight-side-first test said no: the cblas route from NN_MIN_ROWS to NT_MIN_ROWS rows, else
    None (NumPy's matmul)."""
    m = a.shape[0]
    if m < NN_MIN_ROWS or m >= NT_MIN_ROWS or b.flags.c_contiguous:
        return None
    return _product(a, b.T, None, "nt" if b.shape[1] <= NT_MAX_OUT else "nn")


def _product(x, w, bias, layout):
    m, k = x.shape
    n = w.shape[0]
    macs = m * n * k
    if not _f.ready:
        _load()
    dt = x.dtype
    fn = _f.gemm.get(dt)
    if fn is None or w.dtype != dt or not (x.flags.c_contiguous and w.flags.c_contiguous) or (
            bias is not None and (bias.dtype != dt or bias.shape != (n,))) or \
            (macs >= _gemm.SERIAL_MACS and _gemm.allowed() != 1) or k == 0 or n == 0:
        return None  # (several threads: _gemm.gemm picks their count by timing)
    if _gemm._blas.current != 1:
        _gemm._use(1)
    out = np.empty((m, n), dt)
    if bias is not None:
        out[...] = bias
    beta = 0.0 if bias is None else 1.0
    px = _address(x)
    if layout == "nn" and dt in _f.omatcopy:
        wt = np.empty((k, n), dt)
        pwt = _address(wt)
        _f.omatcopy[dt](_ROW_MAJOR, _TRANS, n, k, 1.0, _address(w), k, pwt, n)
        fn(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, m, n, k, 1.0, px, k, pwt, n, beta, _address(out), n)
    else:
        fn(_ROW_MAJOR, _NO_TRANS, _TRANS, m, n, k, 1.0, px, k, _address(w), k, beta,
           _address(out), n)
    return out
