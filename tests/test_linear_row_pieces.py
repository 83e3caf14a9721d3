"""ops/_linear_blas row pieces: a linear layer with a deep input (K >= 512), 24-128 rows and more
than 16 outputs runs as products of <= 8 rows for OpenBLAS's small-matrix kernels (AVX-512
cores). Values equal one
product's (float32 tolerance), with and without bias, float64; the layer's gradients against
torch; the route taken only where it applies."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.ops import _linear_blas
from helpers import assert_close

RNG = np.random.default_rng(53)


@pytest.mark.parametrize("m,k,n", [(24, 512, 64), (64, 784, 128), (37, 784, 100), (128, 600, 64),
                                   (64, 1024, 120), (20, 2048, 60)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_pieces_equal_one_product(m, k, n, dtype, bias):
    x = RNG.standard_normal((m, k)).astype(dtype)
    w = RNG.standard_normal((n, k)).astype(dtype)
    b = RNG.standard_normal(n).astype(dtype) if bias else None
    got = _linear_blas._row_pieces(x, w, b)
    if not _linear_blas._f.small_kernels:
        assert got is None
        return
    want = x @ w.T + (0 if b is None else b)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


def test_route_only_where_it_applies(monkeypatch):
    calls = []
    real = _linear_blas._row_pieces
    monkeypatch.setattr(_linear_blas, "_row_pieces", lambda *a: calls.append(a[0].shape) or
                        real(*a))
    f32 = np.float32
    for m, k, n in ((64, 784, 128), (64, 256, 128), (16, 784, 128), (256, 784, 128),
                    (64, 1024, 10)):
        _linear_blas.linear(np.ones((m, k), f32), np.ones((n, k), f32), None)
    assert calls == [(64, 784)]  # shallow K, too few or too many rows, few outputs: no pieces
    # thin pieces (fewer than 4 rows under the size limit) keep one product
    assert real(np.ones((64, 784), f32), np.ones((1000, 784), f32), None) is None


def test_mlp_layer_values_and_gradients_match_torch(torch):
    x = RNG.standard_normal((64, 784)).astype(np.float32)
    res = []
    for fw in (ember, torch):
        fw.manual_seed(0)
        layer = fw.nn.Linear(784, 128)
        xi = fw.tensor(x, requires_grad=True)
        y = layer(xi)
        (y * y).mean().backward()
        res.append((y, xi.grad, layer.weight.grad, layer.bias.grad))
    for e, t in zip(*res):
        assert_close(e, t, rtol=1e-4, atol=1e-5)
