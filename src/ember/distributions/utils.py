"""Helpers shared by the distributions (torch.distributions.utils)."""
from __future__ import annotations

from functools import update_wrapper
from numbers import Number

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad
from ..nn import functional as F
from ..ops.creation import as_tensor, empty, tensor, zeros

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs", "probs_to_logits",
           "tril_matrix_to_vec", "vec_to_tril_matrix"]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni


def finfo(dtype):
    """NumPy's finfo of a float dtype (eps, tiny, max as torch.finfo has them)."""
    return np.finfo(dtype.np if hasattr(dtype, "np") else dtype)


def broadcast_all(*values):
    """Tensors of the common broadcast shape; numbers become tensors of the tensors' dtype
    (the default float dtype if all are numbers)."""
    if not all(isinstance(v, (Tensor, Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, "
                         "torch.Tensor or objects implementing __torch_function__.")
    if not all(isinstance(v, Tensor) for v in values):
        like = next((v for v in values if isinstance(v, Tensor)), None)
        dt = like.dtype if like is not None else _dtype.get_default_dtype()
        values = [v if isinstance(v, Tensor) else tensor(float(v), dtype=dt) for v in values]
    shape = np.broadcast_shapes(*(v._data.shape for v in values))
    return tuple(v if v._data.shape == shape else v.expand(shape) for v in values)


def _standard_normal(shape, dtype, device=None):
    """Standard normals drawn as torch's `empty(shape).normal_()`."""
    return empty(tuple(shape), dtype=dtype).normal_()


def _sum_rightmost(value, dim: int):
    """Sum over the rightmost `dim` dimensions."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.dim() - dim]) + (-1,)).sum(-1)


def logits_to_probs(logits, is_binary: bool = False):
    """Sigmoid of binary logits, softmax of categorical ones."""
    if is_binary:
        return logits.sigmoid()
    return F.softmax(logits, dim=-1)


def clamp_probs(probs):
    """probs clamped into [eps, 1 - eps] of their dtype."""
    eps = float(finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary: bool = False):
    """log p (categorical) or log p - log1p(-p) (binary), of clamped probabilities."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return ps_clamped.log() - (-ps_clamped).log1p()
    return ps_clamped.log()


class lazy_property:
    """A property computed once and then cached in the instance's __dict__ (so a
    distribution's repr lists it only once computed, as torch's)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):
    def __init__(self, wrapped):
        property.__init__(self, wrapped)


def tril_matrix_to_vec(mat, diag: int = 0):
    """The lower triangle (from diagonal `diag`) of the last two dims, as a vector."""
    n = mat.shape[-1]
    if not -n <= diag < n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    rows, cols = np.tril_indices(n, diag)
    return mat[..., as_tensor(rows), as_tensor(cols)]


def vec_to_tril_matrix(vec, diag: int = 0):
    """The inverse of tril_matrix_to_vec."""
    n = int(round((-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] + 4 * abs(diag)
                                       * (diag + 1)) ** 0.5) / 2))
    if vec.shape[-1] != len(np.tril_indices(n, diag)[0]):
        raise ValueError(f"The size of last dimension is {vec.shape[-1]} which cannot be "
                         f"expressed as the lower triangular part of a square D x D matrix.")
    rows, cols = np.tril_indices(n, diag)
    flat = rows * n + cols
    out = zeros(tuple(vec.shape[:-1]) + (n * n,), dtype=vec.dtype)
    idx = as_tensor(np.broadcast_to(flat, tuple(vec.shape[:-1]) + (len(flat),)).copy())
    return out.scatter(-1, idx, vec).reshape(tuple(vec.shape[:-1]) + (n, n))
