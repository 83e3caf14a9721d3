"""x @ W.T computed weight side first for a few rows (ops/_gemm.py _weight_side_first): the
same values as NumPy's product, C-contiguous as torch's linear output, and torch's linear
values and gradients through it."""
import numpy as np
import pytest

import ember
from ember.ops import _gemm


@pytest.mark.parametrize("m,k,n", [(32, 784, 128), (64, 784, 128), (8, 128, 384), (16, 128, 128),
                                   (48, 512, 128), (64, 128, 64), (1, 784, 128), (100, 128, 128)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_product_equals_numpy_and_is_c_contiguous(m, k, n, dtype):
    rng = np.random.default_rng(m + k + n)
    x = rng.standard_normal((m, k)).astype(dtype)
    w = rng.standard_normal((n, k)).astype(dtype)
    out = _gemm.gemm(x, w.T)
    assert out.shape == (m, n) and out.dtype == dtype and out.flags.c_contiguous
    np.testing.assert_allclose(out, x @ w.T, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-5 if dtype == np.float32 else 1e-12)


def test_rule_picks_the_measured_shapes():
    def pick(m, k, n):
        x = np.zeros((m, k), np.float32)
        w = np.zeros((n, k), np.float32)
        return _gemm._weight_side_first(x, w.T)
    assert pick(32, 784, 128) and pick(64, 784, 128) and pick(8, 128, 384)
    assert not pick(1, 784, 128) and not pick(100, 784, 128) and not pick(32, 64, 10)
    assert not pick(64, 128, 128)  # at 64 rows only large layers gain
    x = np.zeros((32, 784), np.float32)
    assert not _gemm._weight_side_first(x, np.zeros((784, 128), np.float32))  # not a W.T view


def test_linear_matches_torch_through_the_weight_side_first_path(torch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 784)).astype(np.float32)
    w = rng.standard_normal((128, 784)).astype(np.float32) * 0.05
    b = rng.standard_normal(128).astype(np.float32)
    g = rng.standard_normal((32, 128)).astype(np.float32)
    res = []
    for m in (ember, torch):
        xt, wt, bt = (m.tensor(a, requires_grad=True) for a in (x, w, b))
        out = m.nn.functional.linear(xt, wt, bt)
        out.backward(m.tensor(g))
        res.append((out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy(),
                    out.stride() if m is ember else tuple(out.stride())))
    for e, t in zip(res[0][:4], res[1][:4]):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-5)
    assert tuple(res[0][4]) == res[1][4]
    with ember.no_grad():  # the no-grad linear (generation, inference) takes it too
        out = ember.nn.functional.linear(ember.tensor(x), ember.tensor(w))
    np.testing.assert_allclose(out.numpy(), x @ w.T, rtol=1e-5, atol=1e-5)
