"""nn.RNN / LSTM / GRU and the cells against torch: torch's weights copied into ember, then
outputs, final states and every gradient over batch_first x bidirectional x num_layers x
packed/unpacked x initial state; seeded init, repr, state_dict keys, a torch checkpoint,
dropout between layers, float64 gradcheck and torch's errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.autograd import gradcheck
from ember.nn.utils import rnn as ernn
from helpers import assert_close, same_error

RNG = np.random.default_rng(0)
# torch notes that oneDNN lacks LSTM projections (it falls back to its own kernel)
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections")
I, H, P, T, B = 4, 5, 3, 6, 3
LENGTHS = [6, 2, 4]  # unsorted: packs with enforce_sorted=False

KINDS = {  # name -> (class name, kwargs)
    "rnn_tanh": ("RNN", {}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", {}),
    "lstm_proj": ("LSTM", {"proj_size": P}),
    "gru": ("GRU", {}),
}


def _copy_weights(tm, em):
    tn = [n for n, _ in tm.named_parameters()]
    en = [n for n, _ in em.named_parameters()]
    assert tn == en
    for p, q in zip(tm.parameters(), em.parameters()):
        q.data = ember.tensor(p.detach().numpy().copy())


def _pair(torch, kind, **kw):
    cls, extra = KINDS[kind]
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(I, H, **extra, **kw)
    em = getattr(nn, cls)(I, H, **extra, **kw)
    _copy_weights(tm, em)
    return tm, em


def _states(out):
    """output and final states as a flat list."""
    o, h = out
    return [o] + (list(h) if isinstance(h, tuple) else [h])


def _hidden(lib, kind, arrays, requires_grad=True):
    ts = [lib.tensor(a.copy(), requires_grad=requires_grad) for a in arrays]
    return tuple(ts) if KINDS[kind][0] == "LSTM" else ts[0]


def _backward(lib, outs, weights):
    sum((o * lib.tensor(w)).sum() for o, w in zip(outs, weights)).backward()


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("with_h0", [False, True])
def test_matrix(torch, kind, batch_first, bidirectional, num_layers, packed, with_h0):
    tm, em = _pair(torch, kind, num_layers=num_layers, batch_first=batch_first,
                   bidirectional=bidirectional)
    x = RNG.standard_normal((B, T, I) if batch_first else (T, B, I)).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    ex = ember.tensor(x, requires_grad=True)
    D = 2 if bidirectional else 1
    hout = P if kind == "lstm_proj" else H
    h_arrays = [RNG.standard_normal((num_layers * D, B, hout)).astype(np.float32)]
    if KINDS[kind][0] == "LSTM":
        h_arrays.append(RNG.standard_normal((num_layers * D, B, H)).astype(np.float32))
    th = _hidden(torch, kind, h_arrays) if with_h0 else None
    eh = _hidden(ember, kind, h_arrays) if with_h0 else None
    if packed:
        ti = torch.nn.utils.rnn.pack_padded_sequence(tx, LENGTHS, batch_first=batch_first,
                                                     enforce_sorted=False)
        ei = ernn.pack_padded_sequence(ex, LENGTHS, batch_first=batch_first,
                                       enforce_sorted=False)
    else:
        ti, ei = tx, ex
    tout, eout = tm(ti, th), em(ei, eh)
    if packed:
        assert isinstance(eout[0], ernn.PackedSequence)
        assert_close(eout[0].batch_sizes, tout[0].batch_sizes)
        assert_close(eout[0].sorted_indices, tout[0].sorted_indices)
        assert_close(eout[0].unsorted_indices, tout[0].unsorted_indices)
        tout = (torch.nn.utils.rnn.pad_packed_sequence(tout[0], batch_first)[0], tout[1])
        eout = (ernn.pad_packed_sequence(eout[0], batch_first)[0], eout[1])
    tl, el = _states(tout), _states(eout)
    assert_close(el, tl, rtol=1e-5, atol=1e-6)
    weights = [RNG.standard_normal(tuple(t.shape)).astype(np.float32) for t in tl]
    _backward(torch, tl, weights)
    _backward(ember, el, weights)
    assert_close(ex.grad, tx.grad, rtol=1e-5, atol=1e-6)
    for (name, p), q in zip(tm.named_parameters(), em.parameters()):
        assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-6)
    if with_h0:
        ths = th if isinstance(th, tuple) else (th,)
        ehs = eh if isinstance(eh, tuple) else (eh,)
        for a, b in zip(ehs, ths):
            assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("with_h0", [False, True])
def test_unbatched(torch, kind, with_h0):
    tm, em = _pair(torch, kind, num_layers=2, bidirectional=True)
    x = RNG.standard_normal((T, I)).astype(np.float32)
    hout = P if kind == "lstm_proj" else H
    h_arrays = [RNG.standard_normal((4, hout)).astype(np.float32)]
    if KINDS[kind][0] == "LSTM":
        h_arrays.append(RNG.standard_normal((4, H)).astype(np.float32))
    th = _hidden(torch, kind, h_arrays) if with_h0 else None
    eh = _hidden(ember, kind, h_arrays) if with_h0 else None
    tl = _states(tm(torch.tensor(x), th))
    el = _states(em(ember.tensor(x), eh))
    assert_close(el, tl)
    weights = [RNG.standard_normal(tuple(t.shape)).astype(np.float32) for t in tl]
    _backward(torch, tl, weights)
    _backward(ember, el, weights)
    for p, q in zip(tm.parameters(), em.parameters()):
        assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-6)


def test_packed_final_states_exclude_padding(torch):
    """h_n of a packed batch is each sequence's state at its own last step: the same as
    running every sequence alone."""
    _, em = _pair(torch, "lstm", bidirectional=True)
    seqs = [RNG.standard_normal((n, I)).astype(np.float32) for n in LENGTHS]
    packed = ernn.pack_sequence([ember.tensor(s) for s in seqs], enforce_sorted=False)
    _, (h, c) = em(packed)
    for k, s in enumerate(seqs):
        _, (h1, c1) = em(ember.tensor(s))
        np.testing.assert_allclose(h[:, k].detach().numpy(), h1.detach().numpy(), atol=1e-6)
        np.testing.assert_allclose(c[:, k].detach().numpy(), c1.detach().numpy(), atol=1e-6)


def test_no_grad_and_dtype(torch):
    tm, em = _pair(torch, "gru", num_layers=2)
    x = RNG.standard_normal((T, B, I)).astype(np.float32)
    with ember.no_grad():
        out, h = em(ember.tensor(x))
    assert out.grad_fn is None and not out.requires_grad
    assert_close(out, tm(torch.tensor(x))[0])
    em64 = em.double()
    out64, _ = em64(ember.tensor(x.astype(np.float64)))
    assert out64.dtype == ember.float64


@pytest.mark.parametrize("name,kw", [("RNN", {}), ("RNN", {"nonlinearity": "relu", "bias": False}),
                                     ("LSTM", {"num_layers": 2, "bidirectional": True,
                                               "proj_size": 2}),
                                     ("GRU", {"batch_first": True, "dropout": 0.25,
                                              "num_layers": 3}),
                                     ("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                     ("LSTMCell", {"bias": False}), ("GRUCell", {})])
def test_seeded_init_repr_state_dict(torch, name, kw):
    torch.manual_seed(3)
    tm = getattr(torch.nn, name)(I, H, **kw)
    ember.manual_seed(3)
    em = getattr(nn, name)(I, H, **kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    for (n, p), (m, q) in zip(tm.named_parameters(), em.named_parameters()):
        assert n == m
        assert np.array_equal(q.detach().numpy(), p.detach().numpy()), n  # bit for bit
    if "Cell" not in name:
        assert em._flat_weights_names == tm._flat_weights_names
        assert [[tuple(w.shape) for w in ws] for ws in em.all_weights] == \
            [[tuple(w.shape) for w in ws] for ws in tm.all_weights]
        assert all(a is b for a, b in zip(em._flat_weights, em.parameters()))
        em.flatten_parameters()


def test_torch_checkpoint_loads(torch, tmp_path):
    torch.manual_seed(1)
    tm = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True)
    path = tmp_path / "lstm.pt"
    torch.save(tm.state_dict(), path)
    em = nn.LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True)
    em.load_state_dict(ember.load(str(path)))
    x = RNG.standard_normal((B, T, I)).astype(np.float32)
    assert_close(_states(em(ember.tensor(x))), _states(tm(torch.tensor(x))))


def test_dropout_between_layers(torch):
    """Training-mode dropout after every layer but the last, drawn as torch draws it."""
    tm, em = _pair(torch, "lstm", num_layers=3, dropout=0.5)
    x = RNG.standard_normal((T, B, I)).astype(np.float32)
    torch.manual_seed(7)
    ember.manual_seed(7)
    tl, el = _states(tm(torch.tensor(x))), _states(em(ember.tensor(x)))
    assert_close(el, tl)
    tm.eval()
    em.eval()
    ref = _states(em(ember.tensor(x)))
    assert_close(ref, _states(tm(torch.tensor(x))))
    assert not np.allclose(ref[0].detach().numpy(), el[0].detach().numpy())
    # a single layer never drops (torch warns about it)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        one = nn.GRU(I, H, dropout=0.5)
    assert one.dropout == 0.5


@pytest.mark.parametrize("name,kw", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                     ("LSTMCell", {}), ("GRUCell", {}),
                                     ("GRUCell", {"bias": False})])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_h0", [True, False])
def test_cells(torch, name, kw, batched, with_h0):
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(I, H, **kw)
    em = getattr(nn, name)(I, H, **kw)
    _copy_weights(tm, em)
    shape = (B,) if batched else ()
    x = RNG.standard_normal(shape + (I,)).astype(np.float32)
    hs = [RNG.standard_normal(shape + (H,)).astype(np.float32)
          for _ in range(2 if name == "LSTMCell" else 1)]
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    th = [torch.tensor(h, requires_grad=True) for h in hs]
    eh = [ember.tensor(h, requires_grad=True) for h in hs]
    targ = (tuple(th) if name == "LSTMCell" else th[0]) if with_h0 else None
    earg = (tuple(eh) if name == "LSTMCell" else eh[0]) if with_h0 else None
    to, eo = tm(tx, targ), em(ex, earg)
    tl = list(to) if isinstance(to, tuple) else [to]
    el = list(eo) if isinstance(eo, tuple) else [eo]
    assert_close(el, tl)
    weights = [RNG.standard_normal(tuple(t.shape)).astype(np.float32) for t in tl]
    _backward(torch, tl, weights)
    _backward(ember, el, weights)
    assert_close(ex.grad, tx.grad)
    for p, q in zip(tm.parameters(), em.parameters()):
        assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-6)
    if with_h0:
        for a, b in zip(eh, th):
            assert_close(a.grad, b.grad)


# ---- float64 gradcheck ---------------------------------------------------------------------
def _f64(*shape):
    return ember.tensor(RNG.standard_normal(shape), dtype=ember.float64, requires_grad=True)


@pytest.mark.parametrize("name,kw", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                     ("LSTMCell", {}), ("GRUCell", {})])
def test_gradcheck_cells(name, kw):
    cell = getattr(nn, name)(3, 4, dtype=ember.float64, **kw)
    x = _f64(2, 3)
    hs = [_f64(2, 4) for _ in range(2 if name == "LSTMCell" else 1)]
    assert gradcheck(lambda x, *s: cell(x, tuple(s) if name == "LSTMCell" else s[0]),
                     (x, *hs))
    for p in list(cell.parameters()):  # each parameter in turn as the differentiated input
        assert gradcheck(lambda w, p=p: _with_param(cell, p, w, x.detach(), hs, name),
                         (ember.tensor(p.detach().numpy(), requires_grad=True),))


def _with_param(module, p, w, x, hs, name):
    """module's output with parameter p replaced by tensor w (so gradcheck differentiates w)."""
    names = [n for n, q in module.named_parameters() if q is p]
    key = names[0]
    saved = module._parameters[key]
    module._parameters[key] = w
    try:
        if hs is None:
            out = module(x)
        else:
            out = module(x, tuple(hs) if name == "LSTMCell" else hs[0])
    finally:
        module._parameters[key] = saved
    return out


@pytest.mark.parametrize("name,kw", [("LSTM", {"num_layers": 2, "bidirectional": True}),
                                     ("LSTM", {"proj_size": 2, "batch_first": True}),
                                     ("GRU", {"num_layers": 2, "bidirectional": True}),
                                     ("RNN", {"num_layers": 2, "nonlinearity": "relu"})])
@pytest.mark.parametrize("packed", [False, True])
def test_gradcheck_layers(name, kw, packed):
    ember.manual_seed(0)
    m = getattr(nn, name)(2, 3, dtype=ember.float64, **kw)
    bf = kw.get("batch_first", False)
    x = _f64(*((3, 4, 2) if bf else (4, 3, 2)))
    lengths = [4, 2, 3]

    def run(x):
        inp = ernn.pack_padded_sequence(x, lengths, batch_first=bf, enforce_sorted=False) \
            if packed else x
        out, h = m(inp)
        if packed:
            out = ernn.pad_packed_sequence(out, batch_first=bf)[0]
        return (out,) + (h if isinstance(h, tuple) else (h,))

    assert gradcheck(run, (x,))
    for p in m.parameters():
        assert gradcheck(lambda w, p=p: _with_param_seq(m, p, w, run, x),
                         (ember.tensor(p.detach().numpy(), requires_grad=True),))


def _with_param_seq(module, p, w, run, x):
    key = [n for n, q in module.named_parameters() if q is p][0]
    saved = module._parameters[key]
    module._parameters[key] = w
    try:
        return run(x.detach())
    finally:
        module._parameters[key] = saved


# ---- errors ---------------------------------------------------------------------------------
def _err(torch, fn):
    e, t = same_error(torch, lambda: fn(ember), lambda: fn(torch))
    assert str(e) == str(t), (str(e), str(t))


def test_constructor_errors(torch):
    _err(torch, lambda lib: lib.nn.RNN(4, 3, nonlinearity="sigmoid"))
    _err(torch, lambda lib: lib.nn.LSTM(4, 3, dropout=1.5))
    _err(torch, lambda lib: lib.nn.GRU(4, 3, proj_size=2))
    _err(torch, lambda lib: lib.nn.RNN(4, 3, proj_size=2))
    _err(torch, lambda lib: lib.nn.LSTM(4, 3, proj_size=3))
    _err(torch, lambda lib: lib.nn.LSTM(4, 3, proj_size=-1))
    _err(torch, lambda lib: lib.nn.LSTM(4, 0))
    _err(torch, lambda lib: lib.nn.LSTM(4, 2.5))
    _err(torch, lambda lib: lib.nn.GRU(4, 3, num_layers=0))


def _lstm(lib):
    lib.manual_seed(0)
    return lib.nn.LSTM(4, 3, 2, bidirectional=True, proj_size=2)


def test_forward_errors(torch):
    r = lambda lib, *s: lib.zeros(*s)  # noqa: E731
    _err(torch, lambda lib: _lstm(lib)(r(lib, 5, 2, 5)))
    _err(torch, lambda lib: _lstm(lib)(r(lib, 5, 2, 4, 1)))
    _err(torch, lambda lib: _lstm(lib)(r(lib, 4)))
    _err(torch, lambda lib: _lstm(lib)(r(lib, 5, 2, 4), (r(lib, 4, 2, 3), r(lib, 4, 2, 3))))
    _err(torch, lambda lib: _lstm(lib)(r(lib, 5, 2, 4), (r(lib, 4, 2, 2), r(lib, 4, 3, 3))))
    _err(torch, lambda lib: _lstm(lib)(r(lib, 5, 4), (r(lib, 4, 1, 2), r(lib, 4, 1, 3))))
    _err(torch, lambda lib: _lstm(lib)(r(lib, 5, 2, 4), (r(lib, 4, 2), r(lib, 4, 3))))
    _err(torch, lambda lib: _lstm(lib)(r(lib, 5, 2, 4, dtype=lib.float64)))
    gru = lambda lib: lib.nn.GRU(4, 3, batch_first=True)  # noqa: E731
    _err(torch, lambda lib: gru(lib)(r(lib, 2, 5, 4), r(lib, 1, 5, 3)))  # batch_first mix-up
    _err(torch, lambda lib: gru(lib)(r(lib, 5, 4), r(lib, 1, 2, 3)))
    _err(torch, lambda lib: gru(lib)(r(lib, 2, 5, 4), r(lib, 2, 3)))
    _err(torch, lambda lib: gru(lib)(r(lib, 2, 5, 3)))
    packed = lambda lib: lib.nn.utils.rnn.pack_sequence([r(lib, 3, 4), r(lib, 2, 4)])  # noqa
    _err(torch, lambda lib: lib.nn.RNN(4, 3)(packed(lib), r(lib, 1, 3, 3)))
    _err(torch, lambda lib: lib.nn.RNN(5, 3)(packed(lib)))


def test_cell_errors(torch):
    r = lambda lib, *s: lib.zeros(*s)  # noqa: E731
    cell = lambda lib: lib.nn.LSTMCell(4, 3)  # noqa: E731
    _err(torch, lambda lib: cell(lib)(r(lib, 2, 5)))
    _err(torch, lambda lib: cell(lib)(r(lib, 2, 3, 4)))
    _err(torch, lambda lib: cell(lib)(r(lib, 2, 4), (r(lib, 3, 3), r(lib, 2, 3))))
    _err(torch, lambda lib: cell(lib)(r(lib, 2, 4), (r(lib, 2, 4), r(lib, 2, 3))))
    _err(torch, lambda lib: cell(lib)(r(lib, 2, 4), (r(lib, 2, 3), r(lib, 2, 2))))
    _err(torch, lambda lib: cell(lib)(r(lib, 2, 4), (r(lib, 2, 1, 3), r(lib, 2, 3))))
    _err(torch, lambda lib: lib.nn.GRUCell(4, 3)(r(lib, 2, 4), r(lib, 2, 2)))
    _err(torch, lambda lib: lib.nn.GRUCell(4, 3)(r(lib, 4), r(lib, 2, 3)))
    _err(torch, lambda lib: lib.nn.RNNCell(4, 3)(r(lib, 2, 4, 1)))
    _err(torch, lambda lib: lib.nn.RNNCell(4, 3)(r(lib, 2, 4), r(lib, 1, 2, 3)))


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_blocked_gemm_sizes(torch, kind):
    """Sizes where the per-step GEMMs run in column and K blocks (ops/rnn.py's _gemm_plan)."""
    cls, extra = KINDS[kind]
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(8, 130, bidirectional=True, **extra)
    em = getattr(nn, cls)(8, 130, bidirectional=True, **extra)
    _copy_weights(tm, em)
    x = RNG.standard_normal((3, 64, 8)).astype(np.float32)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    tl, el = _states(tm(tx)), _states(em(ex))
    assert_close(el, tl, rtol=1e-5, atol=1e-5)
    weights = [RNG.standard_normal(tuple(t.shape)).astype(np.float32) for t in tl]
    _backward(torch, tl, weights)
    _backward(ember, el, weights)
    assert_close(ex.grad, tx.grad, rtol=1e-4, atol=1e-5)
    for p, q in zip(tm.parameters(), em.parameters()):
        assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("hidden,bias", [(64, True), (130, False), (16, True)])
def test_lstm_full_batch_loop_matches_general_loop(torch, hidden, bias):
    """Padded input runs the transposed loop (ops/lstm_uniform.py, stacked row-block GEMMs when
    4H divides into blocks); it must give the general loop's outputs and gradients, and torch's."""
    from ember.ops.rnn import LstmLayerBackward0
    torch.manual_seed(0)
    tm = torch.nn.LSTM(5, hidden, num_layers=2, bidirectional=True, bias=bias)
    em = nn.LSTM(5, hidden, num_layers=2, bidirectional=True, bias=bias)
    _copy_weights(tm, em)
    x = RNG.standard_normal((7, 3, 5)).astype(np.float32)
    h0 = RNG.standard_normal((4, 3, hidden)).astype(np.float32)
    c0 = RNG.standard_normal((4, 3, hidden)).astype(np.float32)
    weights = None
    results = {}
    for uniform in (True, False):
        LstmLayerBackward0._uniform_ok = uniform
        try:
            em.zero_grad()
            ex, eh, ec = (ember.tensor(a, requires_grad=True) for a in (x, h0, c0))
            el = _states(em(ex, (eh, ec)))
            if weights is None:
                weights = [RNG.standard_normal(tuple(t.shape)).astype(np.float32) for t in el]
            _backward(ember, el, weights)
            results[uniform] = ([t.detach() for t in el], [ex.grad, eh.grad, ec.grad],
                                [p.grad.clone() for p in em.parameters()])
        finally:
            LstmLayerBackward0._uniform_ok = True
    for a, b in zip(sum(results[True], []), sum(results[False], [])):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    tl = _states(tm(tx, (th, tc)))
    _backward(torch, tl, weights)
    for a, b in zip(results[True][0], tl):
        assert_close(a, b, rtol=1e-5, atol=1e-5)
    for a, b in zip(results[True][1], (tx.grad, th.grad, tc.grad)):
        assert_close(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(results[True][2], tm.parameters()):
        assert_close(a, b.grad, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_full_batch_loop_partial_grads(torch, reverse):
    """The transposed loop when only some gradients are wanted: an input without grad (no dx
    in the step GEMM) or frozen weights (no weight gradient), one direction each way."""
    torch.manual_seed(0)
    tm = torch.nn.LSTM(6, 32, bidirectional=reverse)
    em = nn.LSTM(6, 32, bidirectional=reverse)
    _copy_weights(tm, em)
    x = RNG.standard_normal((9, 4, 6)).astype(np.float32)
    w = None
    for x_grad, frozen in ((False, False), (True, True)):
        for m in (tm, em):
            for p in m.parameters():
                p.requires_grad_(not frozen)
        tx = torch.tensor(x, requires_grad=x_grad)
        ex = ember.tensor(x, requires_grad=x_grad)
        tl, el = _states(tm(tx)), _states(em(ex))
        assert_close(el, tl, rtol=1e-5, atol=1e-5)
        w = w or [RNG.standard_normal(tuple(t.shape)).astype(np.float32) for t in tl]
        _backward(torch, tl, w)
        _backward(ember, el, w)
        if x_grad:
            assert_close(ex.grad, tx.grad, rtol=1e-4, atol=1e-5)
        for p, q in zip(tm.parameters(), em.parameters()):
            assert (q.grad is None) == (p.grad is None)
            if p.grad is not None:
                assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-4)
                p.grad = q.grad = None


@pytest.mark.parametrize("batch_first,packed", [(False, False), (True, False), (False, True)])
def test_lstm_output_written_in_place(torch, batch_first, packed):
    """torch saves the padded LSTM's output for its backward: writing it in place before
    backward is torch's in-place modification error. Packed input takes another path in both
    (it does not save the output), where the backward runs; so does the GRU's."""
    x = RNG.standard_normal((3, 4, 5)).astype(np.float32)
    grads = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        m = lib.nn.LSTM(5, 6, batch_first=batch_first)
        inp = lib.tensor(x, requires_grad=True)
        if packed:  # ember's general loop (steps of different batch sizes)
            inp = lib.nn.utils.rnn.pack_padded_sequence(inp, [3, 2, 2, 1])
        out, _ = m(inp)
        if packed:
            out = out.data
        out.mul_(2)
        if packed:
            out.sum().backward()
            grads.append(m.weight_hh_l0.grad)
        else:
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                out.sum().backward()
        g = lib.nn.GRU(5, 6, batch_first=batch_first)
        out, _ = g(lib.tensor(x, requires_grad=True))
        out.mul_(2)
        out.sum().backward()
    if packed:
        assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-5)
