"""`Tensor.as_strided_(size, stride, storage_offset)`: give a tensor a new size, stride and
offset over its storage, in place (the tensor stays the same object and shares the storage).

As torch: `storage_offset` and the strides count elements of the whole storage (ember's storage:
the NumPy array owning the memory), the offset defaults to the tensor's own, and a geometry
reaching past the storage is torch's RuntimeError. Under autograd the element order of the
tensor is its storage's only when it is the whole storage, contiguous; for a tracked view of a
larger storage ember raises (torch routes such a gradient through the base's storage).
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from .inplace import _reshape_inplace, check_inplace
from .shape_more import AsStridedBackward0

__all__ = ["as_strided_"]


class AsStridedBackward1(AsStridedBackward0):
    """self.as_strided_(size, stride, offset): as_strided's math, written back into self;
    da = g summed into the storage elements each position reads"""
    _view = False

    @staticmethod
    def forward(ctx, a, size, stride, offset):
        x = a._data
        _check(size, stride, offset, x.itemsize, x.size)
        ctx.args = (x.shape, size, stride, offset)
        return _strided(x.reshape(-1), size, stride, offset)


def _strided(flat: np.ndarray, size, stride, offset) -> np.ndarray:
    """The view of flat's elements at offset + sum_i k_i stride_i (an ndarray whose base
    chain still reaches the storage, so storage_offset() keeps counting from it)."""
    it = flat.itemsize
    return np.ndarray(size, flat.dtype, buffer=flat, offset=offset * it,
                      strides=tuple(s * it for s in stride))


def _storage(x: np.ndarray):
    """The flat array of x's storage (x's memory owner) in x's dtype, or None when that owner
    is not one flat run of x's elements."""
    root = x
    while isinstance(root.base, np.ndarray):
        root = root.base
    if root.dtype != x.dtype or not (root.flags.c_contiguous or root.flags.f_contiguous):
        return None
    return root.reshape(-1, order="A")


def _check(size, stride, offset, itemsize, n):
    need = offset + sum((s - 1) * st for s, st in zip(size, stride)) + 1 \
        if all(s > 0 for s in size) else 0
    if need > n:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {itemsize} requiring a storage size of "
                           f"{need * itemsize} are out of bounds for storage of size "
                           f"{n * itemsize}")


def as_strided_(self: Tensor, size, stride, storage_offset=None) -> Tensor:
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    x = self._data
    offset = self.storage_offset() if storage_offset is None else int(storage_offset)
    flat = _storage(x)
    whole = flat is not None and x.size == flat.size and x.flags.c_contiguous \
        and self.storage_offset() == 0
    if self._rg and _grad_state.enabled:
        if not whole:
            check_inplace(self)
            raise NotImplementedError(
                "as_strided_ on a tensor that requires grad and is a view of a larger or "
                "non-contiguous storage is not supported by ember (its gradient would have to "
                "reach the base's storage)")
        return _reshape_inplace(self, AsStridedBackward1, size, stride, offset)
    check_inplace(self)
    if flat is None:
        raise NotImplementedError("as_strided_ on a tensor whose storage is not one contiguous "
                                  "array of its dtype is not supported by ember")
    _check(size, stride, offset, x.itemsize, flat.size)
    self._data = _strided(flat, size, stride, offset)
    self._vc[0] += 1
    return self
