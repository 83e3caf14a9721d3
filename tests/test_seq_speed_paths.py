"""Fast paths added for issue 10's speed targets (GPT and char-LSTM training steps), against
torch: GELU's unclipped polynomial and its backward reusing the forward's square."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember


# ---- GELU: float32 Phi as tanh(x P(x^2)) without clipping x -------------------------------------
def test_gelu_float32_huge_inputs_no_warning_and_torch_values(torch):
    """|x| past the fitted range (up to the float32 maximum) saturates the tanh, with no
    overflow warning from the polynomial, as torch's erf-based GELU saturates."""
    x = np.array([-3e38, -1e30, -1e4, -50.0, -6.0, -5.0, 5.0, 6.0, 50.0, 1e4, 1e30, 3e38],
                 np.float32)
    t = torch.nn.functional.gelu(torch.tensor(x)).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = ember.nn.functional.gelu(ember.tensor(x)).numpy()
        xe = ember.tensor(x, requires_grad=True)
        ember.nn.functional.gelu(xe).sum().backward()
    finite = np.isfinite(t)  # torch overflows x * (1 + erf) to inf at 3e38; ember keeps x
    np.testing.assert_allclose(e[finite], t[finite], rtol=1e-6, atol=2e-6)  # (torch: 1.2e-6 off)
    assert np.all(e[x <= -6] == 0) and np.all(e[x >= 6] == x[x >= 6])
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.gelu(xt).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=2e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_gelu_backward_reusing_square_matches_torch_twice(torch, dtype):
    """The backward reuses (and consumes) the forward's x^2; a second backward through the
    same graph (retain_graph) recomputes it and gives the same gradient."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((6, 33)) * 3).astype(dtype)
    g = rng.standard_normal((6, 33)).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.gelu(xt)
    yt.backward(torch.tensor(g))
    xe = ember.tensor(x, requires_grad=True)
    ye = ember.nn.functional.gelu(xe)
    ye.backward(ember.tensor(g), retain_graph=True)
    first = xe.grad.numpy().copy()
    xe.grad = None
    ye.backward(ember.tensor(g))
    tol = 2e-3 if dtype == np.float16 else 1e-5
    np.testing.assert_allclose(ye.detach().numpy().astype(np.float64),
                               yt.detach().numpy().astype(np.float64), rtol=tol, atol=tol)
    np.testing.assert_allclose(first.astype(np.float64), xt.grad.numpy().astype(np.float64),
                               rtol=tol, atol=tol)
    np.testing.assert_array_equal(xe.grad.numpy(), first)


def test_gelu_gradcheck_float64():
    from ember.autograd import gradcheck
    x = ember.tensor(np.linspace(-4, 4, 17), dtype=ember.float64, requires_grad=True)
    assert gradcheck(ember.nn.functional.gelu, (x,))
