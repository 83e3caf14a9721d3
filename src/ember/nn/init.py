"""ember.nn.init: in-place parameter initialisers (torch.nn.init).

Every function fills `tensor` in place without recording autograd history, draws from
`ember.random` (so `manual_seed` and `generator=` control it), and returns `tensor`.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..random import gen

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_", "uniform", "normal", "constant",
           "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal"]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (torch.nn.init.calculate_gain)."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _fill(tensor: Tensor, values) -> Tensor:
    """Write values into tensor's array in place (no autograd record), bumping its version."""
    tensor._data[...] = values
    tensor._vc[0] += 1
    return tensor


def _float_dtype(tensor: Tensor):
    dt = tensor._data.dtype
    return dt if dt.kind == "f" else np.dtype(np.float32)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with U(a, b)."""
    return _fill(tensor, gen(generator).uniform(tensor._data.shape, a, b, _float_dtype(tensor)))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2)."""
    return _fill(tensor, gen(generator).normal(tensor._data.shape, mean, std,
                                               _float_dtype(tensor)))


def _norm_cdf(x: float) -> float:
    """The standard normal CDF."""
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2) restricted to [a, b], drawing as torch does (so the same seed
    gives the same values): when the bounds hold more than 30% of the mass, normal draws of the
    whole tensor, redrawn (again the whole tensor) where out of bounds; otherwise uniform
    candidates on [a, b], each accepted with probability pdf(x) / pdf(mode)."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    mass = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
    with no_grad():
        if mass > 0.3:
            _trunc_normal_by_redraws(tensor, mean, std, a, b, generator)
        else:
            _trunc_normal_by_acceptance(tensor, mean, std, a, b, generator)
    return tensor


def _norm_cdf(x: float) -> float:
    """The standard normal CDF."""
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def _draws(x: np.ndarray, draw):
    """draw(shape) laid out in x's memory order (torch's draws fill tensors shaped like x)."""
    from ..random import in_memory_order
    return lambda: in_memory_order(x, draw)


def _trunc_normal_by_redraws(tensor, mean, std, a, b, generator) -> None:
    tensor.normal_(mean, std, generator=generator)
    x = tensor._data
    g = gen(generator)
    normals = _draws(x, lambda shape: g.normal(shape, mean, std, x.dtype,
                                               contiguous=x.flags.c_contiguous))
    lo, hi = x.dtype.type(a), x.dtype.type(b)  # the bounds as the tensor's dtype holds them
    out = x
    bad = (out < lo) | (out > hi)
    while bad.any():
        out = np.where(bad, normals(), out)
        bad = (out < lo) | (out > hi)
    if out is not x:
        _fill(tensor, out)


def _trunc_normal_by_acceptance(tensor, mean, std, a, b, generator) -> None:
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2
    tensor.uniform_(a, b, generator=generator)
    x = tensor._data
    t = x.dtype.type
    g = gen(generator)
    candidates = _draws(x, lambda shape: g.uniform(shape, a, b, x.dtype))
    units = _draws(x, lambda shape: g.uniform(shape, 0.0, 1.0, x.dtype))

    def log_ratio(c):
        """log(pdf(c) / pdf(mode)), one rounding per step in the tensor's dtype, as torch."""
        z = (c - t(mean)) / t(std)
        return z * z * t(-0.5) - t(log_peak)

    out = x.copy()
    pending = np.log(units()) > log_ratio(out)
    while pending.any():
        c = candidates()
        out = np.where(pending, c, out)
        pending &= np.log(units()) > log_ratio(c)
    _fill(tensor, out)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with val."""
    return _fill(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor._data.shape, dtype=tensor._data.dtype))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-, 4- or 5-D conv weight with the Dirac delta (identity convolution)."""
    d = tensor.dim()
    if d not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor._data.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = sizes[0] // groups
    min_dim = min(out_per_group, sizes[1])
    a = np.zeros(sizes, tensor._data.dtype)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for i in range(min_dim):
            a[(g * out_per_group + i, i) + centre] = 1
    return _fill(tensor, a)


def _calculate_fan_in_and_fan_out(tensor: Tensor):
    """(fan_in, fan_out) of a weight: size(1) and size(0) times the receptive field size."""
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    shape = tensor._data.shape
    receptive = 1
    for s in shape[2:]:
        receptive *= s
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid = ["fan_in", "fan_out"]
    if mode not in valid:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """U(-bound, bound) with bound = gain * sqrt(3 / fan) (He et al., 2015)."""
    if 0 in tensor._data.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015)."""
    if 0 in tensor._data.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix, times gain: Q of the QR decomposition of a normal draw of
    shape (rows, numel / rows) in the tensor's dtype (transposed when wide), with Q's columns
    signed so that R's diagonal is positive (Saxe et al., 2013)."""
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor._data.shape[0]
    cols = tensor._data.size // rows
    dt = _float_dtype(tensor)
    flat = gen(generator).normal((rows, cols), 0.0, 1.0, dt)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q.astype(dt, copy=False) * np.sign(np.diag(r)).astype(dt, copy=False)
    if rows < cols:
        q = q.T
    _fill(tensor, q.reshape(tensor._data.shape))
    with no_grad():
        tensor.mul_(gain)
    return tensor


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """A 2-D matrix with a fraction `sparsity` of each column zeroed, the rest N(0, std^2)."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor._data.shape
    g = gen(generator)
    a = g.normal((rows, cols), 0.0, std, _float_dtype(tensor))
    n_zero = int(math.ceil(sparsity * rows))
    for c in range(cols):
        a[g.permutation(rows)[:n_zero], c] = 0
    return _fill(tensor, a)


def _deprecated(new):
    def old(*args, **kwargs):
        warnings.warn(f"`nn.init.{new.__name__[:-1]}` is now deprecated in favor of "
                      f"`nn.init.{new.__name__}`.", FutureWarning, stacklevel=2)
        return new(*args, **kwargs)
    old.__name__ = new.__name__[:-1]
    old.__doc__ = new.__doc__
    return old


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
