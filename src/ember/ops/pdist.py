"""Pairwise distances between the rows of one matrix (torch.nn.functional.pdist,
PdistBackward0)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from .base import Op

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
        diff = np.take(x, i, 0) - np.take(x, j, 0)
        a = diff if p == 2 else np.abs(diff)
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
            ctx.diff, ctx.out, ctx.p, ctx.n = diff, out, p, n
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
                scale = g / out  # per pair, so the (pairs, M) work is one multiply
                scale[out == 0] = 0
                dd = diff * scale
            elif p == np.inf:
                dd = np.sign(diff) * (np.abs(diff) == out) * g
            else:
                a = np.abs(diff)
                dd = np.sign(diff) * a ** (p - 1) / out ** (p - 1) * g
                # torch: no gradient through zero distances, nor through zero entries for p < 1
                dd = np.where((out == 0) | ((a == 0) & (p < 1)), 0, dd)
        n = ctx.n
        dd = dd.astype(diff.dtype, copy=False)
        gx = np.zeros((n, diff.shape[1]), diff.dtype)
        if n > 1 and dd.size:
            # pairs are ordered by i: row i's terms are the contiguous run of its n - 1 - i pairs
            lens = np.arange(n - 1, 0, -1)
            gx[:-1] = np.add.reduceat(dd, np.cumsum(lens) - lens, axis=0)
            # the same pairs ordered by j (then i), each j's run holding its j pairs
            jj, ii = np.tril_indices(n, -1)
            k = ii * n - ii * (ii + 1) // 2 + (jj - ii - 1)
            lens = np.arange(1, n)
            gx[1:] -= np.add.reduceat(np.take(dd, k, 0), np.cumsum(lens) - lens, axis=0)
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
