"""torch.distributions.Laplace."""
from __future__ import annotations

from .._size import Size
from ..ops.creation import empty
from ..ops.special import expm1
from . import constraints
from ._loc_scale import _LocScaleParams
from .distribution import Distribution
from .utils import finfo

__all__ = ["Laplace"]


class Laplace(_LocScaleParams, Distribution):
    """Laplace(loc, scale); rsample inverts a uniform_(eps - 1, 1) draw, as torch."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return (2 ** 0.5) * self.scale

    def __init__(self, loc, scale, validate_args=None):
        super().__init__(self._set_loc_scale(loc, scale), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_loc_scale(Laplace, batch_shape, _instance)

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        eps = float(finfo(self.loc.dtype).eps)
        u = empty(tuple(shape), dtype=self.loc.dtype).uniform_(eps - 1, 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * expm1(-(value - self.loc).abs()
                                                              / self.scale)

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self):
        return 1 + (2 * self.scale).log()
