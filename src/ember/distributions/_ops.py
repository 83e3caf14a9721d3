"""Private ops and draws of the distributions: torch's cauchy_ draw and the regularised
incomplete gamma function (Gamma.cdf)."""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..ops.base import Op
from ..random import gen
from ._sampling import _lg, gammainc

_new = Tensor._new


def cauchy_draw(shape, np_dtype, generator=None) -> Tensor:
    """Standard Cauchy draws as torch's cauchy_(): tan(pi (u - 0.5)) with u a float64 uniform
    from one 64-bit word, evaluated by the C library in float64, then rounded to the dtype."""
    g = gen(generator)
    n = math.prod(shape)
    u = g._u53(n)
    out = np.array([math.tan(math.pi * (x - 0.5)) for x in u.tolist()], np.float64)
    return _new(out.reshape(tuple(shape)).astype(np_dtype))


class IgammaBackward0(Op):
    """out = P(a, x) (regularised lower incomplete gamma);  dx = g x^(a-1) e^-x / Gamma(a);
    no derivative in a (as torch)."""

    @staticmethod
    def forward(ctx, a, x):
        ctx.save_for_backward(a, x)
        dt = np.result_type(a._data, x._data)
        return gammainc(a._data, x._data).astype(dt)

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'igamma: input' is not implemented.")
        av, xv = np.broadcast_arrays(a._data.astype(np.float64), x._data.astype(np.float64))
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.exp((av - 1) * np.log(xv) - xv - _lg(av))
        return None, g * _new(d.astype(g._data.dtype))


def igamma(a, x):
    return IgammaBackward0.apply(a, x)
