"""torch.* and Tensor spellings of torch.linalg's ops, with their older signatures: torch.svd
(some=True, V rather than Vh), torch.qr (some=True), torch.cholesky (upper=False), torch.det,
torch.logdet, torch.slogdet, torch.inverse, torch.pinverse, torch.matrix_exp, torch.cross (dim
defaults to the first of size 3), and torch.norm's p='nuc'."""
from __future__ import annotations

import warnings

import numpy as np

from .._tensor import Tensor
from . import linalg_decomp as D
from .reduce import norm as _vector_norm_fro

_new = Tensor._new


def svd(input, some=True, compute_uv=True):
    U, S, Vh = D.svd(input, full_matrices=not some)
    if not compute_uv:  # torch: zero-filled U and V of the full shapes
        m, n = input.shape[-2:]
        U = _new(np.zeros(input.shape[:-2] + (m, m), input._data.dtype))
        V = _new(np.zeros(input.shape[:-2] + (n, n), input._data.dtype))
        return D.OldSvdResult(U, S, V)
    return D.OldSvdResult(U, S, Vh.mT)


def qr(input, some=True):
    q, r = D.qr(input, "reduced" if some else "complete")
    return D.QrResult(q, r)


def cholesky(input, upper=False):
    return D.cholesky(input, upper=upper)


def pinverse(input, rcond=1e-15):
    from ..linalg import pinv
    return pinv(input, rtol=rcond)


def matrix_power(input, n):
    from ..linalg import matrix_power as mp
    return mp(input, n)


def cross(input, other, dim=None):
    if dim is None:
        sizes = input.shape
        dim = next((i for i, s in enumerate(sizes) if s == 3), None)
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\n"
                      "Please either pass the dim explicitly or simply use torch.linalg.cross.\n"
                      "The default value of dim will change to agree with that of "
                      "linalg.cross in a future release.", UserWarning, stacklevel=2)
        if dim is None:
            raise RuntimeError(f"no dimension of size 3 in input")
    return D.cross(input, other, dim=dim)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """torch.norm: 'nuc' is the matrix nuclear norm (over dim, else the last two dims);
    'fro' and numbers are vector norms over dim (all dims when None)."""
    if isinstance(p, str) and p == "nuc":
        from ..linalg import matrix_norm
        nd = input._data.ndim
        if dim is None and nd != 2:
            raise RuntimeError("linalg.matrix_norm: dim must be a 2-tuple. Got " +
                               " ".join(str(d) for d in range(nd)))
        return matrix_norm(input, "nuc", tuple(dim) if dim is not None else (-2, -1), keepdim,
                           dtype=dtype)
    return _vector_norm_fro(input, p, dim, keepdim, dtype)


FUNCTIONS = {"det": D.det, "logdet": D.logdet, "slogdet": D.slogdet, "inverse": D.inv,
             "svd": svd, "qr": qr, "cholesky": cholesky, "pinverse": pinverse,
             "matrix_exp": D.matrix_exp, "matrix_power": matrix_power, "cross": cross,
             "norm": norm}
TENSOR_METHODS = dict(FUNCTIONS)

det, logdet, slogdet, inverse, matrix_exp = D.det, D.logdet, D.slogdet, D.inv, D.matrix_exp
