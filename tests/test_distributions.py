"""torch.distributions against torch: values, gradients, shapes, reprs, samples, errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from helpers import assert_close

R = np.random.RandomState(0)
V2 = [0.3, 1.7]
POS2 = [0.5, 2.5]
P2 = [0.2, 0.7]
SIMPLEX = [[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]]
COV = [[2.0, 0.5], [0.5, 1.0]]

# name: (builder(D, *params), params (arrays; float ones get gradients), value for log_prob)
CASES = {
    "Normal": (lambda D, a, b: D.Normal(a, b), ([0.0, 1.0], [1.0, 2.0]), V2),
    "Bernoulli": (lambda D, p: D.Bernoulli(p), (P2,), [0.0, 1.0]),
    "BernoulliLogits": (lambda D, l: D.Bernoulli(logits=l), ([0.2, -0.7],), [1.0, 1.0]),
    "Categorical": (lambda D, p: D.Categorical(p), (SIMPLEX,), [2, 0]),
    "CategoricalLogits": (lambda D, l: D.Categorical(logits=l), ([[0.1, -1.0, 2.0]],), [1]),
    "OneHotCategorical": (lambda D, p: D.OneHotCategorical(p), (SIMPLEX,),
                          [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
    "Uniform": (lambda D, a, b: D.Uniform(a, b), ([0.0, 1.0], [1.0, 3.0]), [0.5, 2.9]),
    "Exponential": (lambda D, r: D.Exponential(r), (POS2,), V2),
    "Laplace": (lambda D, a, b: D.Laplace(a, b), ([0.0, 1.0], [1.0, 2.0]), V2),
    "Cauchy": (lambda D, a, b: D.Cauchy(a, b), ([0.0, 1.0], [1.0, 2.0]), V2),
    "Gumbel": (lambda D, a, b: D.Gumbel(a, b), ([0.0, 1.0], [1.0, 2.0]), V2),
    "LogNormal": (lambda D, a, b: D.LogNormal(a, b), ([0.0, 1.0], [1.0, 0.5]), POS2),
    "MultivariateNormal": (lambda D, m, c: D.MultivariateNormal(m, c), ([0.0, 1.0], COV),
                           [[0.3, -0.2], [1.0, 2.0]]),
    "MVNPrecision": (lambda D, m, c: D.MultivariateNormal(m, precision_matrix=c),
                     ([0.0, 1.0], COV), [0.3, -0.2]),
    "MVNScaleTril": (lambda D, m, c: D.MultivariateNormal(m, scale_tril=c),
                     ([[0.0, 1.0], [1.0, 0.0]], [[1.0, 0.0], [0.3, 0.8]]), [0.3, -0.2]),
    "LowRankMVN": (lambda D, m, w, d: D.LowRankMultivariateNormal(m, w, d),
                   ([0.0, 1.0, 2.0], [[1.0], [0.5], [0.2]], [1.0, 2.0, 0.5]),
                   [0.3, -0.2, 1.0]),
    "Independent": (lambda D, a, b: D.Independent(D.Normal(a, b), 1),
                    ([[0.0, 1.0]], [[1.0, 2.0]]), [[0.3, 1.7]]),
    "Mixture": (lambda D, p, a, b: D.MixtureSameFamily(D.Categorical(p), D.Normal(a, b)),
                ([0.3, 0.7], [0.0, 1.0], [1.0, 2.0]), [0.3, 1.7]),
    "MixtureMVN": (lambda D, p, a: D.MixtureSameFamily(
        D.Categorical(p), D.Independent(D.Normal(a, a.abs() + 0.5), 1)),
        ([0.3, 0.7], [[0.0, 1.0], [1.0, -1.0]]), [0.3, 1.7]),
    "Transformed": (lambda D, a, b: D.TransformedDistribution(
        D.Normal(a, b), [D.transforms.AffineTransform(1.0, 2.0), D.transforms.TanhTransform()]),
        ([0.0, 0.2], [1.0, 0.5]), [0.3, -0.5]),
    "Gamma": (lambda D, a, b: D.Gamma(a, b), (POS2, [1.0, 2.0]), V2),
    "Beta": (lambda D, a, b: D.Beta(a, b), (POS2, [0.8, 2.0]), [0.3, 0.9]),
    "Dirichlet": (lambda D, c: D.Dirichlet(c), ([[0.5, 3.0, 1.0], [1.0, 2.0, 2.0]],), SIMPLEX),
    "Poisson": (lambda D, r: D.Poisson(r), (POS2,), [1.0, 4.0]),
    "Binomial": (lambda D, p: D.Binomial(5, p), (P2,), [1.0, 4.0]),
    "BinomialLogits": (lambda D, l: D.Binomial(ember_or_torch(D).tensor([3.0, 6.0]), logits=l),
                       ([0.2, -0.7],), [1.0, 4.0]),
    "Multinomial": (lambda D, p: D.Multinomial(6, p), (SIMPLEX,), [[1.0, 2.0, 3.0],
                                                                    [0.0, 6.0, 0.0]]),
    "StudentT": (lambda D, df, a, b: D.StudentT(df, a, b), ([0.8, 5.0], [0.0, 1.0],
                                                             [1.0, 2.0]), V2),
    "Chi2": (lambda D, df: D.Chi2(df), (POS2,), V2),
    "RelaxedBernoulli": (lambda D, t, p: D.RelaxedBernoulli(t, p), (0.5, P2), [0.2, 0.9]),
    "RelaxedOneHot": (lambda D, t, p: D.RelaxedOneHotCategorical(t, p), (0.7, SIMPLEX),
                      [[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]),
    "HalfNormal": (lambda D, s: D.HalfNormal(s), (POS2,), V2),
    "HalfCauchy": (lambda D, s: D.HalfCauchy(s), (POS2,), V2),
    "Geometric": (lambda D, p: D.Geometric(p), (P2,), [0.0, 3.0]),
    "GeometricLogits": (lambda D, l: D.Geometric(logits=l), ([0.2, -0.7],), [2.0, 1.0]),
    "NegativeBinomial": (lambda D, n, p: D.NegativeBinomial(n, p), (POS2, P2), [0.0, 3.0]),
    "Pareto": (lambda D, s, a: D.Pareto(s, a), ([0.5, 1.0], [3.0, 1.5]), [0.7, 2.0]),
    "Weibull": (lambda D, s, c: D.Weibull(s, c), (POS2, [0.8, 2.0]), V2),
    "InverseGamma": (lambda D, a, b: D.InverseGamma(a, b), ([1.5, 3.5], [1.0, 2.0]), V2),
    "FisherSnedecor": (lambda D, a, b: D.FisherSnedecor(a, b), ([3.0, 6.0], [5.0, 9.0]), V2),
    "LogisticNormal": (lambda D, a, b: D.LogisticNormal(a, b), ([0.0, 1.0], [1.0, 0.5]),
                       [0.2, 0.3, 0.5]),
    "Kumaraswamy": (lambda D, a, b: D.Kumaraswamy(a, b), ([0.5, 2.0], [1.5, 3.0]), [0.3, 0.6]),
    "ContinuousBernoulli": (lambda D, p: D.ContinuousBernoulli(p), ([0.2, 0.7, 0.4995],),
                            [0.3, 0.9, 0.5]),
    "VonMises": (lambda D, a, k: D.VonMises(a, k), ([0.5, -2.0, 1.0], [0.5, 3.0, 12.0]),
                 [0.3, 2.5, 1.1]),
    "GeneralizedPareto": (lambda D, a, s, c: D.GeneralizedPareto(a, s, c),
                          ([0.0, 1.0, -1.0], [1.0, 2.0, 0.5], [0.3, 0.0, -0.2]),
                          [0.5, 2.0, 0.1]),
    "Wishart": (lambda D, df, c: D.Wishart(df, c), ([3.0, 5.5], COV), [[3.0, 0.5], [0.5, 2.0]]),
    "WishartTril": (lambda D, df, c: D.Wishart(df, scale_tril=c), ([2.5],
                                                                    [[1.0, 0.0], [0.3, 0.8]]),
                    [[3.0, 0.5], [0.5, 2.0]]),
    "LKJCholesky": (lambda D, c: D.LKJCholesky(3, c), ([0.5, 2.0],),
                    [[[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [-0.48, 0.36, 0.8]]]),
}


def ember_or_torch(D):
    return ember if D is ember.distributions else __import__("torch")


def _build(lib, name, grad=True):
    fn, params, _ = CASES[name]
    ts = []
    for p in params:
        a = np.array(p)
        dt = lib.int64 if a.dtype.kind == "i" else lib.float32
        t = lib.tensor(a, dtype=dt)
        if grad and dt == lib.float32:
            t.requires_grad_()
        ts.append(t)
    return fn(lib.distributions, *ts), ts


def _value(lib, name):
    v = np.array(CASES[name][2])
    return lib.tensor(v, dtype=lib.int64 if v.dtype.kind == "i" else lib.float32)


def _both(torch, name, fn):
    """fn on each side: its result, or the type of the exception it raised."""
    out = []
    for lib in (torch, ember):
        d, ts = _build(lib, name)
        try:
            out.append((fn(lib, d), ts))
        except Exception as e:  # (compared with torch's exception type)
            out.append((type(e), ts))
    return out


def _grads(r, ts):
    grads = [t for t in ts if getattr(t, "requires_grad", False)]
    if not grads or not r.requires_grad:
        return [None] * len(grads)
    lib = ember if isinstance(r, ember.Tensor) else __import__("torch")
    return [g for g in lib.autograd.grad(r.sum(), grads, allow_unused=True)]


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("what", ["log_prob", "entropy", "mean", "mode", "variance", "stddev",
                                  "cdf", "icdf", "enumerate_support"])
def test_values_and_grads(torch, name, what):
    def fn(lib, d):
        if what == "log_prob":
            return d.log_prob(_value(lib, name))
        if what in ("cdf", "icdf"):
            return getattr(d, what)(lib.full(tuple(d.batch_shape), 0.3))
        if what == "entropy":
            return d.entropy()
        if what == "enumerate_support":
            return d.enumerate_support()
        return getattr(d, what)
    (t, tts), (e, ets) = _both(torch, name, fn)
    if isinstance(t, type):  # torch raises: so does ember (an index error may come earlier)
        assert isinstance(e, type), e
        assert e is t or t is IndexError, (t, e)
        return
    assert not isinstance(e, type), e
    assert_close(e, t, rtol=2e-5, atol=2e-6)
    if t.dtype.is_floating_point:
        tol = 1e-3 if name == "Transformed" else 2e-4
        try:
            tg = _grads(t, tts)
        except NotImplementedError:
            with pytest.raises(NotImplementedError):
                _grads(e, ets)
            return
        assert_close(_grads(e, ets), tg, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", list(CASES))
def test_repr_shapes_expand_support(torch, name):
    t, _ = _build(torch, name)
    e, _ = _build(ember, name)
    assert repr(e).replace("ember.", "torch.") == repr(t)
    assert e.batch_shape == tuple(t.batch_shape) and e.event_shape == tuple(t.event_shape)
    assert e.has_rsample == t.has_rsample
    assert e.has_enumerate_support == t.has_enumerate_support
    assert repr(e.support) == repr(t.support) or "tensor" in repr(t.support)
    shape = (3,) + tuple(t.batch_shape)
    te, ee = t.expand(shape), e.expand(shape)
    assert type(ee).__name__ == type(te).__name__
    assert ee.batch_shape == tuple(te.batch_shape) and ee.event_shape == tuple(te.event_shape)
    assert tuple(ee.sample((2,)).shape) == tuple(te.sample((2,)).shape)
    v = te.sample((2,))
    assert_close(ee.log_prob(ember.tensor(v.numpy())), te.log_prob(v), rtol=2e-5, atol=2e-5)


# draws made by torch's normal/uniform/bernoulli/multinomial/exponential/cauchy kernels
SAME_DRAWS = ["Normal", "Bernoulli", "BernoulliLogits", "Categorical", "CategoricalLogits",
              "OneHotCategorical", "Uniform", "Exponential", "Laplace", "Cauchy", "Gumbel",
              "LogNormal", "MultivariateNormal", "MVNPrecision", "MVNScaleTril", "LowRankMVN",
              "Independent", "Mixture", "MixtureMVN", "Transformed", "Multinomial",
              "RelaxedBernoulli", "RelaxedOneHot", "HalfNormal", "HalfCauchy", "Geometric",
              "GeometricLogits", "Pareto", "Weibull", "LogisticNormal", "Kumaraswamy",
              "ContinuousBernoulli", "VonMises", "GeneralizedPareto"]


@pytest.mark.parametrize("name", SAME_DRAWS)
@pytest.mark.parametrize("sample_shape", [(), (5,), (20, 2)])
def test_samples_equal_torch(torch, name, sample_shape):
    t, tts = _build(torch, name)
    e, ets = _build(ember, name)
    torch.manual_seed(7)
    ember.manual_seed(7)
    ts, es = t.sample(sample_shape), e.sample(sample_shape)
    assert str(es.dtype).replace("ember", "torch") == str(ts.dtype)
    assert_close(es, ts, rtol=1e-5, atol=1e-5)
    if t.has_rsample:  # the same draws, and the same gradients through them
        tr, er = t.rsample(sample_shape), e.rsample(sample_shape)
        assert_close(er, tr, rtol=1e-5, atol=1e-5)
        assert_close(_grads(er * er, ets), _grads(tr * tr, tts), rtol=1e-4, atol=1e-4)


MOMENTS = {  # name: params; moments of 100k draws against the distribution's mean/variance
    "Gamma": lambda D: D.Gamma(ember.tensor([0.3, 2.5, 40.0]), ember.tensor([1.0, 2.0, 0.5])),
    "Beta": lambda D: D.Beta(ember.tensor([0.5, 2.5]), ember.tensor([1.0, 4.0])),
    "Dirichlet": lambda D: D.Dirichlet(ember.tensor([0.5, 3.0, 1.0])),
    "Poisson": lambda D: D.Poisson(ember.tensor([0.5, 4.0, 150.0])),
    "Binomial": lambda D: D.Binomial(ember.tensor([5.0, 100.0]), ember.tensor([0.3, 0.9])),
    "Chi2": lambda D: D.Chi2(ember.tensor([1.0, 7.0])),
    "StudentT": lambda D: D.StudentT(ember.tensor([6.0, 9.0]), ember.tensor([1.0, -1.0]),
                                     ember.tensor([2.0, 0.5])),
    "NegativeBinomial": lambda D: D.NegativeBinomial(ember.tensor([3.0, 20.0]),
                                                     ember.tensor([0.4, 0.2])),
    "InverseGamma": lambda D: D.InverseGamma(ember.tensor([5.0, 9.0]), ember.tensor([1.0, 2.0])),
    "FisherSnedecor": lambda D: D.FisherSnedecor(ember.tensor([6.0, 12.0]),
                                                 ember.tensor([12.0, 20.0])),
    "Wishart": lambda D: D.Wishart(ember.tensor(6.0), ember.tensor([[2.0, 0.5], [0.5, 1.0]])),
}


@pytest.mark.parametrize("name", list(MOMENTS))
def test_sample_moments(name):
    d = MOMENTS[name](ember.distributions)
    ember.manual_seed(0)
    x = d.sample((100_000,))
    assert tuple(x.shape) == (100_000,) + tuple(d.batch_shape + d.event_shape)
    assert bool(d.support.check(x).all())
    a = x.numpy().astype(np.float64)
    mean, var = d.mean.numpy(), d.variance.numpy()
    se = np.sqrt(var / a.shape[0])
    assert (np.abs(a.mean(0) - mean) < 5 * se + 1e-6).all(), (a.mean(0), mean)
    assert (np.abs(a.var(0) / var - 1) < 0.05).all(), (a.var(0), var)
    ember.manual_seed(0)
    assert np.array_equal(d.sample((100_000,)).numpy(), x.numpy())  # repeatable per seed


def test_gamma_rsample_gradient_matches_torch_implicit_gradient(torch):
    a = ember.tensor([0.2, 1.0, 3.0, 50.0], dtype=ember.float64, requires_grad=True)
    x = ember.distributions.Gamma(a, ember.tensor(1.0, dtype=ember.float64)).rsample((500,))
    (g,) = ember.autograd.grad(x.sum(), [a])
    ref = torch._standard_gamma_grad(torch.tensor(a.detach().numpy()).expand(500, 4),
                                     torch.tensor(x.detach().numpy()))
    np.testing.assert_allclose(g.numpy(), ref.sum(0).numpy(), rtol=1e-4)
    # gradient of the mean a / rate: E[dx/da] = 1 / rate
    a = ember.tensor([0.7, 4.0], requires_grad=True)
    ember.manual_seed(1)
    x = ember.distributions.Gamma(a, ember.tensor([2.0, 2.0])).rsample((50_000,))
    (g,) = ember.autograd.grad(x.mean(0).sum(), [a])
    np.testing.assert_allclose(g.numpy(), [0.5, 0.5], rtol=0.03)


def test_beta_dirichlet_rsample_gradients_reparameterise():
    """d E[x] / d concentration from rsample matches the closed form of the mean."""
    c = ember.tensor([1.5, 3.0, 0.8], requires_grad=True)
    ember.manual_seed(2)
    x = ember.distributions.Dirichlet(c).rsample((50_000,))
    (g,) = ember.autograd.grad(x.mean(0)[0], [c])
    s = 1.5 + 3.0 + 0.8
    np.testing.assert_allclose(g.numpy(), [1 / s - 1.5 / s ** 2, -1.5 / s ** 2,
                                           -1.5 / s ** 2], atol=0.01)
    a, b = ember.tensor(2.0, requires_grad=True), ember.tensor(3.0, requires_grad=True)
    x = ember.distributions.Beta(a, b).rsample((50_000,))
    ga, gb = ember.autograd.grad(x.mean(), [a, b])
    np.testing.assert_allclose([ga.item(), gb.item()], [3 / 25, -2 / 25], atol=0.01)


def test_gamma_cdf_gradcheck(torch):
    x = ember.tensor([0.3, 1.5, 7.0], dtype=ember.float64, requires_grad=True)
    a = ember.tensor([0.5, 2.0, 6.0], dtype=ember.float64)
    d = ember.distributions.Gamma(a, ember.tensor(1.0, dtype=ember.float64))
    assert ember.autograd.gradcheck(lambda v: d.cdf(v), (x,))
    ref = torch.special.gammainc(torch.tensor(a.numpy()), torch.tensor(x.detach().numpy()))
    np.testing.assert_allclose(d.cdf(x).detach().numpy(), ref.numpy(), rtol=1e-12)
    a = np.repeat([0.05, 0.7, 3.0, 40.0, 900.0], 200)  # the series and the continued fraction
    x = np.random.RandomState(0).gamma(a) * np.random.RandomState(1).uniform(0.5, 1.5, a.size)
    got = ember.distributions.Gamma(ember.tensor(a), 1.0).cdf(ember.tensor(x)).numpy()
    ref = torch.special.gammainc(torch.tensor(a), torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, ref, rtol=2e-8, atol=1e-300)  # (torch: ~1e-9 near a=x)


def test_validate_args_errors(torch):
    cases = [
        lambda D, lib: D.Normal(lib.tensor([float("nan"), 1.0, 2.0]), 1.0),
        lambda D, lib: D.Normal(0.0, lib.tensor([1.0, -1.0])),
        lambda D, lib: D.Bernoulli(lib.tensor([0.5, 1.5])),
        lambda D, lib: D.Categorical(lib.tensor([[0.5, -0.5]])),
        lambda D, lib: D.Dirichlet(lib.tensor([0.5, 0.0])),
        lambda D, lib: D.MultivariateNormal(lib.zeros(2), lib.tensor([[1.0, 2.0], [2.0, 1.0]])),
        lambda D, lib: D.Uniform(lib.tensor([1.0]), lib.tensor([0.0])),
        lambda D, lib: D.Normal(0.0, 1.0).log_prob(lib.tensor([float("nan")])),
        lambda D, lib: D.Exponential(lib.tensor([1.0])).log_prob(lib.tensor([-1.0])),
        lambda D, lib: D.Categorical(lib.tensor([0.5, 0.5])).log_prob(lib.tensor([2])),
        lambda D, lib: D.Normal(lib.zeros(3), 1.0).log_prob(lib.zeros(2)),
        lambda D, lib: D.Dirichlet(lib.ones(3)).log_prob(lib.ones(2)),
        lambda D, lib: D.Bernoulli(),
        lambda D, lib: D.Categorical(lib.tensor(0.5)),
        lambda D, lib: D.MultivariateNormal(lib.zeros(2)),
        lambda D, lib: D.Independent(D.Normal(lib.zeros(2), 1.0), 2),
        lambda D, lib: D.MixtureSameFamily(D.Categorical(lib.ones(3)),
                                           D.Normal(lib.zeros(2), 1.0)),
        lambda D, lib: D.kl_divergence(D.Normal(0.0, 1.0), D.Categorical(lib.ones(2))),
    ]
    for case in cases:
        msgs = []
        for lib in (torch, ember):
            with pytest.raises(Exception) as info:
                case(lib.distributions, lib)
            msgs.append((info.type.__name__, str(info.value)))
        assert msgs[1][0] == msgs[0][0], msgs
        assert msgs[1][1].replace("ember", "torch") == msgs[0][1], msgs


def test_set_default_validate_args(torch):
    D = ember.distributions
    assert D.Distribution._validate_args is torch.distributions.Distribution._validate_args
    D.Distribution.set_default_validate_args(False)
    try:
        d = D.Normal(0.0, -1.0)  # accepted without validation, as torch
        assert d.log_prob(ember.tensor(0.0)).isnan().item()
        assert not d._validate_args
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(0.0, -1.0)
    assert D.Normal(0.0, -1.0, validate_args=False).scale.item() == -1.0
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args(3)


# ---- transforms and constraints --------------------------------------------------------------
def _package(transforms_module):
    """torch.distributions or ember.distributions, from its transforms module."""
    import importlib
    return importlib.import_module(transforms_module.__name__.rpartition(".")[0])


TRANSFORMS = {
    "Exp": (lambda T: T.ExpTransform(), [[0.3, -1.2, 2.0]]),
    "Affine": (lambda T: T.AffineTransform(1.0, -2.0), [[0.3, -1.2, 2.0]]),
    "AffineEvent": (lambda T: T.AffineTransform(0.5, 3.0, event_dim=1), [[0.3, -1.2, 2.0]]),
    "Sigmoid": (lambda T: T.SigmoidTransform(), [[0.3, -1.2, 2.0]]),
    "Tanh": (lambda T: T.TanhTransform(), [[0.3, -1.2, 2.0]]),
    "Softplus": (lambda T: T.SoftplusTransform(), [[0.3, -1.2, 2.0]]),
    "Power": (lambda T: T.PowerTransform(2.5), [[0.3, 1.2, 2.0]]),
    "Abs": (lambda T: T.AbsTransform(), [[0.3, -1.2, 2.0]]),
    "Softmax": (lambda T: T.SoftmaxTransform(), [[0.3, -1.2, 2.0]]),
    "StickBreaking": (lambda T: T.StickBreakingTransform(), [[0.3, -1.2, 2.0]]),
    "LowerCholesky": (lambda T: T.LowerCholeskyTransform(), [[0.3, -1.2], [2.0, 0.5]]),
    "Compose": (lambda T: T.ComposeTransform([T.AffineTransform(0.5, 2.0), T.ExpTransform(),
                                              T.PowerTransform(0.5)]), [[0.3, -1.2, 2.0]]),
    "ExpInverse": (lambda T: T.ExpTransform().inv, [[0.3, 1.2, 2.0]]),
    "Independent": (lambda T: T.IndependentTransform(T.SigmoidTransform(), 1),
                    [[0.3, -1.2, 2.0]]),
    "Reshape": (lambda T: T.ReshapeTransform((3,), (3, 1)), [[0.3, -1.2, 2.0]]),
    "PositiveDefinite": (lambda T: T.PositiveDefiniteTransform(), [[0.3, -1.2], [2.0, 0.5]]),
    "Cat": (lambda T: T.CatTransform([T.ExpTransform(), T.SigmoidTransform()], dim=1,
                                     lengths=[1, 2]), [[0.3, -1.2, 2.0]]),
    "Stack": (lambda T: T.StackTransform([T.ExpTransform(), T.TanhTransform(),
                                          T.AffineTransform(1.0, 3.0)], dim=1),
              [[0.3, -1.2, 2.0]]),
    "CorrCholesky": (lambda T: T.CorrCholeskyTransform(), [[0.3, -1.2, 2.0], [0.1, 0.5, -0.4]]),
    "CDF": (lambda T: T.CumulativeDistributionTransform(_package(T).Normal(0.5, 2.0)),
            [[0.3, -1.2, 2.0]]),
}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transforms(torch, name):
    fn, x = TRANSFORMS[name]
    res = []
    for lib in (torch, ember):
        tr = fn(lib.distributions.transforms)
        xt = lib.tensor(x, requires_grad=True)
        y = tr(xt)
        out = {"y": y, "repr": repr(tr), "shape": tuple(tr.forward_shape(tuple(xt.shape))),
               "event": (tr.domain.event_dim, tr.codomain.event_dim), "bij": tr.bijective}
        try:
            out["x"] = tr.inv(y)
        except NotImplementedError:
            out["x"] = NotImplementedError
        try:
            out["ladj"] = tr.log_abs_det_jacobian(xt, y)
            out["g"] = lib.autograd.grad(out["ladj"].sum() + y.sum(), [xt])[0]
        except NotImplementedError:
            out["ladj"] = out["g"] = NotImplementedError
        res.append(out)
    t, e = res
    assert e["repr"] == t["repr"] and e["shape"] == t["shape"] and e["event"] == t["event"]
    assert e["bij"] == t["bij"]
    for k in ("y", "x", "ladj", "g"):
        if t[k] is NotImplementedError:
            assert e[k] is NotImplementedError, k
        elif name != "Abs" or k == "y":
            assert_close(e[k], t[k], rtol=1e-5, atol=1e-5)


CONSTRAINTS = ["real", "positive", "nonnegative", "unit_interval", "simplex", "boolean",
               "lower_cholesky", "positive_definite", "lower_triangular", "real_vector",
               "nonnegative_integer", "one_hot", "corr_cholesky", "symmetric",
               "positive_semidefinite", "square"]


@pytest.mark.parametrize("name", CONSTRAINTS)
def test_constraints_check_and_repr(torch, name):
    rows = R.randn(4, 3, 3)
    vals = [rows, np.abs(rows), np.eye(3)[None].repeat(4, 0), rows @ np.swapaxes(rows, 1, 2),
            np.tril(np.abs(rows)) + np.eye(3), np.round(rows), (rows > 0).astype(float)]
    vals.append(vals[2] / np.linalg.norm(vals[2], axis=-1, keepdims=True))
    tc, ec = getattr(torch.distributions.constraints, name), \
        getattr(ember.distributions.constraints, name)
    assert repr(ec) == repr(tc)
    assert (ec.event_dim, ec.is_discrete) == (tc.event_dim, tc.is_discrete)
    for v in vals:
        got = ec.check(ember.tensor(v, dtype=ember.float32))
        want = tc.check(torch.tensor(v, dtype=torch.float32))
        assert got.tolist() == want.tolist(), (name, v)


def test_parametrised_constraints(torch):
    for build in (lambda C: C.interval(0.0, 2.0), lambda C: C.half_open_interval(-1.0, 1.0),
                  lambda C: C.greater_than(1.0), lambda C: C.greater_than_eq(1.0),
                  lambda C: C.less_than(0.5), lambda C: C.integer_interval(0, 3),
                  lambda C: C.independent(C.positive, 1), lambda C: C.multinomial(3)):
        tc, ec = build(torch.distributions.constraints), build(ember.distributions.constraints)
        assert repr(ec) == repr(tc)
        v = np.array([[-1.0, 0.0, 0.5, 1.0], [1.5, 2.0, 3.0, 2.5]])
        assert ec.check(ember.tensor(v)).tolist() == tc.check(torch.tensor(v)).tolist()


@pytest.mark.parametrize("name", ["real", "positive", "unit_interval", "simplex",
                                  "lower_cholesky", "real_vector", "interval", "greater_than",
                                  "corr_cholesky", "positive_definite"])
@pytest.mark.parametrize("which", ["biject_to", "transform_to"])
def test_biject_to_transform_to(torch, name, which):
    x = R.randn(2, 3)
    if name in ("lower_cholesky", "positive_definite"):
        x = R.randn(2, 3, 3)
    res = []
    for lib in (torch, ember):
        C = lib.distributions.constraints
        c = {"interval": C.interval(-1.0, 3.0), "greater_than": C.greater_than(2.0)}.get(
            name, getattr(C, name))
        try:
            t = getattr(lib.distributions, which)(c)
        except NotImplementedError:
            res.append(None)
            continue
        y = t(lib.tensor(x, dtype=lib.float32))
        assert bool(c.check(y).all())
        res.append((repr(t), y))
    if res[0] is None:
        assert res[1] is None
        return
    assert res[1][0] == res[0][0]
    assert_close(res[1][1], res[0][1], rtol=1e-5, atol=1e-6)


def test_torch_alias_under_ember_run(tmp_path):
    import subprocess
    import sys
    script = tmp_path / "s.py"
    script.write_text("import torch\nfrom torch.distributions import Normal, kl_divergence\n"
                      "import torch.distributions.constraints as C\n"
                      "d = Normal(torch.zeros(2), torch.ones(2))\n"
                      "print(type(d).__module__, kl_divergence(d, d).tolist(), C.real)\n")
    out = subprocess.run([sys.executable, "-m", "ember", "run", str(script)],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "ember.distributions.normal [0.0, 0.0] Real()"


@pytest.mark.parametrize("build", [
    lambda D: D.Normal(0.0, 1.0), lambda D: D.Exponential(2.0), lambda D: D.Uniform(-1.0, 2.0),
    lambda D: D.Gumbel(0.5, 2.0), lambda D: D.Bernoulli(0.3), lambda D: D.Laplace(0.0, 1.0),
    lambda D: D.Cauchy(1.0, 0.5), lambda D: D.LogNormal(0.0, 0.5), lambda D: D.Beta(2.0, 3.0),
    lambda D: D.Gamma(2.0, 3.0), lambda D: D.Poisson(2.0), lambda D: D.StudentT(3.0)],
    ids=["Normal", "Exponential", "Uniform", "Gumbel", "Bernoulli", "Laplace", "Cauchy",
         "LogNormal", "Beta", "Gamma", "Poisson", "StudentT"])
def test_python_number_parameters(torch, build):
    t, e = build(torch.distributions), build(ember.distributions)
    assert repr(e) == repr(t)
    assert e.batch_shape == tuple(t.batch_shape)
    torch.manual_seed(3)
    ember.manual_seed(3)
    ts, es = t.sample((40,)), e.sample((40,))
    assert tuple(es.shape) == tuple(ts.shape) and str(es.dtype)[6:] == str(ts.dtype)[6:]
    if not isinstance(t, (torch.distributions.Beta, torch.distributions.Gamma,
                          torch.distributions.Poisson, torch.distributions.StudentT)):
        assert_close(es, ts, rtol=1e-5, atol=1e-5)
    assert_close(e.log_prob(ember.tensor(ts.numpy())), t.log_prob(ts), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["Normal", "MultivariateNormal", "LowRankMVN", "Gamma", "Beta",
                                  "Dirichlet", "StudentT", "Gumbel", "Laplace", "Categorical",
                                  "Binomial", "RelaxedOneHot", "Transformed", "Mixture"])
def test_log_prob_gradcheck_float64(name):
    """log_prob is differentiable in float64 (central differences)."""
    fn, params, value = CASES[name]
    arrays = [np.array(p, np.float64) for p in params]
    grad_idx = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]

    def f(*ts):
        full = []
        it = iter(ts)
        for i, a in enumerate(arrays):
            full.append(next(it) if i in grad_idx else ember.tensor(a))
        if name == "MultivariateNormal":  # a symmetric input, as the Cholesky gradient assumes
            full[1] = (full[1] + full[1].mT) / 2
        d = fn(ember.distributions, *full)
        v = np.array(value)
        v = ember.tensor(v) if v.dtype.kind == "i" else ember.tensor(v, dtype=ember.float64)
        return d.log_prob(v)
    inputs = tuple(ember.tensor(arrays[i], dtype=ember.float64, requires_grad=True)
                   for i in grad_idx)
    assert ember.autograd.gradcheck(f, inputs, atol=1e-6, rtol=1e-4)


def test_lkj_cholesky_samples(torch):
    """Correlation factors in the support whose correlations have the moments of torch's
    draws (torch's onion sampler, which ember follows)."""
    stats = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        L = lib.distributions.LKJCholesky(3, lib.tensor(2.0)).sample((40_000,))
        assert bool(lib.distributions.constraints.corr_cholesky.check(L).all())
        C = (L @ L.mT).numpy().astype(np.float64)
        np.testing.assert_allclose(np.diagonal(C, 0, -2, -1), 1.0, atol=1e-5)
        r = C[:, [1, 2, 2], [0, 0, 1]]
        stats.append((r.mean(0), r.var(0)))
    np.testing.assert_allclose(stats[1][0], stats[0][0], atol=0.012)
    np.testing.assert_allclose(stats[1][1], stats[0][1], rtol=0.04)


@pytest.mark.parametrize("name", ["Normal", "Bernoulli", "Categorical", "Uniform", "Exponential",
                                  "Laplace", "Cauchy", "Gumbel", "MultivariateNormal",
                                  "RelaxedOneHot", "Geometric", "VonMises"])
def test_float64_draws_equal_torch(torch, name):
    fn, params, _ = CASES[name]
    ds = []
    for lib in (torch, ember):
        ts = [lib.tensor(np.array(p), dtype=lib.float64) for p in params]
        ds.append(fn(lib.distributions, *ts))
    torch.manual_seed(11)
    ember.manual_seed(11)
    t, e = ds[0].sample((7, 3)), ds[1].sample((7, 3))
    assert str(e.dtype)[6:] == str(t.dtype)[6:]
    assert_close(e, t, rtol=1e-12, atol=1e-12)
    # (VonMises: torch's log I0 is a 1e-7 polynomial fit, ember's is exact)
    tol = 1e-6 if name == "VonMises" else 1e-10
    assert_close(ds[1].log_prob(e), ds[0].log_prob(t), rtol=tol, atol=tol)
