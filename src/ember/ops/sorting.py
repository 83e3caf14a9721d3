"""Sorting along a dim: sort, argsort, msort, topk. NaN sorts above every number, as in torch.
With stable=True equal values keep their order; otherwise (as in torch) their order is
unspecified and the faster sort is used."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .base import Op
from .indexing import scatter_into_zeros
from .reduce import _named
from .util import wrap_dim

_new = Tensor._new


def _argsort(x: np.ndarray, axis: int, descending: bool, stable: bool = True) -> np.ndarray:
    """argsort along axis, NaN last (first when descending); a stable one keeps equal values in
    their original order in both directions."""
    kind = "stable" if stable else None
    if not descending:
        return np.argsort(x, axis=axis, kind=kind)
    n = x.shape[axis]
    idx = np.argsort(np.flip(x, axis), axis=axis, kind=kind)
    return (n - 1) - np.flip(idx, axis)


# up to this k, topk takes k arg-max passes rather than one np.argpartition: argmax is a fast
# vectorised loop and NumPy's introselect is ~16 of them (512x1000, k=5: 0.45 ms against 4.2)
_FEW = 12


def _topk_by_passes(x: np.ndarray, k: int, axis: int, largest: bool):
    """Indices of the k largest (smallest) of floating x by k argmax (argmin) passes, each
    pick then set to -inf (inf) in a copy; None where that cannot be right: an infinite value
    among the picks (a set one could be picked again) or, for the smallest, a NaN (argmin
    would pick it; torch ranks NaN above every number)."""
    if not largest and np.isnan(x).any():
        return None
    w = x.copy()
    fill = w.dtype.type(-np.inf if largest else np.inf)
    pick = np.argmax if largest else np.argmin
    cols = []
    for _ in range(k):
        i = pick(w, axis=axis, keepdims=True)  # the first of equal values: ties by position
        np.put_along_axis(w, i, fill, axis=axis)
        cols.append(i)
    idx = np.concatenate(cols, axis=axis)
    if (np.take_along_axis(x, idx, axis=axis) == fill).any():
        return None
    return idx


def _topk_indices(x: np.ndarray, k: int, axis: int, largest: bool) -> np.ndarray:
    """Indices of the k largest (smallest) along axis, sorted by value (ties by position)."""
    n = x.shape[axis]
    if k == 1 and (largest or x.dtype.kind != "f" or not np.isnan(x).any()):
        return (np.argmax if largest else np.argmin)(x, axis=axis, keepdims=True)
    if 1 < k <= _FEW and k < n and x.dtype.kind == "f":
        idx = _topk_by_passes(x, k, axis, largest)
        if idx is not None:
            return idx
    if 0 < k < n:
        part = np.argpartition(x, n - k if largest else k - 1, axis=axis)
        part = np.take(part, np.arange(n - k, n) if largest else np.arange(k), axis=axis)
        part.sort(axis=axis)
    elif k == n:
        part = np.broadcast_to(np.arange(n).reshape([-1 if d == axis else 1
                                                     for d in range(x.ndim)]), x.shape)
    else:
        return np.zeros(x.shape[:axis] + (0,) + x.shape[axis + 1:], np.int64)
    order = _argsort(np.take_along_axis(x, part, axis=axis), axis, largest)
    return np.take_along_axis(part, order, axis=axis)


def _values_at(ctx, x: np.ndarray, dim: int, order) -> tuple:
    """The (values, indices) outputs of sort/topk: indices = order() along dim (a 0-dim x is its
    own value at index 0); ctx keeps what backward needs to put g back at the indices."""
    if x.ndim == 0:
        idx = np.zeros((), np.int64)
        vals = x.copy()
    else:
        idx = order()
        vals = np.take_along_axis(x, idx, axis=dim)
    ctx.shape, ctx.dim, ctx.idx = x.shape, dim, idx
    out_idx = _new(idx.astype(np.int64))  # a copy: the user may write into the returned indices
    ctx.mark_non_differentiable(out_idx)
    return _new(vals), out_idx


class SortBackward0(Op):
    """(values, indices) = sort(a, dim);  da = zeros with g put back at indices"""

    @staticmethod
    def forward(ctx, a, dim, descending, stable=False):
        x = a._data
        return _values_at(ctx, x, dim, lambda: _argsort(x, dim, descending, stable))

    @staticmethod
    def backward(ctx, g, gi=None):
        if not ctx.shape:
            return g, None, None, None
        return scatter_into_zeros(ctx.shape, ctx.dim, _new(ctx.idx), g), None, None, None


class SortBackward1(SortBackward0):
    """sort with an explicit `stable` argument (torch's sort.stable overload)"""


class TopkBackward0(SortBackward0):
    """(values, indices) = the k largest (smallest) of a along dim;  da = zeros with g put at
    indices"""

    @staticmethod
    def forward(ctx, a, k, dim, largest, sorted_):
        x = a._data
        return _values_at(ctx, x, dim, lambda: _topk_indices(x, k, dim, largest))

    @staticmethod
    def backward(ctx, g, gi=None):
        return SortBackward0.backward(ctx, g)[0], None, None, None, None


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable=None, *, out=None):
    """(values, indices) sorted along dim (ascending unless descending=True).
    Shape: both as input."""
    if isinstance(dim, bool):  # sort(input, stable, dim=..., descending=...) is not this
        raise TypeError("sort(): argument 'dim' must be int, not bool")
    d = wrap_dim(dim, input._data.ndim)
    node = SortBackward0 if stable is None else SortBackward1
    v, i = node.apply(input, d, bool(descending), bool(stable))
    return _named("sort")(v, i)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """The indices that sort input along dim.  Shape: as input (int64)."""
    x = input._data
    d = wrap_dim(dim, x.ndim)
    if x.ndim == 0:
        return _new(np.zeros((), np.int64))
    return _new(_argsort(x, d, bool(descending), bool(stable)).astype(np.int64, copy=False))


def msort(input: Tensor) -> Tensor:
    """Values sorted along dim 0."""
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *,
         out=None):
    """(values, indices) of the k largest (largest=False: smallest) elements along dim, in
    sorted order.  Shape: input's with k at dim."""
    x = input._data
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    k = int(k)
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    v, i = TopkBackward0.apply(input, k, d, bool(largest), bool(sorted))
    return _named("topk")(v, i)
