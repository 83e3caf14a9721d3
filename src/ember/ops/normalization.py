"""Batch and layer normalization as fused ops (torch's NativeBatchNorm / NativeLayerNorm nodes).

Both normalise x_hat = (x - mean) * invstd and return x_hat * weight + bias; the backward pass
is the closed form  dx = invstd * (g' - mean(g') - x_hat * mean(g' * x_hat)),  g' = g * weight,
with the means over the normalised elements (for batch norm in training mode; in eval mode the
statistics are constants and dx = g' * invstd).
"""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from ..autograd.grad_mode import state as _grad_state
from .base import Op
from . import double_recompute as _recompute
from .row_loops import rows as _rows

_new = Tensor._new


def _per_channel_sum(a: np.ndarray) -> np.ndarray:
    """Sum of a (N, C, L) array over N and L, with the inner reduction as a BLAS product with a
    ones vector (several times faster than NumPy's reduction over axes (0, 2))."""
    if a.shape[2] == 1:
        return a[:, :, 0].sum(axis=0)
    return (a @ np.ones(a.shape[2], a.dtype)).sum(axis=0)


def channel_sum(g: np.ndarray) -> np.ndarray:
    """g summed over every dim but dim 1 (a convolution's bias gradient), through
    _per_channel_sum where g is a contiguous float32/float64 array (3-4x NumPy's sum over
    axes (0, 2, 3) on conv-sized gradients)."""
    if g.ndim >= 3 and g.flags.c_contiguous and g.dtype in (np.float32, np.float64):
        L = 1
        for d in g.shape[2:]:
            L *= d
        return _per_channel_sum(g.reshape(g.shape[0], g.shape[1], L))
    return g.sum(axis=(0,) + tuple(range(2, g.ndim)))


def _per_channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum over N and L of a * b, per channel, without an (N, C, L) temporary."""
    if a.shape[2] == 1:
        return np.einsum("nc,nc->c", a[:, :, 0], b[:, :, 0])
    return np.einsum("ncl,ncl->c", a, b)


def update_running(running_mean, running_var, mean, var, momentum, unbias) -> None:
    """running = (1 - momentum) * running + momentum * batch statistic (the variance made
    unbiased by the factor n / (n - 1)), in place: a new version of each buffer."""
    rm, rv = running_mean._data, running_var._data
    rm *= 1 - momentum
    rm += (momentum * mean).astype(rm.dtype, copy=False)
    rv *= 1 - momentum
    rv += (momentum * var * unbias).astype(rv.dtype, copy=False)
    running_mean._vc[0] += 1
    running_var._vc[0] += 1


class NativeBatchNormBackward0(Op):
    """out = (x - mean) * invstd * weight + bias, statistics per channel (dim 1) over all other
    dims (the batch's in training, the running ones in eval); training also updates the running
    statistics in place: running = (1 - momentum) * running + momentum * batch (unbiased var).

    Shape: x (N, C, *), weight/bias/running stats (C,).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running, training, momentum, eps):
        xa = x._data
        N, C = xa.shape[:2]
        x3 = xa.reshape(N, C, -1)
        m = x3.shape[0] * x3.shape[2]  # values per channel
        running_mean, running_var = running
        if training:
            mean = _per_channel_sum(x3) / m
            xc = x3 - mean[:, None]
            var = _per_channel_dot(xc, xc) / m
            invstd = 1.0 / np.sqrt(var + eps)
            if running_mean is not None:
                update_running(running_mean, running_var, mean, var, momentum, m / (m - 1))
        else:
            mean = running_mean._data.astype(xa.dtype, copy=False)
            invstd = (1.0 / np.sqrt(running_var._data + eps)).astype(xa.dtype, copy=False)
            xc = x3 - mean[:, None]
        scale = invstd if weight is None else invstd * weight._data
        save = any(ctx.needs_input_grad)
        # keep x - mean for backward (a new output array instead of scaling it in place)
        out = np.multiply(xc, scale[:, None], out=None if save else xc)
        if bias is not None:
            out += bias._data[:, None]
        if save:
            ctx.xc, ctx.invstd, ctx.training, ctx.m = xc, invstd, training, m
            ctx.save_for_backward(x, weight)
        return out.reshape(xa.shape)

    _free_attrs = ("recompute",)  # ops/double_recompute.record: dropped with the graph

    @staticmethod
    def backward(ctx, grad):
        if _grad_state.enabled:  # create_graph: recompute the forward as recorded ops
            return _recompute.backward(ctx, grad, 7)
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        xc, invstd, m = ctx.xc, ctx.invstd, ctx.m
        shape = x._data.shape
        g = grad._data.reshape(xc.shape)
        sum_g = _per_channel_sum(g)
        # sum(g * x_hat) per channel
        sum_gxhat = _per_channel_dot(g, xc) * invstd if (need[1] or ctx.training) else None
        gx = gw = gb = None
        if need[0]:
            a = invstd if weight is None else invstd * weight._data
            gx = g * a[:, None]
            if ctx.training:
                # dx = a * (g - mean(g) - x_hat * mean(g * x_hat)) = a*g + b*(x - mean) + c
                b = -a * invstd * sum_gxhat / m
                gx += xc * b[:, None]
                gx -= (a * sum_g / m)[:, None]
            gx = _new(gx.reshape(shape))
        if need[1]:
            gw = _new(sum_gxhat)
        if need[2]:
            gb = _new(sum_g)
        return gx, gw, gb, None, None, None, None


_ONES: dict = {}


def _ones(n: int, dtype) -> np.ndarray:
    """A cached read-only vector of n ones (the row-sum GEMV operand)."""
    v = _ONES.get((n, dtype))
    if v is None:
        if len(_ONES) > 64:
            _ONES.clear()
        v = _ONES[(n, dtype)] = np.ones(n, dtype)
        v.flags.writeable = False
    return v


class NativeLayerNormBackward0(Op):
    """out = (x - mean) * rstd * weight + bias, statistics over the last len(normalized_shape)
    dims of each sample.

    Shape: x (*, *normalized_shape), weight/bias normalized_shape.
    """

    @staticmethod
    def forward(ctx, x, normalized_shape, weight, bias, eps):
        xa = x._data
        d = math.prod(normalized_shape)  # (np.prod of a tuple costs more than the GEMV below)
        x2 = xa.reshape(-1, d)
        # row reductions as BLAS matrix-vector products: far faster than NumPy's axis=1 sums
        mean = x2 @ _ones(d, xa.dtype)
        mean /= d  # (the per-row vectors in place: each NumPy call on them costs a microsecond)
        xc = x2 - mean[:, None]
        var = _row_dots(xc)
        var += d * eps
        rstd = np.sqrt(var, out=var)
        np.divide(math.sqrt(d), rstd, out=rstd)  # 1 / sqrt(var / d + eps)
        save = any(ctx.needs_input_grad)
        if weight is not None:
            # x_hat * w = (x - mean) * (rstd outer w): the outer product is a K = 1 GEMM, and
            # the multiply a plain pass, where scaling by rstd and then w broadcasts twice
            # (a row-wise broadcast is 2-3x a plain pass in NumPy)
            out = _scales(rstd, weight._data.reshape(-1))
            np.multiply(xc, out, out=out)
        else:
            out = np.multiply(xc, rstd[:, None], out=None if save else xc)
        if bias is not None:
            _rows(np.add, out, bias._data.reshape(-1), out)
        if save:  # backward reads x - mean and rstd (x_hat is their product)
            ctx.rstd, ctx.xc, ctx.shape = rstd, xc, xa.shape
            ctx.nd = len(normalized_shape)
            ctx.eps = eps
            ctx.save_for_backward(x, weight)
        return out.reshape(xa.shape)

    @staticmethod
    def backward(ctx, grad):
        if _grad_state.enabled:  # create_graph (apigaps): the same formulas in ember ops
            return _layer_norm_backward_graph(ctx, grad)
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        xc, rstd = ctx.xc, ctx.rstd
        rows, d = xc.shape
        g = grad._data.reshape(rows, d)
        gx = gw = gb = None
        w = None if weight is None else weight._data.reshape(-1)
        # g * (x - mean) serves the weight's gradient (its column sums weighted by rstd) and dx
        # (its row sums against the weight); every sum is a BLAS matrix-vector product
        gxc = g * xc if need[0] or (w is not None and need[2]) else None
        if w is not None and need[2]:
            gw = _new((rstd @ gxc).reshape(weight._data.shape))
        if need[3]:
            gb = _new((_ones(rows, g.dtype) @ g).reshape(ctx.shape[len(ctx.shape) - ctx.nd:]))
        if need[0]:
            # dx = rstd (g' - mean(g') - x_hat mean(g' x_hat)),  g' = g * w,  x_hat = xc rstd:
            #    = g * (rstd outer w) - (rstd mean(g'))[:, None]
            #      - xc * (rstd^3 mean(g' xc))[:, None]
            v = w if w is not None else _ones(d, g.dtype)
            e = gxc @ v
            r3 = rstd * rstd
            r3 *= rstd
            r3 /= d
            e *= r3
            t = np.multiply(xc, e[:, None], out=gxc)  # (gxc is no longer needed)
            a = g @ v
            a *= rstd
            a /= d
            t += a[:, None]
            gh = _scales(rstd, v)
            np.multiply(g, gh, out=gh)
            gh -= t
            gx = _new(gh.reshape(ctx.shape))
        return gx, None, gw, gb, None


# each row's dot product with itself: np.vecdot (NumPy 2) takes 0.5-0.7x einsum's time and
# is as accurate (1024x128: 14 against 20 us)
_vecdot = getattr(np, "vecdot", None)


def _row_dots(a: np.ndarray) -> np.ndarray:
    return _vecdot(a, a) if _vecdot is not None else np.einsum("ij,ij->i", a, a)


def _scales(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The outer product r[:, None] * v[None, :] as a K = 1 GEMM (np.dot's BLAS call: ~1.5x
    faster than NumPy's broadcast multiply at (1024, 128), 2x at (64, 128))."""
    if r.dtype == v.dtype and r.dtype.kind == "f" and r.dtype.itemsize >= 4:
        return np.dot(r[:, None], v[None, :])
    return r[:, None] * v


def _layer_norm_backward_graph(ctx, g: Tensor):
    """NativeLayerNormBackward0's gradients as recorded ember ops (double backward), with the
    statistics recomputed from x so they are differentiated too."""
    x, weight = ctx.saved_tensors
    need = ctx.needs_input_grad
    shape = ctx.shape
    d = math.prod(shape[len(shape) - ctx.nd:])
    xr = x.reshape(-1, d)
    xc = xr - xr.mean(1, keepdim=True)
    rstd = ((xc * xc).mean(1, keepdim=True) + ctx.eps).rsqrt()
    xhat = xc * rstd
    g2 = g.reshape(-1, d)
    gx = gw = gb = None
    if need[0]:
        gh = g2 * weight.reshape(-1) if weight is not None else g2
        gx = (rstd * (gh - gh.mean(1, keepdim=True) -
                      xhat * (gh * xhat).mean(1, keepdim=True))).reshape(shape)
    if weight is not None and need[2]:
        gw = (g2 * xhat).sum(0).reshape(weight.shape)
    if need[3]:
        gb = g2.sum(0).reshape(shape[len(shape) - ctx.nd:])
    return gx, None, gw, gb, None


# ---- functional entry points -----------------------------------------------------------------

def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    x = input._data
    if x.ndim < 2:
        raise ValueError(f"Expected 2D or more input (got {x.ndim}D input)")
    C = x.shape[1]
    if training:
        size = x.size // C if C else 0
        if size == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size ember.Size({list(x.shape)})")
    elif running_mean is None or running_var is None:
        raise RuntimeError(f"running_{'mean' if running_mean is None else 'var'} must be defined "
                           f"in evaluation mode")
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t._data.size != C:
            raise RuntimeError(f"{name} should contain {C} elements not {t._data.size}")
    out = NativeBatchNormBackward0.apply(input, weight, bias, (running_mean, running_var),
                                         bool(training), float(momentum), float(eps))
    stats = None if training else (running_mean.detach().clone(), running_var.detach().clone()) \
        if out.grad_fn is not None else None
    return _recompute.record(out, (_batch_norm_composite, (stats, float(eps))), input, weight,
                             bias)


def _batch_norm_composite(stats, eps: float):
    """Batch normalization as recorded ops (the double backward's recomputation): the batch's
    statistics, or the running ones of the call (`stats`) in evaluation."""
    def run(x, weight, bias):
        shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)
        dims = (0,) + tuple(range(2, x.dim()))
        if stats is None:
            xc = x - x.mean(dims, keepdim=True)
            out = xc * ((xc * xc).mean(dims, keepdim=True) + eps).rsqrt()
        else:
            mean, var = stats
            out = (x - mean.reshape(shape)) * (var.reshape(shape) + eps).rsqrt()
        return _recompute.channel_affine(out, weight, bias)
    return run


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    x = input._data
    if type(normalized_shape) is tuple and len(normalized_shape) == 1 and \
            type(normalized_shape[0]) is int and x.ndim and x.shape[-1] == normalized_shape[0] \
            and (weight is None or weight._data.shape == normalized_shape) \
            and (bias is None or bias._data.shape == normalized_shape):
        # nn.LayerNorm's call (a checked 1-tuple of ints): nothing to normalise or report
        return NativeLayerNormBackward0.apply(input, normalized_shape, weight, bias, float(eps))
    if isinstance(normalized_shape, (int, np.integer)):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(int(s) for s in normalized_shape)
    x = input._data
    n = len(normalized_shape)
    if n == 0 or x.ndim < n or x.shape[x.ndim - n:] != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with "
                           f"shape [*, {', '.join(map(str, normalized_shape))}], but got input of "
                           f"size{list(x.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t._data.shape) != normalized_shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got "
                               f"{name} of shape {list(t._data.shape)} and normalized_shape = "
                               f"{list(normalized_shape)}")
    return NativeLayerNormBackward0.apply(input, normalized_shape, weight, bias, float(eps))
