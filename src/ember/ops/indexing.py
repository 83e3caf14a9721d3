"""Indexing reads: `tensor[index]` with torch's rules, and the zero-filled scatter that reductions
use for their backward.

An index is split the way torch applies it: first the *basic* part (ints, slices, None, `...`),
which gives a view sharing storage and the version counter, then the *advanced* part (integer and
boolean tensors, lists, ranges), applied to that view with NumPy's placement rules (which agree
with torch's once the ints are gone: adjacent advanced dims stay in place, separated ones move to
the front). Boolean masks become their `nonzero()` coordinates, as in torch.
"""
from __future__ import annotations

import operator

import numpy as np

from .._tensor import Tensor
from .base import Op
from .index_sum import add_rows_into_zeros

_new = Tensor._new
_ELL = (Ellipsis,)

_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
              "valid indices (got {})")
_BAD_DTYPE = "tensors used as indices must be long, int, byte or bool tensors"


# ---- index parsing --------------------------------------------------------------------------
def _seq_as_tuple(idx) -> bool:
    """torch's (NumPy's legacy) rule: a short list holding a sequence, slice, tensor, None or
    `...` is a tuple of indices, not one index array."""
    if len(idx) >= 32:
        return False
    for o in idx:
        if o is None or o is Ellipsis or isinstance(o, (Tensor, slice, list, tuple, range,
                                                        np.ndarray, str)):
            return True
    return False


def _as_index_array(obj):
    """An int64 or bool array from a list / range / ndarray index, else IndexError."""
    if isinstance(obj, range):
        return np.arange(obj.start, obj.stop, obj.step, dtype=np.int64)
    try:
        a = np.asarray(obj)
    except (ValueError, TypeError):
        raise IndexError(_BAD_DTYPE) from None
    if a.dtype.kind == "U" or a.dtype.kind == "S":
        raise TypeError(f"new(): invalid data type '{type(obj).__name__}'")
    if a.size == 0 and a.dtype.kind == "f":
        return a.astype(np.int64)
    if a.dtype == np.bool_:
        return a
    if a.dtype.kind in "iu" or (a.dtype.kind == "f" and not isinstance(obj, np.ndarray)):
        return a.astype(np.int64)  # torch makes a list of floats a long tensor (truncating)
    raise IndexError(_BAD_DTYPE)


def _int_of(i):
    if isinstance(i, Tensor):
        return int(i)
    if i is None or isinstance(i, int):
        return i
    try:
        return operator.index(i)
    except TypeError:
        raise TypeError("slice indices must be integers or None or have an __index__ "
                        "method") from None


def noop_slice(s: slice, n: int) -> bool:
    """torch's test for a slice it skips: start 0 (not wrapped), stop past the end, step 1."""
    return s.start in (None, 0) and s.step in (None, 1) and (s.stop is None or s.stop >= n)


class _Parsed:
    """A parsed index: `basic` (a NumPy basic index, always ending in `...` so the result is a
    view), `adv` (a tuple of int arrays / slices for the view, or None) and the torch node name."""
    __slots__ = ("basic", "adv", "name")

    def __init__(self, basic, adv, name):
        self.basic, self.adv, self.name = basic, adv, name


def parse_index(idx, x: np.ndarray) -> _Parsed:
    """Check `idx` against array `x` with torch's errors and split it into basic and advanced
    parts (see the module docstring)."""
    single = False
    if not isinstance(idx, tuple):
        if isinstance(idx, (list, np.ndarray)) and _seq_as_tuple(idx):
            idx = tuple(idx)
        else:
            single = True
            idx = (idx,)
    shape = x.shape
    ndim = len(shape)
    items = []
    specified = 0
    for i in idx:
        # normalise every index to one of: int, slice, None, ..., bool, ("arr", array)
        if i is None or i is Ellipsis:
            pass
        elif isinstance(i, slice):
            specified += 1  # a slice consumes a dim (x[..., 1:2, 2:3] leaves ndim - 2 to `...`)
        elif isinstance(i, bool):
            pass
        elif isinstance(i, int):
            specified += 1
        elif isinstance(i, Tensor):
            a = i._data
            if a.ndim == 0 and a.dtype.kind in "iu":
                i = int(a)
                specified += 1
            elif a.ndim == 0 and a.dtype == np.bool_:
                i = bool(a)
            else:
                if a.dtype == np.uint8:  # byte tensors are masks (deprecated in torch)
                    a = a.astype(np.bool_)
                elif a.dtype != np.bool_ and a.dtype not in (np.int64, np.int32):
                    raise IndexError(_BAD_DTYPE)
                i = ("arr", a)
                specified += a.ndim if a.dtype == np.bool_ else 1
        elif isinstance(i, (list, range, np.ndarray)):
            a = _as_index_array(i)
            i = ("arr", a)
            specified += a.ndim if a.dtype == np.bool_ else 1
        elif isinstance(i, np.integer):
            i = int(i)
            specified += 1
        elif hasattr(i, "__index__") and not isinstance(i, (float, np.bool_)):
            i = operator.index(i)
            specified += 1
        else:
            name = "numpy.bool" if isinstance(i, np.bool_) else type(i).__name__
            raise IndexError(_BAD_INDEX.format(name))
        items.append(i)
    if ndim == 0:
        for i in idx:
            if isinstance(i, (int, np.integer)) and not isinstance(i, bool):
                raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                                 "or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a "
                                 "number")
            if isinstance(i, slice):
                raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    if specified > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")

    basic = []
    adv_pos = []     # (result dim, array) of every advanced index
    src = 0          # dim of x the next index applies to
    res = 0          # dim of the basic view the next index lands on
    last = None      # torch node of the last basic op applied
    ell_done = False
    for pos, i in enumerate(items):
        if type(i) is int:  # (an int or slice on a 0-dim tensor was refused above)
            n = shape[src] if src < ndim else 0
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {pos} with size {n}")
            basic.append(i)
            src += 1
            last = "SelectBackward0"
        elif i is None:
            basic.append(None)
            res += 1
            last = "UnsqueezeBackward0"
        elif i is Ellipsis:
            k = 0 if ell_done else ndim - specified
            ell_done = True
            basic.extend([slice(None)] * k)
            src += k
            res += k
        elif isinstance(i, slice):
            start, stop, step = _int_of(i.start), _int_of(i.stop), _int_of(i.step)
            if step is not None and step <= 0:
                if step == 0:
                    raise ValueError("slice step cannot be zero")
                raise ValueError("step must be greater than zero")
            s = slice(start, stop, step)
            basic.append(s)
            n = shape[src] if src < ndim else 0
            if single or not noop_slice(s, n):
                last = "SliceBackward0"  # torch skips no-op slices inside a tuple index
            src += 1
            res += 1
        elif type(i) is bool:
            basic.append(None)
            adv_pos.append((res, np.array([i])))
            res += 1
        else:
            a = i[1]
            k = a.ndim if a.dtype == np.bool_ else 1
            basic.extend([slice(None)] * k)
            adv_pos.append((res, a))
            src += k
            res += k
    basic.append(Ellipsis)
    basic = tuple(basic)
    if not adv_pos:
        return _Parsed(basic, None, last or "AliasBackward0")
    return _Parsed(basic, _advanced(adv_pos, x[basic].shape), "IndexBackward0")


def _advanced(adv_pos, vshape):
    """The NumPy index of the advanced part on the basic view, checked like torch's `index`."""
    out = [slice(None)] * len(vshape)
    arrays = []   # the long index tensors torch sees (masks expanded), in order
    dims = []
    for r, a in adv_pos:
        if a.dtype == np.bool_:
            for k, s in enumerate(a.shape):
                if r + k >= len(vshape) or vshape[r + k] != s:
                    raise IndexError(f"The shape of the mask {list(a.shape)} at index {k} does "
                                     f"not match the shape of the indexed tensor {list(vshape)} at "
                                     f"index {r + k}")
            nz = np.nonzero(a) if a.ndim else (np.zeros(int(a), np.int64),)
            for k, z in enumerate(nz):
                arrays.append(z)
                dims.append(r + k)
        else:
            arrays.append(a)
            dims.append(r)
    try:
        bshape = arrays[0].shape if len(arrays) == 1 else \
            np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = ", ".join(str(list(a.shape)) for a in arrays)
        raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together with "
                         f"shapes {shapes}") from None
    bad = None
    for a, d in zip(arrays, dims):
        n = vshape[d]
        if a.size and (a.max() >= n or a.min() < -n):
            b = (a >= n) | (a < -n)
            bad = b if bad is None else bad | b
    if bad is not None:
        first = int(np.argmax(np.broadcast_to(bad, bshape).ravel()))
        for k, (a, d) in enumerate(zip(arrays, dims)):
            v = int(np.broadcast_to(a, bshape).ravel()[first])
            n = vshape[d]
            if not -n <= v < n:
                raise IndexError(f"index {v} is out of bounds for dimension {k} with size {n}")
    for a, d in zip(arrays, dims):
        out[d] = a
    while out and type(out[-1]) is slice:
        out.pop()
    return tuple(out)


# ---- getitem --------------------------------------------------------------------------------
class _IndexOp(Op):
    """out = a[basic][adv];  da = zeros(a.shape) with g added at the index (repeats accumulate)"""

    @staticmethod
    def forward(ctx, a, basic, adv):
        x = a._data
        ctx.shape, ctx.basic, ctx.adv = x.shape, basic, adv
        v = x[basic]
        return v if adv is None else v[adv]

    @staticmethod
    def backward(ctx, g):
        return IndexPutZerosBackward.apply(g, ctx.shape, ctx.basic, ctx.adv), None, None


class IndexPutZerosBackward(Op):
    """out = zeros(shape) with g added at [basic][adv];  dg = out_grad[basic][adv]"""

    @staticmethod
    def forward(ctx, g, shape, basic, adv):
        ctx.basic, ctx.adv = basic, adv
        out = np.zeros(shape, g._data.dtype)
        if adv is None:
            out[basic] = g._data
        elif not (len(adv) == 1 and isinstance(adv[0], np.ndarray)
                  and add_rows_into_zeros(out[basic], adv[0], g._data)):
            np.add.at(out[basic], adv, g._data)
        return out

    @staticmethod
    def backward(ctx, gg):
        cls = IndexBackward0 if ctx.adv is not None else AliasBackward0
        return cls.apply(gg, ctx.basic, ctx.adv), None, None, None


class SelectBackward0(_IndexOp):
    _view = True


class SliceBackward0(_IndexOp):
    _view = True


class UnsqueezeBackward0(_IndexOp):
    _view = True


class AliasBackward0(_IndexOp):
    _view = True


class IndexBackward0(_IndexOp):
    pass


_INDEX_NODES = {"SelectBackward0": SelectBackward0, "SliceBackward0": SliceBackward0,
                "UnsqueezeBackward0": UnsqueezeBackward0, "IndexBackward0": IndexBackward0,
                "AliasBackward0": AliasBackward0}


def getitem(self: Tensor, idx):
    """`self[idx]`: a view for basic indices, a copy (IndexBackward0) for advanced ones."""
    t = type(idx)
    x = self._data
    if t is int and x.ndim:
        n = x.shape[0]
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of bounds for dimension 0 with size {n}")
        return SelectBackward0.apply(self, (idx, Ellipsis), None)
    if t is slice and x.ndim and (idx.step is None or type(idx.step) is int and idx.step > 0):
        return SliceBackward0.apply(self, (idx, Ellipsis), None)
    if t is tuple and 0 < len(idx) <= x.ndim:
        r = _basic_tuple(self, idx)
        if r is not None:
            return r
    p = parse_index(idx, x)
    return _INDEX_NODES[p.name].apply(self, p.basic, p.adv)


def _basic_tuple(self: Tensor, idx):
    """The fast path of a tuple of ints and slices (`x[:, 0]`, `x[i, j]`); None when the
    general parser is needed."""
    shape = self._data.shape
    last = None
    for d, i in enumerate(idx):
        t = type(i)
        if t is int:
            n = shape[d]
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {d} with size {n}")
            last = SelectBackward0
        elif t is slice:
            step = i.step
            if step is not None and (type(step) is not int or step <= 0):
                return None
            if not noop_slice(i, shape[d]):
                last = SliceBackward0
        else:
            return None
    return (last or AliasBackward0).apply(self, idx + _ELL, None)


# ---- zero-filled scatter (the backward of max/min along a dim) -------------------------------
def scatter_into_zeros(shape, dim, index: Tensor, src: Tensor) -> Tensor:
    """zeros(shape) with src put at `index` along dim (differentiable in src)."""
    return ScatterZerosBackward.apply(src, shape, dim, index._data)


class ScatterZerosBackward(Op):
    """out = zeros.scatter(dim, index, g);  dg = out_grad.gather(dim, index)"""

    @staticmethod
    def forward(ctx, src, shape, dim, index):
        ctx.dim, ctx.index = dim, index
        out = np.zeros(shape, src._data.dtype)
        np.put_along_axis(out, index, src._data, axis=dim)
        return out

    @staticmethod
    def backward(ctx, gg):
        from .scatter_gather import gather
        return gather(gg, ctx.dim, _new(ctx.index)), None, None, None


# ---- nonzero ----------------------------------------------------------------------------------
def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Coordinates of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim.

    Shape: (n, input.ndim), or ndim tensors of shape (n,) with as_tuple (a 0-d input counts
    as 1-d)."""
    x = input._data
    if as_tuple:
        nz = np.nonzero(np.atleast_1d(x))
        return tuple(_new(a.astype(np.int64)) for a in nz)
    if x.ndim == 0:
        return _new(np.zeros((1 if x else 0, 0), np.int64))
    return _new(np.argwhere(x).astype(np.int64, copy=False))


def argwhere(input: Tensor) -> Tensor:
    """Same as `nonzero(input)`."""
    return nonzero(input)
