"""torch.distributions.VonMises."""
from __future__ import annotations

import math

import numpy as np

from .._size import Size
from .._tensor import Tensor
from ..random import default_generator
from ..special import i0e, i1e
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, lazy_property

__all__ = ["VonMises"]


def _log_i0(x):
    """log I0(x) = log(i0e(x)) + x (exact, where torch uses a polynomial fit)."""
    return i0e(x).log() + x


def _log_i1(x):
    return i1e(x).log() + x


def _rejection_sample(loc, concentration, proposal_r, shape):
    """Best and Fisher's (1979) rejection sampler in float64, drawing torch.rand((3,) + shape)
    per round as torch's does (so the draws follow torch's per seed)."""
    x = np.empty(shape, np.float64)
    done = np.zeros(shape, np.bool_)
    while not done.all():
        u1, u2, u3 = default_generator.uniform((3,) + tuple(shape), 0.0, 1.0, np.float64)
        z = np.cos(math.pi * u1)
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = concentration * (proposal_r - f)
        with np.errstate(divide="ignore", invalid="ignore"):
            accept = ((c * (2 - c) - u2) > 0) | (np.log(c / u2) + 1 - c >= 0)
        x = np.where(accept, np.sign(u3 - 0.5) * np.arccos(f), x)
        done |= accept
    return np.mod(x + math.pi + loc, 2 * math.pi) - math.pi


class VonMises(Distribution):
    """The circular von Mises distribution (angles in radians, modulo 2 pi)."""
    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, Size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        validate_args = self.__dict__.get("_validate_args")
        return type(self)(self.loc.expand(batch_shape), self.concentration.expand(batch_shape),
                          validate_args=validate_args)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.concentration * (value - self.loc).cos() - math.log(2 * math.pi) - \
            _log_i0(self.concentration)

    @lazy_property
    def _proposal_r(self):
        kappa = self.concentration.detach()._data.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = 1 + np.sqrt(1 + 4 * kappa ** 2)
            rho = (tau - np.sqrt(2 * tau)) / (2 * kappa)
            r = (1 + rho ** 2) / (2 * rho)
        return np.where(kappa < 1e-5, 1 / kappa + kappa, r)

    def sample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        loc = self.loc.detach()._data.astype(np.float64)
        kappa = self.concentration.detach()._data.astype(np.float64)
        out = _rejection_sample(loc, kappa, self._proposal_r, shape)
        return Tensor._new(out.astype(self.loc._data.dtype))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        return 1 - (_log_i1(self.concentration) - _log_i0(self.concentration)).exp()
