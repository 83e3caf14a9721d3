"""Shrinkage activations and the randomized leaky ReLU: softshrink, hardshrink, rrelu."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .base import Op

_new = Tensor._new


class SoftshrinkBackward0(Op):
    """out = x - l if x > l, x + l if x < -l, else 0;  dx = g where |x| > l."""

    @staticmethod
    def forward(ctx, x, lambd):
        a = x._data
        ctx.save_for_backward(x)
        ctx.lambd = lambd
        l = a.dtype.type(lambd)
        return np.where(a > l, a - l, np.where(a < -l, a + l, a.dtype.type(0)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        a = x._data
        keep = np.abs(a) > a.dtype.type(ctx.lambd)
        return g * _new(keep.astype(a.dtype)), None


class HardshrinkBackward0(Op):
    """out = x where |x| > l, else 0;  dx = g where |x| > l."""

    @staticmethod
    def forward(ctx, x, lambd):
        a = x._data
        ctx.save_for_backward(x)
        ctx.lambd = lambd
        return np.where(np.abs(a) > a.dtype.type(lambd), a, a.dtype.type(0))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        a = x._data
        keep = np.abs(a) > a.dtype.type(ctx.lambd)
        return g * _new(keep.astype(a.dtype)), None


class RreluWithNoiseBackward0(Op):
    """out = x * noise (noise 1 where x > 0, a slope elsewhere);  dx = g * noise."""

    @staticmethod
    def forward(ctx, x, noise):
        ctx.noise = noise
        return x._data * noise

    @staticmethod
    def backward(ctx, g):
        return g * _new(ctx.noise), None


def _check_lambd(input, lambd: float) -> None:
    if lambd < 0:
        names = {"float32": "Float", "float64": "Double"}
        dt = names.get(input._data.dtype.name, input._data.dtype.name)
        raise RuntimeError(f"lambda must be in range [0, 3.40282e+38] for input dtype {dt}, but "
                           f"found {lambd}")


def softshrink(input, lambd: float = 0.5):
    """x - lambd, x + lambd, or 0 (inside [-lambd, lambd])."""
    _check_lambd(input, lambd)
    return SoftshrinkBackward0.apply(input, float(lambd))


def hardshrink(input, lambd: float = 0.5):
    """x outside [-lambd, lambd], else 0."""
    return HardshrinkBackward0.apply(input, float(lambd))


def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False):
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element in training
    (one draw per non-positive element, in order, as torch's generator makes them) and is
    (lower + upper) / 2 in evaluation."""
    from ..ops import creation
    from .. import _dtype
    a = input._data
    if training:
        neg = a <= 0
        draws = creation.empty(int(neg.sum()), dtype=_dtype.float64).uniform_(lower, upper)
        noise = np.ones(a.shape, a.dtype)
        noise[neg] = draws._data.astype(a.dtype)
    else:
        slope = a.dtype.type((lower + upper) / 2)
        noise = np.where(a > 0, a.dtype.type(1), slope).astype(a.dtype)
    if inplace:
        from .inplace import apply_inplace
        return apply_inplace(input, lambda x: RreluWithNoiseBackward0.apply(x, noise))
    return RreluWithNoiseBackward0.apply(input, noise)


def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False):
    return rrelu(input, lower, upper, training, True)
