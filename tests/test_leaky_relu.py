"""leaky_relu's branch-free forms (max / min / select by slope, gradient by mask arithmetic)
against torch: every slope regime, signed zeros, infinities and NaN, float64 and in place."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from ember.autograd import gradcheck
from helpers import assert_close

SPECIAL = [0.0, -0.0, 1.5, -1.5, np.inf, -np.inf, np.nan, 1e-30, -1e-30]


def _values(dtype):
    a = np.random.default_rng(3).standard_normal(64) * 3
    a[:len(SPECIAL)] = SPECIAL
    return a.astype(dtype)


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0, 1.5, -0.3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_leaky_relu_slopes(torch, slope, dtype):
    a = _values(dtype)
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ye = EF.leaky_relu(xe, slope)
    yt = torch.nn.functional.leaky_relu(xt, slope)
    assert_close(ye, yt, rtol=0, atol=0)
    # signed zeros as torch's: slope * (-0.0) for non-positive inputs
    assert (np.signbit(ye.detach().numpy()) == np.signbit(yt.detach().numpy())).all()
    g = np.random.default_rng(4).standard_normal(a.shape).astype(dtype)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    assert_close(xe.grad, xt.grad, rtol=1e-6, atol=0)


@pytest.mark.parametrize("slope", [0.2, 1.7])
def test_leaky_relu_inplace_and_module(torch, slope):
    a = _values(np.float32).reshape(8, 8)
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    he, ht = xe * 2, xt * 2
    ember.nn.LeakyReLU(slope, inplace=True)(he)
    torch.nn.LeakyReLU(slope, inplace=True)(ht)
    assert type(he.grad_fn).__name__ == type(ht.grad_fn).__name__ == "LeakyReluBackward1"
    assert_close(he, ht, rtol=0, atol=0)
    g = np.random.default_rng(6).standard_normal(a.shape).astype(np.float32)
    he.backward(ember.tensor(g))
    ht.backward(torch.tensor(g))
    assert_close(xe.grad, xt.grad, rtol=0, atol=0)


def test_leaky_relu_gradcheck():
    x = ember.tensor(np.random.default_rng(5).standard_normal((3, 7)) + 0.05,
                     requires_grad=True)
    for slope in (0.2, 1.5, -0.4):
        assert gradcheck(lambda t: EF.leaky_relu(t, slope), (x,))


def test_leaky_relu_zero_dim(torch):
    for v in (-2.0, 3.0):
        xe = ember.tensor(v, requires_grad=True)
        xt = torch.tensor(v, requires_grad=True)
        ye, yt = EF.leaky_relu(xe, 0.1), torch.nn.functional.leaky_relu(xt, 0.1)
        assert_close(ye, yt)
        ye.backward()
        yt.backward()
        assert_close(xe.grad, xt.grad)


# ---- in place: the backward reads the result (ops/nn_ops.py LeakyReluBackward1) ------------

@pytest.mark.parametrize("slope", [0.0, 0.2, 1.0, 2.5])
def test_leaky_relu_inplace_special_values(torch, slope):
    """Signed zeros, infinities, NaN and tiny values: the result's sign gives torch's mask."""
    a = _values(np.float64)
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    he, ht = xe * 1, xt * 1
    EF.leaky_relu(he, slope, inplace=True)
    torch.nn.functional.leaky_relu(ht, slope, inplace=True)
    assert_close(he, ht, rtol=0, atol=0)
    g = np.random.default_rng(8).standard_normal(a.shape)
    he.backward(ember.tensor(g))
    ht.backward(torch.tensor(g))
    assert_close(xe.grad, xt.grad, rtol=0, atol=0)


def test_leaky_relu_inplace_negative_slope_backward_raises(torch):
    a = _values(np.float32)
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    he, ht = xe * 1, xt * 1
    EF.leaky_relu(he, -0.3, inplace=True)
    torch.nn.functional.leaky_relu(ht, -0.3, inplace=True)
    assert_close(he, ht, rtol=0, atol=0)  # the forward is fine
    with pytest.raises(RuntimeError, match="negative slope") as te:
        ht.sum().backward()
    with pytest.raises(type(te.value), match="In-place leakyReLu backward calculation is "
                                              "triggered with a negative slope"):
        he.sum().backward()


def test_leaky_relu_inplace_double_backward(torch):
    a = _values(np.float64)[len(SPECIAL):]
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ge = ember.tensor(np.linspace(-1, 1, a.size), requires_grad=True)
    gt = torch.tensor(np.linspace(-1, 1, a.size), requires_grad=True)
    he, ht = xe * 3, xt * 3
    EF.leaky_relu(he, 0.1, inplace=True)
    torch.nn.functional.leaky_relu(ht, 0.1, inplace=True)
    (de,) = ember.autograd.grad(he, xe, ge, create_graph=True)
    (dt,) = torch.autograd.grad(ht, xt, gt, create_graph=True)
    assert_close(de, dt, rtol=1e-12, atol=0)
    (de * de).sum().backward()
    (dt * dt).sum().backward()
    assert_close(ge.grad, gt.grad, rtol=1e-12, atol=0)


def test_leaky_relu_inplace_on_views_and_bad_targets(torch):
    """In place on a view (the base's history rebased), on a no-grad tensor, and on an
    expanded tensor (torch's error): values and gradients as torch's."""
    a = np.random.default_rng(9).standard_normal((4, 6)).astype(np.float32)
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    be, bt = xe * 1, xt * 1
    EF.leaky_relu(be[:, 1:4], 0.2, inplace=True)
    torch.nn.functional.leaky_relu(bt[:, 1:4], 0.2, inplace=True)
    assert_close(be, bt, rtol=0, atol=0)
    (be * be).sum().backward()
    (bt * bt).sum().backward()
    assert_close(xe.grad, xt.grad, rtol=1e-6, atol=0)
    ne, nt = ember.tensor(a.copy()), torch.tensor(a.copy())
    assert EF.leaky_relu(ne, 0.5, inplace=True) is ne
    torch.nn.functional.leaky_relu(nt, 0.5, inplace=True)
    assert_close(ne, nt, rtol=0, atol=0)
    ee = ember.tensor(a[:1]).expand(4, 6)
    et = torch.tensor(a[:1]).expand(4, 6)
    with pytest.raises(RuntimeError) as te:
        torch.nn.functional.leaky_relu(et, 0.2, inplace=True)
    with pytest.raises(type(te.value)):
        EF.leaky_relu(ee, 0.2, inplace=True)
    np.testing.assert_array_equal(ee.numpy(), np.broadcast_to(a[:1], (4, 6)))
