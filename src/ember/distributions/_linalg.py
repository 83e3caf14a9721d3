"""The few linear-algebra ops the multivariate normals need (Cholesky factor, triangular
solve, batched diagonal), as private Ops with gradients. NumPy has no triangular solver; the
matrices here are small, so a general batched solve of the triangular system is used."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..ops.base import Op

_new = Tensor._new


def _phi(a):
    """The lower triangle of a with its diagonal halved."""
    out = np.tril(a)
    d = np.diagonal(out, 0, -2, -1)
    idx = np.arange(a.shape[-1])
    out[..., idx, idx] = d * 0.5
    return out


def _mT(a):
    return np.swapaxes(a, -1, -2)


class LinalgCholeskyExBackward0(Op):
    """L = cholesky(A) (lower);  dA = sym(L^-H Phi(L^H dL) L^-1)."""

    @staticmethod
    def forward(ctx, a):
        x = a._data
        try:
            L = np.linalg.cholesky(x)
        except np.linalg.LinAlgError:
            raise RuntimeError("linalg.cholesky: The factorization could not be completed "
                               "because the input is not positive-definite.") from None
        ctx.L = L
        return L.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        L = ctx.L
        gl = g._data
        P = _phi(_mT(L) @ gl)
        Linv = np.linalg.inv(L)
        S = _mT(Linv) @ P @ Linv
        return _new(((S + _mT(S)) * 0.5).astype(gl.dtype, copy=False))


class LinalgSolveTriangularBackward0(Op):
    """X = A^-1 B for triangular A;  dB = A^-T dX, dA = -tri(dB X^T)."""

    @staticmethod
    def forward(ctx, a, b, upper):
        A = np.triu(a._data) if upper else np.tril(a._data)
        B = b._data
        shape = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
        A = np.broadcast_to(A, shape + A.shape[-2:])
        X = np.linalg.solve(A, np.broadcast_to(B, shape + B.shape[-2:]))
        ctx.A, ctx.X, ctx.upper = A, X, upper
        return X.astype(np.result_type(a._data, B), copy=False)

    @staticmethod
    def backward(ctx, g):
        gb = np.linalg.solve(_mT(ctx.A), g._data)
        ga = -gb @ _mT(ctx.X)
        ga = np.triu(ga) if ctx.upper else np.tril(ga)
        return _new(ga.astype(g._data.dtype, copy=False)), \
            _new(gb.astype(g._data.dtype, copy=False)), None


class DiagonalBackward0(Op):
    """out = diagonal of the last two dims;  da = g placed on the diagonal."""
    _view = False

    @staticmethod
    def forward(ctx, a):
        ctx.shape = a._data.shape
        return np.diagonal(a._data, 0, -2, -1).copy()

    @staticmethod
    def backward(ctx, g):
        out = np.zeros(ctx.shape, g._data.dtype)
        n = min(ctx.shape[-2:])
        idx = np.arange(n)
        out[..., idx, idx] = g._data
        return _new(out)


class DiagEmbedBackward0(Op):
    """out = a on the diagonal of new last two dims;  da = diagonal of g."""

    @staticmethod
    def forward(ctx, a):
        x = a._data
        n = x.shape[-1]
        out = np.zeros(x.shape + (n,), x.dtype)
        idx = np.arange(n)
        out[..., idx, idx] = x
        return out

    @staticmethod
    def backward(ctx, g):
        return _new(np.diagonal(g._data, 0, -2, -1).copy())


def cholesky(a):
    return LinalgCholeskyExBackward0.apply(a)


def solve_triangular(a, b, *, upper=False):
    return LinalgSolveTriangularBackward0.apply(a, b, upper)


def diagonal(a):
    return DiagonalBackward0.apply(a)


def diag_embed(a):
    return DiagEmbedBackward0.apply(a)


def batch_mv(bmat, bvec):
    """Batched matrix-vector product with broadcasting: (..., n, m) x (..., m) -> (..., n)."""
    return (bmat @ bvec.unsqueeze(-1)).squeeze(-1)


def batch_mahalanobis(bL, bx):
    """x^T (L L^T)^-1 x for lower-triangular L, batched with broadcasting."""
    n = bx.shape[-1]
    bx_batch_shape = tuple(bx.shape[:-1])
    shape = np.broadcast_shapes(tuple(bL.shape[:-2]), bx_batch_shape)
    sol = solve_triangular(bL, bx.expand(shape + (n,)).unsqueeze(-1), upper=False).squeeze(-1)
    return (sol * sol).sum(-1)


def tril(a, diagonal=0):
    """Lower triangle (a mask product, so gradients flow)."""
    from ..ops.creation import as_tensor
    n, m = a.shape[-2:]
    return a * as_tensor(np.tri(n, m, diagonal, dtype=a._data.dtype))


def cholesky_inverse(L):
    """(L L^T)^-1 from its lower Cholesky factor."""
    from ..ops.creation import eye
    n = L.shape[-1]
    Linv = solve_triangular(L, eye(n, dtype=L.dtype).expand(tuple(L.shape)), upper=False)
    return Linv.mT @ Linv
