"""Attention written as ONNX nodes: F.scaled_dot_product_attention, nn.MultiheadAttention,
nn.TransformerEncoderLayer/Encoder and nn.TransformerDecoderLayer/Decoder (so nn.Transformer,
whose forward calls the two, is traced through them), plus F.embedding and F.gelu, which
transformer models call directly.

The layers are emitted from their parameters on ONNX value names (MatMul/Add projections,
Reshape/Transpose into heads, Softmax(QK^T * scale + mask) V), not by tracing their insides:
their masks are turned into additive float masks inside the graph, so a bool mask given as a
graph input stays an input (tracing would see only the float mask computed from it and bake it
in). Reshapes copy the batch and sequence sizes (0) so those axes can be dynamic; a causal mask
(is_causal) is built in the graph from the scores' shape (Trilu), so it follows the sequence
length.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import UnsupportedOperatorError


def _i64(*v) -> np.ndarray:
    return np.array(v, np.int64)


class _Emit:
    """Small name-based emitters over a Graph (values are ONNX names, not tensors)."""

    def __init__(self, g, dtype):
        self.g = g
        self.dtype = np.dtype(dtype)

    def c(self, v) -> str:
        return self.g.const(np.asarray(v, self.dtype))

    def op(self, op, ins, out=None, **attrs) -> str:
        return self.g.node(op, ins, out, **attrs)

    def linear(self, x: str, w: np.ndarray, b) -> str:
        """x W^T + b over the last axis of x."""
        y = self.op("MatMul", [x, self.g.const(np.ascontiguousarray(w.T))])
        return y if b is None else self.op("Add", [y, self.g.const(np.asarray(b))])

    def transpose(self, x: str, perm) -> str:
        return self.op("Transpose", [x], perm=list(perm))

    def reshape(self, x: str, shape) -> str:
        return self.op("Reshape", [x, self.g.const(_i64(*shape))])

    def unsqueeze(self, x: str, axes) -> str:
        return self.op("Unsqueeze", [x, self.g.const(_i64(*axes))])

    def additive(self, mask, user: str, true_means_masked: bool) -> str | None:
        """A float mask to add to the scores: float masks as they are, bool masks -inf where
        masked (True for nn's masks, False for scaled_dot_product_attention's)."""
        if mask is None:
            return None
        name = self.g.value(mask, user)
        if mask._data.dtype == np.bool_:
            inf, zero = self.c(-np.inf), self.c(0.0)
            return self.op("Where", [name] + ([inf, zero] if true_means_masked else [zero, inf]))
        if mask._data.dtype.kind != "f":
            raise UnsupportedOperatorError(f"ember.onnx.export: {user} with a "
                                           f"{mask._data.dtype} mask cannot be exported")
        return name if mask._data.dtype == self.dtype else \
            self.op("Cast", [name], to=self.g.onnx.helper.np_dtype_to_tensor_dtype(self.dtype))

    def causal(self, scores: str) -> str:
        """-inf above the diagonal of the scores' last two axes (top-left aligned), 0 below."""
        if self.g.opset < 14:
            raise UnsupportedOperatorError("ember.onnx.export: a causal mask needs "
                                           "opset_version >= 14 (Trilu)")
        shape = self.op("Slice", [self.op("Shape", [scores]), self.g.const(_i64(-2)),
                                  self.g.const(_i64(np.iinfo(np.int64).max))])  # (L, S)
        fill = self.g.onnx.numpy_helper.from_array(np.array([-np.inf], self.dtype), "value")
        full = self.op("ConstantOfShape", [shape], value=fill)
        return self.op("Trilu", [full, self.g.const(_i64(1))], upper=1)

    def attend(self, q: str, kt: str, v: str, masks, causal: bool, weights: bool):
        """softmax(q kt + masks) v for q (.., L, d) already scaled and kt (.., d, S);
        returns (output, probabilities or None)."""
        s = self.op("MatMul", [q, kt])
        if causal:
            s = self.op("Add", [s, self.causal(s)])
        for m in masks:
            if m is not None:
                s = self.op("Add", [s, m])
        p = self.op("Softmax", [s], axis=-1)
        return self.op("MatMul", [p, v]), (p if weights else None)

    def mean(self, x: str, axis: int) -> str:
        if self.g.opset >= 18:
            return self.op("ReduceMean", [x, self.g.const(_i64(axis))], keepdims=0)
        return self.op("ReduceMean", [x], axes=[axis], keepdims=0)

    def layer_norm(self, m, x: str) -> str:
        if self.g.opset < 17:
            raise UnsupportedOperatorError("ember.onnx.export: LayerNorm needs opset_version "
                                           ">= 17")
        n = len(m.normalized_shape)
        w = m.weight._data if m.weight is not None else np.ones(m.normalized_shape, self.dtype)
        ins = [x, self.g.const(w)] + ([self.g.const(m.bias._data)] if m.bias is not None else [])
        return self.op("LayerNormalization", ins, axis=-n, epsilon=float(m.eps))

    def gelu(self, x: str, approximate: str = "none") -> str:
        """0.5 x (1 + erf(x / sqrt 2)), or the tanh form (ONNX's Gelu needs opset 20)."""
        if approximate == "tanh":
            x3 = self.op("Mul", [self.op("Mul", [x, x]), x])
            inner = self.op("Mul", [self.op("Add", [x, self.op("Mul", [x3, self.c(0.044715)])]),
                                    self.c(math.sqrt(2.0 / math.pi))])
            t = self.op("Tanh", [inner])
        else:
            t = self.op("Erf", [self.op("Mul", [x, self.c(1.0 / math.sqrt(2.0))])])
        return self.op("Mul", [self.op("Mul", [x, self.c(0.5)]), self.op("Add", [t, self.c(1.0)])])


def _data(t):
    return None if t is None else t._data


def _bind(g, name: str, t) -> None:
    g.node("Identity", [name], t)


# ---- nn.MultiheadAttention ------------------------------------------------------------------
def _mha_args(args, kwargs):
    names = ("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask",
             "average_attn_weights", "is_causal")
    defaults = (None, None, None, None, True, None, True, False)
    a = dict(zip(names, defaults))
    a.update(zip(names, args))
    for k, v in kwargs.items():
        if k not in a:
            raise UnsupportedOperatorError(f"ember.onnx.export: MultiheadAttention got an "
                                           f"unexpected argument {k}")
        a[k] = v
    return a


def emit_mha(e: _Emit, m, q: str, k: str, v: str, kpm, attn_mask, need_weights: bool,
             average: bool, is_causal: bool):
    """The ONNX names of MultiheadAttention's (output, weights or None) for query/key/value
    names laid out as m expects ((L, N, E), or (N, L, E) with batch_first)."""
    g, name = e.g, "MultiheadAttention"
    if m.bias_k is not None or m.add_zero_attn:
        raise UnsupportedOperatorError("ember.onnx.export: MultiheadAttention with add_bias_kv "
                                       "or add_zero_attn cannot be exported")
    E, H, hd = m.embed_dim, m.num_heads, m.head_dim
    if m._qkv_same_embed_dim:
        w = m.in_proj_weight._data
        wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
    else:
        wq, wk, wv = m.q_proj_weight._data, m.k_proj_weight._data, m.v_proj_weight._data
    b = _data(m.in_proj_bias)
    bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
    if not m.batch_first:  # to (N, L, E)
        seen = {}
        for x in (q, k, v):
            if x not in seen:
                seen[x] = e.transpose(x, (1, 0, 2))
        q, k, v = seen[q], seen[k], seen[v]
    scale = 1.0 / math.sqrt(hd)
    # fold the scale into the query projection: (x Wq^T + bq) * s = x (s Wq)^T + s bq
    Q = e.linear(q, wq * np.asarray(scale, wq.dtype),
                 None if bq is None else bq * np.asarray(scale, bq.dtype))
    Q = e.transpose(e.reshape(Q, (0, 0, H, hd)), (0, 2, 1, 3))          # (N, H, L, hd)
    K = e.transpose(e.reshape(e.linear(k, wk, bk), (0, 0, H, hd)), (0, 2, 3, 1))  # (N, H, hd, S)
    V = e.transpose(e.reshape(e.linear(v, wv, bv), (0, 0, H, hd)), (0, 2, 1, 3))  # (N, H, S, hd)
    masks = []
    if is_causal:
        if attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask` "
                               "to create this mask.")
    elif attn_mask is not None:
        am = e.additive(attn_mask, name, True)
        if attn_mask.dim() == 3:  # (N * H, L, S)
            am = e.reshape(am, (-1, H) + tuple(attn_mask.shape[1:]))
        masks.append(am)
    if kpm is not None:
        masks.append(e.unsqueeze(e.additive(kpm, name, True), (1, 2)))  # (N, 1, 1, S)
    o, p = e.attend(Q, K, V, masks, is_causal, need_weights)
    o = e.reshape(e.transpose(o, (0, 2, 1, 3)), (0, 0, E))
    o = e.linear(o, m.out_proj.weight._data, _data(m.out_proj.bias))
    if not m.batch_first:
        o = e.transpose(o, (1, 0, 2))
    if p is not None and average:
        p = e.mean(p, 1)
    return o, p


def _dtype_of(m, x):
    return x._data.dtype if x._data.dtype.kind == "f" else np.float32


def multihead_attention(g, m, args, kwargs, out) -> None:
    a = _mha_args(args, kwargs)
    q, k, v = a["query"], a["key"], a["value"]
    if q.dim() != 3:
        raise UnsupportedOperatorError("ember.onnx.export: unbatched input to "
                                       "MultiheadAttention cannot be exported")
    e = _Emit(g, q._data.dtype)
    name = "MultiheadAttention"
    o, p = emit_mha(e, m, g.value(q, name), g.value(k, name), g.value(v, name),
                    a["key_padding_mask"], a["attn_mask"], bool(a["need_weights"]),
                    bool(a["average_attn_weights"]), bool(a["is_causal"]))
    _bind(g, o, out[0])
    if p is not None and out[1] is not None:
        _bind(g, p, out[1])


# ---- nn.TransformerEncoderLayer / nn.TransformerEncoder ---------------------------------------
def _activation(e: _Emit, m, x: str) -> str:
    """m.activation of a Transformer layer: relu or gelu, as a module or as ember's function
    (told by name and module: F.relu itself is wrapped while a trace records)."""
    from ..nn import modules as M
    act = m.activation
    if type(act) is M.GELU:
        return e.gelu(x, act.approximate)
    if type(act) is M.ReLU:
        return e.op("Relu", [x])
    name = getattr(act, "__name__", None)
    if name in ("relu", "gelu") and getattr(act, "__module__", "").startswith("ember."):
        return e.op("Relu", [x]) if name == "relu" else e.gelu(x)
    raise UnsupportedOperatorError(f"ember.onnx.export: {type(m).__name__} with activation "
                                   f"{name or type(act).__name__} cannot be exported (relu and "
                                   f"gelu can)")


def emit_encoder_layer(e: _Emit, m, x: str, mask, kpm, is_causal: bool) -> str:
    def sa(y):
        return emit_mha(e, m.self_attn, y, y, y, kpm, mask, False, True, is_causal)[0]

    def ff(y):
        h = _activation(e, m, e.linear(y, m.linear1.weight._data,
                                                  _data(m.linear1.bias)))
        return e.linear(h, m.linear2.weight._data, _data(m.linear2.bias))

    if m.norm_first:
        x = e.op("Add", [x, sa(e.layer_norm(m.norm1, x))])
        return e.op("Add", [x, ff(e.layer_norm(m.norm2, x))])
    x = e.layer_norm(m.norm1, e.op("Add", [x, sa(x)]))
    return e.layer_norm(m.norm2, e.op("Add", [x, ff(x)]))


def _take(args, kwargs, names, defaults, who):
    a = dict(zip(names, defaults))
    a.update(zip(names, args))
    for k, v in kwargs.items():
        if k not in a:
            raise UnsupportedOperatorError(f"ember.onnx.export: {who} got an unexpected "
                                           f"argument {k}")
        a[k] = v
    return [a[n] for n in names]


def _check_batched(src, who):
    if src.dim() != 3:
        raise UnsupportedOperatorError(f"ember.onnx.export: unbatched input to {who} cannot be "
                                       f"exported")


def encoder_layer(g, m, args, kwargs, out) -> None:
    src, mask, kpm, is_causal = _take(args, kwargs, ("src", "src_mask", "src_key_padding_mask",
                                                     "is_causal"), (None, None, None, False),
                                      "TransformerEncoderLayer")
    _check_batched(src, "TransformerEncoderLayer")
    e = _Emit(g, src._data.dtype)
    y = emit_encoder_layer(e, m, g.value(src, "TransformerEncoderLayer"), mask, kpm,
                           bool(is_causal))
    _bind(g, y, out)


def encoder(g, m, args, kwargs, out) -> None:
    from ..nn import modules as M
    from ..nn.modules.transformer import _detect_is_causal_mask, _get_seq_len
    who = "TransformerEncoder"
    src, mask, kpm, is_causal = _take(args, kwargs, ("src", "mask", "src_key_padding_mask",
                                                     "is_causal"), (None,) * 4, who)
    _check_batched(src, who)
    for layer in m.layers:
        if type(layer) is not M.TransformerEncoderLayer:
            raise UnsupportedOperatorError(f"ember.onnx.export: {who} over "
                                           f"{type(layer).__name__} cannot be exported")
    if m._pads_to_zero(src, mask, kpm) is not None:
        raise UnsupportedOperatorError(f"ember.onnx.export: {who}'s nested-tensor fast path "
                                       f"(parameters without grad) cannot be exported")
    batch_first = m.layers[0].self_attn.batch_first
    causal = _detect_is_causal_mask(mask, is_causal, _get_seq_len(src, batch_first))
    e = _Emit(g, src._data.dtype)
    y = g.value(src, who)
    for layer in m.layers:
        y = emit_encoder_layer(e, layer, y, mask, kpm, bool(causal))
    if m.norm is not None:
        if type(m.norm) is not M.LayerNorm:
            raise UnsupportedOperatorError(f"ember.onnx.export: {who} with norm "
                                           f"{type(m.norm).__name__} cannot be exported")
        y = e.layer_norm(m.norm, y)
    _bind(g, y, out)


def emit_decoder_layer(e: _Emit, m, x: str, mem: str, tgt_mask, memory_mask, tgt_kpm, mem_kpm,
                       tgt_is_causal: bool, memory_is_causal: bool) -> str:
    def sa(y):
        return emit_mha(e, m.self_attn, y, y, y, tgt_kpm, tgt_mask, False, True,
                        tgt_is_causal)[0]

    def ca(y):
        return emit_mha(e, m.multihead_attn, y, mem, mem, mem_kpm, memory_mask, False, True,
                        memory_is_causal)[0]

    def ff(y):
        h = _activation(e, m, e.linear(y, m.linear1.weight._data, _data(m.linear1.bias)))
        return e.linear(h, m.linear2.weight._data, _data(m.linear2.bias))

    if m.norm_first:
        x = e.op("Add", [x, sa(e.layer_norm(m.norm1, x))])
        x = e.op("Add", [x, ca(e.layer_norm(m.norm2, x))])
        return e.op("Add", [x, ff(e.layer_norm(m.norm3, x))])
    x = e.layer_norm(m.norm1, e.op("Add", [x, sa(x)]))
    x = e.layer_norm(m.norm2, e.op("Add", [x, ca(x)]))
    return e.layer_norm(m.norm3, e.op("Add", [x, ff(x)]))


_DECODER_ARGS = ("tgt", "memory", "tgt_mask", "memory_mask", "tgt_key_padding_mask",
                 "memory_key_padding_mask", "tgt_is_causal", "memory_is_causal")


def decoder_layer(g, m, args, kwargs, out) -> None:
    who = "TransformerDecoderLayer"
    tgt, mem, tm, mm, tk, mk, tc, mc = _take(args, kwargs, _DECODER_ARGS,
                                             (None,) * 6 + (False, False), who)
    _check_batched(tgt, who)
    e = _Emit(g, tgt._data.dtype)
    y = emit_decoder_layer(e, m, g.value(tgt, who), g.value(mem, who), tm, mm, tk, mk,
                           bool(tc), bool(mc))
    _bind(g, y, out)


def decoder(g, m, args, kwargs, out) -> None:
    from ..nn import modules as M
    from ..nn.modules.transformer import _detect_is_causal_mask, _get_seq_len
    who = "TransformerDecoder"
    tgt, mem, tm, mm, tk, mk, tc, mc = _take(args, kwargs, _DECODER_ARGS,
                                             (None,) * 7 + (False,), who)
    _check_batched(tgt, who)
    for layer in m.layers:
        if type(layer) is not M.TransformerDecoderLayer:
            raise UnsupportedOperatorError(f"ember.onnx.export: {who} over "
                                           f"{type(layer).__name__} cannot be exported")
    causal = _detect_is_causal_mask(tm, tc, _get_seq_len(tgt, m.layers[0].self_attn.batch_first))
    e = _Emit(g, tgt._data.dtype)
    y, ms = g.value(tgt, who), g.value(mem, who)
    for layer in m.layers:
        y = emit_decoder_layer(e, layer, y, ms, tm, mm, tk, mk, bool(causal), bool(mc))
    if m.norm is not None:
        if type(m.norm) is not M.LayerNorm:
            raise UnsupportedOperatorError(f"ember.onnx.export: {who} with norm "
                                           f"{type(m.norm).__name__} cannot be exported")
        y = e.layer_norm(m.norm, y)
    _bind(g, y, out)


# ---- functional calls -----------------------------------------------------------------------
def _sdpa(g, out, query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
          enable_gqa=False):
    who = "scaled_dot_product_attention"
    if dropout_p:
        raise UnsupportedOperatorError(f"ember.onnx.export: {who} with dropout_p={dropout_p} "
                                       f"cannot be exported (random)")
    if enable_gqa and key.shape[-3] != query.shape[-3]:
        raise UnsupportedOperatorError(f"ember.onnx.export: {who} with enable_gqa (grouped "
                                       f"heads) cannot be exported")
    e = _Emit(g, query._data.dtype)
    s = scale if scale is not None else 1.0 / math.sqrt(query.shape[-1])
    q = e.op("Mul", [g.value(query, who), e.c(s)])
    nd = key.dim()
    kt = e.transpose(g.value(key, who), list(range(nd - 2)) + [nd - 1, nd - 2])
    o, _ = e.attend(q, kt, g.value(value, who), [e.additive(attn_mask, who, False)],
                    bool(is_causal), False)
    _bind(g, o, out)


def _embedding(g, out, input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
               scale_grad_by_freq=False, sparse=False):
    if max_norm is not None:
        raise UnsupportedOperatorError("ember.onnx.export: embedding with max_norm cannot be "
                                       "exported (it rewrites the weight while running)")
    g.node("Gather", [g.value(weight, "embedding"), g.value(input, "embedding")], out, axis=0)


def _gelu(g, out, input, approximate="none"):
    _bind(g, _Emit(g, input._data.dtype).gelu(g.value(input, "gelu"), approximate), out)


FUNCTIONAL = {"scaled_dot_product_attention": _sdpa, "embedding": _embedding, "gelu": _gelu}


def handlers():
    """{module class: handler(g, m, x, out)} for one-input layers of this file (none)."""
    return {}


def multi_handlers():
    from ..nn import modules as M
    return {M.MultiheadAttention: multihead_attention,
            M.TransformerEncoderLayer: encoder_layer, M.TransformerEncoder: encoder,
            M.TransformerDecoderLayer: decoder_layer, M.TransformerDecoder: decoder}
