"""Transposed convolution (1-d and 2-d) on the convolution's GEMM path.

A transposed convolution is the adjoint of a convolution: with the "conv" taking the output y
(N, C_out, H_out, W_out) to the input x (N, C_in, H, W) under weight (C_in, C_out/G, kh, kw),

    conv_transpose(x, w) = d conv(y, w) / d y applied to x,

so the forward is exactly the convolution's input-gradient routine (kh*kw small GEMMs on a
batch-last view, no column matrix), the input gradient is a plain convolution of the output
gradient, and the weight gradient is the convolution's weight-gradient routine with the roles
of input and output gradient swapped. No Python loop over pixels anywhere.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from .base import Op
from .conv import (ConvolutionBackward0 as _Conv, _batch_last_grad, _column_chunks, _Geometry,
                   _grad_cols, _input_grad, _SCALAR_NAMES, _tuple, _weight_grad_batch_last,
                   _windows)

_new = Tensor._new


class _NoGrad:
    """The ctx the convolution's forward gets when it is called as a plain routine."""
    needs_input_grad = (False, False, False)


def _conv_weight_grad(y: np.ndarray, gx: np.ndarray, geo: _Geometry) -> np.ndarray:
    """dW of the convolution y -> x given dL/dx = gx: (O=C_in, C_out/G, kh, kw)."""
    if geo.wide and geo.C // geo.G >= 4:
        return _weight_grad_batch_last(_batch_last_grad(gx, geo), y, geo)
    gc = _grad_cols(gx, geo)
    dwt = np.zeros((geo.G, geo.C // geo.G * geo.kh * geo.kw, geo.O // geo.G), gx.dtype)
    for n0, n1, cols in _column_chunks(_windows(y, geo), geo, False):
        dwt += np.matmul(cols, gc[n0:n1].transpose(0, 1, 3, 2)).sum(axis=0)
    return np.ascontiguousarray(dwt.transpose(0, 2, 1)).reshape(
        geo.O, geo.C // geo.G, geo.kh, geo.kw)


class ConvolutionBackward0(Op):
    """out = conv_transpose(x, w) + b: out[n, :, s*p + d*(i, j) - pad] += w[c, :, i, j]^T x[n, c, p]

    dx = conv(g, w) (same stride, padding, dilation, groups);
    dW[c, o, i, j] = sum_n,p x[n, c, p] g[n, o, s*p + d*(i, j) - pad];  db = sum g.

    Shape: x (N, C_in, H, W), weight (C_in, C_out/G, kh, kw), bias (C_out,) or None ->
    (N, C_out, H_out, W_out); `out_hw` is (H_out, W_out), output_padding included.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups, out_hw):
        xa, wa = x._data, weight._data
        one_d = xa.ndim == 3
        if one_d:  # a 1-d transposed convolution is a 2-d one over a height-1 image
            xa, wa = xa[:, :, None, :], wa[:, :, None, :]
        N, Cin, H, W = xa.shape
        cout = wa.shape[1] * groups
        pads = (padding[0], padding[0], padding[1], padding[1])
        geo = _Geometry((N, cout) + tuple(out_hw), wa.shape, stride, pads, dilation, groups)
        if (geo.Ho, geo.Wo) != (H, W):  # output_padding >= stride: the extra rows get no input
            xp = np.zeros((N, Cin, geo.Ho, geo.Wo), xa.dtype)
            xp[:, :, :H, :W] = xa
            xa = xp
        out = _input_grad(_batch_last_grad(xa, geo), wa, geo)
        if bias is not None:
            out += bias._data.reshape(-1, 1, 1)
        ctx.one_d = one_d
        need = ctx.needs_input_grad
        if need[0] or need[1] or (bias is not None and need[2]):
            ctx.geo, ctx.has_bias, ctx.hw = geo, bias is not None, (H, W)
            ctx.args = (stride, pads, dilation, groups)
            ctx.save_for_backward(x, weight)
        return out[:, :, 0, :] if one_d else out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        geo, need = ctx.geo, ctx.needs_input_grad
        g = np.ascontiguousarray(grad._data)
        if ctx.one_d:
            g = g[:, :, None, :]
        H, W = ctx.hw
        xa, wa = x._data, weight._data
        if ctx.one_d:
            xa, wa = xa[:, :, None, :], wa[:, :, None, :]
        gx = gw = gb = None
        if need[0]:
            stride, pads, dilation, groups = ctx.args
            dx = _Conv.forward(_NoGrad(), _new(g), _new(wa), None, stride, pads, dilation, groups)
            if dx.shape[2:] != (H, W):
                dx = np.ascontiguousarray(dx[:, :, :H, :W])
            gx = _new(dx.reshape(x._data.shape))
        if need[1]:
            if (geo.Ho, geo.Wo) != (H, W):
                xp = np.zeros(xa.shape[:2] + (geo.Ho, geo.Wo), xa.dtype)
                xp[:, :, :H, :W] = xa
                xa = xp
            gw = _new(_conv_weight_grad(g, xa, geo).reshape(weight._data.shape))
        if ctx.has_bias and need[2]:
            gb = _new(g.sum(axis=(0, 2, 3)))
        return gx, gw, gb, None, None, None, None, None


def output_size(in_size, stride, padding, output_padding, dilation, ksize) -> tuple:
    """H_out = (H - 1) s - 2 p + d (k - 1) + output_padding + 1, per spatial dim."""
    return tuple((h - 1) * s - 2 * p + d * (k - 1) + op + 1 for h, s, p, op, d, k in
                 zip(in_size, stride, padding, output_padding, dilation, ksize))


def conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                   nd: int):
    """F.conv_transpose1d / 2d (nd = 1 or 2): torch's checks, then the op on 4-d arrays."""
    name = f"conv_transpose{nd}d"
    x, w = input._data, weight._data
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(x.shape)}")
    if w.ndim != nd + 2:
        raise RuntimeError(f"weight should have at least three dimensions and {nd + 2} in "
                           f"total, but got weight of size {list(w.shape)}")
    groups = int(groups)
    stride = _tuple(stride, nd, "stride")
    padding = _tuple(padding, nd, "padding")
    output_padding = _tuple(output_padding, nd, "output_padding")
    dilation = _tuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        names = ("height", "width") if nd == 2 else ("width",)
        parts = [f"output_padding_{n}: {v}" for n, v in zip(names, output_padding)]
        parts += [f"stride_{n}: {v}" for n, v in zip(names, stride)]
        parts += [f"dilation_{n}: {v}" for n, v in zip(names, dilation)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but "
                           f"got {' '.join(parts)}")
    unbatched = x.ndim == nd + 1
    C = x.shape[0] if unbatched else x.shape[1]
    if C != w.shape[0]:
        shape = [1] + list(x.shape) if unbatched else list(x.shape)
        raise RuntimeError(f"Given transposed=1, weight of size {list(w.shape)}, expected "
                           f"input{shape} to have {w.shape[0]} channels, but got {C} channels "
                           f"instead")
    if w.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size [{list(w.shape)}] instead")
    cout = w.shape[1] * groups
    if bias is not None and (bias._data.ndim != 1 or bias._data.shape[0] != cout):
        raise RuntimeError(f"Given transposed=1, weight of size {list(w.shape)}, expected bias to "
                           f"be 1-dimensional with {cout} elements, but got bias of size "
                           f"{list(bias._data.shape)} instead")
    if x.dtype != w.dtype:
        raise RuntimeError(f"expected scalar type {_SCALAR_NAMES.get(x.dtype.name, x.dtype.name)} "
                           f"but found {_SCALAR_NAMES.get(w.dtype.name, w.dtype.name)}")
    spatial = x.shape[-nd:]
    out = output_size(spatial, stride, padding, output_padding, dilation, w.shape[2:])
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, spatial))}). "
                           f"Calculated output size per channel: "
                           f"({' x '.join(map(str, out))}). Output size is too small")
    if unbatched:
        input = input.unsqueeze(0)
    if nd == 1:
        stride, padding, dilation, out = (1,) + stride, (0,) + padding, (1,) + dilation, (1,) + out
    o = ConvolutionBackward0.apply(input, weight, bias, stride, padding, dilation, groups, out)
    return o.squeeze(0) if unbatched else o


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                          dilation, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                          dilation, 2)
