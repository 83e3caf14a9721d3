"""The shape-chosen fast paths a GPT's step and generation loop run through (issue 10, speed),
against torch and against ember's general path: scaled_dot_product_attention without a
backward (the softmax sums divide the output), the row maximum over 33..64 keys, and
layer_norm's forward and backward with every subset of inputs needing a gradient."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from ember.ops.attention import _row_max


def _close(e, t, rtol=1e-5, atol=1e-5):
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


# ---- attention without a backward ------------------------------------------------------------
CASES = {
    # q, k, v shapes; the value dim below the key count takes the deferred division
    "gpt_gen": (((1, 4, 64, 32),) * 3, {"is_causal": True}),
    "gpt_short": (((1, 4, 7, 32),) * 3, {"is_causal": True}),
    "cross": (((2, 3, 5, 8), (2, 3, 40, 8), (2, 3, 40, 6)), {}),
    "bcast": (((3, 5, 8), (1, 3, 40, 8), (3, 40, 6)), {"scale": 0.3}),
    "gqa": (((2, 6, 9, 8), (2, 2, 40, 8), (2, 3, 40, 4)), {"enable_gqa": True, "is_causal": True}),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("mask", ["none", "bool", "float"])
def test_sdpa_no_grad_matches_torch_and_grad_path(torch, case, mask):
    shapes, kw = CASES[case]
    if mask != "none" and kw.get("is_causal"):
        kw = {k: v for k, v in kw.items() if k != "is_causal"}
    rng = np.random.default_rng(5)
    arrs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    lq, s = shapes[0][-2], shapes[1][-2]
    m = None
    if mask == "bool":
        m = rng.random((lq, s)) > 0.5
        m[0] = False  # a query that sees no key: zeros, as torch's safe softmax
        m[1:, 0] = True
    elif mask == "float":
        m = rng.standard_normal((lq, s)).astype(np.float32)
    outs = {}
    for name, lib, F in (("torch", torch, torch.nn.functional), ("ember", ember, EF)):
        ts = [lib.tensor(a) for a in arrs]
        mt = None if m is None else lib.tensor(m)
        with lib.no_grad():
            outs[name] = F.scaled_dot_product_attention(*ts, attn_mask=mt, **kw)
    if mask == "bool":  # torch's fused inference kernel gives NaN there; its math path zeros
        assert np.all(outs["ember"].numpy()[..., 0, :] == 0)
        outs["torch"] = outs["torch"].nan_to_num(0.0)
    _close(outs["ember"], outs["torch"])
    # the same numbers (to rounding) as the path that keeps the weights for a backward
    ts = [ember.tensor(a, requires_grad=True) for a in arrs]
    mt = None if m is None else ember.tensor(m)
    with_grad = EF.scaled_dot_product_attention(*ts, attn_mask=mt, **kw)
    np.testing.assert_allclose(outs["ember"].numpy(), with_grad.detach().numpy(), rtol=1e-6,
                               atol=1e-6)
    assert outs["ember"].grad_fn is None and with_grad.grad_fn is not None


@pytest.mark.parametrize("keys", [33, 40, 63, 64, 65])
def test_row_max_is_the_exact_maximum(keys):
    rng = np.random.default_rng(keys)
    s = rng.standard_normal((2, 3, 11, keys)).astype(np.float32)
    s[0, 0, 1, keys // 2] = 50.0  # the middle column (the halves overlap there for odd counts)
    s[0, 1, 2, :] = -np.inf      # a fully masked row
    s[1, 2, 3, 5:] = -np.inf
    s[1, 0, 4, keys - 1] = np.nan
    got = _row_max(s)
    want = np.max(s, axis=-1, keepdims=True)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


# ---- layer_norm -------------------------------------------------------------------------------
@pytest.mark.parametrize("affine,bias,needs", [
    (True, True, "all"), (True, True, "input"), (True, True, "params"), (True, False, "all"),
    (True, False, "params"), (False, False, "input")])
@pytest.mark.parametrize("shape", [(16, 64, 128), (3, 7)])
def test_layer_norm_gradients_subsets(torch, affine, bias, needs, shape):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
    d = shape[-1]
    w = rng.uniform(0.5, 1.5, d).astype(np.float32)
    b = rng.uniform(-1, 1, d).astype(np.float32)
    g = np.cos(np.arange(x.size)).reshape(shape).astype(np.float32)
    res = {}
    for name, lib, F in (("torch", torch, torch.nn.functional), ("ember", ember, EF)):
        xt = lib.tensor(x, requires_grad=needs != "params")
        wt = lib.tensor(w, requires_grad=needs != "input") if affine else None
        bt = lib.tensor(b, requires_grad=needs != "input") if affine and bias else None
        out = F.layer_norm(xt, (d,), wt, bt, 1e-5)
        out.backward(lib.tensor(g))
        res[name] = (out, [t.grad for t in (xt, wt, bt) if t is not None and t.requires_grad])
    _close(res["ember"][0], res["torch"][0])
    assert len(res["ember"][1]) == len(res["torch"][1])
    for ge, gt in zip(res["ember"][1], res["torch"][1]):
        _close(ge, gt, rtol=1e-4, atol=1e-4)


def test_layer_norm_no_grad_matches_torch(torch):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((1, 64, 128)) * 2 - 3).astype(np.float32)
    tm, em = torch.nn.LayerNorm(128), ember.nn.LayerNorm(128)
    w = rng.uniform(0.5, 1.5, 128).astype(np.float32)
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(w))
    em.weight.data = ember.tensor(w)
    with torch.no_grad():
        t = tm(torch.tensor(x))
    with ember.no_grad():
        e = em(ember.tensor(x))
    _close(e, t)


# ---- attention's output in the query's layout ------------------------------------------------
def _heads(lib, x, b, t, h):
    """A GPT block's q, k, v: (B, T, 3C) split and viewed as (B, H, T, C/H) (strided views)."""
    c = x.shape[-1] // 3
    return [z.view(b, t, h, c // h).transpose(1, 2) for z in x.split(c, dim=2)]


@pytest.mark.parametrize("grad", [False, True])
def test_sdpa_output_strides_and_gpt_chain_as_torch(torch, grad):
    b, t, h, c = 3, 10, 4, 32
    rng = np.random.default_rng(8)
    x = rng.standard_normal((b, t, 3 * c)).astype(np.float32)
    g = np.cos(np.arange(b * t * c)).reshape(b, t, c).astype(np.float32)
    res = {}
    for name, lib, F in (("torch", torch, torch.nn.functional), ("ember", ember, EF)):
        xt = lib.tensor(x, requires_grad=grad)
        q, k, v = _heads(lib, xt, b, t, h)
        with (lib.enable_grad() if grad else lib.no_grad()):
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = o.transpose(1, 2).contiguous().view(b, t, c)
        if grad:
            (y * lib.tensor(g)).sum().backward()
        res[name] = (o, y, xt.grad)
        # contiguous inputs give a contiguous output
        qc, kc, vc = (z.contiguous() for z in (q, k, v))
        with lib.no_grad():
            assert F.scaled_dot_product_attention(qc, kc, vc).is_contiguous()
    (oe, ye, ge), (ot, yt, gt) = res["ember"], res["torch"]
    assert tuple(oe.stride()) == tuple(ot.stride()) and not oe.is_contiguous()
    _close(oe, ot)
    _close(ye, yt)
    if grad:
        _close(ge, gt, rtol=1e-4)


# ---- linear without bias on batched input (a tied lm_head) ------------------------------------
def _chain(fn, depth=0):
    if fn is None or depth > 4:
        return []
    return [(depth, type(fn).__name__)] + [x for f, _ in fn.next_functions
                                          for x in _chain(f, depth + 1)]


@pytest.mark.parametrize("shape,strided", [((4, 6, 8), False), ((2, 3, 5, 8), False),
                                           ((6, 4, 8), True)])
def test_linear_no_bias_batched_as_torch(torch, shape, strided):
    rng = np.random.default_rng(9)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((7, 8)).astype(np.float32)
    g = np.sin(np.arange(np.prod(shape[:-1]) * 7)).reshape(shape[:-1] + (7,)).astype(np.float32)
    res = {}
    for name, lib in (("torch", torch), ("ember", ember)):
        xt = lib.tensor(x, requires_grad=True)
        wt = lib.tensor(w, requires_grad=True)
        xin = xt.transpose(0, 1).transpose(0, 1) * 1.0 if not strided else \
            xt.transpose(0, 1).contiguous().transpose(0, 1)
        y = lib.nn.functional.linear(xin, wt)
        (y * lib.tensor(g)).sum().backward()
        res[name] = (y, xt.grad, wt.grad, _chain(y.grad_fn))
    (ye, gxe, gwe, ce), (yt, gxt, gwt, ct) = res["ember"], res["torch"]
    assert ce == ct
    assert tuple(ye.stride()) == tuple(yt.stride())
    _close(ye, yt)
    _close(gxe, gxt, rtol=1e-4)
    _close(gwe, gwt, rtol=1e-4)


# ---- gelu and layer_norm's argument fast paths --------------------------------------------------
@pytest.mark.parametrize("shape,dtype", [((64, 512), np.float32), ((), np.float32),
                                         ((5,), np.float64), ((3, 4), np.float16)])
def test_gelu_no_grad_matches_torch_and_leaves_input(torch, shape, dtype):
    rng = np.random.default_rng(11)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    with torch.no_grad():
        t = torch.nn.functional.gelu(torch.tensor(x))
    xe = ember.tensor(x)
    with ember.no_grad():
        e = EF.gelu(xe)
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    tol = 1e-3 if dtype == np.float16 else 1e-5
    np.testing.assert_allclose(e.numpy().astype(np.float64), t.numpy().astype(np.float64),
                               rtol=tol, atol=tol)
    np.testing.assert_array_equal(xe.numpy(), x)  # the input is not written


@pytest.mark.parametrize("call", [
    lambda F, T: F.layer_norm(T.zeros(4, 3), (3,), weight=T.ones(4)),
    lambda F, T: F.layer_norm(T.zeros(4, 3), (3,), bias=T.ones(2)),
    lambda F, T: F.layer_norm(T.zeros(4, 3), (4,)),
    lambda F, T: F.layer_norm(T.zeros(()), (1,)),
])
def test_layer_norm_errors_past_the_fast_path(torch, call):
    with pytest.raises(RuntimeError) as te:
        call(torch.nn.functional, torch)
    with pytest.raises(RuntimeError) as ee:
        call(EF, ember)
    assert str(ee.value).replace("ember", "torch") == str(te.value)
