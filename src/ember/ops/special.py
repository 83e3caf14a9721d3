"""Special functions (torch.special and their torch./Tensor aliases): gamma family, error
functions, Bessel I0/I1, the normal distribution's cdf and quantile, xlogy, entr, sinc, logit.

NumPy has none of these, so each is evaluated here in float64 (whatever the input's float dtype)
and rounded to it: float32 results are then within an ulp of the true values. The methods are
the textbook ones:
- erf / erfc / erfcx: Chebyshev interpolants (fitted once, on first use, to the C library's
  erf/erfc through `math`) for |x| < 8, the asymptotic series of erfcx beyond; exp(-x^2) is
  taken as exp(-xh^2) exp(-(x-xh)(x+xh)) with a short xh so the square is exact.
- lgamma / digamma / polygamma: the recurrence up to x >= 10 then Stirling's (de Moivre's)
  series; reflection below 0; polygamma through the Hurwitz zeta by Euler-Maclaurin summation.
- i0 / i1 (and the scaled i0e / i1e): the power series up to |x| = 25, Hankel's asymptotic
  expansion beyond.
- ndtri: erfinv's estimate refined by Newton steps on log(ndtr) (exact in the lower tail).
Gradients are written with these same ops, so they are differentiable again.
"""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from .base import Op
from .elementwise import _GILES_CENTRAL, _GILES_TAIL, _horner, _unary
from .quiet import quietly
from .util import check_broadcast

_new = Tensor._new
_SQRT_PI = math.sqrt(math.pi)
_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _float_dtype(x: np.ndarray) -> np.dtype:
    if x.dtype.kind == "f":
        return x.dtype
    from .. import _dtype
    return _dtype._default.dtype.np


class _SINGLE:
    """Set while an evaluation's values came from float32/float16 (exact squares in float64,
    and fewer refinement steps needed); read by the kernels below."""
    flag = False


def _in64(fn):
    """Run `fn` on the float64 values of x; the result in x's float dtype (ints: the default)."""
    def f(x):
        dt = _float_dtype(x)
        _SINGLE.flag = x.dtype.itemsize <= 4 and x.dtype.kind == "f"
        try:
            with np.errstate(all="ignore"):  # (0-dim: a 1-element array, as the kernels
                x64 = np.asarray(x, np.float64)  # assign into their results in place)
                return np.asarray(fn(x64.reshape(-1) if x64.ndim == 0 else x64)).reshape(
                    x64.shape).astype(dt, copy=False)
        finally:
            _SINGLE.flag = False
    f.__name__ = fn.__name__
    return f


# ---- erf, erfc, erfcx -------------------------------------------------------------------------
_CHEB = {}  # (name) -> list of (lo, hi, coefficients), fitted on first use


def _erf_over_x_series(u: np.ndarray) -> np.ndarray:
    """erf(x)/x as a function of u = x^2 on [0, 1]: its alternating Maclaurin series."""
    term = np.ones_like(u)
    s = term.copy()
    for n in range(1, 30):
        term = term * -u / n
        s += term / (2 * n + 1)
    return s * (2 / _SQRT_PI)


def _erfcx_cf(x: np.ndarray) -> np.ndarray:
    """exp(x^2) erfc(x) for x >= 0.5 by Laplace's continued fraction
    1/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), summed from the far end."""
    k = np.zeros_like(x)
    for n in range(6000, 0, -1):
        k = (n / 2) / (x + k)
    return 1 / _SQRT_PI / (x + k)


def _cheb_pieces():
    """Chebyshev interpolants of erf(x)/x in x^2 on [0, 1] and of erfcx on [0.5, 8], fitted
    once to the series and the continued fraction (both exact to rounding there); the
    "...32" fits serve float32 inputs: cut where the dropped terms sum below 1e-10."""
    if not _CHEB:
        from numpy.polynomial import chebyshev as C
        _CHEB["erf"] = C.chebinterpolate(lambda t: _erf_over_x_series((t + 1) / 2), 18)
        _CHEB["erfcx"] = [(lo, hi, C.chebinterpolate(
            lambda t, lo=lo, hi=hi: _erfcx_cf(lo + (t + 1) * (hi - lo) / 2), deg))
            for lo, hi, deg in ((0.5, 1.0, 20), (1.0, 2.0, 24), (2.0, 4.0, 24), (4.0, 8.0, 22))]
        # float32 inputs: the cut series as ordinary polynomials (Horner: half the operations
        # of Clenshaw; their coefficients stay below 1, so nothing is lost at 1e-10)
        _CHEB["erf32"] = C.cheb2poly(_cut(_CHEB["erf"]))
        # ... and erfcx on all of [0.5, inf) at once: (x + 3) erfcx(x) is smooth in
        # u = (x - 3)/(x + 3) up to u = 1 (x = inf, where it is 1/sqrt(pi))
        pieces = _CHEB["erfcx"]

        def scaled(t):
            u = _U32[0] + (t + 1) * (1 - _U32[0]) / 2
            x = 3 * (1 + u) / np.maximum(1 - u, 1e-300)
            return np.where(u >= 1, 1 / _SQRT_PI, (x + 3) * _erfcx_pos_pieces(x, pieces, False))
        _CHEB["erfcx32u"] = C.cheb2poly(_cut(C.chebinterpolate(scaled, 24)))
    return _CHEB


_U32 = (-5 / 7,)  # u at x = 0.5


def _erfcx_pos_pieces(x, pieces, single):
    """erfcx for x >= 0.5 from the piecewise fits (x < 8) and the asymptotic series."""
    out = np.empty_like(x)
    for lo, hi, c in pieces:
        m = (x >= lo) & (x < hi)
        if m.any():
            out[m] = _series((2 * x[m] - (lo + hi)) / (hi - lo), c, single)
    m = x >= 8.0
    if m.any():  # 1/(x sqrt(pi)) sum_k (-1)^k (2k-1)!! / (2x^2)^k: 16 terms reach 1e-17 at x=8
        z = x[m]
        inv = 1.0 / (2 * z * z)
        term = np.ones_like(z)
        s = np.ones_like(z)
        for k in range(1, 17):
            term *= -(2 * k - 1) * inv
            s += term
        out[m] = s / (z * _SQRT_PI)
    return out


def _cut(c: np.ndarray) -> np.ndarray:
    tail = np.cumsum(np.abs(c[::-1]))[::-1]  # tail[k] = sum of |c_j|, j >= k
    keep = int(np.argmax(tail < 1e-10 * abs(c[0])))
    return c[:max(keep, 2)]


def _series(t: np.ndarray, c, single: bool) -> np.ndarray:
    """The fitted series at t: Horner on power coefficients (single) or Clenshaw."""
    if not single:
        return _chebval(t, c)
    p = np.full_like(t, c[-1])
    for ck in c[-2::-1]:
        p *= t
        p += ck
    return p


def _chebval(t: np.ndarray, c) -> np.ndarray:
    """sum_k c_k T_k(t) by Clenshaw's recurrence, in place (NumPy's chebval allocates three
    arrays per term)."""
    b1 = np.zeros_like(t)
    b2 = np.zeros_like(t)
    t2 = 2 * t
    tmp = np.empty_like(t)
    for ck in c[:0:-1]:  # b_k = c_k + 2 t b_{k+1} - b_{k+2}
        np.multiply(t2, b1, out=tmp)
        tmp -= b2
        tmp += ck
        b1, b2, tmp = tmp, b1, b2
    b1 *= t
    b1 -= b2
    b1 += c[0]
    return b1


def _erfcx_pos(x: np.ndarray) -> np.ndarray:
    """exp(x^2) erfc(x) for x >= 0.5 (float64)."""
    cheb = _cheb_pieces()
    if _SINGLE.flag:
        u = 1 - 6 / (x + 3)  # (x - 3)/(x + 3), 1 at x = inf
        t = (2 * u - (_U32[0] + 1)) / (1 - _U32[0])
        return _series(t, cheb["erfcx32u"], True) / (x + 3)
    return _erfcx_pos_pieces(x, cheb["erfcx"], False)


def _exp_neg_sq(x: np.ndarray) -> np.ndarray:
    """exp(-x^2) without the rounding error of x*x (it is large once x^2 is): x = xh + xl with
    a short xh, so xh*xh is exact. Values with float32's 24 bits square exactly as they are."""
    sq = x * x
    if _SINGLE.flag:
        return np.exp(-sq)
    xh = np.floor(x * 16) / 16
    xh[np.isinf(x)] = 0.0
    r = np.exp(-xh * xh)
    r *= np.exp(-(x - xh) * (x + xh))
    r[np.isinf(x)] = 0.0
    return r


def _erf64(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    a = np.abs(x)
    out = np.empty_like(x)
    m = a < 1.0
    if m.any():
        xm = x[m]
        single = _SINGLE.flag
        out[m] = xm * _series(2 * xm * xm - 1, _cheb_pieces()["erf32" if single else "erf"],
                              single)
    m = ~m & ~np.isnan(a)
    if m.any():
        am = a[m]
        out[m] = np.copysign(1.0 - _exp_neg_sq(am) * _erfcx_pos(am), x[m])
    out[np.isnan(x)] = np.nan
    return out


def _erfc64(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    out = np.empty_like(x)
    a = np.abs(x)
    mid = a < 0.5
    if mid.any():
        out[mid] = 1.0 - _erf64(x[mid])
    big = a >= 0.5
    if big.any():
        xb = x[big]
        ab = np.abs(xb)
        tail = _exp_neg_sq(ab) * _erfcx_pos(ab)
        out[big] = np.where(xb > 0, tail, 2.0 - tail)
    out[np.isnan(x)] = np.nan
    return out


def _erfcx64(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    out = np.empty_like(x)
    m = x >= 0.5
    out[m] = _erfcx_pos(x[m])
    lo = ~m & ~np.isnan(x)
    xl = x[lo]
    xh = np.floor(xl * 16) / 16
    # exp(x^2) overflows to inf below about -26.6, as erfcx does
    out[lo] = np.exp(xh * xh) * np.exp((xl - xh) * (xl + xh)) * _erfc64(xl)
    out[np.isnan(x)] = np.nan
    return out


# ---- gamma family -----------------------------------------------------------------------------
# Bernoulli numbers B_2 .. B_20 (for Stirling's series and Euler-Maclaurin summation)
_B2K = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
        43867 / 798, -174611 / 330)


# x (x+1) ... (x+9) = prod_c (u + c), u = x (x+9), c = k (9-k) for k = 0..4: five factors
_PAIRS = (0.0, 8.0, 14.0, 18.0, 20.0)


def _shift_up(x: np.ndarray, target: float):
    """z = x + n >= target and prod = x (x+1) ... (x+n-1), for x > 0. Below 1e30 every x is
    shifted by 10 (harmless above target, and free of per-element masks)."""
    if not x.size or x.min() >= target:
        return x, np.ones_like(x)
    if target <= 10.0 and x.max() < 1e30:
        u = x * (x + 9.0)
        prod = u.copy()
        for c in _PAIRS[1:]:
            prod *= u + c
        return x + 10.0, prod
    z = x.copy()
    prod = np.ones_like(x)
    for _ in range(int(np.ceil(target - z.min()))):
        m = z < target
        prod *= np.where(m, z, 1.0)
        z += m
    return z, prod


def _abs_sin_pi(x: np.ndarray) -> np.ndarray:
    """|sin(pi x)|, with x reduced exactly to [-1/2, 1/2] first (pi*x loses it)."""
    return np.abs(np.sin(np.pi * (x - np.round(x))))


def _lgamma_pos(x: np.ndarray) -> np.ndarray:
    z, prod = _shift_up(x, 10.0)
    inv = 1.0 / z
    inv2 = inv * inv
    s = np.zeros_like(z)
    for k in range(8, 0, -1):
        s = s * inv2 + _B2K[k - 1] / (2 * k * (2 * k - 1))
    return (z - 0.5) * np.log(z) - z + _LOG_SQRT_2PI + s * inv - np.log(prod)


def _lgamma64(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.size and x.min() > 0 and x.max() < np.inf:  # the usual case: no branches to mask
        out = _lgamma_pos(x)
        out[(x == 1.0) | (x == 2.0)] = 0.0
        return out
    out = np.empty_like(x)
    pos = x > 0
    out[pos] = _lgamma_pos(x[pos])
    neg = ~pos & ~np.isnan(x)
    xn = x[neg]
    # reflection: lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x); inf at 0 and the poles
    out[neg] = np.log(np.pi / _abs_sin_pi(xn)) - _lgamma_pos(1.0 - xn)
    out[neg & (x == np.floor(x))] = np.inf
    out[(x == 1.0) | (x == 2.0)] = 0.0
    out[np.isinf(x)] = np.inf
    out[np.isnan(x)] = np.nan
    return out


def _digamma_pos(x: np.ndarray) -> np.ndarray:
    if x.size and x.min() < 10.0 and x.max() < 1e30:
        # psi(x) = psi(x + 10) - sum_k 1/(x+k), the pairs k, 9-k summed as (2x+9)/(u + c)
        u = x * (x + 9.0)
        s = 1.0 / u
        for c in _PAIRS[1:]:
            s += 1.0 / (u + c)
        acc = -(2.0 * x + 9.0) * s
        z = x + 10.0
    else:
        z = x.copy()
        acc = np.zeros_like(x)
        for _ in range(int(np.ceil(10.0 - z.min())) if z.size and z.min() < 10.0 else 0):
            m = z < 10.0
            acc -= np.where(m, 1.0 / z, 0.0)
            z += m
    inv2 = 1.0 / (z * z)
    s = np.zeros_like(z)
    for k in range(8, 0, -1):
        s = s * inv2 + _B2K[k - 1] / (2 * k)
    return acc + np.log(z) - 0.5 / z - s * inv2


def _digamma64(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.size and x.min() > 0:  # the usual case (nan fails the test)
        return _digamma_pos(x)
    out = np.empty_like(x)
    pos = x > 0
    out[pos] = _digamma_pos(x[pos])
    neg = x < 0
    xn = x[neg]
    r = xn - np.round(xn)
    # reflection: psi(x) = psi(1 - x) - pi / tan(pi x); nan at the poles
    out[neg] = _digamma_pos(1.0 - xn) - np.pi / np.tan(np.pi * r)
    out[neg & (x == np.floor(x))] = np.nan
    zero = x == 0
    out[zero] = np.copysign(np.inf, -x[zero])  # torch: -inf at +0, +inf at -0
    out[np.isnan(x)] = np.nan
    return out


def _zeta64(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hurwitz zeta sum_k (q + k)^-s (s > 1), by direct summation until q + k >= 12 + s, then
    Euler-Maclaurin with 10 Bernoulli terms. As torch (Cephes): inf at s = 1 and at integer
    q <= 0, nan for s < 1 and for non-integer s with q < 0."""
    s, q = np.broadcast_arrays(np.asarray(s, np.float64), np.asarray(q, np.float64))
    s, q = s.ravel(), q.ravel()
    out = np.full(s.shape, np.nan)
    inf = (s == 1) | ((q <= 0) & (q == np.floor(q)) & (s > 1))
    ok = (s > 1) & ~inf & ~((q < 0) & (s != np.floor(s))) & ~np.isnan(q)
    out[inf] = np.inf
    ss, z = s[ok], q[ok].copy()
    acc = np.zeros_like(z)
    target = 12.0 + ss
    m = z < target
    while m.any():
        acc[m] += z[m] ** -ss[m]
        z[m] += 1.0
        m = z < target
    zs = z ** -ss
    tail = z * zs / (ss - 1.0) + 0.5 * zs
    fact = 1.0  # (2j)!
    rising = ss.copy()  # s (s+1) ... (s+2j-2)
    zpow = zs / z  # z^(-s-2j+1)
    for j in range(1, 11):
        fact *= (2 * j - 1) * (2 * j)
        tail += _B2K[j - 1] / fact * rising * zpow
        rising = rising * (ss + 2 * j - 1) * (ss + 2 * j)
        zpow = zpow / (z * z)
    out[ok] = acc + tail
    return out


def _polygamma64(n: int, x: np.ndarray) -> np.ndarray:
    if n == 0:
        return _digamma64(x)
    x = np.asarray(x, np.float64)
    sign = 1.0 if n % 2 else -1.0
    out = (sign * math.factorial(n)) * _zeta64(np.float64(n + 1), x).reshape(x.shape)
    if n == 1:  # trigamma below 0: reflection, psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x)
        neg = (x < 0) & (x != np.floor(x))
        xn = x[neg]
        out[neg] = (np.pi / _abs_sin_pi(xn)) ** 2 - _zeta64(np.float64(2.0), 1.0 - xn)
    return out


# ---- Bessel I0, I1 ----------------------------------------------------------------------------
def _bessel_i(nu: int, x: np.ndarray, scaled: bool) -> np.ndarray:
    """I_nu(x) (nu = 0, 1), times exp(-|x|) when `scaled`."""
    x = np.asarray(x, np.float64)
    a = np.abs(x)
    out = np.empty_like(a)
    small = a <= 25.0
    z = a[small]
    q = z * z / 4
    term = np.ones_like(z) if nu == 0 else z / 2
    s = term.copy()
    tol = 1e-9 if _SINGLE.flag else 1e-17
    for k in range(1, 60):
        term = term * q / (k * (k + nu))
        s += term
        if k % 8 == 0 and not (term > tol * s).any():  # all terms now below the precision
            break
    out[small] = s * np.exp(-z) if scaled else s
    big = ~small
    z = a[big]
    term = np.ones_like(z)
    s = term.copy()
    mu = 4.0 * nu * nu
    for k in range(1, 26):  # Hankel: e^x / sqrt(2 pi x) sum_k (-1)^k prod(mu - (2j-1)^2) / k!(8x)^k
        term = term * -(mu - (2 * k - 1) ** 2) / (k * 8.0 * z)
        s += term
    s /= np.sqrt(2 * np.pi * z)
    out[big] = s if scaled else s * np.exp(z)
    if nu == 1:
        out = np.copysign(out, x)
    out[np.isnan(x)] = np.nan
    return out


# ---- the normal distribution -------------------------------------------------------------------
def _ndtr64(x):
    return 0.5 * _erfc64(-np.asarray(x, np.float64) / _SQRT2)


def _log_ndtr64(x):
    x = np.asarray(x, np.float64)
    out = np.empty_like(x)
    neg = x < -1.0  # lower tail: log(erfcx(t) / 2) - t^2, t = -x / sqrt 2
    t = -x[neg] / _SQRT2
    out[neg] = np.log(0.5 * _erfcx64(t)) - t * t
    rest = ~neg
    out[rest] = np.log1p(-0.5 * _erfc64(x[rest] / _SQRT2))
    return out


def _ndtri64(p):
    p = np.asarray(p, np.float64)
    lower = np.minimum(p, 1.0 - p)  # exact for p >= 0.5; the answer is odd about p = 1/2
    inside = (lower > 0) & (lower <= 0.5)
    low = lower[inside]
    # start: Giles' erfinv polynomial in w = -log(1 - y^2), y = 2 lower - 1 (written in lower
    # so the tails keep their digits), then Newton on log(ndtr(x)) = log(lower), which stays
    # well conditioned in the tail
    w = -np.log(4.0 * low * (1.0 - low))
    near = w < 5.0
    poly = np.where(near, _horner(_GILES_CENTRAL, np.where(near, w, 5.0) - 2.5),
                    _horner(_GILES_TAIL, np.sqrt(np.maximum(w, 5.0)) - 3.0))
    xi = _SQRT2 * (2.0 * low - 1.0) * poly
    deep = low < 1e-8  # beyond Giles' fit: x^2 = -2 log p - log(-2 log p) - log(2 pi)
    two_log = -2.0 * np.log(low[deep])
    xi[deep] = -np.sqrt(two_log - np.log(two_log) - 2 * _LOG_SQRT_2PI)
    target = np.log(low)
    for _ in range(2 if _SINGLE.flag else 5):
        ln = _log_ndtr64(xi)
        xi = xi - (ln - target) * np.exp(ln + 0.5 * xi * xi + _LOG_SQRT_2PI)
    x = np.zeros_like(p)
    x[inside] = xi
    x = np.where(p > 0.5, -x, x)
    x = np.where(p == 0, -np.inf, np.where(p == 1, np.inf, x))
    return np.where((p < 0) | (p > 1) | np.isnan(p), np.nan, x)


def _sinc64(x):
    x = np.asarray(x, np.float64)
    px = np.pi * x
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(x == 0, 1.0, np.sin(np.pi * (x - 2.0 * np.round(x / 2.0))) / px)


def _entr64(x):
    x = np.asarray(x, np.float64)
    return np.where(x > 0, -x * np.log(np.where(x > 0, x, 1.0)),
                    np.where(x == 0, 0.0, np.where(np.isnan(x), np.nan, -np.inf)))


# ---- ops --------------------------------------------------------------------------------------
_erf_np, _erfc_np, _erfcx_np = _in64(_erf64), _in64(_erfc64), _in64(_erfcx64)
_lgamma_np, _digamma_np = _in64(_lgamma64), _in64(_digamma64)
_ndtr_np, _log_ndtr_np, _ndtri_np = _in64(_ndtr64), _in64(_log_ndtr64), _in64(_ndtri64)
_i0_np = _in64(lambda x: _bessel_i(0, x, False))
_i0e_np = _in64(lambda x: _bessel_i(0, x, True))
_i1_np = _in64(lambda x: _bessel_i(1, x, False))
_i1e_np = _in64(lambda x: _bessel_i(1, x, True))
_TWO_OVER_SQRT_PI = 2.0 / _SQRT_PI


def _normal_pdf(x):
    return (x * x * -0.5).exp() * (1.0 / math.sqrt(2 * math.pi))


ErfBackward0 = _unary("ErfBackward0", _erf_np,
                      lambda g, a, r: g * ((a * a).neg().exp() * _TWO_OVER_SQRT_PI),
                      save_input=True, doc="out = erf(a);  da = g 2/sqrt(pi) exp(-a^2)")
ErfcBackward0 = _unary("ErfcBackward0", _erfc_np,
                       lambda g, a, r: g * ((a * a).neg().exp() * -_TWO_OVER_SQRT_PI),
                       save_input=True, doc="out = erfc(a);  da = -g 2/sqrt(pi) exp(-a^2)")
SpecialErfcxBackward0 = _unary(
    "SpecialErfcxBackward0", _erfcx_np,
    lambda g, a, r: g * (a * r * 2.0 - _TWO_OVER_SQRT_PI), save_input=True, save_output=True,
    doc="out = exp(a^2) erfc(a);  da = g (2 a out - 2/sqrt(pi))")
LgammaBackward0 = _unary("LgammaBackward0", _lgamma_np, lambda g, a, r: g * digamma(a),
                         save_input=True, doc="out = log|Gamma(a)|;  da = g digamma(a)")
DigammaBackward0 = _unary("DigammaBackward0", _digamma_np, lambda g, a, r: g * polygamma(1, a),
                          save_input=True, doc="out = psi(a);  da = g polygamma(1, a)")
I0Backward0 = _unary("I0Backward0", _i0_np, lambda g, a, r: g * special_i1(a), save_input=True,
                     doc="out = I0(a);  da = g I1(a)")
SpecialI0EBackward0 = _unary(
    "SpecialI0EBackward0", _i0e_np, lambda g, a, r: g * (special_i1e(a) - a.sign() * r),
    save_input=True, save_output=True, doc="out = exp(-|a|) I0(a);  da = g (i1e(a) - sign(a) out)")
SpecialI1Backward0 = _unary(
    "SpecialI1Backward0", _i1_np,
    lambda g, a, r: g * _where0(a, i0(a) - r / _nz(a), 0.5), save_input=True, save_output=True,
    doc="out = I1(a);  da = g (I0(a) - out / a)  (1/2 at a = 0)")
SpecialI1EBackward0 = _unary(
    "SpecialI1EBackward0", _i1e_np,
    lambda g, a, r: g * _where0(a, special_i0e(a) - r * (a.sign() + _nz(a).reciprocal()), 0.5),
    save_input=True, save_output=True,
    doc="out = exp(-|a|) I1(a);  da = g (i0e(a) - out (sign(a) + 1/a))  (1/2 at a = 0)")
SpecialNdtrBackward0 = _unary("SpecialNdtrBackward0", _ndtr_np,
                              lambda g, a, r: g * _normal_pdf(a), save_input=True,
                              doc="out = Phi(a);  da = g phi(a)")
SpecialLogNdtrBackward0 = _unary(
    "SpecialLogNdtrBackward0", _log_ndtr_np,
    lambda g, a, r: g * (a * a * -0.5 - r - _LOG_SQRT_2PI).exp(), save_input=True,
    save_output=True, doc="out = log Phi(a);  da = g phi(a) / Phi(a)")
SpecialNdtriBackward0 = _unary(
    "SpecialNdtriBackward0", _ndtri_np,
    lambda g, a, r: g * (r * r * 0.5 + _LOG_SQRT_2PI).exp(), save_output=True,
    doc="out = Phi^-1(a);  da = g sqrt(2 pi) exp(out^2 / 2)")
SincBackward0 = _unary(
    "SincBackward0", _in64(_sinc64),
    lambda g, a, r: g * _where0(a, ((a * math.pi).cos() - r) / _nz(a), 0.0), save_input=True,
    save_output=True, doc="out = sin(pi a) / (pi a);  da = g (cos(pi a) - out) / a  (0 at a = 0)")
SpecialEntrBackward0 = _unary("SpecialEntrBackward0", _in64(_entr64),
                              lambda g, a, r: g * -(a.log() + 1.0), save_input=True, quiet=True,
                              doc="out = -a log a;  da = -g (1 + log a)")
Exp2Backward0 = _unary("Exp2Backward0", np.exp2, lambda g, a, r: g * r * math.log(2.0),
                       save_output=True, quiet=True, doc="out = 2^a;  da = g out ln 2")
Expm1Backward0 = _unary("Expm1Backward0", np.expm1, lambda g, a, r: g * (r + 1.0),
                        save_output=True, quiet=True, doc="out = exp(a) - 1;  da = g (out + 1)")


def _nz(a):
    """a with its zeros replaced by 1 (the caller masks those places out)."""
    zero = a._data == 0
    if not zero.any():
        return a
    from .elementwise import where_
    return where_(_new(zero), 1.0, a)


def _where0(a, value, at_zero: float):
    """`value` where a != 0, else the limit `at_zero` (value itself is nan there)."""
    from .elementwise import where_
    zero = a._data == 0
    if not zero.any():
        return value
    return where_(_new(zero), float(at_zero), value)


class PolygammaBackward0(Op):
    """out = psi^(n)(a);  da = g psi^(n+1)(a)"""

    @staticmethod
    def forward(ctx, n, a):
        ctx.n = n
        ctx.save_for_backward(a)
        x = a._data
        return _in64(lambda v: _polygamma64(n, v))(x)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        return None, g * polygamma(ctx.n + 1, a)


class LogitBackward0(Op):
    """out = log(z / (1 - z)), z = clamp(a, eps, 1 - eps) when eps is given;
    da = g / (a (1 - a)) inside [eps, 1 - eps] (0 outside; nan outside [0, 1] without eps)"""

    @staticmethod
    def forward(ctx, a, eps):
        ctx.save_for_backward(a)
        ctx.eps = eps
        x = a._data
        if x.dtype.kind != "f":
            x = x.astype(_float_dtype(x))
        if eps is not None:
            x = np.clip(x, eps, 1.0 - eps)
        return quietly(lambda v: np.log(v / (1 - v)), x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        d = g / (a * (1.0 - a))
        x = a._data
        if ctx.eps is None:
            out_of = (x < 0) | (x > 1)
            fill = np.nan
        else:
            out_of = (x < ctx.eps) | (x > 1.0 - ctx.eps)
            fill = 0.0
        if out_of.any():
            from .elementwise import where_
            d = where_(_new(out_of), d * 0.0 + fill, d)
        return d, None


def _binary_float(a, b):
    """Two operands (tensors or numbers) as arrays, and torch's result dtype for them (the
    default float for integers)."""
    from .util import result_dtype
    dt = result_dtype(a, b).np
    if dt.kind != "f":
        dt = _float_dtype(np.empty(0, dt))
    x = a._data if isinstance(a, Tensor) else np.asarray(a)
    y = b._data if isinstance(b, Tensor) else np.asarray(b)
    return x, y, dt


def _xlogy_np(x, y, log_fn):
    xb, yb, dt = _binary_float(x, y)
    try:
        with np.errstate(all="ignore"):
            r = np.asarray(xb, np.float64) * log_fn(np.asarray(yb, np.float64))
            r = np.where((xb == 0) & ~np.isnan(yb), 0.0, r)
    except ValueError:
        check_broadcast(np.asarray(xb), yb)
        raise
    return r.astype(dt)


class _XlogyBase(Op):
    """out = x log(f(y)) (0 where x = 0 and y is not nan);
    dx = g log(f(y)) (0 where x = 0), dy = g x f'(y) / f(y)"""
    _log = staticmethod(np.log)
    _shift = 0.0

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x if isinstance(x, Tensor) else None,
                              y if isinstance(y, Tensor) else None)
        ctx.xs, ctx.ys = (None if isinstance(x, Tensor) else x), \
            (None if isinstance(y, Tensor) else y)
        return _xlogy_np(x, y, type(ctx)._log)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nig = ctx.needs_input_grad
        xv = x if x is not None else ctx.xs
        yv = y if y is not None else ctx.ys
        gx = gy = None
        if nig[0]:  # torch: xlogy(g, f(y)), 0 where x = 0 and f(y) <= 0
            shift = type(ctx)._shift
            gx = (xlog1py if shift else xlogy)(g, yv)
            yd = y._data if y is not None else np.float64(ctx.ys)
            zero = (x._data == 0) & (yd <= -shift)
            if zero.any():
                from .elementwise import where_
                gx = where_(_new(zero), 0.0, gx)
        if nig[1]:
            gy = g * xv / (y + type(ctx)._shift) if type(ctx)._shift else g * xv / y
        return gx, gy


class XlogyBackward0(_XlogyBase):
    pass


class XlogyBackward1(_XlogyBase):
    pass


class XlogyBackward2(_XlogyBase):
    pass


class SpecialXlog1PyBackward0(_XlogyBase):
    _log = staticmethod(np.log1p)
    _shift = 1.0


class SpecialXlog1PyBackward1(SpecialXlog1PyBackward0):
    pass


class SpecialXlog1PyBackward2(SpecialXlog1PyBackward0):
    pass


class SpecialZetaBackward0(Op):
    """out = Hurwitz zeta(x, q);  torch defines no derivative"""

    @staticmethod
    def forward(ctx, x, q):
        xb, qb, dt = _binary_float(x, q)
        try:
            shape = np.broadcast_shapes(np.shape(xb), np.shape(qb))
        except ValueError:
            check_broadcast(np.asarray(xb), qb)
            raise
        with np.errstate(all="ignore"):
            return _zeta64(xb, qb).reshape(shape).astype(dt)

    @staticmethod
    def backward(ctx, g):
        raise NotImplementedError("the derivative for 'zeta' is not implemented.")


# ---- public functions -------------------------------------------------------------------------
def erf(input):
    return ErfBackward0.apply(input)


def erfc(input):
    return ErfcBackward0.apply(input)


def erfcx(input):
    return SpecialErfcxBackward0.apply(input)


def lgamma(input):
    return LgammaBackward0.apply(input)


def digamma(input):
    return DigammaBackward0.apply(input)


def polygamma(n, input):
    if isinstance(n, Tensor) or not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return digamma(input)
    return PolygammaBackward0.apply(int(n), input)


def _tensor_polygamma(self, n):
    return polygamma(n, self)


def mvlgamma(input, p):
    """Multivariate log-gamma: sum_{j<p} lgamma(a - j/2) + p(p-1)/4 log(pi)."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    from .reduce import sum as _sum
    j = _new(np.arange(p, dtype=_float_dtype(input._data)) * -0.5)
    return _sum(lgamma(input.unsqueeze(-1) + j), -1) + p * (p - 1) / 4 * math.log(math.pi)


def i0(input):
    return I0Backward0.apply(input)


def special_i0e(input):
    return SpecialI0EBackward0.apply(input)


def special_i1(input):
    return SpecialI1Backward0.apply(input)


def special_i1e(input):
    return SpecialI1EBackward0.apply(input)


def ndtr(input):
    return SpecialNdtrBackward0.apply(input)


def ndtri(input):
    return SpecialNdtriBackward0.apply(input)


def log_ndtr(input):
    return SpecialLogNdtrBackward0.apply(input)


def sinc(input):
    return SincBackward0.apply(input)


def entr(input):
    return SpecialEntrBackward0.apply(input)


def exp2(input):
    return Exp2Backward0.apply(input)


def expm1(input):
    return Expm1Backward0.apply(input)


def logit(input, eps=None):
    return LogitBackward0.apply(input, eps)


def _as_operand(v, name, pos):
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (int, float, bool, np.number, np.bool_)):
        return v
    raise TypeError(f"{name}(): argument '{('self', 'other')[pos]}' (position {pos + 1}) must be "
                    f"Tensor or Number, not {type(v).__name__}")


def _xlogy_dispatch(nodes, name, x, y):
    x, y = _as_operand(x, name, 0), _as_operand(y, name, 1)
    if isinstance(x, Tensor) and isinstance(y, Tensor):
        return nodes[0].apply(x, y)
    if isinstance(y, Tensor):
        return nodes[1].apply(x, y)
    if isinstance(x, Tensor):
        return nodes[2].apply(x, y)
    raise TypeError(f"{name}() received an invalid combination of arguments - got "
                    f"({type(x).__name__}, {type(y).__name__})")


def xlogy(input, other):
    return _xlogy_dispatch((XlogyBackward0, XlogyBackward1, XlogyBackward2), "xlogy", input, other)


def xlog1py(input, other):
    return _xlogy_dispatch((SpecialXlog1PyBackward0, SpecialXlog1PyBackward1,
                            SpecialXlog1PyBackward2), "special_xlog1py", input, other)


def zeta(input, other):
    from .creation import tensor
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("zeta() received an invalid combination of arguments")
    if not isinstance(input, Tensor):
        input = tensor(input, dtype=other.dtype if other.is_floating_point() else None)
    return SpecialZetaBackward0.apply(input, other)


# Tensor methods (and their in-place forms, bound by the caller)
TENSOR_METHODS = {
    "erf": erf, "erfc": erfc, "lgamma": lgamma, "digamma": digamma,
    "polygamma": _tensor_polygamma, "mvlgamma": mvlgamma, "i0": i0, "sinc": sinc, "exp2": exp2,
    "expm1": expm1, "logit": logit, "xlogy": xlogy,
}
INPLACE_METHODS = ("erf", "erfc", "lgamma", "digamma", "polygamma", "mvlgamma", "i0", "sinc",
                   "exp2", "expm1", "logit", "xlogy")
