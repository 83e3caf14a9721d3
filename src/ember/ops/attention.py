"""Scaled dot-product attention as one fused op with a hand-written backward.

torch's CPU math path builds the same result from a chain of ops (matmul, add, _safe_softmax,
dropout, matmul); here forward and backward are a few batched GEMMs on NumPy arrays, so a
transformer step records one node per attention call instead of a dozen.
"""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from ..random import gen as _gen
from .base import Op
from ._gemm import gemm
from .nn_ops import _reduce_keepdim
from .normalization import _ones
from .shape import split_grad_buffer

_new = Tensor._new

# C++ type names torch prints in SDPA's dtype errors
_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
              "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool"}
_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}

_CAUSAL: dict = {}


def _causal_mask(lq: int, ls: int, dtype) -> np.ndarray:
    """The additive causal mask (0 on and below the diagonal, -inf above), top-left aligned as
    torch's tril(ones(L, S)); cached, since a model asks for the same one every step."""
    key = (lq, ls, dtype)
    m = _CAUSAL.get(key)
    if m is None:
        if len(_CAUSAL) > 32:
            _CAUSAL.clear()
        m = np.zeros((lq, ls), dtype)
        m[np.triu_indices(lq, 1, ls)] = -np.inf
        m.flags.writeable = False
        _CAUSAL[key] = m
    return m


def _row_sums(x: np.ndarray) -> np.ndarray:
    """x.sum(-1, keepdims=True) as a BLAS matrix-vector product (several times faster than
    NumPy's reduction along a short last axis)."""
    return gemm(x, _ones(x.shape[-1], x.dtype))[..., None]


def _row_max(s: np.ndarray) -> np.ndarray:
    """s.max(-1, keepdims=True). NumPy's max along a contiguous last axis pays per row; for
    33..64 keys the two (overlapping) halves are first reduced elementwise to at most 32
    columns, which _reduce_keepdim reduces through a transposed copy (a quarter faster at
    64 keys; the same maximum, exactly)."""
    c = s.shape[-1]
    if 32 < c <= 64 and s.size >= 512:
        h = (c + 1) // 2
        s = np.maximum(s[..., :h], s[..., c - h:])
    return _reduce_keepdim(np.maximum, s, s.ndim - 1)


_EXP_SAFE = 60.0  # |score| bound under which softmax needs no max subtraction
_max_all, _min_all = np.maximum.reduce, np.minimum.reduce


def _exp_safe(s: np.ndarray, mask, fixed, causal: bool) -> bool:
    """Whether softmax over the last axis of scores s may skip subtracting each row's maximum:
    no float mask and no mask that can empty a row (at most the causal one, which never does),
    float32/64 scores and every one within +-60, so exp neither overflows (nor does a row's sum,
    up to 1e12 keys) nor underflows. softmax is shift-invariant and exp(s) is as accurate as
    exp(s - max): the same result within rounding, for two whole-array reductions instead of a
    per-row maximum and a pass subtracting it (NaN or inf scores take the shifted route)."""
    if s.size == 0:  # no scores (no queries or no keys): nothing to shift, nor to reduce
        return True
    if mask is not None or (fixed is not None and not causal) or s.dtype.itemsize < 4:
        return False
    flat = s.reshape(-1)
    return bool(_max_all(flat) <= _EXP_SAFE) and bool(_min_all(flat) >= -_EXP_SAFE)


def _transposed(k: np.ndarray) -> np.ndarray:
    """k (..., S, E) as the right operand k^T (..., E, S) of the scores' product: a C-contiguous
    copy from 32 keys on. OpenBLAS runs the batch of small (L, E) x (E, S) products 20-40%
    faster from it than from the transposed view (a head cut from a (B, L, 3 H E) projection
    strides its rows 3 H E apart), more than the copy costs; below 32 keys the copy does not
    pay."""
    t = k.swapaxes(-1, -2)
    return np.ascontiguousarray(t) if k.shape[-2] >= 32 else t


def _scaled_operands(q: np.ndarray, k: np.ndarray, scale) -> tuple:
    """(q', k'^T) with q' k'^T = scale q k^T: from 32 keys on, k^T as a contiguous copy (see
    _transposed) with the scale applied in the same pass (5-7% faster than scaling q and
    copying k^T, q's strided heads serving the product as they are), else q scaled."""
    if k.shape[-2] >= 32:
        kt = k.swapaxes(-1, -2)
        return q, np.multiply(kt, scale, out=np.empty(kt.shape, kt.dtype))
    return q * scale, k.swapaxes(-1, -2)


def _product_like(a: np.ndarray, b: np.ndarray, like: np.ndarray) -> np.ndarray:
    """a @ b, written in the memory layout of `like` when the product has its shape (as torch
    allocates attention's output like the query): the heads of a query cut from a (B, L, H*E)
    projection come back (B, H, L, E) in (B, L, H, E) memory, so the usual
    out.transpose(1, 2).contiguous() copies nothing, and a gradient so laid out passes its
    transpose and view back to the projection without a copy. BLAS writes a strided output at
    no extra cost."""
    if _lays_out_like(a, b, like):
        return gemm(a, b, out=np.empty_like(like))
    return gemm(a, b)


def _lays_out_like(a: np.ndarray, b: np.ndarray, like: np.ndarray) -> bool:
    """Whether a @ b is to be laid out as `like` (see _product_like)."""
    return (not like.flags.c_contiguous and a.shape[:-2] == b.shape[:-2]
            and a.shape[:-1] + b.shape[-1:] == like.shape)


def _fold(x: np.ndarray, heads: int) -> np.ndarray:
    """(..., H, L, D) -> (..., heads, (H // heads) * L, D): the query heads that share one
    key/value head (grouped-query attention) stacked along L, so one GEMM serves the group and
    its transpose sums the group's gradients (torch repeat_interleaves the key instead)."""
    s = x.shape
    return x.reshape(s[:-3] + (heads, (s[-3] // heads) * s[-2], s[-1]))


def _unfold(x: np.ndarray, hq: int) -> np.ndarray:
    """The inverse of _fold: (..., h, r * L, D) -> (..., hq, L, D)."""
    s = x.shape
    return x.reshape(s[:-3] + (hq, (s[-3] * s[-2]) // hq, s[-1]))


class ScaledDotProductAttentionBackward0(Op):
    """out = dropout(softmax(scale * q k^T + mask)) v, the softmax safe (a row with every key
    masked gives zeros, as torch's _safe_softmax).

    With P = softmax(S), D the dropout keep-mask scaled by 1/(1-p), and g = dout:
      dv = (P D)^T g,  dP = (g v^T) D,  dS = P (dP - sum(dP P, -1)),
      dq = scale dS k,  dk = scale dS^T q,  dmask = dS (summed to the mask's shape).
    Arguments: q (..., L, E), k (..., S, E), v (..., S, Ev), a float mask tensor or None (a
    bool or causal mask arrives as the additive array `fixed`; `causal` says it is the causal
    one, which never masks a whole row), dropout p, scale, and the key
    and value head counts under grouped-query attention (None without).
    Shape: -> (..., L, Ev)."""

    @staticmethod
    def forward(ctx, q, k, v, mask, fixed, causal, p, scale, hk, hv):
        qa, ka, va = q._data, k._data, v._data
        hq = qa.shape[-3] if hk is not None else None
        qs, kt = _scaled_operands(qa, ka, qa.dtype.type(scale))
        if hk is not None and hk != hq:
            s = _unfold(gemm(_fold(qs, hk), kt), hq)
        else:
            s = gemm(qs, kt)
        shift = not _exp_safe(s, mask, fixed, causal)
        if fixed is not None:  # (masks broadcast to the scores' shape: checked by the caller)
            s += fixed
        if mask is not None:
            s += mask._data
        # softmax over the keys, in place
        dead = None
        if shift:
            m = _row_max(s)
            if mask is not None or fixed is not None and not causal:
                dead = ~np.isfinite(m)  # rows with every key masked (-inf): softmax gives 0
                if dead.any():
                    m[dead] = 0
                else:
                    dead = None
            s -= m
        np.exp(s, out=s)
        tot = _row_sums(s)
        if dead is not None:
            tot[dead] = 1
        nig = ctx.needs_input_grad
        if p == 0.0 and not (nig[0] or nig[1] or nig[2] or nig[3]) and va.shape[-1] < s.shape[-1]:
            # nothing saved for a backward: the sums divide the (smaller) output instead of the
            # weights, as a fused kernel's deferred normalisation does
            if hv is not None and hv != hq:
                out = _unfold(gemm(_fold(s, hv), va), hq)
            else:
                out = gemm(s, va)
                if _lays_out_like(s, va, qa):  # the division writes the query's layout
                    return np.divide(out, tot, out=np.empty_like(qa))
            out /= tot
            return out
        s /= tot
        keep = None
        if p > 0.0:
            if p < 1.0:
                keep = _gen(None).bernoulli(s.shape, 1.0 - p, s.dtype)
                keep *= s.dtype.type(1.0 / (1.0 - p))
            else:  # torch's dropout(p=1) multiplies by zero without drawing
                keep = np.zeros(s.shape, s.dtype)
            pd = s * keep
        else:
            pd = s
        if hv is not None and hv != hq:
            out = _unfold(gemm(_fold(pd, hv), va), hq)
        else:
            out = _product_like(pd, va, qa)
        if nig[0] or nig[1] or nig[2] or nig[3]:
            ctx.save_for_backward(q, k, v, mask)
            ctx.attn, ctx.keep, ctx.scale, ctx.heads = s, keep, scale, (hq, hk, hv)
            ctx.fixed = fixed
        return out

    @staticmethod
    def backward(ctx, g):
        if _grad_state.enabled:  # create_graph: the same formulas in ember ops (differentiable)
            return _backward_graph(ctx, g)
        q, k, v, _ = ctx.saved_tensors
        qa, ka, va = q._data, k._data, v._data
        P, keep, scale = ctx.attn, ctx.keep, ctx.scale
        hq, hk, hv = ctx.heads
        nig = ctx.needs_input_grad
        gd = g._data
        pd = P if keep is None else P * keep
        gk = gv = gq = gm = None
        # q, k and v cut from one projection: their gradients written into one buffer laid
        # out as that projection, which split's backward then passes on without a cat
        shared = _shared_grads(qa, ka, va) if nig[0] and nig[1] and nig[2] and (
            hk is None or hk == hq) and (hv is None or hv == hq) else None
        if hv is not None and hv != hq:
            gf = _fold(gd, hv)
            if nig[2]:
                gv = gemm(_fold(pd, hv).swapaxes(-1, -2), gf)
            dp = _unfold(gemm(gf, _transposed(va)), hq)
        else:
            if shared is not None:
                gv = gemm(pd.swapaxes(-1, -2), gd, out=shared[2])
            elif nig[2]:
                gv = _product_like(pd.swapaxes(-1, -2), gd, va)
            dp = gemm(gd, _transposed(va))
        if nig[0] or nig[1] or nig[3]:
            if keep is not None:
                dp *= keep
            # dS = P * (dP - rowsum(dP * P)), in place in dp
            dp -= _row_sums(dp * P)
            dp *= P
            ds = dp
            if nig[3]:
                gm = ds
            t = qa.dtype.type(scale)
            if hk is not None and hk != hq:
                dsf = _fold(ds, hk)
                if nig[0]:
                    gq = _unfold(gemm(dsf, ka), hq)
                    gq *= t
                if nig[1]:
                    gk = gemm(dsf.swapaxes(-1, -2), _fold(qa, hk))
                    gk *= t
            else:
                if nig[0]:
                    gq = _product_like(ds, ka, qa) if shared is None else \
                        gemm(ds, ka, out=shared[0])
                    gq *= t
                if nig[1]:
                    gk = _product_like(ds.swapaxes(-1, -2), qa, ka) if shared is None else \
                        gemm(ds.swapaxes(-1, -2), qa, out=shared[1])
                    gk *= t
        return (None if gq is None else _new(gq), None if gk is None else _new(gk),
                None if gv is None else _new(gv), None if gm is None else _new(gm),
                None, None, None, None, None, None)


def _shared_grads(qa: np.ndarray, ka: np.ndarray, va: np.ndarray):
    """Views (gq, gk, gv) of one new buffer shaped as the array q, k and v are views of, each
    at its input's offset and strides, when the three are disjoint views of one C-contiguous
    float array with one shape and layout (a GPT block's heads split from its qkv projection);
    else None. Their gradients so placed come back to SplitBackward0 as adjacent slices of the
    buffer, which it returns whole instead of concatenating them (ops/shape.py)."""
    own = qa.base
    if own is None or own.__class__ is not np.ndarray or ka.base is not own or \
            va.base is not own or not own.flags.c_contiguous or qa.shape != ka.shape or \
            qa.shape != va.shape or qa.strides != ka.strides or qa.strides != va.strides or \
            qa.dtype != own.dtype or ka.dtype != own.dtype or va.dtype != own.dtype or \
            own.dtype.kind != "f" or own.size > 4 * qa.size:
        return None
    if np.shares_memory(qa, ka) or np.shares_memory(qa, va) or np.shares_memory(ka, va):
        return None  # (self-attention on one tensor: one gradient each)
    base = own.__array_interface__["data"][0]
    buf = split_grad_buffer(own.shape, own.dtype)
    return tuple(np.ndarray(a.shape, a.dtype, buffer=buf,
                            offset=a.__array_interface__["data"][0] - base, strides=a.strides)
                 for a in (qa, ka, va))


def _repeat_heads(t: Tensor, hq: int) -> Tensor:
    """Key/value heads (..., h, S, E) repeated to the query's hq heads, each `hq // h` times in
    a row (query head j reads key head j // (hq // h))."""
    s = t.shape
    r = hq // s[-3]
    return t.unsqueeze(-3).expand(*s[:-2], r, *s[-2:]).reshape(*s[:-3], hq, *s[-2:])


def _sum_heads(t: Tensor, h: int) -> Tensor:
    """The adjoint of _repeat_heads: (..., hq, S, E) summed over each group to (..., h, S, E)."""
    s = t.shape
    return t.reshape(*s[:-3], h, s[-3] // h, *s[-2:]).sum(-3)


def _backward_graph(ctx, g: Tensor):
    """ScaledDotProductAttentionBackward0's gradients as recorded ember ops (create_graph), from
    the attention weights recomputed as a function of q, k and the mask, so the gradients can
    be differentiated again. Formulas as in the class docstring; the dropout keep-mask and the
    bool/causal masks are constants."""
    q, k, v, mask = ctx.saved_tensors
    keep, scale, fixed = ctx.keep, ctx.scale, ctx.fixed
    hq, hk, hv = ctx.heads
    nig = ctx.needs_input_grad
    kr = _repeat_heads(k, hq) if hk is not None and hk != hq else k
    vr = _repeat_heads(v, hq) if hv is not None and hv != hq else v
    s = (q * scale).matmul(kr.transpose(-2, -1))
    if fixed is not None:
        s = s + _new(fixed)
    if mask is not None:
        s = s + mask
    dead = ~np.isfinite(s._data.max(-1, keepdims=True))  # rows with every key masked
    if dead.any():  # softmax of finite stand-ins, then zeros (as the forward's safe softmax)
        dead_t = _new(dead)
        P = s.masked_fill(dead_t, 0.0).softmax(-1).masked_fill(dead_t, 0.0)
    else:
        P = s.softmax(-1)
    keep_t = None if keep is None else _new(keep)
    pd = P if keep_t is None else P * keep_t
    gq = gk = gv = gm = None
    if nig[2]:
        gv = pd.transpose(-2, -1).matmul(g)
        if vr is not v:
            gv = _sum_heads(gv, hv)
    if nig[0] or nig[1] or nig[3]:
        dp = g.matmul(vr.transpose(-2, -1))
        if keep_t is not None:
            dp = dp * keep_t
        ds = P * (dp - (dp * P).sum(-1, keepdim=True))
        if nig[3]:
            gm = ds
        if nig[0]:
            gq = ds.matmul(kr) * scale
        if nig[1]:
            gk = ds.transpose(-2, -1).matmul(q) * scale
            if kr is not k:
                gk = _sum_heads(gk, hk)
    return gq, gk, gv, gm, None, None, None, None, None, None


def _check_broadcast(a, b) -> None:
    """torch's message for shapes a and b that do not broadcast."""
    n = max(len(a), len(b))
    for i in range(1, min(len(a), len(b)) + 1):
        x, y = a[-i], b[-i]
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                               f"({y}) at non-singleton dimension {n - i}")


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query key^T * scale + mask) value, with dropout on the attention weights.

    attn_mask: bool (True = attend) or float (added to the scores), broadcast to (..., L, S);
    is_causal: query i attends keys 0..i (no attn_mask allowed then); scale defaults to
    1/sqrt(E); enable_gqa: key/value may have fewer heads (dim -3) than query, each shared by
    a group of query heads.  Shape: query (..., L, E), key (..., S, E), value (..., S, Ev) ->
    (..., L, Ev)."""
    qa, ka, va = query._data, key._data, value._data
    qs, ks = qa.shape, ka.shape
    p = float(dropout_p)
    if (attn_mask is None and not enable_gqa and qa.dtype == ka.dtype == va.dtype
            and qa.dtype.kind == "f" and qa.ndim == ka.ndim == va.ndim >= 2
            and qs[:-2] == ks[:-2] == va.shape[:-2] and qs[-1] == ks[-1]
            and va.shape[-2] == ks[-2] and p <= 1.0):
        # the common call (a model's own q, k, v; no mask, or the causal one): nothing below
        # could raise or broadcast, so its checks are skipped (a generation step makes one
        # call per layer per token)
        return ScaledDotProductAttentionBackward0.apply(
            query, key, value, None,
            _causal_mask(qs[-2], ks[-2], qa.dtype) if is_causal else None, bool(is_causal),
            p, 1.0 / math.sqrt(qs[-1]) if scale is None else float(scale),
            None, None)
    if not (qa.dtype == ka.dtype == va.dtype):
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {_CPP_NAMES.get(qa.dtype.name, qa.dtype.name)} "
                           f"key.dtype: {_CPP_NAMES.get(ka.dtype.name, ka.dtype.name)} and "
                           f"value.dtype: {_CPP_NAMES.get(va.dtype.name, va.dtype.name)} "
                           f"instead.")
    if qa.ndim < 2 or ka.ndim < 2 or va.ndim < 2:
        raise RuntimeError(f"Expected query, key, and value to all be  at least 2 dimensional, "
                           f"but got query.dim: {qa.ndim} key.dim: {ka.ndim} and value.dim: "
                           f"{va.ndim} instead.")
    mask = fixed = None
    if attn_mask is not None:
        md = attn_mask._data
        if md.dtype != np.bool_ and md.dtype != qa.dtype:
            raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query "
                               f"dtype, but got attn_mask.dtype: "
                               f"{_CPP_NAMES.get(md.dtype.name, md.dtype.name)} and  query.dtype:"
                               f" {_CPP_NAMES.get(qa.dtype.name, qa.dtype.name)} instead.")
        if is_causal:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                               "set when is_causal=True")
    if qa.dtype.kind != "f":
        raise RuntimeError(f"expected scalar type Float but found {_TORCH_NAMES[qa.dtype.name]}")
    hk = hv = None
    if enable_gqa:
        if qa.ndim < 3 or ka.ndim < 3 or va.ndim < 3:
            raise IndexError(f"Dimension out of range (expected to be in range of [-2, 1], but "
                             f"got -3)")
        hq = qa.shape[-3]
        hk, hv = ka.shape[-3], va.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError("Number of heads in key and value must divide the number of "
                               "heads in ")
    lq, e = qa.shape[-2:]
    s_len = ka.shape[-2]
    qb, kb, vb = qa.shape[:-2], ka.shape[:-2], va.shape[:-2]
    if enable_gqa:  # the head dims broadcast after the repeat
        kb = kb[:-1] + (qb[-1],)
        vb = vb[:-1] + (qb[-1],)
    _check_broadcast(qb, kb)
    batch = np.broadcast_shapes(qb, kb)
    nb = math.prod(batch)
    if ka.shape[-1] != e:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{nb}, {e}] but got: [{nb}, {ka.shape[-1]}].")
    _check_broadcast(batch, vb)
    if va.shape[-2] != s_len:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{math.prod(np.broadcast_shapes(batch, vb))}, {s_len}] but got: "
                           f"[{math.prod(np.broadcast_shapes(batch, vb))}, {va.shape[-2]}].")
    if attn_mask is not None:
        scores = batch + (lq, s_len)
        _check_broadcast(scores, md.shape)
        full = np.broadcast_shapes(scores, md.shape)
        if full != scores:  # torch adds the mask to the scores in place
            raise RuntimeError(f"output with shape {list(scores)} doesn't match the broadcast "
                               f"shape {list(full)}")
        if md.dtype == np.bool_:
            fixed = np.where(md, qa.dtype.type(0), qa.dtype.type(-np.inf))
        else:
            mask = attn_mask
    elif is_causal:
        fixed = _causal_mask(lq, s_len, qa.dtype)
    p = float(dropout_p)
    if p > 0.0 and p > 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    sc = 1.0 / math.sqrt(e) if scale is None else float(scale)
    return ScaledDotProductAttentionBackward0.apply(query, key, value, mask, fixed,
                                                    attn_mask is None and is_causal, p, sc, hk,
                                                    hv)
