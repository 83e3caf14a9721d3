"""Pairwise distances between the rows of one matrix (torch.nn.functional.pdist,
PdistBackward0)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from .base import Op
from .embedding import _sum_rows_by_index

_new = Tensor._new


class PdistBackward0(Op):
    """out[k] = ||x[i] - x[j]||_p for the pairs i < j in row-major order;
    with diff = x[i] - x[j]: dx[i] += dd, dx[j] -= dd, dd = g * sign(diff) |diff|^(p-1) /
    out^(p-1) (p = inf: g * sign(diff) where |diff| is the maximum; p = 0: zero).

    Shape: (N, M) -> (N (N - 1) / 2,).
    """

    @staticmethod
    def forward(ctx, input, p):
        x = input._data
        n = x.shape[0]
        i, j = np.triu_indices(n, 1)
        diff = x[i] - x[j]
        a = np.abs(diff)
        if p == 0:
            out = (a != 0).sum(1).astype(x.dtype)
        elif p == 1:
            out = a.sum(1)
        elif p == 2:
            out = np.sqrt(np.einsum("km,km->k", diff, diff))
        elif p == np.inf:
            out = a.max(1) if diff.shape[1] else np.zeros(len(i), x.dtype)
        else:
            out = (a ** p).sum(1) ** (1.0 / p)
        if ctx.needs_input_grad[0]:
            ctx.pairs, ctx.diff, ctx.out, ctx.p, ctx.n = (i, j), diff, out, p, n
        return out.astype(x.dtype, copy=False)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        g = grad._data[:, None]
        diff, out, p = ctx.diff, ctx.out[:, None], ctx.p
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 0:
                dd = np.zeros_like(diff)
            elif p == 1:
                dd = np.sign(diff) * g
            elif p == 2:
                dd = np.where(out == 0, 0, diff * (g / out))
            elif p == np.inf:
                dd = np.sign(diff) * (np.abs(diff) == out) * g
            else:
                a = np.abs(diff)
                dd = np.sign(diff) * a ** (p - 1) / out ** (p - 1) * g
                # torch: no gradient through zero distances, nor through zero entries for p < 1
                dd = np.where((out == 0) | ((a == 0) & (p < 1)), 0, dd)
        i, j = ctx.pairs
        gx = _sum_rows_by_index(ctx.n, np.concatenate([i, j]),
                                np.concatenate([dd, -dd]).astype(diff.dtype, copy=False))
        return _new(gx), None


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """The p-norm distance between every pair of rows of input (the upper triangle of cdist).

    Shape: (N, M) -> (N (N - 1) / 2,)."""
    x = input._data
    if x.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {x.ndim}D")
    if x.dtype.kind != "f":
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    return PdistBackward0.apply(input, float(p))
