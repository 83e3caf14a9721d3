"""Connectionist temporal classification loss (F.ctc_loss).

The forward is the alpha recursion in log space, one vectorised step per time step over the
whole batch and every position of the blank-extended targets; the backward runs the beta
recursion the same way and forms torch's gradient from alpha + beta.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from .base import Op

_new = Tensor._new
_NEG = -np.inf


def _lse2(a, b):
    m = np.maximum(a, b)
    ms = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - ms) + np.exp(b - ms)) + ms


def _lse3(a, b, c):
    m = np.maximum(np.maximum(a, b), c)
    ms = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - ms) + np.exp(b - ms) + np.exp(c - ms)) + ms


def _shift(a, k):
    """a shifted right by k along the last axis, -inf filling."""
    out = np.full_like(a, _NEG)
    out[..., k:] = a[..., :a.shape[-1] - k]
    return out


def _shift_left(a, k):
    out = np.full_like(a, _NEG)
    out[..., :a.shape[-1] - k] = a[..., k:]
    return out


class CtcLossBackward0(Op):
    """nll_n = -log sum over alignments of prod_t p[t, n, path_t] (per sample).

    Gradient (torch's, which treats log_probs as log_softmax outputs):
    d nll_n / d lp[t, n, c] = exp(lp[t, n, c]) - exp(log sum_{s: l'_s = c} alpha_t(s) beta_t(s)
    + nll_n - lp[t, n, c]) for t < input_length_n, else 0.

    Shape: log_probs (T, N, C), targets (N, S) padded; lengths (N,) -> (N,)."""

    @staticmethod
    def forward(ctx, log_probs, targets, in_len, tgt_len, blank, zero_infinity):
        lp = log_probs._data.astype(np.float64)
        T, N, C = lp.shape
        S = targets.shape[1]
        L = 2 * S + 1
        ext = np.full((N, L), blank, np.int64)
        ext[:, 1::2] = targets
        pos = np.arange(L)
        valid = pos[None, :] < (2 * tgt_len + 1)[:, None]  # (N, L)
        # a skip from s-2 is allowed onto a label that differs from the label two back
        skip = np.zeros((N, L), bool)
        skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
        rows = np.arange(N)[:, None]
        emit = lp[:, rows, ext]  # (T, N, L): log p of each extended label at each step
        alpha = np.full((T, N, L), _NEG)
        a0 = np.full((N, L), _NEG)
        a0[:, 0] = emit[0, :, 0]
        if L > 1:
            a0[:, 1] = np.where(tgt_len > 0, emit[0, :, 1], _NEG)
        a0[~valid] = _NEG
        alpha[0] = a0
        for t in range(1, T):
            prev = alpha[t - 1]
            a = _lse3(prev, _shift(prev, 1), np.where(skip, _shift(prev, 2), _NEG)) + emit[t]
            a[~valid] = _NEG
            alpha[t] = a
        last = alpha[np.maximum(in_len - 1, 0), np.arange(N)]  # (N, L)
        end = 2 * tgt_len
        fin = last[np.arange(N), end]
        fin2 = np.where(end > 0, last[np.arange(N), np.maximum(end - 1, 0)], _NEG)
        nll = -_lse2(fin, fin2)
        ctx.saved = (lp, ext, valid, skip, emit, alpha, in_len, tgt_len, nll)
        ctx.zero_infinity = zero_infinity
        return nll.astype(log_probs._data.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        lp, ext, valid, skip, emit, alpha, in_len, tgt_len, nll = ctx.saved
        T, N, C = lp.shape
        L = ext.shape[1]
        n_idx = np.arange(N)
        end = 2 * tgt_len
        beta = np.full((T, N, L), _NEG)
        init = np.full((N, L), _NEG)
        init[n_idx, end] = emit[np.maximum(in_len - 1, 0), n_idx, end]
        has = end > 0
        init[n_idx[has], end[has] - 1] = emit[in_len[has] - 1, n_idx[has], end[has] - 1]
        # skip onto s from s+2 is allowed where the label at s+2 may be skipped to from s
        skip_from = _shift_left(skip.astype(np.float64), 2) > 0
        nxt = np.full((N, L), _NEG)
        for t in range(T - 1, -1, -1):
            rec = _lse3(nxt, _shift_left(nxt, 1), np.where(skip_from, _shift_left(nxt, 2),
                                                           _NEG)) + emit[t]
            b = np.where((t == in_len - 1)[:, None], init,
                         np.where((t < in_len - 1)[:, None], rec, _NEG))
            b[~valid] = _NEG
            beta[t] = b
            nxt = b
        ab = alpha + beta  # (T, N, L)
        m = ab.max(axis=2, keepdims=True)
        ms = np.where(np.isfinite(m), m, 0.0)
        onehot = np.zeros((N, L, C))
        onehot[n_idx[:, None], np.arange(L)[None, :], ext] = 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            lcab = np.log(np.einsum("tnl,nlc->tnc", np.exp(ab - ms), onehot)) + ms
            g = np.exp(lp) - np.exp(lcab + nll[None, :, None] - lp)
        live = np.arange(T)[:, None] < in_len[None, :]
        g = np.where(live[:, :, None], g, 0.0)  # an infinite loss leaves NaNs, as torch's
        if ctx.zero_infinity:
            g[:, np.isinf(nll)] = 0.0
        g = g * grad._data.astype(np.float64)[None, :, None]
        return _new(g.astype(grad._data.dtype)), None, None, None, None, None


def _lengths(v, name: str) -> np.ndarray:
    if isinstance(v, Tensor):
        return v._data.astype(np.int64).reshape(-1)
    return np.asarray(v, np.int64).reshape(-1)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False):
    """CTC negative log-likelihood of the targets under per-step log-probabilities.

    Shape: log_probs (T, N, C) or (T, C); targets (N, S) padded or the concatenated targets;
    lengths (N,). reduction 'mean' divides each loss by its target length, then averages."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
    T, N, C = log_probs.shape
    in_len = _lengths(input_lengths, "input_lengths")
    tgt_len = _lengths(target_lengths, "target_lengths")
    tg = targets._data.astype(np.int64)
    if unbatched and tg.ndim == 1 and tg.shape[0] >= int(tgt_len.sum()) and tgt_len.size == 1:
        tg = tg[None, :]
    if in_len.size != N:
        raise RuntimeError(f"input_lengths must be of size batch_size ({in_len.size} vs {N})")
    if tgt_len.size != N:
        raise RuntimeError(f"target_lengths must be of size batch_size ({tgt_len.size} vs {N})")
    if (in_len > T).any():
        raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got value "
                           f"{int(in_len.max())} (while checking arguments for "
                           f"ctc_loss_allocate_outputs)")
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    S = int(tgt_len.max()) if N else 0
    if tg.ndim == 2:
        if tg.shape[1] < S:
            raise RuntimeError(f"Expected tensor to have size at least {S} at dimension 1, but "
                               f"got size {tg.shape[1]} for argument #2 'targets' (while "
                               f"checking arguments for ctc_loss_allocate_outputs)")
        padded = tg[:, :S]
    else:
        if tg.shape[0] < int(tgt_len.sum()):
            raise RuntimeError(f"Expected tensor to have size at least {int(tgt_len.sum())} at "
                               f"dimension 0, but got size {tg.shape[0]} for argument #2 "
                               f"'targets' (while checking arguments for "
                               f"ctc_loss_allocate_outputs)")
        padded = np.full((N, S), blank, np.int64)
        offs = np.concatenate([[0], np.cumsum(tgt_len)[:-1]])
        for n in range(N):  # one copy per sample, not per element
            padded[n, :tgt_len[n]] = tg[offs[n]:offs[n] + tgt_len[n]]
    mask = np.arange(S)[None, :] < tgt_len[:, None]
    padded = np.where(mask, padded, blank)
    if ((padded < 0) | (padded >= C)).any():
        raise RuntimeError("target out of range")
    loss = CtcLossBackward0.apply(log_probs, padded, in_len, tgt_len, int(blank),
                                  bool(zero_infinity))
    if zero_infinity:  # as torch: where(loss == inf, 0, loss) over the op's output
        from .elementwise import where
        inf = np.isinf(loss._data)
        loss = where(Tensor._new(inf), Tensor._new(np.zeros((), loss._data.dtype)), loss)
    if reduction == "none":
        return loss.squeeze(0) if unbatched else loss
    if reduction == "sum":
        return loss.sum()
    denom = Tensor._new(np.maximum(tgt_len, 1).astype(log_probs._data.dtype))
    return (loss / denom).mean()
