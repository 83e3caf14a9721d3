"""Indexing: tensor[...] reads (views for basic indices, copies for advanced ones) and writes,
plus the gather/scatter family."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .base import Op

_new = Tensor._new


def _convert_index(idx, shape):
    """A NumPy index from a torch index; also returns the torch node name for the result."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    advanced = False
    last = None
    dim = 0
    n_specified = sum(1 for i in idx if i is not None and i is not Ellipsis and
                      not (isinstance(i, Tensor) and i._data.dtype == np.bool_))
    for i in idx:
        if isinstance(i, Tensor):
            a = i._data
            if a.dtype == np.bool_:
                advanced = True
                _check_mask(a, shape, dim)
                out.append(a)
                dim += a.ndim
                continue
            if a.dtype.kind not in "iu":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            advanced = True
            _check_bounds(a, shape, dim)
            out.append(a)
            dim += 1
        elif isinstance(i, (list, range)):
            a = np.asarray(i)
            if a.dtype == object or (a.size and a.dtype.kind not in "iub"):
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if a.size == 0:
                a = a.astype(np.int64)
            advanced = True
            if a.dtype != np.bool_:
                _check_bounds(a, shape, dim)
            out.append(a)
            dim += 1
        elif isinstance(i, np.ndarray):
            advanced = True
            out.append(i)
            dim += 1
        elif i is None:
            out.append(None)
            last = "UnsqueezeBackward0"
        elif i is Ellipsis:
            out.append(Ellipsis)
            dim += len(shape) - n_specified
        elif isinstance(i, slice):
            s = i
            vals = []
            for v in (s.start, s.stop, s.step):
                vals.append(int(v) if isinstance(v, Tensor) else v)
            s = slice(*vals)
            if s.step is not None and s.step <= 0:
                raise ValueError("step must be greater than zero")
            out.append(s)
            if s != slice(None):
                last = "SliceBackward0"
            dim += 1
        elif isinstance(i, (int, np.integer)) and not isinstance(i, bool):
            if dim >= len(shape):
                raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
            n = shape[dim]
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {n}")
            out.append(int(i))
            last = "SelectBackward0"
            dim += 1
        elif isinstance(i, bool):
            advanced = True
            out.append(np.asarray(i))
        else:
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                             "or bool tensors are valid indices (got " + type(i).__name__ + ")")
    if n_specified > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    return tuple(out), advanced, ("IndexBackward0" if advanced else last)


def _check_bounds(a, shape, dim):
    if a.size == 0 or dim >= len(shape):
        return
    n = shape[dim]
    mx, mn = a.max(), a.min()
    if mx >= n or mn < -n:
        bad = mx if mx >= n else mn
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {n}")


def _check_mask(a, shape, dim):
    for k, s in enumerate(a.shape):
        if dim + k >= len(shape) or shape[dim + k] != s:
            raise IndexError(f"The shape of the mask {list(a.shape)} at index {k} does not match "
                             f"the shape of the indexed tensor {list(shape)} at index {dim + k}")


class _IndexOp(Op):
    """out = a[index];  da = zeros with g added at index (np.add.at for repeated indices)"""

    @staticmethod
    def forward(ctx, a, index, advanced):
        x = a._data
        ctx.shape, ctx.dtype, ctx.index, ctx.advanced = x.shape, x.dtype, index, advanced
        r = x[index]
        return r if type(r) is np.ndarray else np.asarray(r)

    @staticmethod
    def backward(ctx, g):
        return IndexPutZerosBackward.apply(g, ctx.shape, ctx.index, ctx.advanced), None, None


class IndexPutZerosBackward(Op):
    """out = zeros(shape) with g added at index;  dg = out_grad[index]"""

    @staticmethod
    def forward(ctx, g, shape, index, advanced):
        ctx.index = index
        out = np.zeros(shape, g._data.dtype)
        if advanced:
            np.add.at(out, index, g._data)
        else:
            out[index] = g._data
        return out

    @staticmethod
    def backward(ctx, gg):
        return gg[ctx.index], None, None, None


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
                None: AliasBackward0}


def getitem(self: Tensor, idx):
    index, advanced, name = _convert_index(idx, self._data.shape)
    return _INDEX_NODES[name].apply(self, index, advanced)


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
        return _new(np.take_along_axis(gg._data, ctx.index, axis=ctx.dim)) if not gg._rg else \
            gg.gather(ctx.dim, _new(ctx.index)), None, None, None


def nonzero(input, *, as_tuple=False):
    nz = np.nonzero(input._data)
    if as_tuple:
        return tuple(_new(a.astype(np.int64)) for a in nz)
    return _new(np.stack(nz, axis=1).astype(np.int64) if nz else
                np.zeros((0, input._data.ndim), np.int64))
