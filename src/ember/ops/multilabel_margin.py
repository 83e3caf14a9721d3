"""Multi-label margin loss (torch.nn.functional.multilabel_margin_loss,
MultilabelMarginLossBackward0)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from .base import Op

_new = Tensor._new


class MultilabelMarginLossBackward0(Op):
    """loss[n] = sum over target entries j (up to the first -1) and non-target classes i of
    max(0, 1 - (x[n, j] - x[n, i])) / C, then reduced; each active hinge adds g / C to
    dx[n, i] and subtracts it from dx[n, j].

    Shape: x (N, C) and target (N, C) -> (N,) for 'none', () otherwise.
    """

    @staticmethod
    def forward(ctx, input, target, reduction, squeeze):
        x = input._data
        n, c = x.shape
        valid = np.cumprod(target != -1, axis=1).astype(bool)  # entries before the first -1
        rows = np.broadcast_to(np.arange(n)[:, None], target.shape)
        is_target = np.zeros((n, c), bool)
        is_target[rows[valid], target[valid]] = True
        tj = np.where(valid, target, 0)
        xj = np.take_along_axis(x, tj, 1)  # (N, L)
        margin = 1 - xj[:, :, None] + x[:, None, :]  # (N, L, C)
        active = (margin > 0) & valid[:, :, None] & ~is_target[:, None, :]
        loss = (np.where(active, margin, 0).sum((1, 2)) / c).astype(x.dtype)
        if ctx.needs_input_grad[0]:
            ctx.active, ctx.tj, ctx.c, ctx.reduction, ctx.shape = active, tj, c, reduction, \
                input.shape
        if reduction == "mean":
            return np.asarray(loss.mean() if n else np.nan, x.dtype)
        if reduction == "sum":
            return np.asarray(loss.sum(), x.dtype)
        return loss.reshape(()) if squeeze else loss

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        active = ctx.active
        n = active.shape[0]
        g = grad._data
        if ctx.reduction == "none":
            g = g.reshape(n)
        elif ctx.reduction == "mean":
            g = np.full(n, g / max(n, 1), g.dtype)
        else:
            g = np.full(n, g, g.dtype)
        w = active.astype(g.dtype) * (g / ctx.c)[:, None, None]  # (N, L, C)
        gx = w.sum(1)
        # minus each target entry's active count, at that entry's class
        np.add.at(gx, (np.broadcast_to(np.arange(n)[:, None], ctx.tj.shape), ctx.tj), -w.sum(2))
        return _new(gx.reshape(ctx.shape)), None, None, None


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Hinge loss between each sample's target classes (target's entries before the first -1)
    and its other classes.

    Shape: input (C,) or (N, C), target of the same shape (int64)."""
    from ..nn.functional import _reduction
    reduction = _reduction(size_average, reduce, reduction)
    shape = tuple(input.shape)
    if not (len(shape) == 1 and shape[0] > 0 or len(shape) == 2 and shape[1] > 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {list(shape)}")
    t = target._data
    if t.dtype != np.int64:
        from .grid_sample import _torch_dtype_name
        raise RuntimeError(f"expected scalar type Long but found {_torch_dtype_name(t.dtype)}")
    if tuple(t.shape) != shape:
        raise RuntimeError(f"inconsistent target size: {list(t.shape)} for input of size: "
                           f"{list(shape)}")
    c = shape[-1]
    if t.size and (t.min() < -1 or t.max() >= c):
        raise RuntimeError("argument #2 'target' is out of range")
    x = input if len(shape) == 2 else input.reshape(1, c)
    return MultilabelMarginLossBackward0.apply(x, t.reshape(-1, c), reduction, len(shape) == 1)
