"""The margin, embedding and likelihood losses of torch.nn.functional, composed of ember ops as
torch composes them (so their gradients come from the ops' own backward passes)."""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.ctc import ctc_loss  # noqa: F401
from ..ops.util import check_broadcast as _check_broadcast

__all__ = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
           "multilabel_soft_margin_loss", "multi_margin_loss", "poisson_nll_loss",
           "gaussian_nll_loss", "ctc_loss"]


def _reduction(size_average, reduce, reduction: str) -> str:
    from .functional import _reduction as legacy
    return legacy(size_average, reduce, reduction)


def _apply(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _zeros_like(t: Tensor) -> Tensor:
    return Tensor._new(np.zeros(t._data.shape, t._data.dtype))


def _where(cond: np.ndarray, a: Tensor, b: Tensor) -> Tensor:
    from ..ops import elementwise as ew
    return ew.where(Tensor._new(cond), a, b)


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, size_average=None,
                        reduce=None, reduction: str = "mean"):
    """max(0, -target (input1 - input2) + margin)."""
    reduction = _reduction(size_average, reduce, reduction)
    if not (input1.dim() == input2.dim() == target.dim()):
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.shape}, input2: {input2.shape}, "
                           f"target: {target.shape} ")
    return _apply((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """input where target == 1, max(0, margin - input) where target == -1."""
    reduction = _reduction(size_average, reduce, reduction)
    t = target._data
    _check_broadcast(t, input._data)
    zeros = _zeros_like(input)
    out_margin = _where(t != 1, (margin - input).clamp_min(0), zeros)
    out_self = _where(t != -1, input, zeros)
    return _apply(out_margin + out_self, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """log(1 + exp(-target * input))."""
    reduction = _reduction(size_average, reduce, reduction)
    return _apply((-input * target).exp().log1p(), reduction)


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, size_average=None,
                          reduce=None, reduction: str = "mean"):
    """1 - cos(x1, x2) where target == 1, max(0, cos(x1, x2) - margin) where target == -1."""
    reduction = _reduction(size_average, reduce, reduction)
    tdim = target.dim()
    if tdim == 1 and (input1.dim() != 2 or input2.dim() != 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    if tdim == 0 and (input1.dim() != 1 or input2.dim() != 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    if tdim > 1:
        raise RuntimeError(f"0D or 1D target tensor expected, multi-target not supported")
    eps = 1e-12
    dim = tdim
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = prod / (mag1 * mag2).sqrt()
    zeros = _zeros_like(cos)
    t = target._data
    pos = _where(t == 1, 1 - cos, zeros)
    neg = _where(t == -1, (cos - margin).clamp_min(0), zeros)
    return _apply(pos + neg, reduction)


def _check_triplet_dims(a, p, n):
    if not (a.dim() == p.dim() == n.dim()):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {a.dim()}D, positive "
                           f"{p.dim()}D, and negative {n.dim()}D inputs")


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean"):
    """max(0, margin + d(a, p) - d(a, n)), d the p-norm pairwise distance (swap: the smaller
    of d(a, n) and d(p, n))."""
    from .functional import pairwise_distance
    reduction = _reduction(size_average, reduce, reduction)
    _check_triplet_dims(anchor, positive, negative)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _apply((margin + d_pos - d_neg).clamp_min(0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean"):
    """triplet_margin_loss with any distance function (pairwise_distance by default)."""
    from .functional import pairwise_distance
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(dist(positive, negative))
    return _apply((margin + d_pos - d_neg).clamp_min(0), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction: str = "mean"):
    """-(y log sigmoid(x) + (1 - y) log sigmoid(-x)), averaged over classes."""
    from .functional import logsigmoid
    reduction = _reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    cdim = input.dim() - 1
    loss = loss.sum(cdim) / input.shape[cdim]
    return _apply(loss, reduction)


def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None,
                      size_average=None, reduce=None, reduction: str = "mean"):
    """sum_{j != y} max(0, margin - x[y] + x[j])^p / C (times weight[y])."""
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    x = input if input.dim() == 2 else input.reshape(1, -1)
    if input.dim() > 2 or (input.dim() == 2 and input.shape[0] == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {list(input.shape)}")
    N, C = x.shape
    t = target._data.reshape(-1)
    if t.shape[0] != N:
        raise RuntimeError(f"inconsistent target size, expected {N} but got "
                           f"{list(target.shape)}")
    if t.size and (t.min() < 0 or t.max() >= C):
        raise RuntimeError("target out of range")
    ti = Tensor._new(t.reshape(-1, 1).astype(np.int64))
    xy = x.gather(1, ti)
    m = (margin - xy + x).clamp_min(0)
    if p == 2:
        m = m * m
    if weight is not None:
        m = m * weight.gather(0, Tensor._new(t.astype(np.int64))).reshape(-1, 1)
    others = np.ones((N, C), x._data.dtype)
    others[np.arange(N), t] = 0
    loss = (m * Tensor._new(others)).sum(1) / C
    if input.dim() < 2:
        loss = loss.reshape(target.shape) if target.dim() else loss.reshape(())
    return _apply(loss, reduction)


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean"):
    """exp(x) - y x (log_input) or x - y log(x + eps), plus Stirling's term when full."""
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        with np.errstate(divide="ignore", invalid="ignore"):
            st = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
            loss = loss + st.masked_fill(Tensor._new(target._data <= 1), 0)
    return _apply(loss, reduction)


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean"):
    """0.5 (log(max(var, eps)) + (input - target)^2 / max(var, eps)) [+ 0.5 log(2 pi)]; the
    clamp is outside autograd, as torch's."""
    if not isinstance(var, Tensor):
        var = Tensor._new(np.full(input._data.shape, var, input._data.dtype))
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if (var._data < 0).any():
        raise ValueError("var has negative entry/entries")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _apply(loss, reduction)
