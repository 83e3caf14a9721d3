"""torch.distributions.LKJCholesky."""
from __future__ import annotations

import math

import numpy as np

from .._size import Size
from .._tensor import Tensor
from ..ops.creation import arange, randn
from ..ops.shape import cat
from ..ops.special import lgamma
from ..special import multigammaln
from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import broadcast_all, finfo

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """LKJ distribution over Cholesky factors of correlation matrices (onion method draws:
    Beta from ember's gamma sampler, directions from torch.randn)."""
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. "
                             f"Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.size()
        event_shape = Size((dim, dim))
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = arange(self.dim - 1, dtype=self.concentration.dtype)
        offset = cat([offset.new_zeros((1,)), offset])
        beta_conc1 = offset + 0.5
        beta_conc0 = marginal_conc.unsqueeze(-1) - 0.5 * offset
        self._beta = Beta(beta_conc1, beta_conc0)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        super(LKJCholesky, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=Size()):
        y = self._beta.sample(sample_shape)._data[..., None]
        u = np.tril(randn(tuple(self._extended_shape(sample_shape)), dtype=self.concentration.dtype
                          )._data, -1)
        with np.errstate(invalid="ignore", divide="ignore"):
            u = u / np.linalg.norm(u, axis=-1, keepdims=True)
        u[..., 0, :] = 0.0  # (the first row's direction is 0/0)
        w = np.sqrt(y) * u
        tiny = finfo(w.dtype).tiny
        diag = np.sqrt(np.maximum(1 - (w ** 2).sum(-1), tiny))
        idx = np.arange(self.dim)
        w[..., idx, idx] += diag
        return Tensor._new(w.astype(self.concentration._data.dtype, copy=False))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = arange(2, self.dim + 1)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = (order * diag_elems.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = lgamma(alpha) * dm1
        numerator = multigammaln(alpha - 0.5, dm1)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        return unnormalized_log_pdf - (pi_constant + numerator - denominator)
