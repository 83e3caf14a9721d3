"""Embedding lookup (torch's EmbeddingBackward0): rows of a weight matrix picked by indices."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from .base import Op

_new = Tensor._new


def _sum_rows_by_index(n: int, idx: np.ndarray, g: np.ndarray) -> np.ndarray:
    """out (n, d) with out[i] = the sum of the rows g[k] where idx[k] == i, added one after
    another in k order, as torch's index_add does (so the result equals torch's bit for bit).

    The rows are sorted by index (stably) and each index's run is summed row after row along
    axis 0. Runs of similar length go together: a bucket of runs of at most 2**b rows is one
    gather into (runs, 2**b, d), padded with a zero row that changes no sum, and one reduce over
    the middle axis. Long runs, or few indices, are summed one run at a time. (np.add.reduceat
    sums pairwise, so its result is not torch's; it was also 2x slower for 1000 indices.)"""
    d = g.shape[1]
    out = np.zeros((n, d), g.dtype)
    N = idx.size
    if not N:
        return out
    order = np.argsort(idx, kind="stable")
    s = idx[order]
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    counts = np.diff(np.append(starts, N))
    uniq = s[starts]
    go = np.empty((N + 1, d), g.dtype)  # the rows in index order, then the zero row
    np.take(g, order, axis=0, out=go[:N])
    go[N] = 0
    long = counts > (0 if counts.size <= 96 else 32)
    if long.any():
        for u, a, c in zip(uniq[long].tolist(), starts[long].tolist(), counts[long].tolist()):
            np.add.reduce(go[a:a + c], axis=0, out=out[u])
        keep = ~long
        uniq, starts, counts = uniq[keep], starts[keep], counts[keep]
        if not counts.size:
            return out
    bucket = np.zeros(counts.shape, np.int64)
    np.ceil(np.log2(counts), out=bucket, casting="unsafe")
    for b in np.unique(bucket).tolist():
        sel = np.flatnonzero(bucket == b)
        if b == 0:  # indices seen once: their row as it is
            out[uniq[sel]] = go[starts[sel]]
            continue
        m = 1 << b
        rows = starts[sel][:, None] + np.arange(m)
        rows[np.arange(m) >= counts[sel][:, None]] = N  # past a run's end: the zero row
        out[uniq[sel]] = np.add.reduce(go[rows], axis=1)
    return out


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
    @once_differentiable
    def backward(ctx, grad):
        n, d = ctx.shape
        idx = ctx.indices.reshape(-1)
        g = grad._data.reshape(-1, d)
        gw = _sum_rows_by_index(n, idx, g)
        if ctx.scale:
            counts = np.bincount(idx, minlength=n)
            gw /= np.maximum(counts, 1).astype(g.dtype)[:, None]
        if ctx.padding_idx is not None:
            gw[ctx.padding_idx] = 0
        return _new(gw), None, None, None


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
