"""`nn.Parameter`: a Tensor that a Module registers as one of its parameters."""
from __future__ import annotations

from .._tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and that Module attributes register.

    It shares storage (and the version counter) with the tensor it wraps, as torch's does.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not "
                            f"{type(data).__name__}")
        p = object.__new__(cls)
        p._set_from(data._data, False)
        p._vc = data._vc
        if requires_grad:
            p._set_requires_grad(True)
        return p

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.detach(), self._rg))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = Parameter(Tensor._new(self._data.copy()), self._rg)
        if self._grad is not None:
            new._grad = Tensor._new(self._grad._data.copy())
        memo[id(self)] = new
        return new


def _rebuild_parameter(data: Tensor, requires_grad: bool) -> Parameter:
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """`nn.Buffer(t, persistent=True)`: marks a tensor assigned to a Module as a buffer."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        b = object.__new__(cls)
        b._set_from(data._data, data._rg)
        b._vc = data._vc
        b.persistent = persistent
        return b

    def __init__(self, data=None, *, persistent=True):
        pass


# ---- breadth: the lazy modules' placeholders (nn/_uninitialized.py) ----
from ._uninitialized import UninitializedBuffer, UninitializedParameter, is_lazy  # noqa: E402,F401

__all__ += ["UninitializedParameter", "UninitializedBuffer"]
