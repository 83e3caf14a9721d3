"""More of torch's top-level functions (and their Tensor methods), composed from existing
differentiable ops: select, ravel, logaddexp/logaddexp2, fmax/fmin, copysign, float_power,
sgn, fix, positive, diagflat, vdot, column_stack/dstack/row_stack; the predicates signbit,
isneginf, isposinf, isin, is_nonzero, is_same_size, is_signed; unravel_index; and the
hann/hamming/blackman/bartlett windows."""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from .base import Op
from .util import wrap_dim

_new = Tensor._new


def _t(x, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    from .creation import tensor
    return tensor(x, dtype=like.dtype if like is not None and isinstance(x, float) and
                  like.is_floating_point() else None)


# ---- views ----------------------------------------------------------------------------------
def select(input: Tensor, dim: int, index: int) -> Tensor:
    """input with dimension dim fixed at index (a view, SelectBackward0)."""
    d = wrap_dim(dim, input.dim())
    size = input.shape[d]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {dim}")
    return input[(slice(None),) * d + (index,)]


def ravel(input: Tensor) -> Tensor:
    """The elements as one dimension (a view when the memory allows, else a copy)."""
    return input.reshape(-1)


# ---- elementwise ----------------------------------------------------------------------------
def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """log(exp(a) + exp(b)) without overflow: max + log1p(exp(-|a - b|)); equal infinities give
    themselves."""
    other = _t(other, input)
    m = input.maximum(other)
    same_inf = (input == other) & input.isinf()
    diff = (input.masked_fill(same_inf, 0) - other.masked_fill(same_inf, 0)).abs()
    return m + (-diff).exp().log1p().masked_fill(same_inf, 0)


def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    """log2(2^a + 2^b), as logaddexp in base 2."""
    other = _t(other, input)
    m = input.maximum(other)
    same_inf = (input == other) & input.isinf()
    diff = (input.masked_fill(same_inf, 0) - other.masked_fill(same_inf, 0)).abs()
    return m + ((-diff * math.log(2)).exp().log1p() / math.log(2)).masked_fill(same_inf, 0)


def fmax(input: Tensor, other: Tensor) -> Tensor:
    """maximum that ignores a nan operand (nan only where both are nan)."""
    other = _t(other, input)
    from .elementwise import where
    return where(other.isnan(), input, where(input.isnan(), other, input.maximum(other)))


def fmin(input: Tensor, other: Tensor) -> Tensor:
    """minimum that ignores a nan operand (nan only where both are nan)."""
    other = _t(other, input)
    from .elementwise import where
    return where(other.isnan(), input, where(input.isnan(), other, input.minimum(other)))


class CopysignBackward0(Op):
    """out = |a| with b's sign bit;  da = g * out / a (0 where a == 0), db = 0.

    Shape: a and b broadcast to the output's shape."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.copysign(a._data, b._data).astype(a._data.dtype, copy=False)
        ctx.a, ctx.out = a._data, out
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(ctx.a == 0, 0, ctx.out / ctx.a).astype(ctx.out.dtype)
        return _new(grad._data * ratio), _new(np.zeros_like(grad._data))


def copysign(input: Tensor, other) -> Tensor:
    """|input| with the sign (bit) of other; integer input gives the default float dtype."""
    from .. import _dtype
    if input._data.dtype.kind in "biu":
        input = input.to(_dtype._default.dtype)
    if not isinstance(other, Tensor):
        other = _new(np.asarray(other, input._data.dtype))
    return CopysignBackward0.apply(input, other)


def float_power(input, exponent) -> Tensor:
    """input ** exponent computed in float64."""
    from .. import _dtype
    base = input.to(_dtype.float64) if isinstance(input, Tensor) else input
    exp = exponent.to(_dtype.float64) if isinstance(exponent, Tensor) else exponent
    if not isinstance(base, Tensor):
        return _t(float(base)).to(_dtype.float64) ** exp
    return base ** exp


def sgn(input: Tensor) -> Tensor:
    """sign for real tensors."""
    return input.sign()


def fix(input: Tensor) -> Tensor:
    """Alias of trunc."""
    return input.trunc()


def positive(input: Tensor) -> Tensor:
    """input itself; bool tensors raise as torch's."""
    if input._data.dtype == np.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A 2-D matrix with the flattened input on diagonal `offset`."""
    from .matrix_construct import diag
    return diag(input.reshape(-1), offset)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """Dot product of two 1-D tensors (real: dot)."""
    if input.dim() != 1 or other.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.dim()}D and {other.dim()}D "
                           f"tensors")
    return input.dot(other)


# ---- stacking -------------------------------------------------------------------------------
def column_stack(tensors) -> Tensor:
    """Stack as columns: 0-D and 1-D tensors become (n, 1) columns, then hstack."""
    from .shape import hstack
    cols = [t.reshape(t.numel(), 1) if t.dim() <= 1 else t for t in tensors]
    return hstack(cols)


def dstack(tensors) -> Tensor:
    """Stack along the third dimension (after atleast_3d)."""
    from .shape import cat
    from .shape_helpers import atleast_3d
    return cat(list(atleast_3d(list(tensors))), 2)


def row_stack(tensors) -> Tensor:
    """Alias of vstack."""
    from .shape import vstack
    return vstack(tensors)


# ---- predicates (no gradient) -------------------------------------------------------------------
def signbit(input: Tensor) -> Tensor:
    return _new(np.signbit(input._data))


def isneginf(input: Tensor) -> Tensor:
    return _new(np.isneginf(input._data) if input._data.dtype.kind == "f"
                else np.zeros(input._data.shape, bool))


def isposinf(input: Tensor) -> Tensor:
    return _new(np.isposinf(input._data) if input._data.dtype.kind == "f"
                else np.zeros(input._data.shape, bool))


def isin(elements, test_elements, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """Whether each element of `elements` occurs in `test_elements` (bool, elements' shape)."""
    e = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    return _new(np.isin(e, t, assume_unique=assume_unique, invert=invert))


def is_nonzero(input: Tensor) -> bool:
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input._data.reshape(()))


def is_same_size(input: Tensor, other: Tensor) -> bool:
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input: Tensor) -> bool:
    return bool(input.dtype.is_signed)


def unravel_index(indices, shape) -> tuple:
    """The coordinates in `shape` of flat indices (a tuple of int64 tensors)."""
    idx = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError("expected 'indices' to be integer dtype, but got "
                        f"{idx.dtype}")
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    total = int(np.prod(shape))
    if idx.size and (idx.min() < -total or idx.max() >= total):
        raise RuntimeError("'indices' must be in range [-prod(shape), prod(shape) - 1]")
    coords = np.unravel_index(np.where(idx < 0, idx + total, idx), shape)
    return tuple(_new(np.asarray(c, np.int64)) for c in coords)


# ---- windows (torch.hann_window & co.) ----------------------------------------------------------
def _window(name: str, window_length: int, periodic: bool, dtype, fn) -> Tensor:
    from .. import _dtype
    from .creation import tensor
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={window_length}")
    dt = _dtype._default.dtype if dtype is None else _dtype.to_dtype(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    if window_length <= 1:
        return tensor(np.ones(window_length), dtype=dt)
    n = window_length + 1 if periodic else window_length
    w = fn(np.arange(n, dtype=np.float64), n)
    return tensor(w[:window_length] if periodic else w, dtype=dt)


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                device=None, requires_grad: bool = False) -> Tensor:
    w = _window("hann_window", window_length, periodic, dtype,
                lambda k, n: 0.5 - 0.5 * np.cos(2 * np.pi * k / (n - 1)))
    return w.requires_grad_(requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False) -> Tensor:
    w = _window("hamming_window", window_length, periodic, dtype,
                lambda k, n: alpha - beta * np.cos(2 * np.pi * k / (n - 1)))
    return w.requires_grad_(requires_grad)


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False) -> Tensor:
    w = _window("blackman_window", window_length, periodic, dtype,
                lambda k, n: 0.42 - 0.5 * np.cos(2 * np.pi * k / (n - 1))
                + 0.08 * np.cos(4 * np.pi * k / (n - 1)))
    return w.requires_grad_(requires_grad)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False) -> Tensor:
    w = _window("bartlett_window", window_length, periodic, dtype,
                lambda k, n: 1 - np.abs(2 * k / (n - 1) - 1))
    return w.requires_grad_(requires_grad)


FUNCTIONS = ["select", "ravel", "logaddexp", "logaddexp2", "fmax", "fmin", "copysign",
             "float_power", "sgn", "fix", "positive", "diagflat", "vdot", "column_stack",
             "dstack", "row_stack", "signbit", "isneginf", "isposinf", "isin", "is_nonzero",
             "is_same_size", "is_signed", "unravel_index", "hann_window", "hamming_window",
             "blackman_window", "bartlett_window"]
# the ones torch also has as Tensor methods
TENSOR_METHODS = ["select", "ravel", "logaddexp", "logaddexp2", "fmax", "fmin", "copysign",
                  "float_power", "sgn", "fix", "positive", "diagflat", "vdot", "signbit",
                  "isneginf", "isposinf", "is_nonzero", "is_same_size", "is_signed"]
