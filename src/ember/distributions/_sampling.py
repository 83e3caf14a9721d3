"""Samplers for the distributions whose draws torch makes with its own C++ samplers
(gamma, Poisson, binomial): ember does not reproduce those streams, so it draws with NumPy's
samplers (Marsaglia-Tsang gamma, PTRS Poisson, BTPE binomial) seeded from ember's generator;
`manual_seed` still makes them repeatable.

Gamma draws are reparameterised by implicit differentiation (Figurnov et al. 2018): with
F(x; a) the Gamma(a, 1) cdf, dx/da = -(dF/da) / f(x; a); dF/da is a central difference of the
regularised incomplete gamma function evaluated in float64.
"""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..ops.base import Op
from ..random import gen

_new = Tensor._new
_lgamma = np.frompyfunc(math.lgamma, 1, 1)


def _lg(x):
    return _lgamma(x).astype(np.float64)


def _numpy_rng(generator=None) -> np.random.Generator:
    """A NumPy generator seeded with one 64-bit word of ember's (default) generator."""
    return np.random.Generator(np.random.PCG64(int(gen(generator)._w64(1)[0])))


def gammainc(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Regularised lower incomplete gamma P(a, x) (float64): the power series below a + 1,
    Lentz's continued fraction for Q = 1 - P above."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    out = np.zeros(a.shape)
    pos = x > 0
    ser = pos & (x < a + 1)
    cf = pos & ~ser
    if ser.any():
        aa, xx = a[ser], x[ser]
        term = 1.0 / aa
        total = term.copy()
        ap = aa.copy()
        for _ in range(5000):
            ap = ap + 1
            term = term * xx / ap
            total += term
            if (np.abs(term) < np.abs(total) * 1e-17).all():
                break
        out[ser] = total * np.exp(-xx + aa * np.log(xx) - _lg(aa))
    if cf.any():
        aa, xx = a[cf], x[cf]
        tiny = 1e-300
        b = xx + 1 - aa
        c = np.full(aa.shape, 1 / tiny)
        d = 1 / b
        h = d.copy()
        for i in range(1, 5000):
            an = -i * (i - aa)
            b = b + 2
            d = an * d + b
            d = np.where(np.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            d = 1 / d
            delta = d * c
            h = h * delta
            if (np.abs(delta - 1) < 1e-16).all():
                break
        out[cf] = 1 - np.exp(-xx + aa * np.log(xx) - _lg(aa)) * h
    return out


def _dgamma_sample_dalpha(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    """dx/da for x ~ Gamma(a, 1) held at a fixed cdf value (float64)."""
    x = np.asarray(x, np.float64)
    a = np.asarray(a, np.float64)
    h = 1e-5 * np.maximum(a, 1e-3)
    dF = (gammainc(a + h, x) - gammainc(a - h, x)) / (2 * h)
    log_pdf = (a - 1) * np.log(x) - x - _lg(a)
    return -dF / np.exp(log_pdf)


class StandardGammaBackward0(Op):
    """out ~ Gamma(alpha, 1);  dalpha = g * dout/dalpha (implicit reparameterisation)."""
    _save_output = True

    @staticmethod
    def forward(ctx, alpha):
        a = alpha._data
        tiny = np.finfo(a.dtype).tiny
        x = _numpy_rng().standard_gamma(a.astype(np.float64))
        ctx.alpha = a
        return np.maximum(x, tiny).astype(a.dtype)

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        d = _dgamma_sample_dalpha(out._data, ctx.alpha)
        return g * _new(d.astype(g._data.dtype))


def standard_gamma(alpha):
    return StandardGammaBackward0.apply(alpha)


def poisson(rate) -> Tensor:
    r = rate._data
    return _new(_numpy_rng().poisson(r.astype(np.float64)).astype(r.dtype))


def binomial(count, prob) -> Tensor:
    n, p = count._data, prob._data
    draws = _numpy_rng().binomial(np.rint(n).astype(np.int64), p.astype(np.float64))
    return _new(draws.astype(p.dtype))
