"""Helpers every op family shares: argument promotion, dim handling, `sum_to`."""
from __future__ import annotations

import functools
import numbers

import numpy as np

from .. import _dtype
from .._tensor import Tensor, _wrap_dim

_from_np = _dtype._FROM_NP
Number = (int, float, bool, np.number, np.bool_)


def wrap_dim(dim: int, ndim: int) -> int:
    return _wrap_dim(dim, ndim)


def dims_tuple(dim, ndim: int):
    """Normalise `dim` (int, sequence, or None for all dims) to a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        d = _wrap_dim(int(dim), ndim)
        return (d,) if ndim else ()  # a 0-dim tensor accepts dim 0 / -1 and reduces nothing
    if isinstance(dim, str) or not all(isinstance(d, (int, np.integer)) for d in dim):
        raise TypeError(f"argument 'dim' must be an int or a tuple of ints, not {dim!r}")
    out = tuple(sorted(_wrap_dim(int(d), ndim) for d in dim))
    for a, b in zip(out, out[1:]):
        if a == b:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
    if not ndim:
        return ()
    return out if out else tuple(range(ndim))


def as_tensor_arg(x, like: Tensor | None = None) -> Tensor:
    """Wrap a non-Tensor operand (number, list, ndarray) the way torch wraps it."""
    if isinstance(x, Tensor):
        return x
    from .creation import tensor
    return tensor(x)


def scalar_value(x):
    """A Python number from a Python/NumPy scalar, or None when x is not a scalar."""
    if isinstance(x, (bool, int, float, complex)):
        return x
    if isinstance(x, (np.number, np.bool_)):
        return x.item()
    return None


def promote(a, b):
    """The two operands of a binary op as NumPy values of torch's result dtype.

    Tensors become arrays; Python numbers stay numbers when NumPy's weak-scalar rule already
    gives torch's dtype (float32 tensor * 0.5 stays float32), otherwise the array is cast."""
    if isinstance(a, Tensor):
        x = a._data
        if isinstance(b, Tensor):
            y = b._data
            if x.dtype is y.dtype or x.dtype == y.dtype:
                return x, y
            dt = tensor_result_type(x, y).np
            return (x if x.dtype == dt else x.astype(dt)), (y if y.dtype == dt else y.astype(dt))
        return _with_scalar(x, b)
    y, x = _with_scalar(b._data, a)
    return x, y


def _with_scalar(x: np.ndarray, s):
    if not isinstance(s, (bool, int, float)):
        s = scalar_value(s)
        if s is None:
            raise TypeError(f"unsupported operand type: {type(s).__name__}")
    k = x.dtype.kind
    if isinstance(s, float):
        if k != "f" and k != "V":  # bfloat16 (kind "V") stays bfloat16
            x = x.astype(_dtype._default.dtype.np)
        return x, s
    if isinstance(s, bool):
        return x, s
    if isinstance(s, complex):  # a real tensor becomes the complex of its precision
        if k != "c":
            d = _dtype._FROM_NP.get(x.dtype)
            x = x.astype((d.to_complex() if k == "f" and d in _dtype._REAL_TO_COMPLEX
                          else _dtype.default_complex()).np)
        return x, s
    # int scalar
    if k == "b":
        x = x.astype(np.int64)
    elif k in "iu":
        info = np.iinfo(x.dtype)
        if not info.min <= s <= info.max:  # torch wraps around; NumPy 2 would raise
            s = np.array(s).astype(x.dtype).item()
    return x, s


def tensor_result_type(x: np.ndarray, y: np.ndarray) -> _dtype.dtype:
    dx, dy = _from_np[x.dtype], _from_np[y.dtype]
    dims = [d for a, d in ((x, dx), (y, dy)) if a.ndim]
    zero = [d for a, d in ((x, dx), (y, dy)) if not a.ndim]
    return _dtype.result_type(dims, zero, ())


def result_dtype(*operands) -> _dtype.dtype:
    dims, zero, scal = [], [], []
    for o in operands:
        if isinstance(o, Tensor):
            (dims if o._data.ndim else zero).append(_from_np[o._data.dtype])
        else:
            scal.append(_dtype.scalar_dtype(scalar_value(o)))
    return _dtype.result_type(dims, zero, scal)


def is_expandable_to(shape, desired) -> bool:
    if len(shape) > len(desired):
        return False
    for s, d in zip(reversed(shape), reversed(desired)):
        if s != d and s != 1:
            return False
    return True


def sum_to(g: Tensor, shape) -> Tensor:
    """Sum a broadcast gradient back down to `shape` (differentiable: uses ember ops)."""
    gs = g._data.shape
    if gs == tuple(shape):
        return g
    lead = len(gs) - len(shape)
    axes = list(range(lead))
    for i, d in enumerate(shape):
        if d == 1 and gs[i + lead] != 1:
            axes.append(i + lead)
    from .reduce import sum as _sum
    r = _sum(g, axes, keepdim=True) if axes else g
    return r.reshape(tuple(shape))


def broadcast_shapes(*shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(f"shape mismatch: objects cannot be broadcast to a single shape. "
                           f"Mismatch is between {list(shapes[0])} and {list(shapes[1])}") \
            from None


def check_broadcast(x: np.ndarray, y, op=None) -> None:
    """torch's message for shapes that do not broadcast."""
    ys = np.shape(y)
    xs = x.shape
    for i in range(1, min(len(xs), len(ys)) + 1):
        a, b = xs[-i], ys[-i]
        if a != b and a != 1 and b != 1:
            raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b ({b}) "
                               f"at non-singleton dimension {max(len(xs), len(ys)) - i}")


def dim_aliases(fn):
    """Accept NumPy's `axis` / `keepdims` spellings of `dim` / `keepdim`, as torch does."""
    @functools.wraps(fn)
    def f(*args, **kwargs):
        if kwargs:
            if "axis" in kwargs:
                kwargs["dim"] = kwargs.pop("axis")
            if "keepdims" in kwargs:
                kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(*args, **kwargs)
    return f
