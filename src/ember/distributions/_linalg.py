"""Batched helpers of the multivariate normals over ember.linalg (torch.distributions'
_batch_mv / _batch_mahalanobis)."""
from __future__ import annotations

import numpy as np

from ..linalg import cholesky, solve, solve_triangular
from ..ops.creation import eye

__all__ = ["batch_mahalanobis", "batch_mv", "cholesky", "cholesky_inverse", "cholesky_solve",
           "diag_embed", "diagonal", "solve_triangular", "tril"]


def diagonal(a):
    """The diagonals of the last two dims."""
    return a.diagonal(dim1=-2, dim2=-1)


def diag_embed(a):
    return a.diag_embed()


def tril(a, diagonal=0):
    return a.tril(diagonal)


def batch_mv(bmat, bvec):
    """Batched matrix-vector product with broadcasting: (..., n, m) x (..., m) -> (..., n)."""
    return (bmat @ bvec.unsqueeze(-1)).squeeze(-1)


def batch_mahalanobis(bL, bx):
    """x^T (L L^T)^-1 x for lower-triangular L, batched with broadcasting."""
    n = bx.shape[-1]
    shape = np.broadcast_shapes(tuple(bL.shape[:-2]), tuple(bx.shape[:-1]))
    L = bL.expand(shape + (n, n))
    sol = solve_triangular(L, bx.expand(shape + (n,)).unsqueeze(-1), upper=False).squeeze(-1)
    return (sol * sol).sum(-1)


def cholesky_inverse(L):
    """(L L^T)^-1 from its lower Cholesky factor."""
    n = L.shape[-1]
    Linv = solve_triangular(L, eye(n, dtype=L.dtype).expand(tuple(L.shape)), upper=False)
    return Linv.mT @ Linv


def cholesky_solve(b, L):
    """(L L^T)^-1 b from the lower Cholesky factor L (torch.cholesky_solve). Solved with the
    dense product, so the gradient covers all of L as torch's does."""
    return solve(L @ L.mT, b)
