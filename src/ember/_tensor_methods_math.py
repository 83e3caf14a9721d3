"""Tensor methods of the math API (issue 12: special functions, the wider elementwise/reduction/
construction set, linear algebra aliases), bound in one place beside `_tensor_methods.py`."""
from __future__ import annotations


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


# is_shared()/share_memory_(): the array really moves into shared memory (issue 12, mpx:
# _shared_memory.py), so torch.multiprocessing's Queue/Process/Hogwild see one copy
from ._shared_memory import is_shared as _is_shared, share_memory_ as _share_memory_  # noqa: E402

Tensor.share_memory_ = _share_memory_
Tensor.is_shared = _is_shared
