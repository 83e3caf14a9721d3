"""torch-identical tensor printing: `repr`/`str` of a Tensor and the print options.

The layout follows torch's documented rules:

* One formatter per tensor measures the values that will be shown (the summarized data when the
  tensor has more than `threshold` elements) and picks a mode for floating tensors:
  *integer mode* (every non-zero finite value integral: ``1.``), *scientific* (the ratio of the
  largest to the smallest non-zero finite magnitude exceeds 1000, the largest exceeds 1e8, or, out
  of integer mode, the smallest is below 1e-4), else fixed with `precision` decimals.
  `set_printoptions(sci_mode=...)` overrides that choice (when there is a non-zero finite value).
* Every element is right-aligned to the widest one; rows wrap at `linewidth`.
* Past `threshold` elements every dimension longer than ``2 * edgeitems`` keeps its first and last
  `edgeitems` entries around ``...``.
* Suffixes: ``size=`` for empty non-1-D tensors (or when edgeitems is 0), ``dtype=`` for dtypes
  other than the default float, int64 and bool, then ``grad_fn=<...>`` or ``requires_grad=True``.

Only the elements that are shown are ever formatted; the measurement is vectorised, so printing a
large tensor costs a few NumPy reductions over its (summarized) data.
"""
from __future__ import annotations

import contextlib
import math
import sys

import numpy as np

from . import _dtype

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_repr"]


class _PrintOptions:
    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self):
        self.precision, self.threshold, self.edgeitems, self.linewidth = _PROFILES["default"]
        self.sci_mode = None


# precision, threshold, edgeitems, linewidth
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}
_OPTS = _PrintOptions()


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set the options of tensor printing (torch.set_printoptions).

    `profile` ('default', 'short', 'full') resets precision, threshold, edgeitems and linewidth
    first; the other arguments then override it. `sci_mode` is always assigned: None (the default)
    lets each tensor choose, True/False force scientific/fixed notation.
    """
    if profile is not None and profile in _PROFILES:
        _OPTS.precision, _OPTS.threshold, _OPTS.edgeitems, _OPTS.linewidth = _PROFILES[profile]
    if precision is not None:
        _OPTS.precision = precision
    if threshold is not None:
        _OPTS.threshold = threshold
    if edgeitems is not None:
        _OPTS.edgeitems = edgeitems
    if linewidth is not None:
        _OPTS.linewidth = linewidth
    _OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current print options as a dict (keyword arguments of `set_printoptions`)."""
    return {name: getattr(_OPTS, name) for name in _PrintOptions.__slots__}


@contextlib.contextmanager
def printoptions(**kwargs):
    """Context manager: `set_printoptions(**kwargs)` inside, the previous options restored after."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Width and notation of every element of one tensor, measured on the values shown."""

    __slots__ = ("floating", "int_mode", "sci_mode", "width")

    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        if not self.floating:
            if values.size:
                # the longest decimal form of an integer is that of the smallest or the largest
                lengths = (len(str(values.min().item())), len(str(values.max().item())))
                self.width = max(self.width, *lengths)
        else:
            self._measure_floats(values.reshape(-1))

    def _measure_floats(self, flat: np.ndarray) -> None:
        vals = flat[np.isfinite(flat) & (flat != 0)]
        if not vals.size:
            return
        mags = np.abs(vals).astype(np.float64)
        lo, hi = mags.min(), mags.max()
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        if _OPTS.sci_mode is not None:
            self.sci_mode = bool(_OPTS.sci_mode)
        else:
            large = hi / lo > 1000.0 or hi > 1.0e8
            self.sci_mode = bool(large if self.int_mode else large or lo < 1.0e-4)
        # A string's length depends only on the sign and on the rounded magnitude (fixed: integer
        # digits, growing with it; scientific: exponent digits, growing away from 1e0), so the
        # extremes of each sign reach the widest string.
        extremes = [x.item() for part in (vals[vals > 0], vals[vals < 0]) if part.size
                    for x in (part.min(), part.max())]
        p = _OPTS.precision
        if self.sci_mode:
            lengths = [len(f"{x:.{p}e}") for x in extremes]
        elif self.int_mode:
            lengths = [len(f"{x:.0f}") + 1 for x in extremes]
        else:
            lengths = [len(f"{x:.{p}f}") for x in extremes]
        self.width = max(self.width, *lengths)

    def format(self, value) -> str:
        if self.floating:
            if self.sci_mode:
                s = f"{value:{self.width}.{_OPTS.precision}e}"
            elif self.int_mode:
                s = f"{value:.0f}"
                if math.isfinite(value):
                    s += "."
            else:
                s = f"{value:.{_OPTS.precision}f}"
        else:
            s = f"{value}"
        return s.rjust(self.width)


class _ComplexFormatter:
    """torch's complex layout: real parts and imaginary parts measured apart, printed as
    real + sign + imag + "j" (the imaginary part unpadded), a cell as wide as both plus one."""

    __slots__ = ("re", "im", "width")

    def __init__(self, values: np.ndarray):
        self.re, self.im = _Formatter(values.real), _Formatter(values.imag)
        self.width = self.re.width + self.im.width + 1

    def format(self, value) -> str:
        real = self.re.format(value.real)
        imag = (self.im.format(value.imag) + "j").lstrip()
        return real + imag if imag[0] in "+-" else real + "+" + imag


def _summarized(a: np.ndarray) -> np.ndarray:
    """The elements a summarized print shows: the first and last `edgeitems` of every long dim."""
    e = _OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        # a[-0:] is the whole vector, so with edgeitems 0 every value is measured (as in torch)
        return np.concatenate((a[:e], a[-e:])) if a.shape[0] > 2 * e else a
    if not e:
        return a[(slice(0, 0),) * a.ndim]
    for axis, n in enumerate(a.shape):
        if n > 2 * e:
            a = np.take(a, np.r_[0:e, n - e:n], axis=axis)
    return a


def _vector_str(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    e = _OPTS.edgeitems
    per_line = max(1, int(math.floor((_OPTS.linewidth - indent) / (fmt.width + 2))))
    if summarize and not e:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * e:
        data = ([fmt.format(v) for v in a[:e].tolist()] + [" ..."]
                + [fmt.format(v) for v in a[-e:].tolist()])
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nd_str(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt)
    n, e = a.shape[0], _OPTS.edgeitems
    if summarize and n > 2 * e:
        slices = ([_nd_str(a[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."]
                  + [_nd_str(a[i], indent + 1, summarize, fmt) for i in range(n - e, n)])
    else:
        slices = [_nd_str(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _tensor_str(a: np.ndarray, indent: int) -> str:
    if _dtype.is_bf16_np(a.dtype):  # bfloat16 (kind "V") prints by its float32 values, as torch
        a = a.astype(np.float32)
    summarize = a.size > _OPTS.threshold
    fmt = (_ComplexFormatter if a.dtype.kind == "c" else _Formatter)(
        _summarized(a) if summarize else a)
    return _nd_str(a, indent, summarize, fmt)


def _add_suffixes(text: str, suffixes: list, indent: int) -> str:
    parts = [text]
    # torch measures the last line one character long (and two without a newline); kept so that
    # suffixes wrap at exactly the same place
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > _OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _parameter_class():
    mod = sys.modules.get("ember.nn.parameter")
    return getattr(mod, "Parameter", None)


def tensor_repr(t, tensor_contents: str | None = None) -> str:
    """``repr(t)`` exactly as torch prints the same tensor (with ``ember.`` for ``torch.``)."""
    from ._tensor import Tensor

    a = t._data
    param_cls = _parameter_class()
    plain = type(t) is Tensor or (param_cls is not None and type(t) is param_cls)
    prefix = "tensor(" if plain else type(t).__name__ + "("
    indent = len(prefix)
    dt = _dtype._FROM_NP[a.dtype]
    default = _dtype.get_default_dtype()
    suffixes = []
    if a.size == 0:
        # nothing shows the shape or the dtype of an empty tensor, so both are spelled out
        if a.ndim != 1:
            suffixes.append("size=" + str(tuple(a.shape)))
        if dt is not default:
            suffixes.append("dtype=" + repr(dt))
        body = "[]"
    else:
        if not _OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(a.shape)))
        if dt not in (default, _dtype.int64, _dtype.bool_, _dtype.default_complex()):
            suffixes.append("dtype=" + repr(dt))
        body = _tensor_str(a, indent) if tensor_contents is None else None
    if tensor_contents is not None:
        body = tensor_contents
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    text = _add_suffixes(prefix + body, suffixes, indent)
    if not plain and param_cls is not None and isinstance(t, param_cls):
        text = f"Parameter({text})"
    return text
