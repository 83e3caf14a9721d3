"""`Tensor.resize_` / `resize_as_`: a new shape (and size) for a tensor, in place.

As torch: the elements kept are the first ones in memory order (a shrink keeps the same memory,
so views of it stay views); new elements are uninitialised; tensors that require grad refuse.
"""
from __future__ import annotations

import numpy as np

from .._size import Size
from .._tensor import Tensor

__all__ = ["resize_", "resize_as_"]


def _sizes(args) -> tuple:
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        args = tuple(args[0])
    for s in args:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"resize_(): argument 'size' must be tuple of ints, but found element "
                            f"of type {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(args)}")
    return tuple(int(s) for s in args)


def resize_(self: Tensor, *sizes, memory_format=None) -> Tensor:
    if self._rg:
        raise RuntimeError("cannot resize variables that require grad")
    size = _sizes(sizes)
    x = self._data
    if x.shape == size:
        return self
    n = 1
    for s in size:
        n *= s
    flat = x.reshape(-1)  # a view when x is contiguous (torch keeps the storage then)
    if n <= flat.size:
        self._data = flat[:n].reshape(size)
    else:
        new = np.empty(n, x.dtype)
        new[:flat.size] = flat
        self._data = new.reshape(size)
    self._vc[0] += 1
    return self


def resize_as_(self: Tensor, the_template: Tensor, memory_format=None) -> Tensor:
    return resize_(self, the_template._data.shape)
