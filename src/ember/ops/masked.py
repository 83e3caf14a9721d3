"""Boolean-mask ops: masked_fill(_), masked_select and masked_scatter(_). The mask broadcasts
with the input."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from . import inplace
from .base import Op
from .inplace import TYPE_NAMES
from .scatter_gather import _arg_type, _pad_to, _write_in_place
from .shape import expand
from .util import check_broadcast

_new = Tensor._new

# C++ type names, as torch's mask messages print them
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
            "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool"}


def _mask_array(mask) -> np.ndarray:
    if not isinstance(mask, Tensor):
        raise TypeError(f"masked_fill(): argument 'mask' (position 1) must be Tensor, not "
                        f"{type(mask).__name__}")
    m = mask._data
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_C_NAMES.get(m.dtype.name, m.dtype.name)}")
    return m


def _value(value):
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value._data.ndim} dimension(s).")
        return value
    if isinstance(value, (np.number, np.bool_)):
        return value.item()
    if not isinstance(value, (bool, int, float)):
        raise TypeError(f"masked_fill(): argument 'value' must be Number or Tensor, not "
                        f"{type(value).__name__}")
    return value


def _fill(x: np.ndarray, m: np.ndarray, v) -> np.ndarray:
    """A copy of x broadcast with m, holding v where m is True (cast to x's dtype)."""
    try:
        shape = np.broadcast_shapes(x.shape, m.shape)
    except ValueError:
        check_broadcast(m, x)  # torch names the mask "a" here
        raise
    out = np.array(np.broadcast_to(x, shape))
    with np.errstate(invalid="ignore"):
        np.copyto(out, v, casting="unsafe", where=m)
    return out


class MaskedFillBackward0(Op):
    """out = where(mask, value, a) for a number value;  da = g with zeros where mask"""

    @staticmethod
    def forward(ctx, a, mask, value):
        ctx.mask = mask
        return _fill(a._data, mask, value)

    @staticmethod
    def backward(ctx, g):
        return MaskedFillBackward0.apply(g, ctx.mask, 0.0), None, None


class MaskedFillBackward1(Op):
    """out = where(mask, v, a) for a 0-dim tensor v;  da = g with zeros where mask,
    dv = sum of g where mask"""

    @staticmethod
    def forward(ctx, a, mask, v):
        ctx.mask = mask
        return _fill(a._data, mask, v._data)

    @staticmethod
    def backward(ctx, g):
        ga = MaskedFillBackward0.apply(g, ctx.mask, 0.0) if ctx.needs_input_grad[0] else None
        gv = MaskedFillBackward0.apply(g, ~ctx.mask, 0.0).sum() if ctx.needs_input_grad[2] \
            else None
        return ga, None, gv


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """out = input with `value` (a number or 0-dim tensor) where mask is True.
    Shape: broadcast of input's and mask's."""
    m = _mask_array(mask)
    v = _value(value)
    if isinstance(v, Tensor):
        return MaskedFillBackward1.apply(input, m, v)
    return MaskedFillBackward0.apply(input, m, v)


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """In-place `masked_fill`; the mask must broadcast to self's shape."""
    m = _mask_array(mask)
    v = _value(value)
    x = self._data
    if m.shape != x.shape and not inplace._bc_into(m.shape, x.shape):
        inplace._raise_shape(m.shape, x.shape)
    others = (v,) if isinstance(v, Tensor) else ()
    if _grad_state.enabled and inplace._records(self, others):
        if isinstance(v, Tensor):
            return inplace.apply_inplace(self, lambda s, t: MaskedFillBackward1.apply(s, m, t), v)
        return inplace.apply_inplace(self, lambda s: MaskedFillBackward0.apply(s, m, v))
    inplace.check_writable(x)
    with np.errstate(invalid="ignore"):
        np.copyto(x, v._data if isinstance(v, Tensor) else v, casting="unsafe", where=m)
    self._vc[0] += 1
    return self


class MaskedSelectBackward0(Op):
    """out = the elements of a (broadcast with mask) where mask, as a 1-D tensor;
    da = zeros with g put where mask"""

    @staticmethod
    def forward(ctx, a, mask):
        x = a._data
        try:
            shape = np.broadcast_shapes(x.shape, mask.shape)
        except ValueError:
            check_broadcast(x, mask)
            raise
        m = np.broadcast_to(mask, shape)
        ctx.mask, ctx.shape = m, shape
        return np.broadcast_to(x, shape)[m]

    @staticmethod
    def backward(ctx, g):
        return _MaskedScatterZeros.apply(g, ctx.shape, ctx.mask), None


class _MaskedScatterZeros(Op):
    """out = zeros(shape) with g put where mask;  dg = out_grad[mask]"""

    @staticmethod
    def forward(ctx, g, shape, mask):
        ctx.mask = mask
        out = np.zeros(shape, g._data.dtype)
        out[mask] = g._data
        return out

    @staticmethod
    def backward(ctx, gg):
        return MaskedSelectBackward0.apply(gg, ctx.mask), None, None


def masked_select(input: Tensor, mask: Tensor, *, out=None) -> Tensor:
    """The elements of input where mask is True, in C order.  Shape: (number of Trues in the
    broadcast mask,)."""
    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    return MaskedSelectBackward0.apply(input, mask._data)


# ---- masked_scatter ---------------------------------------------------------------------------
def _masked_scatter_np(out: np.ndarray, mask: np.ndarray, source: np.ndarray) -> None:
    """out's elements where mask (out's shape) is True replaced, in C order, by source's
    leading elements (in place)."""
    out[mask] = source.reshape(-1)[:np.count_nonzero(mask)]


class MaskedScatterBackward0(Op):
    """out = a (broadcast with mask) with source's leading elements written where mask, in C
    order;  da = g with zeros where mask, dsource = g[mask] padded with zeros to source's
    shape"""

    @staticmethod
    def forward(ctx, a, mask, source):
        x = a._data
        ctx.mask, ctx.src_shape = mask, source._data.shape
        out = x.copy() if x.shape == mask.shape else np.array(np.broadcast_to(x, mask.shape))
        _masked_scatter_np(out, mask, source._data)
        return out

    @staticmethod
    def backward(ctx, g):
        m = ctx.mask
        ga = MaskedFillBackward0.apply(g, m, 0.0) if ctx.needs_input_grad[0] else None
        gs = None
        if ctx.needs_input_grad[2]:
            gs = _pad_to(MaskedSelectBackward0.apply(g, m), (int(np.prod(ctx.src_shape)),))
            gs = gs.reshape(ctx.src_shape)
        return ga, None, gs


def _masked_scatter_args(self, mask, source, fn, in_place):
    """The mask as an array of the output's shape, after torch's checks in torch's order."""
    _arg_type(fn, "mask", 1, mask, Tensor, "Tensor")
    _arg_type(fn, "source", 2, source, Tensor, "Tensor")
    x, m, s = self._data, mask._data, source._data
    if in_place:
        if s.dtype != x.dtype:
            _raise_source_dtype(x, s)
        m = m if m.shape == x.shape else expand(mask, x.shape)._data
    else:
        try:
            shape = np.broadcast_shapes(x.shape, m.shape)
        except ValueError:
            check_broadcast(m, x)  # torch names the mask "a" here
            raise
        if s.dtype != x.dtype:
            _raise_source_dtype(x, s)
        m = np.broadcast_to(m, shape)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                           f"{TYPE_NAMES.get(m.dtype.name, m.dtype.name)}")
    if s.size < np.count_nonzero(m):
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return m


def _raise_source_dtype(x, s):
    raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got"
                       f"{TYPE_NAMES[x.dtype.name]} and {TYPE_NAMES[s.dtype.name]}")


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """out = input with the elements where mask is True replaced, in C order, by source's
    leading elements.  Shape: broadcast of input's and mask's."""
    m = _masked_scatter_args(input, mask, source, "masked_scatter", False)
    return MaskedScatterBackward0.apply(input, m, source)


def masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """In-place `masked_scatter`; the mask must broadcast to self's shape."""
    m = _masked_scatter_args(self, mask, source, "masked_scatter_", True)
    return _write_in_place(self, source, lambda s, v: MaskedScatterBackward0.apply(s, m, v),
                           lambda x: _masked_scatter_np(x, m, source._data))
