"""What the distributions given `probs` or `logits` share: the either/or check (also
Categorical's); for the binary ones (Bernoulli, Binomial, NegativeBinomial,
LogitRelaxedBernoulli, ContinuousBernoulli, Geometric) the other one derived on first use; for
the relaxed wrappers, the parameters read from their base distribution."""
from __future__ import annotations

from numbers import Number

from .._size import Size
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits


def _require_one(probs, logits) -> None:
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


class _BinaryProbsLogits:
    """Mixin: `logits` from `probs` (or back) when only the other was given."""

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)


class _ProbsOrLogitsParam(_BinaryProbsLogits):
    """Mixin: the given one of probs/logits kept as `_param` too (its shape is `param_shape`)."""

    def _set_probs_or_logits(self, probs, logits, *others) -> list:
        """Stores the given one of probs/logits broadcast with `others` (returned broadcast)."""
        _require_one(probs, logits)
        *others, param = broadcast_all(*others, probs if probs is not None else logits)
        if probs is not None:
            self.probs = param
        else:
            self.logits = param
        self._param = param
        return others

    def _given_batch_shape(self, probs, logits) -> Size:
        """Size() for a Python number, else the parameter's shape."""
        given = probs if probs is not None else logits
        return Size() if isinstance(given, Number) else self._param.size()

    def _expand_probs_or_logits(self, new, batch_shape: Size) -> None:
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(batch_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(batch_shape)
            new._param = new.logits

    @property
    def param_shape(self):
        return self._param.size()


class _ParamsOfBase:
    """Mixin for RelaxedBernoulli and RelaxedOneHotCategorical: temperature, logits and probs
    are those of `self.base_dist`."""

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs
