"""Gather/scatter along a dim and their relatives: gather, scatter(_), scatter_add(_),
scatter_reduce(_), index_select, index_add(_), index_copy(_), index_fill(_), take_along_dim.

Along `dim`, `index` names positions; along every other dim d an index may be shorter than the
tensor (it then covers `index.size(d)` leading entries), as in torch.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from . import inplace
from .base import Op
from .index_sum import add_rows_into_zeros
from .elementwise import WhereBackward0, _write_out
from .inplace import TYPE_NAMES
from .util import wrap_dim

_new = Tensor._new


# ---- checks and index helpers ---------------------------------------------------------------
def _index_array(index, fn: str, what: str = "Expected dtype int32/int64 for index") -> np.ndarray:
    if not isinstance(index, Tensor):
        raise TypeError(f"{fn}(): argument 'index' must be Tensor, not {type(index).__name__}")
    a = index._data
    if a.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"{fn}(): {what}")
    return a


def _out_of_range(idx: np.ndarray, n: int, negative_ok: bool = False):
    """The first index (in C order) outside [0, n) (outside [-n, n) when negative indices count
    from the end), or None when all are in range."""
    lo = -n if negative_ok else 0
    if idx.size and (idx.max() >= n or idx.min() < lo):
        bad = (idx >= n) | (idx < lo)
        return int(idx.ravel()[np.argmax(bad.ravel())])
    return None


def _check_bounds(idx: np.ndarray, n: int, dim: int, negative_ok: bool = False) -> None:
    v = _out_of_range(idx, n, negative_ok)
    if v is not None:
        raise RuntimeError(f"index {v} is out of bounds for dimension {dim} with size {n}")


def _region(shape, ishape, dim):
    """The leading block of a tensor of `shape` that an index of `ishape` covers (all of `dim`)."""
    return tuple(slice(None) if d == dim else slice(0, ishape[d]) for d in range(len(shape)))


def _full_index(idx: np.ndarray, dim: int):
    """A NumPy advanced index addressing, for each element of idx, the position it names along
    dim and its own position along every other dim."""
    grids = list(np.indices(idx.shape, sparse=True))
    grids[dim] = idx
    return tuple(grids)


def _check_gather(x: np.ndarray, idx: np.ndarray, dim: int) -> None:
    # torch compares dims as max(ndim, 1): a 0-dim index works on a 1-D tensor (and v.v.)
    if max(idx.ndim, 1) != max(x.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d in range(idx.ndim):
        if d != dim and x.ndim and idx.shape[d] > x.shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index "
                               f"{list(idx.shape)} to be no larger than self {list(x.shape)} "
                               f"apart from dimension {dim}")


def _check_scatter(x: np.ndarray, idx: np.ndarray, src, dim: int) -> None:
    if idx.size == 0:  # torch checks no shapes for an empty index
        return
    if max(idx.ndim, 1) != max(x.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    s = src._data if isinstance(src, Tensor) else None
    if s is not None and 0 < s.ndim < idx.ndim:  # torch reads src.size(d) for each of index's d
        raise IndexError(f"Dimension out of range (expected to be in range of [{-s.ndim}, "
                         f"{s.ndim - 1}], but got {s.ndim})")
    if s is not None and max(s.ndim, 1) != max(idx.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    for d in range(idx.ndim):
        too_big = (d != dim and x.ndim and idx.shape[d] > x.shape[d]) or \
            (s is not None and s.ndim and idx.shape[d] > s.shape[d])
        if too_big:
            msg = (f"Expected index {list(idx.shape)} to be no larger than self {list(x.shape)} "
                   f"apart from dimension {dim}")
            if s is not None:
                msg += f" and to be no larger size than src {list(s.shape)}"
            raise RuntimeError(msg)


# the ufunc that combines a scattered value with its target, by scatter's / scatter_reduce's name
_REDUCE_UFUNCS = {"add": np.add, "multiply": np.multiply, "sum": np.add, "mean": np.add,
                  "prod": np.multiply, "amax": np.maximum, "amin": np.minimum,
                  "max": np.maximum, "min": np.minimum}


def _scatter_np(out: np.ndarray, dim: int, idx: np.ndarray, values, reduce=None) -> None:
    """out[..., idx[i], ...] (op)= values[i] for every position i of idx (in place); op is one
    of _REDUCE_UFUNCS (plain assignment for reduce=None)."""
    if idx.size == 0:
        return
    if idx.ndim == 0:  # a 0-dim index addresses one element, as a 1-element index does
        idx = idx.reshape(1)
    v = values
    if isinstance(v, np.ndarray) and v.shape != idx.shape:
        v = v[tuple(slice(0, n) for n in idx.shape)] if v.ndim else v
    if out.ndim == 0:
        out2 = out.reshape(1)
        fi = (idx.reshape(-1),)
        v = np.broadcast_to(v, idx.shape).reshape(-1)
    else:
        out2, fi = out, _full_index(idx, dim)
        v = np.broadcast_to(v, idx.shape)
    if reduce is None:
        out2[fi] = v
    else:
        _REDUCE_UFUNCS[reduce].at(out2, fi, v)


def _scattered(x: np.ndarray, dim: int, idx: np.ndarray, values, reduce=None) -> np.ndarray:
    """A copy of x with values scattered into it (see _scatter_np)."""
    out = x.copy()
    _scatter_np(out, dim, idx, values, reduce)
    return out


def _gather_np(x: np.ndarray, dim: int, idx: np.ndarray) -> np.ndarray:
    if x.ndim == 0:
        return np.broadcast_to(x, idx.shape).copy()
    if idx.ndim == 0:  # a 0-dim index on a 1-D tensor: a 0-dim result
        return x[_full_index(idx.reshape(1), dim)].reshape(())
    return x[_full_index(idx, dim)]


# ---- gather -----------------------------------------------------------------------------------
class GatherBackward0(Op):
    """out[i] = a[..., index[i], ...] along dim;  da = zeros with g added at index"""

    @staticmethod
    def forward(ctx, a, dim, index):
        x = a._data
        ctx.shape, ctx.dim, ctx.index = x.shape, dim, index
        return _gather_np(x, dim, index)

    @staticmethod
    def backward(ctx, g):
        return _ScatterAddZeros.apply(g, ctx.shape, ctx.dim, ctx.index), None, None


class _ScatterAddZeros(Op):
    """out = zeros(shape).scatter_add(dim, index, g);  dg = out_grad.gather(dim, index)"""

    @staticmethod
    def forward(ctx, g, shape, dim, index):
        ctx.dim, ctx.index = dim, index
        out = np.zeros(shape, g._data.dtype)
        _scatter_np(out, dim, index, g._data, "add")
        return out

    @staticmethod
    def backward(ctx, gg):
        return GatherBackward0.apply(gg, ctx.dim, ctx.index), None, None, None


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False, out=None):
    """out[i][j] = input[index[i][j]][j] (dim 0), input[i][index[i][j]] (dim 1), ...

    Shape: out has index's shape."""
    idx = _index_array(index, "gather")
    x = input._data
    d = wrap_dim(dim, x.ndim)
    _check_gather(x, idx, d)
    _check_bounds(idx, x.shape[d] if x.ndim else 1, d)
    return GatherBackward0.apply(input, d, idx)


def take_along_dim(input: Tensor, indices: Tensor, dim=None, *, out=None) -> Tensor:
    """Values of input at `indices` along dim (broadcasting the other dims); with dim=None over
    the flattened input. Negative indices count from the end."""
    idx = indices._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{TYPE_NAMES.get(idx.dtype.name, idx.dtype.name)}")
    if dim is None:
        flat = input.reshape(-1)
        n = flat._data.shape[0]
        i = idx.reshape(-1).astype(np.int64)
        _check_bounds(i, n, 0, negative_ok=True)
        return GatherBackward0.apply(flat, 0, np.where(i < 0, i + n, i))
    x = input._data
    if x.ndim != idx.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {x.ndim} dimensions for input, and "
                           f"{idx.ndim} dimensions for indices")
    d = wrap_dim(dim, x.ndim)
    ishape, xshape = list(idx.shape), list(x.shape)
    ishape[d] = xshape[d] = 1
    bshape = list(np.broadcast_shapes(tuple(ishape), tuple(xshape)))
    xs, is_ = list(bshape), list(bshape)
    xs[d], is_[d] = x.shape[d], idx.shape[d]
    if tuple(xs) != x.shape:
        input = input.expand(tuple(xs))
    i = np.broadcast_to(idx, tuple(is_)).astype(np.int64)
    n = x.shape[d]
    _check_bounds(i, n, d, negative_ok=True)
    return GatherBackward0.apply(input, d, np.where(i < 0, i + n, i))


# ---- scatter ----------------------------------------------------------------------------------
class ScatterBackward0(Op):
    """out = a with out[..., index[i], ...] = src[i];  da = g with zeros at index,
    dsrc = g.gather(dim, index) (zeros where src is not read)"""

    @staticmethod
    def forward(ctx, a, dim, index, src):
        ctx.dim, ctx.index, ctx.src_shape = dim, index, src._data.shape
        return _scattered(a._data, dim, index, src._data)

    @staticmethod
    def backward(ctx, g):
        ga = None
        if ctx.needs_input_grad[0]:
            ga = ScatterBackward1.apply(g, ctx.dim, ctx.index, 0.0)
        return ga, None, None, _src_grad(ctx, g)


def _src_grad(ctx, g: Tensor):
    """The gradient of a scatter's src: g read back at the index, zeros where src was not read
    (None when src needs none)."""
    if not ctx.needs_input_grad[3]:
        return None
    return _pad_to(GatherBackward0.apply(g, ctx.dim, ctx.index), ctx.src_shape)


def _pad_to(t: Tensor, shape) -> Tensor:
    """t (the leading block of `shape`) padded with zeros to `shape`."""
    if t._data.shape == tuple(shape) or len(shape) == 0:
        return t
    from .shape import ConstantPadNdBackward0
    return ConstantPadNdBackward0.apply(t, tuple((0, s - n) for s, n in zip(shape, t._data.shape)))


class ScatterBackward1(Op):
    """out = a with out[..., index[i], ...] = value;  da = g with zeros at index"""

    @staticmethod
    def forward(ctx, a, dim, index, value):
        ctx.dim, ctx.index = dim, index
        return _scattered(a._data, dim, index, value)

    @staticmethod
    def backward(ctx, g):
        return ScatterBackward1.apply(g, ctx.dim, ctx.index, 0.0), None, None, None


class ScatterAddBackward0(Op):
    """out = a with out[..., index[i], ...] += src[i];  da = g, dsrc = g.gather(dim, index)"""

    @staticmethod
    def forward(ctx, a, dim, index, src):
        ctx.dim, ctx.index, ctx.src_shape = dim, index, src._data.shape
        return _scattered(a._data, dim, index, src._data, "add")

    @staticmethod
    def backward(ctx, g):
        return g, None, None, _src_grad(ctx, g)


class _ScatterReduceNotImplemented(Op):
    """scatter with reduce='add'/'multiply': torch records no derivative for it."""

    @staticmethod
    def forward(ctx, a, dim, index, src, reduce):
        return _scattered(a._data, dim, index, src._data if isinstance(src, Tensor) else src,
                          reduce)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::scatter is not implemented")

    def name(self):
        return "ember::autograd::NotImplemented"


_ScatterReduceNotImplemented.__name__ = "NotImplemented"
_ScatterReduceNotImplemented.__qualname__ = "NotImplemented"


def _scatter_args(input, dim, index, src, value, fn, check_reduce=None):
    """(dim, index array, src) after torch's checks, in torch's order: dim, index dtype, src
    dtype, shapes, `check_reduce()` (the reduction's name), index bounds."""
    if src is None:
        src = value
    if src is None:
        raise TypeError(f"{fn}() missing required argument 'src' or 'value'")
    x = input._data
    d = wrap_dim(dim, x.ndim)
    idx = _index_array(index, fn.rstrip("_") if fn != "scatter_add_" else "scatter_add")
    if isinstance(src, Tensor) and src._data.dtype != x.dtype:
        raise RuntimeError(f"{fn.rstrip('_')}(): Expected self.dtype to be equal to src.dtype")
    _check_scatter(x, idx, src, d)
    if check_reduce is not None:
        check_reduce()
    _check_bounds(idx, x.shape[d] if x.ndim else 1, d)
    return d, idx, src


def _check_add_multiply(reduce):
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")


def _write_in_place(self: Tensor, other: Tensor, op, write) -> Tensor:
    """An in-place op: recorded as the out-of-place `op(self, other)` when autograd records
    (inplace.apply_inplace), else `write(array)` changes self's array directly."""
    if _grad_state.enabled and inplace._records(self, (other,)):
        return inplace.apply_inplace(self, op, other)
    inplace.check_writable(self._data)
    write(self._data)
    self._vc[0] += 1
    return self


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None,
            out=None) -> Tensor:
    """out = input with src (a tensor or a number) written at index along dim:
    out[index[i][j]][j] = src[i][j] (dim 0). reduce='add'/'multiply' combines instead."""
    d, idx, src = _scatter_args(input, dim, index, src, value, "scatter",
                                lambda: _check_add_multiply(reduce))
    if reduce is not None:
        return _ScatterReduceNotImplemented.apply(input, d, idx, src, reduce)
    if isinstance(src, Tensor):
        return ScatterBackward0.apply(input, d, idx, src)
    return ScatterBackward1.apply(input, d, idx, _scalar(src))


def scatter_(self: Tensor, dim: int, index: Tensor, src=None, *, value=None,
             reduce=None) -> Tensor:
    """In-place `scatter`."""
    d, idx, src = _scatter_args(self, dim, index, src, value, "scatter_",
                                lambda: _check_add_multiply(reduce))
    if _grad_state.enabled and inplace._records(self, (src,)):
        if reduce is not None:
            return inplace.apply_inplace(
                self, lambda s, v: _ScatterReduceNotImplemented.apply(s, d, idx, v, reduce), src)
        if isinstance(src, Tensor):
            return inplace.apply_inplace(
                self, lambda s, v: ScatterBackward0.apply(s, d, idx, v), src)
        v = _scalar(src)
        return inplace.apply_inplace(self, lambda s: ScatterBackward1.apply(s, d, idx, v))
    inplace.check_writable(self._data)
    _scatter_np(self._data, d, idx, src._data if isinstance(src, Tensor) else _scalar(src), reduce)
    self._vc[0] += 1
    return self


def _scalar(v):
    if isinstance(v, Tensor):
        return v._data
    if isinstance(v, (np.number, np.bool_)):
        return v.item()
    return v


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """out = input with src[i] added at index along dim (repeated indices accumulate)."""
    d, idx, src = _scatter_args(input, dim, index, src, None, "scatter_add")
    return ScatterAddBackward0.apply(input, d, idx, src)


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place `scatter_add`."""
    d, idx, src = _scatter_args(self, dim, index, src, None, "scatter_add_")
    return _write_in_place(self, src, lambda s, v: ScatterAddBackward0.apply(s, d, idx, v),
                           lambda out: _scatter_np(out, d, idx, src._data, "add"))


# ---- scatter_reduce ---------------------------------------------------------------------------
# torch's forward also takes "max" and "min" (its backward then refuses them)
_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin", "max", "min")


def _identity(reduce: str, dtype: np.dtype):
    """The value a reduction starts from where include_self=False leaves self's value out."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    top = reduce in ("amax", "max")
    if dtype.kind == "f":
        return -np.inf if top else np.inf
    if dtype.kind == "b":
        return not top
    info = np.iinfo(dtype)
    return info.min if top else info.max


def _counts(shape, dim: int, idx: np.ndarray, include_self: bool, dtype) -> np.ndarray:
    """How many values 'mean' reduces into each position (1 where none, to divide by)."""
    n = np.full(shape, int(include_self), dtype)
    _scatter_np(n, dim, idx, 1, "add")
    n[n == 0] = 1
    return n


def _scatter_reduce_np(out: np.ndarray, dim: int, idx: np.ndarray, src: np.ndarray, reduce: str,
                       include_self: bool) -> None:
    """scatter_reduce in place on `out`; integer means round down, as torch's."""
    if not include_self:
        _scatter_np(out, dim, idx, _identity(reduce, out.dtype))
    _scatter_np(out, dim, idx, src, reduce)
    if reduce == "mean":
        n = _counts(out.shape, dim, idx, include_self,
                    out.dtype if out.dtype.kind == "f" else np.int64)
        (np.divide if out.dtype.kind == "f" else np.floor_divide)(out, n, out=out,
                                                                  casting="unsafe")


class ScatterReduceBackward0(Op):
    """out = a with src's values reduced (sum, prod, mean, amax, amin) into the positions that
    index names along dim; include_self=False leaves a's value out of each scattered position.
    Gradients, per value v reduced into a position with gradient g: sum: g; mean: g / (count);
    amax/amin: g / (number of values equal to the result) for those values, 0 for the others;
    prod: g times the product of the other values. da is g where nothing is scattered and, with
    include_self=False, 0 where something is."""
    _save_output = True

    @staticmethod
    def forward(ctx, a, dim, index, src, reduce, include_self):
        ctx.dim, ctx.index, ctx.reduce, ctx.include_self = dim, index, reduce, include_self
        ctx.src_shape = src._data.shape
        ctx.save_for_backward(a, src)
        out = a._data.copy()
        _scatter_reduce_np(out, dim, index, src._data, reduce, include_self)
        return out

    @staticmethod
    def backward(ctx, g):
        grads = _REDUCE_GRADS.get(ctx.reduce)
        if grads is None:
            raise RuntimeError(f"Expected 'reduce' to be one of 'sum', 'prod', 'mean', 'amax', "
                               f"'amin' but got {ctx.reduce}.")
        a, src, out = ctx.saved_tensors
        ish = ctx.index.shape
        if src._data.ndim and src._data.shape != ish:  # the block of src that index reads
            src = src[tuple(slice(0, n) for n in ish)]
        nig = ctx.needs_input_grad
        ga, gs = grads(ctx, g, a, src, out, nig[0] and ctx.include_self)
        if not nig[0]:
            ga = None
        elif not ctx.include_self:  # a is read only where nothing is scattered
            ga = ScatterBackward1.apply(g, ctx.dim, ctx.index, 0.0)
        return ga, None, None, (_pad_to(gs, ctx.src_shape) if nig[3] else None), None, None


def _gathered(ctx, t: Tensor) -> Tensor:
    return GatherBackward0.apply(t, ctx.dim, ctx.index)


def _sum_grads(ctx, g, a, src, out, want_self):
    return g, _gathered(ctx, g)


def _mean_grads(ctx, g, a, src, out, want_self):
    gn = g / _new(_counts(g._data.shape, ctx.dim, ctx.index, ctx.include_self, g._data.dtype))
    return gn, _gathered(ctx, gn)


def _extreme_grads(ctx, g, a, src, out, want_self):
    """amax/amin: g shared evenly among the values equal to the result. As torch, a's value
    counts among them even with include_self=False (it then gets no share itself)."""
    r = out._data
    dt = r.dtype
    hit_src = src._data == _gather_np(r, ctx.dim, ctx.index)
    hit_self = np.asarray(a._data == r)  # (an array also for 0-dim a, to scatter into)
    n = hit_self.astype(dt)
    _scatter_np(n, ctx.dim, ctx.index, hit_src, "add")
    share = np.divide(1, n, out=np.zeros_like(n), where=n > 0)
    ga = g * _new(share * hit_self) if want_self else None
    return ga, _gathered(ctx, g * _new(share)) * _new(hit_src.astype(dt))


def _prod_grads(ctx, g, a, src, out, want_self):
    """prod: g * out / v for a value v != 0. For a zero: g times the product of the other
    values where it is its position's only zero, else 0. Written with out / v where possible,
    so that the second derivative through a single zero is right, as torch's."""
    zs = src._data == 0
    za = np.asarray(a._data == 0) if ctx.include_self else np.zeros(a._data.shape, bool)
    go = g * out
    if not (zs.any() or za.any()):
        return (go / a if want_self else None), _gathered(ctx, go) / src
    a1 = WhereBackward0.apply(1.0, a, za)  # zeros replaced by ones
    s1 = WhereBackward0.apply(1.0, src, zs)
    zeros = za.astype(np.int64)
    _scatter_np(zeros, ctx.dim, ctx.index, zs, "add")
    lone = _new((zeros == 1).astype(g._data.dtype))
    rest = g * ScatterReduceBackward0.apply(a1, ctx.dim, ctx.index, s1, "prod",
                                            ctx.include_self) * lone
    ga = WhereBackward0.apply(rest, go / a1, za) if want_self else None
    return ga, WhereBackward0.apply(_gathered(ctx, rest), _gathered(ctx, go) / s1, zs)


_REDUCE_GRADS = {"sum": _sum_grads, "mean": _mean_grads, "amax": _extreme_grads,
                 "amin": _extreme_grads, "prod": _prod_grads}


def _arg_type(fn: str, name: str, pos, value, types, type_name: str) -> None:
    if not isinstance(value, types):
        where = f" (position {pos})" if pos else ""
        raise TypeError(f"{fn}(): argument '{name}'{where} must be {type_name}, not "
                        f"{type(value).__name__}")


def _scatter_reduce_args(self, dim, index, src, reduce, include_self, fn):
    _arg_type(fn, "index", 2, index, Tensor, "Tensor")
    _arg_type(fn, "src", 3, src, Tensor, "Tensor")
    _arg_type(fn, "reduce", 4, reduce, str, "str")
    _arg_type(fn, "include_self", None, include_self, (bool, np.bool_), "bool")

    def check_reduce():
        if reduce not in _REDUCTIONS:
            raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, "
                               f"got {reduce}")
        if reduce == "mean" and self._data.dtype == np.bool_:
            raise NotImplementedError('"scatter_gather_tensor_cpu_reduce_mean" not implemented '
                                      "for 'Bool'")

    d, idx, _ = _scatter_args(self, dim, index, src, None, "scatter", check_reduce)
    return d, idx, bool(include_self)


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True, out=None) -> Tensor:
    """out = input with src[i] reduced ("sum", "prod", "mean", "amax", "amin") into the
    position index[i] names along dim (out[index[i][j]][j] for dim 0); include_self=False
    leaves input's own value out of every position something is scattered to.
    Shape: input's."""
    d, idx, inc = _scatter_reduce_args(input, dim, index, src, reduce, include_self,
                                       "scatter_reduce")
    r = ScatterReduceBackward0.apply(input, d, idx, src, reduce, inc)
    return r if out is None else _write_out(out, r)


def scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    """In-place `scatter_reduce`."""
    d, idx, inc = _scatter_reduce_args(self, dim, index, src, reduce, include_self,
                                       "scatter_reduce_")
    return _write_in_place(
        self, src, lambda s, v: ScatterReduceBackward0.apply(s, d, idx, v, reduce, inc),
        lambda x: _scatter_reduce_np(x, d, idx, src._data, reduce, inc))


# ---- index_select / index_add / index_fill ----------------------------------------------------
def _vector_index(index, fn: str, dim_msg: bool = False) -> np.ndarray:
    if not isinstance(index, Tensor):
        raise TypeError(f"{fn}(): argument 'index' must be Tensor, not {type(index).__name__}")
    a = index._data
    if a.ndim > 1:
        if dim_msg:
            raise IndexError(f"{fn}(): Index is supposed to be a vector, but got dim: {a.ndim} "
                             f"with type: {TYPE_NAMES.get(a.dtype.name, a.dtype.name)} and size: "
                             f"{list(a.shape)}")
        raise IndexError(f"{fn}(): Index is supposed to be a vector")
    return a.reshape(-1)


class IndexSelectBackward0(Op):
    """out = a's slices at index along dim;  da = zeros with g's slices added at index"""

    @staticmethod
    def forward(ctx, a, dim, index):
        x = a._data
        ctx.shape, ctx.dim, ctx.index = x.shape, dim, index
        return np.take(x, index, axis=dim) if x.ndim else x.reshape(1)[index].reshape(())

    @staticmethod
    def backward(ctx, g):
        return _IndexAddZeros.apply(g, ctx.shape, ctx.dim, ctx.index), None, None


class _IndexAddZeros(Op):
    """out = zeros(shape).index_add(dim, index, g);  dg = out_grad.index_select(dim, index)"""

    @staticmethod
    def forward(ctx, g, shape, dim, index):
        ctx.dim, ctx.index = dim, index
        out = np.zeros(shape, g._data.dtype)
        if not (out.ndim and add_rows_into_zeros(np.moveaxis(out, dim, 0), np.asarray(index),
                                                 np.moveaxis(g._data, dim, 0))):
            _index_add_np(out, dim, index, g._data)
        return out

    @staticmethod
    def backward(ctx, gg):
        return IndexSelectBackward0.apply(gg, ctx.dim, ctx.index), None, None, None


def _index_add_np(out, dim, index, src, alpha=1):
    if out.ndim == 0:
        np.add.at(out.reshape(1), index, np.reshape(src, -1) * alpha if alpha != 1 else
                  np.reshape(src, -1))
        return
    moved = np.moveaxis(out, dim, 0)
    s = np.moveaxis(src, dim, 0)
    np.add.at(moved, index, s * alpha if alpha != 1 else s)


def index_select(input: Tensor, dim: int, index: Tensor, *, out=None) -> Tensor:
    """The slices of input at `index` (a vector) along dim.  Shape: input's, with index.numel()
    at dim."""
    idx = _vector_index(index, "index_select")
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    x = input._data
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    bad = _out_of_range(idx, n)
    if bad is not None:
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={n}")
    return IndexSelectBackward0.apply(input, d, idx)


class IndexAddBackward0(Op):
    """out = a with alpha*source's slices added at index along dim;  da = g,
    dsource = alpha * g.index_select(dim, index)"""

    @staticmethod
    def forward(ctx, a, dim, index, source, alpha=1):
        ctx.dim, ctx.index, ctx.alpha = dim, index, alpha
        out = a._data.copy()
        _index_add_np(out, dim, index, source._data, alpha)
        return out

    @staticmethod
    def backward(ctx, g):
        gs = None
        if ctx.needs_input_grad[3]:
            gs = IndexSelectBackward0.apply(g, ctx.dim, ctx.index)
            if ctx.alpha != 1:
                gs = gs * ctx.alpha
        return g, None, None, gs, None


def _index_add_args(self, dim, index, source, fn="index_add_"):
    idx = _vector_index(index, fn, dim_msg=True)
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"{fn}(): Expected dtype int32/int64 for index but got: "
                           f"{TYPE_NAMES.get(idx.dtype.name, idx.dtype.name)}")
    x, s = self._data, source._data
    if x.dtype != s.dtype:
        raise RuntimeError(f"{fn}(): self ({TYPE_NAMES[x.dtype.name]}) and source "
                           f"({TYPE_NAMES[s.dtype.name]}) must have the same scalar type")
    d = wrap_dim(dim, x.ndim)
    ns = s.shape[d] if s.ndim else 1
    if idx.size != ns:
        raise RuntimeError(f"{fn}(): Number of indices ({idx.size}) should be equal to "
                           f"source.size(dim): ({ns}), for dim: {d}")
    if s.ndim and x.ndim and (s.ndim != x.ndim or any(
            a != b for k, (a, b) in enumerate(zip(x.shape, s.shape)) if k != d)):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(x.shape)} source.shape = "
                           f"{list(s.shape)}")
    _check_bounds(idx, x.shape[d] if x.ndim else 1, d)
    return d, idx


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1,
              out=None) -> Tensor:
    """out = input with alpha * source's slices added at `index` along dim (repeats add up)."""
    d, idx = _index_add_args(input, dim, index, source, "index_add")
    return IndexAddBackward0.apply(input, d, idx, source, alpha)


def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """In-place `index_add`."""
    d, idx = _index_add_args(self, dim, index, source)
    return _write_in_place(self, source, lambda s, v: IndexAddBackward0.apply(s, d, idx, v, alpha),
                           lambda out: _index_add_np(out, d, idx, source._data, alpha))


# ---- index_copy -------------------------------------------------------------------------------
def _index_copy_np(out: np.ndarray, dim: int, index: np.ndarray, source: np.ndarray) -> None:
    """out's slices at index along dim replaced by source's (in place; of repeated indices the
    last wins). A 0-dim out or source counts as one slice."""
    o = np.moveaxis(out, dim, 0) if out.ndim else out.reshape(1)
    s = np.moveaxis(source, dim, 0) if source.ndim else source
    o[index] = s.reshape((index.size,) + o.shape[1:])


class IndexCopyBackward0(Op):
    """out = a with its slices at index along dim replaced by source's;
    da = g with those slices zeroed, dsource = g.index_select(dim, index)"""

    @staticmethod
    def forward(ctx, a, dim, index, source):
        ctx.dim, ctx.index = dim, index
        ctx.save_for_backward(source)  # for its shape; torch too saves it (version-checked)
        out = a._data.copy()
        _index_copy_np(out, dim, index, source._data)
        return out

    @staticmethod
    def backward(ctx, g):
        ga = IndexFillBackward0.apply(g, ctx.dim, ctx.index, 0.0) if ctx.needs_input_grad[0] \
            else None
        (source,) = ctx.saved_tensors
        gs = None
        if ctx.needs_input_grad[3]:
            shape = source._data.shape
            gs = g.expand(shape) if g._data.ndim == 0 else \
                IndexSelectBackward0.apply(g, ctx.dim, ctx.index).reshape(shape)
        return ga, None, None, gs


def _index_copy_args(self, dim, index, source, fn):
    """(dim, 1-D index array) after torch's checks, in torch's order."""
    _arg_type(fn, "index", 2, index, Tensor, "Tensor")
    _arg_type(fn, "source", 3, source, Tensor, "Tensor")
    x, s, i = self._data, source._data, index._data
    d = wrap_dim(dim, x.ndim)
    if i.ndim > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {i.ndim})")
    if s.ndim == 0 and i.size != 1:
        raise IndexError(f"index_copy_(): When source is scalar, index should have one element "
                         f"(got {i.size})")
    if s.ndim and x.ndim and s.ndim != x.ndim:
        raise IndexError(f"index_copy_(): When source and destination are not scalars, their "
                         f"dimensionality must match. Source dimensionality ({s.ndim}), "
                         f"destination dimensionality ({x.ndim})")
    if i.dtype != np.int64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                           f"{TYPE_NAMES.get(i.dtype.name, i.dtype.name)}")
    if x.dtype != s.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but "
                           f"got (self) {TYPE_NAMES[x.dtype.name]} and (source) "
                           f"{TYPE_NAMES[s.dtype.name]}")
    xs = " ".join(str(n) for k, n in enumerate(x.shape) if k != d)
    ss = " ".join(str(n) for k, n in enumerate(s.shape) if k != d)
    if xs != ss:
        raise RuntimeError(f"index_copy_(): Source/destination tensor must have same slice "
                           f"shapes. Destination slice shape: {xs} at dimension {d} and source "
                           f"slice shape: {ss} at dimension 0.")
    ns = s.shape[d] if s.ndim else 1
    if i.size != ns:
        raise IndexError(f"index_copy_(): Number of indices ({i.size}) should be equal to "
                         f"source.size(dim) ({ns})")
    n = x.shape[d] if x.ndim else 1
    bad = _out_of_range(i, n)
    if bad is not None:
        raise IndexError(f"index_copy_(): index {bad} is out of bounds for dimension {d} with "
                         f"size {n}")
    return d, i.reshape(-1)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """out = input with its slices at `index` (a vector) along dim replaced by source's
    (out[index[i]] = source[i] for dim 0).  Shape: input's."""
    d, idx = _index_copy_args(input, dim, index, source, "index_copy")
    return IndexCopyBackward0.apply(input, d, idx, source)


def index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """In-place `index_copy`."""
    d, idx = _index_copy_args(self, dim, index, source, "index_copy_")
    return _write_in_place(self, source, lambda s, v: IndexCopyBackward0.apply(s, d, idx, v),
                           lambda x: _index_copy_np(x, d, idx, source._data))


def _index_fill_np(out: np.ndarray, dim: int, index: np.ndarray, value) -> None:
    """out's slices at index along dim set to value (in place)."""
    if out.ndim:
        np.moveaxis(out, dim, 0)[index] = value
    elif index.size:
        out[...] = value


class IndexFillBackward0(Op):
    """out = a with its slices at index along dim set to a number;  da = g with those zeroed"""

    @staticmethod
    def forward(ctx, a, dim, index, value):
        ctx.dim, ctx.index = dim, index
        out = a._data.copy()
        _index_fill_np(out, dim, index, value)
        return out

    @staticmethod
    def backward(ctx, g):
        return IndexFillBackward0.apply(g, ctx.dim, ctx.index, 0.0), None, None, None


class IndexFillBackward1(Op):
    """out = a with its slices at index along dim set to a 0-dim tensor v;  da = g with those
    zeroed, dv = sum of g over them"""

    @staticmethod
    def forward(ctx, a, dim, index, v):
        ctx.dim, ctx.index = dim, index
        return IndexFillBackward0.forward(ctx, a, dim, index, v._data)

    @staticmethod
    def backward(ctx, g):
        ga = IndexFillBackward0.apply(g, ctx.dim, ctx.index, 0.0)
        gv = IndexSelectBackward0.apply(g, ctx.dim, np.unique(ctx.index)).sum() \
            if ctx.needs_input_grad[3] else None
        return ga, None, None, gv


def _index_fill_args(self, dim, index, value, fn):
    idx = _vector_index(index, fn)
    if idx.dtype != np.int64:
        raise RuntimeError(f"{fn}(): Expected dtype int64 for index.")
    x = self._data
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    bad = _out_of_range(idx, n, negative_ok=True)
    if bad is not None:
        raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {n}")
    idx = np.where(idx < 0, idx + n, idx)
    if isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value._data.ndim} dimension(s).")
    return d, idx


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """out = input with its slices at `index` along dim set to value (number or 0-dim tensor)."""
    d, idx = _index_fill_args(input, dim, index, value, "index_fill")
    if isinstance(value, Tensor):
        return IndexFillBackward1.apply(input, d, idx, value)
    return IndexFillBackward0.apply(input, d, idx, _scalar(value))


def index_fill_(self: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """In-place `index_fill`."""
    d, idx = _index_fill_args(self, dim, index, value, "index_fill_")
    others = (value,) if isinstance(value, Tensor) else ()
    if _grad_state.enabled and inplace._records(self, others):
        if isinstance(value, Tensor):
            return inplace.apply_inplace(
                self, lambda s, v: IndexFillBackward1.apply(s, d, idx, v), value)
        v = _scalar(value)
        return inplace.apply_inplace(self, lambda s: IndexFillBackward0.apply(s, d, idx, v))
    inplace.check_writable(self._data)
    v = value._data if isinstance(value, Tensor) else _scalar(value)
    _index_fill_np(self._data, d, idx, v)
    self._vc[0] += 1
    return self



# ---- take ---------------------------------------------------------------------------------------
class TakeBackward0(Op):
    """out = a.flatten()[index] (negative indices count from the end);
    da = zeros with g added at index (repeats accumulate)"""

    @staticmethod
    def forward(ctx, a, index):
        x = a._data
        ctx.shape, ctx.index = x.shape, index
        return np.take(x, index)

    @staticmethod
    def backward(ctx, g):
        return _PutAddZeros.apply(g, ctx.shape, ctx.index), None


class _PutAddZeros(Op):
    """out = zeros(shape) with g added at the flat positions index;  dg = out_grad.take(index)"""

    @staticmethod
    def forward(ctx, g, shape, index):
        ctx.index = index
        out = np.zeros(int(np.prod(shape)), g._data.dtype)
        if not add_rows_into_zeros(out, index, g._data):
            np.add.at(out, index.ravel(), g._data.ravel())
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, gg):
        return TakeBackward0.apply(gg, ctx.index), None, None


def take(input: Tensor, index: Tensor) -> Tensor:
    """input treated as 1-D, read at `index`.  Shape: index's."""
    idx = index._data
    if idx.dtype != np.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                           f"{TYPE_NAMES.get(idx.dtype.name, idx.dtype.name)}")
    n = input._data.size
    bad = _out_of_range(idx, n, negative_ok=True)
    if bad is not None:
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         f"elements.")
    return TakeBackward0.apply(input, np.where(idx < 0, idx + n, idx))
