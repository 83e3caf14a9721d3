"""torch's legacy typed constructors: `FloatTensor([1, 2])`, `LongTensor(3)`, `BoolTensor(...)`.

Each is a class only in name, as in torch: calling it makes a plain `Tensor` of its dtype, and
`isinstance(t, FloatTensor)` asks whether `t` is a float32 tensor. Sizes (ints or a `Size`) give
an uninitialised tensor, data (a sequence or an array) is copied and converted, and a tensor of
the same dtype is aliased.
"""
from __future__ import annotations

import numpy as np

from . import _dtype
from ._size import Size
from ._tensor import Tensor

# the C++ type names torch's error messages print for each dtype
_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
              "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool"}
_SIGNATURES = (" * (*, torch.device device = None)\n * (torch.Storage storage)\n"
               " * (Tensor other)\n * (tuple of ints size, *, torch.device device = None)\n"
               " * (object data, *, torch.device device = None)\n")


def _options(name: str) -> str:
    return (f"TensorOptions(dtype={_CPP_NAMES[name]}, device=cpu, layout=Strided, requires_grad="
            "false (default), pinned_memory=false (default), memory_format=(nullopt))")


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


class _LegacyTensorType(type):
    """The metaclass that makes `FloatTensor(...)` construct and `isinstance` check the dtype."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj._data.dtype == cls.dtype.np

    def __repr__(cls) -> str:
        return f"<class 'ember.{cls.__name__}'>"

    def __call__(cls, *args, device=None, **kwargs):
        from ._device import check_device
        from .ops import creation, shape
        check_device(device)
        if kwargs:
            got = ", ".join(type(a).__name__ for a in args)
            got += "".join(f", {k}={type(v).__name__}" for k, v in kwargs.items())
            raise TypeError(f"new() received an invalid combination of arguments - got ({got}), "
                            f"but expected one of:\n{_SIGNATURES}")
        dt = cls.dtype
        if not args:
            return creation.empty(0, dtype=dt)
        if all(_is_int(a) for a in args) or (len(args) == 1 and isinstance(args[0], Size)):
            size = tuple(args[0]) if isinstance(args[0], Size) else tuple(int(a) for a in args)
            for s in size:
                if s < 0:
                    raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                                       f"{list(size)}")
            return creation.empty(size, dtype=dt)
        if len(args) > 1:
            got = ", ".join(type(a).__name__ for a in args)
            raise TypeError(f"new() received an invalid combination of arguments - got ({got}), "
                            f"but expected one of:\n{_SIGNATURES}")
        data = args[0]
        if isinstance(data, Tensor):
            if data._data.dtype != dt.np:
                raise TypeError(f"expected {_options(dt.np.name)} (got "
                                f"{_options(data._data.dtype.name)})")
            return shape.view(data, data._data.shape)
        if isinstance(data, str):
            raise TypeError("new(): invalid data type 'str'")
        if not isinstance(data, (list, tuple, np.ndarray)):
            kind = type(data)
            name = kind.__name__ if kind.__module__ == "builtins" else \
                f"{kind.__module__}.{kind.__name__}"
            raise TypeError(f"new(): data must be a sequence (got {name})")
        return creation.tensor(data, dtype=dt)


def _legacy(name: str, dt) -> type:
    return _LegacyTensorType(name, (), {"dtype": dt, "__module__": "ember",
                                        "__doc__": f"Legacy constructor of {dt} tensors."})


FloatTensor = _legacy("FloatTensor", _dtype.float32)
DoubleTensor = _legacy("DoubleTensor", _dtype.float64)
HalfTensor = _legacy("HalfTensor", _dtype.float16)
LongTensor = _legacy("LongTensor", _dtype.int64)
IntTensor = _legacy("IntTensor", _dtype.int32)
ShortTensor = _legacy("ShortTensor", _dtype.int16)
CharTensor = _legacy("CharTensor", _dtype.int8)
ByteTensor = _legacy("ByteTensor", _dtype.uint8)
BoolTensor = _legacy("BoolTensor", _dtype.bool_)
