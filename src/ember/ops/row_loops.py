"""Elementwise ops against a number or a row vector, in the loop shapes NumPy runs fastest.

NumPy's speed depends on the shape of its inner loop, not just the element count:

- `bound`: max(x, c) and min(x, c) for a number c. NumPy (2.4) runs `np.maximum(x, 0.0)`
  through a slow scalar-operand loop: on 345,600 float32 elements (the seed CNN's first ReLU at
  batch 100) it takes 130 us, where `np.maximum(x, y)` with an array y of the same size takes
  45 and a multiply 30. So x is viewed as rows of _ROW elements and compared against one
  cached row of c (16 KB, stays in L1): the same results (NaN propagates, as with the scalar)
  in the fast loop. The bound is the first operand: NumPy returns the second of two equal
  values, so x's -0.0 survives max(x, 0), as in torch. Used by ReLU, clamp, hardtanh, ELU and
  the piecewise losses.
- `rows`: ufunc(a, v) for a (N, d) and v (d,) broadcast along the rows. NumPy runs it as N
  inner loops of d elements, up to 4x the time of the same op on two (N, d) arrays at d = 128
  (a bias add, a layer norm's scale); viewing a as (N / k, k d) against v tiled k times gives
  inner loops of ~8K elements.
"""
from __future__ import annotations

import math

import numpy as np

_ROW = 4096
# below this many elements the scalar loop costs less than the reshaping here (measured ~12K)
_MIN = 12288
_cache: dict = {}


def _row(dtype: np.dtype, c, n: int = _ROW) -> np.ndarray:
    """A cached read-only row of n = _ROW copies of c in dtype, or (n = 0) a 0-d array of it:
    NumPy compares against a 0-d array in ~half the time it takes to convert a number."""
    key = (dtype.char, c, n)
    if c == 0 and math.copysign(1.0, c) < 0:
        key = (dtype.char, "-0", n)  # 0.0 == -0.0 as dict keys, yet their rows differ
    r = _cache.get(key)
    if r is None:
        if len(_cache) > 64:  # many distinct bounds (a schedule of clamps): start over
            _cache.clear()
        r = _cache[key] = np.full(n or (), dtype.type(c), dtype)
        r.flags.writeable = False
    return r


def bound(ufunc, x: np.ndarray, c, out: np.ndarray | None = None) -> np.ndarray:
    """ufunc(x, c) for ufunc np.maximum, np.minimum, np.fmax or np.fmin, x floating and c a
    number that x's dtype holds (the result keeps x's dtype, as NumPy's for a Python number)."""
    n = x.size
    if n < _MIN or x.dtype.kind != "f" or not x.flags.c_contiguous or (
            out is not None and not (out.flags.c_contiguous and out.shape == x.shape
                                     and out.dtype == x.dtype)):
        c = _row(x.dtype, c, 0) if x.dtype.kind == "f" else c
        if out is not None and out.__class__ is np.ndarray:
            return ufunc(c, x, out=out)
        return np.asarray(ufunc(c, x))  # an array also for 0-dim x (NumPy gives a scalar)
    if out is None:
        out = np.empty(x.shape, x.dtype)
    row = _row(x.dtype, c)
    xf, of = x.reshape(-1), out.reshape(-1)
    k = n - n % _ROW
    ufunc(row, xf[:k].reshape(-1, _ROW), out=of[:k].reshape(-1, _ROW))
    if k < n:
        ufunc(row[:n - k], xf[k:], out=of[k:])
    return out


_TILE = 8192  # elements of the inner loop a row broadcast is regrouped into


def rows(ufunc, a: np.ndarray, v: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """ufunc(a, v) for a (N, d) C-contiguous and v (d,) (the result a's shape and dtype; v of
    a's dtype). Small or uneven shapes take NumPy's own broadcast."""
    n, d = a.shape
    k = _TILE // d if d else 0
    if k < 2 or n % k or a.size < 65536 or not a.flags.c_contiguous or v.dtype != a.dtype or (
            out is not None and not out.flags.c_contiguous):
        return ufunc(a, v) if out is None else ufunc(a, v, out=out)
    vt = np.empty((k, d), v.dtype)  # (a microsecond: paid back from ~64K elements)
    vt[...] = v
    shape = (n // k, k * d)
    if out is None:
        return ufunc(a.reshape(shape), vt.reshape(-1)).reshape(n, d)
    ufunc(a.reshape(shape), vt.reshape(-1), out=out.reshape(shape))
    return out
