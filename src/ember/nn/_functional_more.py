"""torch.nn.functional names that are thin layers over existing ops: gumbel_softmax, the
`*_with_indices` pooling aliases and the in-place activations threshold_, celu_, selu_."""
from __future__ import annotations

import warnings

from .._tensor import Tensor


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """softmax((logits + G) / tau) with G = -log(E), E ~ Exponential(1) drawn as torch's
    exponential_ (so a seed gives torch's sample); hard=True returns the one-hot arg-max with
    the soft sample's gradient (straight-through)."""
    from ..ops import creation
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -creation.empty_like(logits).exponential_().log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = creation.zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """max_pool1d's (output, indices), whatever return_indices says (as torch)."""
    from ..ops.pooling import max_pool1d
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """max_pool2d's (output, indices), whatever return_indices says (as torch)."""
    from ..ops.pooling import max_pool2d
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """adaptive_max_pool1d's (output, indices)."""
    from ..ops.pooling import adaptive_max_pool1d
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """adaptive_max_pool2d's (output, indices)."""
    from ..ops.pooling import adaptive_max_pool2d
    return adaptive_max_pool2d(input, output_size, True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """threshold(..., inplace=True)."""
    from .functional import threshold as _threshold
    return _threshold(input, threshold, value, True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """celu(..., inplace=True)."""
    from .functional import celu
    return celu(input, alpha, True)


def selu_(input: Tensor) -> Tensor:
    """selu(..., inplace=True)."""
    from .functional import selu
    return selu(input, True)
