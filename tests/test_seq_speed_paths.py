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


# ---- scaled_dot_product_attention: softmax without the row maximum for bounded scores -----------
@pytest.mark.parametrize("mag", [0.5, 3.0, 40.0])  # scores within +-60, then past it
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sdpa_bounded_scores_skip_row_max_and_match_torch(torch, mag, causal, dtype):
    from ember.ops.attention import _exp_safe
    rng = np.random.default_rng(7)
    q, k, v = (rng.standard_normal((2, 3, 9, 8)).astype(dtype) * m for m in (mag, 1.0, 1.0))
    g = rng.standard_normal((2, 3, 9, 8)).astype(dtype)
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(8)
    fast = bool(np.abs(scores).max() <= 60)
    assert fast == (mag < 10)  # both routes are exercised
    assert _exp_safe(scores, None, None, causal) == fast
    res = []
    for lib in (torch, ember):
        ts = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
        out = lib.nn.functional.scaled_dot_product_attention(*ts, is_causal=causal)
        out.backward(lib.tensor(g))
        res.append([out.detach().numpy()] + [t.grad.numpy() for t in ts])
        with lib.no_grad():
            res[-1].append(lib.nn.functional.scaled_dot_product_attention(
                *(lib.tensor(a) for a in (q, k, v)), is_causal=causal).numpy())
    tol = 1e-5 if dtype == np.float32 else 1e-10
    for t, e in zip(*res):
        np.testing.assert_allclose(e, t, rtol=tol, atol=tol * max(1.0, mag))


def test_sdpa_exp_safe_refuses_masks_nan_and_half():
    from ember.ops.attention import _exp_safe
    s = np.zeros((2, 4, 4), np.float32)
    assert _exp_safe(s, None, None, False) and _exp_safe(s, None, np.zeros((4, 4)), True)
    assert not _exp_safe(s, object(), None, False)  # a float mask: any values
    assert not _exp_safe(s, None, np.zeros((4, 4)), False)  # a bool mask can empty a row
    assert not _exp_safe(s.astype(np.float16), None, None, False)
    s[0, 1, 2] = np.nan
    assert not _exp_safe(s, None, None, False)
    s[0, 1, 2] = np.inf
    assert not _exp_safe(s, None, None, False)


@pytest.mark.parametrize("gqa", [False, True])
@pytest.mark.parametrize("keys", [31, 40])  # the scores' right operand copied from 32 keys on
def test_sdpa_contiguous_key_copy_forward_backward_match_torch(torch, gqa, keys):
    """Heads cut from one (B, L, 3 H E) projection, as a GPT's attention makes them."""
    rng = np.random.default_rng(keys)
    hk = 2 if gqa else 4
    width = 4 * 8 + 2 * hk * 8
    qkv = rng.standard_normal((2, keys, width)).astype(np.float32)
    g = rng.standard_normal((2, 4, keys, 8)).astype(np.float32)
    res = []
    for lib in (torch, ember):
        t = lib.tensor(qkv, requires_grad=True)
        q, k, v = t.split([32, hk * 8, hk * 8], dim=2)
        q = q.reshape(2, keys, 4, 8).transpose(1, 2)
        k = k.reshape(2, keys, hk, 8).transpose(1, 2)
        v = v.reshape(2, keys, hk, 8).transpose(1, 2)
        out = lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                             enable_gqa=gqa)
        out.backward(lib.tensor(g))
        res.append((out.detach().numpy(), t.grad.numpy()))
    for t, e in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-5)


# ---- layer_norm: row broadcasts regrouped into long inner loops -----------------------------------
@pytest.mark.parametrize("shape", [(16, 64, 128), (1000, 128), (8, 64, 256)])
@pytest.mark.parametrize("affine", ["both", "weight", "bias"])
def test_layer_norm_large_matches_torch(torch, shape, affine):
    """Sizes past 64K elements take the regrouped row broadcasts (rows divisible by 8192 / d),
    (1000, 128) the plain ones; weight and bias not 1 and 0."""
    rng = np.random.default_rng(sum(shape))
    d = shape[-1]
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    w = rng.standard_normal(d).astype(np.float32)
    b = rng.standard_normal(d).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    res = []
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=True)
        wt = lib.tensor(w, requires_grad=True) if affine != "bias" else None
        bt = lib.tensor(b, requires_grad=True) if affine != "weight" else None
        out = lib.nn.functional.layer_norm(xt, (d,), wt, bt)
        out.backward(lib.tensor(g))
        res.append([out.detach().numpy(), xt.grad.numpy()] +
                   [t.grad.numpy() for t in (wt, bt) if t is not None])
    for t, e in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shapes", [((5, 8), (7, 8), (7, 3)), ((2, 1, 3, 5, 4),) * 3,
                                    ((2, 3, 5, 4), (1, 3, 6, 4), (2, 3, 6, 2))])
@pytest.mark.parametrize("kw", [{}, {"is_causal": True, "scale": 0.7}])
def test_sdpa_unchecked_common_call_and_broadcast_fallback_match_torch(torch, shapes, kw):
    """Equal batch shapes skip the argument checks (any rank from 2); broadcasting ones take
    the checked route; both as torch."""
    rng = np.random.default_rng(len(shapes[0]))
    arrs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    t = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, arrs), **kw)
    e = ember.nn.functional.scaled_dot_product_attention(*map(ember.tensor, arrs), **kw)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError):
        torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, arrs), dropout_p=1.5)
    with pytest.raises(RuntimeError):
        ember.nn.functional.scaled_dot_product_attention(*map(ember.tensor, arrs), dropout_p=1.5)


@pytest.mark.parametrize("lq,s", [(0, 5), (4, 0), (0, 0)])
@pytest.mark.parametrize("mask", [None, "bool"])
def test_sdpa_empty_queries_or_keys_match_torch(torch, lq, s, mask):
    """No scores at all: no reduction over an empty axis (torch gives zeros for no keys)."""
    rng = np.random.default_rng(1)
    q = rng.standard_normal((2, 3, lq, 8)).astype(np.float32)
    k = rng.standard_normal((2, 3, s, 8)).astype(np.float32)
    v = rng.standard_normal((2, 3, s, 6)).astype(np.float32)
    m = np.ones((lq, s), bool) if mask else None
    res = []
    for lib in (torch, ember):
        ts = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
        out = lib.nn.functional.scaled_dot_product_attention(
            *ts, attn_mask=None if m is None else lib.tensor(m))
        out.sum().backward()
        res.append([out.detach().numpy()] + [t.grad.numpy() for t in ts])
    for t, e in zip(*res):
        assert e.shape == t.shape
        np.testing.assert_allclose(e, t, atol=1e-6)
