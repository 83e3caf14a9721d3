"""Tensor methods of the math API (issue 12: special functions, the wider elementwise/reduction/
construction set, linear algebra aliases), bound in one place beside `_tensor_methods.py`."""
from __future__ import annotations

import weakref

from ._tensor import Tensor
from .ops import inplace
from .ops import (cumulative, linalg_aliases, matrix_construct, products, shape_more, special,
                  stats, trig)

# in-place forms torch has of the methods below
_INPLACE = ("tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "arcsin",
            "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "log10", "deg2rad", "rad2deg",
            "frac", "atan2", "arctan2", "hypot", "lerp", "addcmul", "addcdiv", "tril", "triu",
            "addmv", "addr", "baddbmm", "addbmm", "nan_to_num", "heaviside")


def bind(tensor_cls=Tensor) -> None:
    for mod in (special, trig, matrix_construct, linalg_aliases, products, cumulative, stats,
                shape_more):
        for name, fn in mod.TENSOR_METHODS.items():
            setattr(tensor_cls, name, fn)
    for name in special.INPLACE_METHODS + _INPLACE:
        setattr(tensor_cls, name + "_", inplace.inplace_plain(getattr(tensor_cls, name)))


bind()


# is_shared()/share_memory_(): the flag only (CPU tensors need no move); torch.multiprocessing
# gives them real shared memory
_SHARED = {}  # id -> weakref (tensors compare elementwise, so no WeakSet)


def _share_memory_(self):
    key = id(self)
    _SHARED[key] = weakref.ref(self, lambda _, k=key: _SHARED.pop(k, None))
    return self


def _shared(t) -> bool:
    r = _SHARED.get(id(t))
    return r is not None and r() is t


def _is_shared(self):
    return _shared(self) or (self._base is not None and _shared(self._base))


Tensor.share_memory_ = _share_memory_
Tensor.is_shared = _is_shared
