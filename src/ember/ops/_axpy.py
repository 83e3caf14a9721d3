"""y += alpha * x in one pass, through the BLAS's saxpy/daxpy when it is OpenBLAS.

NumPy has no fused multiply-add, so `p -= lr * g` is two passes over memory (a scaled
temporary, then the add); plain SGD's update of a large weight is bandwidth-bound, and
BLAS's axpy does it in one, rounding once as torch's `add_(g, alpha=-lr)` kernel does (a
fused multiply-add). Small arrays keep the NumPy route: a ctypes call costs more than it saves.
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _gemm

_MIN = 4096  # elements below which the two NumPy calls are cheaper than a ctypes call
_char = ctypes.c_char
_addr = ctypes.addressof


class _Axpy:
    ready = False
    fns: dict = {}   # numpy dtype -> ctypes function (absent: use NumPy)


_axpy = _Axpy()


def _find() -> None:
    """The BLAS's saxpy/daxpy, from the OpenBLAS library _gemm found (none for other BLAS)."""
    _axpy.ready = True
    _axpy.fns = _gemm.cblas("axpy", lambda i, r: [i, r, ctypes.c_void_p, i, ctypes.c_void_p, i])


def axpy_(y: np.ndarray, alpha: float, x: np.ndarray, tmp: np.ndarray | None,
          small: int = _MIN) -> None:
    """y += alpha * x; `tmp` (y's shape and dtype, or None to allocate) is scratch for the
    NumPy route, taken below `small` elements (0: BLAS whenever it can, for torch's rounding)."""
    if not _axpy.ready:
        _find()
    fn = _axpy.fns.get(y.dtype) if y.size >= small else None
    if fn is None or x.dtype != y.dtype or x.shape != y.shape or not (
            x.flags.c_contiguous and y.flags.c_contiguous and y.flags.writeable):
        _numpy_axpy(y, alpha, x, tmp)
        return
    if _gemm._blas.current != 1:  # one thread: axpy is bandwidth-bound, threads only spin
        if not _gemm._blas.ready:
            _gemm._find()
        _gemm._use(1)
    try:  # from_buffer: the address in 0.3 us where arr.ctypes.data takes 1.2
        px, py = _addr(_char.from_buffer(x)), _addr(_char.from_buffer(y))
    except (TypeError, ValueError):  # a read-only x
        _numpy_axpy(y, alpha, x, tmp)
        return
    fn(y.size, alpha, px, 1, py, 1)


def _numpy_axpy(y, alpha, x, tmp):
    # alpha as a 0-d array of y's dtype: the value NumPy would cast a Python float to, without
    # the scalar conversion that makes up half of a small array's multiply
    a = np.array(alpha, y.dtype) if y.dtype.kind == "f" else alpha
    if tmp is None:
        y += x * a
    else:
        np.multiply(x, a, out=tmp)
        np.add(y, tmp, out=y)
