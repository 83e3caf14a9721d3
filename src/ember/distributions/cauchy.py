"""torch.distributions.Cauchy."""
from __future__ import annotations

import math

import numpy as np

from .._size import Size
from ..ops.creation import full
from . import constraints
from ._loc_scale import _LocScaleParams
from ._ops import cauchy_draw
from .distribution import Distribution

__all__ = ["Cauchy"]


class Cauchy(_LocScaleParams, Distribution):
    """Cauchy(loc, scale); rsample = loc + scale * cauchy_() draws (torch's recipe)."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        super().__init__(self._set_loc_scale(loc, scale), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_loc_scale(Cauchy, batch_shape, _instance)

    @property
    def mean(self):
        return full(self._extended_shape(), np.nan, dtype=self.loc.dtype)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return full(self._extended_shape(), np.inf, dtype=self.loc.dtype)

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        eps = cauchy_draw(shape, self.loc._data.dtype)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() - \
            (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value):
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()
