"""Anomaly detection (torch.autograd.detect_anomaly / set_detect_anomaly): while it is on, the
backward pass checks every node's gradients and raises, naming the node, at the first NaN
("Function 'LogBackward0' returned nan values in its 0th output."). torch also keeps each
forward call's traceback to print with the error; ember does not record tracebacks."""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]


class _State:
    enabled = False
    check_nan = True


state = _State()


def is_anomaly_enabled() -> bool:
    return state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return state.check_nan


def check(node, outs) -> None:
    """Raise torch's error if one of a node's gradients holds a NaN (called by the engine)."""
    if not state.check_nan:
        return
    for i, g in enumerate(outs):
        if g is not None:
            a = g._data
            if a.dtype.kind in "fc" and np.isnan(a).any():
                raise RuntimeError(f"Function '{type(node).__name__}' returned nan values in its "
                                   f"{i}th output.")


class set_detect_anomaly:
    """Turn anomaly detection on or off: as a call, or as a context manager restoring the
    previous setting on exit."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev, self.prev_check = state.enabled, state.check_nan
        state.enabled, state.check_nan = bool(mode), bool(check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *args) -> None:
        state.enabled, state.check_nan = self.prev, self.prev_check


class detect_anomaly:
    """Context manager (and decorator) turning anomaly detection on inside it."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self) -> None:
        self.prev, self.prev_check = state.enabled, state.check_nan
        state.enabled, state.check_nan = True, self.check_nan

    def __exit__(self, *args) -> None:
        state.enabled, state.check_nan = self.prev, self.prev_check

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with self.__class__(self.check_nan):
                return fn(*a, **k)
        return wrapper
