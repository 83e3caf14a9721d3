"""Batch and layer normalization as fused ops (torch's NativeBatchNorm / NativeLayerNorm nodes).

Both normalise x_hat = (x - mean) * invstd and return x_hat * weight + bias; the backward pass
is the closed form  dx = invstd * (g' - mean(g') - x_hat * mean(g' * x_hat)),  g' = g * weight,
with the means over the normalised elements (for batch norm in training mode; in eval mode the
statistics are constants and dx = g' * invstd).
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from .base import Op

_new = Tensor._new


def _channel_shape(x: np.ndarray):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


class NativeBatchNormBackward0(Op):
    """out = (x - mean) * invstd * weight + bias, statistics per channel (dim 1) over all other
    dims (the batch's in training, the running ones in eval); training also updates the running
    statistics in place: running = (1 - momentum) * running + momentum * batch (unbiased var).

    Shape: x (N, C, *), weight/bias/running stats (C,).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running, training, momentum, eps):
        xa = x._data
        axes = (0,) + tuple(range(2, xa.ndim))
        cshape = _channel_shape(xa)
        running_mean, running_var = running
        if training:
            mean = xa.mean(axis=axes)
            xc = xa - mean.reshape(cshape)
            sq = np.multiply(xc, xc, out=np.empty_like(xc))
            var = sq.mean(axis=axes)
            del sq
            invstd = 1.0 / np.sqrt(var + eps)
            if running_mean is not None:
                m = xa.size // xa.shape[1]
                rm, rv = running_mean._data, running_var._data
                rm *= 1 - momentum
                rm += (momentum * mean).astype(rm.dtype, copy=False)
                rv *= 1 - momentum
                rv += (momentum * var * (m / (m - 1))).astype(rv.dtype, copy=False)
                running_mean._vc[0] += 1
                running_var._vc[0] += 1
        else:
            mean = running_mean._data.astype(xa.dtype, copy=False)
            invstd = (1.0 / np.sqrt(running_var._data + eps)).astype(xa.dtype, copy=False)
            xc = xa - mean.reshape(cshape)
        scale = invstd if weight is None else invstd * weight._data
        out = np.multiply(xc, scale.reshape(cshape), out=xc)
        if bias is not None:
            out += bias._data.reshape(cshape)
        if any(ctx.needs_input_grad):
            ctx.mean, ctx.invstd, ctx.training = mean, invstd, training
            ctx.save_for_backward(x, weight)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        g, xa = grad._data, x._data
        axes = (0,) + tuple(range(2, xa.ndim))
        cshape = _channel_shape(xa)
        invstd = ctx.invstd
        xhat = xa - ctx.mean.reshape(cshape)
        xhat *= invstd.reshape(cshape)
        sum_g = g.sum(axis=axes)
        sum_gx = np.multiply(g, xhat).sum(axis=axes) if (need[1] or ctx.training) else None
        gx = gw = gb = None
        if need[0]:
            scale = invstd if weight is None else invstd * weight._data
            if ctx.training:
                m = xa.size // xa.shape[1]
                xhat *= (sum_gx / m).reshape(cshape)
                gx = g - (sum_g / m).reshape(cshape)
                gx -= xhat
                gx *= scale.reshape(cshape)
            else:
                gx = g * scale.reshape(cshape)
            gx = _new(gx)
        if need[1]:
            gw = _new(sum_gx)
        if need[2]:
            gb = _new(sum_g)
        return gx, gw, gb, None, None, None, None


class NativeLayerNormBackward0(Op):
    """out = (x - mean) * rstd * weight + bias, statistics over the last len(normalized_shape)
    dims of each sample.

    Shape: x (*, *normalized_shape), weight/bias normalized_shape.
    """

    @staticmethod
    def forward(ctx, x, normalized_shape, weight, bias, eps):
        xa = x._data
        d = int(np.prod(normalized_shape))
        x2 = xa.reshape(-1, d)
        mean = x2.mean(axis=1, keepdims=True)
        xc = x2 - mean
        var = np.multiply(xc, xc).mean(axis=1, keepdims=True)
        rstd = 1.0 / np.sqrt(var + eps)
        xhat = np.multiply(xc, rstd, out=xc)
        if weight is not None:
            out = np.multiply(xhat, weight._data.reshape(-1))
            if bias is not None:
                out += bias._data.reshape(-1)
        elif bias is not None:
            out = xhat + bias._data.reshape(-1)
        else:
            out = xhat.copy() if any(ctx.needs_input_grad) else xhat
        if any(ctx.needs_input_grad):
            ctx.rstd, ctx.xhat, ctx.shape = rstd, xhat, xa.shape
            ctx.nd = len(normalized_shape)
            ctx.save_for_backward(x, weight)
        return out.reshape(xa.shape)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        xhat, rstd = ctx.xhat, ctx.rstd
        d = xhat.shape[1]
        g = grad._data.reshape(-1, d)
        gx = gw = gb = None
        if need[0]:
            gh = g * weight._data.reshape(-1) if weight is not None else g
            a = gh.mean(axis=1, keepdims=True)
            b = np.multiply(gh, xhat).mean(axis=1, keepdims=True)
            gx = gh - a
            gx -= xhat * b
            gx *= rstd
            gx = _new(gx.reshape(ctx.shape))
        if weight is not None and need[2]:
            gw = _new(np.multiply(g, xhat).sum(axis=0).reshape(weight._data.shape))
        if need[3]:
            gb = _new(g.sum(axis=0).reshape(ctx.shape[len(ctx.shape) - ctx.nd:]))
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
    return NativeBatchNormBackward0.apply(input, weight, bias, (running_mean, running_var),
                                          bool(training), float(momentum), float(eps))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
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
