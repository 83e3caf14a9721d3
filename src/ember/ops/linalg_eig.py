"""torch.linalg.eig / eigvals: eigenvalues and eigenvectors of general square matrices, complex
(complex64 for float32 input, complex128 for float64), from LAPACK's geev through NumPy, as
torch's CPU kernel: complex-conjugate pairs adjacent, the one with positive imaginary part first,
and eigenvectors of unit 2-norm whose largest component is real. NumPy's LAPACK build is not
torch's, so on some matrices the order of the eigenvalues (and the phase of an eigenvector)
can differ from torch's; the values are the same.

Forward only: the derivative of eig is complex-valued and ember has no complex autograd, so
backward through eig/eigvals raises, naming it (torch computes it).
"""
from __future__ import annotations

import collections

import numpy as np

from .._tensor import Tensor
from .base import Op
from .linalg_decomp import check_square

__all__ = ["eig", "eigvals", "EigResult"]

EigResult = collections.namedtuple("linalg_eig", "eigenvalues eigenvectors")
_new = Tensor._new
_COMPLEX = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128,
            np.dtype(np.complex64): np.complex64, np.dtype(np.complex128): np.complex128}


class LinalgEigBackward0(Op):
    """L, V = eig(A) (V only when asked);  no backward in ember (complex autograd)"""

    @staticmethod
    def forward(ctx, a, name, vectors):
        x = a._data
        out = _COMPLEX.get(x.dtype)
        if out is None:
            raise RuntimeError(f"Unknown Complex ScalarType for {_TYPE.get(x.dtype.name, x.dtype)}")
        check_square(name, x)
        if vectors and x.size and not np.isfinite(x).all():
            raise RuntimeError("torch.linalg.eig: input tensor should not contain infs or NaNs.")
        n = x.shape[-1]
        if x.size == 0:
            w = np.zeros(x.shape[:-1], out)
            return (w, np.zeros(x.shape, out)) if vectors else w
        if vectors:
            w, v = np.linalg.eig(x)
            return w.astype(out, copy=False), v.astype(out, copy=False)
        if not np.isfinite(x).all():  # torch returns LAPACK's answer, not an error; NumPy
            # refuses to call LAPACK, so ember answers NaN (never a made-up finite value)
            return np.full(x.shape[:-2] + (n,), np.nan, out)
        return np.linalg.eigvals(x).astype(out, copy=False)

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("ember: the derivative of linalg.eig / linalg.eigvals is "
                                  "complex-valued and ember has no complex autograd")


_TYPE = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
         "bool": "Bool", "float16": "Half", "bfloat16": "BFloat16"}


def eig(A: Tensor) -> EigResult:
    """A V = V diag(L) for square A (..., n, n) -> L (..., n), V (..., n, n), complex."""
    w, v = LinalgEigBackward0.apply(A, "linalg.eig", True)
    return EigResult(w, v)


def eigvals(A: Tensor) -> Tensor:
    """The eigenvalues of eig(A), complex (..., n)."""
    return LinalgEigBackward0.apply(A, "linalg.eigvals", False)
