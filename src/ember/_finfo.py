"""torch.finfo / torch.iinfo: the numerical limits of ember's float and integer dtypes, with
torch's attribute names and repr."""
from __future__ import annotations

import numpy as np

from . import _dtype

__all__ = ["finfo", "iinfo"]


def _g(x) -> str:
    return f"{float(x):g}"


class finfo:
    """bits, eps, max, min, tiny (= smallest_normal), resolution and dtype of a float dtype
    (the default dtype when none is given)."""

    def __init__(self, type=None) -> None:
        d = _dtype._default.dtype if type is None else _dtype.to_dtype(type)
        if not d.is_floating_point:
            raise TypeError(f"torch.finfo() requires a floating point input type. Use "
                            f"torch.iinfo to handle 'torch.finfo'")
        if d is _dtype.bfloat16:
            import ml_dtypes
            f = ml_dtypes.finfo(ml_dtypes.bfloat16)
        else:
            f = np.finfo(d.np)
        self.bits = int(f.bits)
        self.eps = float(f.eps)
        self.max = float(f.max)
        self.min = float(f.min)
        self.tiny = self.smallest_normal = float(f.smallest_normal)
        self.resolution = float(10.0 ** -int(f.precision))
        self.dtype = str(d).replace("ember.", "")

    def __eq__(self, other) -> bool:
        return isinstance(other, finfo) and self.dtype == other.dtype

    def __hash__(self) -> int:
        return hash(("finfo", self.dtype))

    def __repr__(self) -> str:
        return (f"finfo(resolution={_g(self.resolution)}, min={_g(self.min)}, "
                f"max={_g(self.max)}, eps={_g(self.eps)}, "
                f"smallest_normal={_g(self.smallest_normal)}, tiny={_g(self.tiny)}, "
                f"dtype={self.dtype})")


class iinfo:
    """bits, max, min and dtype of an integer dtype."""

    def __init__(self, type) -> None:
        d = _dtype.to_dtype(type)
        if d is _dtype.bool_:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if d.is_floating_point:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        i = np.iinfo(d.np)
        self.bits = int(i.bits)
        self.max = int(i.max)
        self.min = int(i.min)
        self.dtype = str(d).replace("ember.", "")

    def __eq__(self, other) -> bool:
        return isinstance(other, iinfo) and self.dtype == other.dtype

    def __hash__(self) -> int:
        return hash(("iinfo", self.dtype))

    def __repr__(self) -> str:
        return f"iinfo(min={_g(self.min)}, max={_g(self.max)}, dtype={self.dtype})"
