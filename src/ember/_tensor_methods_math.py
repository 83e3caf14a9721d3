"""Tensor methods of the math API (issue 12: special functions, the wider elementwise/reduction/
construction set, linear algebra aliases), bound in one place beside `_tensor_methods.py`."""
from __future__ import annotations

from ._tensor import Tensor
from .ops import inplace
from .ops import special


def bind(tensor_cls=Tensor) -> None:
    for name, fn in special.TENSOR_METHODS.items():
        setattr(tensor_cls, name, fn)
    for name in special.INPLACE_METHODS:
        setattr(tensor_cls, name + "_", inplace.inplace_plain(getattr(tensor_cls, name)))


bind()
