"""torch.distributions.Dirichlet."""
from __future__ import annotations

import numpy as np

from .._size import Size
from ..ops.special import digamma, lgamma, xlogy
from . import constraints
from ._sampling import StandardGammaBackward0
from .exp_family import ExponentialFamily
from ..nn.functional import one_hot

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    """Dirichlet(concentration) over the last dim; rsample normalises reparameterised gamma
    draws (gradients flow through them)."""
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(batch_shape + self.event_shape)
        super(Dirichlet, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        gammas = StandardGammaBackward0.apply(self.concentration.expand(shape))
        x = gammas / gammas.sum(-1, keepdim=True)
        fi = np.finfo(x._data.dtype)
        np.clip(x._data, fi.tiny, 1 - fi.eps, out=x._data)  # (as torch's sampler clamps)
        return x

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return xlogy(c - 1.0, value).sum(-1) + lgamma(c.sum(-1)) - lgamma(c).sum(-1)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self):
        c = self.concentration
        concentrationm1 = (c - 1).clamp(min=0.0)
        mask = (c < 1).all(dim=-1)
        # rows replaced by a vertex below divide by 1, not 0: no nan gradient leaks through
        mode = concentrationm1 / concentrationm1.sum(-1, True).masked_fill(mask.unsqueeze(-1), 1)
        if bool(mask.any()):  # all below 1: the mass piles up at a vertex
            corner = one_hot(mode.argmax(-1), concentrationm1.shape[-1]).to(mode)
            mode = corner.where(mask.unsqueeze(-1), mode)
        return mode

    @property
    def variance(self):
        con0 = self.concentration.sum(-1, True)
        return self.concentration * (con0 - self.concentration) / (con0.pow(2) * (con0 + 1))

    def entropy(self):
        c = self.concentration
        k = c.size(-1)
        a0 = c.sum(-1)
        return lgamma(c).sum(-1) - lgamma(a0) - (k - a0) * digamma(a0) - \
            ((c - 1.0) * digamma(c)).sum(-1)

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return lgamma(x).sum(-1) - lgamma(x.sum(-1))
