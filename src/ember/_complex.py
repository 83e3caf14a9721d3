"""Complex tensors (complex64 / complex128), enough to hold and read what linalg.eig returns:
`.real` / `.imag` (views, as torch), `view_as_real` / `view_as_complex`, `angle`, `conj`,
`torch.complex`, `polar`; `abs`, comparisons and indexing work through NumPy already.

ember has no complex autograd: complex outputs of a recorded op (eig's) carry its grad_fn as in
torch, so a backward reaching it raises naming it; building complex tensors from tensors that
require grad (complex, polar, view_as_complex...) raises at once.
"""
from __future__ import annotations

import numpy as np

from . import _dtype
from ._tensor import Tensor
from .autograd.grad_mode import state as _grad_state
from .ops.base import Op

__all__ = ["view_as_real", "view_as_complex", "angle", "conj", "conj_physical",
           "resolve_conj", "is_conj", "complex", "polar", "is_complex"]

_new = Tensor._new


def _is_complex(t: Tensor) -> bool:
    return t._data.dtype.kind == "c"


def is_complex(input: Tensor) -> bool:
    return _is_complex(input)


class RealBackward0(Op):
    """out = Re(a) (a view);  da = g + 0i"""
    _view = True

    @staticmethod
    def forward(ctx, a):
        ctx.dtype = a._data.dtype
        return a._data.real

    @staticmethod
    def backward(ctx, g):
        return _new(g._data.astype(ctx.dtype))


class ImagBackward0(Op):
    """out = Im(a) (a view);  da = g i"""
    _view = True

    @staticmethod
    def forward(ctx, a):
        ctx.dtype = a._data.dtype
        return a._data.imag

    @staticmethod
    def backward(ctx, g):
        return _new((g._data * 1j).astype(ctx.dtype))


# torch makes .real/.imag as a select of view_as_real, so they show as SelectBackward0
RealBackward0.__name__ = RealBackward0.__qualname__ = "SelectBackward0"
ImagBackward0.__name__ = ImagBackward0.__qualname__ = "SelectBackward0"


def _real(self: Tensor) -> Tensor:
    """t.real: the real parts as a view (t itself for a real tensor, as torch)."""
    if not _is_complex(self):
        return self
    return RealBackward0.apply(self)


def _imag(self: Tensor) -> Tensor:
    if not _is_complex(self):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return ImagBackward0.apply(self)


def _no_grad_through(name: str, *ts) -> None:
    """ember has no complex autograd: refuse to build a complex graph it could not run back."""
    if _grad_state.enabled and any(isinstance(t, Tensor) and t._rg for t in ts):
        raise NotImplementedError(f"ember: {name} on tensors that require grad needs complex "
                                  f"autograd, which ember does not have")


def view_as_real(input: Tensor) -> Tensor:
    """(..., ) complex -> (..., 2) real sharing its memory (real, imaginary last)."""
    if not _is_complex(input):
        raise RuntimeError("view_as_real is only supported for complex tensors")
    _no_grad_through("view_as_real", input)
    a = input._data
    if a.ndim and a.strides[-1] != a.itemsize and a.shape[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    return _new(a[..., None].view(a.real.dtype))


def view_as_complex(input: Tensor) -> Tensor:
    """(..., 2) float32/float64 -> (...) complex sharing its memory."""
    _no_grad_through("view_as_complex", input)
    a = input._data
    if a.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"view_as_complex is only supported for float and double tensors, "
                           f"but got a tensor of scalar type: {_dtype._FROM_NP[a.dtype]}")
    if a.ndim == 0 or a.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if a.strides[-1] != a.itemsize:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    return _new(a.view(np.complex64 if a.dtype == np.float32 else np.complex128)[..., 0])


class AngleBackward0(Op):
    """out = arg(a): 0 for a >= 0, pi for a < 0 (real a);  da = 0 (piecewise constant)"""

    @staticmethod
    def forward(ctx, a):
        x = a._data
        ctx.shape_dtype = (x.shape, x.dtype)
        if x.dtype.kind in "biu":
            x = x.astype(_dtype.get_default_dtype().np)
        r = np.angle(x)
        return r.astype(x.real.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return _new(np.zeros_like(g._data))


def angle(input: Tensor) -> Tensor:
    return AngleBackward0.apply(input)


def conj(input: Tensor) -> Tensor:
    """The complex conjugate (a copy: ember has no lazy conjugate bit); real tensors as they
    are."""
    if not _is_complex(input):
        return input
    _no_grad_through("conj", input)
    return _new(np.conj(input._data))


def conj_physical(input: Tensor) -> Tensor:
    return conj(input)


def resolve_conj(input: Tensor) -> Tensor:
    return input


def is_conj(input: Tensor) -> bool:
    return False


def complex(real: Tensor, imag: Tensor) -> Tensor:
    """torch.complex: real + i imag of two float32 or two float64 tensors (broadcast)."""
    _no_grad_through("complex", real, imag)
    a, b = real._data, imag._data
    if a.dtype != b.dtype:
        raise RuntimeError(f"Expected object of scalar type {_dtype._FROM_NP[a.dtype]} but got "
                           f"scalar type {_dtype._FROM_NP[b.dtype]} for second argument")
    if a.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{_TYPE_NAMES.get(a.dtype.name, a.dtype.name)} and "
                           f"{_TYPE_NAMES.get(b.dtype.name, b.dtype.name)}")
    out = np.empty(np.broadcast_shapes(a.shape, b.shape),
                   np.complex64 if a.dtype == np.float32 else np.complex128)
    out.real, out.imag = a, b
    return _new(out)


_TYPE_NAMES = {"float16": "Half", "int64": "Long", "int32": "Int", "int16": "Short",
               "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def polar(abs: Tensor, angle: Tensor) -> Tensor:
    """torch.polar: abs * (cos(angle) + i sin(angle))."""
    _no_grad_through("polar", abs, angle)
    return complex(_new(abs._data * np.cos(angle._data)), _new(abs._data * np.sin(angle._data)))


def bind(tensor_cls) -> None:
    tensor_cls.real = property(_real)
    tensor_cls.imag = property(_imag)
    tensor_cls.is_complex = _is_complex
    tensor_cls.angle = angle
    tensor_cls.conj = conj
    tensor_cls.conj_physical = conj_physical
    tensor_cls.resolve_conj = resolve_conj
    tensor_cls.is_conj = is_conj
