"""In-place writes through a view of a tensor that autograd tracks (torch's CopySlices), and the
regeneration of a view's history after its base changed.

A view is described by the flat (C-order) positions in its base of each of its elements, found
from the two arrays' strides and offsets. An in-place `fn` on view `v` of base `b` records:

    ov  = b_old.flat[pos]            AsStridedBackward0 (a copy of the view's old values)
    r   = fn(ov, *others)            the op's own nodes
    b'  = b_old with b'.flat[pos]=r  CopySlices:  db_old = g with zeros at pos,  dr = g.flat[pos]

so the base's gradient is right and double backward works (every step is an ember op).
The view then reads the base's new history through an AsStridedBackward0 node.

Every write bumps the version counter that views share with their base; a view whose node was
made at another version is regenerated (as AsStridedBackward0 of the base's current history)
when it is next used, as torch regenerates `grad_fn` of views.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .base import Op
from .inplace import adopt, write

_new = Tensor._new


def flat_positions(v: np.ndarray, b: np.ndarray):
    """For every element of view array `v`, its flat C-order position in base array `b`; None
    when `v` does not lie in `b`'s memory (e.g. `b.data` was replaced)."""
    isz = b.itemsize
    if v.itemsize != isz or v.size == 0:
        return None if v.itemsize != isz else np.zeros(v.shape, np.int64)
    d = v.__array_interface__["data"][0] - b.__array_interface__["data"][0]
    if d % isz or any(s % isz for s in v.strides) or any(s % isz for s in b.strides):
        return None
    mem = np.full(v.shape, d // isz, np.int64)  # memory offset of each view element
    for k, (n, s) in enumerate(zip(v.shape, v.strides)):
        if n > 1 and s:
            shape = [1] * v.ndim
            shape[k] = n
            mem += np.arange(0, n * (s // isz), s // isz, dtype=np.int64).reshape(shape)
    if b.flags.c_contiguous:
        if mem.min() < 0 or mem.max() >= b.size:
            return None
        return mem
    # general layout: invert b's memory map
    bmem = np.zeros(b.shape, np.int64)
    for k, (n, s) in enumerate(zip(b.shape, b.strides)):
        if n > 1 and s:
            shape = [1] * b.ndim
            shape[k] = n
            bmem += np.arange(0, n * (s // isz), s // isz, dtype=np.int64).reshape(shape)
    lo, hi = int(bmem.min()), int(bmem.max())
    if mem.min() < lo or mem.max() > hi:
        return None
    table = np.full(hi - lo + 1, -1, np.int64)
    table[(bmem - lo).ravel()] = np.arange(b.size, dtype=np.int64)
    pos = table[mem - lo]
    return None if (pos < 0).any() else pos


class _TakeFlat(Op):
    """out = a.flatten()[pos];  da = zeros with g put at pos"""

    @staticmethod
    def forward(ctx, a, pos, out=None):
        ctx.shape, ctx.pos = a._data.shape, pos
        return np.take(a._data, pos) if out is None else out

    @staticmethod
    def backward(ctx, g):
        return _PutFlatZeros.apply(g, ctx.shape, ctx.pos), None, None


class AsStridedBackward0(_TakeFlat):
    """A view's elements read from its base (pos: their flat positions in the base)."""


class _PutFlatZeros(Op):
    """out = zeros(shape) with out.flat[pos] += g;  dg = out_grad.flat[pos]"""

    @staticmethod
    def forward(ctx, g, shape, pos):
        ctx.pos = pos
        out = np.zeros(int(np.prod(shape)), g._data.dtype)
        out[pos] = g._data  # the positions of a writable view never repeat
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, gg):
        return _TakeFlat.apply(gg, ctx.pos), None, None


class _ZeroFlat(Op):
    """out = g with out.flat[pos] = 0;  dg = out_grad with zeros at pos"""

    @staticmethod
    def forward(ctx, g, pos):
        ctx.pos = pos
        out = np.array(g._data, order="C")
        out.reshape(-1)[pos.ravel()] = 0
        return out

    @staticmethod
    def backward(ctx, gg):
        return _ZeroFlat.apply(gg, ctx.pos), None


class CopySlices(Op):
    """base_new = base_old with base_new.flat[pos] = r;  dbase_old = g with zeros at pos,
    dr = g.flat[pos]"""

    @staticmethod
    def forward(ctx, old_base, r, pos, arr):
        ctx.pos = pos
        return arr  # the base's own array, already written

    @staticmethod
    def backward(ctx, g):
        ga = _ZeroFlat.apply(g, ctx.pos) if ctx.needs_input_grad[0] else None
        gr = _TakeFlat.apply(g, ctx.pos) if ctx.needs_input_grad[1] else None
        return ga, gr, None, None

    def name(self):
        return "ember::autograd::CopySlices"


def _history_alias(t: Tensor) -> Tensor:
    """A tensor over t's array carrying t's current history (t itself is about to change)."""
    a = _new(t._data, t._rg)
    a.grad_fn, a._output_nr = t.grad_fn, t._output_nr
    if t._rg and t.grad_fn is None:
        a._accumulator = t._get_accumulator()
    return a


def rebase_view(view: Tensor, fn, others, reads_self: bool = True, regen: bool = True) -> Tensor:
    """Apply in-place `fn` to `view` and rebase its base's history (see the module doc).
    reads_self=False: fn's result does not depend on the old values (fill_, copy_), so they
    get no history. regen=False: the view is a temporary whose own node is never read."""
    base = view._base
    pos = flat_positions(view._data, base._data)
    if pos is None:  # not inside its base any more: an ordinary in-place op
        from .inplace import record_inplace
        return record_inplace(view, fn, others)
    old_base = _history_alias(base)
    ov = _TakeFlat.apply(old_base, pos) if reads_self else _new(view._data)
    r = fn(ov, *others)
    write(view, r._data)
    new = CopySlices.apply(old_base, r, pos, base._data)
    base.grad_fn, base._output_nr, base._rg = new.grad_fn, 0, new._rg
    adopt(view, r)  # re-points a saved output of r's node at the view
    if regen:
        _set_view_history(view, base, pos)
    return view


def _set_view_history(view: Tensor, base: Tensor, pos) -> None:
    if base._rg:
        t = AsStridedBackward0.apply(base, pos, view._data)
        view.grad_fn, view._rg, view._output_nr = t.grad_fn, True, 0
        view.grad_fn._vv = view._vc[0]
    else:
        view.grad_fn, view._rg = None, False


def refresh_view(view: Tensor):
    """The view's node, regenerated from its base's current history when a write changed the
    version since the node was made; returns the (new) node."""
    fn = view.grad_fn
    base = view._base
    if base is None or fn is None or fn._vv is None or fn._vv == view._vc[0]:
        return fn
    pos = flat_positions(view._data, base._data)
    if pos is None or not base._rg:
        fn._vv = view._vc[0]
        return fn
    from ..autograd.grad_mode import state
    prev, state.enabled = state.enabled, True
    try:
        _set_view_history(view, base, pos)
    finally:
        state.enabled = prev
    return view.grad_fn
