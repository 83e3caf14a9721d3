"""linalg.qr's gradient for wide inputs (m < n, reduced = complete) and complete square ones, and
torch's RuntimeError for mode='complete' with m > n (issue 12): gradients equal torch's, float64
gradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck


def _loss(m, a):
    q, r = m.linalg.qr(a, mode=_loss.mode)
    w = m.arange(q.numel(), dtype=a.dtype).reshape(q.shape).sin()
    v = m.arange(r.numel(), dtype=a.dtype).reshape(r.shape).cos()
    return (q * w).sum() + (r * v).sum()


@pytest.mark.parametrize("shape", [(3, 5), (2, 7), (4, 4), (2, 3, 6), (1, 2)])
@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_qr_gradient_matches_torch(torch, shape, mode):
    src = np.random.default_rng(0).standard_normal(shape)
    grads = []
    _loss.mode = mode
    for m in (torch, ember):
        a = m.tensor(src, requires_grad=True)
        q, r = m.linalg.qr(a, mode=mode)
        assert type(q.grad_fn).__name__ == "LinalgQrBackward0"
        _loss(m, a).backward()
        grads.append(a.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", [(3, 5), (2, 2, 4), (3, 3)])
@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_qr_gradcheck(shape, mode):
    a = ember.randn(*shape, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda x: ember.linalg.qr(x, mode=mode), (a,))


def test_qr_complete_tall_is_not_differentiable_as_torch(torch):
    for m in (torch, ember):
        a = m.randn(5, 3, dtype=m.float64, requires_grad=True)
        q, r = m.linalg.qr(a, mode="complete")
        assert q.shape == (5, 5)
        with pytest.raises(RuntimeError, match="The QR decomposition is not differentiable when "
                                               "mode='complete' and nrows > ncols."):
            (q.sum() + r.sum()).backward()
