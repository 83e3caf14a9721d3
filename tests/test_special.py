"""torch.special and the torch./Tensor aliases of its functions: values against torch in float32
and float64 (including the tails and poles), dtypes, grad_fn names, gradients, float64
gradcheck, and the errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck

from helpers import assert_close, check_op, same_error

RNG = np.random.default_rng(0)
WIDE = np.concatenate([np.linspace(-12, 12, 241), [0.0, -0.0, 1.0, 2.0, 1e-30, -1e-30, 40.0,
                                                  -40.0, np.inf, -np.inf, np.nan]])
POS = np.concatenate([np.linspace(0.01, 30, 301), [1e-20, 1.0, 2.0, 1e3, 1e6]])
UNIT = np.concatenate([np.linspace(0, 1, 201), [1e-30, 1e-12, 1 - 1e-7, -0.5, 1.5]])

# name -> (function on a library, values where torch itself is accurate, node name or None)
UNARY = {
    "erf": (lambda L, x: L.special.erf(x), WIDE, "ErfBackward0"),
    "erfc": (lambda L, x: L.special.erfc(x), WIDE, "ErfcBackward0"),
    "erfcx": (lambda L, x: L.special.erfcx(x), np.linspace(-5, 60, 301), "SpecialErfcxBackward0"),
    "erfinv": (lambda L, x: L.special.erfinv(x), np.linspace(-1, 1, 201), "ErfinvBackward0"),
    "gammaln": (lambda L, x: L.special.gammaln(x), np.concatenate([POS, -POS[::7] - 0.25]),
                "LgammaBackward0"),
    "digamma": (lambda L, x: L.special.digamma(x), np.concatenate([POS, -POS[::7] - 0.25]),
                "DigammaBackward0"),
    "psi": (lambda L, x: L.special.psi(x), POS, "DigammaBackward0"),
    "trigamma": (lambda L, x: L.special.polygamma(1, x), np.concatenate([POS, [-0.5, -2.25]]),
                 "PolygammaBackward0"),
    "polygamma3": (lambda L, x: L.special.polygamma(3, x), POS, "PolygammaBackward0"),
    "i0": (lambda L, x: L.special.i0(x), np.linspace(-80, 80, 321), "I0Backward0"),
    "i0e": (lambda L, x: L.special.i0e(x), np.linspace(-200, 200, 401), "SpecialI0EBackward0"),
    "i1": (lambda L, x: L.special.i1(x), np.linspace(-80, 80, 321), "SpecialI1Backward0"),
    "i1e": (lambda L, x: L.special.i1e(x), np.linspace(-200, 200, 401), "SpecialI1EBackward0"),
    "ndtr": (lambda L, x: L.special.ndtr(x), np.linspace(-3, 8, 111), None),
    "ndtri": (lambda L, x: L.special.ndtri(x), UNIT, "SpecialNdtriBackward0"),
    "log_ndtr": (lambda L, x: L.special.log_ndtr(x), np.linspace(-60, 8, 341),
                 "SpecialLogNdtrBackward0"),
    "sinc": (lambda L, x: L.special.sinc(x), np.linspace(-7.3, 7.3, 147), "SincBackward0"),
    "entr": (lambda L, x: L.special.entr(x), np.concatenate([POS, [0.0, -1.0]]),
             "SpecialEntrBackward0"),
    "expit": (lambda L, x: L.special.expit(x), WIDE[:-1], "SigmoidBackward0"),
    "logit": (lambda L, x: L.special.logit(x), UNIT, "LogitBackward0"),
    "logit_eps": (lambda L, x: L.special.logit(x, eps=1e-3), UNIT, "LogitBackward0"),
    "exp2": (lambda L, x: L.special.exp2(x), np.linspace(-20, 20, 81), "Exp2Backward0"),
    "expm1": (lambda L, x: L.special.expm1(x), np.linspace(-20, 20, 81), "Expm1Backward0"),
    "log1p": (lambda L, x: L.special.log1p(x), POS, "Log1PBackward0"),
    "multigammaln": (lambda L, x: L.special.multigammaln(x, 3), POS + 1.0, None),
    "torch.lgamma": (lambda L, x: L.lgamma(x), POS, "LgammaBackward0"),
    "torch.digamma": (lambda L, x: L.digamma(x), POS, "DigammaBackward0"),
    "torch.erf": (lambda L, x: L.erf(x), WIDE, "ErfBackward0"),
    "torch.erfc": (lambda L, x: L.erfc(x), WIDE, "ErfcBackward0"),
    "torch.i0": (lambda L, x: L.i0(x), np.linspace(-5, 5, 11), "I0Backward0"),
    "torch.sinc": (lambda L, x: L.sinc(x), np.linspace(-5, 5, 11), "SincBackward0"),
    "torch.logit": (lambda L, x: L.logit(x, 0.01), UNIT, "LogitBackward0"),
    "torch.polygamma": (lambda L, x: L.polygamma(2, x), POS, "PolygammaBackward0"),
    "torch.mvlgamma": (lambda L, x: L.mvlgamma(x, 2), POS + 1.0, None),
    "Tensor.lgamma": (lambda L, x: x.lgamma(), POS, "LgammaBackward0"),
    "Tensor.digamma": (lambda L, x: x.digamma(), POS, "DigammaBackward0"),
    "Tensor.polygamma": (lambda L, x: x.polygamma(1), POS, "PolygammaBackward0"),
    "Tensor.erf": (lambda L, x: x.erf(), WIDE, "ErfBackward0"),
    "Tensor.erfc": (lambda L, x: x.erfc(), WIDE, "ErfcBackward0"),
    "Tensor.logit": (lambda L, x: x.logit(), UNIT, "LogitBackward0"),
    "Tensor.i0": (lambda L, x: x.i0(), np.linspace(-5, 5, 11), "I0Backward0"),
    "Tensor.expm1": (lambda L, x: x.expm1(), np.linspace(-5, 5, 11), "Expm1Backward0"),
    "Tensor.exp2": (lambda L, x: x.exp2(), np.linspace(-5, 5, 11), "Exp2Backward0"),
    "Tensor.mvlgamma": (lambda L, x: x.mvlgamma(2), POS + 1.0, None),
}


def _rel_close(e, t, rtol, atol):
    """Values equal within rtol relative (atol near zeros), infinities and nans in place."""
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (e.dtype, t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    a = e.detach().numpy().astype(np.float64)
    b = t.detach().numpy().astype(np.float64)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_array_equal(np.isposinf(a), np.isposinf(b))
    np.testing.assert_array_equal(np.isneginf(a), np.isneginf(b))
    f = np.isfinite(b)
    np.testing.assert_allclose(a[f], b[f], rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_values_match_torch(torch, name, dt):
    fn, values, _ = UNARY[name]
    x = values.astype(dt)
    tight = dt == "float64"
    _rel_close(fn(ember, ember.tensor(x)), fn(torch, torch.tensor(x)),
               rtol=LOOSE64.get(name, 1e-11) if tight else 2e-6, atol=1e-13 if tight else 1e-6)


# torch's float64 trigamma is good to ~5e-10 only (ours to ~1e-15: test_known_values)
LOOSE64 = {"trigamma": 1e-9, "Tensor.polygamma": 1e-9}


def test_known_values():
    import math
    x = ember.tensor([0.5, 1.0], dtype=ember.float64)
    np.testing.assert_allclose(ember.polygamma(1, x).numpy(), [math.pi ** 2 / 2, math.pi ** 2 / 6],
                               rtol=1e-15)
    np.testing.assert_allclose(ember.digamma(x).numpy(), [-0.5772156649015329 - 2 * math.log(2),
                                                          -0.5772156649015329], rtol=1e-15)
    np.testing.assert_allclose(ember.lgamma(x).numpy(), [0.5 * math.log(math.pi), 0.0],
                               rtol=4e-15)
    np.testing.assert_allclose(ember.special.zeta(ember.tensor([2.0, 4.0], dtype=ember.float64),
                                                  1.0).numpy(),
                               [math.pi ** 2 / 6, math.pi ** 4 / 90], rtol=1e-15)


@pytest.mark.parametrize("name", list(UNARY))
def test_grad_fn_and_gradients_match_torch(torch, name):
    fn, values, node = UNARY[name]
    x = values[np.isfinite(values)]
    x = x[(x != 0) & (np.abs(x) < 25)][::3].astype(np.float32)
    if name in ("entr", "logit"):
        x = x[(x > 0) & (x < 1)] if name == "logit" else x[x > 0]
    check_op(torch, lambda L, t: fn(L, t), x, names=node is not None, rtol=2e-5, atol=1e-5)
    if node is not None:
        assert type(fn(ember, ember.tensor(x, requires_grad=True)).grad_fn).__name__ == node


GRADCHECK = {  # name -> (function, float64 points away from poles and kinks)
    "erf": (ember.special.erf, [-2.5, -0.3, 0.1, 0.9, 3.0]),
    "erfc": (ember.special.erfc, [-2.5, -0.3, 0.1, 0.9, 3.0]),
    "erfcx": (ember.special.erfcx, [-1.5, 0.2, 0.7, 3.0, 12.0]),
    "gammaln": (ember.special.gammaln, [-2.5, -0.4, 0.3, 1.7, 12.0]),
    "digamma": (ember.special.digamma, [-2.5, -0.4, 0.3, 1.7, 12.0]),
    "polygamma1": (lambda x: ember.special.polygamma(1, x), [-2.5, 0.3, 1.7, 12.0]),
    "polygamma4": (lambda x: ember.special.polygamma(4, x), [0.6, 1.7, 12.0]),
    "i0": (ember.special.i0, [-30.0, -2.0, 0.0, 0.5, 3.0]),
    "i0e": (ember.special.i0e, [-30.0, -2.0, 0.5, 3.0]),
    "i1": (ember.special.i1, [-30.0, -2.0, 0.0, 0.5, 3.0]),
    "i1e": (ember.special.i1e, [-30.0, -2.0, 0.0, 0.5, 3.0]),
    "ndtr": (ember.special.ndtr, [-4.0, -0.5, 0.3, 2.0]),
    "ndtri": (ember.special.ndtri, [1e-4, 0.02, 0.4, 0.7, 0.99]),
    "log_ndtr": (ember.special.log_ndtr, [-30.0, -4.0, -0.5, 0.3, 6.0]),
    "sinc": (ember.special.sinc, [-2.7, -0.3, 0.0, 0.4, 5.5]),
    "entr": (ember.special.entr, [0.1, 0.5, 2.0]),
    "logit": (ember.special.logit, [0.1, 0.5, 0.93]),
    "logit_eps": (lambda x: ember.special.logit(x, eps=0.05), [0.01, 0.5, 0.99]),
    "exp2": (ember.special.exp2, [-3.0, 0.5, 4.0]),
    "expm1": (ember.special.expm1, [-3.0, 1e-8, 0.5, 4.0]),
    "multigammaln": (lambda x: ember.special.multigammaln(x, 3), [1.7, 3.0, 12.0]),
    "xlogy": (lambda x: ember.special.xlogy(x, x * 2.0 + 1.0), [0.1, 0.5, 3.0]),
    "xlog1py": (lambda x: ember.special.xlog1py(x, x * 2.0), [0.1, 0.5, 3.0]),
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck_float64(name):
    fn, pts = GRADCHECK[name]
    x = ember.tensor(pts, dtype=ember.float64, requires_grad=True)
    assert gradcheck(fn, (x,))


@pytest.mark.parametrize("name", ["gammaln", "digamma", "erf", "i0", "log_ndtr"])
def test_second_derivative(name):
    fn, pts = GRADCHECK[name]
    x = ember.tensor(pts, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(fn, (x,))


@pytest.mark.parametrize("fn", ["xlogy", "xlog1py"])
@pytest.mark.parametrize("form", ["tt", "st", "ts"])
def test_xlogy_forms(torch, fn, form):
    x = np.array([0.0, 0.5, 2.0, 0.0, 3.0], np.float32)
    y = np.array([0.0, 3.0, 0.7, np.nan, -0.5, 0.5, -1.0, 0.0], np.float32)
    x = np.array([0.0, 0.5, 2.0, 0.0, 3.0, 0.0, 0.0, 1.0], np.float32)

    def run(L, a, b):
        f = getattr(L.special, fn)
        if form == "tt":
            return f(a, b)
        if form == "st":
            return f(2.0, b)
        return f(a, 2.0)
    check_op(torch, run, x, y)
    if fn == "xlogy":  # torch.xlogy and Tensor.xlogy: the same op
        check_op(torch, lambda L, a, b: L.xlogy(a, b) + a.xlogy(b), x, np.abs(y) + 0.5)


def test_xlogy_dtype_promotion(torch):
    for a, b in [(np.array([1, 2]), np.array([3, 4])), (np.array([1.5], np.float32), 2),
                 (np.array([1, 2]), 2.5), (np.array([1.5]), np.array([2.0], np.float32))]:
        ta = torch.tensor(a)
        ea = ember.tensor(a)
        tb = torch.tensor(b) if isinstance(b, np.ndarray) else b
        eb = ember.tensor(b) if isinstance(b, np.ndarray) else b
        assert_close(ember.xlogy(ea, eb), torch.xlogy(ta, tb))
        assert_close(ember.special.xlog1py(ea, eb), torch.special.xlog1py(ta, tb))


@pytest.mark.parametrize("name", ["erf", "lgamma", "digamma", "i0", "sinc", "expm1", "exp2"])
def test_integer_input_gives_default_float(torch, name):
    i = np.array([1, 2, 3])
    assert_close(getattr(ember, name)(ember.tensor(i)), getattr(torch, name)(torch.tensor(i)))


def test_poles_and_special_points(torch):
    x = np.array([0.0, -0.0, -1.0, -2.0, 1.0, 2.0, np.inf, -np.inf, np.nan])
    for fn in ("lgamma", "digamma"):
        _rel_close(getattr(ember, fn)(ember.tensor(x)), getattr(torch, fn)(torch.tensor(x)),
                   1e-12, 0)
    z = np.array([-1.5, -2.0, 0.0, 2.5])
    for n in (2, 3):
        _rel_close(ember.polygamma(n, ember.tensor(z)), torch.polygamma(n, torch.tensor(z)),
                   1e-10, 0)
    p = np.array([0.0, 1.0, -0.1, 1.1, 0.5])
    _rel_close(ember.special.ndtri(ember.tensor(p)), torch.special.ndtri(torch.tensor(p)), 0, 0)


def test_zeta(torch):
    x = np.array([2.0, 1.0, 0.5, 3.0, 4.5, 2.0, 3.0])
    q = np.array([1.0, 1.0, 1.0, -1.5, 2.5, 0.0, -2.0])
    _rel_close(ember.special.zeta(ember.tensor(x), ember.tensor(q)),
               torch.special.zeta(torch.tensor(x), torch.tensor(q)), 1e-12, 0)
    assert_close(ember.special.zeta(2.0, ember.tensor([1.0, 2.0])),
                 torch.special.zeta(2.0, torch.tensor([1.0, 2.0])))
    e = ember.special.zeta(ember.tensor([2.0], requires_grad=True), ember.tensor([1.0]))
    t = torch.special.zeta(torch.tensor([2.0], requires_grad=True), torch.tensor([1.0]))
    same_error(torch, lambda: e.sum().backward(), lambda: t.sum().backward())


def test_namespace_softmax_family(torch):
    x = RNG.standard_normal((3, 5)).astype(np.float32)
    check_op(torch, lambda L, t: L.special.softmax(t, 1), x)
    check_op(torch, lambda L, t: L.special.log_softmax(t, 0), x)
    check_op(torch, lambda L, t: L.special.logsumexp(t, 1, keepdim=True), x)
    check_op(torch, lambda L, t: L.special.softmax(t, -1, dtype=L.float64), x)
    check_op(torch, lambda L, t: L.special.round(t * 10), x, grad=False)


def test_inplace_variants(torch):
    x = np.array([0.3, 0.6, 1.7], np.float32)
    for name, args in [("lgamma_", ()), ("digamma_", ()), ("erf_", ()), ("erfc_", ()),
                       ("polygamma_", (1,)), ("i0_", ()), ("sinc_", ()), ("logit_", ()),
                       ("expm1_", ()), ("exp2_", ()), ("xlogy_", (2.0,))]:
        e, t = ember.tensor(x), torch.tensor(x)
        assert getattr(e, name)(*args) is e
        getattr(t, name)(*args)
        assert_close(e, t)


def test_errors(torch):
    x = np.array([0.5])
    same_error(torch, lambda: ember.polygamma(-1, ember.tensor(x)),
               lambda: torch.polygamma(-1, torch.tensor(x)))
    same_error(torch, lambda: ember.polygamma(1.5, ember.tensor(x)),
               lambda: torch.polygamma(1.5, torch.tensor(x)))
    same_error(torch, lambda: ember.special.xlogy(ember.tensor([1.0, 2.0]), ember.tensor([1.0] * 3)),
               lambda: torch.special.xlogy(torch.tensor([1.0, 2.0]), torch.tensor([1.0] * 3)))
    same_error(torch, lambda: ember.special.xlogy("a", ember.tensor(x)),
               lambda: torch.special.xlogy("a", torch.tensor(x)))
    same_error(torch, lambda: ember.special.multigammaln(ember.tensor(x + 3), 0),
               lambda: torch.special.multigammaln(torch.tensor(x + 3), 0))


def test_float32_accuracy_in_ulps():
    """float32 results are the float64 ones rounded: within 1 ulp of the float64 values."""
    x = np.concatenate([RNG.standard_normal(2000) * 4, RNG.uniform(0.01, 40, 2000)])
    x32 = x.astype(np.float32)
    for fn in (ember.special.erf, ember.special.erfc, ember.special.i0e, ember.special.ndtr):
        a = fn(ember.tensor(x32)).numpy().astype(np.float64)
        b = fn(ember.tensor(x32.astype(np.float64))).numpy()
        f = np.isfinite(b) & (b != 0)
        assert (np.abs(a[f] - b[f]) <= np.spacing(np.abs(b[f]).astype(np.float32))).all()
