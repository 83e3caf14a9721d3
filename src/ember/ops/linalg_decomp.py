"""torch.linalg's factorisations and solvers over NumPy's LAPACK: inv, det, slogdet, solve,
solve_triangular, cholesky, qr, eigh, svd, matrix_exp, cross, with torch's real-valued gradient
formulas (each op's docstring gives them). Inputs are batches of matrices (..., m, n)."""
from __future__ import annotations

import collections

import numpy as np

from .._tensor import Tensor
from .base import Op

_new = Tensor._new


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a singular or non-positive-definite input."""


# torch.return_types.* with torch's field names
SlogdetResult = collections.namedtuple("linalg_slogdet", "sign logabsdet")
EighResult = collections.namedtuple("linalg_eigh", "eigenvalues eigenvectors")
SvdResult = collections.namedtuple("linalg_svd", "U S Vh")
OldSvdResult = collections.namedtuple("svd", "U S V")
QrResult = collections.namedtuple("linalg_qr", "Q R")
InvExResult = collections.namedtuple("linalg_inv_ex", "inverse info")
CholeskyExResult = collections.namedtuple("linalg_cholesky_ex", "L info")
LstsqResult = collections.namedtuple("linalg_lstsq", "solution residuals rank singular_values")

_TYPE = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
         "bool": "Bool", "float16": "Half"}


def check_float(name: str, x: np.ndarray) -> None:
    if x.dtype.kind != "f" or x.dtype == np.float16:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{_TYPE.get(x.dtype.name, x.dtype.name)}")


def check_square(name: str, x: np.ndarray) -> None:
    if x.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if x.shape[-1] != x.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{x.shape[-2]} by {x.shape[-1]} matrices")


def _batch_prefix(x: np.ndarray, bad_flat_index: int) -> str:
    return f"(Batch element {bad_flat_index}): " if x.ndim > 2 else ""


def _zero_pivot(a: np.ndarray) -> int:
    """LAPACK getrf's info for one matrix: the 1-based index of the first zero pivot of LU with
    partial pivoting (0 if none). Only run on the error path."""
    a = a.astype(np.float64).copy()
    n = a.shape[0]
    first = 0
    for k in range(n):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        if a[p, k] == 0:
            first = first or k + 1
            continue
        a[[k, p]] = a[[p, k]]
        a[k + 1:, k] /= a[k, k]
        a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return first


def _singular_error(name: str, x: np.ndarray) -> LinAlgError:
    flat = x.reshape(-1, *x.shape[-2:])
    for i, m in enumerate(flat):
        k = _zero_pivot(m)
        if k:
            return LinAlgError(f"{name}: {_batch_prefix(x, i)}The diagonal element {k} is zero, "
                               "the inversion could not be completed because the input matrix "
                               "is singular.")
    return LinAlgError(f"{name}: The input matrix is singular.")


def _mT(t):
    return t.transpose(-2, -1)


def _mm(a, b):
    from .linalg import matmul
    return matmul(a, b)


# ---- inverse, determinants ---------------------------------------------------------------------
def _inv_np(name, x):
    check_float(name, x)
    check_square(name, x)
    try:
        return np.linalg.inv(x)
    except np.linalg.LinAlgError:
        raise _singular_error(name, x) from None


class LinalgInvExBackward0(Op):
    """out = A^-1;  dA = -out^T g out^T"""
    _save_output = True

    @staticmethod
    def forward(ctx, a):
        return _inv_np("linalg.inv", a._data)

    @staticmethod
    def backward(ctx, g):
        inv, = ctx.saved_tensors
        it = _mT(inv)
        return -_mm(_mm(it, g), it)


class LinalgDetBackward0(Op):
    """out = det(A);  dA = g out A^-T"""
    _save_output = True

    @staticmethod
    def forward(ctx, a):
        x = a._data
        check_float("linalg.det", x)
        check_square("linalg.det", x)
        ctx.save_for_backward(a)
        return np.asarray(np.linalg.det(x), x.dtype)

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        return (g * out).unsqueeze(-1).unsqueeze(-1) * _mT(inv(a))


class LinalgSlogdetBackward0(Op):
    """(sign, logabsdet) = slogdet(A);  dA = g_logabsdet A^-T (sign has no gradient)"""

    @staticmethod
    def forward(ctx, a):
        x = a._data
        check_float("linalg.slogdet", x)
        check_square("linalg.slogdet", x)
        ctx.save_for_backward(a)
        sign, logabs = np.linalg.slogdet(x)
        return np.asarray(sign, x.dtype), np.asarray(logabs, x.dtype)

    @staticmethod
    def backward(ctx, gsign, glog):
        a, = ctx.saved_tensors
        return glog.unsqueeze(-1).unsqueeze(-1) * _mT(inv(a))


def inv(A):
    return LinalgInvExBackward0.apply(A)


def _per_matrix(x, fn, fill_info):
    """fn on each matrix of the batch; (results, info) with nan results and fill_info(m) as
    info where fn fails (the _ex functions' answers for the failing batch elements)."""
    flat = x.reshape(-1, *x.shape[-2:])
    out = np.full(flat.shape, np.nan, x.dtype)
    info = np.zeros(len(flat), np.int32)
    for i, m in enumerate(flat):
        try:
            out[i] = fn(m)
        except np.linalg.LinAlgError:
            info[i] = fill_info(m)
    return _new(out.reshape(x.shape)), _new(info.reshape(x.shape[:-2]))


def inv_ex(A, *, check_errors=False):
    x = A._data
    check_float("linalg.inv_ex", x)
    check_square("linalg.inv_ex", x)
    try:
        return InvExResult(inv(A), _new(np.zeros(x.shape[:-2], np.int32)))
    except LinAlgError:
        if check_errors:
            raise
        return InvExResult(*_per_matrix(x, np.linalg.inv, _zero_pivot))


def det(A):
    return LinalgDetBackward0.apply(A)


def slogdet(A):
    sign, logabs = LinalgSlogdetBackward0.apply(A)
    return SlogdetResult(sign, logabs)


def logdet(A):
    """torch.logdet: log(det(A)), nan for a negative determinant."""
    sign, logabs = slogdet(A)
    from .elementwise import where_
    return where_(sign < 0, float("nan"), where_(sign == 0, float("-inf"), logabs))


# ---- solvers -----------------------------------------------------------------------------------
def _vector_rhs(a: np.ndarray, b: np.ndarray) -> bool:
    """torch's rule: B is a (batch of) vector(s) when it is 1-D or has A's batch shape."""
    return b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])


class LinalgSolveExBackward0(Op):
    """X = A^-1 B;  dB = A^-T g, dA = -dB X^T"""
    _save_output = True

    @staticmethod
    def forward(ctx, a, b, left):
        x, y = a._data, b._data
        check_float("linalg.solve", x)
        check_square("linalg.solve", x)
        ctx.vec = _vector_rhs(x, y)
        yy = y[..., None] if ctx.vec else y
        if not left:
            x, yy = np.swapaxes(x, -1, -2), np.swapaxes(yy, -1, -2)
        ctx.left = left
        if yy.shape[-2] != x.shape[-1]:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                               f"AX = B ({x.shape[-2]}x{x.shape[-1]} and "
                               f"{yy.shape[-2]}x{yy.shape[-1]})")
        ctx.save_for_backward(a)
        try:
            out = np.linalg.solve(x, yy)
        except np.linalg.LinAlgError:
            raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix "
                              "is singular.") from None
        if not left:
            out = np.swapaxes(out, -1, -2)
        return out[..., 0] if ctx.vec else out

    @staticmethod
    def backward(ctx, g):
        a, X = ctx.saved_tensors
        if ctx.vec:
            g, X = g.unsqueeze(-1), X.unsqueeze(-1)
        if ctx.left:
            gb = solve(_mT(a), g)
            ga = -_mm(gb, _mT(X))
        else:  # X A = B
            gb = solve(_mT(a), g, left=False)
            ga = -_mm(_mT(X), gb)
        if ctx.vec:
            gb = gb.squeeze(-1)
        return ga, gb, None


def solve(A, B, *, left=True):
    return LinalgSolveExBackward0.apply(A, B, left)


def _tri_solve_np(x, y, upper, left, unitriangular):
    tri = np.triu(x) if upper else np.tril(x)
    if unitriangular:
        n = x.shape[-1]
        tri = tri.copy()
        tri[..., np.arange(n), np.arange(n)] = 1
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return np.swapaxes(_tri_solve_np(np.swapaxes(tri, -1, -2), np.swapaxes(y, -1, -2),
                                         not upper, True, False), -1, -2)
    with np.errstate(all="ignore"):
        try:
            return np.linalg.solve(tri, np.broadcast_to(
                y, np.broadcast_shapes(tri.shape[:-2], y.shape[:-2]) + y.shape[-2:]))
        except np.linalg.LinAlgError:  # a zero on the diagonal: inf/nan, as LAPACK trtrs
            return np.linalg.pinv(tri) @ y * np.inf


class LinalgSolveTriangularBackward0(Op):
    """X = A^-1 B with A triangular;  dB = A^-T g, dA = -(dB X^T) restricted to A's triangle
    (without its diagonal when unitriangular); left=False: X A = B mirrored"""
    _save_output = True

    @staticmethod
    def forward(ctx, a, b, upper, left, unitriangular):
        x, y = a._data, b._data
        check_float("linalg.solve_triangular", x)
        if y.ndim < 2:
            raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least "
                               "2 dimensions.")
        check_square("linalg.solve_triangular", x)
        ctx.args = (upper, left, unitriangular)
        ctx.save_for_backward(a)
        return _tri_solve_np(x, y, upper, left, unitriangular)

    @staticmethod
    def backward(ctx, g):
        a, X = ctx.saved_tensors
        upper, left, unit = ctx.args
        at = _mT(a)
        gb = solve_triangular(at, g, upper=not upper, left=left, unitriangular=unit)
        ga = -_mm(gb, _mT(X)) if left else -_mm(_mT(X), gb)
        from .matrix_construct import tril, triu
        ga = (triu(ga, 1 if unit else 0) if upper else tril(ga, -1 if unit else 0))
        return ga, gb, None, None, None


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    return LinalgSolveTriangularBackward0.apply(A, B, bool(upper), bool(left),
                                                bool(unitriangular))


# ---- factorisations ----------------------------------------------------------------------------
def _not_pd_error(name, x):
    flat = x.reshape(-1, *x.shape[-2:])
    for i, m in enumerate(flat):
        k = _first_bad_minor(np.tril(m) + np.swapaxes(np.tril(m, -1), -1, -2))
        if k:
            return LinAlgError(
                f"{name}: {_batch_prefix(x, i)}The factorization could not be completed "
                f"because the input is not positive-definite (the leading minor of order "
                f"{k} is not positive-definite).")
    return LinAlgError(f"{name}: The input is not positive-definite.")


def _cholesky_np(name, x, upper):
    check_float(name, x)
    check_square(name, x)
    sym = np.tril(x) + np.swapaxes(np.tril(x, -1), -1, -2)  # LAPACK reads the lower triangle
    try:
        L = np.linalg.cholesky(sym)
    except np.linalg.LinAlgError:
        raise _not_pd_error(name, x) from None
    return np.swapaxes(L, -1, -2).copy() if upper else L


class LinalgCholeskyExBackward0(Op):
    """A = L L^T;  with P = Phi(L^T gL) (lower triangle, halved diagonal):
    dA = sym(L^-T P L^-1)"""
    _save_output = True

    @staticmethod
    def forward(ctx, a, upper):
        ctx.upper = upper
        return _cholesky_np("linalg.cholesky", a._data, upper)

    @staticmethod
    def backward(ctx, g):
        L, = ctx.saved_tensors
        if ctx.upper:
            L, g = _mT(L), _mT(g)
        from .matrix_construct import tril
        P = tril(_mm(_mT(L), g))
        n = L.shape[-1]
        half = _new(np.where(np.eye(n, dtype=bool), 0.5, 1.0).astype(L._data.dtype))
        P = P * half
        Y = solve_triangular(L, P, upper=False, left=False)  # P L^-1
        S = solve_triangular(_mT(L), Y, upper=True)  # L^-T P L^-1
        return (S + _mT(S)) * 0.5, None


def cholesky(A, *, upper=False):
    return LinalgCholeskyExBackward0.apply(A, bool(upper))


def _first_bad_minor(m) -> int:
    for k in range(1, m.shape[-1] + 1):
        try:
            np.linalg.cholesky(m[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return 0


def cholesky_ex(A, *, upper=False, check_errors=False):
    x = A._data
    try:
        return CholeskyExResult(cholesky(A, upper=upper), _new(np.zeros(x.shape[:-2], np.int32)))
    except LinAlgError:
        if check_errors:
            raise

        def one(m):
            L = np.linalg.cholesky(np.tril(m) + np.tril(m, -1).T)
            return L.T if upper else L
        return CholeskyExResult(*_per_matrix(x, one, _first_bad_minor))


class LinalgEighBackward0(Op):
    """A = V diag(L) V^T;  dA = V (diag(gL) + F o (V^T gV)) V^T, F_ij = 1/(L_j - L_i) (i != j)"""

    @staticmethod
    def forward(ctx, a, uplo, want_vectors):
        x = a._data
        check_float("linalg.eigh", x)
        check_square("linalg.eigh", x)
        if uplo not in ("L", "U"):
            raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {uplo}")
        w, v = np.linalg.eigh(x, UPLO=uplo)
        ctx.want_vectors = want_vectors
        ctx.save_for_backward(_new(w), _new(v))
        return (w, v) if want_vectors else w

    @staticmethod
    def backward(ctx, *grads):
        w, v = ctx.saved_tensors
        gw = grads[0]
        inner = gw.diag_embed()
        if ctx.want_vectors:
            gv = grads[1]
            wd = w._data
            diff = wd[..., None, :] - wd[..., :, None]
            with np.errstate(divide="ignore"):
                F = np.where(np.eye(wd.shape[-1], dtype=bool), 0.0, 1.0 / diff)
            inner = inner + _new(F.astype(wd.dtype)) * _mm(_mT(v), gv)
        return _mm(_mm(v, inner), _mT(v)), None, None


def eigh(A, UPLO="L"):
    w, v = LinalgEighBackward0.apply(A, UPLO, True)
    return EighResult(w, v)


def eigvalsh(A, UPLO="L"):
    return LinalgEighBackward0.apply(A, UPLO, False)


class LinalgSvdBackward0(Op):
    """A = U diag(S) V^T (reduced);  with F_ij = 1/(S_j^2 - S_i^2) (i != j, 0 on the diagonal),
    X = U^T gU, Y = V^T gV:
    dA = U [diag(gS) + (F o (X - X^T)) S + S (F o (Y - Y^T))] V^T + (I - U U^T) gU S^-1 V^T
         + U S^-1 gV^T (I - V V^T)"""

    @staticmethod
    def forward(ctx, a, full_matrices, want_uv):
        x = a._data
        check_float("linalg.svd", x)
        if x.ndim < 2:
            raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
        ctx.want_uv = want_uv
        ctx.full = full_matrices
        if not want_uv:
            u, s, vh = np.linalg.svd(x, full_matrices=False)
            ctx.save_for_backward(_new(u), _new(s), _new(vh))
            return s
        u, s, vh = np.linalg.svd(x, full_matrices=full_matrices)
        k = s.shape[-1]
        ctx.save_for_backward(_new(u[..., :k]), _new(s), _new(vh[..., :k, :]))
        return u, s, vh

    @staticmethod
    def backward(ctx, *grads):
        U, S, Vh = ctx.saved_tensors
        if not ctx.want_uv:
            gS, = grads
            return _mm(U * gS.unsqueeze(-2), Vh), None, None
        gU, gS, gVh = grads
        k = S.shape[-1]
        if ctx.full:
            gU, gVh = gU[..., :k], gVh[..., :k, :]
        V = _mT(Vh)
        gV = _mT(gVh)
        s = S._data
        s2 = s * s
        diff = s2[..., None, :] - s2[..., :, None]
        with np.errstate(divide="ignore"):
            F = _new(np.where(np.eye(k, dtype=bool), 0.0, 1.0 / diff).astype(s.dtype))
        X = _mm(_mT(U), gU)
        Y = _mm(_mT(V), gV)
        # (F o (X - X^T)) diag(S) + diag(S) (F o (Y - Y^T)): columns, then rows scaled by S
        inner = gS.diag_embed() + F * (X - _mT(X)) * S.unsqueeze(-2) + \
            F * (Y - _mT(Y)) * S.unsqueeze(-1)
        out = _mm(_mm(U, inner), Vh)
        m, n = U.shape[-2], V.shape[-2]
        inv_s = S.reciprocal()
        if m > k:
            proj = gU - _mm(U, _mm(_mT(U), gU))
            out = out + _mm(proj * inv_s.unsqueeze(-2), Vh)
        if n > k:
            proj = gV - _mm(V, _mm(_mT(V), gV))
            out = out + _mm(U * inv_s.unsqueeze(-2), _mT(proj))
        return out, None, None


def svd(A, full_matrices=True, *, driver=None):
    u, s, vh = LinalgSvdBackward0.apply(A, bool(full_matrices), True)
    return SvdResult(u, s, vh)


def svdvals(A, *, driver=None):
    return LinalgSvdBackward0.apply(A, False, False)


class LinalgQrBackward0(Op):
    """A = Q R;  m >= n (reduced): dA = _qr_tall_grad(Q, R, gQ, gR);  m < n: A = [X | Y],
    R = [U | V]: dX = _qr_tall_grad(Q, U, gQ + Y gV^T, gU), dY = Q gV;  complete with m > n
    has no derivative (Q's extra columns are not determined by A), as torch"""

    @staticmethod
    def forward(ctx, a, mode):
        x = a._data
        check_float("linalg.qr", x)
        if x.ndim < 2:
            raise RuntimeError("linalg.qr: The input tensor A must have at least 2 dimensions.")
        if mode not in ("reduced", "complete", "r"):
            raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                               "'reduced' (default), 'r', or 'complete'")
        q, r = np.linalg.qr(x, mode="complete" if mode == "complete" else "reduced")
        ctx.mode = mode
        ctx.save_for_backward(_new(q), _new(r), _new(x))  # A: a wide one's Y = A[..., m:]
        if mode == "r":
            return np.zeros(x.shape[:-2] + (0,), x.dtype), r
        return q, r

    @staticmethod
    def backward(ctx, gQ, gR):
        Q, R, A = ctx.saved_tensors
        m, n = Q.shape[-2], R.shape[-1]
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you "
                               "are going to differentiate through linalg.qr.")
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                               "and nrows > ncols.")
        if m >= n:
            return _qr_tall_grad(Q, R, gQ, gR), None
        # wide: A = [X | Y] with X = Q U (square QR) and V = Q^T Y, so Y gets Q gV and Q gets
        # the extra Y gV^T on top of gQ before the square backward
        from .shape import cat
        Y = A[..., m:]
        gU, gV = gR[..., :m], gR[..., m:]
        gX = _qr_tall_grad(Q, R[..., :m], gQ + _mm(Y, _mT(gV)), gU)
        return cat([gX, _mm(Q, gV)], -1), None


def _qr_tall_grad(Q, R, gQ, gR):
    """dA of A = Q R (m >= n, reduced): M = R gR^T - gQ^T Q, dA = (gQ + Q copyltu(M)) R^-T,
    copyltu(M) = tril(M) + tril(M, -1)^T."""
    from .matrix_construct import tril
    M = _mm(R, _mT(gR)) - _mm(_mT(gQ), Q)
    M = tril(M) + _mT(tril(M, -1))
    rhs = gQ + _mm(Q, M)
    # rhs R^-T: solve X R^T = rhs with R^T lower triangular
    return solve_triangular(_mT(R), rhs, upper=False, left=False)


def qr(A, mode="reduced"):
    q, r = LinalgQrBackward0.apply(A, mode)
    return QrResult(q, r)


# ---- matrix exponential ------------------------------------------------------------------------
def _expm_np(x: np.ndarray) -> np.ndarray:
    """Scaling and squaring: exp(A) = exp(A / 2^s)^(2^s), the inner one by its Taylor series
    (18 terms: below float64 rounding once ||A / 2^s||_1 <= 1/2)."""
    norm = np.abs(x).sum(-2).max(-1) if x.size else np.zeros(x.shape[:-2])
    s = np.maximum(0, np.ceil(np.log2(np.maximum(norm, 1e-300) / 0.5))).astype(int)
    smax = int(s.max()) if s.size else 0
    scale = np.ldexp(1.0, -s)[..., None, None]
    y = x * scale
    eye = np.broadcast_to(np.eye(x.shape[-1], dtype=x.dtype), x.shape)
    term = eye.copy()
    out = eye.copy()
    for k in range(1, 19):
        term = term @ y / k
        out = out + term
    for i in range(smax):  # square each matrix s times (the batch's own s)
        sq = out @ out
        out = np.where((s > i)[..., None, None], sq, out)
    return out.astype(x.dtype, copy=False)


class LinalgMatrixExpBackward0(Op):
    """out = exp(A);  dA = the upper-right block of exp([[A^T, g], [0, A^T]])"""

    @staticmethod
    def forward(ctx, a):
        x = a._data
        check_float("linalg.matrix_exp", x)
        check_square("linalg.matrix_exp", x)
        ctx.save_for_backward(a)
        return _expm_np(x)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        from .shape import cat
        n = a.shape[-1]
        at = _mT(a)
        zero = g * 0.0
        big = cat([cat([at, g], -1), cat([zero, at], -1)], -2)
        return matrix_exp(big)[..., :n, n:]


def matrix_exp(A):
    return LinalgMatrixExpBackward0.apply(A)


# ---- cross product -----------------------------------------------------------------------------
class LinalgCrossBackward0(Op):
    """out = a x b along dim;  da = b x g, db = g x a"""

    @staticmethod
    def forward(ctx, a, b, dim):
        x, y = a._data, b._data
        ctx.dim = dim
        ctx.save_for_backward(a, b)
        try:
            return np.cross(x, y, axisa=dim, axisb=dim, axisc=dim)
        except ValueError:
            from .util import check_broadcast
            check_broadcast(np.moveaxis(x, dim, -1), np.moveaxis(y, dim, -1))
            raise

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        nig = ctx.needs_input_grad
        return (cross(b, g, dim=ctx.dim) if nig[0] else None,
                cross(g, a, dim=ctx.dim) if nig[1] else None, None)


def cross(input, other, *, dim=-1):
    x, y = input._data, other._data
    if x.ndim != y.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions.")
    if x.shape[dim] != 3 or y.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{x.shape[dim]} and {y.shape[dim]}")
    return LinalgCrossBackward0.apply(input, other, dim)
