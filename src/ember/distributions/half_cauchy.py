"""torch.distributions.HalfCauchy."""
from __future__ import annotations

import numpy as np

from ..ops.creation import as_tensor, full
from ._folded import _FoldedAtZero
from .cauchy import Cauchy

__all__ = ["HalfCauchy"]


class HalfCauchy(_FoldedAtZero):
    """|X| for X ~ Cauchy(0, scale)."""
    _family = Cauchy

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(HalfCauchy, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        return full(self._extended_shape(), np.inf, dtype=self.scale.dtype)

    @property
    def variance(self):
        return self.base_dist.variance

    def log_prob(self, value):
        # numbers and arrays become tensors of the scale's dtype before the check
        return super().log_prob(as_tensor(value, dtype=self.base_dist.scale.dtype))
