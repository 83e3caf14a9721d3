"""Group / instance / batch normalization (ops/double_recompute.py) and max pooling
(ops/pooling_double.py) under create_graph: a gradient penalty through them against torch
(training and eval batch norm, affine or not; pooling with padding, dilation, ceil_mode),
float64 gradgradcheck, and the recorded inputs dropped with the graph."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from helpers import assert_close

X = np.random.default_rng(17).standard_normal((3, 4, 5, 5)).astype(np.float32)


def _norms(fw):
    nn = fw.nn
    return {
        "group": lambda: nn.GroupNorm(2, 4),
        "group_plain": lambda: nn.GroupNorm(4, 4, affine=False),
        "instance": lambda: nn.InstanceNorm2d(4, affine=True),
        "instance_running": lambda: nn.InstanceNorm2d(4, track_running_stats=True),
        "batch": lambda: nn.BatchNorm2d(4),
        "batch_eval": lambda: nn.BatchNorm2d(4).eval(),
        "batch_plain": lambda: nn.BatchNorm2d(4, affine=False),
    }


def _critic(fw, name):
    nn = fw.nn
    fw.manual_seed(0)
    conv, norm = nn.Conv2d(4, 4, 3, padding=1), _norms(fw)[name]()
    if name == "batch_eval":
        with fw.no_grad():
            norm.running_mean.add_(0.3)
            norm.running_var.mul_(2.0)
    x = fw.tensor(X, requires_grad=True)
    h = nn.functional.silu(norm(conv(x)))
    out = (h * h.detach().flip(-1)).flatten(1).sum(1)
    g, = fw.autograd.grad(out.sum(), x, create_graph=True)
    penalty = ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    (out.mean() + 10 * penalty).backward()
    return [penalty, x.grad] + [p.grad for p in list(conv.parameters()) + list(norm.parameters())]


@pytest.mark.parametrize("name", list(_norms(ember)))
def test_gradient_penalty_through_norms_matches_torch(torch, name):
    for e, t in zip(_critic(ember, name), _critic(torch, name)):
        assert_close(e, t, rtol=5e-4, atol=5e-4)


@pytest.mark.parametrize("kind", ["group", "batch"])
def test_gradgradcheck_float64(kind):
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal((3, 4, 3, 2)), requires_grad=True)
    w = ember.tensor(rng.standard_normal(4), requires_grad=True)
    b = ember.tensor(rng.standard_normal(4), requires_grad=True)
    c = ember.tensor(rng.standard_normal((3, 4, 3, 2)))
    F = ember.nn.functional

    def penalty(x, w, b):
        y = F.group_norm(x, 2, w, b) if kind == "group" else \
            F.batch_norm(x, None, None, w, b, training=True)
        gx, gw = ember.autograd.grad((y * y * c).sum(), (x, w), create_graph=True)
        return (gx * gx).sum() + (gw * gw).sum()

    assert gradcheck(penalty, (x, w, b))


def test_recorded_inputs_are_dropped_with_the_graph():
    norm = ember.nn.GroupNorm(2, 4)
    y = norm(ember.tensor(X, requires_grad=True))
    node = y.grad_fn
    assert node.recompute is not None
    y.sum().backward()
    assert node.recompute is None


@pytest.mark.parametrize("args", [(2,), (3, 1, 1), (2, 2, 0, 1, True), (3, 2, 1, 2)])
def test_gradient_penalty_through_max_pooling_matches_torch(torch, args):
    """Max pooling's double backward: g scattered to the winners, recorded (pooling_double)."""
    res = []
    for fw in (ember, torch):
        fw.manual_seed(0)
        conv = fw.nn.Conv2d(4, 3, 3, padding=1)
        x = fw.tensor(X, requires_grad=True)
        h = fw.nn.functional.max_pool2d(conv(x).tanh(), *args)
        out = (h * h).flatten(1).sum(1)
        g, = fw.autograd.grad(out.sum(), x, create_graph=True)
        penalty = (g * g).sum()
        (out.mean() + penalty).backward()
        res.append([penalty, x.grad, conv.weight.grad, conv.bias.grad])
    for e, t in zip(*res):
        assert_close(e, t, rtol=5e-4, atol=5e-4)


def test_max_pool_gradgradcheck_float64():
    x = ember.tensor(np.random.default_rng(2).permutation(2 * 2 * 6 * 5).reshape(2, 2, 6, 5)
                     / 7.0, requires_grad=True)

    def penalty(x):
        y = ember.nn.functional.max_pool2d(x, 2, 1)
        g, = ember.autograd.grad((y * y * y).sum(), x, create_graph=True)
        return (g * g).sum()

    assert gradcheck(penalty, (x,))
