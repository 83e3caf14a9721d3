"""`Variable`: the pre-0.4 wrapper, which torch keeps as a constructor of plain tensors.

`Variable(t, requires_grad=True)` returns a new leaf sharing `t`'s storage (detached from `t`'s
graph) and leaves `t` itself alone; `isinstance(x, Variable)` holds for every tensor; `volatile`
has no effect and warns, as in torch.
"""
from __future__ import annotations

import warnings

from .._tensor import Tensor

__all__ = ["Variable"]

_VOLATILE = "volatile was removed and now has no effect. Use `with torch.no_grad():` instead."


class _VariableMeta(type):
    def __instancecheck__(cls, other) -> bool:
        return isinstance(other, Tensor)

    def __call__(cls, data=None, requires_grad: bool = False, volatile: bool = False):
        if volatile:
            warnings.warn(_VOLATILE, UserWarning, stacklevel=2)
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got "
                            f"{type(data).__name__}")
        out = data.detach()
        if requires_grad:
            out.requires_grad_(True)
        return out


class Variable(metaclass=_VariableMeta):
    """Variable(data=None, requires_grad=False, volatile=False) -> Tensor."""
