"""Transposed convolution (1-d and 2-d) as single large GEMMs, no Python loop over pixels.

With x (N, C_in, H, W), weight (C_in, C_out/G, kh, kw) and everything laid out channel-first
and batch-last (C, H*W*N), one GEMM per group does all the work of each pass:

    forward:  cols = W^T x  (C_out*kh*kw, H*W*N), then col2im: kh*kw strided slice-adds;
    backward: cols_g = im2col(g) (one strided-view copy), dx = W cols_g, dW = x cols_g^T.

This is the convolution's GEMM path run as its adjoint (a transposed convolution's forward is
a convolution's input gradient, its input gradient a convolution), with the batch folded into
the GEMM's long dimension so each GEMM is one big call rather than one per sample. Batch-last
keeps the slice-adds and the im2col copy moving contiguous runs of N elements even when the
stride skips pixels.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._tensor import Tensor
from .base import Op
from . import conv_double as _double
from .conv import _SCALAR_NAMES, _tuple
from ._gemm import gemm
from .conv_layout import batch_first, batch_last
from . import conv_phase as _phase
from . import conv_transpose_point as _point
from .normalization import channel_sum

_new = Tensor._new


class _Geo:
    """Sizes of one transposed convolution and of its zero-padded output grid."""
    __slots__ = ("N", "Cin", "H", "W", "Cout", "G", "kh", "kw", "sh", "sw", "ph", "pw", "dh",
                 "dw", "Ho", "Wo", "Hp", "Wp")

    def __init__(self, xshape, wshape, groups, stride, padding, dilation, out_hw):
        self.N, self.Cin, self.H, self.W = xshape
        self.G = groups
        self.Cout = wshape[1] * groups
        self.kh, self.kw = wshape[2:]
        (self.sh, self.sw), (self.ph, self.pw), (self.dh, self.dw) = stride, padding, dilation
        self.Ho, self.Wo = out_hw
        self.Hp, self.Wp = self.Ho + 2 * self.ph, self.Wo + 2 * self.pw

    def slices(self, i, j):
        """Where kernel offset (i, j) of every input pixel lands in the padded output grid."""
        r, c = i * self.dh, j * self.dw
        return (slice(r, r + self.sh * (self.H - 1) + 1, self.sh),
                slice(c, c + self.sw * (self.W - 1) + 1, self.sw))


def _batch_last(a: np.ndarray, G: int) -> np.ndarray:
    """(N, C, H, W) -> (G, C/G, H*W*N)."""
    N, C, H, W = a.shape
    return batch_last(a).reshape(G, C // G, H * W * N)


def _weight_groups(w: np.ndarray, G: int) -> np.ndarray:
    """(C_in, C_out/G, kh, kw) -> (G, C_in/G, C_out/G*kh*kw)."""
    return w.reshape(G, w.shape[0] // G, -1)


def _im2col(g: np.ndarray, geo: _Geo) -> np.ndarray:
    """The output gradient's columns (G, C_out/G*kh*kw, H*W*N): entry (o, i, j, h, w, n) is
    g_padded[n, o, s*h + d*i, s*w + d*j] (one copy of a strided batch-last view)."""
    gp = np.zeros((geo.Cout, geo.Hp, geo.Wp, geo.N), g.dtype)
    gp[:, geo.ph:geo.ph + geo.Ho, geo.pw:geo.pw + geo.Wo] = batch_last(g)
    sC, sH, sW, sN = gp.strides
    v = as_strided(gp, (geo.Cout, geo.kh, geo.kw, geo.H, geo.W, geo.N),
                   (sC, geo.dh * sH, geo.dw * sW, geo.sh * sH, geo.sw * sW, sN))
    return v.reshape(geo.G, geo.Cout // geo.G * geo.kh * geo.kw, geo.H * geo.W * geo.N)


@_double.twice_differentiable
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
        geo = _Geo(xa.shape, wa.shape, groups, stride, padding, dilation, out_hw)
        N, H, W = geo.N, geo.H, geo.W
        cols = gemm(_weight_groups(wa, groups).transpose(0, 2, 1),
                         _batch_last(xa, groups))
        cols = cols.reshape(geo.Cout, geo.kh, geo.kw, H, W, N)
        out = np.zeros((geo.Cout, geo.Hp, geo.Wp, N), cols.dtype)
        for i in range(geo.kh):
            for j in range(geo.kw):
                rs, cs = geo.slices(i, j)
                dst = out[:, rs, cs]
                np.add(dst, cols[:, i, j], out=dst)
        out = out[:, geo.ph:geo.ph + geo.Ho, geo.pw:geo.pw + geo.Wo]
        out = batch_first(out, None if bias is None else bias._data)
        ctx.one_d = one_d
        need = ctx.needs_input_grad
        if need[0] or need[1] or (bias is not None and need[2]):
            ctx.geo, ctx.has_bias = geo, bias is not None
            ctx.save_for_backward(x, weight)
        return out[:, :, 0, :] if one_d else out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        geo, need = ctx.geo, ctx.needs_input_grad
        g = grad._data
        xa, wa = x._data, weight._data
        if ctx.one_d:
            g, xa, wa = g[:, :, None, :], xa[:, :, None, :], wa[:, :, None, :]
        gx = gw = gb = None
        G = geo.G
        if need[0] or need[1]:
            cols = _im2col(g, geo)  # (G, C_out/G*kh*kw, H*W*N)
            if need[0]:
                dx = gemm(_weight_groups(wa, G), cols)  # (G, C_in/G, H*W*N)
                dx = dx.reshape(geo.Cin, geo.H, geo.W, geo.N).transpose(3, 0, 1, 2)
                gx = _new(np.ascontiguousarray(dx).reshape(x._data.shape))
            if need[1]:
                dw = gemm(cols, _batch_last(xa, G).transpose(0, 2, 1)).transpose(0, 2, 1)
                gw = _new(np.ascontiguousarray(dw).reshape(weight._data.shape))
        if ctx.has_bias and need[2]:
            gb = _new(channel_sum(g))
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
    for arg, v in (("stride", stride), ("padding", padding), ("output_padding", output_padding),
                   ("dilation", dilation)):
        if isinstance(v, str):
            raise TypeError(f"{name}(): argument '{arg}' must be tuple of ints, not str")
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
        names = ("depth", "height", "width")[3 - nd:]
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
    if nd == 3:  # ---- apigaps: 3-d (ops/conv3d.py) ----
        from .conv3d import ConvolutionTransposeOp
        o = ConvolutionTransposeOp.apply(input, weight, bias, stride, padding, dilation, groups,
                                         out)
        return o.squeeze(0) if unbatched else o
    if nd == 1:
        stride, padding, dilation, out = (1,) + stride, (0,) + padding, (1,) + dilation, (1,) + out
    op = ConvolutionBackward0
    if nd == 2 and _phase.applies(input.shape, w.shape, stride, padding, dilation, groups,
                                  x.dtype, out):
        op = _phase.ConvTransposeBackward  # 4x4 stride 2: phases + Winograd F(4x4, 2x2)
    elif nd == 2 and _point.applies(input.shape, w.shape, stride, padding, dilation, groups,
                                    x.dtype, out):
        op = _point.ConvolutionBackward0  # a 1x1 input: one batch-first GEMM per pass
    o = _double.record(op.apply(input, weight, bias, stride, padding, dilation, groups, out),
                       input, weight, stride, padding, dilation, groups, out)
    return o.squeeze(0) if unbatched else o


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                          dilation, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                          dilation, 2)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                          dilation, 3)
