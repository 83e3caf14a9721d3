"""UninitializedParameter / UninitializedBuffer (torch.nn.parameter's): placeholders of the lazy
modules, whose shapes are only known at the first forward. `materialize(shape)` gives one its
storage and turns it into a plain Parameter / Tensor in place, so references (a module's
`_parameters`, a user's variable) stay valid."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .parameter import Parameter

__all__ = ["UninitializedParameter", "UninitializedBuffer", "is_lazy"]

_SHAPE_ERROR = ("Can't access the shape of an uninitialized parameter or buffer. This error "
                "usually happens in `load_state_dict` when trying to load an uninitialized "
                "parameter into an initialized one. Call `forward` to initialize the parameters "
                "before accessing their attributes.")


class _Unset(np.ndarray):
    """The placeholder storage: an empty array that refuses every NumPy computation, so an op
    reached with an uninitialized parameter raises torch's ValueError (ember's ops compute on
    `_data` through ufuncs and array functions) instead of returning an empty result."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise ValueError(_use_error(ufunc.__name__))

    def __array_function__(self, func, types, args, kwargs):
        raise ValueError(_use_error(func.__name__))


def _use_error(what: str) -> str:
    return (f"Attempted to use an uninitialized parameter in {what}. This error happens when you "
            "are using a `LazyModule` or explicitly manipulating "
            "`torch.nn.parameter.UninitializedParameter` objects. When using LazyModules Call "
            "`forward` with a dummy batch to initialize the parameters before calling torch "
            "functions")


def _empty(dtype):
    from ..ops.creation import empty
    return empty(0, dtype=dtype)._data.view(_Unset)


class _UninitializedMixin:
    __slots__ = ()
    cls_to_become: type = Tensor

    @property
    def shape(self):
        raise RuntimeError(_SHAPE_ERROR)

    def size(self, dim=None):
        raise RuntimeError(_SHAPE_ERROR)

    def numel(self):
        raise RuntimeError(_SHAPE_ERROR)

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor storage of `shape` (uninitialised values) and make it a
        `cls_to_become` (Parameter or Tensor)."""
        dt = self._data.dtype if dtype is None else np.dtype(_np_dtype(dtype))
        self._data = np.empty(tuple(shape), dt)
        self._vc[0] += 1
        self.__class__ = self.cls_to_become

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}>"

    __str__ = __repr__


def _np_dtype(dtype):
    return getattr(dtype, "np", dtype)


class UninitializedParameter(_UninitializedMixin, Parameter):
    """A parameter whose shape is not known yet (torch.nn.UninitializedParameter)."""
    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        p = object.__new__(cls)
        p._set_from(_empty(dtype), False)
        if requires_grad:
            p._set_requires_grad(True)
        return p

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = UninitializedParameter(self._rg, dtype=self.dtype)
        return memo[id(self)]

    def __reduce_ex__(self, protocol):
        return (_rebuild, (UninitializedParameter, self._rg, self._data.dtype.name))


class UninitializedBuffer(_UninitializedMixin, Tensor):
    """A buffer whose shape is not known yet (torch.nn.UninitializedBuffer)."""
    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None,
                persistent: bool = True):
        b = object.__new__(cls)
        b._set_from(_empty(dtype), False)
        if requires_grad:
            b._set_requires_grad(True)
        return b

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        pass

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = UninitializedBuffer(self._rg, dtype=self.dtype)
        return memo[id(self)]

    def __reduce_ex__(self, protocol):
        return (_rebuild, (UninitializedBuffer, self._rg, self._data.dtype.name))


def _rebuild(cls, requires_grad, np_dtype_name):
    t = cls(requires_grad)
    t._data = np.empty(0, np.dtype(np_dtype_name)).view(_Unset)
    return t


def is_lazy(param) -> bool:
    """Whether `param` is an UninitializedParameter or UninitializedBuffer."""
    return isinstance(param, _UninitializedMixin)
