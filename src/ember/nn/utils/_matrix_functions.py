"""The two matrix functions the orthogonal parametrization needs (torch.matrix_exp and
torch.linalg.solve), as ops with hand-written backward passes."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...ops.base import Op

_new = Tensor._new


def _expm(a: np.ndarray) -> np.ndarray:
    """exp(A) by scaling and squaring a degree-18 Taylor polynomial (batched)."""
    norm = float(np.abs(a).sum(axis=-2).max()) if a.size else 0.0
    s = max(0, int(np.ceil(np.log2(norm / 0.5))) if norm > 0.5 else 0)
    x = a / (2.0 ** s)
    eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
    out = eye.copy()
    term = eye.copy()
    for i in range(1, 19):
        term = term @ x / i
        out = out + term
    for _ in range(s):
        out = out @ out
    return out


class LinalgMatrixExpBackward0(Op):
    """out = exp(A);  dA = the upper-right block of exp([[A^T, G], [0, A^T]])."""

    @staticmethod
    def forward(ctx, a):
        ctx.a = a._data
        return _expm(a._data)

    @staticmethod
    def backward(ctx, g):
        a = ctx.a
        n = a.shape[-1]
        at = np.swapaxes(a, -1, -2)
        big = np.zeros(a.shape[:-2] + (2 * n, 2 * n), a.dtype)
        big[..., :n, :n] = at
        big[..., n:, n:] = at
        big[..., :n, n:] = g._data
        return _new(np.ascontiguousarray(_expm(big)[..., :n, n:]))


class LinalgSolveExBackward0(Op):
    """X = B^-1 C;  dC = B^-T G,  dB = -dC X^T."""

    @staticmethod
    def forward(ctx, b, c):
        x = np.linalg.solve(b._data, c._data)
        ctx.b, ctx.x = b._data, x
        return x

    @staticmethod
    def backward(ctx, g):
        gc = np.linalg.solve(np.swapaxes(ctx.b, -1, -2), g._data)
        gb = -gc @ np.swapaxes(ctx.x, -1, -2)
        return _new(gb), _new(gc)


def matrix_exp(a: Tensor) -> Tensor:
    return LinalgMatrixExpBackward0.apply(a)


def solve(b: Tensor, c: Tensor) -> Tensor:
    return LinalgSolveExBackward0.apply(b, c)
