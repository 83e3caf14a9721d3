"""Embedding bags (torch's EmbeddingBagBackward0): the sum, mean or max of the embedding rows of
each bag of indices, without materialising the (indices, D) lookup for the caller.

Bags are runs of the flattened index list (rows of a 2-D input, or the segments `offsets`
marks in a 1-D one), so every reduction is one `np.<ufunc>.reduceat` over the looked-up rows of
the non-empty bags.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from .base import Op
from .embedding import _renorm_, _sum_rows_by_index

_new = Tensor._new
_MODES = {"sum": 0, "mean": 1, "max": 2}


class EmbeddingBagBackward0(Op):
    """sum: out[b] = sum_{k in b} psw[k] * weight[idx[k]];  mean: that sum / |b|;
    max: out[b, d] = max_{k in b} weight[idx[k], d]. Indices equal to padding_idx are left out
    of their bag; an empty bag gives zeros.
    dweight[i] = sum over k with idx[k] = i of g[bag(k)] * psw[k] (/ |bag| for mean; for max
    only the arg-max entry of each (bag, d)); dpsw[k] = <g[bag(k)], weight[idx[k]]>.

    Shape: weight (V, D), idx (M,), seg (M,) sorted bag ids -> (B, D).
    """

    @staticmethod
    def forward(ctx, weight, idx, seg, nbags, mode, psw, scale_grad_by_freq, counts):
        w = weight._data
        d = w.shape[1]
        out = np.zeros((nbags, d), w.dtype)
        rows = w[idx]
        if psw is not None:
            rows *= psw._data[:, None]
        # the first entry of each non-empty bag (seg is sorted)
        starts = np.flatnonzero(np.concatenate(([True], seg[1:] != seg[:-1]))) if seg.size \
            else np.zeros(0, np.int64)
        bags = seg[starts]
        argpos = None
        if mode == "max":
            if seg.size:
                best = np.maximum.reduceat(rows, starts, axis=0)
                out[bags] = best
                # the first position in its bag holding the maximum, per (bag, d)
                pos = np.where(rows == best[np.repeat(np.arange(bags.size),
                                                       np.diff(np.append(starts, seg.size)))],
                               np.arange(seg.size)[:, None], seg.size)
                argpos = np.minimum.reduceat(pos, starts, axis=0)
        elif seg.size:
            out[bags] = np.add.reduceat(rows, starts, axis=0)
            if mode == "mean":
                out /= np.maximum(counts, 1).astype(w.dtype)[:, None]
        if ctx.needs_input_grad[0] or (psw is not None and ctx.needs_input_grad[5]):
            ctx.weight = w
            ctx.idx, ctx.seg, ctx.mode, ctx.counts = idx, seg, mode, counts
            ctx.psw = None if psw is None else psw._data
            ctx.argpos, ctx.bags, ctx.scale = argpos, bags, scale_grad_by_freq
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        g = grad._data
        w = ctx.weight
        n, d = w.shape
        idx, seg = ctx.idx, ctx.seg
        gw = gpsw = None
        if ctx.needs_input_grad[0]:
            if ctx.mode == "max":
                flat = np.zeros(n * d, g.dtype)
                if ctx.argpos is not None:
                    src = idx[ctx.argpos] * d + np.arange(d)  # (bags, d) flat weight positions
                    flat = np.bincount(src.ravel(), g[ctx.bags].ravel(), n * d).astype(g.dtype)
                gw = flat.reshape(n, d)
            else:
                rows = g[seg]
                if ctx.mode == "mean":
                    rows /= np.maximum(ctx.counts, 1).astype(g.dtype)[seg, None]
                if ctx.psw is not None:
                    rows *= ctx.psw[:, None]
                gw = _sum_rows_by_index(n, idx, rows)
            if ctx.scale:
                gw /= np.maximum(np.bincount(idx, minlength=n), 1).astype(g.dtype)[:, None]
            gw = _new(gw)
        if ctx.psw is not None and ctx.needs_input_grad[5]:
            gpsw = _new(np.einsum("kd,kd->k", g[seg], w[idx]))
        return gw, None, None, None, None, gpsw, None, None


def _bag_ids(m: int, offsets: np.ndarray, include_last_offset: bool):
    """Bag number of each of the m entries, the bag count, and how many entries are used."""
    if include_last_offset:
        nbags = max(offsets.size - 1, 0)
        used = int(offsets[-1]) if offsets.size else 0
        bounds = offsets[1:-1]
    else:
        nbags = offsets.size
        used = m
        bounds = offsets[1:]
    seg = np.searchsorted(bounds, np.arange(m), side="right").astype(np.int64)
    return seg, nbags, used


def _type_name(x) -> str:
    return "<class 'ember.Tensor'>" if isinstance(x, Tensor) else str(type(x))


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm=None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean",
                  sparse: bool = False, per_sample_weights: Tensor | None = None,
                  include_last_offset: bool = False, padding_idx: int | None = None) -> Tensor:
    """torch.nn.functional.embedding_bag: reduce the embeddings of each bag to one row.

    Shape: input (B, L) with offsets None, or (M,) with offsets (B,) ((B + 1,) when
    include_last_offset) -> (B, D)."""
    w = weight._data
    if w.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {w.ndim}")
    idx = input._data
    if idx.dtype.kind not in "iu" or idx.dtype == np.uint8:
        from .grid_sample import _torch_dtype_name
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"ember.{_torch_dtype_name(idx.dtype)}Tensor instead (while checking "
                           f"arguments for embedding_bag)")
    if mode not in _MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                      f"per_sample_weights is only supported for mode='sum' "
                                      f"(got mode='{mode}'). Please open a feature request on "
                                      f"GitHub.")
        if per_sample_weights.shape != input.shape:
            raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape})"
                             f" is not None, then it must have the same shape as the input "
                             f"({input.shape})")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(f"if input is 2D, then offsets has to be None, as input is treated "
                             f"is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {_type_name(offsets)}")
        b, length = idx.shape
        off = np.arange(0, b * length, length, dtype=np.int64) if length else \
            np.zeros(b, np.int64)
        if include_last_offset:
            off = np.append(off, b * length)
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        off = offsets._data
        if off.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        off = off.astype(np.int64, copy=False)
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{idx.ndim}")
    nw = w.shape[0]
    if padding_idx is not None:
        if not -nw <= padding_idx < nw:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, {-nw} "
                               f"through {nw - 1}, but got {padding_idx}")
        padding_idx = padding_idx % nw
    flat = idx.reshape(-1).astype(np.int64, copy=False)
    if off.size:
        if off[0] != 0:
            raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the "
                               f"mini-batch has to start from position 0. However, got {off[0]}")
        if off[-1] > flat.size:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length "
                               f"{flat.size} but got offsets[-1] of {off[-1]}")
        if (np.diff(off) < 0).any():
            raise RuntimeError(f"embedding_bag: offsets must be non-decreasing, got "
                               f"{off.tolist()}")
    if flat.size and (flat.min() < 0 or flat.max() >= nw):
        k = int(np.flatnonzero((flat < 0) | (flat >= nw))[0])
        raise RuntimeError(f"Index {k} of input takes value {flat[k]} which is not in the valid "
                           f"range [0, {nw})")
    psw = per_sample_weights
    if psw is not None and psw.dtype != weight.dtype:
        from .grid_sample import _torch_dtype_name
        raise RuntimeError(f"Expected tensor for argument #1 'weight' to have the same type as "
                           f"tensor for argument #1 'per_sample_weights'; but type "
                           f"ember.{_torch_dtype_name(w.dtype)}Tensor does not equal "
                           f"ember.{_torch_dtype_name(psw._data.dtype)}Tensor (while checking "
                           f"arguments for embedding_bag)")
    seg, nbags, used = _bag_ids(flat.size, off, include_last_offset)
    if padding_idx is not None:
        keep = flat != padding_idx
        counts = np.bincount(seg[keep], minlength=nbags) if mode == "mean" else None
    else:
        keep = None
        counts = np.bincount(seg, minlength=nbags) if mode == "mean" else None
    if counts is not None and counts.size > nbags:  # entries after the last bag
        counts = counts[:nbags]
    # torch divides include_last_offset's last bag by the entries up to the end of the input,
    # even past offsets[-1], while summing only up to offsets[-1]: the counts above do the same
    flat, seg = flat[:used], seg[:used]
    if psw is not None:
        psw = psw.reshape(-1)
        if used != psw.shape[0]:  # entries after include_last_offset's end belong to no bag
            psw = psw[:used]
    if keep is not None:
        keep = keep[:used]
        if not keep.all():
            flat, seg = flat[keep], seg[keep]
            if psw is not None:
                psw = psw[_new(np.flatnonzero(keep))]
    if max_norm is not None:
        _renorm_(weight, flat, float(max_norm), float(norm_type))
    return EmbeddingBagBackward0.apply(weight, flat, seg, nbags, mode, psw,
                                       bool(scale_grad_by_freq), counts)

