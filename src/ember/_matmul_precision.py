"""torch.set_float32_matmul_precision / get_float32_matmul_precision.

ember's float32 products always run in full float32 ("highest"); the setting is kept and
reported back as torch does; an invalid value warns and changes nothing, as in torch."""
from __future__ import annotations

import warnings

_precision = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      f"setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _precision[0] = precision


def get_float32_matmul_precision() -> str:
    return _precision[0]
