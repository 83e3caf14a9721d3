"""Embedding lookup (torch's EmbeddingBackward0): rows of a weight matrix picked by indices."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from .base import Op
from .index_sum import sum_rows_by_index as _sum_rows_by_index

_new = Tensor._new


class EmbeddingBackward0(Op):
    """out = weight[indices];  dweight[i] = sum of g over the positions holding index i (zero for
    padding_idx; divided by the index's count in the batch when scale_grad_by_freq).

    Shape: weight (num_embeddings, D), indices (*) -> out (*, D).
    """

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        out = np.take(weight._data, indices, axis=0)
        if ctx.needs_input_grad[0]:
            ctx.indices, ctx.padding_idx, ctx.scale = indices, padding_idx, scale_grad_by_freq
            ctx.shape = weight._data.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        n, d = ctx.shape
        idx = ctx.indices.reshape(-1)
        if _grad_state.enabled:  # create_graph: the same row sums as a recorded index_add
            return _row_sums_graph(ctx, grad, n, d, idx), None, None, None
        g = grad._data.reshape(-1, d)
        gw = _sum_rows_by_index(n, idx, g)
        if ctx.scale:
            counts = np.bincount(idx, minlength=n)
            gw /= np.maximum(counts, 1).astype(g.dtype)[:, None]
        if ctx.padding_idx is not None:
            gw[ctx.padding_idx] = 0
        return _new(gw), None, None, None


def _row_sums_graph(ctx, grad, n: int, d: int, idx: np.ndarray):
    """EmbeddingBackward0's weight gradient as recorded ops (linear in the gradient)."""
    from .creation import zeros
    g = grad.reshape(-1, d)
    keep = np.ones(n, g._data.dtype)
    if ctx.scale:
        keep /= np.maximum(np.bincount(idx, minlength=n), 1).astype(keep.dtype)
    if ctx.padding_idx is not None:
        keep[ctx.padding_idx] = 0
    gw = zeros((n, d), dtype=g.dtype).index_add(0, _new(np.ascontiguousarray(idx)), g)
    return gw * _new(keep[:, None])


def _renorm_(weight, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Scale the referenced rows of weight down to norm max_norm, in place (torch's
    embedding_renorm_)."""
    w = weight._data
    rows = np.unique(idx)
    sel = w[rows]
    if norm_type == np.inf:
        norms = np.abs(sel).max(axis=1)
    else:
        norms = (np.abs(sel) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        w[rows[big]] = sel[big] * scale[:, None]
        weight._vc[0] += 1


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    idx = input._data
    w = weight._data
    if idx.dtype.kind not in "iu" or idx.dtype == np.uint8:
        names = {"float32": "Float", "float64": "Double", "float16": "Half", "bool": "Bool",
                 "uint8": "Byte", "int8": "Char", "int16": "Short"}
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"ember.{names.get(idx.dtype.name, idx.dtype.name)}Tensor instead "
                           f"(while checking arguments for embedding)")
    if w.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if padding_idx is not None:
        if padding_idx > 0:
            assert padding_idx < w.shape[0], "Padding_idx must be within num_embeddings"
        elif padding_idx < 0:
            assert padding_idx >= -w.shape[0], "Padding_idx must be within num_embeddings"
            padding_idx = w.shape[0] + padding_idx
    if idx.size and (idx.min() < 0 or idx.max() >= w.shape[0]):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _renorm_(weight, idx, float(max_norm), float(norm_type))
    return EmbeddingBackward0.apply(weight, idx, padding_idx, bool(scale_grad_by_freq))
