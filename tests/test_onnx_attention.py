"""ember.onnx.export of attention (issue 12): nn.MultiheadAttention, F.scaled_dot_product_attention
(masks, is_causal, scale), nn.TransformerEncoderLayer / nn.TransformerEncoder; the file run in
ONNX Runtime gives ember's outputs and torch's (same weights), masks given as graph inputs stay
inputs, and a tiny transformer encoder classifier exports with dynamic batch and sequence."""
from __future__ import annotations

import io
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import ember

nn = ember.nn
F = nn.functional


def _export(model, args, **kw):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation warning on mixed mask types
        ember.onnx.export(model, args, buf, **kw)
    return buf.getvalue()


def _session(blob):
    return ort.InferenceSession(blob, providers=["CPUExecutionProvider"])


def _run(model, args, names, **kw):
    sess = _session(_export(model, tuple(args), input_names=names, **kw))
    return sess.run(None, {n: a.numpy() for n, a in zip(names, args)})


def _close(got, want, tol=2e-5):
    want = [w for w in (want if isinstance(want, (tuple, list)) else [want]) if w is not None]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = w.detach().numpy() if hasattr(w, "detach") else np.asarray(w)
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def _to_torch(torch, m, t):
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    return t.eval()


def _t(torch, x):
    return None if x is None else torch.tensor(x.numpy())


class _MHA(nn.Module):
    """mha(q, k, v, **kw) with the masks named in `masks` as further inputs."""

    def __init__(self, mha, masks=(), **kw):
        super().__init__()
        self.mha, self.masks, self.kw = mha, masks, kw

    def forward(self, q, k, v, *masks):
        return self.mha(q, k, v, **dict(zip(self.masks, masks)), **self.kw)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "bool", "float", "3d"])
@pytest.mark.parametrize("kw", [{}, {"average_attn_weights": False}, {"need_weights": False}])
def test_multihead_attention(torch, batch_first, masks, kw):
    ember.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=batch_first).eval()
    tm = _to_torch(torch, mha, torch.nn.MultiheadAttention(8, 2, batch_first=batch_first))
    N, L, S = 3, 4, 5
    shape = (lambda n: (N, n, 8)) if batch_first else (lambda n: (n, N, 8))
    q, k, v = ember.randn(*shape(L)), ember.randn(*shape(S)), ember.randn(*shape(S))
    kpm = mask = None
    if masks == "bool":
        kpm = ember.zeros(N, S, dtype=ember.bool)
        kpm[0, -2:] = True
        mask = ember.rand(L, S) > 0.7
        mask[:, 0] = False  # no query loses every key
    elif masks == "float":
        kpm, mask = ember.randn(N, S), ember.randn(L, S)
    elif masks == "3d":
        mask = ember.randn(N * 2, L, S)
    given = [(n, a) for n, a in (("key_padding_mask", kpm), ("attn_mask", mask))
             if a is not None]
    model = _MHA(mha, tuple(n for n, _ in given), **kw)
    args = [q, k, v] + [a for _, a in given]
    want = model(*args)
    with torch.no_grad():
        tw = tm(_t(torch, q), _t(torch, k), _t(torch, v), key_padding_mask=_t(torch, kpm),
                attn_mask=_t(torch, mask), **kw)
    _close([w.numpy() for w in tw if w is not None], want, 1e-5)
    _close(_run(model, args, ["q", "k", "v"] + [n for n, _ in given]), want)


def test_multihead_attention_with_separate_key_value_dims(torch):
    ember.manual_seed(1)
    mha = nn.MultiheadAttention(8, 4, kdim=5, vdim=3, bias=False).eval()
    tm = _to_torch(torch, mha, torch.nn.MultiheadAttention(8, 4, kdim=5, vdim=3, bias=False))
    q, k, v = ember.randn(4, 2, 8), ember.randn(6, 2, 5), ember.randn(6, 2, 3)
    want = _MHA(mha)(q, k, v)
    with torch.no_grad():
        _close([a.numpy() for a in tm(_t(torch, q), _t(torch, k), _t(torch, v))], want, 1e-5)
    _close(_run(_MHA(mha), [q, k, v], ["q", "k", "v"]), want)


class _SDPA(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.kw = kw

    def forward(self, q, k, v, mask=None):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **self.kw)


@pytest.mark.parametrize("kw,mask", [({}, None), ({"is_causal": True}, None),
                                     ({"scale": 0.3}, "bool"), ({}, "float"),
                                     ({"is_causal": True, "scale": 2.0}, None)])
def test_scaled_dot_product_attention(torch, kw, mask):
    ember.manual_seed(2)
    q, k, v = ember.randn(2, 3, 4, 8), ember.randn(2, 3, 6, 8), ember.randn(2, 3, 6, 5)
    m = None
    if mask == "bool":
        m = ember.rand(4, 6) > 0.4
        m[:, 0] = True  # True takes part in SDPA
    elif mask == "float":
        m = ember.randn(2, 1, 4, 6)
    args = [a for a in (q, k, v, m) if a is not None]
    want = _SDPA(**kw)(*args)
    tw = torch.nn.functional.scaled_dot_product_attention(
        *(_t(torch, a) for a in (q, k, v)), attn_mask=_t(torch, m), **kw)
    _close([tw.numpy()], want, 1e-5)
    names = ["q", "k", "v", "m"][:len(args)]
    _close(_run(_SDPA(**kw), args, names), want)
    if kw.get("is_causal"):  # the causal mask is built in the graph: other lengths work too
        blob = _export(_SDPA(**kw), tuple(args), input_names=names,
                       dynamic_axes={"q": {2: "L"}, "k": {2: "S"}, "v": {2: "S"}})
        q2, k2, v2 = ember.randn(2, 3, 7, 8), ember.randn(2, 3, 9, 8), ember.randn(2, 3, 9, 5)
        got = _session(blob).run(None, {"q": q2.numpy(), "k": k2.numpy(), "v": v2.numpy()})
        _close(got, _SDPA(**kw)(q2, k2, v2))


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_layer(torch, activation, norm_first, batch_first):
    ember.manual_seed(3)
    kw = dict(dim_feedforward=16, dropout=0.1, activation=activation, norm_first=norm_first,
              batch_first=batch_first)
    layer = nn.TransformerEncoderLayer(8, 2, **kw).eval()
    tl = _to_torch(torch, layer, torch.nn.TransformerEncoderLayer(8, 2, **kw))
    x = ember.randn(3, 5, 8)
    want = layer(x)
    with torch.no_grad():
        _close([tl(_t(torch, x)).numpy()], want, 1e-5)
    _close(_run(layer, [x], ["x"]), want)


class TinyEncoderClassifier(nn.Module):
    """Embedding + positional table -> 2-layer TransformerEncoder (final LayerNorm) with a
    padding mask -> Linear per position, and Linear over the mean of the positions."""

    def __init__(self, vocab=13, d=8, classes=3, max_len=32):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(ember.randn(max_len, d) * 0.1)
        layer = nn.TransformerEncoderLayer(d, 2, 16, dropout=0.1, activation="gelu",
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(d),
                                             enable_nested_tensor=False)
        self.head = nn.Linear(d, classes)

    def forward(self, tokens, pad, pos):
        h = self.embed(tokens) + pos
        h = self.encoder(h, src_key_padding_mask=pad)
        return F.log_softmax(self.head(h), dim=-1), self.head(h.mean(1))


def test_tiny_transformer_encoder_end_to_end_with_dynamic_batch_and_sequence(torch):
    ember.manual_seed(4)
    model = TinyEncoderClassifier().eval()
    tok = ember.randint(0, 13, (2, 6))
    pad = ember.zeros(2, 6, dtype=ember.bool)
    pad[1, -2:] = True
    pos = model.pos.detach()[:6]
    dyn = {"tokens": {0: "batch", 1: "seq"}, "pad": {0: "batch", 1: "seq"}, "pos": {0: "seq"},
           "logp": {0: "batch", 1: "seq"}, "pooled": {0: "batch"}}
    blob = _export(model, (tok, pad, pos), input_names=["tokens", "pad", "pos"],
                   output_names=["logp", "pooled"], dynamic_axes=dyn)
    proto = onnx.load_from_string(blob)
    assert [i.name for i in proto.graph.input] == ["tokens", "pad", "pos"]
    assert proto.graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.BOOL
    sess = _session(blob)
    rng = np.random.default_rng(0)
    for batch, seq in ((2, 6), (4, 11), (1, 3)):
        t = ember.tensor(rng.integers(0, 13, (batch, seq)))
        p = ember.tensor(rng.random((batch, seq)) > 0.7)
        p[:, 0] = False
        ps = model.pos.detach()[:seq]
        want = model(t, p, ps)
        _close(sess.run(None, {"tokens": t.numpy(), "pad": p.numpy(), "pos": ps.numpy()}),
               want)


def test_causal_transformer_encoder_follows_the_sequence_length(torch):
    """A causal encoder (mask from generate_square_subsequent_mask, detected as causal) is
    exported with the causal mask built in the graph, so other lengths run correctly."""
    ember.manual_seed(5)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    te = _to_torch(torch, enc, torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2,
        enable_nested_tensor=False))

    class Causal(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = enc

        def forward(self, x):
            mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
            return self.enc(x, mask=mask)

    model = Causal().eval()
    blob = _export(model, (ember.randn(2, 5, 8),), input_names=["x"],
                   dynamic_axes={"x": {0: "b", 1: "s"}, "output": {0: "b", 1: "s"}})
    sess = _session(blob)
    x = ember.randn(3, 9, 8)
    want = model(x)
    with torch.no_grad():
        tmask = torch.nn.Transformer.generate_square_subsequent_mask(9)
        _close([te(_t(torch, x), mask=tmask, is_causal=True).numpy()], want, 1e-5)
    _close(sess.run(None, {"x": x.numpy()}), want)


def test_what_cannot_be_exported_is_named():
    U = ember.onnx.UnsupportedOperatorError
    mha = nn.MultiheadAttention(4, 2, add_bias_kv=True).eval()
    x = ember.randn(3, 2, 4)
    with pytest.raises(U, match="add_bias_kv"):
        _export(_MHA(mha), (x, x, x))
    with pytest.raises(U, match="dropout_p=0.5"):
        _export(_SDPA(dropout_p=0.5), (x, x, x))

    class Silu(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(4, 2, 8, activation=F.silu)

        def forward(self, x):
            return self.layer(x)
    with pytest.raises(U, match="activation silu"):
        _export(Silu(), (x,))


@pytest.mark.parametrize("opset", [13, 14, 17])
def test_older_opsets(opset):
    ember.manual_seed(6)
    mha = nn.MultiheadAttention(8, 2).eval()
    q = ember.randn(4, 2, 8)
    want = _MHA(mha)(q, q, q)  # weights averaged over heads: ReduceMean's axes by opset
    _close(_run(_MHA(mha), [q, q, q], ["q", "k", "v"], opset_version=opset), want)
    sdpa = _SDPA(is_causal=True)
    if opset < 14:
        with pytest.raises(ember.onnx.UnsupportedOperatorError, match="opset_version >= 14"):
            _export(sdpa, (q, q, q), opset_version=opset)
    else:
        _close(_run(sdpa, [q, q, q], ["q", "k", "v"], opset_version=opset), sdpa(q, q, q))


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_decoder_layer_with_memory_masks(torch, norm_first):
    ember.manual_seed(7)
    kw = dict(dim_feedforward=16, dropout=0.1, norm_first=norm_first)
    layer = nn.TransformerDecoderLayer(8, 2, **kw).eval()
    tl = _to_torch(torch, layer, torch.nn.TransformerDecoderLayer(8, 2, **kw))
    tgt, mem = ember.randn(4, 2, 8), ember.randn(6, 2, 8)
    mkpm = ember.zeros(2, 6, dtype=ember.bool)
    mkpm[1, -2:] = True

    class Dec(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, tgt, mem, mkpm):
            return self.layer(tgt, mem, memory_key_padding_mask=mkpm)

    want = Dec().eval()(tgt, mem, mkpm)
    with torch.no_grad():
        tw = tl(_t(torch, tgt), _t(torch, mem), memory_key_padding_mask=_t(torch, mkpm))
    _close([tw.numpy()], want, 1e-5)
    _close(_run(Dec().eval(), [tgt, mem, mkpm], ["tgt", "mem", "mkpm"]), want)


def test_encoder_decoder_transformer_with_dynamic_lengths(torch):
    """nn.Transformer (traced through its encoder and decoder) with a causal target mask made
    from the target's length: exported once, run at other lengths and batch sizes."""
    ember.manual_seed(8)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=16, dropout=0.1, batch_first=True)
    tr = nn.Transformer(**kw).eval()
    tt = _to_torch(torch, tr, torch.nn.Transformer(**kw))

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.tr = tr

        def forward(self, src, tgt):
            mask = nn.Transformer.generate_square_subsequent_mask(tgt.shape[1])
            return self.tr(src, tgt, tgt_mask=mask, tgt_is_causal=True)

    model = Seq2Seq().eval()
    dyn = {"src": {0: "b", 1: "s"}, "tgt": {0: "b", 1: "t"}, "output": {0: "b", 1: "t"}}
    sess = _session(_export(model, (ember.randn(2, 5, 8), ember.randn(2, 4, 8)),
                            input_names=["src", "tgt"], dynamic_axes=dyn))
    for b, s, t in ((2, 5, 4), (3, 7, 6)):
        src, tgt = ember.randn(b, s, 8), ember.randn(b, t, 8)
        want = model(src, tgt)
        with torch.no_grad():
            tmask = torch.nn.Transformer.generate_square_subsequent_mask(t)
            tw = tt(_t(torch, src), _t(torch, tgt), tgt_mask=tmask, tgt_is_causal=True)
        _close([tw.numpy()], want, 1e-5)
        _close(sess.run(None, {"src": src.numpy(), "tgt": tgt.numpy()}), want)
