"""`Op`: the base of every built-in op. The class is both the autograd Function and its node,
named as torch names the node (`MulBackward0`), so `grad_fn` prints like torch's.

`Op.apply` is `Function.apply` specialised for the hot path: built-in forwards take tensors and
Python values and return NumPy arrays, never record anything themselves, and most have a single
output, so the common cases skip the general output handling.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function, Node, _Saved, _wrap_outputs
from ..autograd.grad_mode import state as _grad_state

_ndarray = np.ndarray
_object_new = object.__new__
_NO_EDGE = (None, 0)


class Op(Node, Function):
    _is_node_base = True
    # torch lists a Python number among the first `_number_edges` arguments (add/sub/mul/div's
    # operands) in next_functions as (None, 0), as it does an input that needs no gradient
    _number_edges = 0
    # an elementwise op whose whole forward, on two tensors of one floating dtype, is this NumPy
    # ufunc and saves nothing: record_binary calls it directly (add, sub)
    _float_ufunc = None
    # every gradient array the backward returns is new and none is returned twice (a linear
    # layer's three): the engine skips its check for one array reaching two inputs
    _fresh_grads = False

    @classmethod
    def apply(cls, *args):
        if _grad_state.enabled:
            if len(args) == 1:
                a = args[0]
                if a.__class__ is Tensor and a._rg:
                    return record_unary(cls, a)
            elif len(args) == 2:
                a, b = args
                if b.__class__ is Tensor and a.__class__ is Tensor and (a._rg or b._rg):
                    return record_binary(cls, a, b)
            elif len(args) == 3:  # (a linear layer's addmm: bias, input and weight)
                a, b, c = args
                if isinstance(a, Tensor) and isinstance(b, Tensor) and isinstance(c, Tensor) \
                        and (a._rg or b._rg or c._rg):
                    return record_ternary(cls, a, b, c)
            for a in args:
                if isinstance(a, Tensor) and a._rg:
                    return _apply_recording(cls, _object_new(cls), args)
        ctx = _object_new(cls)
        out = cls.forward(ctx, *args)
        if out.__class__ is _ndarray:
            t = _object_new(Tensor)
            t._data = out
            t._rg = False
            t._grad = None
            t.grad_fn = None
            t._output_nr = 0
            t._retains_grad = False
            t._hooks = None
            t._accumulator = None
            if cls._view:
                base = args[0]
                t._vc = base._vc
                t._base = base._base if base._base is not None else base
            else:
                t._vc = [0]
                t._base = None
            return t
        return _wrap_outputs(cls, ctx, args, out, False)


def _edge(a):
    """The graph edge of tensor `a`: its node and output slot, its leaf accumulator, or none."""
    fn = a.grad_fn
    if fn is not None:
        if a._base is not None and fn._vv is not None and fn._vv != a._vc[0]:
            fn = _refresh_view(a)  # its base was written since this view's node was made
        return (fn, a._output_nr)
    if a._rg:
        acc = a._accumulator
        return (acc if acc is not None else a._get_accumulator(), 0)
    return _NO_EDGE


def record_binary(cls, a, b):
    """Record op `cls` on tensors a and b (either requires grad). The operators call this
    directly: it is _apply_recording's two-tensor case with `_edge` inlined for the usual
    edges (a leaf's accumulator, a non-view's node)."""
    ctx = _object_new(cls)
    ctx.needs_input_grad = (a._rg, b._rg)
    fn = a.grad_fn
    if fn is None:
        ea = (a._accumulator or a._get_accumulator(), 0) if a._rg else _NO_EDGE
    elif a._base is None:
        ea = (fn, a._output_nr)
    else:
        ea = _edge(a)
    fn = b.grad_fn
    if fn is None:
        eb = (b._accumulator or b._get_accumulator(), 0) if b._rg else _NO_EDGE
    elif b._base is None:
        eb = (fn, b._output_nr)
    else:
        eb = _edge(b)
    da = a._data
    db = b._data
    meta = ((da.shape, da.dtype), (db.shape, db.dtype))
    uf = cls._float_ufunc
    if uf is not None and da.dtype is db.dtype and da.dtype.kind == "f":
        try:
            out = uf(da, db)
        except ValueError:  # shapes that do not broadcast: the forward raises torch's error
            pass
        else:
            return _wire(cls, ctx, (a, b), out, (ea, eb), meta)
    return _record(cls, ctx, (a, b), (ea, eb), meta)


def record_unary(cls, a):
    """Record op `cls` on tensor a, which requires grad (see record_binary)."""
    ctx = _object_new(cls)
    ctx.needs_input_grad = (True,)
    fn = a.grad_fn
    if fn is None:
        ea = (a._accumulator or a._get_accumulator(), 0)
    elif a._base is None:
        ea = (fn, a._output_nr)
    else:
        ea = _edge(a)
    da = a._data
    return _record(cls, ctx, (a,), (ea,), ((da.shape, da.dtype),))


def _leaf_or_node_edge(a):
    """_edge for the usual cases inline (a leaf's accumulator, a non-view's node)."""
    fn = a.grad_fn
    if fn is None:
        return (a._accumulator or a._get_accumulator(), 0) if a._rg else _NO_EDGE
    if a._base is None:
        return (fn, a._output_nr)
    return _edge(a)


def record_ternary(cls, a, b, c):
    """Record op `cls` on three tensors, at least one requiring grad (see record_binary)."""
    ctx = _object_new(cls)
    ctx.needs_input_grad = (a._rg, b._rg, c._rg)
    da, db, dc = a._data, b._data, c._data
    return _record(cls, ctx, (a, b, c),
                   (_leaf_or_node_edge(a), _leaf_or_node_edge(b), _leaf_or_node_edge(c)),
                   ((da.shape, da.dtype), (db.shape, db.dtype), (dc.shape, dc.dtype)))


def _apply_recording(cls, ctx, args):
    n = len(args)
    if n == 2:
        a, b = args
        if isinstance(a, Tensor):
            if isinstance(b, Tensor):
                return record_binary(cls, a, b)
            if cls._number_edges:  # `x * 2.0`: the number is an input without an edge
                ctx.needs_input_grad = (a._rg, False)
                da = a._data
                return _record(cls, ctx, args, (_edge(a), _NO_EDGE), ((da.shape, da.dtype), None))
    elif n == 1 and isinstance(args[0], Tensor):
        return record_unary(cls, args[0])
    a = args[0] if n else None
    if isinstance(a, Tensor) and not cls._number_edges:
        for b in args[1:]:
            if isinstance(b, Tensor):  # (the same tensor twice is two inputs)
                break
        else:  # one tensor and options (softmax(x, dim), a loss's target array, view(x, shape))
            ctx.needs_input_grad = (a._rg,) + (False,) * (n - 1)
            da = a._data
            return _record(cls, ctx, args, (_edge(a),), ((da.shape, da.dtype),))
    nig = []
    next_fns = []
    meta = []
    pos = []  # the args with an entry in next_functions
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            nig.append(a._rg)
            next_fns.append(_edge(a))
            meta.append((a._data.shape, a._data.dtype))  # what the engine checks grads against
            pos.append(i)
        else:
            nig.append(False)
            if i < cls._number_edges:
                next_fns.append(_NO_EDGE)
                meta.append(None)
                pos.append(i)
    ctx.needs_input_grad = nig
    if len(meta) != n and pos and pos[-1] != len(pos) - 1:
        # an edge after a non-tensor arg (where(cond, x, y) with a number x): the engine maps
        # the backward's outputs to edges; trailing non-tensor args are simply not read
        ctx._tensor_pos = pos
        ctx._n_args = n
        ctx._plain = False
    return _record(cls, ctx, args, tuple(next_fns), meta)


def _record(cls, ctx, args, next_fns, meta):
    """Run the forward with recording off, then make the output and wire its node."""
    _grad_state.enabled = False
    try:
        out = cls.forward(ctx, *args)
    finally:
        _grad_state.enabled = True
    if out.__class__ is not _ndarray:
        return _wrap_outputs(cls, ctx, args, out, True)
    return _wire(cls, ctx, args, out, next_fns, meta)


def _wire(cls, ctx, args, out, next_fns, meta):
    """The output tensor of array `out`, with `ctx` as its grad_fn."""
    ctx.next_functions = next_fns
    ctx._in_meta = meta
    t = _object_new(Tensor)
    t._data = out
    t._grad = None
    t._output_nr = 0
    t._retains_grad = False
    t._hooks = None
    t._accumulator = None
    if (k := out.dtype.kind) == "f" or k == "V" or k == "c":  # bfloat16 is "V"; complex as torch
        t._rg = True
        t.grad_fn = ctx
    else:
        t._rg = False
        t.grad_fn = None
    if cls._view:
        base = args[0]
        t._vc = base._vc
        t._base = base._base if base._base is not None else base
        ctx._vv = base._vc[0]  # the version this view's node reads (see ops/view_inplace.py)
    else:
        t._vc = [0]
        t._base = None
    if cls._save_output:
        saved = ctx._saved
        if saved is None:
            ctx._saved = [_Saved(t, True)]
        else:
            saved.append(_Saved(t, True))
    return t


def _refresh_view(t):
    from .view_inplace import refresh_view
    return refresh_view(t)
