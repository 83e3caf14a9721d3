"""Switches for gradient recording: no_grad, enable_grad, set_grad_enabled, inference_mode.

Each works as a context manager and as a decorator, like torch's. The flag lives in one small
object (`state.enabled`) that every op reads before deciding to record a node.
"""
from __future__ import annotations

import functools
import inspect

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _State:
    __slots__ = ("enabled", "inference")


state = _State()
state.enabled = True
state.inference = False


def is_grad_enabled() -> bool:
    return state.enabled


def is_inference_mode_enabled() -> bool:
    return state.inference


class _Mode:
    """Base of the grad-mode context managers; subclasses say what `_enter` sets."""

    def __call__(self, fn):
        if inspect.isclass(fn):
            raise TypeError(f"{type(self).__name__} cannot decorate a class")
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen_wrapper(*args, **kwargs):
                gen = fn(*args, **kwargs)
                try:
                    with self.clone():
                        request = gen.send(None)
                    while True:
                        try:
                            response = yield request
                        except GeneratorExit:
                            with self.clone():
                                gen.close()
                            raise
                        except BaseException as e:
                            with self.clone():
                                request = gen.throw(e)
                        else:
                            with self.clone():
                                request = gen.send(response)
                except StopIteration as e:
                    return e.value
            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)()

    def __enter__(self):
        self._prev = (state.enabled, state.inference)
        self._enter()
        return None

    def __exit__(self, *exc):
        state.enabled, state.inference = self._prev
        return False


class no_grad(_Mode):
    """Disable gradient recording inside the block (results have requires_grad=False)."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)  # bare @no_grad, as torch allows

    def _enter(self):
        state.enabled = False


class enable_grad(_Mode):
    """Enable gradient recording inside the block, e.g. within no_grad."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)

    def _enter(self):
        state.enabled = True


class set_grad_enabled(_Mode):
    """Set gradient recording on or off: at once when called, restored on leaving a `with`."""

    def __init__(self, mode: bool):
        self._prev = (state.enabled, state.inference)
        self.mode = bool(mode)
        state.enabled = self.mode

    def __call__(self, fn):
        state.enabled = self._prev[0]  # used as a decorator: do not keep the setting
        return super().__call__(fn)

    def clone(self):
        return set_grad_enabled(self.mode)

    def __enter__(self):
        state.enabled = self.mode
        return None

    def __exit__(self, *exc):
        state.enabled, state.inference = self._prev
        return False


class inference_mode(_Mode):
    """Like no_grad (ember has no separate inference tensors); inference_mode(False) is a no-op."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def clone(self):
        return inference_mode(self.mode)

    def _enter(self):
        if self.mode:
            state.enabled = False
            state.inference = True
