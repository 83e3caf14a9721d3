"""BatchNorm1d/2d and LayerNorm against torch: train/eval outputs, every gradient, running
statistics over several steps (momentum and cumulative average), buffers, state_dict, reprs,
errors; float64 gradchecks."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck
from helpers import assert_close, same_error

RNG = np.random.default_rng(0)


def _get(module, dotted: str):
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def _copy_params(em, tm):
    for name, p in tm.named_parameters():
        _get(em, name)._data[...] = p.detach().numpy()


def _step(torch, em, tm, x):
    """One forward/backward on both; compares output, input gradient, parameter gradients."""
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    oe, ot = em(xe), tm(xt)
    assert_close(oe, ot, rtol=1e-4, atol=1e-5)
    assert type(oe.grad_fn).__name__ == type(ot.grad_fn).__name__
    g = RNG.standard_normal(tuple(ot.shape)).astype(x.dtype)
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    assert_close(xe.grad, xt.grad, rtol=1e-4, atol=1e-5)
    for name, p in tm.named_parameters():
        assert_close(_get(em, name).grad, p.grad, rtol=1e-4, atol=1e-4)
        _get(em, name).grad = None
        p.grad = None


def _buffers_equal(em, tm):
    for name, b in tm.named_buffers():
        assert_close(_get(em, name), b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 5, 6))])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_train_then_eval(torch, cls, shape, momentum, affine):
    tm = getattr(torch.nn, cls)(3, eps=1e-4, momentum=momentum, affine=affine)
    em = getattr(nn, cls)(3, eps=1e-4, momentum=momentum, affine=affine)
    if affine:  # non-trivial affine parameters
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
            tm.bias.uniform_(-1, 1)
        _copy_params(em, tm)
    for _ in range(3):
        x = (RNG.standard_normal(shape) * 2 + 1).astype(np.float32)
        _step(torch, em, tm, x)
        _buffers_equal(em, tm)
    assert em.num_batches_tracked.dtype == ember.int64
    assert int(em.num_batches_tracked) == 3
    tm.eval()
    em.eval()
    _step(torch, em, tm, RNG.standard_normal(shape).astype(np.float32))
    _buffers_equal(em, tm)  # eval leaves the statistics alone
    assert int(em.num_batches_tracked) == 3


def test_batchnorm_running_var_is_unbiased(torch):
    em = nn.BatchNorm1d(2, momentum=1.0)
    x = RNG.standard_normal((5, 2)).astype(np.float32)
    em(ember.tensor(x))
    np.testing.assert_allclose(em.running_var.numpy(), x.var(axis=0, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(em.running_mean.numpy(), x.mean(axis=0), rtol=1e-5, atol=1e-7)


def test_batchnorm_without_running_stats(torch):
    tm = torch.nn.BatchNorm2d(3, track_running_stats=False)
    em = nn.BatchNorm2d(3, track_running_stats=False)
    assert em.running_mean is None and em.num_batches_tracked is None
    x = RNG.standard_normal((2, 3, 4, 4)).astype(np.float32)
    _step(torch, em, tm, x)
    tm.eval()
    em.eval()  # still normalises with the batch's statistics
    _step(torch, em, tm, x)
    assert list(em.state_dict()) == list(tm.state_dict()) == ["weight", "bias"]


def test_batchnorm_float64_and_no_bias(torch):
    tm = torch.nn.BatchNorm1d(4, bias=False, dtype=torch.float64)
    em = nn.BatchNorm1d(4, bias=False, dtype=ember.float64)
    assert repr(em) == repr(tm)
    _step(torch, em, tm, RNG.standard_normal((6, 4)))
    assert list(em.state_dict()) == list(tm.state_dict())


def test_batchnorm_state_dict_roundtrip(torch):
    tm = torch.nn.BatchNorm2d(3)
    tm(torch.randn(4, 3, 2, 2))
    em = nn.BatchNorm2d(3)
    assert list(em.state_dict()) == list(tm.state_dict())
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    _buffers_equal(em, tm)
    assert int(em.num_batches_tracked) == 1


def test_batchnorm_in_a_cnn_buffers_and_keys(torch):
    def make(nn):
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                             nn.Flatten(), nn.Linear(4 * 4 * 4, 3), nn.BatchNorm1d(3))
    e, t = make(nn), make(torch.nn)
    assert list(e.state_dict()) == list(t.state_dict())
    assert repr(e) == repr(t)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    for _ in range(2):
        _step(torch, e, t, RNG.standard_normal((5, 1, 6, 6)).astype(np.float32))
        _buffers_equal(e, t)


def test_reprs(torch):
    makers = [
        lambda nn: nn.BatchNorm1d(3),
        lambda nn: nn.BatchNorm2d(3, eps=1e-3, momentum=None, affine=False,
                                  track_running_stats=False),
        lambda nn: nn.BatchNorm2d(5, bias=False),
        lambda nn: nn.LayerNorm(3),
        lambda nn: nn.LayerNorm([2, 3], eps=1e-6, elementwise_affine=False),
        lambda nn: nn.LayerNorm(4, bias=False),
    ]
    for make in makers:
        e, t = make(nn), make(torch.nn)
        assert repr(e) == repr(t)
        assert list(e.state_dict()) == list(t.state_dict())
        for name, v in t.state_dict().items():
            assert_close(e.state_dict()[name], v)


@pytest.mark.parametrize("shape,ns", [((4, 3), (3,)), ((2, 3, 4, 5), (4, 5)),
                                      ((2, 3, 4, 5), (3, 4, 5)), ((7, 10), 10)])
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, False)])
def test_layernorm(torch, shape, ns, affine, bias):
    tm = torch.nn.LayerNorm(ns, elementwise_affine=affine, bias=bias)
    em = nn.LayerNorm(ns, elementwise_affine=affine, bias=bias)
    if affine:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
            if bias:
                tm.bias.uniform_(-1, 1)
        _copy_params(em, tm)
    _step(torch, em, tm, (RNG.standard_normal(shape) * 3 - 1).astype(np.float32))


@pytest.mark.parametrize("call", [
    lambda F, T: F.batch_norm(T.zeros(1, 3), None, None, training=True),
    lambda F, T: F.batch_norm(T.zeros(4, 3), T.zeros(4), T.ones(4), training=True),
    lambda F, T: F.batch_norm(T.zeros(4, 3), None, None, weight=T.ones(4), training=True),
    lambda F, T: F.batch_norm(T.zeros(4, 3), None, None, training=False),
    lambda F, T: F.layer_norm(T.zeros(4, 3), (4,)),
    lambda F, T: F.layer_norm(T.zeros(4, 3), (3,), weight=T.ones(4)),
])
def test_functional_errors(torch, call):
    ee, et = same_error(torch, lambda: call(F, ember), lambda: call(torch.nn.functional, torch))
    assert str(ee).replace("ember.", "torch.") == str(et)


@pytest.mark.parametrize("call", [
    lambda nn, T: nn.BatchNorm1d(3)(T.zeros(4, 3, 2, 2)),
    lambda nn, T: nn.BatchNorm2d(3)(T.zeros(4, 3, 2)),
    lambda nn, T: nn.BatchNorm2d(3)(T.zeros(4, 4, 2, 2)),
    lambda nn, T: nn.BatchNorm1d(3)(T.zeros(3)),
    lambda nn, T: nn.BatchNorm1d(3)(T.zeros(1, 3)),
    lambda nn, T: nn.LayerNorm(3)(T.zeros(4, 5)),
])
def test_module_errors(torch, call):
    ee, et = same_error(torch, lambda: call(nn, ember), lambda: call(torch.nn, torch))
    assert str(ee).replace("ember.", "torch.") == str(et)


def test_gradcheck_batch_norm_train_and_eval():
    x = ember.tensor(RNG.standard_normal((4, 3, 2)), requires_grad=True)
    w = ember.tensor(RNG.random(3) + 0.5, requires_grad=True)
    b = ember.tensor(RNG.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, True), (x, w, b))
    rm, rv = ember.tensor(RNG.standard_normal(3)), ember.tensor(RNG.random(3) + 0.5)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, False), (x, w, b))


def test_gradcheck_layer_norm():
    x = ember.tensor(RNG.standard_normal((3, 2, 4)), requires_grad=True)
    w = ember.tensor(RNG.random((2, 4)) + 0.5, requires_grad=True)
    b = ember.tensor(RNG.standard_normal((2, 4)), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (2, 4), w, b), (x, w, b))
    assert gradcheck(lambda x: F.layer_norm(x, (4,)), (x,))


def test_batchnorm3d_and_torch_module_paths(torch):
    tm, em = torch.nn.BatchNorm3d(2), nn.BatchNorm3d(2)
    assert repr(em) == repr(tm)
    _step(torch, em, tm, RNG.standard_normal((3, 2, 2, 3, 2)).astype(np.float32))
    _buffers_equal(em, tm)
    assert isinstance(em, nn.modules.batchnorm._BatchNorm)
    assert isinstance(nn.LayerNorm(2), nn.modules.normalization.LayerNorm)
