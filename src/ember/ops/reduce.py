"""Reductions: sum mean prod var std max min amax amin argmax argmin logsumexp all any."""
from __future__ import annotations

import collections
import warnings

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from .base import Op
from .util import dim_aliases, dims_tuple, wrap_dim

_new = Tensor._new


def _expand_back(g: Tensor, shape, axes, keepdim):
    """Undo a reduction's shape change: unsqueeze reduced axes, then broadcast to `shape`."""
    if not keepdim and axes and len(shape):
        kept = list(shape)
        for ax in axes:
            kept[ax] = 1
        g = g.reshape(tuple(kept))
    return g.expand(shape)


def _sum_input(a: Tensor, dtype) -> np.ndarray:
    """a's array in the dtype its sums accumulate in: `dtype` if given, int64 for bool and
    integer input (as torch), else its own."""
    x = a._data
    if dtype is not None:
        return x.astype(_dtype.to_dtype(dtype).np)
    if x.dtype.kind in "bui":
        return x.astype(np.int64)
    return x


class SumBackward0(Op):
    """out = sum(a);  da = g broadcast to a's shape"""

    @staticmethod
    def forward(ctx, a, dtype=None):
        ctx.shape = a._data.shape
        x = _sum_input(a, dtype)
        return np.asarray(np.add.reduce(x, None, x.dtype))  # (NumPy would widen int32 sums)

    @staticmethod
    def backward(ctx, g):
        return _fill_like_scalar(g, ctx.shape), None


def _fill_like_scalar(g, shape, n=1):
    """A 0-dim gradient g / n broadcast to `shape`: materialised directly when nothing records
    (a contiguous array the engine can hand to .grad without a copy)."""
    if not g._rg:
        a = np.empty(shape, g._data.dtype)
        if a.size:
            a.fill(g._data if n == 1 else g._data / n)
        return _new(a)
    return (g if n == 1 else g / n).expand(shape)


class SumBackward1(Op):
    """out = sum(a, dims, keepdim);  da = g unsqueezed at dims, broadcast to a's shape"""

    @staticmethod
    def forward(ctx, a, axes, keepdim=False, dtype=None):
        ctx.shape = a._data.shape
        ctx.axes, ctx.keepdim = axes, keepdim
        x = _sum_input(a, dtype)
        return np.asarray(x.sum(axis=axes, keepdims=keepdim, dtype=x.dtype))

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx.shape, ctx.axes, ctx.keepdim), None, None, None


class MeanBackward0(Op):
    """out = mean(a);  da = g / numel broadcast"""

    @staticmethod
    def forward(ctx, a, dtype=None):
        ctx.shape = a._data.shape
        ctx.n = a._data.size
        x = _float_input(a, dtype, "mean")
        if x.size == 0:
            return np.full((), np.nan, x.dtype)
        # sum / n: what ndarray.mean computes, without its Python-level wrapper
        return np.asarray(np.true_divide(np.add.reduce(x, None, x.dtype), x.size))

    @staticmethod
    def backward(ctx, g):
        return _fill_like_scalar(g, ctx.shape, ctx.n), None


class MeanBackward1(Op):
    """out = mean(a, dims, keepdim);  da = g / n unsqueezed and broadcast"""

    @staticmethod
    def forward(ctx, a, axes, keepdim=False, dtype=None):
        ctx.shape = a._data.shape
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.n = int(np.prod([a._data.shape[i] for i in axes])) if axes else 1
        x = _float_input(a, dtype, "mean")
        if x.size == 0:  # mean over nothing: nan, silently as torch
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return np.asarray(x.mean(axis=axes, keepdims=keepdim, dtype=x.dtype))
        return np.asarray(x.mean(axis=axes, keepdims=keepdim, dtype=x.dtype))

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g / ctx.n, ctx.shape, ctx.axes, ctx.keepdim), None, None, None


def _float_input(a, dtype, name):
    x = a._data
    if dtype is not None:
        dt = _dtype.to_dtype(dtype)
        if not dt.is_floating_point:
            raise RuntimeError(f"{name}(): could not infer output dtype. Optional dtype must be "
                               f"either a floating point or complex dtype. Got: {_TN[dt.name]}")
        return x.astype(dt.np)
    if not _dtype.is_float_np(x.dtype):
        dn = _dtype._FROM_NP[x.dtype]
        raise RuntimeError(f"{name}(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {_TN[dn.name]}")
    return x


_TN = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
       "bool": "Bool", "float32": "Float", "float64": "Double", "float16": "Half"}


class ProdBackward0(Op):
    """out = prod(a);  da = g * out / a (computed without dividing by zero)"""

    @staticmethod
    def forward(ctx, a, axis=None, keepdim=False):
        ctx.save_for_backward(a)
        ctx.axis, ctx.keepdim = axis, keepdim
        x = a._data
        if x.dtype.kind in "bui":
            x = x.astype(np.int64)
        return np.asarray(np.prod(x, axis=axis, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        ax = ctx.axis
        axes = tuple(range(a.ndim)) if ax is None else (ax,)
        gk = _expand_back(g, a._data.shape, axes if ax is not None else (), ctx.keepdim) \
            if ax is not None else g.expand(a._data.shape)
        # product of all other elements: exclusive cumulative products from both sides
        x = a if ax is not None else a.reshape(-1)
        d = ax if ax is not None else 0
        others = _prod_others(x, d)
        if ax is None:
            others = others.reshape(a._data.shape)
        return gk * others, None, None


class ProdBackward1(ProdBackward0):
    """out = prod(a, dim, keepdim);  da = g * (product of the other elements of the slice)"""


def _prod_others(x: Tensor, d: int) -> Tensor:
    from .shape import cat
    n = x._data.shape[d]
    ones_shape = list(x._data.shape)
    ones_shape[d] = 1
    one = _new(np.ones(ones_shape, x._data.dtype))
    left = cat([one, x.narrow(d, 0, n - 1)], d).cumprod(d) if n > 1 else one
    right = cat([x.narrow(d, 1, n - 1), one], d).flip(d).cumprod(d).flip(d) if n > 1 else one
    return left * right


class CumprodBackward0(Op):
    """out = cumprod(a, d);  da via reversed cumulative sums of g*out, divided by a (a != 0)"""
    _save_output = True

    @staticmethod
    def forward(ctx, a, d):
        ctx.save_for_backward(a)
        ctx.d = d
        return np.cumprod(a._data, axis=d)

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        d = ctx.d
        if (a._data == 0).any():  # s / a divides by the zeros (mathapi: cumulative.py's formula)
            from .cumulative import cumprod_grad_with_zeros
            return _new(cumprod_grad_with_zeros(a._data, g._data, d)), None
        s = (g * out).flip(d).cumsum(d).flip(d)
        return s / a, None


class CumsumBackward0(Op):
    """out = cumsum(a, d);  da = reversed cumsum of g"""

    @staticmethod
    def forward(ctx, a, d, dtype=None):
        ctx.d = d
        return np.cumsum(_sum_input(a, dtype), axis=d)

    @staticmethod
    def backward(ctx, g):
        return g.flip(ctx.d).cumsum(ctx.d).flip(ctx.d), None, None


class VarBackward0(Op):
    """out = sum((a - mean)^2) / (n - correction);  da = g * 2 (a - mean) / (n - correction)"""

    @staticmethod
    def forward(ctx, a, axes, correction=1, keepdim=False):
        return _var_forward(ctx, a, axes, correction, keepdim, "var")

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        return _var_grad(ctx, a, g, 2.0)


class StdBackward0(Op):
    """out = sqrt(var(a));  da = g * (a - mean) / ((n - correction) * out)"""
    _save_output = True

    @staticmethod
    def forward(ctx, a, axes, correction=1, keepdim=False):
        return _var_forward(ctx, a, axes, correction, keepdim, "std")

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        return _var_grad(ctx, a, g / out, 1.0)


def _var_forward(ctx, a, axes, correction, keepdim, name):
    """var(a) (name "var") or std(a) (name "std") over axes with `correction`."""
    ctx.save_for_backward(a)
    ctx.axes, ctx.correction, ctx.keepdim = axes, correction, keepdim
    x = _float_input(a, None, name)
    n = int(np.prod([x.shape[i] for i in axes])) if axes else 1
    ctx.n = n
    sqrt = name == "std"
    if n - correction <= 0:
        _warn_dof(name)
        return _no_dof(x, axes, keepdim, sqrt)
    return np.asarray((np.std if sqrt else np.var)(x, axis=axes, ddof=correction,
                                                   keepdims=keepdim))


def _var_grad(ctx, a, g, k):
    """da = g * k (a - mean) / (n - correction), g expanded back over the reduced dims; nan
    gradients when there are no degrees of freedom, as torch."""
    mean = a.mean(ctx.axes, keepdim=True)
    gk = _expand_back(g, a._data.shape, ctx.axes, ctx.keepdim)
    d = ctx.n - ctx.correction
    if d <= 0:
        return gk * float("nan"), None, None, None
    return gk * (a - mean) * (k / d), None, None, None


def _warn_dof(name):
    warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than "
                  "the reduction factor (input numel divided by output numel).", UserWarning,
                  stacklevel=2)


def _no_dof(x, axes, keepdim, sqrt):
    """var/std with n <= correction: torch divides the squared deviations by 0 (inf, or nan
    where they are all 0)."""
    with np.errstate(all="ignore"):
        dev = x - x.mean(axis=axes, keepdims=True, dtype=x.dtype) if x.size else x
        ss = np.sum(dev * dev, axis=axes, keepdims=keepdim, dtype=x.dtype)
        r = np.asarray(ss / x.dtype.type(0))
        return np.sqrt(r) if sqrt else r


def _even_split(x: np.ndarray, extremum: np.ndarray, axes=None) -> Tensor:
    """Weights sharing a max/min's gradient evenly among the elements equal to it: 1/k at each
    of the k extremal elements of every reduced slice (all of x when axes is None), else 0."""
    mask = x == extremum
    return _new((mask / mask.sum(axis=axes, keepdims=axes is not None)).astype(x.dtype))


class _ExtremumAll(Op):
    """out = max(a) over all elements;  da = g spread evenly over the maximal elements"""
    _save_output = True
    _np = staticmethod(np.max)

    @staticmethod
    def forward(ctx, a):
        if a._data.size == 0:
            name = "max" if type(ctx)._np is np.max else "min"
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        ctx.save_for_backward(a)
        return np.asarray(type(ctx)._np(a._data))

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        return g * _even_split(a._data, out._data)


class MaxBackward1(_ExtremumAll):
    _np = staticmethod(np.max)


class MinBackward1(_ExtremumAll):
    _np = staticmethod(np.min)


class AmaxBackward0(Op):
    """out = amax(a, dims);  da = g spread evenly over the maximal elements of each slice"""
    _save_output = True
    _np = staticmethod(np.max)

    @staticmethod
    def forward(ctx, a, axes, keepdim=False):
        ctx.save_for_backward(a)
        ctx.axes, ctx.keepdim = axes, keepdim
        return np.asarray(type(ctx)._np(a._data, axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        o = _expand_back(out, a._data.shape, ctx.axes, ctx.keepdim)._data
        return _expand_back(g, a._data.shape, ctx.axes, ctx.keepdim) * _even_split(
            a._data, o, ctx.axes), None, None


class AminBackward0(AmaxBackward0):
    _np = staticmethod(np.min)


class MaxBackward0(Op):
    """(values, indices) = max(a, dim);  da = g scattered to the argmax positions"""
    _arg = staticmethod(np.argmax)

    @staticmethod
    def forward(ctx, a, dim, keepdim=False):
        x = a._data
        if x.ndim == 0:
            idx = np.zeros((), np.int64)
            vals = x.copy()
        else:
            if x.shape[dim] == 0:
                raise IndexError(f"max(): Expected reduction dim {dim} to have non-zero size.")
            idx = type(ctx)._arg(x, axis=dim, keepdims=True)
            vals = np.take_along_axis(x, idx, axis=dim)
            if not keepdim:
                idx = idx.squeeze(dim)
                vals = vals.squeeze(dim)
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        ctx.idx = idx
        out_idx = _new(idx.astype(np.int64))
        ctx.mark_non_differentiable(out_idx)
        return _new(vals), out_idx

    @staticmethod
    def backward(ctx, g, gi=None):
        from .indexing import scatter_into_zeros
        if not ctx.shape:
            return g, None, None
        idx = ctx.idx if ctx.keepdim else np.expand_dims(ctx.idx, ctx.dim)
        gk = g if ctx.keepdim else g.unsqueeze(ctx.dim)
        return scatter_into_zeros(ctx.shape, ctx.dim, _new(idx), gk), None, None


class MinBackward0(MaxBackward0):
    _arg = staticmethod(np.argmin)


class LogsumexpBackward0(Op):
    """out = log(sum(exp(a), dims));  da = g * exp(a - out)"""
    _save_output = True

    @staticmethod
    def forward(ctx, a, axes, keepdim=False):
        ctx.save_for_backward(a)
        ctx.axes, ctx.keepdim = axes, keepdim
        x = a._data
        if x.dtype.kind != "f":
            x = x.astype(_dtype._default.dtype.np)
        m = np.max(x, axis=axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0).astype(x.dtype)
        with np.errstate(divide="ignore"):  # a slice of -inf only: -inf, as torch
            s = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        return s if keepdim else np.squeeze(s, axis=axes)

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        o = _expand_back(out, a._data.shape, ctx.axes, ctx.keepdim)
        return _expand_back(g, a._data.shape, ctx.axes, ctx.keepdim) * (a - o).exp(), None, None


# ---- public functions ---------------------------------------------------------------------
values_indices = {}


def _named(name):
    nt = values_indices.get(name)
    if nt is None:
        nt = collections.namedtuple(name, ["values", "indices"])
        nt.__module__ = "ember.return_types"
        nt.__repr__ = lambda self, _n=name: (f"ember.return_types.{_n}(\nvalues={self.values!r},\n"
                                              f"indices={self.indices!r})")
        values_indices[name] = nt
    return nt


def _sum_like(all_node, dims_node, name):
    """sum/mean: `all_node` (torch's ...Backward0) for a reduction of everything to a 0-dim
    tensor, `dims_node` (...Backward1) for given dims, dim=[] (every dim) or keepdim."""
    def f(input, dim=None, keepdim=False, *, dtype=None):
        if isinstance(dim, (tuple, list)) and len(dim) == 0:  # dim=[]: every dim, ...Backward1
            return dims_node.apply(input, tuple(range(input._data.ndim)), keepdim, dtype)
        if dim is None:
            if keepdim and input._data.ndim:
                return dims_node.apply(input, tuple(range(input._data.ndim)), True, dtype)
            return all_node.apply(input, dtype) if dtype is not None else all_node.apply(input)
        return dims_node.apply(input, dims_tuple(dim, input._data.ndim), keepdim, dtype)
    f.__name__ = f.__qualname__ = name
    return dim_aliases(f)


sum = _sum_like(SumBackward0, SumBackward1, "sum")
mean = _sum_like(MeanBackward0, MeanBackward1, "mean")


@dim_aliases
def prod(input, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        return ProdBackward0.apply(input)
    d = wrap_dim(dim, input._data.ndim)
    return ProdBackward1.apply(input, d if input._data.ndim else None, keepdim)


@dim_aliases
def cumsum(input, dim, *, dtype=None):
    return CumsumBackward0.apply(input, wrap_dim(dim, input._data.ndim), dtype)


@dim_aliases
def cumprod(input, dim, *, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    return CumprodBackward0.apply(input, wrap_dim(dim, input._data.ndim))


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


@dim_aliases
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):  # var(input, unbiased)
        unbiased, dim = dim, None
    return VarBackward0.apply(input, dims_tuple(dim, input._data.ndim),
                              _correction(unbiased, correction), keepdim)


@dim_aliases
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    return StdBackward0.apply(input, dims_tuple(dim, input._data.ndim),
                              _correction(unbiased, correction), keepdim)


def _extremum(all_cls, dim_cls, pair_fn, name):
    def f(input, dim=None, keepdim=False, *, out=None):
        if dim is None:
            return all_cls.apply(input)
        if isinstance(dim, Tensor):  # max(a, b): elementwise
            return pair_fn(input, dim)
        d = wrap_dim(dim, input._data.ndim)
        v, i = dim_cls.apply(input, d, keepdim)
        return _named(name)(v, i)
    f.__name__ = name
    return dim_aliases(f)


def _pair_max(a, b):
    from .elementwise import maximum
    return maximum(a, b)


def _pair_min(a, b):
    from .elementwise import minimum
    return minimum(a, b)


max = _extremum(MaxBackward1, MaxBackward0, _pair_max, "max")
min = _extremum(MinBackward1, MinBackward0, _pair_min, "min")


def _amax_dims(name, input, dim):
    x = input._data
    axes = dims_tuple(dim if dim != () else None, x.ndim)
    for d in axes:
        _check_nonempty(name, x, d)
    return axes


@dim_aliases
def amax(input, dim=(), keepdim=False):
    return AmaxBackward0.apply(input, _amax_dims("amax", input, dim), keepdim)


@dim_aliases
def amin(input, dim=(), keepdim=False):
    return AminBackward0.apply(input, _amax_dims("amin", input, dim), keepdim)


def _check_nonempty(name, x, dim=None):
    """torch's errors for reducing an empty tensor (over everything, or over an empty dim)."""
    if dim is None:
        if x.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
    elif x.ndim and x.shape[dim] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")


def _arg(np_fn, name):
    def f(input, dim=None, keepdim=False):
        x = input._data
        if dim is None:
            _check_nonempty(name, x)
            r = np.asarray(np_fn(x.reshape(-1)), np.int64)
            return _new(r.reshape((1,) * x.ndim) if keepdim else r)
        d = wrap_dim(dim, x.ndim)
        if x.ndim == 0:
            return _new(np.zeros((), np.int64))
        _check_nonempty(name, x, d)
        return _new(np.asarray(np_fn(x, axis=d, keepdims=keepdim), np.int64))
    f.__name__ = name
    return dim_aliases(f)


argmax = _arg(np.argmax, "argmax")
argmin = _arg(np.argmin, "argmin")


@dim_aliases
def logsumexp(input, dim, keepdim=False):
    return LogsumexpBackward0.apply(input, dims_tuple(dim, input._data.ndim), keepdim)


def _logical_reduce(np_fn, input, dim, keepdim):
    x = input._data
    if dim is None:
        r = np.asarray(np_fn(x))
    else:
        r = np.asarray(np_fn(x, axis=dims_tuple(dim, x.ndim), keepdims=keepdim))
    # torch returns bool, except for uint8 input, which stays uint8
    return _new(r.astype(np.uint8) if x.dtype == np.uint8 else r)


@dim_aliases
def all(input, dim=None, keepdim=False):
    return _logical_reduce(np.all, input, dim, keepdim)


@dim_aliases
def any(input, dim=None, keepdim=False):
    return _logical_reduce(np.any, input, dim, keepdim)


@dim_aliases
def count_nonzero(input, dim=None):
    x = input._data
    return _new(np.asarray(np.count_nonzero(x, axis=None if dim is None else
                                            dims_tuple(dim, x.ndim)), np.int64))


class LinalgVectorNormBackward0(Op):
    """out = (sum over dims of |a|^p)^(1/p); p = 0 counts non-zeros, p = +-inf is max/min |a|.
    da = g sign(a) |a|^(p-1) / out^(p-1): g a / out for p = 2, g sign(a) for p = 1, g sign(a)
    spread over the extremal elements for p = +-inf, 0 where out = 0, none for p = 0."""
    _save_output = True

    @staticmethod
    def forward(ctx, a, p, axes, keepdim):
        x = a._data
        if x.dtype.kind != "f":
            raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor "
                               f"as input. Got {_TN[_dtype._FROM_NP[x.dtype].name]}")
        ctx.save_for_backward(a)
        ctx.p, ctx.axes, ctx.keepdim = p, axes, keepdim
        kw = {"axis": axes, "keepdims": keepdim}
        if p == 2:
            r = np.sqrt(np.sum(x * x, **kw))
        elif p == 1:
            r = np.sum(np.abs(x), **kw)
        elif p == np.inf:
            r = np.max(np.abs(x), **kw)
        elif p == -np.inf:
            r = np.min(np.abs(x), **kw)
        elif p == 0:
            r = np.sum(x != 0, **kw)
        else:
            with np.errstate(divide="ignore"):
                r = np.sum(np.abs(x) ** p, **kw) ** (1.0 / p)
        return np.asarray(r, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        p = ctx.p
        if p == 0:  # torch returns no gradient at all (the input's .grad stays None)
            return None, None, None, None
        gk = _expand_back(g, a._data.shape, ctx.axes, ctx.keepdim)
        if p == 1:
            return gk * a.sign(), None, None, None
        o = _expand_back(out, a._data.shape, ctx.axes, ctx.keepdim)
        zero = _new(o._data == 0)
        if abs(p) == np.inf:
            mask = _new((np.abs(a._data) == o._data).astype(a._data.dtype))
            count = mask.sum(ctx.axes, keepdim=True)
            return gk * a.sign() * mask / count, None, None, None
        from .elementwise import where_
        if p == 2:
            return gk * where_(zero, 0.0, a / o), None, None, None
        scale = a.sign() * a.abs() ** (p - 1) / o ** (p - 1)
        return gk * where_(zero, 0.0, scale), None, None, None


@dim_aliases
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """torch.norm for vector norms (p a number, or 'fro' = 2 over the given dims)."""
    if isinstance(p, str):
        if p != "fro":
            raise NotImplementedError(f"ember.norm: p='{p}' (matrix norms) is not supported; "
                                      "only vector norms and 'fro'")
        p = 2
    if dtype is not None:
        input = input.to(dtype)
    return LinalgVectorNormBackward0.apply(input, float(p), dims_tuple(dim, input._data.ndim),
                                           keepdim)
