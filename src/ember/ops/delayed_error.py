"""The node torch puts on the gradients of a once-differentiable backward run under
create_graph: differentiating through it raises, so a second-order gradient never silently
leaves out that op's terms."""
from __future__ import annotations

from .._tensor import Tensor
from .base import Op

_MSG = "trying to differentiate twice a function that was marked with @once_differentiable"


class DelayedError(Op):
    """out = x;  backward raises RuntimeError (naming the once-differentiable node)."""

    @staticmethod
    def forward(ctx, x, name):
        ctx.op_name = name
        return x._data

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(f"{_MSG} ({ctx.op_name})")


DelayedError.__name__ = DelayedError.__qualname__ = "Error"  # torch's node name


def delay_error(grads, node) -> tuple:
    """Each gradient tensor as an alias whose backward raises (torch's once_differentiable
    wrapper): a leaf copy that requires grad, through DelayedError."""
    name = type(node).__name__
    return tuple(DelayedError.apply(Tensor._new(g._data, True), name)
                 if isinstance(g, Tensor) else g for g in grads)
