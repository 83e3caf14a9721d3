"""kl_divergence against torch's registered pairs: values, gradients, dispatch, register_kl."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from helpers import assert_close

# family: builder(D, lib) of a batch of 2 distributions with gradient-carrying parameters
FAMILIES = {
    "Normal": lambda D, t: D.Normal(t([0.0, 1.0]), t([1.0, 2.0])),
    "Bernoulli": lambda D, t: D.Bernoulli(t([0.2, 0.7])),
    "Beta": lambda D, t: D.Beta(t([0.5, 2.5]), t([1.5, 2.0])),
    "Binomial": lambda D, t: D.Binomial(5, t([0.2, 0.7])),
    "Categorical": lambda D, t: D.Categorical(t([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]])),
    "OneHotCategorical": lambda D, t: D.OneHotCategorical(t([[0.2, 0.3, 0.5],
                                                             [0.1, 0.6, 0.3]])),
    "Dirichlet": lambda D, t: D.Dirichlet(t([[0.5, 3.0, 1.0], [1.0, 2.0, 2.0]])),
    "Exponential": lambda D, t: D.Exponential(t([0.5, 2.0])),
    "Gamma": lambda D, t: D.Gamma(t([0.5, 2.5]), t([1.0, 2.0])),
    "Gumbel": lambda D, t: D.Gumbel(t([0.0, 1.0]), t([1.0, 2.0])),
    "Laplace": lambda D, t: D.Laplace(t([0.0, 1.0]), t([1.0, 2.0])),
    "Poisson": lambda D, t: D.Poisson(t([0.5, 3.0])),
    "Uniform": lambda D, t: D.Uniform(t([0.1, 0.2]), t([0.9, 0.7])),
    "Cauchy": lambda D, t: D.Cauchy(t([0.0, 1.0]), t([1.0, 2.0])),
    "MultivariateNormal": lambda D, t: D.MultivariateNormal(
        t([[0.0, 1.0], [1.0, -1.0]]), t([[2.0, 0.5], [0.5, 1.0]])),
    "LowRankMultivariateNormal": lambda D, t: D.LowRankMultivariateNormal(
        t([[0.0, 1.0], [1.0, -1.0]]), t([[[1.0], [0.5]], [[0.3], [0.2]]]), t([1.0, 2.0])),
    "Independent": lambda D, t: D.Independent(D.Normal(t([[0.0, 1.0]]), t([[1.0, 2.0]])), 1),
    "LogNormal": lambda D, t: D.LogNormal(t([0.0, 1.0]), t([1.0, 0.5])),
    "Geometric": lambda D, t: D.Geometric(t([0.2, 0.7])),
    "HalfNormal": lambda D, t: D.HalfNormal(t([1.0, 2.0])),
    "Pareto": lambda D, t: D.Pareto(t([0.5, 1.0]), t([3.0, 1.5])),
    "ContinuousBernoulli": lambda D, t: D.ContinuousBernoulli(t([0.2, 0.7])),
}
# a second member of each family (other parameters), so KL(p || q) is not zero
SECOND = {
    "Normal": lambda D, t: D.Normal(t([0.5, -1.0]), t([2.0, 0.7])),
    "Bernoulli": lambda D, t: D.Bernoulli(t([0.6, 0.1])),
    "Beta": lambda D, t: D.Beta(t([2.0, 1.0]), t([0.7, 3.0])),
    "Binomial": lambda D, t: D.Binomial(5, t([0.5, 0.4])),
    "Categorical": lambda D, t: D.Categorical(t([[0.6, 0.3, 0.1], [0.3, 0.3, 0.4]])),
    "OneHotCategorical": lambda D, t: D.OneHotCategorical(t([[0.6, 0.3, 0.1],
                                                             [0.3, 0.3, 0.4]])),
    "Dirichlet": lambda D, t: D.Dirichlet(t([[1.5, 1.0, 2.0], [0.5, 0.5, 3.0]])),
    "Exponential": lambda D, t: D.Exponential(t([1.5, 0.3])),
    "Gamma": lambda D, t: D.Gamma(t([1.5, 0.5]), t([0.5, 3.0])),
    "Gumbel": lambda D, t: D.Gumbel(t([1.0, -1.0]), t([2.0, 0.5])),
    "Laplace": lambda D, t: D.Laplace(t([1.0, -1.0]), t([2.0, 0.5])),
    "Poisson": lambda D, t: D.Poisson(t([2.0, 0.4])),
    "Uniform": lambda D, t: D.Uniform(t([0.0, 0.1]), t([1.0, 0.8])),
    "Cauchy": lambda D, t: D.Cauchy(t([1.0, -1.0]), t([2.0, 0.5])),
    "MultivariateNormal": lambda D, t: D.MultivariateNormal(
        t([[1.0, 0.0], [0.0, 0.0]]), scale_tril=t([[1.0, 0.0], [0.4, 0.7]])),
    "LowRankMultivariateNormal": lambda D, t: D.LowRankMultivariateNormal(
        t([[0.5, 0.0], [1.0, 1.0]]), t([[[0.2], [0.9]], [[1.0], [0.0]]]), t([0.5, 1.0])),
    "Independent": lambda D, t: D.Independent(D.Normal(t([[1.0, 0.0]]), t([[0.5, 1.0]])), 1),
    "LogNormal": lambda D, t: D.LogNormal(t([0.5, -1.0]), t([2.0, 0.7])),
    "Geometric": lambda D, t: D.Geometric(t([0.5, 0.1])),
    "HalfNormal": lambda D, t: D.HalfNormal(t([0.5, 3.0])),
    "Pareto": lambda D, t: D.Pareto(t([0.7, 0.5]), t([1.0, 2.0])),
    "ContinuousBernoulli": lambda D, t: D.ContinuousBernoulli(t([0.6, 0.3])),
}

PAIRS = [(f, f) for f in FAMILIES] + [
    ("Bernoulli", "Poisson"), ("Beta", "Exponential"), ("Beta", "Gamma"), ("Beta", "Normal"),
    ("Beta", "Uniform"), ("Exponential", "Gamma"), ("Exponential", "Gumbel"),
    ("Exponential", "Normal"), ("Gamma", "Exponential"), ("Gamma", "Gumbel"),
    ("Gamma", "Normal"), ("Gumbel", "Normal"), ("Laplace", "Normal"), ("Normal", "Gumbel"),
    ("Normal", "Laplace"), ("Uniform", "Beta"), ("Uniform", "Exponential"),
    ("Uniform", "Gamma"), ("Uniform", "Gumbel"), ("Uniform", "Normal"),
    ("MultivariateNormal", "LowRankMultivariateNormal"),
    ("LowRankMultivariateNormal", "MultivariateNormal"),
    ("Exponential", "Beta"), ("Exponential", "Uniform"), ("Gamma", "Beta"),
    ("Gamma", "Uniform"), ("Gumbel", "Beta"), ("Gumbel", "Exponential"), ("Gumbel", "Gamma"),
    ("Gumbel", "Uniform"), ("Laplace", "Beta"), ("Laplace", "Exponential"),
    ("Laplace", "Gamma"), ("Laplace", "Uniform"), ("Normal", "Beta"), ("Normal", "Exponential"),
    ("Normal", "Gamma"), ("Normal", "Uniform"), ("Poisson", "Bernoulli"),
    ("Poisson", "Binomial"), ("Beta", "ContinuousBernoulli"), ("Uniform", "ContinuousBernoulli"),
    ("ContinuousBernoulli", "Exponential"), ("ContinuousBernoulli", "Normal"),
    ("ContinuousBernoulli", "Uniform"), ("ContinuousBernoulli", "Pareto"),
    ("Pareto", "Exponential"), ("Pareto", "Gamma"), ("Pareto", "Normal"),
    ("Uniform", "Pareto"), ("Beta", "Pareto"), ("Exponential", "Pareto"),
    ("Normal", "ContinuousBernoulli"), ("Pareto", "Beta"), ("Gamma", "Pareto"),
]


def _kl(lib, fp, fq):
    leaves = []

    def t(v):
        x = lib.tensor(v, dtype=lib.float32, requires_grad=True)
        leaves.append(x)
        return x
    D = lib.distributions
    p = FAMILIES[fp](D, t)
    q = (SECOND if fp == fq else FAMILIES)[fq](D, t)
    kl = D.kl_divergence(p, q)
    if not kl.requires_grad:  # (the infinite pairs)
        return kl, [None] * len(leaves)
    finite = lib.tensor(np.isfinite(kl.detach().numpy()))
    grads = lib.autograd.grad(kl.where(finite, lib.zeros_like(kl)).sum(), leaves,
                              allow_unused=True)
    return kl, grads


@pytest.mark.parametrize("fp,fq", PAIRS, ids=[f"{p}-{q}" for p, q in PAIRS])
def test_kl_matches_torch(torch, fp, fq):
    tk, tg = _kl(torch, fp, fq)
    ek, eg = _kl(ember, fp, fq)
    assert_close(ek, tk, rtol=2e-5, atol=2e-5)
    assert len(eg) == len(tg)
    for e, t in zip(eg, tg):
        if t is None or not np.any(t.numpy()):
            assert e is None or not np.any(e.numpy())
        else:
            assert_close(e, t, rtol=2e-4, atol=2e-4)


def test_kl_errors_and_register_kl(torch):
    D = ember.distributions
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for "
                                                  "p type Cauchy and q type Normal"):
        D.kl_divergence(D.Cauchy(0.0, 1.0), D.Normal(0.0, 1.0))

    class MyNormal(D.Normal):
        pass

    # a subclass dispatches to its base's closed form, until a more specific one is registered
    p, q = MyNormal(0.0, 1.0), D.Normal(1.0, 2.0)
    assert_close(D.kl_divergence(p, q), torch.distributions.kl_divergence(
        torch.distributions.Normal(0.0, 1.0), torch.distributions.Normal(1.0, 2.0)))

    @D.register_kl(MyNormal, D.Normal)
    def _kl_mine(p, q):
        return ember.tensor(42.0)
    assert D.kl_divergence(p, q).item() == 42.0
    assert D.kl_divergence(q, D.Normal(0.0, 1.0)).item() != 42.0
    # the exponential-family Bregman form refuses mixed families, as torch's
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Poisson(ember.tensor([1.0])), D.Exponential(ember.tensor([1.0])))


def test_kl_exponential_family_bregman_matches_closed_form(torch):
    """The generic Bregman-divergence KL (autograd of the log-normalizer) agrees with the
    closed forms, as torch checks its own."""
    from ember.distributions.kl import _kl_expfamily_expfamily
    D = ember.distributions
    for p, q in [(D.Normal(ember.tensor([0.0, 1.0]), ember.tensor([1.0, 2.0])),
                  D.Normal(ember.tensor([0.5, -1.0]), ember.tensor([2.0, 0.7]))),
                 (D.Gamma(ember.tensor([0.5, 2.5]), ember.tensor([1.0, 2.0])),
                  D.Gamma(ember.tensor([1.5, 0.5]), ember.tensor([0.5, 3.0]))),
                 (D.Dirichlet(ember.tensor([0.5, 3.0, 1.0])),
                  D.Dirichlet(ember.tensor([1.5, 1.0, 2.0]))),
                 (D.Bernoulli(ember.tensor([0.2, 0.7])), D.Bernoulli(ember.tensor([0.6, 0.1]))),
                 (D.Poisson(ember.tensor([0.5, 3.0])), D.Poisson(ember.tensor([2.0, 0.4]))),
                 (D.Exponential(ember.tensor([0.5, 2.0])),
                  D.Exponential(ember.tensor([1.5, 0.3])))]:
        assert_close(_kl_expfamily_expfamily(p, q), D.kl_divergence(p, q), rtol=1e-4,
                     atol=1e-5, check_dtype=False)
        if "_mean_carrier_measure" in vars(type(p)):  # (the families torch gives one)
            assert_close(p.entropy(), D.ExponentialFamily.entropy(p), rtol=1e-4, atol=1e-5,
                         check_dtype=False)
