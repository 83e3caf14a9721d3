"""Tensor creation: tensor/as_tensor/from_numpy, filled tensors, ranges, random tensors."""
from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from .. import _dtype
from .._device import check_device
from .._tensor import Tensor
from ..random import gen
from .quiet import quietly

_new = Tensor._new


# torch names the C type in fill/full's overflow message, the dtype in tensor()'s
_C_TYPE = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int",
           "int64": "int64_t", "float32": "float"}


def check_fits(values, np_dt: np.dtype, fill: bool = False) -> None:
    """torch's overflow check when Python numbers become `np_dt` (tensor(), full(), fill_()):
    integers must lie in the type's range, where unsigned types also take -max..-1 (they wrap);
    floats becoming integers must be finite and in range; and, for a fill value only, a finite
    float becoming float32 must not exceed its range. Raises torch's RuntimeError."""
    kind = np_dt.kind
    if kind not in "iu" and not (fill and np_dt == np.float32):
        return
    a = np.asarray(values)
    if a.dtype.kind not in "iuf" or a.size == 0:
        return  # bools fit everything
    if kind == "f":
        bad = np.abs(a[np.isfinite(a)]) > np.finfo(np.float32).max
    else:
        info = np.iinfo(np_dt)
        lo = -int(info.max) if kind == "u" and a.dtype.kind != "f" else int(info.min)
        bad = (a < lo) | (a > int(info.max))
        if a.dtype.kind == "f":
            bad |= ~np.isfinite(a)
    if bad.any():
        name = _C_TYPE.get(np_dt.name, np_dt.name) if fill else np_dt.name
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")


def scalar_as(value, np_dt: np.dtype):
    """A fill value as a NumPy scalar of `np_dt`, checked as torch checks it, then converted
    as torch converts it (-1 becomes 255 in uint8; float16 overflows to inf silently)."""
    check_fits(value, np_dt, fill=True)
    if np_dt.kind == "b":
        return bool(value)
    return quietly(np.asarray(value).astype, np_dt)[()]


def _np_dtype(dtype, default=None):
    if dtype is None:
        return (default or _dtype._default.dtype).np
    return _dtype.to_dtype(dtype).np


def _infer(data, float_np=None):
    """NumPy array from nested Python data with torch's dtype inference. Python floats become
    `float_np` (the default dtype unless given: float64 when a dtype will be applied after, so
    the values are rounded once, from double, as torch does)."""
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, (list, tuple)) and data and any(isinstance(x, Tensor) for x in data):
        return np.stack([_infer(x, float_np) for x in data])
    if isinstance(data, (list, tuple)) and data and any(isinstance(x, (list, tuple))
                                                       for x in data):
        parts = [_infer(x, float_np) for x in data]
        shapes = {p.shape for p in parts}
        if len(shapes) > 1:
            raise ValueError(f"expected sequence of length {parts[0].shape[0] if parts[0].ndim else 0}"
                             f" at dim 1 (got {parts[1].shape[0] if parts[1].ndim else 0})")
        return np.stack(parts) if parts else np.zeros((0,), np.float32)
    a = np.asarray(data)
    if a.dtype == object:
        if all(isinstance(v, int) for v in a.ravel()):  # beyond int64
            raise ValueError("Overflow when unpacking long long")
        raise TypeError(f"Could not infer dtype of {type(data).__name__}")
    if a.dtype.kind == "f" and not isinstance(data, np.generic):
        if a.dtype != np.float16:
            a = a.astype(float_np or _dtype._default.dtype.np)
    elif a.dtype.kind in "iu" and not isinstance(data, np.generic):
        a = a.astype(np.int64)
    elif a.dtype.kind == "c" and not isinstance(data, np.generic) and float_np is None:
        a = a.astype(_dtype.default_complex().np)  # Python complex: complex64 by default
    elif a.dtype.kind == "U" or a.dtype.kind == "S":
        raise TypeError(f"new(): invalid data type '{a.dtype.kind == 'U' and 'str' or 'bytes'}'")
    if a.size == 0 and a.dtype.kind == "f":
        a = a.astype(float_np or _dtype._default.dtype.np)
    return a


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new tensor copying `data` (nested lists, numbers, arrays, tensors)."""
    check_device(device)
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or "
                      "sourceTensor.detach().clone().requires_grad_(True), rather than "
                      "ember.tensor(sourceTensor).", UserWarning, stacklevel=2)
        a = data._data.copy()
    else:
        a = _infer(data, np.float64 if dtype is not None else None)
        if isinstance(data, np.ndarray) or a is data:
            a = a.copy()
        elif isinstance(data, np.generic):
            a = np.array(data)
    if dtype is not None:
        np_dt = _dtype.to_dtype(dtype).np
        if not isinstance(data, np.ndarray):  # (arrays convert as tensors do: wrapping)
            check_fits(a, np_dt)
        a = quietly(np.asarray, a, np_dt)  # 1e40 -> inf in float32, silently as torch
    else:
        if a.dtype.kind == "f" and isinstance(data, (list, tuple, float)) and \
                not isinstance(data, np.generic) and a.dtype != _dtype._default.dtype.np:
            a = a.astype(_dtype._default.dtype.np)
    if not a.flags.c_contiguous:  # (np.ascontiguousarray would turn a 0-d array 1-d)
        a = np.ascontiguousarray(a)
    _dtype.from_numpy_dtype(a.dtype)  # TypeError for dtypes ember lacks (uint16, complex...)
    t = _new(a)
    if requires_grad:
        if a.dtype.kind == "c":
            t.requires_grad_(True)  # (raises: ember has no complex autograd)
        if a.dtype.kind != "f":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        t._rg = True
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like `tensor`, but shares memory with a NumPy array or tensor when no conversion is needed."""
    check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype is _dtype.to_dtype(dtype) else data.to(dtype)
    if isinstance(data, np.ndarray):
        _dtype.from_numpy_dtype(data.dtype)
        if dtype is None or data.dtype == _dtype.to_dtype(dtype).np:
            return _new(data)
        return _new(data.astype(_dtype.to_dtype(dtype).np))
    return tensor(data, dtype=dtype)


asarray = as_tensor


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with `array` (writes to either show in both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _dtype.from_numpy_dtype(array.dtype)
    return _new(array)


def _size(size, name="empty"):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = int(s)
        if not isinstance(s, (int, np.integer)):
            raise TypeError(f"{name}(): argument 'size' (position 1) must be tuple of ints, not "
                            f"{type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
        out.append(int(s))
    return tuple(out)


def _finish(a, requires_grad, device=None):
    check_device(device)
    t = _new(a)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None,
          pin_memory=False) -> Tensor:
    try:
        shape = _size(size, "zeros")
    except RuntimeError:  # torch words zeros' negative sizes differently from the others
        raise RuntimeError("zeros: Dimension size must be non-negative.") from None
    return _finish(np.zeros(shape, _np_dtype(dtype)), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None,
         pin_memory=False) -> Tensor:
    return _finish(np.ones(_size(size, "ones"), _np_dtype(dtype)), requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None,
          pin_memory=False, memory_format=None) -> Tensor:
    return _finish(np.empty(_size(size), _np_dtype(dtype)), requires_grad, device)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, out=None,
         layout=None, pin_memory=False) -> Tensor:
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if not isinstance(fill_value, (int, float, bool, np.number, np.bool_)):
        raise TypeError(f"full(): argument 'fill_value' (position 2) must be Number, not "
                        f"{type(fill_value).__name__}")
    if dtype is None:
        dtype = _dtype.scalar_dtype(fill_value)
    np_dt = _np_dtype(dtype)
    return _finish(np.full(_size((size,), "full"), scalar_as(fill_value, np_dt), np_dt),
                   requires_grad, device)


def _like(input, dtype):
    return input._data.dtype if dtype is None else _dtype.to_dtype(dtype).np


def _new_dtype(self, dtype):
    return self.dtype if dtype is None else dtype


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Tensor.new_zeros: zeros of `size` with this tensor's dtype unless one is given."""
    return zeros(*size, dtype=_new_dtype(self, dtype), device=device, requires_grad=requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return ones(*size, dtype=_new_dtype(self, dtype), device=device, requires_grad=requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return empty(*size, dtype=_new_dtype(self, dtype), device=device, requires_grad=requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(size, fill_value, dtype=_new_dtype(self, dtype), device=device,
                requires_grad=requires_grad)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Tensor.new_tensor: a copy of `data` with this tensor's dtype unless one is given."""
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or "
                      "sourceTensor.detach().clone().requires_grad_(True), rather than "
                      "tensor.new_tensor(sourceTensor).", UserWarning, stacklevel=2)
        data = data._data  # (copied below)
    return tensor(data, dtype=_new_dtype(self, dtype), device=device,
                  requires_grad=requires_grad)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, layout=None,
               memory_format=None) -> Tensor:
    return _finish(np.zeros(input._data.shape, _like(input, dtype)), requires_grad, device)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, layout=None,
              memory_format=None) -> Tensor:
    return _finish(np.ones(input._data.shape, _like(input, dtype)), requires_grad, device)


def empty_like(input, *, dtype=None, device=None, requires_grad=False, layout=None,
               memory_format=None) -> Tensor:
    return _finish(np.empty(input._data.shape, _like(input, dtype)), requires_grad, device)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None,
              memory_format=None) -> Tensor:
    return _finish(np.full(input._data.shape, fill_value, _like(input, dtype)), requires_grad,
                   device)


def arange(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False,
           out=None, layout=None) -> Tensor:
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        dtype = _dtype.get_default_dtype() if any(isinstance(v, float) for v in vals) else \
            _dtype.int64
    dt = _dtype.to_dtype(dtype)
    n = builtins.max(0, math.ceil((end - start) / step))
    # torch computes start + i*step in double then casts
    a = (start + np.arange(n, dtype=np.float64) * step) if dt.is_floating_point or \
        any(isinstance(v, float) for v in vals) else start + np.arange(n, dtype=np.int64) * step
    return _finish(a.astype(dt.np), requires_grad, device)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False, out=None,
             layout=None) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = _np_dtype(dtype)
    # torch: first half from start, second half from end (symmetric rounding)
    a = np.linspace(start, end, steps, dtype=np.float64)
    if steps > 1:
        step = (end - start) / (steps - 1)
        idx = np.arange(steps)
        half = steps // 2
        a = np.where(idx < half, start + step * idx, end - step * (steps - idx - 1))
    return _finish(a.astype(dt), requires_grad, device)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    return _finish((base ** np.linspace(start, end, steps)).astype(_np_dtype(dtype)),
                   requires_grad, device)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, out=None,
        layout=None) -> Tensor:
    m = n if m is None else m
    for name, v in (("n", n), ("m", m)):
        if v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    return _finish(np.eye(n, m, dtype=_np_dtype(dtype)), requires_grad, device)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None,
         layout=None, pin_memory=False) -> Tensor:
    dt = _np_dtype(dtype)
    _check_float("check_uniform_bounds", dt)
    return _finish(gen(generator).uniform(_size(size), 0.0, 1.0, dt), requires_grad, device)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None,
          layout=None, pin_memory=False) -> Tensor:
    dt = _np_dtype(dtype)
    _check_float("normal_kernel_cpu", dt)
    return _finish(gen(generator).normal(_size(size), 0.0, 1.0, dt), requires_grad, device)


def _check_float(name, dt):
    if np.dtype(dt).kind != "f":
        raise NotImplementedError(f"\"{name}\" not implemented for "
                                  f"'{_TYPE_NAMES.get(np.dtype(dt).name, np.dtype(dt).name)}'")


_TYPE_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
               "bool": "Bool", "float32": "Float", "float64": "Double", "float16": "Half"}


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False, out=None, layout=None, pin_memory=False) -> Tensor:
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    dt = _np_dtype(dtype, _dtype.int64)
    return _finish(gen(generator).integers(low, high, _size((size,)), dt), requires_grad, device)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False, out=None,
             layout=None, pin_memory=False) -> Tensor:
    n = int(n)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    dt = _np_dtype(dtype, _dtype.int64)
    if np.dtype(dt) == np.float16 and n > 2049:
        raise RuntimeError("n cannot be greater than 2049 for Half type.")
    return _finish(gen(generator).permutation(n).astype(dt, copy=False), requires_grad, device)


def rand_like(input, *, dtype=None, generator=None, device=None, requires_grad=False) -> Tensor:
    return rand(input._data.shape, dtype=dtype or input.dtype, generator=generator,
                requires_grad=requires_grad)


def randn_like(input, *, dtype=None, generator=None, device=None, requires_grad=False) -> Tensor:
    return randn(input._data.shape, dtype=dtype or input.dtype, generator=generator,
                 requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, generator=None, device=None,
                 requires_grad=False) -> Tensor:
    return randint(low, high, input._data.shape, dtype=dtype or input.dtype, generator=generator)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, out=None) -> Tensor:
    """Normal samples; with tensor mean/std: standard normals of the broadcast shape * std + mean
    (torch's order of draws and roundings)."""
    g = gen(generator)
    m_t, s_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not (m_t or s_t):
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
        return _new(g.normal(_size((size,)), mean, std, _np_dtype(dtype)))
    if s_t and (std._data < 0).any():
        raise RuntimeError("normal expects all elements of std >= 0.0")
    if m_t and not s_t:
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
        m = mean._data
        return _new(g.normal(m.shape, 0.0, std, m.dtype) + m)
    m = mean._data if m_t else mean
    sd = std._data
    dt = _dtype.promote_types(mean.dtype, std.dtype).np if m_t else sd.dtype
    shape = np.broadcast_shapes(np.shape(m), sd.shape)
    z = g.normal(shape, 0.0, 1.0, dt)
    z *= sd
    z += m
    return _new(z)


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """0/1 draws: `u < input` with a uniform of input's float type, or a float64 uniform `< p`."""
    g = gen(generator)
    a = input._data
    if p is not None:
        return _new(g.bernoulli(a.shape, p, a.dtype))
    if ((a < 0) | (a > 1)).any() or np.isnan(a).any():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    return _new(g.bernoulli_tensor(np.ascontiguousarray(a), a.dtype))


def multinomial(input, num_samples, replacement=False, *, generator=None) -> Tensor:
    """Category indices drawn from the rows of `input` (unnormalised probabilities).

    As torch: one sample, or no replacement, takes the top `num_samples` of input / E with
    E ~ Exponential(1) drawn over the whole input; with replacement each sample bisects the
    row's normalised cumulative sum with a float64 uniform, row by row.
    Shape: (C,) -> (num_samples,), (N, C) -> (N, num_samples).
    """
    g = gen(generator)
    a = input._data
    if a.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if a.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_TYPE_NAMES.get(a.dtype.name, a.dtype.name)}")
    n_cat = a.shape[-1]
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > n_cat:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    rows = np.ascontiguousarray(a).reshape(-1, n_cat)
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (rows.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement or num_samples == 1:
        if not replacement and ((rows > 0).sum(axis=1) < num_samples).any():
            raise RuntimeError("invalid multinomial distribution (with replacement=False, not "
                               "enough non-negative category to sample)")
        q = rows / g.exponential(rows.shape, 1.0, rows.dtype)
        if num_samples == 1:
            idx = q.argmax(axis=1)[:, None]
        else:
            idx = np.argsort(-q, axis=1, kind="stable")[:, :num_samples]
    else:
        idx = np.empty((rows.shape[0], num_samples), np.int64)
        for i, row in enumerate(rows):
            cum = np.cumsum(row)  # sequential sums in the input's dtype, as torch
            cum /= cum[-1]
            cum[-1] = 1
            idx[i] = np.searchsorted(cum.astype(np.float64), g.uniform((num_samples,), 0.0, 1.0,
                                                                       np.float64))
    return _new(idx.astype(np.int64, copy=False).reshape(a.shape[:-1] + (num_samples,)))


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _finish(np.array(s, _np_dtype(dtype)), requires_grad, device)
