"""Second-order training steps against torch: a MAML inner/outer step on a small CNN (conv,
batch norm, ReLU, max pooling, linear, cross entropy: every gradient of the inner step is
differentiated by the outer one), cross entropy / NLL double backward over weights, ignored
targets and reductions (ops/loss_double.py), and average / adaptive pooling and reflection /
replication / circular padding under create_graph (ops/pooling_double.py, F.pad)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from helpers import assert_close

RNG = np.random.default_rng(23)
XS, XQ = (RNG.standard_normal((6, 1, 10, 10)).astype(np.float32) for _ in range(2))
YS, YQ = RNG.integers(0, 3, 6), RNG.integers(0, 3, 6)
PARAMS = {"w1": RNG.standard_normal((4, 1, 3, 3)).astype(np.float32) * 0.5,
          "b1": RNG.standard_normal(4).astype(np.float32) * 0.1,
          "g1": 1 + 0.1 * RNG.standard_normal(4).astype(np.float32),
          "h1": 0.1 * RNG.standard_normal(4).astype(np.float32),
          "w2": RNG.standard_normal((3, 4 * 4 * 4)).astype(np.float32) * 0.2,
          "b2": np.zeros(3, np.float32)}


def _forward(fw, p, x):
    F = fw.nn.functional
    h = F.conv2d(x, p["w1"], p["b1"])
    h = F.batch_norm(h, None, None, p["g1"], p["h1"], training=True)
    h = F.max_pool2d(F.relu(h), 2)
    return F.linear(h.flatten(1), p["w2"], p["b2"])


def _maml(fw):
    F = fw.nn.functional
    p = {k: fw.tensor(v, requires_grad=True) for k, v in PARAMS.items()}
    inner = F.cross_entropy(_forward(fw, p, fw.tensor(XS)), fw.tensor(YS))
    grads = fw.autograd.grad(inner, list(p.values()), create_graph=True)
    fast = {k: v - 0.4 * g for (k, v), g in zip(p.items(), grads)}
    outer = F.cross_entropy(_forward(fw, fast, fw.tensor(XQ)), fw.tensor(YQ))
    outer.backward()
    return [outer] + [v.grad for v in p.values()]


def test_maml_meta_gradient_matches_torch(torch):
    for e, t in zip(_maml(ember), _maml(torch)):
        assert_close(e, t, rtol=5e-4, atol=5e-5)


@pytest.mark.parametrize("kind", ["ce", "nll"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted,ignore", [(False, False), (True, False), (True, True),
                                             (False, True)])
def test_class_loss_double_backward_matches_torch(torch, kind, reduction, weighted, ignore):
    x = RNG.standard_normal((5, 4)).astype(np.float64)
    t = np.array([0, 3, 1, 1, 2])
    if ignore:
        t[2] = -100
    wts = np.array([0.5, 2.0, 1.0, 1.5]) if weighted else None
    res = []
    for fw in (ember, torch):
        xi = fw.tensor(x, requires_grad=True)
        inp = xi if kind == "ce" else xi.log_softmax(1)
        fn = fw.nn.functional.cross_entropy if kind == "ce" else fw.nn.functional.nll_loss
        loss = fn(inp, fw.tensor(t), weight=None if wts is None else fw.tensor(wts),
                  reduction=reduction)
        g, = fw.autograd.grad(loss.sum(), xi, create_graph=True)
        (g * g.detach().cos()).sum().backward()
        res.append((loss, g, xi.grad))
    for e, t_ in zip(*res):
        assert_close(e, t_, rtol=1e-7, atol=1e-9)


def test_cross_entropy_gradgradcheck_float64():
    x = ember.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    t = ember.tensor([0, 2, 1, 2])

    def f(x):
        g, = ember.autograd.grad(ember.nn.functional.cross_entropy(x, t), x, create_graph=True)
        return (g * g).sum()

    assert gradcheck(f, (x,))


@pytest.mark.parametrize("name", ["avg", "avg_pad", "avg_ceil_div", "adaptive_avg",
                                  "adaptive_max", "reflect", "replicate", "circular"])
def test_linear_pools_and_pads_double_backward_match_torch(torch, name):
    x = RNG.standard_normal((2, 3, 7, 6)).astype(np.float64)
    res = []
    for fw in (ember, torch):
        F = fw.nn.functional
        op = {"avg": lambda t: F.avg_pool2d(t, 2),
              "avg_pad": lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False),
              "avg_ceil_div": lambda t: F.avg_pool2d(t, 3, 2, 1, True, True, 2),
              "adaptive_avg": lambda t: F.adaptive_avg_pool2d(t, (3, 4)),
              "adaptive_max": lambda t: F.adaptive_max_pool2d(t, (3, 2)),
              "reflect": lambda t: F.pad(t, (2, 1, 1, 2), mode="reflect"),
              "replicate": lambda t: F.pad(t, (2, 1, 1, 2), mode="replicate"),
              "circular": lambda t: F.pad(t, (2, 1, 1, 2), mode="circular")}[name]
        xi = fw.tensor(x, requires_grad=True)
        y = op(xi)
        g, = fw.autograd.grad((y * y * y).sum(), xi, create_graph=True)
        (g * g).sum().backward()
        res.append((g, xi.grad))
    for e, t in zip(*res):
        assert_close(e, t, rtol=1e-9, atol=1e-9)
