"""Channel shuffle (torch.nn.functional.channel_shuffle, ChannelShuffleBackward0): the ShuffleNet
permutation that interleaves the channels of `groups` groups."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .base import Op


def _shuffle(x: np.ndarray, groups: int) -> np.ndarray:
    n, c = x.shape[:2]
    rest = x.shape[2:]
    y = x.reshape((n, groups, c // groups) + rest).swapaxes(1, 2)
    return np.ascontiguousarray(y).reshape(x.shape)


class ChannelShuffleBackward0(Op):
    """out[:, k * groups + g] = input[:, g * (C / groups) + k]; the gradient is the inverse
    permutation, a shuffle with C / groups groups.

    Shape: (N, C, *) -> (N, C, *).
    """

    @staticmethod
    def forward(ctx, input, groups):
        ctx.groups = groups
        return _shuffle(input._data, groups)

    @staticmethod
    def backward(ctx, grad):
        return ChannelShuffleBackward0.apply(grad, grad.shape[1] // ctx.groups), None


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Divide the channels (dim 1) into `groups` groups and interleave them."""
    shape = tuple(input.shape)
    if len(shape) <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    if shape[1] % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {shape[1]} "
                           f"channels and {groups} groups.")
    return ChannelShuffleBackward0.apply(input, int(groups))
