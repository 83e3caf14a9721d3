"""MultiheadAttention (torch keeps it in torch.nn.modules.activation; here in its own file)."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...autograd.grad_mode import state as _grad_state
from ...ops import creation
from .. import init
from .._attention_functional import _canonical_mask, _none_or_dtype, \
    multi_head_attention_forward
from ..parameter import Parameter
from .linear import Linear
from .module import Module

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear"]


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under the name torch gives MultiheadAttention's out_proj (so repr matches)."""


class MultiheadAttention(Module):
    """Attention from queries to keys/values over num_heads heads of embed_dim // num_heads.

    Parameters (torch's names, so checkpoints load): in_proj_weight (3E, E) when kdim == vdim
    == E, else q_proj_weight (E, E), k_proj_weight (E, kdim), v_proj_weight (E, vdim);
    in_proj_bias (3E,); out_proj (E -> E); bias_k, bias_v (1, 1, E) with add_bias_kv.
    Initialisation in torch's order: out_proj as a Linear, then xavier_uniform_ on the input
    projections, zero biases, xavier_normal_ on bias_k and bias_v.
    Shape: query (L, N, E) (or (N, L, E) with batch_first, or (L, E) unbatched), key (S, N,
    kdim), value (S, N, vdim) -> (output like query, weights (N, L, S) or None)."""

    __constants__ = ["batch_first"]

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, device=None, dtype=None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(creation.empty((embed_dim, embed_dim), dtype=dtype))
            self.k_proj_weight = Parameter(creation.empty((embed_dim, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(creation.empty((embed_dim, self.vdim), dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(creation.empty((3 * embed_dim, embed_dim),
                                                           dtype=dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(creation.empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(creation.empty((1, 1, embed_dim), dtype=dtype))
            self.bias_v = Parameter(creation.empty((1, 1, embed_dim), dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        is_batched = query.dim() == 3
        key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                           _none_or_dtype(attn_mask), "attn_mask", query.dtype)
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype,
                                    check_other=False)
        fast = (self.batch_first and is_batched and not need_weights
                and (attn_mask is not None or key_padding_mask is not None)
                and self._torch_fast_path(query, key, value))
        if self.batch_first and is_batched:
            # keep q/k/v identity: the packed projection uses one GEMM for self-attention
            if key is value:
                if query is key:
                    query = key = value = query.transpose(1, 0)
                else:
                    query, key = (x.transpose(1, 0) for x in (query, key))
                    value = key
            else:
                query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=separate, q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and is_batched:
            out = out.transpose(1, 0)
            if fast:
                out = _nan_dead_rows(out, attn_mask, key_padding_mask, self.num_heads)
        return out, weights

    def _torch_fast_path(self, query, key, value) -> bool:
        """Whether torch would run its fused inference kernel (eval, no gradient, batch-first
        self-attention, ...). It differs from the composed path in one respect: a query whose
        keys are all masked gets NaN rather than zeros."""
        if self.training or not (query is key and key is value) or self.in_proj_bias is None \
                or not self._qkv_same_embed_dim or self.num_heads % 2 \
                or self.bias_k is not None or self.add_zero_attn \
                or query.dtype != self.in_proj_weight.dtype:
            return False
        params = (query, self.in_proj_weight, self.in_proj_bias, self.out_proj.weight,
                  self.out_proj.bias)
        return not (_grad_state.enabled and any(t.requires_grad for t in params))


def _nan_dead_rows(out: Tensor, attn_mask, key_padding_mask, num_heads: int) -> Tensor:
    """out (N, L, E) with NaN in the rows of queries that every key is masked from."""
    n, length = out.shape[0], out.shape[1]
    m = np.zeros((1, 1, 1, 1), np.float32)
    if attn_mask is not None:
        a = attn_mask._data
        m = m + (a.reshape(n, num_heads, length, -1) if a.ndim == 3 else a[None, None])
    if key_padding_mask is not None:
        m = m + key_padding_mask._data[:, None, None, :]
    dead = np.isneginf(m).all(-1).any(1)  # (N or 1, L)
    if not dead.any():
        return out
    return out.masked_fill(Tensor._new(np.broadcast_to(dead, (n, length))[:, :, None]),
                           float("nan"))
