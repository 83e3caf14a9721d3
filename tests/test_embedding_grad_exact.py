"""The embedding weight gradient sums each index's rows one after another in position order, as
torch's index_add does: equal to torch's bit for bit, for every run-length layout the summation
splits differently (ops/embedding.py: single rows, padded buckets, long runs, few indices)."""
import numpy as np
import pytest

import ember


def _indices(kind, n, shape, rng):
    size = int(np.prod(shape))
    if kind == "uniform":
        a = rng.integers(0, n, size)
    elif kind == "skewed":  # a few very frequent indices, as characters in text
        a = np.minimum(rng.geometric(0.15, size) - 1, n - 1)
    elif kind == "same":
        a = np.full(size, n // 2)
    else:  # "unique": each index at most once
        a = rng.permutation(n)[:size]
    return a.reshape(shape).astype(np.int64)


@pytest.mark.parametrize("kind,n,shape,d", [
    ("uniform", 1000, (64, 64), 32), ("uniform", 65, (16, 64), 128), ("skewed", 65, (32, 64), 64),
    ("uniform", 50000, (8, 256), 16), ("same", 10, (3, 700), 8), ("unique", 300, (200,), 24),
    ("skewed", 2000, (4096,), 8), ("uniform", 7, (5,), 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_gradient_equals_torch_bitwise(torch, kind, n, shape, d, dtype):
    rng = np.random.default_rng(n + d)
    idx = _indices(kind, n, shape, rng)
    g = rng.standard_normal(shape + (d,)).astype(dtype)
    w = rng.standard_normal((n, d)).astype(dtype)
    we, wt = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    ember.nn.functional.embedding(ember.tensor(idx), we).backward(ember.tensor(g))
    torch.nn.functional.embedding(torch.tensor(idx), wt).backward(torch.tensor(g))
    assert we.grad.dtype == (ember.float32 if dtype == np.float32 else ember.float64)
    np.testing.assert_array_equal(we.grad.numpy(), wt.grad.numpy())


def test_padding_idx_and_empty_indices(torch):
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 20, (30, 40)).astype(np.int64)
    g = rng.standard_normal((30, 40, 6)).astype(np.float32)
    we, wt = ember.zeros(20, 6, requires_grad=True), torch.zeros(20, 6, requires_grad=True)
    ember.nn.functional.embedding(ember.tensor(idx), we, padding_idx=4).backward(ember.tensor(g))
    torch.nn.functional.embedding(torch.tensor(idx), wt, padding_idx=4).backward(torch.tensor(g))
    np.testing.assert_array_equal(we.grad.numpy(), wt.grad.numpy())
    assert not we.grad.numpy()[4].any()
    we.grad = None
    out = ember.nn.functional.embedding(ember.zeros(0, dtype=ember.int64), we)
    out.sum().backward()
    assert out.shape == (0, 6) and not we.grad.numpy().any()
