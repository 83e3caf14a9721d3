"""torch's deprecated spellings that old scripts still use, with torch's warnings.

`torch.range` (end inclusive); the positional-alpha overloads `add(input, alpha, other)`,
`t.add_(alpha, other)`, `t.sub_(alpha, other)` of pre-1.5 optimizers (`p.data.add_(-lr, d_p)`);
`addcmul(input, value, t1, t2)` and `addcdiv(...)` likewise; `t.volatile` (always False).
"""
from __future__ import annotations

import builtins
import math
import numbers
import warnings

from . import _dtype
from ._tensor import Tensor

__all__ = ["range", "bind"]

_RANGE = ("torch.range is deprecated and will be removed in a future release because its "
          "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
          "which produces values in [start, end).")


def range(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """torch.range: start, start + step, ... up to and including end; default float dtype."""
    from .ops import creation
    if end is None:
        raise TypeError('range() missing 1 required positional arguments: "end"')
    warnings.warn(_RANGE, UserWarning, stacklevel=2)
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    n = builtins.int(math.floor((end - start) / step)) + 1
    dt = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    return creation.arange(n, dtype=_dtype.float64, device=device).mul_(step).add_(start) \
        .to(dt).requires_grad_(requires_grad)


def _overload_warning(name: str, method: bool) -> str:
    if method:
        old = f"{name}(Number alpha, Tensor other)"
        new = f"{name}(Tensor other, *, Number alpha = 1)"
    else:
        old = f"{name}(Tensor input, Number alpha, Tensor other, *, Tensor out = None)"
        new = f"{name}(Tensor input, Tensor other, *, Number alpha = 1, Tensor out = None)"
    return (f"This overload of {name} is deprecated:\n\t{old}\nConsider using one of the "
            f"following signatures instead:\n\t{new}")


def _positional_alpha(fn, name: str, method: bool):
    """`add(x, other)` as before; `add(x, alpha, other)` (a number, then a tensor) as torch's
    deprecated overload, `add(x, other, alpha=alpha)`."""
    def f(self, other, *args, **kwargs):
        if args:
            if len(args) == 1 and isinstance(other, numbers.Number) and \
                    isinstance(args[0], Tensor) and "alpha" not in kwargs:
                warnings.warn(_overload_warning(name, method), UserWarning, stacklevel=2)
                return fn(self, args[0], alpha=other, **kwargs)
            return fn(self, other, *args, **kwargs)  # (the usual TypeError)
        return fn(self, other, **kwargs)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = fn.__doc__
    return f


def _positional_value(fn, name: str, method: bool):
    """`addcmul(x, t1, t2)` as before; `addcmul(x, value, t1, t2)` (a number first) as torch's
    deprecated overload, `addcmul(x, t1, t2, value=value)`."""
    def f(self, tensor1, tensor2, *args, **kwargs):
        if len(args) == 1 and isinstance(tensor1, numbers.Number) and \
                isinstance(tensor2, Tensor) and "value" not in kwargs:
            first = "" if method else "Tensor input, "
            warnings.warn(f"This overload of {name} is deprecated:\n\t{name}({first}Number "
                          f"value, Tensor tensor1, Tensor tensor2)\nConsider using one of the "
                          f"following signatures instead:\n\t{name}({first}Tensor tensor1, "
                          f"Tensor tensor2, *, Number value = 1)", UserWarning, stacklevel=2)
            return fn(self, tensor2, args[0], value=tensor1, **kwargs)
        return fn(self, tensor1, tensor2, *args, **kwargs)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = fn.__doc__
    return f


def _volatile(self) -> bool:
    warnings.warn("volatile was removed (Variable.volatile is always False)", UserWarning,
                  stacklevel=2)
    return False


def bind(namespace: dict) -> None:
    """Install the deprecated overloads on Tensor and on `namespace` (ember's add/sub)."""
    for name in ("add", "add_", "sub", "sub_"):
        setattr(Tensor, name, _positional_alpha(getattr(Tensor, name), name, True))
    for name in ("add", "sub"):
        namespace[name] = _positional_alpha(namespace[name], name, False)
    for name in ("addcmul", "addcmul_", "addcdiv", "addcdiv_"):
        setattr(Tensor, name, _positional_value(getattr(Tensor, name), name, True))
    for name in ("addcmul", "addcdiv"):
        namespace[name] = _positional_value(namespace[name], name, False)
    Tensor.volatile = property(_volatile)
