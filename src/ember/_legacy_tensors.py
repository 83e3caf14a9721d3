"""torch's legacy typed constructors: `FloatTensor([1, 2])`, `LongTensor(3)`, `BoolTensor(...)`.

Each is a class only in name, as in torch: calling it makes a plain `Tensor` of its dtype, and
`isinstance(t, FloatTensor)` asks whether `t` is a float32 tensor. Sizes (ints or a `Size`) give
an uninitialised tensor, data (a sequence or an array) is copied and converted, and a tensor of
the same dtype is aliased.
"""
from __future__ import annotations

from collections import abc as _abc

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


def _invalid(args, kwargs) -> TypeError:
    got = ", ".join(type(a).__name__ for a in args)
    got += "".join(f", {k}={type(v).__name__}" for k, v in kwargs.items())
    got = got.lstrip(", ")
    return TypeError(f"new() received an invalid combination of arguments - got ({got}), but "
                     f"expected one of:\n{_SIGNATURES}")


def legacy_new(dt, args, kwargs, strict: bool) -> Tensor:
    """torch's legacy constructor `new(...)` with dtype `dt`: no argument gives an empty tensor,
    ints (or a Size) an uninitialised tensor of that size, a sequence or array is converted to
    `dt` (an array of dtype `dt` is shared, as torch shares it), a tensor is aliased (it must
    have dtype `dt` when `strict`: FloatTensor(t), t.new(u); `ember.Tensor(t)` takes any)."""
    from ._device import check_device
    from .ops import creation, indexing
    device = kwargs.pop("device", None)
    if kwargs:
        raise _invalid(args, kwargs)
    check_device(device)
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
        if _is_int(args[0]):
            bad = next(a for a in args if not _is_int(a))
            raise TypeError(f"new(): argument 'size' failed to unpack the object at pos "
                            f"{args.index(bad) + 1} with error \"type must be tuple of ints,but "
                            f"got {type(bad).__name__}\"")
        raise _invalid(args, {})
    data = args[0]
    if isinstance(data, Tensor):
        if strict and data._data.dtype != dt.np:
            raise TypeError(f"expected {_options(dt.np.name)} (got "
                            f"{_options(data._data.dtype.name)})")
        return indexing.getitem(data, ...)  # an alias (AliasBackward0 when it needs a grad)
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    if isinstance(data, np.ndarray):
        if data.dtype == dt.np:
            return creation.from_numpy(data)
        return creation.tensor(data, dtype=dt)
    if not isinstance(data, (list, tuple, range, _abc.Sequence)):
        kind = type(data)
        name = kind.__name__ if kind.__module__ == "builtins" else \
            f"{kind.__module__}.{kind.__name__}"
        raise TypeError(f"new(): data must be a sequence (got {name})")
    return creation.tensor(list(data) if isinstance(data, range) else data, dtype=dt)


def tensor_new(cls, args, kwargs) -> Tensor:
    """`ember.Tensor(...)`: the legacy constructor with the default dtype; an instance of a
    subclass that defines no `__new__` of its own wraps the same array."""
    t = legacy_new(_dtype.get_default_dtype(), args, dict(kwargs), strict=False)
    if cls is Tensor:
        return t
    sub = object.__new__(cls)
    sub._set_from(t._data, t._rg)
    return sub


def new(self, *args, **kwargs) -> Tensor:
    """`t.new(...)`: the legacy constructor with `t`'s dtype (`new_tensor`/`new_empty` today)."""
    return legacy_new(self.dtype, args, dict(kwargs), strict=True)


class _LegacyTensorType(type):
    """The metaclass that makes `FloatTensor(...)` construct and `isinstance` check the dtype."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj._data.dtype == cls.dtype.np

    def __repr__(cls) -> str:
        return f"<class 'ember.{cls.__name__}'>"

    def __call__(cls, *args, **kwargs):
        return legacy_new(cls.dtype, args, kwargs, strict=True)


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

_LEGACY = {c.__name__: c for c in (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor,
                                   ShortTensor, CharTensor, ByteTensor, BoolTensor)}


def typename(obj) -> str:
    """torch.typename: 'torch.FloatTensor' for a float32 tensor, else the object's type path."""
    if isinstance(obj, Tensor):
        return obj.type()
    kind = obj if isinstance(obj, type) else type(obj)
    module = kind.__module__ or ""
    qualname = kind.__qualname__
    if module in ("builtins", "__builtin__", ""):
        return qualname
    if module.split(".")[0] == "ember":  # ember plays torch's part, under torch's names
        import ember
        module = "torch" if getattr(ember, qualname, None) is kind else \
            "torch" + module[len("ember"):]
    return f"{module}.{qualname}"


def is_storage(obj) -> bool:
    """torch.is_storage: ember has no storage objects, so nothing is one."""
    return False


_DEFAULT_TYPE_WARNING = ("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please "
                         "use torch.set_default_dtype() and torch.set_default_device() as "
                         "alternatives.")


def set_default_tensor_type(t) -> None:
    """torch.set_default_tensor_type (deprecated): a floating legacy type (or its name) sets the
    default dtype; CUDA types name what ember lacks."""
    import warnings
    warnings.warn(_DEFAULT_TYPE_WARNING, UserWarning, stacklevel=2)
    if isinstance(t, str):
        name = t.replace("ember.", "torch.")
        if name.startswith("torch.cuda."):
            raise TypeError(f"type {t} not available. ember runs on the CPU only.")
        cls = _LEGACY.get(name[len("torch."):]) if name.startswith("torch.") else None
        if cls is None:
            raise TypeError(f"invalid type: '{t}'")
        t = cls
    if not isinstance(t, _LegacyTensorType):
        raise TypeError(f"invalid type: '{t!r}'")
    if not t.dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _dtype.set_default_dtype(t.dtype)


class _CudaLegacyType(type):
    """`torch.cuda.FloatTensor` & co.: no tensor is one, and making one names the missing GPU."""

    def __instancecheck__(cls, obj) -> bool:
        return False

    def __repr__(cls) -> str:
        return f"<class 'ember.cuda.{cls.__name__}'>"

    def __call__(cls, *args, **kwargs):
        raise RuntimeError(f"ember runs on the CPU only: torch.cuda.{cls.__name__} is not "
                           "available (ember.cuda.is_available() returns False)")


CUDA_TYPES = {name: _CudaLegacyType(name, (), {"__module__": "ember.cuda"}) for name in _LEGACY}


def type_method(method):
    """Tensor.type, refusing CUDA types with the reason (ember runs on the CPU only)."""
    def type(self, dtype=None, non_blocking=False, **kwargs):
        if isinstance(dtype, _CudaLegacyType) or (isinstance(dtype, str) and dtype.replace(
                "ember.", "torch.").startswith("torch.cuda.")):
            name = dtype.replace("ember.", "torch.") if isinstance(dtype, str) else \
                f"torch.cuda.{dtype.__name__}"
            raise RuntimeError(f"ember runs on the CPU only: {name} is not available "
                               "(ember.cuda.is_available() returns False)")
        return method(self, dtype, non_blocking, **kwargs)
    type.__doc__ = method.__doc__
    return type
