"""nn.RNN / nn.LSTM / nn.GRU and nn.Embedding written as ONNX nodes.

One ONNX RNN/LSTM/GRU node per layer (both directions in one node when bidirectional), its
weights reordered from torch's gate order to ONNX's:
  LSTM  torch (i, f, g, o)  ->  ONNX (i, o, f, c)
  GRU   torch (r, z, n)     ->  ONNX (z, r, h), with linear_before_reset=1 (torch applies r to
                                 W_hn h + b_hn, which is ONNX's linear_before_reset form)
ONNX's Y is (seq, num_directions, batch, hidden); the next layer and torch's output want
(seq, batch, num_directions * hidden), hence a Transpose and a Reshape after each layer.
"""
from __future__ import annotations

import numpy as np

from .errors import UnsupportedOperatorError

_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}
_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}


def _gates(w: np.ndarray, order, hidden: int) -> np.ndarray:
    """Rows of w (gates stacked in torch's order) restacked in ONNX's order."""
    return np.concatenate([w[k * hidden:(k + 1) * hidden] for k in order], 0)


def _layer_weights(m, layer: int):
    """W (D, G*H, in), R (D, G*H, H) and B (D, 2*G*H) or None for one layer, in ONNX order."""
    order, H = _ORDER[m.mode], m.hidden_size
    W, R, B = [], [], []
    for suffix in ("", "_reverse")[:2 if m.bidirectional else 1]:
        def p(kind):
            return getattr(m, f"{kind}_l{layer}{suffix}")._data
        W.append(_gates(p("weight_ih"), order, H))
        R.append(_gates(p("weight_hh"), order, H))
        if m.bias:
            B.append(np.concatenate([_gates(p("bias_ih"), order, H),
                                     _gates(p("bias_hh"), order, H)]))
    return np.stack(W), np.stack(R), (np.stack(B) if B else None)


def _slice0(g, name: str, start: int, stop: int) -> str:
    """name[start:stop] along axis 0."""
    return g.node("Slice", [name, g.const(np.array([start], np.int64)),
                            g.const(np.array([stop], np.int64)),
                            g.const(np.array([0], np.int64))], None)


def _unsqueeze(g, name: str, axis: int, out=None) -> str:
    return g.node("Unsqueeze", [name, g.const(np.array([axis], np.int64))], out)


def _squeeze(g, name: str, axis: int, out=None) -> str:
    return g.node("Squeeze", [name, g.const(np.array([axis], np.int64))], out)


def rnn(g, m, args, kwargs, out) -> None:
    """Record m(input, hx) of an RNN, LSTM or GRU module whose result is `out`."""
    from ..nn.utils.rnn import PackedSequence
    name = type(m).__name__
    if len(args) + len(kwargs) > 2 or set(kwargs) - {"hx"}:
        raise UnsupportedOperatorError(f"ember.onnx.export: {name} takes (input, hx)")
    x = args[0] if args else kwargs.get("input")
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    if isinstance(x, PackedSequence):
        raise UnsupportedOperatorError(f"ember.onnx.export: {name} on a PackedSequence cannot "
                                       f"be exported (pass the padded tensor instead)")
    if m.mode == "LSTM" and m.proj_size > 0:
        raise UnsupportedOperatorError(f"ember.onnx.export: LSTM with proj_size={m.proj_size} "
                                       f"cannot be exported (ONNX's LSTM has no projection)")
    lstm = m.mode == "LSTM"
    h0, c0 = (hx if hx is not None else (None, None)) if lstm else (hx, None)
    batched = x.dim() == 3
    D, H, L = (2 if m.bidirectional else 1), m.hidden_size, m.num_layers
    xs = g.value(x, name)
    if not batched:  # (T, I) -> (T, 1, I); states (L*D, H) -> (L*D, 1, H)
        xs = _unsqueeze(g, xs, 1)
    elif m.batch_first:
        xs = g.node("Transpose", [xs], None, perm=[1, 0, 2])
    states = []
    for s in (h0, c0):
        if s is None:
            states.append(None)
            continue
        v = g.value(s, name)
        states.append(v if batched else _unsqueeze(g, v, 1))
    attrs = {"hidden_size": H, "direction": "bidirectional" if D == 2 else "forward"}
    if m.mode == "GRU":
        attrs["linear_before_reset"] = 1
    elif m.mode != "LSTM":
        attrs["activations"] = ["Tanh" if m.mode == "RNN_TANH" else "Relu"] * D
    hs, cs = [], []
    for layer in range(L):
        W, R, B = _layer_weights(m, layer)
        # no sequence_lens: every sequence runs its full length, as with torch's tensor input
        ins = [xs, g.const(W, "W"), g.const(R, "R"), g.const(B, "B") if B is not None else "",
               ""]
        for s in states[:2 if lstm else 1]:
            ins.append("" if s is None else
                       _slice0(g, s, layer * D, (layer + 1) * D) if L > 1 else s)
        while ins[-1] == "":
            ins.pop()
        n_out = 3 if lstm else 2
        outs = [g.fresh(f"{_OP[m.mode]}_out") for _ in range(n_out)]
        g.nodes.append(g.onnx.helper.make_node(_OP[m.mode], ins, outs, name=g.fresh(_OP[m.mode]),
                                               **attrs))
        hs.append(outs[1])
        if lstm:
            cs.append(outs[2])
        y = g.node("Transpose", [outs[0]], None, perm=[0, 2, 1, 3])  # (T, B, D, H)
        xs = g.node("Reshape", [y, g.const(np.array([0, 0, D * H], np.int64))], None)
    output, hidden = out
    if lstm:
        h_n, c_n = hidden
    else:
        h_n, c_n = hidden, None
    if not batched:
        _squeeze(g, xs, 1, output)
    elif m.batch_first:
        g.node("Transpose", [xs], output, perm=[1, 0, 2])
    else:
        g.node("Identity", [xs], output)
    for parts, t in ((hs, h_n), (cs, c_n)):
        if t is None:
            continue
        v = parts[0] if L == 1 else g.node("Concat", parts, None, axis=0)
        if batched:
            g.node("Identity", [v], t)
        else:
            _squeeze(g, v, 1, t)


def embedding(g, m, x, out) -> None:
    """Embedding(x) = weight[x] -> Gather (eval: max_norm would renormalise weight in place)."""
    if m.max_norm is not None:
        raise UnsupportedOperatorError("ember.onnx.export: Embedding with max_norm cannot be "
                                       "exported (it rewrites the weight while running)")
    g.node("Gather", [g.value(m.weight, "Embedding"), g.value(x, "Embedding")], out, axis=0)


def handlers():
    """{module class: handler(g, m, x, out)} for one-input layers of this file."""
    from ..nn import modules as M
    return {M.Embedding: embedding}


def multi_handlers():
    """{module class: handler(g, m, args, kwargs, out)} for layers with several inputs."""
    from ..nn import modules as M
    return {M.RNN: rnn, M.LSTM: rnn, M.GRU: rnn}
