"""Winograd F(2x2, 3x3) convolution for 3x3, stride-1, undilated, ungrouped 2-d convolutions.

Each 2x2 block of output pixels is computed from the 4x4 input tile under it as
    Y = A^T [ sum_c (G w G^T) ⊙ (B^T d B) ] A
so that per output pixel the channel sum costs 16/4 = 4 multiply-adds per (o, c) instead of 9.
The transforms are a few shifted adds over whole images (stride-2 slices of a channel-first,
padded copy of the input); the channel sums are 16 batched GEMMs (U[k] (O, C) @ V[k] (C, P),
P = N * tiles) through `gemm`.

Backward is the exact transpose of those linear maps, so it costs the same 16 GEMMs again per
gradient and no transform of the kernel-flipped problem:
    Z = A g A^T                        (the output gradient, tile by tile)
    dW = G^T [ sum_tiles Z ⊙ V ] G     (16 GEMMs Z[k] (O, P) @ V[k]^T (P, C))
    dx = overlap-add of B [ U^T Z ] B^T over the 4x4 tiles (they overlap by 2).
V (the transformed input) is kept from forward instead of the input itself.

Where it wins: the transforms are memory-bound work proportional to (C + O) * pixels, against
GEMM work proportional to C * O * pixels, so only with enough channels on both sides; `use_winograd`
holds the rule (measured: bench/bench_conv_stack.py).
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from .base import Op
from ._gemm import gemm

_new = Tensor._new

# G (4x3), the kernel transform: U = G w G^T
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])

# fewest input and output channels for which the transforms pay for themselves (bench/
# bench_conv_stack.py: with 1 input channel the im2col GEMM is faster; from 16 on Winograd)
MIN_CHANNELS = 16


def use_winograd(xshape, wshape, stride, dilation, groups) -> bool:
    """Whether a 2-d convolution of these shapes goes through Winograd F(2x2, 3x3)."""
    return (len(wshape) == 4 and wshape[2] == 3 and wshape[3] == 3 and groups == 1
            and tuple(stride) == (1, 1) and tuple(dilation) == (1, 1)
            and wshape[0] >= MIN_CHANNELS and wshape[1] >= MIN_CHANNELS and xshape[0] > 0)


def _kernel_transform(w: np.ndarray) -> np.ndarray:
    """U (16, O, C) from w (O, C, 3, 3)."""
    g = _G.astype(w.dtype)
    O, C = w.shape[:2]
    # (4, 3) @ w (O, C, 3, 3) @ (3, 4), then the 16 positions first
    u = g @ w @ g.T
    return np.ascontiguousarray(u.transpose(2, 3, 0, 1)).reshape(16, O, C)


def _input_transform(xp: np.ndarray, Th: int, Tw: int) -> np.ndarray:
    """V (4, 4, C, N, Th, Tw) = B^T d B for every 4x4 tile d (at stride 2) of the channel-first
    padded input xp (C, N, 2Th+2, 2Tw+2). B^T's rows: d0-d2, d1+d2, d2-d1, d1-d3."""
    C, N, _, Wp = xp.shape
    r = [xp[:, :, k:k + 2 * Th:2] for k in range(4)]
    t = np.empty((4, C, N, Th, Wp), xp.dtype)
    np.subtract(r[0], r[2], out=t[0])
    np.add(r[1], r[2], out=t[1])
    np.subtract(r[2], r[1], out=t[2])
    np.subtract(r[1], r[3], out=t[3])
    s = [t[..., k:k + 2 * Tw:2] for k in range(4)]
    v = np.empty((4, 4, C, N, Th, Tw), xp.dtype)
    np.subtract(s[0], s[2], out=v[:, 0])
    np.add(s[1], s[2], out=v[:, 1])
    np.subtract(s[2], s[1], out=v[:, 2])
    np.subtract(s[1], s[3], out=v[:, 3])
    return v


def _output_transform(m: np.ndarray, out6: np.ndarray) -> None:
    """out6 (N, O, Th, 2, Tw, 2) = A^T M A per tile, from m (4, 4, O, N, Th, Tw).
    A^T's rows: m0+m1+m2, m1-m2-m3."""
    y = np.empty((2,) + m.shape[1:], m.dtype)
    np.add(m[0], m[1], out=y[0])
    y[0] += m[2]
    np.subtract(m[1], m[2], out=y[1])
    y[1] -= m[3]
    for u in range(2):
        yu = y[u].transpose(0, 2, 1, 3, 4)  # (4, N, O, Th, Tw)
        d0, d1 = out6[:, :, :, u, :, 0], out6[:, :, :, u, :, 1]
        np.add(yu[0], yu[1], out=d0)
        d0 += yu[2]
        np.subtract(yu[1], yu[2], out=d1)
        d1 -= yu[3]


def _grad_transform(g: np.ndarray, Th: int, Tw: int) -> np.ndarray:
    """Z (16, O, P) = A g A^T for every 2x2 tile of the output gradient g (N, O, Ho, Wo).
    A's rows: g0, g0+g1, g0-g1, -g1."""
    N, O, Ho, Wo = g.shape
    if Ho != 2 * Th or Wo != 2 * Tw:  # odd sizes: tiles hang over by one zero row/column
        gp = np.zeros((N, O, 2 * Th, 2 * Tw), g.dtype)
        gp[:, :, :Ho, :Wo] = g
        g = gp
    g6 = g.reshape(N, O, Th, 2, Tw, 2).transpose(1, 0, 2, 4, 3, 5)  # (O, N, Th, Tw, 2, 2)
    q = np.empty((4, O, N, Th, Tw, 2), g.dtype)
    np.copyto(q[0], g6[..., 0, :])
    np.add(g6[..., 0, :], g6[..., 1, :], out=q[1])
    np.subtract(g6[..., 0, :], g6[..., 1, :], out=q[2])
    np.negative(g6[..., 1, :], out=q[3])
    z = np.empty((4, 4, O, N, Th, Tw), g.dtype)
    np.copyto(z[:, 0], q[..., 0])
    np.add(q[..., 0], q[..., 1], out=z[:, 1])
    np.subtract(q[..., 0], q[..., 1], out=z[:, 2])
    np.negative(q[..., 1], out=z[:, 3])
    return z.reshape(16, O, -1)


def _along(a: np.ndarray, axis: int, sl: slice) -> np.ndarray:
    idx = [slice(None)] * a.ndim
    idx[axis] = sl
    return a[tuple(idx)]


def _adjoint_1d(e: np.ndarray, even: np.ndarray, odd: np.ndarray, axis: int) -> None:
    """The transpose of B^T along one tile axis, with the overlap-add of tiles 2 apart.

    e (4, ...): indexed first by B^T's row, tile index s (0..T-1) on `axis` of e[k];
    even / odd: image positions 2s and 2s+1 (s = 0..T) on the same axis. Per tile
    d0 = e0, d1 = e1-e2+e3, d2 = e1+e2-e0, d3 = -e3; position 2s gets d0 of tile s and d2 of
    tile s-1, position 2s+1 gets d1 of tile s and d3 of tile s-1."""
    head, tail = slice(None, -1), slice(1, None)
    np.copyto(_along(even, axis, head), e[0])
    _along(even, axis, slice(-1, None))[...] = 0
    lo = _along(even, axis, tail)
    lo += e[1]
    lo += e[2]
    lo -= e[0]
    oh = _along(odd, axis, head)
    np.subtract(e[1], e[2], out=oh)
    oh += e[3]
    _along(odd, axis, slice(-1, None))[...] = 0
    ot = _along(odd, axis, tail)
    ot -= e[3]


def _input_grad(e: np.ndarray, C: int, N: int, Th: int, Tw: int) -> np.ndarray:
    """The padded input's gradient (C, N, 2Th+2, 2Tw+2) from E (16, C, P) = U^T Z:
    the transpose of `_input_transform`, columns first, then rows."""
    e = e.reshape(4, 4, C, N, Th, Tw)
    f = np.empty((4, C, N, Th, Tw + 1, 2), e.dtype)
    _adjoint_1d(e.transpose(1, 0, 2, 3, 4, 5), f[..., 0], f[..., 1], axis=-1)
    f = f.reshape(4, C, N, Th, 2 * Tw + 2)
    dxp = np.empty((C, N, Th + 1, 2, 2 * Tw + 2), e.dtype)
    _adjoint_1d(f, dxp[:, :, :, 0], dxp[:, :, :, 1], axis=-2)
    return dxp.reshape(C, N, 2 * Th + 2, 2 * Tw + 2)


class ConvolutionBackward0(Op):
    """Winograd F(2x2, 3x3) convolution (named as torch names its convolution node).

    Shape: x (N, C, H, W), weight (O, C, 3, 3), bias (O,) or None; padding (top, bottom, left,
    right); stride 1, dilation 1, groups 1 (see use_winograd)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        xa, wa = x._data, weight._data
        N, C, H, W = xa.shape
        O = wa.shape[0]
        pt, pb, pl, pr = padding
        Ho, Wo = H + pt + pb - 2, W + pl + pr - 2
        Th, Tw = (Ho + 1) // 2, (Wo + 1) // 2
        # channel-first padded copy, one zero row/column more where the output size is odd
        xp = np.zeros((C, N, 2 * Th + 2, 2 * Tw + 2), xa.dtype)
        xp[:, :, pt:pt + H, pl:pl + W] = xa.transpose(1, 0, 2, 3)
        v = _input_transform(xp, Th, Tw).reshape(16, C, -1)
        u = _kernel_transform(wa)
        m = gemm(u, v)  # (16, O, P)
        out6 = np.empty((N, O, Th, 2, Tw, 2), xa.dtype)
        _output_transform(m.reshape(4, 4, O, N, Th, Tw), out6)
        out = out6.reshape(N, O, 2 * Th, 2 * Tw)
        if Ho != 2 * Th or Wo != 2 * Tw:
            out = np.ascontiguousarray(out[:, :, :Ho, :Wo])
        if bias is not None:
            out += bias._data.reshape(O, 1, 1)
        need = ctx.needs_input_grad
        if need[0] or need[1] or (bias is not None and need[2]):
            ctx.dims = (N, C, H, W, Th, Tw, padding)
            ctx.has_bias = bias is not None
            ctx.v = v if need[1] else None
            ctx.u = u if need[0] else None
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        N, C, H, W, Th, Tw, (pt, pb, pl, pr) = ctx.dims
        need = ctx.needs_input_grad
        g = grad._data
        gx = gw = gb = None
        z = _grad_transform(g, Th, Tw)  # (16, O, P)
        if need[1]:
            mw = gemm(z, ctx.v.transpose(0, 2, 1)).reshape(4, 4, -1, C)  # (4, 4, O, C)
            gt = _G.T.astype(g.dtype)
            # dW[o, c] = G^T M[:, :, o, c] G
            gw = _new(np.ascontiguousarray((gt @ mw.transpose(2, 3, 0, 1) @ gt.T)))
        if ctx.has_bias and need[2]:
            gb = _new(g.sum(axis=(0, 2, 3)))
        if need[0]:
            e = gemm(ctx.u.transpose(0, 2, 1), z)  # (16, C, P)
            dxp = _input_grad(e, C, N, Th, Tw)
            gx = _new(np.ascontiguousarray(dxp[:, :, pt:pt + H, pl:pl + W].transpose(1, 0, 2, 3)))
        return gx, gw, gb, None, None, None, None
