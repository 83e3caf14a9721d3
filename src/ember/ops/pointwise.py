"""Pointwise ops of three operands that hand-written optimizers use: addcmul, addcdiv, lerp.

`exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)`, `p.addcdiv_(m, denom,
value=-lr)` and `ema.lerp_(p, 1 - decay)` are the lines of every Adam or EMA written by hand.
Operands broadcast and promote as torch's (the engine sums gradients back to each shape).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._tensor import Tensor
from . import inplace
from .base import Op
from .util import result_dtype

__all__ = ["addcmul", "addcdiv", "lerp", "addcmul_", "addcdiv_", "lerp_"]


def _arrays(*ts):
    dt = result_dtype(*ts).np
    return [t._data.astype(dt, copy=False) for t in ts]


def _check_broadcast(*arrays):
    try:
        return np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise RuntimeError("The size of tensors must match: shapes " +
                           ", ".join(str(list(a.shape)) for a in arrays) +
                           " cannot be broadcast together") from None


class AddcmulBackward0(Op):
    """out = a + value * t1 * t2;  da = g, dt1 = g * value * t2, dt2 = g * value * t1"""

    @staticmethod
    def forward(ctx, a, t1, t2, value):
        x, y, z = _arrays(a, t1, t2)
        _check_broadcast(x, y, z)
        nig = ctx.needs_input_grad
        ctx.save_for_backward(t1 if nig[2] else None, t2 if nig[1] else None)
        ctx.value = value
        return x + y * z * x.dtype.type(value) if value != 1 else x + y * z

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        v = ctx.value
        return (g, g * t2 * v if t2 is not None else None,
                g * t1 * v if t1 is not None else None, None)


class AddcdivBackward0(Op):
    """out = a + value * t1 / t2;  da = g, dt1 = g * value / t2, dt2 = -g * value * t1 / t2^2"""

    @staticmethod
    def forward(ctx, a, t1, t2, value):
        x, y, z = _arrays(a, t1, t2)
        _check_broadcast(x, y, z)
        ctx.save_for_backward(t1, t2)
        ctx.value = value
        return x + (y / z) * x.dtype.type(value) if value != 1 else x + y / z

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        v = ctx.value
        nig = ctx.needs_input_grad
        g1 = g * v / t2 if nig[1] else None
        g2 = -g * v * t1 / (t2 * t2) if nig[2] else None
        return g, g1, g2, None


class LerpBackward0(Op):
    """out = a + w * (b - a) (w a number);  da = g * (1 - w), db = g * w"""

    @staticmethod
    def forward(ctx, a, b, w):
        x, y = _arrays(a, b)
        _check_broadcast(x, y)
        ctx.w = w
        w = x.dtype.type(w)
        # torch's two branches: from the nearer end, so lerp(a, b, 1) is exactly b
        return np.where(abs(w) < 0.5, x + w * (y - x), y - (y - x) * (1 - w))

    @staticmethod
    def backward(ctx, g):
        return g * (1 - ctx.w), g * ctx.w, None


class LerpBackward1(Op):
    """out = a + w * (b - a) (w a tensor);  da = g * (1 - w), db = g * w, dw = g * (b - a)"""

    @staticmethod
    def forward(ctx, a, b, w):
        x, y, z = _arrays(a, b, w)
        _check_broadcast(x, y, z)
        ctx.save_for_backward(a, b, w)
        return np.where(np.abs(z) < 0.5, x + z * (y - x), y - (y - x) * (1 - z))

    @staticmethod
    def backward(ctx, g):
        a, b, w = ctx.saved_tensors
        nig = ctx.needs_input_grad
        return (g * (1 - w) if nig[0] else None, g * w if nig[1] else None,
                g * (b - a) if nig[2] else None)


def _tensor(x, name: str, arg: str, pos: int) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def _value(value):
    """The number `value` (cast to the result's dtype in forward: 0.5 is 0 for int tensors)."""
    return value.item() if isinstance(value, Tensor) else value


def _positional_value(name, tensor1, tensor2, rest, value):
    """torch's deprecated `addcmul(input, value, tensor1, tensor2)` overload."""
    if not rest:
        return tensor1, tensor2, value
    if len(rest) == 1 and isinstance(tensor1, numbers.Number) and isinstance(tensor2, Tensor):
        warnings.warn(f"This overload of {name} is deprecated:\n\t{name}(Tensor input, Number "
                      f"value, Tensor tensor1, Tensor tensor2)\nConsider using one of the "
                      f"following signatures instead:\n\t{name}(Tensor input, Tensor tensor1, "
                      f"Tensor tensor2, *, Number value = 1)", UserWarning, stacklevel=3)
        return tensor2, rest[0], tensor1
    raise TypeError(f"{name}() takes 3 positional arguments but {3 + len(rest)} were given")


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *rest, value=1) -> Tensor:
    """input + value * tensor1 * tensor2 (broadcast)."""
    tensor1, tensor2, value = _positional_value("addcmul", tensor1, tensor2, rest, value)
    ts = (_tensor(input, "addcmul", "input", 1), _tensor(tensor1, "addcmul", "tensor1", 2),
          _tensor(tensor2, "addcmul", "tensor2", 3))
    return AddcmulBackward0.apply(*ts, _value(value))


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *rest, value=1) -> Tensor:
    """input + value * tensor1 / tensor2 (broadcast; true division)."""
    tensor1, tensor2, value = _positional_value("addcdiv", tensor1, tensor2, rest, value)
    ts = (_tensor(input, "addcdiv", "input", 1), _tensor(tensor1, "addcdiv", "tensor1", 2),
          _tensor(tensor2, "addcdiv", "tensor2", 3))
    if tensor1._data.dtype.kind in "iub" and tensor2._data.dtype.kind in "iub":
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a "
                           "future release addcdiv will perform a true division of tensor1 and "
                           "tensor2. The historic addcdiv behavior can be implemented as "
                           "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) "
                           "for integer inputs and as (input + value * tensor1 / tensor2) for "
                           "float inputs. The future addcdiv behavior is just the latter "
                           "implementation: (input + value * tensor1 / tensor2), for all "
                           "dtypes.")
    return AddcdivBackward0.apply(*ts, _value(value))


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """input + weight * (end - input); weight a number or a tensor (broadcast)."""
    _tensor(input, "lerp", "input", 1)
    _tensor(end, "lerp", "end", 2)
    for t in (end, weight):
        if isinstance(t, Tensor) and t._data.dtype != input._data.dtype:
            what = "end" if t is end else "weight"
            raise RuntimeError(f"expected dtype {input.dtype} for `{what}` but got dtype "
                               f"{t.dtype}")
    if input._data.dtype.kind not in "fc":
        raise NotImplementedError(f"\"lerp_kernel_scalar\" not implemented for "
                           f"'{_TYPE.get(input._data.dtype.name, input._data.dtype.name)}'")
    if isinstance(weight, Tensor):
        return LerpBackward1.apply(input, end, weight)
    return LerpBackward0.apply(input, end, float(weight))


_TYPE = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
         "bool": "Bool"}


def _in_place(fn):
    """The in-place method of `fn(self, *others, ...)`: self keeps its shape and dtype."""
    def method(self, *args, **kwargs):
        return inplace.apply_inplace(self, lambda s, *a: fn(s, *a, **kwargs), *args)
    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    return method


addcmul_ = _in_place(addcmul)
addcdiv_ = _in_place(addcdiv)
lerp_ = _in_place(lerp)
