"""SGD's parameter update: torch's `p.add_(d, alpha=-lr)` rounds once (a fused multiply-add);
ember's update of a large parameter goes through BLAS axpy (ops/_axpy.py) and so equals
torch's bit for bit. Small parameters keep NumPy's two-operation route (within 1 ulp)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.ops import _axpy


def _run(fw, arrays, grads, **kw):
    ps = [fw.tensor(a.copy(), requires_grad=True) for a in arrays]
    opt = fw.optim.SGD(ps, lr=0.0123, **kw)
    for step in range(4):
        opt.zero_grad()
        for p, g in zip(ps, grads):
            p.grad = fw.tensor(g * (step + 1))
        opt.step()
    return [p.detach().numpy() for p in ps]


@pytest.mark.parametrize("kw", [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
                                {"weight_decay": 0.01}])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_parameters_bit_identical_to_torch(torch, kw, dtype):
    rng = np.random.default_rng(0)
    shapes = [(128, 784), (300, 40)]
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
    for e, t in zip(_run(ember, arrays, grads, **kw), _run(torch, arrays, grads, **kw)):
        assert e.dtype == t.dtype
        np.testing.assert_array_equal(e, t)


def test_small_parameters_within_an_ulp(torch):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(10,), (64, 10)]]
    grads = [rng.standard_normal(a.shape).astype(np.float32) for a in arrays]
    for e, t in zip(_run(ember, arrays, grads), _run(torch, arrays, grads)):
        np.testing.assert_allclose(e, t, rtol=2e-7, atol=1e-7)


def test_axpy_falls_back_for_read_only_and_mismatched_operands():
    y = np.ones(10000, np.float32)
    tmp = np.empty_like(y)
    x = np.full(10000, 2.0, np.float32)
    x.flags.writeable = False  # from_buffer refuses it: the NumPy route
    _axpy.axpy_(y, -0.5, x, tmp)
    np.testing.assert_array_equal(y, np.zeros(10000, np.float32))
    _axpy.axpy_(y, 1.0, np.full(10000, 3.0, np.float64), tmp)  # another dtype: NumPy
    np.testing.assert_array_equal(y, np.full(10000, 3.0, np.float32))
    _axpy.axpy_(y, 1.0, np.ones(1, np.float32), tmp)  # broadcast: NumPy
    np.testing.assert_array_equal(y, np.full(10000, 4.0, np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_gemm_outer_product_equals_matmul(dtype):
    # K=1 products (a one-sample weight gradient) take np.dot's rank-1 route inside gemm
    from ember.ops._gemm import gemm
    rng = np.random.default_rng(2)
    a = (rng.standard_normal((128, 1)) * 10).astype(dtype)
    b = (rng.standard_normal((1, 784)) * 10).astype(dtype)
    r = gemm(a, b)
    assert r.dtype == np.matmul(a, b).dtype and r.flags.c_contiguous
    np.testing.assert_array_equal(r, np.matmul(a, b))


def test_one_sample_linear_weight_gradient_matches_torch(torch):
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 784)).astype(np.float32), rng.standard_normal(
        (128, 784)).astype(np.float32)
    grads = []
    for fw in (ember, torch):
        wt = fw.tensor(w, requires_grad=True)
        (fw.nn.functional.linear(fw.tensor(x), wt, fw.zeros(128)) ** 2).sum().backward()
        grads.append(wt.grad.numpy())
    # y sums 784 products in another order than torch: float32 relative error ~1e-5
    np.testing.assert_allclose(grads[0], grads[1], rtol=2e-4, atol=1e-4)
