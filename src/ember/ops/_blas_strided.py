"""C += A @ B on strided sub-matrices of larger buffers, through the BLAS's cblas_?gemm.

np.matmul writes a fresh (or whole `out`) matrix; a convolution's input gradient wants each
kernel offset's product ADDED into a shifted window of one big buffer, and its weight gradient
reads shifted windows of one. cblas_?gemm does both directly: any leading dimension for A, B
and C, and beta = 1 accumulates into C in the same pass that computes the product (no product
buffer, no separate add over memory). Found in the OpenBLAS library ops/_gemm.py found (NumPy's
own); with any other BLAS `find` answers None and callers keep their NumPy route.
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _gemm

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


class _Fns:
    ready = False
    fns: dict = {}   # numpy dtype -> ctypes cblas_sgemm / cblas_dgemm


_f = _Fns()


def _load() -> None:
    _f.ready = True
    ptr = ctypes.c_void_p
    _f.fns = _gemm.cblas("gemm", lambda i, r: [ctypes.c_int, ctypes.c_int, ctypes.c_int, i, i, i,
                                               r, ptr, i, ptr, i, r, ptr, i])


class Gemm:
    """One dtype's strided GEMM: call(m, n, k, a, lda, b, ldb, beta, c, ldc, ta, tb) with a, b,
    c byte addresses (`address(arr) + offset * itemsize`) of row-major operands; ta/tb transpose
    A/B. The caller keeps the arrays alive and the windows inside them."""
    __slots__ = ("fn", "item")

    def __init__(self, fn, item: int):
        self.fn, self.item = fn, item

    def __call__(self, m, n, k, a, lda, b, ldb, beta, c, ldc, ta=False, tb=False):
        self.fn(_ROW_MAJOR, _TRANS if ta else _NO_TRANS, _TRANS if tb else _NO_TRANS,
                m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc)


def gemm_fns() -> dict:
    """cblas_sgemm / cblas_dgemm by NumPy dtype ({} without cblas), for other direct callers
    (ops/_linear_blas.py)."""
    if not _f.ready:
        _load()
    return _f.fns


def find(dtype, macs: int) -> Gemm | None:
    """The strided GEMM for `dtype` (float32/float64 only), with the BLAS set to the thread
    count ops/_gemm.py would use for products of `macs` multiply-adds; None without cblas."""
    if not _f.ready:
        _load()
    fn = _f.fns.get(np.dtype(dtype))
    if fn is None:
        return None
    _gemm.set_threads_for(macs)
    return Gemm(fn, np.dtype(dtype).itemsize)


def address(a: np.ndarray) -> int:
    """Byte address of a's first element."""
    return a.__array_interface__["data"][0]
