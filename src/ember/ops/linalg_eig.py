"""torch.linalg.eig / eigvals: eigenvalues and eigenvectors of general square matrices, complex
(complex64 for float32 input, complex128 for float64), from LAPACK's geev through NumPy, as
torch's CPU kernel: complex-conjugate pairs adjacent, the one with positive imaginary part first,
and eigenvectors of unit 2-norm whose largest component is real. NumPy's LAPACK build is not
torch's, so on some matrices the order of the eigenvalues (and the phase of an eigenvector)
can differ from torch's; the values are the same.

Backward: the eigenvalues' gradient, gA = V^{-H} diag(gL) V^H (its real part for a real A), as
torch's; a gradient reaching the eigenvectors raises, naming it (their gauge-dependent formula
is not implemented).
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
            w, v = w.astype(out, copy=False), v.astype(out, copy=False)
            ctx.v, ctx.real = v, x.dtype.kind != "c"
            return w, v
        if not np.isfinite(x).all():  # torch returns LAPACK's answer, not an error; NumPy
            # refuses to call LAPACK, so ember answers NaN (never a made-up finite value)
            return np.full(x.shape[:-2] + (n,), np.nan, out)
        if ctx.needs_input_grad[0]:
            w, v = np.linalg.eig(x)  # the eigenvectors, for the backward
            ctx.v, ctx.real = v.astype(out, copy=False), x.dtype.kind != "c"
            return w.astype(out, copy=False)
        return np.linalg.eigvals(x).astype(out, copy=False)

    @staticmethod
    def backward(ctx, gL, gV=None):
        if gV is not None and np.any(gV._data):
            raise NotImplementedError("ember: the gradient of linalg.eig's eigenvectors is not "
                                      "implemented (only the eigenvalues' is)")
        v = ctx.v
        vh = np.conj(np.swapaxes(v, -1, -2))
        g = gL._data.astype(v.dtype, copy=False)
        # V^{-H} diag(gL) V^H, by a solve with V^H instead of an inverse
        ga = np.linalg.solve(vh, g[..., :, None] * vh)
        if ctx.real:
            ga = ga.real
        return _new(np.ascontiguousarray(ga)), None, None


_TYPE = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
         "bool": "Bool", "float16": "Half", "bfloat16": "BFloat16"}


def eig(A: Tensor) -> EigResult:
    """A V = V diag(L) for square A (..., n, n) -> L (..., n), V (..., n, n), complex."""
    w, v = LinalgEigBackward0.apply(A, "linalg.eig", True)
    return EigResult(w, v)


def eigvals(A: Tensor) -> Tensor:
    """The eigenvalues of eig(A), complex (..., n)."""
    return LinalgEigBackward0.apply(A, "linalg.eigvals", False)
