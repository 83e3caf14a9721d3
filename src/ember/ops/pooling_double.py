"""Pooling backward passes as recorded ops, for create_graph=True (double backward).

Average and adaptive pooling are linear, so their input gradient is a linear map of the output
gradient; under create_graph it is built from recorded ops instead of NumPy:
  avg_pool:           a transposed convolution of g / divisor with a window of ones (stride
                      as the pooling's), placed in the padded input and cropped to it;
  adaptive avg_pool:  A_h^T g A_w with the constant averaging matrices;
  max_pool (fixed and adaptive windows): g scattered (added) to the forward's argmax
                      positions.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor


def avg_pool_input_grad(ctx, g: Tensor) -> Tensor:
    from ..nn import functional as F
    win = ctx.win
    div = ctx.div
    gd = g / (Tensor._new(div) if isinstance(div, np.ndarray) else div)  # per position or one
    lead = tuple(ctx.shape[:-2])
    H, W = ctx.shape[-2:]
    g4 = gd.reshape(-1, 1, win.Ho, win.Wo)
    ones = Tensor._new(np.ones((1, 1, win.kh, win.kw), gd._data.dtype))
    full = F.conv_transpose2d(g4, ones, stride=(win.sh, win.sw))
    ext_h, ext_w = win.Hp - full.shape[2], win.Wp - full.shape[3]
    if ext_h or ext_w:  # padded rows past the last window get nothing
        full = F.pad(full, (0, ext_w, 0, ext_h))
    return full[:, :, win.ph:win.ph + H, win.pw:win.pw + W].reshape(lead + (H, W))


def adaptive_avg_input_grad(ctx, g: Tensor) -> Tensor:
    return Tensor._new(np.ascontiguousarray(ctx.ah.T)).matmul(g).matmul(Tensor._new(ctx.aw))


def scatter_to_indices(g: Tensor, idx: np.ndarray, in_shape) -> Tensor:
    """Max pooling's (fixed, adaptive) input gradient: g added at the forward's argmax `idx`
    (flat positions in each H*W plane, g's shape) as a recorded scatter_add."""
    from .creation import zeros
    H, W = in_shape[-2:]
    flat = idx.reshape(-1, idx.shape[-2] * idx.shape[-1])
    gi = zeros((flat.shape[0], H * W), dtype=g.dtype).scatter_add(
        1, Tensor._new(flat), g.reshape(flat.shape))
    return gi.reshape(tuple(in_shape))
