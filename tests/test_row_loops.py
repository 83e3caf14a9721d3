"""ops/row_loops.py. max/min against a number through rows of the bound: ReLU, clamp,
clamp_min/max, hardtanh and relu6 give torch's values bit for bit (NaN, infinities and the sign
of zero included) and torch's gradients, on every size the row layout splits differently. Row
broadcasts regrouped into long loops: NumPy's broadcast results exactly, and linear layers
(bias added that way, its gradient a GEMV) torch's values and gradients."""
import numpy as np
import pytest

import ember
from ember.ops import row_loops

ROW = row_loops._ROW
# the scalar loop below MIN; rows exactly, rows plus a tail above it
MIN = row_loops._MIN
SIZES = [7, ROW, MIN - 1, MIN, MIN + 5, 5 * ROW, 5 * ROW + 1000]

CASES = {
    "relu": lambda m, t: m.relu(t),
    "F.relu": lambda m, t: m.nn.functional.relu(t),
    "relu inplace": lambda m, t: m.nn.functional.relu(t * 1, inplace=True),
    "clamp(-0.5, 0.25)": lambda m, t: m.clamp(t, -0.5, 0.25),
    "clamp(min=0.1)": lambda m, t: m.clamp(t, min=0.1),
    "clamp(max=0)": lambda m, t: m.clamp(t, max=0),
    "clamp_min(0.0)": lambda m, t: t.clamp_min(0.0),
    "clamp_max(-1)": lambda m, t: t.clamp_max(-1),
    "hardtanh": lambda m, t: m.nn.functional.hardtanh(t),
    "relu6": lambda m, t: m.nn.functional.relu6(t * 8),
}


def _data(n, dtype, seed=0):
    a = np.random.default_rng(seed).standard_normal(n).astype(dtype)
    a[:6] = [np.nan, -0.0, 0.0, np.inf, -np.inf, 0.1]
    return a


def _same(e, r):
    assert e.dtype == r.dtype and e.shape == r.shape
    assert np.array_equal(e, r, equal_nan=True)
    ok = ~np.isnan(r)
    assert np.array_equal(np.signbit(e[ok]), np.signbit(r[ok]))  # -0.0 stays -0.0 as in torch


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_match_torch(torch, name, n, dtype):
    a = _data(n, dtype)
    f = CASES[name]
    _same(f(ember, ember.from_numpy(a.copy())).numpy(),
          f(torch, torch.from_numpy(a.copy())).numpy())


@pytest.mark.parametrize("name", ["relu", "clamp(-0.5, 0.25)", "clamp(min=0.1)", "clamp(max=0)",
                                  "hardtanh", "relu6"])
def test_non_contiguous_and_shaped_inputs(torch, name):
    a = _data(3 * 80 * 70, np.float32).reshape(3, 80, 70)
    f = CASES[name]
    for view in (lambda t: t.transpose(0, 2), lambda t: t[:, ::2, 1:]):
        e = f(ember, view(ember.from_numpy(a.copy()))).numpy()
        r = f(torch, view(torch.from_numpy(a.copy()))).numpy()
        _same(e, r)


@pytest.mark.parametrize("name", ["relu", "clamp(-0.5, 0.25)", "clamp(min=0.1)", "hardtanh",
                                  "relu6"])
def test_gradients_match_torch(torch, name):
    a = np.random.default_rng(1).standard_normal((6, ROW + 5)).astype(np.float32)
    g = np.random.default_rng(2).standard_normal(a.shape).astype(np.float32)
    f = CASES[name]
    te, tt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    oe, ot = f(ember, te), f(torch, tt)
    _same(oe.detach().numpy(), ot.detach().numpy())
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    np.testing.assert_array_equal(te.grad.numpy(), tt.grad.numpy())
    assert type(oe.grad_fn).__name__ == type(ot.grad_fn).__name__


def test_zero_dim_and_integer_inputs(torch):
    for v in (0.5, -2.0):
        _same(ember.nn.functional.hardtanh(ember.tensor(v)).numpy(),
              torch.nn.functional.hardtanh(torch.tensor(v)).numpy())
        _same(ember.relu(ember.tensor(v)).numpy(), torch.relu(torch.tensor(v)).numpy())
    i = np.arange(-600, 600, dtype=np.int64)
    _same(ember.relu(ember.from_numpy(i)).numpy(), torch.relu(torch.from_numpy(i)).numpy())
    _same(ember.clamp(ember.from_numpy(i), -3, 5).numpy(),
          torch.clamp(torch.from_numpy(i), -3, 5).numpy())
    # an integer input with a float bound becomes float, as in torch
    _same(ember.clamp(ember.from_numpy(i), min=0.5).numpy(),
          torch.clamp(torch.from_numpy(i), min=0.5).numpy())


def test_bound_rows_are_cached_per_value_and_sign():
    f32 = np.dtype(np.float32)
    assert not np.signbit(row_loops._row(f32, 0.0)).any()
    assert np.signbit(row_loops._row(f32, -0.0)).all()  # 0.0 == -0.0, yet separate rows
    assert row_loops._row(f32, 0.5) is row_loops._row(f32, 0.5)
    x = np.linspace(-1, 1, MIN + 9, dtype=np.float32)
    out = np.empty_like(x)
    assert row_loops.bound(np.minimum, x, 0.5, out=out) is out
    np.testing.assert_array_equal(out, np.minimum(x, np.float32(0.5)))


@pytest.mark.parametrize("n,d", [(1024, 128), (1024, 384), (2048, 65), (64, 128), (1000, 96),
                                 (8192, 8), (512, 8193)])
@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.subtract])
def test_rows_equals_numpy_broadcast(n, d, ufunc):
    rng = np.random.default_rng(n + d)
    a = rng.standard_normal((n, d)).astype(np.float32)
    v = rng.standard_normal(d).astype(np.float32)
    want = ufunc(a, v)
    np.testing.assert_array_equal(row_loops.rows(ufunc, a, v), want)
    out = np.empty_like(a)
    assert row_loops.rows(ufunc, a, v, out=out) is out
    np.testing.assert_array_equal(out, want)
    b = a.copy()  # in place, as a bias add
    row_loops.rows(ufunc, b, v, out=b)
    np.testing.assert_array_equal(b, want)


@pytest.mark.parametrize("n,i,o", [(1024, 128, 384), (2048, 256, 65), (16, 20, 30)])
def test_linear_bias_paths_match_torch(torch, n, i, o):
    rng = np.random.default_rng(o)
    x = rng.standard_normal((n, i)).astype(np.float32)
    w = (rng.standard_normal((o, i)) * 0.1).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    g = rng.standard_normal((n, o)).astype(np.float32)
    res = []
    for m in (ember, torch):
        xt, wt, bt = (m.tensor(a, requires_grad=True) for a in (x, w, b))
        out = m.nn.functional.linear(xt, wt, bt)
        out.backward(m.tensor(g))
        res.append([out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()])
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-4)
