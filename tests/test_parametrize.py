"""nn.utils.parametrize and nn.utils.parametrizations (weight_norm, spectral_norm, orthogonal)
against torch: state_dict keys and values, reprs, parametrized weights, gradients, power
iteration in train / eval, caching, removal, errors, and gradchecks."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as enn
from ember.autograd import gradcheck
from ember.nn.utils import parametrizations as EP
from ember.nn.utils import parametrize as EPZ
from helpers import assert_close, same_error

CTORS = {"linear": lambda L: L.nn.Linear(3, 4), "linear_wide": lambda L: L.nn.Linear(5, 3),
         "square": lambda L: L.nn.Linear(4, 4), "conv": lambda L: L.nn.Conv2d(2, 3, 3),
         "convT": lambda L: L.nn.ConvTranspose2d(2, 3, 3)}


def _pair_modules(torch, ctor, fe, ft):
    torch.manual_seed(0)
    tm = ft(CTORS[ctor](torch))
    ember.manual_seed(0)
    em = fe(CTORS[ctor](ember))
    return em, tm


def _compare(torch, em, tm, atol=1e-6):
    assert repr(em) == repr(tm)
    se, st = em.state_dict(), tm.state_dict()
    assert list(se) == list(st)
    for k in st:
        assert_close(se[k], st[k], 1e-5, atol)
    assert_close(em.weight, tm.weight.detach(), 1e-5, atol)


def _backward(torch, em, tm, x):
    oe, ot = em(ember.tensor(x)), tm(torch.tensor(x))
    assert_close(oe, ot, 1e-4, 1e-5)
    oe.square().sum().backward()
    ot.square().sum().backward()
    for (n, p), (m, q) in zip(em.named_parameters(), tm.named_parameters()):
        assert n == m
        assert_close(p.grad, q.grad, 1e-4, 1e-4)


def _input(ctor):
    rng = np.random.default_rng(1)
    shape = {"linear": (2, 3), "linear_wide": (2, 5), "square": (2, 4), "conv": (2, 2, 5, 5),
             "convT": (2, 2, 4, 4)}[ctor]
    return rng.standard_normal(shape).astype(np.float32)


PARAMS = [
    ("weight_norm", {}), ("weight_norm", dict(dim=1)), ("weight_norm", dict(dim=None)),
    ("spectral_norm", {}), ("spectral_norm", dict(n_power_iterations=3)),
    ("orthogonal", {}), ("orthogonal", dict(orthogonal_map="cayley")),
    ("orthogonal", dict(orthogonal_map="matrix_exp")),
    ("orthogonal", dict(orthogonal_map="householder")),
    ("orthogonal", dict(use_trivialization=False)),
    ("orthogonal", dict(use_trivialization=False, orthogonal_map="householder")),
]


@pytest.mark.parametrize("fn,kw", PARAMS)
@pytest.mark.parametrize("ctor", list(CTORS))
def test_parametrizations_match_torch(torch, fn, kw, ctor):
    em, tm = _pair_modules(torch, ctor, lambda m: getattr(EP, fn)(m, **kw),
                           lambda m: getattr(torch.nn.utils.parametrizations, fn)(m, **kw))
    _compare(torch, em, tm)
    _backward(torch, em, tm, _input(ctor))
    # a second step (spectral norm iterates again in training, not in eval)
    _compare(torch, em, tm)
    em.eval()
    tm.eval()
    _backward(torch, em, tm, _input(ctor))
    _compare(torch, em, tm)


def test_state_dict_round_trip_from_torch(torch):
    torch.manual_seed(3)
    tm = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv2d(2, 4, 3))
    em = EP.weight_norm(enn.Conv2d(2, 4, 3))
    res = em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    assert list(res.missing_keys) == [] and list(res.unexpected_keys) == []
    assert_close(em.weight, tm.weight.detach())
    torch.manual_seed(3)
    tm = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(3, 5))
    em = EP.spectral_norm(enn.Linear(3, 5))
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    em.eval()
    tm.eval()
    assert_close(em.weight, tm.weight.detach())


class _Symmetric:
    """A custom parametrization, built for either library."""

    @staticmethod
    def make(L, with_inverse=True):
        class Symmetric(L.nn.Module):
            def forward(self, X):
                return X.triu() + X.triu(1).mT if hasattr(X, "triu") else \
                    X * L.tensor(np.triu(np.ones(X.shape, np.float32))) + \
                    (X * L.tensor(np.triu(np.ones(X.shape, np.float32), 1))).mT

            if with_inverse:
                def right_inverse(self, A):
                    return A * L.tensor(np.triu(np.ones(A.shape, np.float32)))
        return Symmetric()


class _Scale:
    @staticmethod
    def make(L):
        class Scale(L.nn.Module):
            def forward(self, X):
                return X * 2.0

            def right_inverse(self, X):
                return X / 2.0
        return Scale()


def test_register_remove_cached_and_assignment(torch):
    res = []
    for L, P in ((torch, torch.nn.utils.parametrize), (ember, EPZ)):
        L.manual_seed(0)
        m = L.nn.Linear(4, 4)
        P.register_parametrization(m, "weight", _Symmetric.make(L))
        P.register_parametrization(m, "weight", _Scale.make(L))
        assert P.is_parametrized(m) and P.is_parametrized(m, "weight")
        assert not P.is_parametrized(m, "bias")
        assert P.type_before_parametrizations(m) is L.nn.Linear
        w = m.weight
        assert np.allclose(w.detach().numpy(), w.detach().numpy().T)
        with P.cached():
            assert m.weight is m.weight
        assert m.weight is not m.weight
        m.weight = L.tensor(np.arange(16, dtype=np.float32).reshape(4, 4))
        after_set = m.weight.detach().numpy().copy()
        keys = list(m.state_dict())
        r = repr(m)
        P.remove_parametrizations(m, "weight")
        removed = (type(m).__name__, list(m.state_dict()), m.weight.detach().numpy().copy(),
                   isinstance(m.weight, L.nn.Parameter))
        res.append((keys, r, after_set, removed))
    (kt, rt, st, remt), (ke, re_, se, reme) = res
    assert ke == kt and re_ == rt
    np.testing.assert_allclose(se, st)
    assert reme[0] == remt[0] == "Linear" and reme[1] == remt[1] and reme[3] and remt[3]
    np.testing.assert_allclose(reme[2], remt[2])


def test_remove_keeping_original_and_buffers(torch):
    out = []
    for L, P in ((torch, torch.nn.utils.parametrize), (ember, EPZ)):
        L.manual_seed(0)
        m = L.nn.BatchNorm1d(3)
        P.register_parametrization(m, "running_mean", _Scale.make(L))
        keys = list(m.state_dict())
        rm = m.running_mean.numpy().copy()
        P.remove_parametrizations(m, "running_mean", leave_parametrized=False)
        out.append((keys, rm, list(m.state_dict()), list(m._buffers)))
    assert out[0][0] == out[1][0]
    np.testing.assert_allclose(out[0][1], out[1][1])
    assert out[0][2:] == out[1][2:]


def test_parametrize_errors(torch):
    for fn in (
        lambda L, P: P.register_parametrization(L.nn.Linear(2, 3), "nope", _Scale.make(L)),
        lambda L, P: P.remove_parametrizations(L.nn.Linear(2, 3), "weight"),
        lambda L, P: P.register_parametrization(L.nn.Linear(2, 3), "weight",
                                                _Shrink.make(L)),
        lambda L, P: P.remove_parametrizations(
            (L.nn.utils.parametrizations if L is torch else EP).weight_norm(L.nn.Linear(2, 3)),
            "weight", leave_parametrized=False),
        lambda L, P: (L.nn.utils.parametrizations if L is torch else EP).orthogonal(
            L.nn.Linear(2, 3), orthogonal_map="qr"),
        lambda L, P: (L.nn.utils.parametrizations if L is torch else EP).orthogonal(
            L.nn.Linear(2, 3), "bias"),
    ):
        same_error(torch, lambda: fn(ember, EPZ), lambda: fn(torch, torch.nn.utils.parametrize))


class _Shrink:
    @staticmethod
    def make(L):
        class Shrink(L.nn.Module):
            def forward(self, X):
                return X[:1]
        return Shrink()


def test_matrix_function_gradchecks():
    from ember.nn.utils._matrix_functions import matrix_exp, solve
    rng = np.random.default_rng(0)
    a = ember.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    assert gradcheck(matrix_exp, (a,))
    big = ember.tensor(rng.standard_normal((2, 3, 3)) * 3, requires_grad=True)
    assert gradcheck(matrix_exp, (big,))
    b = ember.tensor(rng.standard_normal((3, 3)) + 3 * np.eye(3), requires_grad=True)
    c = ember.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    assert gradcheck(solve, (b, c))
    m = enn.Linear(3, 3).double()
    EP.weight_norm(m)
    g, v = m.parametrizations.weight.original0, m.parametrizations.weight.original1
    assert gradcheck(lambda g, v: m.parametrizations.weight[0](g, v), (g, v))
    o = EP.orthogonal(enn.Linear(3, 4).double(), orthogonal_map="householder")
    # the map reads the diagonal's signs through int(): keep it away from the integers
    xa = rng.standard_normal((4, 3))
    xa[np.arange(3), np.arange(3)] = [-1.5, 1.5, -1.5]
    x = ember.tensor(xa, requires_grad=True)
    assert gradcheck(lambda x: o.parametrizations.weight[0](x), (x,))


# ---- the hook-based forms: nn.utils.weight_norm / spectral_norm ---------------------------------
@pytest.mark.parametrize("fn", ["weight_norm", "spectral_norm"])
@pytest.mark.parametrize("ctor", ["linear", "conv", "convT"])
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_hook_based_norms_match_torch(torch, fn, ctor):
    em, tm = _pair_modules(torch, ctor, getattr(enn.utils, fn), getattr(torch.nn.utils, fn))
    assert list(em.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        assert_close(em.state_dict()[k], v, 1e-5, 1e-6)
    for train in (True, True, False):
        em.train(train)
        tm.train(train)
        _backward(torch, em, tm, _input(ctor))
        for k, v in tm.state_dict().items():
            assert_close(em.state_dict()[k], v, 1e-5, 1e-6)
    assert repr(em) == repr(tm)
    getattr(enn.utils, "remove_" + fn)(em)
    getattr(torch.nn.utils, "remove_" + fn)(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert_close(em.weight, tm.weight.detach(), 1e-5, 1e-6)
    same_error(torch, lambda: getattr(enn.utils, "remove_" + fn)(em),
               lambda: getattr(torch.nn.utils, "remove_" + fn)(tm))


def test_weight_norm_warns_and_rejects_twice(torch):
    with pytest.warns(FutureWarning):
        m = enn.utils.weight_norm(enn.Linear(2, 3))
    with pytest.warns(FutureWarning):
        t = torch.nn.utils.weight_norm(torch.nn.Linear(2, 3))
    same_error(torch, lambda: enn.utils.spectral_norm(enn.utils.spectral_norm(enn.Linear(2, 3))),
               lambda: torch.nn.utils.spectral_norm(torch.nn.utils.spectral_norm(
                   torch.nn.Linear(2, 3))))
    assert list(m.state_dict()) == list(t.state_dict())
