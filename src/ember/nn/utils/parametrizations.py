"""weight_norm, spectral_norm and orthogonal as parametrizations
(torch.nn.utils.parametrizations), with torch's state_dict keys:
`parametrizations.weight.original0/original1` (weight norm's g and v),
`parametrizations.weight.original` + `parametrizations.weight.0._u/_v` (spectral norm),
`parametrizations.weight.original` + `parametrizations.weight.0.base` (orthogonal)."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops import creation
from ..modules.module import Module
from . import parametrize
from ._matrix_functions import matrix_exp, solve

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


# ---- weight norm -------------------------------------------------------------------------------
def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of v over every dim but `dim` (kept, size 1), or over all when dim == -1."""
    if dim == -1:
        return v.norm()
    axes = tuple(d for d in range(v.dim()) if d != dim % v.dim())
    return v.norm(2, axes, keepdim=True) if axes else v.abs()


class _WeightNorm(Module):
    """weight = g * v / ||v|| (norm over every dim but `dim`)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int = 0) -> Module:
    """Reparametrize module.<name> as g * v / ||v||: g is `original0`, v `original1`."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


# ---- spectral norm -----------------------------------------------------------------------------
def _normalize_(a: np.ndarray, eps: float) -> np.ndarray:
    a /= max(float(np.linalg.norm(a)), eps)
    return a


class _SpectralNorm(Module):
    """weight / sigma, sigma the largest singular value of the weight (as a matrix), estimated by
    power iteration on the buffers _u, _v (updated in training mode)."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.dim()
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._reshape_weight_to_matrix(weight)
            h, w = mat.shape
            u = creation.empty(h, dtype=weight.dtype).normal_(0, 1)
            v = creation.empty(w, dtype=weight.dtype).normal_(0, 1)
            _normalize_(u._data, eps)
            _normalize_(v._data, eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            self._power_method(mat._data, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.dim()) if d != self.dim])
        return weight.flatten(1)

    def _power_method(self, mat: np.ndarray, n: int) -> None:
        """u <- normalize(W v), v <- normalize(W^T u), n times, in place (no gradient)."""
        u, v = self._u._data, self._v._data
        for _ in range(n):
            u[...] = mat @ v
            _normalize_(u, self.eps)
            v[...] = mat.T @ u
            _normalize_(v, self.eps)
        self._u._vc[0] += 1
        self._v._vc[0] += 1

    def forward(self, weight: Tensor) -> Tensor:
        if weight.dim() == 1:
            from ..functional import normalize
            return normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat._data, self.n_power_iterations)
        u = self._u.clone()
        v = self._v.clone()
        sigma = (u * mat.matmul(v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Reparametrize module.<name> as weight / sigma(weight) (spectral normalization)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        from ..modules.conv import ConvTranspose1d, ConvTranspose2d
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d)) else 0
    parametrize.register_parametrization(module, name,
                                         _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# ---- orthogonal --------------------------------------------------------------------------------
_MAPS = ("matrix_exp", "cayley", "householder")


def _tril(x: Tensor, k: int = 0) -> Tensor:
    """The lower triangle of (a batch of) matrices, as a mask product (gradient masked too)."""
    n, m = x.shape[-2:]
    return x * Tensor._new(np.tri(n, m, k, dtype=x._data.dtype))


def _make_orthogonal(a: np.ndarray) -> np.ndarray:
    """The Q of A = QR with R's diagonal made positive (unique), batched."""
    q, r = np.linalg.qr(a)
    d = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    d = np.where(d == 0, 1, d)
    return q * d[..., None, :]


def _is_orthogonal(q: np.ndarray) -> bool:
    n, k = q.shape[-2:]
    eps = 10.0 * n * np.finfo(q.dtype).eps
    return bool(np.allclose(np.swapaxes(q, -1, -2) @ q, np.eye(k, dtype=q.dtype), rtol=1e-5,
                            atol=eps))


def _householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """H_1 ... H_k applied to the first k columns of the identity, H_i = I - tau_i v_i v_i^T
    with v_i column i of A below the diagonal and 1 on it (one rank-1 update per column)."""
    n, k = A.shape[-2:]
    eye = creation.eye(n, dtype=A.dtype)
    q = eye[:, :k]
    for i in range(k - 1, -1, -1):
        v = A[..., :, i:i + 1] + eye[:, i:i + 1]  # A is strictly lower: the unit lands on row i
        q = q - tau[..., i:i + 1].unsqueeze(-1) * v.matmul(v.mT.matmul(q))
    return q


class _Orthogonal(Module):
    """An orthogonal matrix (or batch) from unconstrained parameters: the matrix exponential or
    Cayley map of a skew-symmetric matrix, or a product of Householder reflections; with
    use_trivialization, relative to the buffer `base`."""

    def __init__(self, weight: Tensor, orthogonal_map: str, *,
                 use_trivialization: bool = True) -> None:
        super().__init__()
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2:]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = _tril(X)
            if n != k:
                pad = creation.zeros(*X.shape[:-1], n - k, dtype=X.dtype)
                from ... import cat
                X = cat([X, pad], dim=-1)
            A = X - X.mT
            if self.orthogonal_map == "matrix_exp":
                Q = matrix_exp(A)
            else:
                eye = creation.eye(n, dtype=A.dtype)
                Q = solve(eye - A * 0.5, eye + A * 0.5)
            if n != k:
                Q = Q[..., :k]
        else:
            A = _tril(X, -1)
            tau = 2.0 / (1.0 + (A * A).sum(-2))
            Q = _householder_product(A, tau)
            sign = Tensor._new(np.diagonal(X._data, axis1=-2, axis2=-1).astype(np.int64)
                               .astype(X._data.dtype))
            Q = Q * sign.unsqueeze(-2)
        if "base" in self._buffers:
            Q = self.base.matmul(Q)
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            if tuple(Q.shape) != self.shape:
                raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                                 f"Got a tensor of shape {tuple(Q.shape)}.")
            q = Q._data
            n, k = q.shape[-2:]
            transpose = n < k
            if transpose:
                q = np.swapaxes(q, -1, -2)
                n, k = k, n
            if "base" not in self._buffers:
                if self.orthogonal_map != "householder":
                    raise NotImplementedError(
                        "It is not possible to assign to the matrix exponential or the Cayley "
                        "parametrizations when use_trivialization=False.")
                # Householder vectors and signs of Q's QR factorization (LAPACK's geqrf), one
                # matrix of the batch at a time
                flat = q.reshape((-1, n, k))
                out = np.empty_like(flat)
                for b in range(flat.shape[0]):
                    h, tau = np.linalg.qr(flat[b], mode="raw")
                    a = np.ascontiguousarray(h.T)
                    d = np.sign(np.diagonal(a)).copy()
                    d[tau == 0] *= -1
                    a[np.arange(k), np.arange(k)] = d
                    out[b] = a
                out = out.reshape(q.shape)
                if transpose:
                    out = np.swapaxes(out, -1, -2)
                return Tensor._new(np.ascontiguousarray(out, dtype=q.dtype))
            if n == k:
                base = q.copy() if _is_orthogonal(q) else _make_orthogonal(q)
            else:
                extra = creation.randn(*(q.shape[:-2] + (n, n - k)), dtype=Q.dtype)._data
                base = _make_orthogonal(np.concatenate([q, extra], axis=-1))
            self.base = Tensor._new(np.ascontiguousarray(base, dtype=q.dtype))
            neg_id = np.zeros(Q.shape, q.dtype)
            m = min(Q.shape[-2:])
            neg_id[..., np.arange(m), np.arange(m)] = -1
            return Tensor._new(neg_id)


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Constrain module.<name> (a matrix or batch of matrices) to be orthogonal."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.dim() < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.dim()} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
