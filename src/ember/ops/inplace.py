"""In-place ops (`add_`, `mul_`, `zero_`, `copy_`, `x[i] = v`, ...) with torch's rules.

Without recording, the NumPy array is written in place. When autograd records (grad mode on and
a tensor involved requires grad) the op is computed out of place from a copy of the old value
and the tensor takes over the result's node, as torch "rebases" history. Every write bumps the
version counter, so a node that saved the old value raises on backward.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state

_new = Tensor._new

_LEAF_MSG = "a leaf Variable that requires grad is being used in an in-place operation."


def check_inplace(self: Tensor) -> None:
    if _grad_state.enabled and self._rg and self.grad_fn is None:
        raise RuntimeError(_LEAF_MSG)


def _records(self: Tensor, others) -> bool:
    if not _grad_state.enabled:
        return False
    if self._rg:
        return True
    return any(isinstance(o, Tensor) and o._rg for o in others)


def apply_inplace(self: Tensor, fn, *others) -> Tensor:
    """Run out-of-place `fn(self, *others)` and write its result into self."""
    check_inplace(self)
    if _records(self, others):
        if self._base is not None and (self._base._rg or self._base.grad_fn is not None):
            from .view_inplace import rebase_view
            return rebase_view(self, fn, others)
        old = _new(self._data.copy(), self._rg)
        old.grad_fn, old._output_nr = self.grad_fn, self._output_nr
        if old.grad_fn is None and self._rg:
            old._accumulator = self._get_accumulator()
        r = fn(old, *others)
        _write(self, r._data)
        self.grad_fn = r.grad_fn
        self._output_nr = r._output_nr
        self._rg = r._rg
        return self
    prev = _grad_state.enabled
    _grad_state.enabled = False
    try:
        r = fn(self, *others)
    finally:
        _grad_state.enabled = prev
    _write(self, r._data)
    return self


def _write(self: Tensor, values: np.ndarray) -> None:
    dst = self._data
    if values.dtype != dst.dtype and not np.can_cast(values.dtype, dst.dtype, "same_kind"):
        names = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
                 "bool": "Bool", "uint8": "Byte", "float16": "Half", "int16": "Short",
                 "int8": "Char"}
        raise RuntimeError(f"result type {names[values.dtype.name]} can't be cast to the desired "
                           f"output type {names[dst.dtype.name]}")
    if values.shape != dst.shape and not _bc_into(values.shape, dst.shape):
        _raise_shape(values.shape, dst.shape)
    if not dst.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor "
                           "refers to a single memory location. Please clone() the tensor before "
                           "performing the operation.")
    np.copyto(dst, values, casting="unsafe")
    self._vc[0] += 1


def _raise_shape(got, want):
    try:
        bshape = list(np.broadcast_shapes(got, want))
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({want[-1] if want else 1}) must match the size "
                           f"of tensor b ({got[-1] if got else 1}) at non-singleton dimension "
                           f"{len(want) - 1}") from None
    raise RuntimeError(f"output with shape {list(want)} doesn't match the broadcast shape {bshape}")


def fast_ufunc_inplace(self: Tensor, ufunc, other) -> bool:
    """Write `ufunc(self, other)` straight into self's array when nothing is recorded and the
    result dtype is self's; returns False when the general path is needed."""
    if _grad_state.enabled and (self._rg or (isinstance(other, Tensor) and other._rg)):
        return False
    dst = self._data
    if not dst.flags.writeable:
        return False
    if isinstance(other, Tensor):
        o = other._data
        if o.dtype != dst.dtype or (o.ndim > dst.ndim) or not _bc_into(o.shape, dst.shape):
            return False
    elif isinstance(other, float):
        if dst.dtype.kind != "f":
            return False
        o = other
    elif isinstance(other, (int, bool)):
        if dst.dtype.kind == "b":
            return False
        o = other
    else:
        return False
    ufunc(dst, o, out=dst)
    self._vc[0] += 1
    return True


def _bc_into(src, dst):
    if len(src) > len(dst):
        return False
    for s, d in zip(reversed(src), reversed(dst)):
        if s != d and s != 1:
            return False
    return True
