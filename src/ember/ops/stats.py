"""Order statistics and nan-aware reductions: median, nanmedian, mode, kthvalue, quantile,
nanquantile, aminmax, std_mean, var_mean, nansum, nanmean, nan_to_num; and counting ops
without gradients: histc, bincount, unique, unique_consecutive, searchsorted, bucketize."""
from __future__ import annotations

import collections

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from .base import Op
from .reduce import _expand_back, _named
from .util import dims_tuple, wrap_dim

_new = Tensor._new


def _float_dt():
    from .. import _dtype
    return _dtype._default.dtype.np


# ---- selections with indices -------------------------------------------------------------------
def _order_nan_last(x: np.ndarray, axis: int) -> np.ndarray:
    return np.argsort(x, axis=axis, kind="stable")  # NumPy sorts nan last


class _Select(Op):
    """(values, indices) picked along dim;  da = zeros with g put back at the indices"""

    @staticmethod
    def forward(ctx, a, dim, keepdim, pick):
        x = a._data
        if x.ndim == 0:
            idx = np.zeros((), np.int64)
            vals = x.copy()
        else:
            idx = pick(x, dim)  # keepdims shape
            vals = np.take_along_axis(x, idx, axis=dim)
            if not keepdim:
                idx, vals = idx.squeeze(dim), vals.squeeze(dim)
        ctx.shape, ctx.dim, ctx.idx, ctx.keepdim = x.shape, dim, idx, keepdim
        out_idx = _new(idx.astype(np.int64))
        ctx.mark_non_differentiable(out_idx)
        return _new(vals), out_idx

    @staticmethod
    def backward(ctx, g, gi=None):
        if not ctx.shape:
            return g, None, None, None
        from .indexing import scatter_into_zeros
        idx, d = ctx.idx, ctx.dim
        if not ctx.keepdim:
            idx, g = np.expand_dims(idx, d), g.unsqueeze(d)
        return scatter_into_zeros(ctx.shape, d, _new(idx), g), None, None, None


class MedianBackward1(_Select):
    pass


class NanmedianBackward1(_Select):
    pass


class KthvalueBackward0(_Select):
    pass


class ModeBackward0(_Select):
    pass


def _kth_picker(k_of):
    """pick the element of rank k_of(count) in the nan-last stable order."""
    def pick(x, d):
        order = _order_nan_last(x, d)
        n = x.shape[d]
        if x.dtype.kind == "f":
            nans = np.isnan(x).sum(d, keepdims=True)
        else:
            nans = np.zeros([1 if i == d else s for i, s in enumerate(x.shape)], np.int64)
        k = k_of(n, nans)
        return np.take_along_axis(order, np.asarray(k, np.int64), axis=d)
    return pick


_median_pick = _kth_picker(lambda n, nans: np.where(nans > 0, n - nans, (n - 1) // 2))
_nanmedian_pick = _kth_picker(lambda n, nans: np.where(nans == n, 0,
                                                       np.maximum(n - nans - 1, 0) // 2))


class _WholeSelect(Op):
    """out = the picked element of all of a;  da = g spread evenly over the elements equal to
    out (nan equal to nan), as torch's evenly_distribute_backward"""

    @staticmethod
    def forward(ctx, a, pick):
        x = a._data
        if x.size == 0:
            raise RuntimeError(f"{type(ctx).__name__[:-9].lower()}() input tensor cannot be "
                               "empty")
        flat = x.reshape(-1)
        v = flat[pick(flat, 0)[0]]
        ctx.save_for_backward(a)
        ctx.v = v
        return np.asarray(v)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        x = a._data
        mask = np.isnan(x) if np.isnan(ctx.v) else x == ctx.v
        return g * _new((mask / mask.sum()).astype(g._data.dtype)), None


class MedianBackward0(_WholeSelect):
    pass


class NanmedianBackward0(_WholeSelect):
    pass


def median(input, dim=None, keepdim=False):
    if dim is None:
        return MedianBackward0.apply(input, _median_pick)
    d = wrap_dim(dim, input._data.ndim)
    _nonempty("median", input, d)
    return _named("median")(*MedianBackward1.apply(input, d, keepdim, _median_pick))


def nanmedian(input, dim=None, keepdim=False):
    if dim is None:
        return NanmedianBackward0.apply(input, _nanmedian_pick)
    d = wrap_dim(dim, input._data.ndim)
    _nonempty("nanmedian", input, d)
    return _named("nanmedian")(*NanmedianBackward1.apply(input, d, keepdim, _nanmedian_pick))


def _nonempty(name, input, d):
    x = input._data
    if x.ndim and x.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def kthvalue(input, k, dim=-1, keepdim=False):
    x = input._data
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    pick = _kth_picker(lambda n_, nans: np.full_like(nans, k - 1))
    return _named("kthvalue")(*KthvalueBackward0.apply(input, d, keepdim, pick))


def _mode_pick(x, d):
    """The most frequent value along d (the smallest on ties), at its last position."""
    xs = np.moveaxis(x, d, -1)
    n = xs.shape[-1]
    order = np.argsort(xs, axis=-1, kind="stable")
    s = np.take_along_axis(xs, order, -1)
    new_run = np.ones(s.shape, bool)
    new_run[..., 1:] = s[..., 1:] != s[..., :-1]
    pos = np.arange(n)
    run_start = np.maximum.accumulate(np.where(new_run, pos, 0), axis=-1)
    run_len = pos - run_start + 1  # length of the run so far
    best = np.argmax(run_len, axis=-1)  # first (smallest value) run reaching the max length
    last_in_sorted = best  # end of that run
    # the run's members (their original positions), of which torch reports the last
    start = np.take_along_axis(run_start, best[..., None], -1)[..., 0]
    members = (pos >= start[..., None]) & (pos <= last_in_sorted[..., None])
    idx = np.max(np.where(members, order, -1), axis=-1)
    return np.moveaxis(idx[..., None], -1, d)


def mode(input, dim=-1, keepdim=False):
    d = wrap_dim(dim, input._data.ndim)
    return _named("mode")(*ModeBackward0.apply(input, d, keepdim, _mode_pick))


# ---- quantiles ---------------------------------------------------------------------------------
def _quantile(name, input, q, dim, keepdim, interpolation, ignore_nan):
    from .shape import stack
    x = input._data
    if x.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    scalar_q = not isinstance(q, Tensor)
    qs = np.atleast_1d(np.asarray(q._data if isinstance(q, Tensor) else q, np.float64))
    if isinstance(q, Tensor):
        if q._data.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if q._data.dtype != x.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        scalar_q = q._data.ndim == 0
    if ((qs < 0) | (qs > 1)).any():
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest. Got {interpolation}")
    if x.size == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if dim is None:
        src, d = input.reshape(-1), 0
    else:
        d = wrap_dim(dim, x.ndim)
        src = input if x.ndim else input.reshape(1)
    srt = src.sort(d).values  # nan last
    n = srt._data.shape[d]
    sd = srt._data
    nans = np.isnan(sd).sum(d, keepdims=True)
    valid = n - nans
    outs = []
    q_grad = isinstance(q, Tensor) and q.requires_grad and interpolation == "linear"
    for i, qv in enumerate(qs):
        if ignore_nan:
            rank = qv * np.maximum(valid - 1, 0).astype(np.float64)
        else:
            rank = np.where(nans > 0, n - 1, qv * (n - 1)).astype(np.float64)
        if interpolation == "lower":
            rank = np.floor(rank)
        elif interpolation == "higher":
            rank = np.ceil(rank)
        elif interpolation == "nearest":
            rank = np.round(rank)  # half to even, as torch
        lo = np.floor(rank).astype(np.int64)
        hi = np.minimum(np.ceil(rank).astype(np.int64), n - 1)
        vlo = srt.gather(d, _new(lo))
        vhi = srt.gather(d, _new(hi))
        w = (rank - lo) if interpolation != "midpoint" else np.where(hi > lo, 0.5, 0.0)
        w = _new(w.astype(sd.dtype))
        if q_grad:  # the weight as a function of q, so q gets its gradient as in torch
            qi = q.reshape(-1)[i]
            span = np.maximum(valid - 1, 0) if ignore_nan else \
                np.where(nans > 0, 0, n - 1)
            w = qi * _new(span.astype(sd.dtype)) - _new(lo.astype(sd.dtype))
        v = vlo.lerp(vhi, w)
        outs.append(v if keepdim and dim is not None else v.squeeze(d))
    if keepdim and dim is None:
        outs = [o.reshape([1] * x.ndim) for o in outs]
    return outs[0] if scalar_q else stack(outs, 0)


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


# ---- two-output reductions ---------------------------------------------------------------------
AminmaxResult = collections.namedtuple("aminmax", "min max")


class AminmaxBackward0(Op):
    """(min, max) over dim;  da = g_min spread evenly over the minima + g_max over the maxima"""

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        x = a._data
        if x.size == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                               "operation has no identity.")
        ctx.save_for_backward(a)
        ctx.axes, ctx.keepdim = axes, keepdim
        lo = np.min(x, axis=axes, keepdims=True)
        hi = np.max(x, axis=axes, keepdims=True)
        ctx.lo, ctx.hi = lo, hi
        if not keepdim:
            lo, hi = np.squeeze(lo, axes), np.squeeze(hi, axes)
        return np.asarray(lo), np.asarray(hi)

    @staticmethod
    def backward(ctx, gmin, gmax):
        a, = ctx.saved_tensors
        x = a._data
        out = None
        for g, ext in ((gmin, ctx.lo), (gmax, ctx.hi)):
            mask = (x == ext).astype(g._data.dtype)
            count = mask.sum(ctx.axes, keepdims=True)
            part = _expand_back(g, x.shape, ctx.axes, ctx.keepdim) * _new(mask / count)
            out = part if out is None else out + part
        return out, None, None


def aminmax(input, *, dim=None, keepdim=False):
    x = input._data
    axes = tuple(range(x.ndim)) if dim is None else dims_tuple(dim, x.ndim)
    if dim is None and keepdim:
        lo, hi = AminmaxBackward0.apply(input, axes, True)
    else:
        lo, hi = AminmaxBackward0.apply(input, axes, keepdim)
    return AminmaxResult(lo, hi)


class _MomentMean(Op):
    """(var or std, mean) over dims;  da = g_v * k (a - mean) / (n - correction) + g_mean / n
    (k = 2 for var; 1 / std for std)"""
    _std = False

    @staticmethod
    def forward(ctx, a, axes, correction, keepdim):
        x = a._data
        if x.dtype.kind != "f":
            raise RuntimeError(f"std_mean(): could not infer output dtype. Input dtype must be "
                               f"either a floating point or complex dtype. Got: Long")
        ctx.save_for_backward(a)
        ctx.axes, ctx.correction, ctx.keepdim = axes, correction, keepdim
        n = int(np.prod([x.shape[i] for i in axes])) if axes else 1
        ctx.n = n
        with np.errstate(all="ignore"):
            mean = np.mean(x, axis=axes, keepdims=keepdim)
            v = np.var(x, axis=axes, ddof=correction, keepdims=keepdim) if n - correction > 0 \
                else np.full(np.shape(mean), np.nan, x.dtype)
            if n - correction <= 0:
                from .reduce import _warn_dof
                _warn_dof("std_mean" if type(ctx)._std else "var_mean")
        if type(ctx)._std:
            v = np.sqrt(v)
        ctx.v = np.asarray(v, x.dtype)
        return np.asarray(v, x.dtype), np.asarray(mean, x.dtype)

    @staticmethod
    def backward(ctx, gv, gm):
        a, = ctx.saved_tensors
        shape = a._data.shape
        mean = a.mean(ctx.axes, keepdim=True)
        gvk = _expand_back(gv, shape, ctx.axes, ctx.keepdim)
        d = ctx.n - ctx.correction
        if type(ctx)._std:
            if _grad_state.enabled:  # create_graph: the std as a function of a, not a constant
                vk = a.std(ctx.axes, correction=ctx.correction, keepdim=True)
            else:
                vk = _expand_back(_new(ctx.v), shape, ctx.axes, ctx.keepdim)
            dv = gvk * (a - mean) / (vk * d)
        else:
            dv = gvk * (a - mean) * (2.0 / d)
        return dv + _expand_back(gm, shape, ctx.axes, ctx.keepdim) / ctx.n, None, None, None


class StdMeanBackward0(_MomentMean):
    _std = True


class VarMeanBackward0(_MomentMean):
    pass


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):  # std_mean(x, False): the old unbiased positional
        dim, unbiased = None, dim
    axes = dims_tuple(dim, input._data.ndim)
    return StdMeanBackward0.apply(input, axes, _correction(unbiased, correction), keepdim)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    axes = dims_tuple(dim, input._data.ndim)
    return VarMeanBackward0.apply(input, axes, _correction(unbiased, correction), keepdim)


# ---- nan handling ------------------------------------------------------------------------------
class NansumBackward0(Op):
    """out = sum of the non-nan entries;  da = g where a is not nan, else 0"""

    @staticmethod
    def forward(ctx, a, axes, keepdim, dtype):
        x = a._data
        if dtype is not None:
            x = x.astype(dtype.np)
        ctx.save_for_backward(a)
        ctx.axes, ctx.keepdim = axes, keepdim
        if x.dtype.kind in "biu":
            return np.asarray(np.sum(x, axis=axes, keepdims=keepdim, dtype=np.int64))
        return np.asarray(np.nansum(x, axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        keep = _new((~np.isnan(a._data)).astype(g._data.dtype))
        return _expand_back(g, a._data.shape, ctx.axes, ctx.keepdim) * keep, None, None, None


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    return NansumBackward0.apply(input, dims_tuple(dim, input._data.ndim), keepdim, dtype)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    x = input._data
    if x.dtype.kind != "f":
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype "
                           f"but got {input.dtype}".replace("ember.", "torch.").replace(
                               "torch.int64", "Long"))
    axes = dims_tuple(dim, x.ndim)
    count = np.sum(~np.isnan(x), axis=axes, keepdims=keepdim).astype(x.dtype)
    return nansum(input, dim, keepdim, dtype=dtype) / _new(count)


class NanToNumBackward0(Op):
    """out = a with nan, +inf, -inf replaced;  da = g where a is finite, else 0"""

    @staticmethod
    def forward(ctx, a, nan, posinf, neginf):
        x = a._data
        ctx.save_for_backward(a)
        if x.dtype.kind != "f":
            return x.copy()
        info = np.finfo(x.dtype)
        return np.nan_to_num(x, nan=nan, posinf=info.max if posinf is None else posinf,
                             neginf=info.min if neginf is None else neginf)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        return g * _new(np.isfinite(a._data)), None, None, None


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    return NanToNumBackward0.apply(input, nan, posinf, neginf)


# ---- counting (no gradient) --------------------------------------------------------------------
def histc(input, bins=100, min=0, max=0):
    x = input._data
    if x.dtype.kind != "f":
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for "
                           f"'{ {'int64': 'Long', 'int32': 'Int'}.get(x.dtype.name, x.dtype.name)}'")
    if bins <= 0:
        raise RuntimeError("torch.histc(): bins must be > 0, but got " + f"{bins} for bins")
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(np.min(x)), float(np.max(x))
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"torch.histc(): max must be larger than min, but got min {min} "
                           f"max {max}")
    v = x.ravel().astype(np.float64)
    v = v[(v >= lo) & (v <= hi)]
    b = ((v - lo) * bins / (hi - lo)).astype(np.int64)
    b[b == bins] = bins - 1
    return _new(np.bincount(b, minlength=bins).astype(x.dtype))


def bincount(input, weights=None, minlength=0):
    x = input._data
    if x.dtype.kind not in "iub":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for "
                                  f"'{ {'float32': 'Float', 'float64': 'Double'}.get(x.dtype.name, x.dtype.name)}'")
    if x.ndim != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if x.size and x.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return _new(np.bincount(x, minlength=minlength).astype(np.int64))
    w = weights._data
    if w.shape != x.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    dt = w.dtype if w.dtype.kind == "f" else np.float64
    return _new(np.bincount(x, weights=w, minlength=minlength).astype(dt))


def _unique_outputs(vals, inverse, counts, return_inverse, return_counts):
    out = [_new(vals)]
    if return_inverse:
        out.append(_new(inverse.astype(np.int64)))
    if return_counts:
        out.append(_new(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    x = input._data
    if dim is None:
        vals, inv, cnt = np.unique(x, return_inverse=True, return_counts=True)
        inv = inv.reshape(x.shape)
    else:
        d = wrap_dim(dim, x.ndim)
        vals, inv, cnt = np.unique(x, return_inverse=True, return_counts=True, axis=d)
        inv = inv.reshape(-1)
    return _unique_outputs(vals, inv, cnt, return_inverse, return_counts)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    x = input._data
    if dim is None:
        flat = x.reshape(-1)
        if flat.size == 0:
            return _unique_outputs(flat, np.zeros(x.shape, np.int64), np.zeros(0, np.int64),
                                   return_inverse, return_counts)
        change = np.ones(flat.size, bool)
        change[1:] = flat[1:] != flat[:-1]
        vals = flat[change]
        inv = (np.cumsum(change) - 1).reshape(x.shape)
    else:
        d = wrap_dim(dim, x.ndim)
        xs = np.moveaxis(x, d, 0)
        change = np.ones(xs.shape[0], bool)
        if xs.shape[0] > 1:
            change[1:] = (xs[1:] != xs[:-1]).reshape(xs.shape[0] - 1, -1).any(1)
        vals = np.moveaxis(xs[change], 0, d)
        inv = np.cumsum(change) - 1
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, change.size))
    return _unique_outputs(vals, inv, counts, return_inverse, return_counts)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    seq = sorted_sequence._data
    scalar = not isinstance(input, Tensor)
    vals = np.asarray(input) if scalar else input._data
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        right = side == "right"
    how = "right" if right else "left"
    srt = None if sorter is None else sorter._data
    if seq.ndim == 1:
        s = seq if srt is None else seq[srt]
        out = np.searchsorted(s, vals, side=how)
    else:
        if seq.shape[:-1] != vals.shape[:-1]:
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension "
                               f"or the first N-1 dimensions of boundaries tensor and input "
                               f"value tensor must match, but we got boundaries tensor "
                               f"{list(seq.shape)} and input value tensor {list(vals.shape)}")
        s2 = seq.reshape(-1, seq.shape[-1])
        if srt is not None:
            s2 = np.take_along_axis(s2, srt.reshape(s2.shape), -1)
        v2 = vals.reshape(-1, vals.shape[-1])
        out = np.stack([np.searchsorted(s2[i], v2[i], side=how)  # one call per row
                        for i in range(s2.shape[0])]).reshape(vals.shape)
    return _new(np.asarray(out, np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


TENSOR_METHODS = {
    "median": median, "nanmedian": nanmedian, "mode": mode, "kthvalue": kthvalue,
    "quantile": quantile, "nanquantile": nanquantile, "aminmax": aminmax, "nansum": nansum,
    "nanmean": nanmean, "nan_to_num": nan_to_num, "histc": histc, "bincount": bincount,
    "unique": unique, "unique_consecutive": unique_consecutive,
}
