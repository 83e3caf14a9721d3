"""More shape ops: fliplr, flipud, rot90, moveaxis, tensor_split/hsplit/vsplit/dsplit,
meshgrid, block_diag, cartesian_prod, combinations, repeat_interleave, kron, as_strided, and
the elementwise heaviside and cdist that build on them."""
from __future__ import annotations

import itertools
import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from .base import Op
from .util import wrap_dim

_new = Tensor._new


def fliplr(input):
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return input.flip(1)


def flipud(input):
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return input.flip(0)


class Rot90Backward0(Op):
    """out = a rotated k quarter turns in the plane dims (from dims[0] toward dims[1]);
    da = g rotated -k turns"""

    @staticmethod
    def forward(ctx, a, k, d0, d1):
        ctx.args = (k, d0, d1)
        return np.rot90(a._data, k, axes=(d0, d1)).copy()

    @staticmethod
    def backward(ctx, g):
        k, d0, d1 = ctx.args
        return Rot90Backward0.apply(g, -k, d0, d1), None, None, None


def rot90(input, k=1, dims=(0, 1)):
    nd = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = wrap_dim(dims[0], nd), wrap_dim(dims[1], nd)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    return Rot90Backward0.apply(input, int(k) % 4, d0, d1)


def moveaxis(input, source, destination):
    return input.movedim(source, destination)


def tensor_split(input, indices_or_sections, dim=0):
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = wrap_dim(dim, nd)
    n = input._data.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        ios = ios.tolist()
    if isinstance(ios, int):
        if ios <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {ios}")
        q, r = divmod(n, ios)
        sizes = [q + 1] * r + [q] * (ios - r)
        bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    else:
        bounds = [0] + [min(max(int(i), 0), n) for i in ios] + [n]
    out = []
    for a, b in zip(bounds, bounds[1:]):
        a = min(a, n)
        out.append(input.narrow(d, a, max(b - a, 0)))
    return tuple(out)


def _dsplit_like(name, dim, min_dims, input, ios):
    nd = input._data.ndim
    if nd < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension"
                           f"{'s' if min_dims > 1 else ''}, but got a tensor with {nd} dimensions!")
    if isinstance(ios, int):
        n = input._data.shape[dim]
        if ios == 0 or n % ios:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {n} is not divisible by the split_size "
                               f"{ios}!")
    return tensor_split(input, ios, dim)


def hsplit(input, indices_or_sections):
    dim = 1 if input._data.ndim >= 2 else 0
    return _dsplit_like("hsplit", dim, 1, input, indices_or_sections)


def vsplit(input, indices_or_sections):
    return _dsplit_like("vsplit", 0, 2, input, indices_or_sections)


def dsplit(input, indices_or_sections):
    return _dsplit_like("dsplit", 2, 3, input, indices_or_sections)


def meshgrid(*tensors, indexing=None):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
    ts = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = [t._data.shape[0] for t in ts]
    out = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = shape[i]
        out.append(t.view(view).expand(shape))
    if swap:  # 'xy': the grids of the swapped inputs, handed back in the callers' order
        out[0], out[1] = out[1], out[0]
    return tuple(out)


class BlockDiagBackward0(Op):
    """out = the inputs on the diagonal of a zero matrix;  d(input i) = its block of g"""

    @staticmethod
    def forward(ctx, *tensors):
        from .util import result_dtype
        mats = []
        for i, t in enumerate(tensors):
            x = t._data
            if x.ndim > 2:
                raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                                   f"dimensions. Input {i} has {x.ndim} dimensions")
            mats.append(x.reshape(1, -1) if x.ndim < 2 else x)
        dt = result_dtype(*tensors).np
        rows = sum(m.shape[0] for m in mats)
        cols = sum(m.shape[1] for m in mats)
        out = np.zeros((rows, cols), dt)
        r = c = 0
        ctx.blocks = []
        for t, m in zip(tensors, mats):
            out[r:r + m.shape[0], c:c + m.shape[1]] = m
            ctx.blocks.append((r, c, m.shape, t._data.shape))
            r += m.shape[0]
            c += m.shape[1]
        return out

    @staticmethod
    def backward(ctx, g):
        return tuple(g[r:r + s[0], c:c + s[1]].reshape(orig) for r, c, s, orig in ctx.blocks)


def block_diag(*tensors):
    if not tensors:
        return _new(np.zeros((1, 0), np.float32))
    return BlockDiagBackward0.apply(*tensors)


def cartesian_prod(*tensors):
    from .shape import stack
    for t in tensors:
        if t._data.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._data.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    from .shape import stack
    if input._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input._data.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return _new(np.zeros((0,), input._data.dtype))
    n = input._data.shape[0]
    gen = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = np.array(list(gen(range(n), r)), np.int64).reshape(-1, r)
    if idx.shape[0] == 0:
        return _new(np.zeros((0, r), input._data.dtype))
    return stack([input.index_select(0, _new(idx[:, j])) for j in range(r)], 1)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    if repeats is None:  # torch.repeat_interleave(repeats): the indices repeated
        reps = input._data
        if reps.ndim != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        return _new(np.repeat(np.arange(reps.shape[0]), reps).astype(np.int64))
    x = input
    if dim is None:
        x, d = input.reshape(-1), 0
    else:
        d = wrap_dim(dim, input._data.ndim)
    n = x._data.shape[d]
    if isinstance(repeats, Tensor) and repeats._data.ndim > 0:
        r = repeats._data
        if r.ndim != 1 or (r.shape[0] != n and r.shape[0] != 1):
            raise RuntimeError("repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {r.shape[0]} and input.size({d}) = {n}")
        if (r < 0).any():
            raise RuntimeError("repeats can not be negative")
        idx = np.repeat(np.arange(n), np.broadcast_to(r, (n,)))
        return x.index_select(d, _new(idx.astype(np.int64)))
    k = int(repeats.item() if isinstance(repeats, Tensor) else repeats)
    if k < 0:
        raise RuntimeError("repeats can not be negative")
    shape = list(x._data.shape)
    expanded = shape[:d + 1] + [k] + shape[d + 1:]
    out_shape = shape[:d] + [n * k] + shape[d + 1:]
    return x.unsqueeze(d + 1).expand(expanded).reshape(out_shape)


def kron(input, other):
    """out[i*m + k, ...] = a[i, ...] b[k, ...] (dims aligned from the right)."""
    a, b = input, other
    nd = max(a._data.ndim, b._data.ndim)
    a = a.reshape((1,) * (nd - a._data.ndim) + tuple(a._data.shape))
    b = b.reshape((1,) * (nd - b._data.ndim) + tuple(b._data.shape))
    sa, sb = a._data.shape, b._data.shape
    ai = a.reshape([v for s in sa for v in (s, 1)])
    bi = b.reshape([v for s in sb for v in (1, s)])
    return (ai * bi).reshape([p * q for p, q in zip(sa, sb)])


class AsStridedBackward0(Op):
    """out = a view of a's elements (in their contiguous order) at offset + sum_i k_i stride_i;
    da = g summed into the elements each output position reads"""
    _view = True

    @staticmethod
    def forward(ctx, a, size, stride, offset):
        x = a._data
        flat = x.reshape(-1)  # a view when x is contiguous: writes through reach a
        need = offset + sum((s - 1) * st for s, st in zip(size, stride)) + 1 \
            if all(s > 0 for s in size) else 0
        if need > flat.size:
            raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                               f"offset {offset}, and itemsize {x.itemsize} requiring a storage "
                               f"size of {need * x.itemsize} are out of bounds for storage of "
                               f"size {flat.size * x.itemsize}")
        ctx.args = (x.shape, tuple(size), tuple(stride), offset)
        it = flat.itemsize
        return np.lib.stride_tricks.as_strided(flat[offset:], shape=tuple(size),
                                               strides=tuple(s * it for s in stride))

    @staticmethod
    def backward(ctx, g):
        shape, size, stride, offset = ctx.args
        n = int(np.prod(shape))
        pos = np.lib.stride_tricks.as_strided(
            np.arange(offset, n, dtype=np.int64), shape=size,
            strides=tuple(s * 8 for s in stride))
        if _grad_state.enabled:  # create_graph: the same sums as a recorded index_add
            from .unfold import scatter_sum
            return scatter_sum(g, pos, shape), None, None, None
        out = np.zeros(n, g._data.dtype)
        np.add.at(out, pos.ravel(), g._data.ravel())
        return _new(out.reshape(shape)), None, None, None


def as_strided(input, size, stride, storage_offset=0):
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape")
    return AsStridedBackward0.apply(input, tuple(int(s) for s in size),
                                    tuple(int(s) for s in stride), int(storage_offset or 0))


class _Heaviside(Op):
    """out = 0 (a < 0), values (a == 0), 1 (a > 0);  torch defines no derivative"""

    @staticmethod
    def forward(ctx, a, v):
        from .util import promote
        x, y = promote(a, v)
        if a._data.dtype != v._data.dtype:
            raise RuntimeError("heaviside is not yet implemented for tensors with different "
                               "dtypes")
        return np.heaviside(x, y).astype(x.dtype) if x.dtype.kind == "f" else \
            np.where(x > 0, 1, np.where(x == 0, y, 0)).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("the derivative for 'heaviside' is not implemented.")


_Heaviside.__name__ = _Heaviside.__qualname__ = "NotImplemented"


def heaviside(input, values):
    return _Heaviside.apply(input, values)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """out[..., i, j] = ||x1[..., i, :] - x2[..., j, :]||_p (batched)."""
    a, b = x1._data, x2._data
    if a.ndim < 2 or b.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {a.ndim}D" if
                           a.ndim < 2 else f"cdist only supports at least 2D tensors, X2 got: "
                           f"{b.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} "
                           f"X2: {b.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    from ..linalg import vector_norm
    return vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, dim=-1)


TENSOR_METHODS = {
    "fliplr": fliplr, "flipud": flipud, "rot90": rot90, "moveaxis": moveaxis,
    "tensor_split": tensor_split, "hsplit": hsplit, "vsplit": vsplit, "dsplit": dsplit,
    "repeat_interleave": repeat_interleave, "kron": kron, "as_strided": as_strided,
    "heaviside": heaviside,
}
