"""ember.nn.functional: the stateless functions behind the layers and losses (torch.nn.functional)."""
from __future__ import annotations

from .._tensor import Tensor
from ..ops import elementwise as _ew


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight.T + bias.  Shape: (*, in) x (out, in) -> (*, out)."""
    out = input.matmul(weight.t())
    return out if bias is None else out + bias


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return input.relu_() if inplace else _ew.relu(input)
