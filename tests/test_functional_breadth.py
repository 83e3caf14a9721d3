"""gumbel_softmax, pdist, the *_with_indices pooling aliases, threshold_/celu_/selu_,
channel_shuffle / ChannelShuffle and multilabel_margin_loss / MultiLabelMarginLoss against
torch."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from helpers import assert_close, check_op, same_error

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("dim", [-1, 0])
def test_gumbel_softmax_same_draws_as_torch(torch, hard, dim):
    logits = RNG.standard_normal((4, 5)).astype(np.float32)
    g = RNG.standard_normal((4, 5)).astype(np.float32)
    outs = []
    for lib in (torch, ember):
        lib.manual_seed(123)
        x = lib.tensor(logits, requires_grad=True)
        y = lib.nn.functional.gumbel_softmax(x, tau=0.7, hard=hard, dim=dim)
        y.backward(lib.tensor(g))
        outs.append((y, x.grad))
    assert_close(outs[1][0], outs[0][0], rtol=1e-5, atol=1e-6)
    assert_close(outs[1][1], outs[0][1], rtol=1e-4, atol=1e-6)
    if hard:
        assert set(np.unique(outs[1][0].detach().numpy())) <= {0.0, 1.0}


def test_gumbel_softmax_gradcheck_and_eps_warning():
    x = ember.tensor(RNG.standard_normal((3, 4)), requires_grad=True)

    def fn(x):
        ember.manual_seed(5)  # the same noise at every evaluation
        return F.gumbel_softmax(x, tau=0.5)
    assert ember.autograd.gradcheck(fn, (x,))
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
        F.gumbel_softmax(x, eps=1e-5)


@pytest.mark.parametrize("p", [2.0, 1.0, 0.0, 3.0, 0.5, float("inf")])
def test_pdist(torch, p):
    x = RNG.standard_normal((6, 4)).astype(np.float32)
    x[4] = x[1]  # a zero distance
    check_op(torch, lambda lib, a: lib.nn.functional.pdist(a, p), x, rtol=1e-5, atol=1e-5)
    xd = ember.tensor(RNG.standard_normal((5, 3)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: F.pdist(a, p), (xd,))


def test_pdist_edge_shapes_and_errors(torch):
    for shape in [(1, 3), (0, 3), (4, 0)]:
        # values only: torch 2.13's pdist backward aborts the process on these shapes
        check_op(torch, lambda lib, a: lib.nn.functional.pdist(a), np.ones(shape, np.float32),
                 grad=False)
        x = ember.ones(*shape, requires_grad=True)
        F.pdist(x).sum().backward()
        assert x.grad.shape == shape and not x.grad.numpy().any()
    for fn in [lambda lib: lib.nn.functional.pdist(lib.ones(3)),
               lambda lib: lib.nn.functional.pdist(lib.ones(3, 2), p=-1),
               lambda lib: lib.nn.functional.pdist(lib.ones(3, 2, dtype=lib.int64))]:
        ee, te = same_error(torch, lambda: fn(ember), lambda: fn(torch))
        assert str(ee) == str(te)


def test_pooling_with_indices_aliases(torch):
    x = RNG.standard_normal((2, 3, 8, 8)).astype(np.float32)
    check_op(torch, lambda lib, a: lib.nn.functional.max_pool2d_with_indices(a, 3, 2, 1), x)
    check_op(torch, lambda lib, a: lib.nn.functional.max_pool1d_with_indices(a[:, 0], 2), x)
    check_op(torch, lambda lib, a: lib.nn.functional.adaptive_max_pool2d_with_indices(a, (3, 5)),
             x)
    check_op(torch, lambda lib, a: lib.nn.functional.adaptive_max_pool1d_with_indices(a[:, 0],
                                                                                      3), x)


@pytest.mark.parametrize("name,args", [("threshold_", (0.1, -2.0)), ("celu_", ()),
                                       ("celu_", (0.5,)), ("selu_", ())])
def test_inplace_activations(torch, name, args):
    x = RNG.standard_normal((3, 4)).astype(np.float32)

    def run(lib, a):
        b = a * 1.0
        out = getattr(lib.nn.functional, name)(b, *args)
        assert out is b
        return b
    check_op(torch, run, x)


@pytest.mark.parametrize("shape,groups", [((2, 6, 3, 3), 3), ((2, 6, 5), 2), ((6, 4, 2), 2),
                                          ((1, 8, 2, 2, 2), 4), ((2, 4, 3), 1)])
def test_channel_shuffle(torch, shape, groups):
    x = RNG.standard_normal(shape).astype(np.float32)
    check_op(torch, lambda lib, a: lib.nn.functional.channel_shuffle(a, groups), x)
    check_op(torch, lambda lib, a: lib.nn.ChannelShuffle(groups)(a), x)
    xd = ember.tensor(x.astype(np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: F.channel_shuffle(a, groups), (xd,))
    assert ember.autograd.gradgradcheck(lambda a: F.channel_shuffle(a, groups), (xd,))


def test_channel_shuffle_module_and_errors(torch):
    assert repr(ember.nn.ChannelShuffle(3)) == repr(torch.nn.ChannelShuffle(3))
    assert list(ember.nn.ChannelShuffle(3).state_dict()) == []
    y = np.zeros((2, 6, 3, 3), np.float32)
    for fn in [lambda lib: lib.nn.functional.channel_shuffle(lib.tensor(y), 4),
               lambda lib: lib.nn.functional.channel_shuffle(lib.ones(3), 1),
               lambda lib: lib.nn.functional.channel_shuffle(lib.tensor(y), 0),
               lambda lib: lib.nn.functional.channel_shuffle(lib.ones(3, 3), 1)]:
        ee, te = same_error(torch, lambda: fn(ember), lambda: fn(torch))
        assert str(ee) == str(te)


TARGETS = np.array([[3, 0, -1, 1, 2], [0, 1, 2, 3, 4], [-1, 0, 0, 0, 0], [4, 4, 2, -1, -1]])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multilabel_margin_loss(torch, reduction):
    x = RNG.standard_normal((4, 5)).astype(np.float32)
    check_op(torch, lambda lib, a, t: lib.nn.functional.multilabel_margin_loss(
        a, t, reduction=reduction), x, TARGETS)
    check_op(torch, lambda lib, a, t: lib.nn.MultiLabelMarginLoss(reduction=reduction)(a, t),
             x[1], TARGETS[0])
    if reduction == "none":  # torch 2.13 reduces an empty batch to uninitialised memory
        check_op(torch, lambda lib, a, t: lib.nn.functional.multilabel_margin_loss(
            a, t, reduction=reduction), x[:0], TARGETS[:0])
    xd = ember.tensor(RNG.standard_normal((4, 5)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: F.multilabel_margin_loss(
        a, ember.tensor(TARGETS), reduction=reduction), (xd,))


def test_multilabel_margin_loss_module_and_errors(torch):
    assert repr(ember.nn.MultiLabelMarginLoss()) == repr(torch.nn.MultiLabelMarginLoss())
    assert ember.nn.MultiLabelMarginLoss(reduction="sum").reduction == "sum"
    for fn in [lambda lib: lib.nn.functional.multilabel_margin_loss(
                   lib.ones(3, 4), lib.tensor([[3, 0, -1, 1]])),
               lambda lib: lib.nn.functional.multilabel_margin_loss(
                   lib.ones(3, 4), lib.tensor([[4, 0, -1, 1]] * 3)),
               lambda lib: lib.nn.functional.multilabel_margin_loss(
                   lib.ones(2, 3, 4), lib.zeros(2, 3, 4, dtype=lib.int64)),
               lambda lib: lib.nn.functional.multilabel_margin_loss(
                   lib.ones(3, 4), lib.zeros(3, 4))]:
        ee, te = same_error(torch, lambda: fn(ember), lambda: fn(torch))
        assert str(ee) == str(te)


def test_top_level_names(torch):
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    check_op(torch, lambda lib, a: lib.pdist(a, 1.5), x)
    y = RNG.standard_normal((2, 6, 3)).astype(np.float32)
    check_op(torch, lambda lib, a: lib.channel_shuffle(a, 2), y)
    for name, args in [("threshold_", (0.1, 2.0)), ("celu_", (0.7,)), ("selu_", ())]:
        check_op(torch, lambda lib, a: getattr(lib, name)(a * 1.0, *args), x)
