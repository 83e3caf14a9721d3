"""Tensor methods of the math API (issue 12: special functions, the wider elementwise/reduction/
construction set, linear algebra aliases), bound in one place beside `_tensor_methods.py`."""
from __future__ import annotations

from ._tensor import Tensor
from .ops import inplace
from .ops import linalg_aliases, matrix_construct, special, trig

# in-place forms torch has of the methods below
_INPLACE = ("tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "arcsin",
            "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "log10", "deg2rad", "rad2deg",
            "frac", "atan2", "arctan2", "hypot", "lerp", "addcmul", "addcdiv", "tril", "triu")


def bind(tensor_cls=Tensor) -> None:
    for mod in (special, trig, matrix_construct, linalg_aliases):
        for name, fn in mod.TENSOR_METHODS.items():
            setattr(tensor_cls, name, fn)
    for name in special.INPLACE_METHODS + _INPLACE:
        setattr(tensor_cls, name + "_", inplace.inplace_plain(getattr(tensor_cls, name)))


bind()
