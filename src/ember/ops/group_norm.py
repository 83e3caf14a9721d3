"""Group, instance and local-response normalization.

Group norm is one fused op with a hand-written backward (statistics over each sample's group of
channels); instance norm is group norm with one channel per group (plus running statistics, as
torch keeps them); local response norm composes ember ops over the channel axis, as torch does.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from .base import Op
from . import double_recompute as _recompute
from .normalization import _ones

_new = Tensor._new


def _row_sums(a: np.ndarray) -> np.ndarray:
    """a.sum(-1) for contiguous a (..., L), as a GEMV with ones: BLAS reads each row once with
    no temporary, ~3x faster than NumPy's pairwise reduction (seed-CNN-sized maps)."""
    return a @ _ones(a.shape[-1], a.dtype)


def _row_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a * b).sum(-1) for contiguous a, b (..., L) as batched dot products (no product array:
    9x faster than the multiply and reduce)."""
    return np.matmul(a[..., None, :], b[..., :, None])[..., 0, 0]


class NativeGroupNormBackward0(Op):
    """out = (x - mean_g) / sqrt(var_g + eps) * w_c + b_c, statistics over each (sample, group).

    With xhat the normalized input and dxhat = g * w:
    dx = rstd * (dxhat - mean_g(dxhat) - xhat * mean_g(dxhat * xhat));
    dw = sum_{n, spatial} g * xhat;  db = sum_{n, spatial} g.

    Shape: x (N, C, *), weight / bias (C,) or None."""

    @staticmethod
    def forward(ctx, x, weight, bias, groups, eps):
        a = x._data
        N, C = a.shape[:2]
        S = a.size // max(N * C, 1) if a.size else int(np.prod(a.shape[2:]))
        L = C // groups * S
        xr = np.ascontiguousarray(a).reshape(N, groups, L)
        t = a.dtype.type
        mean = _row_sums(xr)
        mean *= t(1 / L) if L else t(0)
        xc = np.subtract(xr, mean[..., None])
        var = _row_dots(xc, xc) / t(L) if L else np.zeros((N, groups), a.dtype)
        rstd = (1.0 / np.sqrt(var + eps)).astype(a.dtype)
        xc *= rstd[..., None]
        xhat = xc.reshape(N, C, S)
        out = xhat
        if weight is not None:
            out = out * weight._data.reshape(1, C, 1)
        if bias is not None:
            out = out + bias._data.reshape(1, C, 1) if out is xhat else \
                np.add(out, bias._data.reshape(1, C, 1), out=out)
        ctx.xhat, ctx.rstd, ctx.groups = xhat, rstd[..., None], groups
        ctx.has = (weight is not None, bias is not None)
        if weight is not None:
            ctx.save_for_backward(weight)
        if out is xhat:
            out = xhat.copy()  # xhat is kept for backward
        return out.reshape(a.shape)

    _free_attrs = ("recompute",)  # ops/double_recompute.record: dropped with the graph

    @staticmethod
    def backward(ctx, grad):
        if _grad_state.enabled:  # create_graph: recompute the forward as recorded ops
            return _recompute.backward(ctx, grad, 5)
        xhat, rstd, G = ctx.xhat, ctx.rstd, ctx.groups
        N, C, S = xhat.shape
        g = np.ascontiguousarray(grad._data).reshape(N, C, S)
        need = ctx.needs_input_grad
        gx = gw = gb = None
        if ctx.has[0]:
            w = ctx.saved_tensors[0]._data
            dxhat = g * w.reshape(1, C, 1)
        else:
            dxhat = g
        if need[0]:
            L = C // G * S
            t = g.dtype.type
            d = dxhat.reshape(N, G, L)
            xh = xhat.reshape(N, G, L)
            inv = t(1 / L) if L else t(0)
            mean_d = _row_sums(d)[..., None] * inv
            mean_dx = _row_dots(d, xh)[..., None] * inv
            dx = np.subtract(d, mean_d)  # first: a constant d cancels exactly, as in torch
            tmp = np.multiply(xh, mean_dx)
            dx -= tmp
            dx *= rstd
            gx = _new(dx.reshape(grad._data.shape).astype(grad._data.dtype, copy=False))
        if ctx.has[0] and need[1]:
            gw = _new(_row_dots(g, xhat).sum(0))
        if ctx.has[1] and need[2]:
            gb = _new(_row_sums(g).sum(0))
        return gx, gw, gb, None, None


def _composite(groups: int, eps: float):
    """Group normalization as recorded ops (the double backward's recomputation)."""
    def run(x, weight, bias):
        xr = x.reshape(x.shape[0], groups, -1)
        xc = xr - xr.mean(-1, keepdim=True)
        out = (xc * ((xc * xc).mean(-1, keepdim=True) + eps).rsqrt()).reshape(x.shape)
        return _recompute.channel_affine(out, weight, bias)
    return run


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalize each sample over groups of channels, then scale and shift per channel.

    Shape: (N, C, *) -> (N, C, *)."""
    x = input._data
    if x.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{x.ndim}")
    C = x.shape[1]
    if num_groups <= 0 or C % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, "
                           f"but got input of shape {list(x.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t._data.ndim != 1 or t._data.shape[0] != C):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape "
                               f"{list(t._data.shape)} and input of shape {list(x.shape)}")
    return _recompute.record(
        NativeGroupNormBackward0.apply(input, weight, bias, int(num_groups), float(eps)),
        (_composite, (int(num_groups), float(eps))), input, weight, bias)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5):
    """Normalize each (sample, channel) over its spatial positions; with use_input_stats=False
    the running statistics normalize instead. Running statistics, when given, move towards the
    batch average of the per-instance mean and unbiased variance.

    Shape: (N, C, *) -> (N, C, *)."""
    from .normalization import batch_norm
    x = input._data
    if x.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input "
                         f"(got {x.ndim} dimensions)")
    if use_input_stats:
        if int(np.prod(x.shape[2:])) <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input "
                             f"size {input.shape}")
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    if (running_mean is not None or running_var is not None) and x.shape[0]:
        N, C = x.shape[:2]
        xr = x.reshape(N, C, int(np.prod(x.shape[2:])))
        n = xr.shape[2]
        m = np.asarray(momentum, x.dtype)
        if running_mean is not None:
            rm = running_mean._data
            rm *= 1 - m
            rm += m * xr.mean(axis=2).mean(axis=0).astype(rm.dtype)
            running_mean._vc[0] += 1
        if running_var is not None:
            rv = running_var._data
            rv *= 1 - m
            rv += m * (xr.var(axis=2) * (n / max(n - 1, 1))).mean(axis=0).astype(rv.dtype)
            running_var._vc[0] += 1
    return _recompute.record(
        NativeGroupNormBackward0.apply(input, weight, bias, int(x.shape[1]), float(eps)),
        (_composite, (int(x.shape[1]), float(eps))), input, weight, bias)


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0):
    """x / (k + alpha / size * sum of x^2 over `size` neighbouring channels)^beta, the window
    zero-padded as torch's (size // 2 before, (size - 1) // 2 after).

    Shape: (N, C, *) -> (N, C, *)."""
    from ..nn.functional import pad
    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input "
                         f"(got {dim} dimensions)")
    if input._data.size == 0:
        return input
    C = input.shape[1]
    sq = (input * input).unsqueeze(1)  # (N, 1, C, *): pad along the channel axis
    widths = [0, 0] * (dim - 2) + [size // 2, (size - 1) // 2]
    sq = pad(sq, widths).squeeze(1)
    div = sq.narrow(1, 0, C)
    for i in range(1, size):
        div = div + sq.narrow(1, i, C)
    div = (div * (alpha / size) + k) ** beta
    return input / div

