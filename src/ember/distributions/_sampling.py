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


def _series_p(a, x):
    """P(a, x) by its power series (x < a + 1); entries leave the loop as they converge."""
    total = 1.0 / a
    term = total.copy()
    ap = a.copy()
    idx = np.arange(a.size)
    out = np.empty(a.size)
    xs = x
    for i in range(1, 100_000):
        ap += 1
        term *= xs / ap
        total += term
        if i % 8 == 0:
            done = np.abs(term) < np.abs(total) * 1e-17
            if done.any():
                out[idx[done]] = total[done]
                keep = ~done
                idx, total, term, ap, xs = idx[keep], total[keep], term[keep], ap[keep], xs[keep]
                if not idx.size:
                    break
    return out * np.exp(-x + a * np.log(x) - _lg(a))


def _cf_q(a, x):
    """Q(a, x) = 1 - P by Lentz's continued fraction (x >= a + 1); entries leave the loop as
    they converge."""
    tiny = 1e-300
    b = x + 1 - a
    c = np.full(a.shape, 1 / tiny)
    d = 1 / b
    h = d.copy()
    out = np.empty(a.size)
    idx = np.arange(a.size)
    aa = a
    for i in range(1, 100_000):
        an = -i * (i - aa)
        b = b + 2
        d = an * d + b
        d[np.abs(d) < tiny] = tiny
        c = b + an / c
        c[np.abs(c) < tiny] = tiny
        d = 1 / d
        delta = d * c
        h *= delta
        done = np.abs(delta - 1) < 4e-16
        if done.any():
            out[idx[done]] = h[done]
            keep = ~done
            idx, aa, b, c, d, h = idx[keep], aa[keep], b[keep], c[keep], d[keep], h[keep]
            if not idx.size:
                break
    return np.exp(-x + a * np.log(x) - _lg(a)) * out


def gammainc(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Regularised lower incomplete gamma P(a, x) in float64: the power series below a + 1,
    the continued fraction for 1 - P above."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    out = np.zeros(a.shape)
    pos = x > 0
    ser = pos & (x < a + 1)
    cf = pos & ~ser
    if ser.any():
        out[ser] = _series_p(a[ser], x[ser])
    if cf.any():
        out[cf] = 1 - _cf_q(a[cf], x[cf])
    out[np.isinf(x) & (x > 0)] = 1.0
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
