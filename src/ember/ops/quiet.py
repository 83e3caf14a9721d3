"""`quietly(fn, *args)`: call a NumPy function with floating-point warnings off.

torch returns inf/nan silently where NumPy warns (exp(1000), log(-1), 1/0), so ops that can
leave their domain run under NumPy's "ignore" error state. `np.errstate` costs ~2.4 µs a use,
more than a small op itself; on NumPy 2 the same state is one context-variable set and reset
(~0.6 µs), which is what np.errstate does inside. Other NumPy versions use np.errstate.
"""
from __future__ import annotations

import numpy as np

try:  # NumPy >= 2: the error state lives in a context variable holding an "extobj"
    from numpy._core._ufunc_config import _extobj_contextvar
    from numpy._core._multiarray_umath import _make_extobj

    _IGNORE = _make_extobj(all="ignore")  # (NumPy's buffer size as at import)
    _set = _extobj_contextvar.set
    _reset = _extobj_contextvar.reset

    def quietly(fn, *args):
        token = _set(_IGNORE)
        try:
            return fn(*args)
        finally:
            _reset(token)
except (ImportError, AttributeError, TypeError):  # pragma: no cover - NumPy 1.x
    def quietly(fn, *args):
        with np.errstate(all="ignore"):
            return fn(*args)
