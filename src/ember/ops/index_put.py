"""Index assignment: `x[idx] = v`, `index_put_` / `index_put` (IndexPutBackward0).

`x[idx] = v` follows torch: the basic part of the index (ints, slices, None, `...`) makes a view
of x (skipped when it selects everything), then a number fills it (`fill_`), a tensor is copied in
(`copy_`, broadcast and cast), or with an advanced part `index_put_` writes the selected elements.
On a view of a tracked tensor those in-place ops rebase the base's history (CopySlices).
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from . import inplace
from .base import Op
from .indexing import _INDEX_NODES, IndexBackward0, _advanced, noop_slice, parse_index
from .inplace import TYPE_NAMES, CopyBackwards, FillBackward3

_new = Tensor._new
_TYPE_STRINGS = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                 "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
                 "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


class IndexPutBackward0(Op):
    """out = a with out[idx] = v (or += v with accumulate);
    da = g with zeros at idx (g with accumulate),  dv = g[idx] (summed to v's shape)"""

    @staticmethod
    def forward(ctx, a, v, index, accumulate=False):
        ctx.index, ctx.accumulate = index, accumulate
        out = a._data.copy()
        _put(out, index, v._data, accumulate)
        return out

    @staticmethod
    def backward(ctx, g):
        ga = gv = None
        if ctx.needs_input_grad[0]:
            ga = g if ctx.accumulate else IndexPutBackward0.apply(
                g, _new(np.zeros((), g._data.dtype)), ctx.index)
        if ctx.needs_input_grad[1]:
            gv = IndexBackward0.apply(g, (Ellipsis,), ctx.index)
        return ga, gv, None, None


def _put(out: np.ndarray, index, values: np.ndarray, accumulate: bool) -> None:
    if accumulate:
        np.add.at(out, index, values)
    else:
        out[index] = values


def _result_shape(shape, index):
    return np.broadcast_to(np.zeros((), np.bool_), shape)[index].shape


def _strip_ones(v: np.ndarray, ndim: int) -> np.ndarray:
    """torch drops leading size-1 dims of the value beyond the target's rank."""
    k = 0
    while v.ndim - k > ndim and v.shape[k] == 1:
        k += 1
    return v.reshape(v.shape[k:]) if k else v


def _check_values(target_shape, v: np.ndarray) -> np.ndarray:
    vs = _strip_ones(v, len(target_shape))
    if not inplace._bc_into(vs.shape, target_shape):
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(v.shape)} cannot be "
                           f"broadcast to indexing result of shape {list(target_shape)}")
    return vs


def _check_dtype(dst: np.dtype, src: np.dtype) -> None:
    if dst != src:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{TYPE_NAMES.get(dst.name, dst.name)} for the destination and "
                           f"{TYPE_NAMES.get(src.name, src.name)} for the source.")


def _index_put_inplace(self: Tensor, index, values: Tensor, accumulate: bool) -> Tensor:
    """Write `values` at the (advanced, NumPy) `index` of self, recording IndexPutBackward0."""
    x = self._data
    target_shape = _result_shape(x.shape, index)
    vs = _check_values(target_shape, values._data)
    if vs is not values._data:
        values = values.reshape(vs.shape)
    if _grad_state.enabled and inplace._records(self, (values,)):
        return inplace.apply_inplace(
            self, lambda s, v: IndexPutBackward0.apply(s, v, index, accumulate), values)
    inplace.check_writable(x)
    _put(x, index, values._data, accumulate)
    self._vc[0] += 1
    return self


def _tensor_indices(indices, x: np.ndarray):
    """The NumPy index of `index_put_`'s tuple of index tensors (one per leading dim)."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put_(): argument 'indices' (position 1) must be tuple of Tensors, "
                        f"not {type(indices).__name__}")
    adv = []
    for k, t in enumerate(indices):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {k} in argument 0, but got "
                            f"{type(t).__name__}")
        a = t._data
        if a.dtype == np.uint8:
            a = a.astype(np.bool_)
        if a.dtype != np.bool_ and a.dtype.kind not in "iu":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        adv.append(a)
    if len(adv) > x.ndim and not all(a.dtype == np.bool_ for a in adv):
        raise IndexError(f"too many indices for tensor of dimension {x.ndim} (got {len(adv)})")
    pos, d = [], 0
    for a in adv:
        pos.append((d, a))
        d += a.ndim if a.dtype == np.bool_ else 1
    return _advanced(pos, x.shape)


def index_put_(self: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """self[indices] = values (or += with accumulate=True), in place.  Shape: values broadcasts
    to the indexing result."""
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put_(): argument 'values' (position 2) must be Tensor, not "
                        f"{type(values).__name__}")
    _check_dtype(self._data.dtype, values._data.dtype)
    return _index_put_inplace(self, _tensor_indices(indices, self._data), values, accumulate)


def index_put(self: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """Out-of-place `index_put_`."""
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): argument 'values' (position 2) must be Tensor, not "
                        f"{type(values).__name__}")
    _check_dtype(self._data.dtype, values._data.dtype)
    index = _tensor_indices(indices, self._data)
    target_shape = _result_shape(self._data.shape, index)
    vs = _check_values(target_shape, values._data)
    if vs is not values._data:
        values = values.reshape(vs.shape)
    return IndexPutBackward0.apply(self, values, index, accumulate)


# ---- x[idx] = v -------------------------------------------------------------------------------
def _value(self: Tensor, value):
    """A Python number or a Tensor from the assigned value, with torch's refusals."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (np.number, np.bool_)) and not isinstance(value, np.complexfloating):
        return value.item()
    if isinstance(value, (complex, np.complexfloating)):
        from .masked import _C_NAMES
        ctype = {"int64": "int64_t", "int32": "int32_t", "int16": "int16_t", "int8": "int8_t",
                 "uint8": "uint8_t"}.get(self._data.dtype.name) or _C_NAMES[self._data.dtype.name]
        raise RuntimeError(f"value cannot be converted to type {ctype} without overflow")
    tname = type(value).__name__
    if type(value).__module__ == "numpy":
        tname = "numpy." + tname
    raise TypeError(f"can't assign a {tname} to a ember.{_TYPE_STRINGS[self._data.dtype.name]}")


def _trivial(basic, shape) -> bool:
    """True when the basic index selects all of `shape` unchanged (torch then writes to the
    tensor itself, not to a view)."""
    d = 0
    for b in basic:
        if b is Ellipsis:
            continue
        if b is None or type(b) is int:
            return False
        if not noop_slice(b, shape[d]):
            return False
        d += 1
    return True


def setitem(self: Tensor, idx, value) -> None:
    """`self[idx] = value` (see the module docstring)."""
    v = _value(self, value)
    x = self._data
    p = parse_index(idx, x)
    grad = _grad_state.enabled and inplace._records(self, (v,) if isinstance(v, Tensor) else ())
    if not grad:
        view = x[p.basic]
        if p.adv is None:
            if isinstance(v, Tensor):
                _copy_checked(view, v._data)
            else:
                inplace.check_writable(view)
                view[...] = v
        else:
            if isinstance(v, Tensor):
                a = v._data
                if a.dtype != x.dtype:
                    if not (a.ndim == 0 and _single_mask(idx)):
                        _check_dtype(x.dtype, a.dtype)
                    a = a.astype(x.dtype)
                a = _check_values(view[p.adv].shape, a)
            else:
                a = v
            inplace.check_writable(view)
            view[p.adv] = a
        self._vc[0] += 1
        return
    if _trivial(p.basic, x.shape):
        target = self
        inplace.check_inplace(self)
    else:  # a view of self (no node needed: only its storage and version counter are used)
        if self._rg and self.grad_fn is None:
            raise RuntimeError(inplace._VIEW_LEAF_MSG)
        inplace.check_inplace(self)
        target = _new(x[p.basic])
        target._vc = self._vc
        target._base = self._base if self._base is not None else self
    fn, others, reads = _assignment(target, p, v, idx)
    from .view_inplace import refresh_view, rebase_view
    if target is not self:
        rebase_view(target, fn, others, reads_self=reads, regen=False)
        if self._base is not None:
            refresh_view(self)  # self is a view of the base just rebased: show its new history
    elif self._base is not None:
        rebase_view(self, fn, others, reads_self=reads)
    else:
        inplace.record_inplace(self, fn, others)


def _assignment(target: Tensor, p, v, idx):
    """(fn, others, reads_self) of the recorded write `target[p.adv] = v` (all of target
    without an advanced part): fill_, copy_ or index_put_ as torch picks them."""
    x = target._data
    if p.adv is None:
        if not isinstance(v, Tensor):
            return FillBackward3.apply, (_new(np.array(v, dtype=x.dtype)),), False
        if v._data.ndim == 0:
            return FillBackward3.apply, (v,), False  # torch fills with a 0-dim value
        a = _strip_ones(v._data, x.ndim)
        if not inplace._bc_into(a.shape, x.shape):
            _raise_expand(v._data, x.shape)
        return CopyBackwards.apply, (v if a is v._data else v.reshape(a.shape),), False
    if isinstance(v, Tensor):
        if v._data.dtype != x.dtype:
            if not (v._data.ndim == 0 and _single_mask(idx)):
                _check_dtype(x.dtype, v._data.dtype)
            v = v.to(_new(x).dtype)
    else:
        v = _new(np.array(v, dtype=x.dtype))
    vs = _check_values(_result_shape(x.shape, p.adv), v._data)
    if vs is not v._data:
        v = v.reshape(vs.shape)
    adv = p.adv
    return (lambda s, t: IndexPutBackward0.apply(s, t, adv, False)), (v,), True


def _single_mask(idx) -> bool:
    return isinstance(idx, Tensor) and idx._data.dtype == np.bool_


def _copy_checked(view: np.ndarray, src: np.ndarray) -> None:
    a = _strip_ones(src, view.ndim)
    if not inplace._bc_into(a.shape, view.shape):
        _raise_expand(src, view.shape)
    inplace.check_writable(view)
    np.copyto(view, a, casting="unsafe")


def _raise_expand(src: np.ndarray, dst_shape):
    """torch's error for a value that does not expand to the written view's shape."""
    src_shape, dst_shape = list(src.shape), list(dst_shape)
    if len(src_shape) > len(dst_shape):
        raise RuntimeError(f"expand(torch.{_TYPE_STRINGS[src.dtype.name]}{{{src_shape}}}, "
                           f"size={dst_shape}): the "
                           f"number of sizes provided ({len(dst_shape)}) must be greater or equal "
                           f"to the number of dimensions in the tensor ({len(src_shape)})")
    lead = len(dst_shape) - len(src_shape)
    for i in range(len(src_shape)):
        s, d = src_shape[i], dst_shape[i + lead]
        if s != d and s != 1:
            raise RuntimeError(f"The expanded size of the tensor ({d}) must match the existing "
                               f"size ({s}) at non-singleton dimension {i + lead}.  Target sizes: "
                               f"{dst_shape}.  Tensor sizes: {src_shape}")
