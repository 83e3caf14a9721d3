"""scaled_dot_product_attention and MultiheadAttention against torch: outputs, every input's and
parameter's gradient, masks of every kind, errors, float64 gradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from ember.autograd import gradcheck

from helpers import same_error


def _arr(rng, shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _sdpa_both(torch, shapes, mask=None, dtype=np.float32, seed=0, **kw):
    """Run SDPA on torch and ember with the same inputs; return (outputs, grads) of each."""
    rng = np.random.default_rng(seed)
    arrs = [_arr(rng, s, dtype) for s in shapes]
    res = []
    for lib in (torch, ember):
        ts = [lib.tensor(a, requires_grad=True) for a in arrs]
        m = None
        if mask is not None:
            m = lib.tensor(mask, requires_grad=mask.dtype.kind == "f")
        if lib is torch:
            torch.manual_seed(7)
            o = torch.nn.functional.scaled_dot_product_attention(*ts, attn_mask=m, **kw)
        else:
            ember.manual_seed(7)
            o = EF.scaled_dot_product_attention(*ts, attn_mask=m, **kw)
        go = np.cos(np.arange(o.numel())).reshape(tuple(o.shape)).astype(dtype)
        (o * lib.tensor(go)).sum().backward()
        grads = [t.grad for t in ts] + ([m.grad] if m is not None and m.requires_grad else [])
        res.append((o, grads))
    return res


def _close(e, t, rtol=1e-5, atol=1e-5):
    assert tuple(e.shape) == tuple(t.shape)
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


SHAPES = {
    "4d": ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)),
    "3d": ((3, 4, 8), (3, 5, 8), (3, 5, 8)),
    "2d": ((4, 8), (5, 8), (5, 6)),
    "bcast": ((3, 4, 8), (1, 3, 5, 8), (3, 5, 6)),
    "long_q": ((2, 2, 7, 4), (2, 2, 5, 4), (2, 2, 5, 4)),
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("mask", ["none", "causal", "bool", "float", "bool_bcast", "float_full"])
def test_sdpa_matches_torch(torch, shape, mask):
    shapes = SHAPES[shape]
    lq, s = shapes[0][-2], shapes[1][-2]
    rng = np.random.default_rng(1)
    kw = {}
    m = None
    if mask == "causal":
        kw["is_causal"] = True
    elif mask == "bool":
        m = rng.random((lq, s)) > 0.4
        m[:, 0] = True
    elif mask == "bool_bcast":
        m = rng.random((1,) * (len(shapes[0]) > 2) + (lq, s)) > 0.4
        m[..., -1] = True
    elif mask == "float":
        m = _arr(rng, (lq, s))
    elif mask == "float_full":
        batch = np.broadcast_shapes(shapes[0][:-2], shapes[1][:-2])
        m = _arr(rng, batch + (lq, s))
    (oe, ge), (ot, gt) = reversed(_sdpa_both(torch, shapes, m, **kw))
    _close(oe, ot)
    for a, b in zip(ge, gt):
        _close(a, b, rtol=1e-4)


def test_sdpa_scale_and_fully_masked_rows(torch):
    m = np.ones((4, 5), bool)
    m[2] = False  # a query that sees no key: torch's safe softmax gives zeros, not NaN
    (ot, gt), (oe, ge) = _sdpa_both(torch, SHAPES["4d"], m, scale=0.37)
    _close(oe, ot)
    assert not np.isnan(oe.detach().numpy()).any()
    assert np.all(oe.detach().numpy()[:, :, 2] == 0)
    for a, b in zip(ge, gt):
        _close(a, b, rtol=1e-4)


@pytest.mark.parametrize("kv_heads", [(1, 1), (2, 2), (2, 3), (6, 6)])
def test_sdpa_gqa(torch, kv_heads):
    hk, hv = kv_heads
    shapes = ((2, 6, 4, 8), (2, hk, 5, 8), (2, hv, 5, 6))
    for kw in ({}, {"is_causal": True}):
        (ot, gt), (oe, ge) = _sdpa_both(torch, shapes, enable_gqa=True, **kw)
        _close(oe, ot)
        for a, b in zip(ge, gt):
            _close(a, b, rtol=1e-4)


def test_sdpa_gqa_with_mask_unbatched(torch):
    rng = np.random.default_rng(3)
    m = _arr(rng, (6, 4, 5))
    (ot, gt), (oe, ge) = _sdpa_both(torch, ((6, 4, 8), (2, 5, 8), (2, 5, 8)), m,
                                    enable_gqa=True)
    _close(oe, ot)
    for a, b in zip(ge, gt):
        _close(a, b, rtol=1e-4)


@pytest.mark.parametrize("p", [0.3, 1.0])
def test_sdpa_dropout_draws_as_torch(torch, p):
    (ot, gt), (oe, ge) = _sdpa_both(torch, SHAPES["4d"], dropout_p=p)
    _close(oe, ot)
    for a, b in zip(ge, gt):
        _close(a, b, rtol=1e-4)


def test_sdpa_float64_and_no_grad(torch):
    (ot, gt), (oe, ge) = _sdpa_both(torch, SHAPES["4d"], dtype=np.float64, is_causal=True)
    _close(oe, ot, 1e-12, 1e-12)
    with ember.no_grad():
        q, k, v = (ember.randn(2, 2, 3, 4) for _ in range(3))
        out = EF.scaled_dot_product_attention(q, k, v)
    assert out.grad_fn is None and not out.requires_grad
    q.requires_grad_(True)
    out = EF.scaled_dot_product_attention(q, k, v)
    assert type(out.grad_fn).__name__ == "ScaledDotProductAttentionBackward0"


def test_sdpa_gradcheck():
    rng = np.random.default_rng(4)
    q, k, v = (ember.tensor(_arr(rng, s, np.float64), requires_grad=True)
               for s in ((2, 2, 3, 4), (2, 1, 5, 4), (2, 1, 5, 3)))
    fm = ember.tensor(_arr(rng, (3, 5), np.float64), requires_grad=True)
    bm = ember.tensor(rng.random((2, 1, 3, 5)) > 0.3)
    assert gradcheck(lambda a, b, c: EF.scaled_dot_product_attention(a, b, c), (q, k, v))
    assert gradcheck(lambda a, b, c, m: EF.scaled_dot_product_attention(a, b, c, m),
                     (q, k, v, fm))
    assert gradcheck(lambda a, b, c: EF.scaled_dot_product_attention(
        a, b, c, bm, scale=0.7), (q, k, v))
    assert gradcheck(lambda a, b, c: EF.scaled_dot_product_attention(
        a, b, c, is_causal=True, enable_gqa=True), (q, k, v))


def _sdpa_call(lib, q, k, v, **kw):
    F = lib.nn.functional
    return lambda: F.scaled_dot_product_attention(q, k, v, **kw)


@pytest.mark.parametrize("case", range(12))
def test_sdpa_errors(torch, case):
    rng = np.random.default_rng(5)
    base = [_arr(rng, s) for s in ((2, 6, 4, 8), (2, 6, 5, 8), (2, 6, 5, 6))]

    def make(lib):
        q, k, v = (lib.tensor(a) for a in base)
        cases = [
            dict(q=q, k=k, v=v, attn_mask=lib.ones(4, 5, dtype=lib.bool), is_causal=True),
            dict(q=q, k=k, v=v, attn_mask=lib.ones(3, 5, dtype=lib.bool)),
            dict(q=q, k=k, v=v, attn_mask=lib.ones(4, 5, dtype=lib.int64)),
            dict(q=q, k=k, v=v, attn_mask=lib.ones(4, 5, dtype=lib.float64)),
            dict(q=q, k=k[..., :7], v=v),
            dict(q=q, k=k, v=v[:, :, :4]),
            dict(q=q, k=k[:, :4], v=v[:, :4], enable_gqa=True),
            dict(q=q.double(), k=k, v=v),
            dict(q=q[0, 0, 0], k=k[0, 0, 0], v=v[0, 0, 0]),
            dict(q=q, k=k, v=v, dropout_p=1.5),
            dict(q=q, k=k[:, :4], v=v[:, :4]),
            dict(q=q[0, 0], k=k[0, 0], v=v[0, 0], attn_mask=lib.ones(1, 4, 5, dtype=lib.bool)),
        ]
        c = cases[case]
        return _sdpa_call(lib, c.pop("q"), c.pop("k"), c.pop("v"), **c)

    ee, te = same_error(torch, make(ember), make(torch))
    assert str(ee).replace("ember.", "torch.") == str(te)


# ---- MultiheadAttention ---------------------------------------------------------------------
def _copy_params(t_mod, e_mod):
    sd = {k: ember.tensor(v.detach().numpy().copy()) for k, v in t_mod.state_dict().items()}
    e_mod.load_state_dict(sd)


def _randomise(torch, mod, seed=0):
    """Non-trivial values everywhere (torch's init zeroes the biases)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in mod.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)


def _mha_pair(torch, seed=0, **kw):
    t = torch.nn.MultiheadAttention(**kw)
    e = ember.nn.MultiheadAttention(**kw)
    _randomise(torch, t, seed)
    _copy_params(t, e)
    return t, e


def _compare_params_grads(t_mod, e_mod, rtol=1e-4, atol=1e-5):
    tp = dict(t_mod.named_parameters())
    ep = dict(e_mod.named_parameters())
    assert list(tp) == list(ep)
    for n in tp:
        if tp[n].grad is None:
            assert ep[n].grad is None, n
            continue
        np.testing.assert_allclose(ep[n].grad.numpy(), tp[n].grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=n)


def _run_mha(lib, mod, arrays, masks, train, **kw):
    mod.train(train)
    q, k, v = (lib.tensor(a, requires_grad=True) for a in arrays)
    if arrays[1] is arrays[0]:
        k = v = q
    kpm = None if masks[0] is None else lib.tensor(masks[0])
    am = None if masks[1] is None else lib.tensor(masks[1])
    lib.manual_seed(11)
    out, w = mod(q, k, v, key_padding_mask=kpm, attn_mask=am, **kw)
    go = np.sin(np.arange(out.numel())).reshape(tuple(out.shape)).astype(np.float32)
    loss = (out * lib.tensor(go)).sum()
    if w is not None:
        loss = loss + (w * w).sum()
    loss.backward()
    return out, w, q.grad


MHA_CONFIGS = {
    "plain": dict(embed_dim=8, num_heads=2),
    "batch_first": dict(embed_dim=8, num_heads=2, batch_first=True),
    "kdim_vdim": dict(embed_dim=8, num_heads=4, kdim=5, vdim=3),
    "bias_kv_zero_attn": dict(embed_dim=8, num_heads=2, add_bias_kv=True, add_zero_attn=True),
    "no_bias": dict(embed_dim=6, num_heads=3, bias=False),
    "all": dict(embed_dim=8, num_heads=2, add_bias_kv=True, add_zero_attn=True, kdim=4,
                vdim=4, batch_first=True),
}


def _mha_inputs(cfg, rng, self_attn, batched=True):
    e = cfg["embed_dim"]
    kd, vd = cfg.get("kdim") or e, cfg.get("vdim") or e
    L, S, N = 4, 5, 3
    if self_attn and kd == e and vd == e:
        S = L
    def shp(t, d):
        if not batched:
            return (t, d)
        return (N, t, d) if cfg.get("batch_first") else (t, N, d)
    q = _arr(rng, shp(L, e))
    if self_attn and kd == e and vd == e:
        return (q, q, q), L, S, N
    return (q, _arr(rng, shp(S, kd)), _arr(rng, shp(S, vd))), L, S, N


@pytest.mark.parametrize("cfg", list(MHA_CONFIGS))
@pytest.mark.parametrize("masks", ["none", "kpm_bool", "kpm_float", "attn_bool", "attn_float",
                                   "attn_3d", "both"])
@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_matches_torch(torch, cfg, masks, need_weights):
    conf = MHA_CONFIGS[cfg]
    t, e = _mha_pair(torch, **conf)
    rng = np.random.default_rng(2)
    arrays, L, S, N = _mha_inputs(conf, rng, self_attn=cfg in ("plain", "batch_first"))
    kpm = am = None
    if masks in ("kpm_bool", "both"):
        kpm = rng.random((N, S)) > 0.7
        kpm[:, 0] = False
    elif masks == "kpm_float":
        kpm = _arr(rng, (N, S))
    if masks in ("attn_bool", "both"):
        am = rng.random((L, S)) > 0.7
        am[:, 1] = False
    elif masks == "attn_float":
        am = _arr(rng, (L, S))
    elif masks == "attn_3d":
        am = _arr(rng, (N * conf["num_heads"], L, S))
    if masks == "both":
        kpm = kpm.astype(bool)
        am = am.astype(bool)
    rt = _run_mha(torch, t, arrays, (kpm, am), True, need_weights=need_weights)
    re = _run_mha(ember, e, arrays, (kpm, am), True, need_weights=need_weights)
    for a, b in zip(re, rt):
        if b is None:
            assert a is None
        else:
            _close(a, b, rtol=1e-4)
    _compare_params_grads(t, e)


@pytest.mark.parametrize("average", [True, False])
def test_mha_unbatched_weights_and_eval(torch, average):
    conf = dict(embed_dim=8, num_heads=2)
    t, e = _mha_pair(torch, **conf)
    rng = np.random.default_rng(6)
    arrays, L, S, N = _mha_inputs(conf, rng, False, batched=False)
    kpm = np.zeros(S, bool)
    kpm[-1] = True
    rt = _run_mha(torch, t, arrays, (kpm, None), False, average_attn_weights=average)
    re = _run_mha(ember, e, arrays, (kpm, None), False, average_attn_weights=average)
    for a, b in zip(re, rt):
        _close(a, b, rtol=1e-4)
    _compare_params_grads(t, e)


def test_mha_is_causal_and_dropout(torch):
    conf = dict(embed_dim=8, num_heads=2, dropout=0.25, batch_first=True)
    t, e = _mha_pair(torch, **conf)
    rng = np.random.default_rng(8)
    x = _arr(rng, (2, 5, 8))
    causal = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
    for nw in (False, True):
        rt = _run_mha(torch, t, (x, x, x), (None, causal), True, need_weights=nw,
                      is_causal=True)
        re = _run_mha(ember, e, (x, x, x), (None, causal), True, need_weights=nw,
                      is_causal=True)
        for a, b in zip(re, rt):
            if b is not None:
                _close(a, b, rtol=1e-4)
        _compare_params_grads(t, e)
        t.zero_grad()
        e.zero_grad()


def test_mha_seeded_init_repr_state_dict(torch):
    for kw in (dict(embed_dim=8, num_heads=2), dict(embed_dim=8, num_heads=2, kdim=3, vdim=5,
                                                    add_bias_kv=True, bias=False)):
        torch.manual_seed(3)
        t = torch.nn.MultiheadAttention(**kw)
        ember.manual_seed(3)
        e = ember.nn.MultiheadAttention(**kw)
        assert repr(e) == repr(t)
        assert list(e.state_dict()) == list(t.state_dict())
        for k, v in t.state_dict().items():
            np.testing.assert_allclose(e.state_dict()[k].numpy(), v.numpy(), rtol=1e-6,
                                       atol=1e-7, err_msg=k)
        assert e.in_proj_weight is None if "kdim" in kw else e.q_proj_weight is None


def test_mha_gradcheck():
    ember.manual_seed(0)
    m = ember.nn.MultiheadAttention(4, 2, add_bias_kv=True, dtype=ember.float64)
    rng = np.random.default_rng(9)
    for p in m.parameters():
        p.data.copy_(ember.tensor(_arr(rng, tuple(p.shape), np.float64) * 0.5))
    x = ember.tensor(_arr(rng, (3, 2, 4), np.float64), requires_grad=True)
    kv = ember.tensor(_arr(rng, (5, 2, 4), np.float64), requires_grad=True)
    kpm = ember.tensor(np.array([[False] * 4 + [True], [False] * 5]))
    assert gradcheck(lambda a, b: m(a, b, b, key_padding_mask=kpm)[0], (x, kv))
    assert gradcheck(lambda a, b: m(a, b, b, need_weights=False)[0], (x, kv))
    w = m.in_proj_weight
    assert gradcheck(lambda w_: EF.multi_head_attention_forward(
        x, kv, kv, 4, 2, w_, m.in_proj_bias, None, None, False, 0.0, m.out_proj.weight,
        m.out_proj.bias, need_weights=False)[0], (w,))


MHA_ERRORS = [
    (dict(embed_dim=9, num_heads=2), None),
    (dict(embed_dim=0, num_heads=2), None),
    (dict(embed_dim=8, num_heads=2), "q4d"),
    (dict(embed_dim=8, num_heads=2), "k2d"),
    (dict(embed_dim=8, num_heads=2), "kpm3d"),
    (dict(embed_dim=8, num_heads=2), "kpm_int"),
    (dict(embed_dim=8, num_heads=2), "kpm_shape"),
    (dict(embed_dim=8, num_heads=2), "am_shape2"),
    (dict(embed_dim=8, num_heads=2), "am_shape3"),
    (dict(embed_dim=8, num_heads=2), "am_4d"),
    (dict(embed_dim=8, num_heads=2), "embed"),
    (dict(embed_dim=8, num_heads=2), "kv_shape"),
    (dict(embed_dim=8, num_heads=2), "causal_no_mask"),
]


@pytest.mark.parametrize("i", range(len(MHA_ERRORS)))
def test_mha_errors(torch, i):
    kw, case = MHA_ERRORS[i]
    rng = np.random.default_rng(10)
    x, y = _arr(rng, (4, 3, 8)), _arr(rng, (5, 3, 8))

    def make(lib):
        def f():
            m = lib.nn.MultiheadAttention(**kw)
            q, k = lib.tensor(x), lib.tensor(y)
            args = dict(query=q, key=k, value=k)
            if case == "q4d":
                args.update(query=q[None])
            elif case == "k2d":
                args.update(key=k[0], value=k[0])
            elif case == "kpm3d":
                args.update(key_padding_mask=lib.zeros(3, 5, 1, dtype=lib.bool))
            elif case == "kpm_int":
                args.update(key_padding_mask=lib.zeros(3, 5, dtype=lib.int64))
            elif case == "kpm_shape":
                args.update(key_padding_mask=lib.zeros(3, 4, dtype=lib.bool))
            elif case == "am_shape2":
                args.update(attn_mask=lib.zeros(4, 4, dtype=lib.bool))
            elif case == "am_shape3":
                args.update(attn_mask=lib.zeros(3, 4, 5))
            elif case == "am_4d":
                args.update(attn_mask=lib.zeros(1, 6, 4, 5))
            elif case == "embed":
                args.update(query=q[..., :6])
            elif case == "kv_shape":
                args.update(value=k[:4])
            elif case == "causal_no_mask":
                args.update(is_causal=True)
            return m(**args)
        return f

    ee, te = same_error(torch, make(ember), make(torch))
    assert str(ee).replace("ember.", "torch.") == str(te)


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("mode", ["eval_no_grad", "train"])
def test_mha_fully_masked_queries_as_torch(torch, need_weights, mode):
    """torch's fused inference path gives NaN for a query that sees no key, its composed path
    zeros of attention (need_weights=False) or NaN weights (need_weights=True)."""
    t, e = _mha_pair(torch, embed_dim=8, num_heads=2, batch_first=True)
    x = _arr(np.random.default_rng(12), (3, 5, 8))
    kpm = np.zeros((3, 5), bool)
    kpm[1] = True
    kpm[0, -1] = True
    am = np.zeros((5, 5), bool)
    am[2] = True
    res = []
    for lib, m in ((torch, t), (ember, e)):
        m.train(mode == "train")
        xi = lib.tensor(x)
        with lib.no_grad() if mode == "eval_no_grad" else lib.enable_grad():
            out, w = m(xi, xi, xi, key_padding_mask=lib.tensor(kpm), attn_mask=lib.tensor(am),
                       need_weights=need_weights)
        res.append((out.detach().numpy(), None if w is None else w.detach().numpy()))
    for a, b in zip(res[1], res[0]):
        if b is None:
            assert a is None
            continue
        assert np.array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)
