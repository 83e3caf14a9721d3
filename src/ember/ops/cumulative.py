"""Cumulative ops beside cumsum/cumprod: cummax, cummin, logcumsumexp, and diff."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .base import Op
from .reduce import _named
from .util import wrap_dim

_new = Tensor._new


def _cum_extreme(x: np.ndarray, dim: int, ufunc):
    """Running max/min along dim and torch's indices: the latest position whose value equals
    the running extreme (ties move the index forward), nan once seen."""
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    vals = ufunc.accumulate(x, axis=dim)
    pos = np.arange(x.shape[dim]).reshape([-1 if d == dim else 1 for d in range(x.ndim)])
    hit = x == vals
    if x.dtype.kind == "f":
        hit |= np.isnan(x)
    idx = np.maximum.accumulate(np.where(hit, pos, -1), axis=dim)
    return vals, idx.astype(np.int64)


class _CumExtreme(Op):
    _ufunc = None

    @staticmethod
    def forward(ctx, a, dim):
        x = a._data
        vals, idx = _cum_extreme(x, dim, type(ctx)._ufunc)
        ctx.shape, ctx.dim, ctx.idx = x.shape, dim, idx
        out_idx = _new(idx)
        ctx.mark_non_differentiable(out_idx)
        return _new(vals), out_idx

    @staticmethod
    def backward(ctx, g, gi=None):
        if not ctx.shape:
            return g, None
        from .scatter_gather import scatter_add
        zeros = _new(np.zeros(ctx.shape, g._data.dtype))
        return scatter_add(zeros, ctx.dim, _new(ctx.idx), g), None


class CummaxBackward0(_CumExtreme):
    """(values, indices) = running max along dim;  da = g summed into the indices"""
    _ufunc = np.maximum


class CumminBackward0(_CumExtreme):
    """(values, indices) = running min along dim;  da = g summed into the indices"""
    _ufunc = np.minimum


def cummax(input, dim):
    v, i = CummaxBackward0.apply(input, wrap_dim(dim, input._data.ndim))
    return _named("cummax")(v, i)


def cummin(input, dim):
    v, i = CumminBackward0.apply(input, wrap_dim(dim, input._data.ndim))
    return _named("cummin")(v, i)


class LogcumsumexpBackward0(Op):
    """out_i = log sum_{j<=i} exp(a_j);  da_i = sum_{j>=i} g_j exp(a_i - out_j), summed in log
    space separately for the positive and negative parts of g (no overflow)"""
    _save_output = True

    @staticmethod
    def forward(ctx, a, dim):
        x = a._data
        if x.dtype.kind != "f":
            from .. import _dtype
            x = x.astype(_dtype._default.dtype.np)
        ctx.save_for_backward(a)
        ctx.dim = dim
        if x.ndim == 0:
            return x.copy()
        return np.logaddexp.accumulate(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        d = ctx.dim
        if a.ndim == 0:
            return g, None

        def part(w):  # sum_{j>=i} w_j exp(-out_j) in log space, w >= 0
            s = logcumsumexp((w.log() - out).flip(d), d).flip(d)
            return (s + a).exp()
        with np.errstate(divide="ignore"):
            return part(g.clamp_min(0.0)) - part((-g).clamp_min(0.0)), None


def logcumsumexp(input, dim):
    return LogcumsumexpBackward0.apply(input, wrap_dim(dim, max(input._data.ndim, 1)))


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """out = input[1:] - input[:-1] along dim, n times, after concatenating prepend/append."""
    from .shape import cat
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = wrap_dim(dim, nd)
    parts = [p for p in (prepend, input, append) if p is not None]
    parts = [p if isinstance(p, Tensor) else _scalar_like(p, input, d) for p in parts]
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        m = x._data.shape[d]
        if m == 0:
            break
        hi, lo = x.narrow(d, 1, m - 1), x.narrow(d, 0, m - 1)
        x = hi.logical_xor(lo) if x._data.dtype == np.bool_ else hi - lo
    return x


def _scalar_like(v, like, d):
    shape = list(like._data.shape)
    shape[d] = 1
    from .creation import full
    return full(shape, v, dtype=like.dtype)


TENSOR_METHODS = {"cummax": cummax, "cummin": cummin, "logcumsumexp": logcumsumexp, "diff": diff}


def cumprod_grad_with_zeros(a: np.ndarray, g: np.ndarray, d: int) -> np.ndarray:
    """cumprod's input gradient where some a are zero (the s / a formula divides by them):
    with z the first zero of a slice, da_k = sum_{i>=k} g_i out_i / a_k for k < z,
    da_z = out_{z-1} sum_{i>=z} g_i prod_{z<j<=i} a_j, and da_k = 0 for k > z."""
    am, gm = np.moveaxis(a, d, -1), np.moveaxis(g, d, -1)
    n = am.shape[-1]
    pos = np.arange(n)
    zero = am == 0
    z = np.where(zero.any(-1), zero.argmax(-1), n)[..., None]
    out = np.cumprod(am, -1)
    safe = np.where(zero, 1, am)
    before = np.flip(np.cumsum(np.flip(gm * out, -1), -1), -1) / safe
    prev = np.take_along_axis(np.concatenate([np.ones_like(out[..., :1]), out], -1),
                              np.minimum(z, n), -1)  # out_{z-1} (1 when z = 0)
    q = np.cumprod(np.where(pos > z, am, 1), -1)
    at_z = prev * np.sum(np.where(pos >= z, gm * q, 0), -1, keepdims=True)
    da = np.where(pos < z, before, np.where(pos == z, at_z, 0))
    return np.moveaxis(da, -1, d).astype(g.dtype, copy=False)
