"""Gradients of gathers by index through ops/index_sum.py (rows summed per index in position
order): index_select, x[idx] (also after basic slicing), take and embedding against torch, with
repeated, negative and empty indices, and the ops that keep np.add.at (index_add_ into a
non-zero tensor) unchanged."""
import numpy as np
import pytest

import ember
from ember.ops import index_sum

N, D = 300, 17


def _grads(m, x, idx, g, op):
    t = m.tensor(x, requires_grad=True)
    i = m.tensor(idx)
    if op == "index_select":
        o = t.index_select(0, i)
    elif op == "index_select dim1":
        o = t.index_select(1, i % D)
    elif op == "getitem":
        o = t[i]
    elif op == "sliced getitem":
        o = t[:, 2:9][i]
    else:  # take
        o = t.take(i)
    o.backward(m.tensor(np.random.default_rng(g).standard_normal(tuple(o.shape))
                        .astype(np.float32)))
    return t.grad.numpy()


CASES = [(op, kind) for op in ["index_select", "index_select dim1", "getitem", "sliced getitem",
                                "take"]
         for kind in ["uniform", "repeated", "negative", "empty", "2-d"]
         # index_select takes a 1-d index of non-negative entries (torch's rule)
         if not (op.startswith("index_select") and kind in ("negative", "2-d"))]


@pytest.mark.parametrize("op,kind", CASES)
def test_gather_gradients_match_torch(torch, op, kind):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((N, D)).astype(np.float32)
    idx = {"uniform": rng.integers(0, N, 200), "repeated": np.array([3, 3, 3, 9, 3, 9, 0] * 40),
           "negative": rng.integers(-N, N, 150), "empty": np.zeros(0, np.int64),
           "2-d": rng.integers(0, N, (12, 25))}[kind].astype(np.int64)
    if op == "take":
        idx = idx * 7 % (N * D)
    e, t = _grads(ember, x, idx, 11, op), _grads(torch, x, idx, 11, op)
    np.testing.assert_allclose(e, t, rtol=1e-6, atol=1e-6)


def test_rows_are_summed_in_position_order():
    rng = np.random.default_rng(1)
    idx = np.minimum(rng.geometric(0.05, 5000) - 1, 40)  # long and short runs
    src = rng.standard_normal((5000, 3)).astype(np.float32)
    got = index_sum.sum_rows_by_index(41, idx, src)
    want = np.zeros((41, 3), np.float32)
    for k, i in enumerate(idx):  # torch's index_add: one row after another
        want[i] += src[k]
    np.testing.assert_array_equal(got, want)


def test_index_add_into_values_keeps_its_order(torch):
    rng = np.random.default_rng(2)
    base = rng.standard_normal((10, 4)).astype(np.float32)
    src = rng.standard_normal((30, 4)).astype(np.float32)
    idx = rng.integers(0, 10, 30)
    e = ember.tensor(base).index_add_(0, ember.tensor(idx), ember.tensor(src)).numpy()
    t = torch.tensor(base).index_add_(0, torch.tensor(idx), torch.tensor(src)).numpy()
    np.testing.assert_allclose(e, t, rtol=1e-6, atol=1e-6)
