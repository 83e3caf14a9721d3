"""torch-named dtypes over NumPy dtypes, and torch's type-promotion rules.

NumPy promotes differently from PyTorch (int32 + float32 -> float64 in NumPy, float32 in torch;
int / int -> float64 in NumPy, the default float dtype in torch), so every op that mixes dtypes
asks `result_type` here and casts before calling NumPy.
"""
from __future__ import annotations

import numpy as np

__all__ = ["dtype", "float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8",
           "bool_", "complex64", "complex128", "get_default_dtype", "set_default_dtype", "promote_types", "result_type"]


class dtype:
    """A torch-style dtype: prints as ``ember.float32``; `np` is the NumPy dtype it stands for."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_cat")

    def __init__(self, name: str, np_dtype, cat: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = cat == 2
        self.is_signed = name not in ("uint8", "bool")
        self.itemsize = self.np.itemsize
        self._cat = cat  # 0 bool, 1 integer, 2 floating: the order of torch's categories

    @property
    def is_complex(self) -> bool:
        return self._cat == 3

    def to_real(self) -> "dtype":
        return _COMPLEX_TO_REAL.get(self, self)

    def to_complex(self) -> "dtype":
        if self._cat == 3:
            return self
        c = _REAL_TO_COMPLEX.get(self)
        if c is None:
            raise RuntimeError(f"to_complex is only supported for floating point dtypes, ember "
                               f"has no complex counterpart of {self!r}")
        return c

    def __repr__(self) -> str:
        return "ember." + self.name

    def __reduce__(self):
        return (_by_name, (self.name,))


float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
bool_ = dtype("bool", np.bool_, 0)


class _LazyNumpyDtype(dtype):
    """bfloat16 (amp, issue 12): NumPy has none; the small ml_dtypes package registers one, but
    its C extension takes ~0.6 s to load, so it is imported on first use of ``.np``, not with
    ember. Until then no array can hold bfloat16, so checks may treat NumPy kind "V" (ml_dtypes'
    kind) as this dtype without loading it."""

    __slots__ = ("_np",)

    def __init__(self, name: str, itemsize: int):
        self.name = name
        self._np = None
        self.is_floating_point = True
        self.is_signed = True
        self.itemsize = itemsize
        self._cat = 2

    @property
    def np(self):
        if self._np is None:
            import ml_dtypes
            self._np = np.dtype(ml_dtypes.bfloat16)
            _FROM_NP[self._np] = self
        return self._np


bfloat16 = _LazyNumpyDtype("bfloat16", 2)

# complex (issue 12, onnxseq: linalg.eig): category 3, above the floating ones as in torch
complex64 = dtype("complex64", np.complex64, 3)
complex128 = dtype("complex128", np.complex128, 3)
cfloat, cdouble = complex64, complex128
_COMPLEX_TO_REAL = {complex64: float32, complex128: float64}
_REAL_TO_COMPLEX = {float32: complex64, float64: complex128}

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64

_ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool_, bfloat16, complex64,
        complex128)
_FROM_NP = {d.np: d for d in _ALL if d is not bfloat16}  # bfloat16 adds itself when loaded
_BY_NAME = {d.name: d for d in _ALL}


def is_float_np(np_dtype) -> bool:
    """True for the NumPy dtypes of ember's floating dtypes (bfloat16's kind is "V", not "f";
    ember makes no other "V" arrays)."""
    k = np_dtype.kind
    return k == "f" or k == "V"


def is_bf16_np(np_dtype) -> bool:
    """True for ml_dtypes' bfloat16 without importing ml_dtypes when nothing has used it yet."""
    return np_dtype.kind == "V" and bfloat16._np is not None and np_dtype == bfloat16._np


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The ember dtype of a NumPy dtype; TypeError for the ones torch has no counterpart for."""
    d = _FROM_NP.get(np.dtype(np_dtype))
    if d is None and np.dtype(np_dtype).name == "bfloat16":
        d = _FROM_NP.get(bfloat16.np)  # an ml_dtypes array from outside before ember loaded it
    if d is None:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype).name}. The only supported "
            "types are: float64, float32, float16, complex64, complex128, int64, int32, int16, "
            "int8, uint8, and bool.")
    return d


class _Default:
    __slots__ = ("dtype",)


_default = _Default()
_default.dtype = float32


def get_default_dtype() -> dtype:
    return _default.dtype


def set_default_dtype(d: dtype) -> None:
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default.dtype = d


def to_dtype(d) -> dtype:
    """Accept an ember dtype, a NumPy dtype, or a Python type (float, int, bool) like torch does
    (as a dtype argument, `float` means float64 whatever the default dtype)."""
    if isinstance(d, dtype):
        return d
    if d is builtins_float:
        return float64
    if d is builtins_int:
        return int64
    if d is builtins_bool:
        return bool_
    return from_numpy_dtype(d)


import builtins as _b  # noqa: E402  (kept apart: the module shadows float/int/bool names)

builtins_float, builtins_int, builtins_bool = _b.float, _b.int, _b.bool


def promote_types(a: dtype, b: dtype) -> dtype:
    """torch.promote_types: bool < integers < floats < complex; within a category NumPy's rules
    agree, and a float meeting a complex keeps the wider precision (complex64, float64 ->
    complex128)."""
    if a is b:
        return a
    if a._cat != b._cat:
        hi, lo = (a, b) if a._cat > b._cat else (b, a)
        if hi._cat == 3 and lo._cat == 2 and lo is not bfloat16:
            return _FROM_NP[np.promote_types(hi.np, lo.np)]
        return hi
    return _FROM_NP[np.promote_types(a.np, b.np)]


def default_complex() -> dtype:
    """The complex dtype of the default float (complex64 for float32), as torch's Python
    complex numbers get."""
    return _REAL_TO_COMPLEX.get(_default.dtype, complex64)


def scalar_dtype(x) -> dtype:
    """The dtype torch gives a wrapped Python number."""
    if isinstance(x, _b.bool):
        return bool_
    if isinstance(x, _b.int):
        return int64
    if isinstance(x, _b.complex):
        return default_complex()
    return _default.dtype


def result_type(dim_dtypes, zero_dim_dtypes, scalar_dtypes) -> dtype:
    """torch.result_type: dimensioned tensors outrank zero-dim tensors, which outrank Python
    numbers, unless the lower-ranked operand is of a higher category (int vs float)."""
    def fold(ds):
        r = None
        for d in ds:
            r = d if r is None else promote_types(r, d)
        return r

    def combine(higher, lower):
        if higher is None:
            return lower
        if lower is None or higher._cat >= lower._cat and higher._cat >= 2:
            return higher
        if lower._cat == 3 and higher._cat == 2:  # float tensor, complex number: its precision
            return higher.to_complex() if higher in _REAL_TO_COMPLEX else lower
        if higher is bool_ or lower._cat >= 2:
            return promote_types(higher, lower)
        return higher

    return combine(fold(dim_dtypes), combine(fold(zero_dim_dtypes), fold(scalar_dtypes)))
