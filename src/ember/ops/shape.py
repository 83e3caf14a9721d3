"""Shape ops: views (view, reshape, transpose, permute, squeeze, unsqueeze, expand, narrow) and
copies (cat, stack, split, repeat, flip, clone, dtype casts). Views share storage and the
version counter with their input, as in torch."""
from __future__ import annotations

import math
import weakref

import numpy as np

from .. import _dtype
from .._size import Size
from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from .base import Op
from .util import dim_aliases, wrap_dim

_new = Tensor._new


def _infer_shape(shape, numel):
    if -1 not in shape and (not shape or min(shape) >= 0) and math.prod(shape) == numel:
        return tuple(shape)  # (the usual call: every size given, and right)
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = shape[0]
    for s in shape:  # the usual call, plain ints (bool is not int's type): nothing to convert
        if s.__class__ is not int:
            break
    else:
        return tuple(shape)
    out = []
    for i, s in enumerate(shape):
        if isinstance(s, Tensor) and s._data.ndim == 0 and s._data.dtype.kind in "iu":
            s = s.item()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"argument 'size' must be tuple of ints, but found element of type "
                            f"{type(s).__name__} at pos {i}")
        out.append(int(s))
    return tuple(out)


class ViewBackward0(Op):
    """out = a viewed as `shape`;  da = g viewed as a's shape"""
    _view = True

    @staticmethod
    def forward(ctx, a, shape):
        x = a._data
        ctx.shape = x.shape
        shape = _infer_shape(shape, x.size)
        out = x.view()
        try:
            out.shape = shape  # raises instead of copying when no view is possible
        except AttributeError:
            raise RuntimeError("view size is not compatible with input tensor's size and stride "
                               "(at least one dimension spans across two contiguous subspaces). "
                               "Use .reshape(...) instead.") from None
        return out

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class UnsafeViewBackward0(Op):
    """out = a copied into `shape` (reshape of a non-viewable tensor);  da = g reshaped back"""

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a._data.shape
        return np.reshape(a._data, shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


def view(input, *shape):
    if len(shape) == 1 and isinstance(shape[0], _dtype.dtype):
        return _view_dtype(input, shape[0])
    return ViewBackward0.apply(input, _shape_arg(shape))


def _view_dtype(input, dt):
    return _new(input._data.view(dt.np))


class ReshapeAliasBackward0(Op):
    """out = a non-contiguous a viewed as `shape` (reshape, when strides allow a view);
    da = g reshaped back"""
    _view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a._data.shape
        out = a._data.view()
        out.shape = shape
        return out

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


def reshape(input, *shape):
    """torch's three cases: contiguous -> view; strided but viewable -> alias with new strides;
    otherwise a contiguous clone, viewed (CloneBackward0 then UnsafeViewBackward0)."""
    x = input._data
    shape = _infer_shape(_shape_arg(shape), x.size)
    if x.flags.c_contiguous:
        return ViewBackward0.apply(input, shape)
    v = x.view()
    try:
        v.shape = shape
    except AttributeError:
        return UnsafeViewBackward0.apply(CloneBackward0.apply(input), shape)
    return ReshapeAliasBackward0.apply(input, shape)


def flatten(input, start_dim=0, end_dim=-1):
    x = input._data
    if x.ndim == 0:
        return reshape(input, 1)
    s = wrap_dim(start_dim, x.ndim)
    e = wrap_dim(end_dim, x.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    n = 1
    for d in x.shape[s:e + 1]:
        n *= d
    return reshape(input, x.shape[:s] + (n,) + x.shape[e + 1:])


def unflatten(input, dim, sizes):
    x = input._data
    d = wrap_dim(dim, x.ndim)
    sizes = tuple(sizes)
    inner = _infer_shape(sizes, x.shape[d]) if -1 in sizes else sizes
    if int(np.prod(inner)) != x.shape[d]:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size "
                           f"of dim {dim} ({x.shape[d]}) in the input tensor")
    return ViewBackward0.apply(input, x.shape[:d] + inner + x.shape[d + 1:])


class SqueezeBackward0(Op):
    """out = a without size-1 dims;  da = g reshaped to a's shape"""
    _view = True

    @staticmethod
    def forward(ctx, a, dims=None):
        x = a._data
        ctx.shape = x.shape
        if dims is None:
            return np.squeeze(x)
        dims = tuple(d for d in dims if x.shape[d] == 1)
        return np.squeeze(x, axis=dims) if dims else x.view()

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class SqueezeBackward1(SqueezeBackward0):
    """squeeze(dim)"""


class SqueezeBackward2(SqueezeBackward0):
    """squeeze(dims)"""


class SqueezeBackward4(SqueezeBackward0):
    """torch's node for the in-place squeeze_(dim) (matmul of a 1-D by a 2-D tensor uses it)"""


@dim_aliases
def squeeze(input, dim=None):
    if dim is None:
        return SqueezeBackward0.apply(input)
    nd = input._data.ndim
    if isinstance(dim, (tuple, list)):
        dims = tuple(wrap_dim(d, nd) for d in dim)
        for i, d in enumerate(dims):
            if d in dims[:i]:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        return SqueezeBackward2.apply(input, dims)
    return SqueezeBackward1.apply(input, (wrap_dim(dim, nd),))


class UnsqueezeBackward0(Op):
    """out = a with a new size-1 dim;  da = g squeezed"""
    _view = True

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        return np.expand_dims(a._data, dim)

    @staticmethod
    def backward(ctx, g):
        return g.squeeze(ctx.dim), None


@dim_aliases
def unsqueeze(input, dim):
    return UnsqueezeBackward0.apply(input, wrap_dim(dim, input._data.ndim + 1))


class TransposeBackward0(Op):
    """out = a with dims d0, d1 swapped;  da = g with them swapped back"""
    _view = True

    @staticmethod
    def forward(ctx, a, d0, d1):
        ctx.d0, ctx.d1 = d0, d1
        return a._data.swapaxes(d0, d1)  # (the method: a third of np.swapaxes's call)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.d0, ctx.d1), None, None


def transpose(input, dim0, dim1):
    nd = input._data.ndim
    return TransposeBackward0.apply(input, wrap_dim(dim0, nd), wrap_dim(dim1, nd))


swapaxes = swapdims = transpose


class TBackward0(Op):
    """out = a.t() (2-D transpose);  da = g.t()"""
    _view = True

    @staticmethod
    def forward(ctx, a):
        return a._data.T

    @staticmethod
    def backward(ctx, g):
        if not _grad_state.enabled:  # (a bias-free Linear's weight takes it every step)
            return _new(g._data.T)
        return g.t()


def t(input):
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    return TBackward0.apply(input)


class PermuteBackward0(Op):
    """out = a with dims reordered;  da = g with the inverse order"""
    _view = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return np.transpose(a._data, dims)

    @staticmethod
    def backward(ctx, g):
        return g.permute(tuple(np.argsort(ctx.dims))), None


def permute(input, *dims):
    dims = _shape_arg(dims)
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {nd} is not equal to len(dims) = {len(dims)}")
    dims = tuple(wrap_dim(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return PermuteBackward0.apply(input, dims)


def movedim(input, source, destination):
    """The dims `source` moved to positions `destination`, the others kept in order (a permute)."""
    nd = input._data.ndim
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    src = [wrap_dim(d, nd) for d in src]
    dst = [wrap_dim(d, nd) for d in dst]
    for name, ds in (("source", src), ("destination", dst)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({ds})")
    order = [None] * nd
    for sd, dd in zip(src, dst):
        order[dd] = sd
    rest = iter(i for i in range(nd) if i not in src)
    return permute(input, [o if o is not None else next(rest) for o in order])


class ExpandBackward0(Op):
    """out = a broadcast to `shape` (a view);  da = g summed over the broadcast dims"""
    _view = True

    @staticmethod
    def forward(ctx, a, shape):
        x = a._data
        ctx.shape = x.shape
        nd = len(shape)
        if nd < x.ndim:
            from .._tensor_methods import _TYPE_STRINGS
            raise RuntimeError(f"expand({_TYPE_STRINGS[x.dtype.name]}{{{list(x.shape)}}}, "
                               f"size={list(shape)}): the number of sizes provided ({nd}) must be "
                               f"greater or equal to the number of dimensions in the tensor "
                               f"({x.ndim})")
        full = list(shape)
        lead = nd - x.ndim
        for i in range(nd):
            if full[i] == -1:
                if i < lead:
                    raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a "
                                       f"leading, non-existing dimension {i}")
                full[i] = x.shape[i - lead]
            elif i >= lead and x.shape[i - lead] != 1 and x.shape[i - lead] != full[i]:
                raise RuntimeError(
                    f"The expanded size of the tensor ({full[i]}) must match the existing size "
                    f"({x.shape[i - lead]}) at non-singleton dimension {i}.  Target sizes: "
                    f"{list(shape)}.  Tensor sizes: {list(x.shape)}")
        return np.broadcast_to(x, tuple(full))

    @staticmethod
    def backward(ctx, g):
        from .util import sum_to
        return sum_to(g, ctx.shape), None


def expand(input, *sizes):
    shape = _shape_arg(sizes)
    if shape == input._data.shape:
        return ExpandBackward0.apply(input, shape) if input._rg else \
            _view_alias(input, np.broadcast_to(input._data, shape))
    return ExpandBackward0.apply(input, shape)


def _view_alias(input, arr):
    t = _new(arr)
    t._vc = input._vc
    t._base = input._base if input._base is not None else input
    return t


def expand_as(input, other):
    return expand(input, other._data.shape)


def broadcast_to(input, shape):
    return expand(input, tuple(shape))


class RepeatBackward0(Op):
    """out = a tiled `repeats` times;  da = g summed over the tiles"""

    @staticmethod
    def forward(ctx, a, repeats):
        x = a._data
        if len(repeats) < x.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                               "of dimensions of tensor")
        ctx.shape = (1,) * (len(repeats) - x.ndim) + x.shape
        ctx.repeats = repeats
        target = [r * d for r, d in zip(repeats, ctx.shape)]
        for t in target:
            if t < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {t}: "
                                   f"{target}")
        return np.tile(x, repeats)

    @staticmethod
    def backward(ctx, g):
        # split every dim into (repeat, size) and sum the repeat axes
        inter = []
        for r, s in zip(ctx.repeats, ctx.shape):
            inter += [r, s]
        gs = g.reshape(tuple(inter)).sum(tuple(range(0, len(inter), 2)))
        return gs, None


def repeat(input, *repeats):
    return RepeatBackward0.apply(input, _shape_arg(repeats))


def tile(input, dims):
    dims = tuple(dims)
    if len(dims) < input._data.ndim:
        dims = (1,) * (input._data.ndim - len(dims)) + dims
    return repeat(input, dims)


def _promoted_arrays(tensors) -> list:
    """The tensors' arrays, cast to their common dtype (torch's promotion) where they differ."""
    arrays = [t._data for t in tensors]
    dt = arrays[0].dtype
    if any(a.dtype != dt for a in arrays):
        from .util import result_dtype
        dt = result_dtype(*tensors).np
        arrays = [a.astype(dt, copy=False) for a in arrays]
    return arrays


class CatBackward0(Op):
    """out = concatenation along dim;  each input gets its slice of g"""

    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        ctx.sizes = [t._data.shape[dim] if t._data.ndim else 0 for t in tensors]
        return np.concatenate(_promoted_arrays(tensors), axis=dim)

    @staticmethod
    def backward(ctx, g):
        out = [None]
        off = 0
        for s in ctx.sizes:
            out.append(g.narrow(ctx.dim, off, s))
            off += s
        return tuple(out)


def _tensor_list(name, tensors):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        "not Tensor")
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    return tensors


@dim_aliases
def cat(tensors, dim=0, *, out=None):
    tensors = _tensor_list("cat", tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    # torch skips legacy empty 1-D tensors
    tensors = [t for t in tensors if not (t._data.ndim == 1 and t._data.size == 0)] or tensors[:1]
    ref = tensors[0]._data
    if ref.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = wrap_dim(dim, ref.ndim)
    for i, t in enumerate(tensors[1:], 1):
        s = t._data.shape
        if len(s) != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and "
                               f"{len(s)}")
        for k in range(ref.ndim):
            if k != d and s[k] != ref.shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected "
                                   f"size {ref.shape[k]} but got size {s[k]} for tensor number {i} "
                                   f"in the list.")
    return CatBackward0.apply(d, *tensors)


concat = concatenate = cat


class StackBackward0(Op):
    """out = inputs stacked along a new dim;  each input gets g selected at its index"""

    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        return np.stack(_promoted_arrays(tensors), axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (None,) + tuple(g.unbind(ctx.dim))


@dim_aliases
def stack(tensors, dim=0, *, out=None):
    tensors = _tensor_list("stack", tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    s0 = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], 1):
        if t._data.shape != s0:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(s0)} at "
                               f"entry 0 and {list(t._data.shape)} at entry {i}")
    d = wrap_dim(dim, len(s0) + 1)
    return StackBackward0.apply(d, *tensors)


def hstack(tensors):
    return cat(tensors, 1 if tensors[0]._data.ndim > 1 else 0)


def vstack(tensors):
    return cat([t.reshape(1, -1) if t._data.ndim == 1 else t for t in tensors], 0)


class SliceBackward0(Op):
    """out = a.narrow(dim, start, length) (a view);  da = g placed into zeros at the slice"""
    _view = True

    @staticmethod
    def forward(ctx, a, dim, start, length):
        x = a._data
        ctx.shape, ctx.dim, ctx.start, ctx.length = x.shape, dim, start, length
        idx = [slice(None)] * x.ndim
        idx[dim] = slice(start, start + length)
        return x[tuple(idx)]

    @staticmethod
    def backward(ctx, g):
        return _slice_backward(g, ctx.shape, ctx.dim, ctx.start, ctx.length), None, None, None


def _slice_backward(g, shape, dim, start, length):
    idx = [(0, 0)] * len(shape)
    idx[dim] = (start, shape[dim] - start - length)
    return ConstantPadNdBackward0.apply(g, tuple(idx))


class ConstantPadNdBackward0(Op):
    """out = a padded with zeros;  da = g cropped"""

    @staticmethod
    def forward(ctx, a, widths, value=0.0):
        ctx.widths = widths
        return np.pad(a._data, widths, constant_values=value)

    @staticmethod
    def backward(ctx, g):
        idx = tuple(slice(lo, g._data.shape[i] - hi) for i, (lo, hi) in enumerate(ctx.widths))
        return g[idx], None, None


@dim_aliases
def narrow(input, dim, start, length):
    x = input._data
    d = wrap_dim(dim, x.ndim)
    if isinstance(start, Tensor):
        start = int(start)
    n = x.shape[d]
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got "
                         f"{start})")
    if start < 0:
        start += n
    if not 0 <= start <= x.shape[d] or start + length > x.shape[d] or length < 0:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({x.shape[d]}).")
    return SliceBackward0.apply(input, d, start, length)


@dim_aliases
def split(tensor, split_size_or_sections, dim=0):
    x = tensor._data
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        s = split_size_or_sections
        if s <= 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if s else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
                               f"tensor's size at dimension {d}), but got split_sizes={sizes}")
        return SplitWithSizesBackward0.apply(tensor, d, tuple(sizes))
    return SplitBackward0.apply(tensor, d, tuple(sizes))


class SplitBackward0(Op):
    """outs = consecutive slices along dim (views);  da = the g's concatenated (zeros if unused)"""

    @staticmethod
    def forward(ctx, a, dim, sizes):
        x = a._data
        ctx.dim = dim
        ctx.shape = x.shape
        outs = []
        off = 0
        idx = [slice(None)] * x.ndim
        for s in sizes:
            idx[dim] = slice(off, off + s)
            outs.append(_view_alias(a, x[tuple(idx)]))
            off += s
        return tuple(outs)

    @staticmethod
    def backward(ctx, *gs):
        if not _grad_state.enabled:
            whole = _tiled_base(gs, ctx.dim, ctx.shape)
            if whole is not None:
                return _new(whole), None, None
        return cat(list(gs), ctx.dim), None, None


# gradient buffers made by split_grad_buffer, by id (an entry goes with its array)
_GRAD_BUFFERS = weakref.WeakValueDictionary()


def split_grad_buffer(shape, dtype) -> np.ndarray:
    """A new array for a backward to write the gradients of a split's pieces into (views at
    the pieces' places): SplitBackward0 passes it on whole instead of concatenating the views.
    Only arrays made here are passed on so, never a caller's (the gradient of a cat of the
    pieces is a set of views of the caller's own gradient, which must not become a leaf's)."""
    buf = np.empty(shape, dtype)
    _GRAD_BUFFERS[id(buf)] = buf
    return buf


def _tiled_base(gs, dim: int, shape) -> np.ndarray | None:
    """The split_grad_buffer array (viewed as `shape`) the gradients gs are, in order, adjacent
    slices along `dim` of, when together they are all of it: what their concatenation would copy.
    Attention's backward writes the heads' gradients so (ops/attention.py _shared_grads)."""
    g0 = gs[0]
    if g0 is None or len(gs) < 2:
        return None
    owner = g0._data.base
    if owner is None or _GRAD_BUFFERS.get(id(owner)) is not owner or \
            owner.size != math.prod(shape):
        return None
    base = owner.reshape(shape)  # (a view: the buffer is C-contiguous)
    step = base.strides[dim]
    at = base.__array_interface__["data"][0]
    rest = shape[:dim] + shape[dim + 1:]
    for g in gs:
        a = None if g is None else g._data
        if a is None or a.base is not owner or a.strides != base.strides or \
                a.shape[:dim] + a.shape[dim + 1:] != rest or \
                a.__array_interface__["data"][0] != at:
            return None
        at += a.shape[dim] * step
    return base if at == base.__array_interface__["data"][0] + shape[dim] * step else None


class SplitWithSizesBackward0(SplitBackward0):
    """split with a list of sizes"""


@dim_aliases
def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    n = input._data.shape[wrap_dim(dim, input._data.ndim)]
    if not n:  # torch: `chunks` empty pieces
        return split(input, [0] * chunks, dim)
    return split(input, -(-n // chunks), dim)


class UnbindBackward0(Op):
    """outs = a's slices along dim;  da = the g's stacked"""

    @staticmethod
    def forward(ctx, a, dim):
        x = a._data
        ctx.dim = dim
        return tuple(_view_alias(a, x[(slice(None),) * dim + (i,)]) for i in range(x.shape[dim]))

    @staticmethod
    def backward(ctx, *gs):
        return stack(list(gs), ctx.dim), None


@dim_aliases
def unbind(input, dim=0):
    return UnbindBackward0.apply(input, wrap_dim(dim, input._data.ndim))


class FlipBackward0(Op):
    """out = a reversed along dims;  da = g reversed back"""

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return np.flip(a._data, dims).copy()

    @staticmethod
    def backward(ctx, g):
        return g.flip(ctx.dims), None


def flip(input, *dims):
    dims = _shape_arg(dims)
    return FlipBackward0.apply(input, tuple(wrap_dim(d, input._data.ndim) for d in dims))


class RollBackward0(Op):
    """out = a shifted cyclically by `shifts` along `dims` (flattened when dims is None);
    da = g shifted back"""

    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(a._data, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        return g.roll(tuple(-s for s in ctx.shifts), ctx.dims), None, None


def roll(input, shifts, dims=None):
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is not None:
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        if len(dims) != len(shifts):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:"
                               f"{len(dims)}")
        dims = tuple(wrap_dim(d, input._data.ndim) for d in dims)
    elif len(shifts) != 1:
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
    return RollBackward0.apply(input, shifts, dims)


class CloneBackward0(Op):
    """out = a copy of a;  da = g"""

    @staticmethod
    def forward(ctx, a, memory_format=None):
        return a._data.copy()

    @staticmethod
    def backward(ctx, g):
        return g, None


def clone(input, *, memory_format=None):
    return CloneBackward0.apply(input)


def contiguous(input, memory_format=None):
    if input._data.flags.c_contiguous:
        return input
    return CloneBackward0.apply(input)


class ToCopyBackward0(Op):
    """out = a cast to another dtype;  da = g cast back"""

    @staticmethod
    def forward(ctx, a, np_dtype):
        ctx.src = a._data.dtype
        return a._data.astype(np_dtype)

    @staticmethod
    def backward(ctx, g):
        return (g if g._data.dtype == ctx.src else
                ToCopyBackward0.apply(g, ctx.src)), None


def to_dtype(input, dtype, copy=False):
    dt = _dtype.to_dtype(dtype)
    if input._data.dtype == dt.np and not copy:
        return input
    if input._rg and not dt.is_floating_point:
        return _new(input._data.astype(dt.np))
    return ToCopyBackward0.apply(input, dt.np)
