"""torch.linalg: norms, determinants, inverses, solvers and factorisations (ops in
ops/linalg_decomp.py; norms compose the vector-norm op, pinv/lstsq/matrix_rank the SVD).
eig/eigvals (complex results, forward only) are in ops/linalg_eig.py."""
from __future__ import annotations

import math

import numpy as np

from ._tensor import Tensor
from .ops.linalg_decomp import (LinAlgError, LstsqResult, check_float, check_square, cholesky,
                                cholesky_ex, cross, det, eigh, eigvalsh, inv, inv_ex, matrix_exp,
                                qr, slogdet, solve, solve_triangular, svd, svdvals)
from .ops.linalg import matmul
from .ops.linalg_eig import eig, eigvals  # noqa: F401
from .ops.reduce import LinalgVectorNormBackward0
from .ops.util import dims_tuple

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cross", "det", "diagonal", "eig", "eigh",
           "eigvals", "eigvalsh", "inv", "inv_ex", "lstsq", "matmul", "matrix_exp",
           "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr",
           "slogdet", "solve", "solve_ex", "solve_triangular", "svd", "svdvals", "vecdot",
           "vector_norm"]

_new = Tensor._new


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got '{ord}'")
    if dtype is not None:
        x = x.to(dtype)
    return LinalgVectorNormBackward0.apply(x, float(ord), dims_tuple(dim, x._data.ndim), keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    if dtype is not None:
        A = A.to(dtype)
    x = A._data
    check_float("linalg.matrix_norm", x)
    if x.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    nd = x.ndim
    d0, d1 = (d % nd for d in dim)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        B = A.movedim((d0, d1), (-2, -1))
        s = svdvals(B)
        r = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            r = r.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return r
    if ord in (1, -1, math.inf, -math.inf):
        sum_dim, red_dim = (d0, d1) if abs(ord) == 1 else (d1, d0)
        sums = A.abs().sum(sum_dim, keepdim=True)
        r = sums.amax(red_dim, keepdim=True) if ord > 0 else sums.amin(red_dim, keepdim=True)
        return r if keepdim else r.squeeze((d0, d1))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        nd = A._data.ndim
        if nd == 2 or isinstance(ord, str):
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
        if nd != 1:
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                               f"be 1D or 2D. Got {nd}D.")
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def matrix_power(A, n):
    x = A._data
    check_square("linalg.matrix_power", x)
    if n == 0:  # the identity, still attached to A's graph (with a zero gradient) as in torch
        return A * 0 + _new(np.eye(x.shape[-1], dtype=x.dtype))
    if n < 0:
        A = inv(A)
        n = -n
    result, base = None, A
    while n:  # binary powering: the products torch's own loop forms
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def multi_dot(tensors):
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first, last = tensors[0], tensors[-1]
    ts = list(tensors)
    if first.ndim == 1:
        ts[0] = first.unsqueeze(0)
    if last.ndim == 1:
        ts[-1] = last.unsqueeze(-1)
    for i, t in enumerate(ts):
        if t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    out = ts[0]
    for t in ts[1:]:
        out = matmul(out, t)
    if first.ndim == 1:
        out = out.squeeze(0)
    if last.ndim == 1:
        out = out.squeeze(-1)
    return out


def vecdot(x, y, *, dim=-1):
    return (x * y).sum(dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    from .ops.matrix_construct import diagonal as _d
    return _d(A, offset, dim1, dim2)


def solve_ex(A, B, *, left=True, check_errors=False):
    try:
        X = solve(A, B, left=left)
        info = np.zeros(A._data.shape[:-2], np.int32)
    except LinAlgError:
        if check_errors:
            raise
        X = _new(np.full(np.broadcast_shapes(A._data.shape[:-1], B._data.shape[:-1]) +
                         B._data.shape[-1:], np.nan, A._data.dtype))
        info = np.ones(A._data.shape[:-2], np.int32)
    return X, _new(info)


def _default_rtol(x: np.ndarray) -> float:
    return float(np.finfo(x.dtype).eps) * max(x.shape[-2:])


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """Moore-Penrose inverse through the SVD: V diag(1/s, s > tol) U^T."""
    x = A._data
    check_float("linalg.pinv", x)
    U, S, Vh = svd(A, full_matrices=False)
    smax = S._data.max(-1, keepdims=True) if S._data.size else np.zeros(S._data.shape[:-1] + (1,))
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else _default_rtol(x)
    tol = np.maximum(atol or 0.0, rtol * smax)
    keep = _new((S._data > tol).astype(x.dtype))
    from .ops.elementwise import where_
    inv_s = where_(keep > 0, S, 1.0).reciprocal() * keep
    return matmul(Vh.mT * inv_s.unsqueeze(-2), U.mT)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None):
    x = A._data
    check_float("linalg.matrix_rank", x)
    s = np.linalg.svd(x, compute_uv=False)
    smax = s.max(-1, keepdims=True) if s.size else np.zeros(s.shape[:-1] + (1,))
    if tol is not None:
        atol, rtol = tol, 0.0
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else _default_rtol(x)
    thresh = np.maximum(atol or 0.0, rtol * smax)
    return _new((s > thresh).sum(-1).astype(np.int64))


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution pinv(A) B (torch's default CPU driver 'gelsy' returns no
    residuals and no singular values: empty tensors, as here)."""
    x = A._data
    check_float("linalg.lstsq", x)
    vec = B._data.ndim == x.ndim - 1
    Bm = B.unsqueeze(-1) if vec else B
    if Bm._data.shape[-2] != x.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2). Got "
                           f"{x.shape[-2]} and {Bm._data.shape[-2]}")
    sol = matmul(pinv(A, rtol=rcond if rcond is not None else None), Bm)
    if vec:
        sol = sol.squeeze(-1)
    empty = _new(np.zeros((0,), x.dtype))
    rank = matrix_rank(A)
    return LstsqResult(sol, empty, rank, empty)

