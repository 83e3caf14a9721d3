"""ember.onnx.export of the recurrent layers and Embedding (issue 12): the exported file run in
ONNX Runtime gives ember's outputs (and torch's, for the same weights), over the layer options
(num_layers, bidirectional, batch_first, bias, relu, initial states, unbatched input), with
dynamic batch and sequence axes; what ONNX cannot express is an error naming it."""
from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import ember

nn = ember.nn


def _export(model, args, **kw):
    buf = io.BytesIO()
    ember.onnx.export(model, args, buf, **kw)
    return buf.getvalue()


def _session(blob):
    return ort.InferenceSession(blob, providers=["CPUExecutionProvider"])


def _flat(o):
    if isinstance(o, (tuple, list)):
        return [t for x in o for t in _flat(x)]
    return [o]


def _np(ts):
    return [t.detach().numpy() for t in _flat(ts)]


def _close(got, want, tol=2e-5):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


CASES = [("LSTM", {}), ("GRU", {}), ("RNN", {}), ("RNN", {"nonlinearity": "relu"}),
         ("LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
         ("GRU", {"num_layers": 3, "bidirectional": True}),
         ("RNN", {"num_layers": 2, "bidirectional": True, "bias": False}),
         ("LSTM", {"num_layers": 2, "bias": False, "batch_first": True}),
         ("GRU", {"batch_first": True, "bidirectional": True})]


def _pair(torch, kind, kw):
    ember.manual_seed(0)
    m = getattr(nn, kind)(3, 5, **kw).eval()
    t = getattr(torch.nn, kind)(3, 5, **kw).eval()
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    return m, t


def _states(m, batch):
    D = 2 if m.bidirectional else 1
    shape = (m.num_layers * D, batch, m.hidden_size) if batch else (m.num_layers * D,
                                                                    m.hidden_size)
    h0 = ember.randn(*shape)
    return (h0, ember.randn(*shape)) if m.mode == "LSTM" else h0


@pytest.mark.parametrize("kind,kw", CASES)
def test_recurrent_layer_matches_ember_and_torch_in_onnx_runtime(torch, kind, kw):
    m, t = _pair(torch, kind, kw)
    x = ember.randn(4, 2, 3)
    want = _np(m(x))
    with torch.no_grad():
        _close(want, [a.numpy() for a in _flat(t(torch.tensor(x.numpy())))], 1e-5)
    sess = _session(_export(m, (x,), input_names=["x"]))
    n_out = 3 if kind == "LSTM" else 2
    assert [o.name for o in sess.get_outputs()] == [f"output.{i}" for i in range(n_out)]
    assert [n.op_type for n in onnx.load_from_string(_export(m, (x,))).graph.node].count(
        {"LSTM": "LSTM", "GRU": "GRU", "RNN": "RNN"}[kind]) == m.num_layers
    _close(sess.run(None, {"x": x.numpy()}), want)


@pytest.mark.parametrize("kind,kw", CASES)
def test_recurrent_layer_with_initial_states_as_inputs(torch, kind, kw):
    m, t = _pair(torch, kind, kw)
    x = ember.randn(4, 2, 3)
    hx = _states(m, 4 if m.batch_first else 2)
    want = _np(m(x, hx))
    th = tuple(torch.tensor(h.numpy()) for h in _flat(hx))
    with torch.no_grad():
        tout = t(torch.tensor(x.numpy()), th if kind == "LSTM" else th[0])
    _close(want, [a.numpy() for a in _flat(tout)], 1e-5)
    names = ["x", "h0", "c0"][:len(_flat(hx)) + 1]
    sess = _session(_export(m, (x, hx), input_names=names))
    assert [i.name for i in sess.get_inputs()] == names
    feeds = dict(zip(names, [x.numpy()] + [h.numpy() for h in _flat(hx)]))
    _close(sess.run(None, feeds), want)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_unbatched_input(kind):
    ember.manual_seed(1)
    m = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True).eval()
    x = ember.randn(5, 3)
    hx = _states(m, 0)
    want = _np(m(x, hx))
    feeds = [x] + _flat(hx)
    names = [f"i{k}" for k in range(len(feeds))]
    sess = _session(_export(m, (x, hx), input_names=names))
    _close(sess.run(None, {n: a.numpy() for n, a in zip(names, feeds)}), want)


class CharLM(nn.Module):
    """The char-LSTM language model: Embedding -> 2-layer LSTM -> Linear over the vocabulary."""

    def __init__(self, vocab=11, emb=6, hidden=8):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=2, batch_first=True, dropout=0.2)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens, h0, c0):
        out, (h, c) = self.lstm(self.embed(tokens), (h0, c0))
        return self.head(out), h, c


def test_char_lstm_lm_end_to_end_with_dynamic_batch_and_sequence(torch):
    ember.manual_seed(0)
    model = CharLM()
    tokens = ember.randint(0, 11, (2, 7))
    h0, c0 = ember.zeros(2, 2, 8), ember.zeros(2, 2, 8)
    blob = _export(model, (tokens, h0, c0), input_names=["tokens", "h0", "c0"],
                   output_names=["logits", "h", "c"],
                   dynamic_axes={"tokens": {0: "batch", 1: "seq"}, "h0": {1: "batch"},
                                 "c0": {1: "batch"}, "logits": {0: "batch", 1: "seq"},
                                 "h": {1: "batch"}, "c": {1: "batch"}})
    assert model.training  # restored after the export (which runs in eval)
    proto = onnx.load_from_string(blob)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ["batch", "seq"]
    sess = _session(blob)
    model.eval()
    tm = _torch_char_lm(torch, model)
    rng = np.random.default_rng(0)
    for batch, seq in ((2, 7), (3, 12), (1, 1)):  # other sizes than the traced ones
        tok = ember.tensor(rng.integers(0, 11, (batch, seq)))
        h, c = ember.randn(2, batch, 8), ember.randn(2, batch, 8)
        want = _np(model(tok, h, c))
        got = sess.run(None, {"tokens": tok.numpy(), "h0": h.numpy(), "c0": c.numpy()})
        _close(got, want)
        with torch.no_grad():
            tout = tm(*(torch.tensor(a.numpy()) for a in (tok, h, c)))
        _close([a.numpy() for a in tout], want, 1e-5)


def _torch_char_lm(torch, model):
    class TorchLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(11, 6)
            self.lstm = torch.nn.LSTM(6, 8, num_layers=2, batch_first=True, dropout=0.2)
            self.head = torch.nn.Linear(8, 11)

        def forward(self, tokens, h0, c0):
            out, (h, c) = self.lstm(self.embed(tokens), (h0, c0))
            return self.head(out), h, c
    t = TorchLM().eval()
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    return t


def test_gru_classifier_with_functional_embedding_and_last_step(torch):
    """F.embedding, the GRU's final hidden state of both directions permuted and reshaped into
    a Linear; and an LSTM classifier reading its last step (out[:, -1])."""
    F = nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Parameter(ember.randn(9, 4))
            self.gru = nn.GRU(4, 6, bidirectional=True)
            self.fc = nn.Linear(12, 3)

        def forward(self, tokens):
            _, h = self.gru(F.embedding(tokens, self.table))
            return F.log_softmax(self.fc(h.permute(1, 0, 2).reshape(-1, 12)), dim=1)

    ember.manual_seed(2)
    net = Net().eval()
    sess = _session(_export(net, (ember.randint(0, 9, (5, 3)),), input_names=["t"],
                            dynamic_axes={"t": {0: "seq", 1: "batch"}}))
    tok = ember.randint(0, 9, (8, 2))
    _close(sess.run(None, {"t": tok.numpy()}), _np(net(tok)))

    class LastStep(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 5, batch_first=True)
            self.fc = nn.Linear(10, 2)

        def forward(self, x):
            out, (h, _) = self.lstm(x)
            both = ember.cat([out[:, -1], h.squeeze(0)], dim=1)
            return self.fc(both), ember.stack([out[:, 0, :2], out[..., -1, 1:3]], 1).mean(-1)

    m = LastStep().eval()
    sess = _session(_export(m, (ember.randn(2, 7, 4),), input_names=["x"],
                            dynamic_axes={"x": {0: "b", 1: "t"}}))
    x = ember.randn(3, 4, 4)
    _close(sess.run(None, {"x": x.numpy()}), _np(m(x)))
    tm = _torch_last_step(torch, m)
    with torch.no_grad():
        _close([a.numpy() for a in tm(torch.tensor(x.numpy()))], _np(m(x)), 1e-5)

    class Fancy(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 6)

        def forward(self, x):
            return self.gru(x)[0][[0, 2]]  # advanced indexing: named, not silently wrong

    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="advanced indexing"):
        _export(Fancy(), (ember.randn(3, 2, 4),))


def _torch_last_step(torch, m):
    class LastStep(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(4, 5, batch_first=True)
            self.fc = torch.nn.Linear(10, 2)

        def forward(self, x):
            out, (h, _) = self.lstm(x)
            both = torch.cat([out[:, -1], h.squeeze(0)], dim=1)
            return self.fc(both), torch.stack([out[:, 0, :2], out[..., -1, 1:3]], 1).mean(-1)
    t = LastStep().eval()
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    return t


def test_what_onnx_cannot_express_is_named():
    U = ember.onnx.UnsupportedOperatorError
    lstm = nn.LSTM(3, 6, proj_size=2)
    with pytest.raises(U, match="proj_size=2"):
        _export(lstm, (ember.randn(4, 2, 3),))
    with pytest.raises(U, match="PackedSequence"):
        _export(_Packed(nn.GRU(3, 4)), (ember.randn(4, 2, 3),))
    with pytest.raises(U, match="max_norm"):
        _export(nn.Embedding(5, 2, max_norm=1.0), (ember.tensor([1, 2]),))


class _Packed(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(nn.utils.rnn.pack_padded_sequence(x, [4, 3]))[1]


@pytest.mark.parametrize("opset", [13, 17])
def test_older_opsets(opset):
    ember.manual_seed(3)
    m = nn.GRU(3, 4, num_layers=2, bidirectional=True).eval()
    x, h = ember.randn(5, 2, 3), ember.randn(4, 2, 4)
    blob = _export(m, (x, h), input_names=["x", "h"], opset_version=opset)
    assert onnx.load_from_string(blob).opset_import[0].version == opset
    _close(_session(blob).run(None, {"x": x.numpy(), "h": h.numpy()}), _np(m(x, h)))
