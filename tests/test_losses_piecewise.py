"""smooth_l1_loss and huber_loss written with c = min(|d|, threshold) instead of a select, their
backward on arrays: torch's values and gradients (both inputs) for every reduction, thresholds
including smooth_l1's beta 0, infinities and NaN, float64, and second derivatives."""
import numpy as np
import pytest

import ember

LOSSES = {
    "smooth_l1": lambda m, a, b, r: m.nn.functional.smooth_l1_loss(a, b, reduction=r),
    "smooth_l1 beta 0.5": lambda m, a, b, r: m.nn.functional.smooth_l1_loss(a, b, reduction=r,
                                                                             beta=0.5),
    "smooth_l1 beta 0": lambda m, a, b, r: m.nn.functional.smooth_l1_loss(a, b, reduction=r,
                                                                           beta=0.0),
    "huber": lambda m, a, b, r: m.nn.functional.huber_loss(a, b, reduction=r),
    "huber delta 2.5": lambda m, a, b, r: m.nn.functional.huber_loss(a, b, reduction=r,
                                                                     delta=2.5),
}


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_and_gradients_match_torch(torch, name, reduction, dtype):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((40, 50)) * 2).astype(dtype)
    y = rng.standard_normal((40, 50)).astype(dtype)
    if reduction == "none":  # the special values stay elementwise
        x[0, :5] = [np.nan, np.inf, -np.inf, 1.0, -0.5]
        y[0, :5] = 0
    res = []
    for m in (ember, torch):
        a, b = m.tensor(x, requires_grad=True), m.tensor(y, requires_grad=True)
        out = LOSSES[name](m, a, b, reduction)
        out.backward(m.ones_like(out))
        res.append((out.detach().numpy(), a.grad.numpy(), b.grad.numpy()))
    tol = dict(rtol=2e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
    for e, t in zip(*res):
        assert e.dtype == t.dtype and e.shape == t.shape
        np.testing.assert_allclose(e, t, equal_nan=True, **tol)


@pytest.mark.parametrize("name", ["smooth_l1", "huber delta 2.5"])
def test_second_derivatives_match_torch(torch, name):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(30) * 3
    y = rng.standard_normal(30)
    res = []
    for m in (ember, torch):
        a = m.tensor(x, requires_grad=True)
        (g,) = m.autograd.grad(LOSSES[name](m, a, m.tensor(y), "sum"), a, create_graph=True)
        (gg,) = m.autograd.grad((g * g).sum(), a)
        res.append((g.detach().numpy(), gg.numpy()))
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-12)
