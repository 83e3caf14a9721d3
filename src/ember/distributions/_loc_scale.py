"""What the loc-scale families Normal, Laplace and Cauchy share: loc and scale broadcast
together at construction and expanded together."""
from __future__ import annotations

from numbers import Number

from .._size import Size
from .utils import broadcast_all


class _LocScaleParams:
    """Mixin (no __init__ of its own, so `super(cls, new).__init__` still reaches
    Distribution's)."""

    def _set_loc_scale(self, loc, scale) -> Size:
        """Stores loc and scale broadcast together; returns the batch shape (Size() when both
        are Python numbers)."""
        self.loc, self.scale = broadcast_all(loc, scale)
        return Size() if isinstance(loc, Number) and isinstance(scale, Number) \
            else self.loc.size()

    def _expand_loc_scale(self, cls, batch_shape, _instance):
        """expand() of the class `cls`."""
        new = self._get_checked_instance(cls, _instance)
        batch_shape = Size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        super(cls, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new
