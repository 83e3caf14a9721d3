"""Recurrent layers under retain_graph=True: a second backward through the same graph gives
torch's gradients (the layer's saved activations are kept), without it torch's RuntimeError; the
activations are dropped with the graph after a plain backward."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember
from helpers import assert_close

X = np.random.default_rng(5).standard_normal((3, 7, 4)).astype(np.float32)


def _run(fw, kind, layers, bidir, packed, twice):
    fw.manual_seed(0)
    m = getattr(fw.nn, kind)(4, 6, num_layers=layers, bidirectional=bidir, batch_first=True)
    x = fw.tensor(X, requires_grad=True)
    if packed:
        inp = fw.nn.utils.rnn.pack_padded_sequence(x, fw.tensor([7, 5, 2]), batch_first=True)
        o, _ = m(inp)
        o = fw.nn.utils.rnn.pad_packed_sequence(o, batch_first=True)[0]
    else:
        o, _ = m(x)
    loss = (o * o).sum()
    loss.backward(retain_graph=twice)
    if twice:
        loss.backward()
    return x.grad, [p.grad for p in m.parameters()]


@pytest.mark.parametrize("kind,layers,bidir,packed", list(itertools.product(
    ["LSTM", "GRU", "RNN"], [1, 2], [False, True], [False, True])))
def test_second_backward_with_retain_graph_matches_torch(torch, kind, layers, bidir, packed):
    ge, pe = _run(ember, kind, layers, bidir, packed, True)
    gt, pt = _run(torch, kind, layers, bidir, packed, True)
    assert_close(ge, gt, rtol=1e-4, atol=1e-4)
    for a, b in zip(pe, pt):
        assert_close(a, b, rtol=1e-4, atol=1e-4)
    once, _ = _run(ember, kind, layers, bidir, packed, False)
    np.testing.assert_allclose(ge.numpy(), 2 * once.numpy(), rtol=1e-5, atol=1e-5)  # twice


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_second_backward_without_retain_graph_raises_torch_error(torch, kind):
    msgs = []
    for fw in (torch, ember):
        m = getattr(fw.nn, kind)(4, 6, batch_first=True)
        o, _ = m(fw.tensor(X))
        o.sum().backward()
        with pytest.raises(RuntimeError) as e:
            o.sum().backward()
        msgs.append(str(e.value))
    assert msgs[1].startswith("Trying to backward through the graph a second time")


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_activations_are_dropped_after_a_plain_backward(kind):
    m = getattr(ember.nn, kind)(4, 6, batch_first=True)
    o, _ = m(ember.tensor(X))
    node = o.grad_fn
    while type(node).__name__ not in ("LstmLayerBackward0", "GruLayerBackward0",
                                      "RnnTanhLayerBackward0"):
        node = node.next_functions[0][0]
    assert getattr(node, "arrays", None) is not None or getattr(node, "uniform", None) is not None
    o.sum().backward()
    assert getattr(node, "arrays", None) is None and getattr(node, "uniform", None) is None
