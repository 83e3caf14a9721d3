"""The array paths of sigmoid, SiLU and the ELU family (ops/elementwise.py, ops/nn_ops.py): the
same values and gradients as torch, the far tails included, and the graph path of their
backward (create_graph) still giving torch's second derivatives."""
import numpy as np
import pytest

import ember

ACTS = {
    "sigmoid": lambda m, t: m.sigmoid(t),
    "silu": lambda m, t: m.nn.functional.silu(t),
    "elu": lambda m, t: m.nn.functional.elu(t),
    "elu(0.5)": lambda m, t: m.nn.functional.elu(t, 0.5),
    "selu": lambda m, t: m.nn.functional.selu(t),
    "celu(2)": lambda m, t: m.nn.functional.celu(t, 2.0),
}


def _x(dtype, n=40000):
    x = (np.random.default_rng(0).standard_normal(n) * 6).astype(dtype)
    x[:7] = [-0.0, 0.0, 100.0, -100.0, 30.0, -30.0, 1e-30]
    return x


@pytest.mark.parametrize("name", list(ACTS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_and_gradients_match_torch(torch, name, dtype):
    x = _x(dtype)
    g = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    f = ACTS[name]
    te, tt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oe, ot = f(ember, te), f(torch, tt)
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    tol = dict(rtol=2e-6, atol=1e-30) if dtype == np.float32 else dict(rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(oe.detach().numpy(), ot.detach().numpy(), **tol)
    # a gradient with 1 - s in it cancels where s ~ 1: there an ulp of s is a large relative
    # change, so gradients compare to the scale of g (torch's own float32/64 rounding)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(te.grad.numpy(), tt.grad.numpy(), rtol=4 * eps, atol=8 * eps)
    assert oe.dtype == (ember.float32 if dtype == np.float32 else ember.float64)


def test_sigmoid_is_torch_formula_in_the_tails(torch):
    x = np.array([-100.0, -88.0, -50.0, -20.0, 20.0, 50.0, 100.0], np.float32)
    e = ember.sigmoid(ember.tensor(x)).numpy()
    t = torch.sigmoid(torch.tensor(x)).numpy()
    np.testing.assert_allclose(e, t, rtol=1e-6, atol=0)  # tiny values keep their digits
    assert (e[:4] > 0).all() or (t[:4] == 0).any()
    assert e.dtype == np.float32


@pytest.mark.parametrize("name", ["sigmoid", "silu", "elu", "selu"])
def test_double_backward_matches_torch(torch, name):
    x = _x(np.float64, 50)[2:]  # (at exactly 0 torch's second derivative of ELU is 0)
    f = ACTS[name]
    outs = []
    for m in (ember, torch):
        t = m.tensor(x, requires_grad=True)
        (g,) = m.autograd.grad(f(m, t).sum(), t, create_graph=True)
        (gg,) = m.autograd.grad(g.sum(), t)
        outs.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-10, atol=1e-300)
