"""The Transformer family against torch: weights copied from torch (or from a torch checkpoint),
outputs and every parameter's gradient in train mode (dropout 0) and outputs in eval mode, over
norm_first x activation x batch_first x bias and every mask; repr, state_dict keys, seeded
initialisation, errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember

from helpers import same_error

D, H, FF = 8, 2, 16


def _load_from_torch(t_mod, e_mod):
    e_mod.load_state_dict({k: ember.tensor(v.detach().numpy().copy())
                           for k, v in t_mod.state_dict().items()})


def _randomise_biases(torch, mod):
    """torch zeroes attention biases at init; give every parameter a non-trivial value."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in mod.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.1)


def _act(lib, name):
    return {"relu": "relu", "gelu": "gelu", "fn": lib.nn.functional.gelu,
            "module": lib.nn.GELU(), "lambda": (lambda x: lib.tanh(x) * 2.0)}[name]


def _grads_match(t_mod, e_mod, rtol=2e-4, atol=2e-5):
    tp, ep = dict(t_mod.named_parameters()), dict(e_mod.named_parameters())
    assert list(tp) == list(ep)
    for n, p in tp.items():
        if p.grad is None:
            assert ep[n].grad is None, n
        else:
            np.testing.assert_allclose(ep[n].grad.numpy(), p.grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=n)


def _seq(rng, batch_first, n=3, length=5, d=D, batched=True):
    if not batched:
        return rng.standard_normal((length, d)).astype(np.float32)
    shape = (n, length, d) if batch_first else (length, n, d)
    return rng.standard_normal(shape).astype(np.float32)


def _masks(kind, length, n, lib):
    """(attn mask, key padding mask, is_causal) of one kind, as lib tensors."""
    causal = np.triu(np.full((length, length), -np.inf, np.float32), 1)
    kpm = np.zeros((n, length), bool)
    kpm[0, -2:] = True
    kpm[1, -1] = True
    if kind == "none":
        return None, None, None
    if kind == "causal_float":
        return lib.tensor(causal), None, None
    if kind == "causal_flag":
        return lib.tensor(causal), None, True
    if kind == "bool":
        return lib.tensor(np.isinf(causal)), None, None
    if kind == "kpm":
        return None, lib.tensor(kpm), None
    if kind == "kpm_float":
        return None, lib.tensor(np.where(kpm, -1e9, 0.0).astype(np.float32)), None
    if kind == "both":
        return lib.tensor(np.isinf(causal)), lib.tensor(kpm), None
    raise ValueError(kind)


def _run(lib, mod, fn, train, grad=True):
    mod.train(train)
    if grad:
        out = fn()
        out.backward(lib.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape))
                                .astype(np.float32)))
        return out
    with lib.no_grad():
        return fn()


ENC_CONFIGS = [dict(norm_first=nf, activation=act, batch_first=bf, bias=b)
               for nf, act, bf, b in [(False, "relu", False, True), (True, "gelu", True, True),
                                      (False, "fn", True, False), (True, "module", False, True),
                                      (False, "lambda", True, True)]]


@pytest.mark.parametrize("cfg", range(len(ENC_CONFIGS)))
@pytest.mark.parametrize("mask", ["none", "causal_float", "causal_flag", "bool", "kpm",
                                  "kpm_float", "both"])
def test_encoder_layer_and_stack(torch, cfg, mask):
    conf = dict(ENC_CONFIGS[cfg])
    act = conf.pop("activation")
    rng = np.random.default_rng(cfg)
    x = _seq(rng, conf["batch_first"])
    for stacked in (False, True):
        mods = []
        for lib in (torch, ember):
            layer = lib.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation=_act(lib, act),
                                                   **conf)
            if stacked:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    layer = lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(D))
            mods.append(layer)
        t, e = mods
        assert repr(e) == repr(t)
        assert list(e.state_dict()) == list(t.state_dict())
        _randomise_biases(torch, t)
        _load_from_torch(t, e)
        outs = []
        for lib, mod in ((torch, t), (ember, e)):
            am, kpm, causal = _masks(mask, 5, 3, lib)
            xi = lib.tensor(x)
            if stacked:
                fn = lambda: mod(xi, mask=am, src_key_padding_mask=kpm, is_causal=causal)
            else:
                fn = lambda: mod(xi, src_mask=am, src_key_padding_mask=kpm,
                                 is_causal=bool(causal))
            train = _run(lib, mod, fn, True)
            evald = _run(lib, mod, fn, False, grad=False)
            outs.append((train, evald))
        for a, b in zip(outs[1], outs[0]):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4,
                                       atol=1e-5)
        _grads_match(t, e)


DEC_CONFIGS = [dict(norm_first=False, activation="relu", batch_first=False, bias=True),
               dict(norm_first=True, activation="gelu", batch_first=True, bias=True),
               dict(norm_first=False, activation="fn", batch_first=True, bias=False)]


@pytest.mark.parametrize("cfg", range(len(DEC_CONFIGS)))
@pytest.mark.parametrize("masks", ["none", "causal", "causal_flag", "all"])
def test_decoder_layer_and_stack(torch, cfg, masks):
    conf = dict(DEC_CONFIGS[cfg])
    act = conf.pop("activation")
    bf = conf["batch_first"]
    rng = np.random.default_rng(10 + cfg)
    tgt, mem = _seq(rng, bf, length=4), _seq(rng, bf, length=6)
    for stacked in (False, True):
        mods = []
        for lib in (torch, ember):
            layer = lib.nn.TransformerDecoderLayer(D, H, FF, dropout=0.0,
                                                   activation=_act(lib, act), **conf)
            if stacked:
                layer = lib.nn.TransformerDecoder(layer, 2, norm=lib.nn.LayerNorm(D))
            mods.append(layer)
        t, e = mods
        assert repr(e) == repr(t)
        assert list(e.state_dict()) == list(t.state_dict())
        _randomise_biases(torch, t)
        _load_from_torch(t, e)
        outs = []
        for lib, mod in ((torch, t), (ember, e)):
            kw = {}
            if masks != "none":
                kw["tgt_mask"] = lib.tensor(np.triu(np.full((4, 4), -np.inf, np.float32), 1))
            if masks == "causal_flag":
                kw["tgt_is_causal"] = True
            if masks == "all":
                mm = np.zeros((4, 6), bool)
                mm[1, 2] = True
                kw["memory_mask"] = lib.tensor(mm)
                tk = np.zeros((3, 4), bool)
                tk[0, -1] = True
                mk = np.zeros((3, 6), bool)
                mk[2, -2:] = True
                kw["tgt_key_padding_mask"] = lib.tensor(tk)
                kw["memory_key_padding_mask"] = lib.tensor(mk)
            a, b = lib.tensor(tgt), lib.tensor(mem, requires_grad=True)
            fn = lambda: mod(a, b, **kw)
            outs.append((_run(lib, mod, fn, True), b.grad, _run(lib, mod, fn, False, False)))
        for a, b in zip(outs[1], outs[0]):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4,
                                       atol=1e-5)
        _grads_match(t, e)


@pytest.mark.parametrize("batch_first,norm_first", [(False, False), (True, True)])
def test_transformer_seeded_init_repr_and_outputs(torch, batch_first, norm_first):
    kw = dict(d_model=D, nhead=H, num_encoder_layers=2, num_decoder_layers=1,
              dim_feedforward=FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        t = torch.nn.Transformer(**kw)
        ember.manual_seed(0)
        e = ember.nn.Transformer(**kw)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():  # torch's init, draw for draw
        np.testing.assert_allclose(e.state_dict()[k].numpy(), v.numpy(), rtol=1e-6, atol=1e-7,
                                   err_msg=k)
    rng = np.random.default_rng(3)
    src, tgt = _seq(rng, batch_first, length=6), _seq(rng, batch_first, length=4)
    outs = []
    for lib, mod in ((torch, t), (ember, e)):
        m = mod.generate_square_subsequent_mask(4)
        kpm = np.zeros((3, 6), bool)
        kpm[1, -3:] = True
        fn = lambda: mod(lib.tensor(src), lib.tensor(tgt), tgt_mask=m,
                         src_key_padding_mask=lib.tensor(kpm),
                         memory_key_padding_mask=lib.tensor(kpm))
        outs.append((_run(lib, mod, fn, True), _run(lib, mod, fn, False, False)))
    for a, b in zip(outs[1], outs[0]):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
    _grads_match(t, e)


def test_encoder_nested_fast_path_zeroes_padding(torch):
    """torch's eval/no-grad encoder runs on nested tensors and pads with zeros; so does ember."""
    outs = []
    x = _seq(np.random.default_rng(4), True)
    for lib in (torch, ember):
        lib.manual_seed(0)
        layer = lib.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True)
        outs.append(lib.nn.TransformerEncoder(layer, 2).eval())
    _randomise_biases(torch, outs[0])
    _load_from_torch(*outs)
    res = []
    for lib, mod in zip((torch, ember), outs):
        am, kpm, _ = _masks("kpm", 5, 3, lib)
        with lib.no_grad():
            res.append(mod(lib.tensor(x), src_key_padding_mask=kpm).numpy())
    assert np.all(res[0][0, -2:] == 0)
    np.testing.assert_allclose(res[1], res[0], rtol=1e-4, atol=1e-5)


def test_torch_checkpoint_loads(torch, tmp_path):
    torch.manual_seed(5)
    t = torch.nn.Transformer(d_model=D, nhead=H, num_encoder_layers=1, num_decoder_layers=2,
                             dim_feedforward=FF, activation="gelu").eval()
    _randomise_biases(torch, t)
    path = tmp_path / "transformer.pt"
    torch.save(t.state_dict(), path)
    e = ember.nn.Transformer(d_model=D, nhead=H, num_encoder_layers=1, num_decoder_layers=2,
                             dim_feedforward=FF, activation="gelu").eval()
    e.load_state_dict(ember.load(path))
    rng = np.random.default_rng(6)
    src, tgt = _seq(rng, False, length=6), _seq(rng, False, length=4)
    with torch.no_grad():
        ref = t(torch.tensor(src), torch.tensor(tgt),
                tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(4)).numpy()
    with ember.no_grad():
        got = e(ember.tensor(src), ember.tensor(tgt),
                tgt_mask=ember.nn.Transformer.generate_square_subsequent_mask(4)).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


def test_unbatched_and_generate_mask(torch):
    m_t = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    m_e = ember.nn.Transformer.generate_square_subsequent_mask(5, dtype=ember.float64)
    assert str(m_e.dtype) == "ember.float64"
    np.testing.assert_array_equal(m_e.numpy(), m_t.numpy())
    mods = [lib.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0) for lib in (torch, ember)]
    _load_from_torch(*mods)
    x = _seq(np.random.default_rng(7), False, batched=False)
    outs = [_run(lib, mod, lambda: mod(lib.tensor(x)), True)
            for lib, mod in zip((torch, ember), mods)]
    np.testing.assert_allclose(outs[1].detach().numpy(), outs[0].detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    _grads_match(*mods)


def test_nested_tensor_warning(torch):
    for lib in (torch, ember):
        layer = lib.nn.TransformerEncoderLayer(D, H, FF)
        with pytest.warns(UserWarning, match="enable_nested_tensor is True, but "
                          r"self.use_nested_tensor is False because encoder_layer.self_attn."
                          r"batch_first was not True"):
            enc = lib.nn.TransformerEncoder(layer, 2)
        assert enc.use_nested_tensor is False and enc.enable_nested_tensor is True


@pytest.mark.parametrize("case", ["activation", "batch", "features", "heads"])
def test_transformer_errors(torch, case):
    def make(lib):
        def f():
            if case == "activation":
                return lib.nn.TransformerEncoderLayer(D, H, FF, activation="tanh")
            if case == "heads":
                return lib.nn.TransformerEncoderLayer(9, 2, FF)
            m = lib.nn.Transformer(D, H, 1, 1, FF)
            src = lib.zeros(5, 3, D)
            tgt = lib.zeros(4, 2, D) if case == "batch" else lib.zeros(4, 3, D + 1)
            return m(src, tgt)
        return f
    ee, te = same_error(torch, make(ember), make(torch))
    assert str(ee) == str(te)


@pytest.mark.parametrize("batch_first", [True, False])
def test_training_with_dropout_matches_torch(torch, batch_first):
    """Dropout draws land where torch's do (attention weights, and the layers' outputs, which
    are transposed views under batch_first): a few AdamW steps give torch's losses."""
    losses = []
    rng = np.random.default_rng(9)
    src, tgt = _seq(rng, batch_first, length=6), _seq(rng, batch_first, length=5)
    weights = _seq(rng, batch_first, length=5)
    for lib in (torch, ember):
        lib.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = lib.nn.Transformer(D, H, 1, 1, FF, dropout=0.2, batch_first=batch_first,
                                       activation="gelu")
        opt = lib.optim.AdamW(model.parameters(), lr=1e-2)
        mask = model.generate_square_subsequent_mask(5)
        run = []
        for _ in range(3):
            out = model(lib.tensor(src), lib.tensor(tgt), tgt_mask=mask, tgt_is_causal=True)
            loss = (out * lib.tensor(weights)).mean()  # (not out**2: LayerNorm makes it ~1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.append(float(loss.detach()))
        losses.append(run)
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)


def test_fully_padded_sequence_in_inference_as_torch(torch):
    """Inference on a batch holding an all-padding sequence: NaN rows from the fused layer
    (torch's kernel), zeros from the nested-tensor encoder."""
    x = _seq(np.random.default_rng(13), True)
    kpm = np.zeros((3, 5), bool)
    kpm[1] = True
    kpm[2, -2:] = True
    res = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        layer = lib.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True).eval()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nested = lib.nn.TransformerEncoder(layer, 2).eval()
            plain = lib.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
        with lib.no_grad():
            xi, m = lib.tensor(x), lib.tensor(kpm)
            res.append([mod(xi, src_key_padding_mask=m).numpy() for mod in (layer, nested, plain)])
    for a, b in zip(res[1], res[0]):
        assert np.array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True)
