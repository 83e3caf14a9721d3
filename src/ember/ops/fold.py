"""Sliding blocks and unpooling: F.unfold (im2col), F.fold (col2im), F.max_unpool1d/2d,
F.lp_pool1d/2d.

unfold copies one strided window view (no loop over pixels); fold, its adjoint, adds the
kernel_size blocks back with one slice-add per kernel offset.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from .base import Op

_new = Tensor._new


def _pair(v, name: str) -> tuple:
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    v = tuple(int(a) for a in v)
    if len(v) == 1:
        return v * 2
    if len(v) != 2:
        raise RuntimeError(f"{name} must be an int or a tuple of two ints, got {v}")
    return v


def _blocks(size, k, d, p, s) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _im2col(a: np.ndarray, k, d, p, s, blocks) -> np.ndarray:
    """(N, C, H, W) -> (N, C*kh*kw, L)."""
    N, C, H, W = a.shape
    if p[0] or p[1]:
        xp = np.zeros((N, C, H + 2 * p[0], W + 2 * p[1]), a.dtype)
        xp[:, :, p[0]:p[0] + H, p[1]:p[1] + W] = a
    else:
        xp = np.ascontiguousarray(a)
    sN, sC, sH, sW = xp.strides
    v = as_strided(xp, (N, C, k[0], k[1], blocks[0], blocks[1]),
                   (sN, sC, d[0] * sH, d[1] * sW, s[0] * sH, s[1] * sW))
    return v.reshape(N, C * k[0] * k[1], blocks[0] * blocks[1])


def _col2im(g: np.ndarray, size, k, d, p, s, blocks) -> np.ndarray:
    """(N, C*kh*kw, L) -> (N, C, H, W), overlapping block entries summed."""
    N = g.shape[0]
    C = g.shape[1] // (k[0] * k[1])
    H, W = size
    out = np.zeros((N, C, H + 2 * p[0], W + 2 * p[1]), g.dtype)
    gv = g.reshape(N, C, k[0], k[1], blocks[0], blocks[1])
    eh, ew = (blocks[0] - 1) * s[0] + 1, (blocks[1] - 1) * s[1] + 1
    for i in range(k[0]):
        for j in range(k[1]):
            r, c = i * d[0], j * d[1]
            dst = out[:, :, r:r + eh:s[0], c:c + ew:s[1]]
            np.add(dst, gv[:, :, i, j], out=dst)
    return np.ascontiguousarray(out[:, :, p[0]:p[0] + H, p[1]:p[1] + W])


class Im2ColBackward0(Op):
    """out[n, c*kh*kw + i*kw + j, l] = xpad[n, c, s*l_h + d*i, s*l_w + d*j];  dx = col2im(g)."""

    @staticmethod
    def forward(ctx, x, k, d, p, s, blocks):
        ctx.args = (x._data.shape[2:], k, d, p, s, blocks)
        return _im2col(x._data, k, d, p, s, blocks)

    @staticmethod
    def backward(ctx, g):
        return Col2ImBackward0.apply(g, *ctx.args), None, None, None, None, None


class Col2ImBackward0(Op):
    """out = the blocks of x added at their places (fold);  dx = im2col(g)."""

    @staticmethod
    def forward(ctx, x, size, k, d, p, s, blocks):
        ctx.args = (k, d, p, s, blocks)
        return _col2im(x._data, size, k, d, p, s, blocks)

    @staticmethod
    def backward(ctx, g):
        return (Im2ColBackward0.apply(g, *ctx.args),) + (None,) * 6


def _check_args(k, d, p, s):
    if any(v <= 0 for v in k):
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{k[0]} kernel_width: {k[1]}")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {s[0]} "
                           f"stride_width: {s[1]}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{d[0]} dilation_width: {d[1]}")
    if any(v < 0 for v in p):
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {p[0]} "
                           f"pad_width: {p[1]}")


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks.  Shape: (N, C, H, W) or (C, H, W) -> (N, C*kh*kw, L)."""
    k, d = _pair(kernel_size, "kernel_size"), _pair(dilation, "dilation")
    p, s = _pair(padding, "padding"), _pair(stride, "stride")
    x = input._data
    if x.ndim not in (3, 4) or (x.ndim == 3 and 0 in x.shape) or x.shape[-1] == 0:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and "
                           f"other non-zero dimensions for input, but got: {list(x.shape)}")
    _check_args(k, d, p, s)
    H, W = x.shape[-2:]
    blocks = (_blocks(H, k[0], d[0], p[0], s[0]), _blocks(W, k[1], d[1], p[1], s[1]))
    if blocks[0] < 1 or blocks[1] < 1:
        raise RuntimeError(f"Given input with spatial size ({H}, {W}), kernel_size={k}, "
                           f"dilation={d}, padding={p}, calculated shape of the array of sliding "
                           f"blocks as {blocks}, but its components must be at least one.")
    if x.ndim == 3:
        return Im2ColBackward0.apply(input.unsqueeze(0), k, d, p, s, blocks).squeeze(0)
    return Im2ColBackward0.apply(input, k, d, p, s, blocks)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding blocks back into an image (the adjoint of unfold).

    Shape: (N, C*kh*kw, L) or (C*kh*kw, L) -> (N, C, H, W)."""
    size = _pair(output_size, "output_size")
    k, d = _pair(kernel_size, "kernel_size"), _pair(dilation, "dilation")
    p, s = _pair(padding, "padding"), _pair(stride, "stride")
    x = input._data
    if x.ndim not in (2, 3) or x.shape[-1] == 0 or x.shape[-2] == 0:
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor with possibly 0 batch size and "
                           f"non-zero dimensions for input, but got: {list(x.shape)}")
    _check_args(k, d, p, s)
    cdim = x.shape[-2]
    if cdim % (k[0] * k[1]):
        raise RuntimeError(f"Expected size of input's dimension {x.ndim - 2} to be divisible by "
                           f"the product of kernel_size, but got input.size({x.ndim - 2})="
                           f"{cdim} and kernel_size={k}.")
    blocks = (_blocks(size[0], k[0], d[0], p[0], s[0]),
              _blocks(size[1], k[1], d[1], p[1], s[1]))
    if blocks[0] < 1 or blocks[1] < 1:
        raise RuntimeError(f"Given output_size={size}, kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}, calculated shape of the array of sliding "
                           f"blocks as {blocks}, but its components must be at least one.")
    if x.shape[-1] != blocks[0] * blocks[1]:
        raise RuntimeError(f"Given output_size={size}, kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}, expected size of input's dimension "
                           f"{x.ndim - 1} to match the calculated number of sliding blocks "
                           f"{blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
                           f"input.size({x.ndim - 1})={x.shape[-1]}.")
    if x.ndim == 2:
        return Col2ImBackward0.apply(input.unsqueeze(0), size, k, d, p, s, blocks).squeeze(0)
    return Col2ImBackward0.apply(input, size, k, d, p, s, blocks)


# ---- max unpooling -----------------------------------------------------------------------------
class MaxUnpool2DBackward0(Op):
    """out.flat[n, c, idx[n, c, p]] = x[n, c, p] (zeros elsewhere);  dx = g.flat[idx]."""

    @staticmethod
    def forward(ctx, x, idx, out_hw):
        a = x._data
        N, C = a.shape[:2]
        flat_idx = idx.reshape(N * C, -1)
        out = np.zeros((N * C, int(np.prod(out_hw))), a.dtype)
        np.put_along_axis(out, flat_idx, a.reshape(N * C, -1), axis=1)
        ctx.idx, ctx.in_shape = flat_idx, a.shape
        return out.reshape((N, C) + tuple(out_hw))

    @staticmethod
    def backward(ctx, g):
        if _grad_state.enabled:  # create_graph: the same gather, recorded
            picked = g.reshape(ctx.idx.shape[0], -1).gather(1, _new(ctx.idx))
            return picked.reshape(ctx.in_shape), None, None
        gd = g._data.reshape(ctx.idx.shape[0], -1)
        return _new(np.take_along_axis(gd, ctx.idx, axis=1).reshape(ctx.in_shape)), None, None


def _unpool(input, indices, kernel_size, stride, padding, output_size, nd: int):
    k = _pair(kernel_size, "kernel_size")[:nd] if nd == 2 else (int(np.ravel(kernel_size)[0]),)
    s = k if stride is None else (_pair(stride, "stride")[:nd] if nd == 2 else
                                  (int(np.ravel(stride)[0]),))
    p = _pair(padding, "padding")[:nd] if nd == 2 else (int(np.ravel(padding)[0]),)
    x = input._data
    spatial = x.shape[-nd:]
    default = tuple((spatial[i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(nd))
    if output_size is None:
        out = default
    else:
        out = tuple(output_size)[-nd:]
        if len(tuple(output_size)) not in (nd, nd + 1, nd + 2):
            raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                             f"elements, but it has a length of '{len(tuple(output_size))}'")
        for i in range(nd):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < out[i] < hi:
                raise ValueError(f'invalid output_size "{tuple(out)}" (dim {i} must be between '
                                 f"{lo} and {hi})")
    idx = indices._data
    if idx.shape != x.shape:
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(x.shape)}) but got indices tensor with shape: "
                           f"{list(idx.shape)}")
    total = int(np.prod(out))
    if idx.size and (idx.min() < 0 or idx.max() >= total):
        bad = int(idx.max() if idx.max() >= total else idx.min())
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, out))}")
    unbatched = x.ndim == nd + 1
    if unbatched:
        input, indices = input.unsqueeze(0), indices.unsqueeze(0)
        idx = indices._data
    if nd == 1:
        o = MaxUnpool2DBackward0.apply(input.unsqueeze(-2), idx[..., None, :], (1,) + out)
        o = o.squeeze(-2)
    else:
        o = MaxUnpool2DBackward0.apply(input, idx, out)
    return o.squeeze(0) if unbatched else o


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Place each pooled maximum back where max_pool2d found it (zeros elsewhere).

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), H_out = (H - 1) s - 2 p + k."""
    if input.dim() not in (3, 4):
        raise RuntimeError(f"Expected 3D or 4D input tensor, but got: {list(input.shape)}")
    return _unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Shape: (N, C, L) -> (N, C, (L - 1) s - 2 p + k)."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2D or 3D input tensor, but got: {list(input.shape)}")
    return _unpool(input, indices, kernel_size, stride, padding, output_size, 1)


# ---- power-average pooling ---------------------------------------------------------------------
def lp_pool2d(input, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
    """(sum over each window of x^p)^(1/p), via average pooling as torch composes it."""
    from ..nn.functional import relu
    from .pooling import avg_pool2d
    kh, kw = _pair(kernel_size, "kernel_size")
    out = avg_pool2d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(kh * kw).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
    """(sum over each window of x^p)^(1/p) along the last dim."""
    from ..nn.functional import relu
    from .pooling import avg_pool1d
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(kernel_size).pow(1.0 / norm_type)
