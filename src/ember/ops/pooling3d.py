"""3-d max and average pooling (F.max_pool3d / F.avg_pool3d) over strided window views.

The input (..., D, H, W) is padded once (with the dtype's lowest value for max, zeros for
average; ceil_mode's extra last window gets the same padding) and a strided view gives every
window at once: max pooling is one argmax over the flattened window, average pooling a sum
over kd*kh*kw window offsets. Backward: the max gradient is one bincount into the flat input
(overlapping windows add up), the average gradient one slice-add per window offset.
"""
from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from .base import Op
from .pooling import _lowest, out_size

_new = Tensor._new


class _Win3:
    """Geometry of a 3-d window sweep: sizes, output sizes and the padding on each side."""
    __slots__ = ("size", "k", "s", "p", "d", "out", "hi")

    def __init__(self, size, kernel, stride, padding, dilation, ceil_mode):
        self.size, self.k, self.s, self.p, self.d = size, kernel, stride, padding, dilation
        self.out = tuple(out_size(n, k, s, p, d, ceil_mode)
                         for n, k, s, p, d in zip(size, kernel, stride, padding, dilation))
        # high-side padding so the last window (ceil_mode's included) lies inside the buffer
        self.hi = tuple(max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)
                        for n, k, s, p, d, o in zip(size, kernel, stride, padding, dilation,
                                                    self.out))

    def pad(self, x: np.ndarray, value) -> np.ndarray:
        lead = x.shape[:-3]
        shape = lead + tuple(n + p + h for n, p, h in zip(self.size, self.p, self.hi))
        if shape == x.shape:
            return x
        xp = np.full(shape, value, x.dtype)
        xp[(...,) + tuple(slice(p, p + n) for p, n in zip(self.p, self.size))] = x
        return xp

    def windows(self, xp: np.ndarray) -> np.ndarray:
        """View (..., Do, Ho, Wo, kd, kh, kw) of the padded input (no copy)."""
        st = xp.strides
        sp = st[-3:]
        return as_strided(xp, xp.shape[:-3] + self.out + self.k,
                          st[:-3] + tuple(s * t for s, t in zip(self.s, sp)) +
                          tuple(d * t for d, t in zip(self.d, sp)))

    def offset_slices(self):
        """(kernel offset, slices of the padded buffer that offset covers for all outputs)."""
        for off in itertools.product(*(range(k) for k in self.k)):
            yield off, (...,) + tuple(slice(d * i, d * i + s * (o - 1) + 1, s) for i, d, s, o in
                                      zip(off, self.d, self.s, self.out))

    def crop(self, gp: np.ndarray) -> np.ndarray:
        return gp[(...,) + tuple(slice(p, p + n) for p, n in zip(self.p, self.size))]


class MaxPool3DWithIndicesBackward0(Op):
    """out[n, c, p] = max over window p of x[n, c] (the first maximum, NaN wins);
    dx[argmax] += g.  Indices are flat into D*H*W, as torch's.

    Shape: x (N, C, D, H, W) or (C, D, H, W) -> out and indices of (N, C, Do, Ho, Wo)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode, return_indices):
        xa = x._data
        win = _Win3(xa.shape[-3:], kernel, stride, padding, dilation, ceil_mode)
        v = win.windows(win.pad(xa, _lowest(xa.dtype)))
        flat = v.reshape(v.shape[:-3] + (-1,))  # one copy: windows are contiguous runs
        arg = flat.argmax(-1)
        out = np.take_along_axis(flat, arg[..., None], -1)[..., 0]
        need = ctx.needs_input_grad[0]
        if not (need or return_indices):
            return out
        # the flat input index of each maximum: window origin + dilated kernel offset
        koff = np.unravel_index(arg, win.k)
        idx = np.zeros(arg.shape, np.int64)
        for ax in range(3):
            origin = (np.arange(win.out[ax]) * win.s[ax] - win.p[ax]).reshape(
                (-1,) + (1,) * (2 - ax))
            idx = idx * win.size[ax] + origin + koff[ax] * win.d[ax]
        if need:
            ctx.idx, ctx.shape = idx, xa.shape
        return (out, idx) if return_indices else out

    @staticmethod
    def backward(ctx, g, *_):
        idx, shape = ctx.idx, ctx.shape
        if _grad_state.enabled:  # create_graph: a recorded scatter-add (its backward a gather)
            from .creation import zeros
            lead = int(np.prod(shape[:-3]))
            g2 = g.reshape(lead, -1)
            dx = zeros(lead, int(np.prod(shape[-3:])), dtype=g.dtype).scatter_add(
                1, _new(idx.reshape(lead, -1)), g2)
            return dx.reshape(shape), None, None, None, None, None, None
        vol = shape[-1] * shape[-2] * shape[-3]
        lead = int(np.prod(shape[:-3]))
        base = (np.arange(lead, dtype=np.int64) * vol).reshape(idx.shape[:-3] + (1, 1, 1))
        gd = g._data
        dx = np.bincount((idx + base).ravel(), gd.ravel(), minlength=lead * vol)
        return (_new(dx.astype(gd.dtype, copy=False).reshape(shape)), None, None, None, None,
                None, None)


class AvgPool3DBackward0(Op):
    """out[n, c, p] = sum over window p of x[n, c] / divisor[p];
    dx[window p] += g[p] / divisor[p].  Shape: x (N, C, D, H, W) or (C, D, H, W)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
        xa = x._data
        win = _Win3(xa.shape[-3:], kernel, stride, padding, (1, 1, 1), ceil_mode)
        xp = win.pad(xa, 0)
        acc = None
        for _, sl in win.offset_slices():
            if acc is None:
                acc = xp[sl].astype(xa.dtype, copy=True)
            else:
                acc += xp[sl]
        div = _divisor(win, count_include_pad, divisor_override, xa.dtype)
        acc /= div
        if ctx.needs_input_grad[0]:
            ctx.win, ctx.div, ctx.shape = win, div, xa.shape
            ctx.args = (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
        return acc

    @staticmethod
    def backward(ctx, g):
        if _grad_state.enabled:  # create_graph: the adjoint as an op of its own
            return (AvgPool3DBackwardBackward0.apply(g, ctx.win, ctx.div, ctx.shape, ctx.args),
                    None, None, None, None, None, None)
        return _new(_avg_adjoint(g._data, ctx.win, ctx.div, ctx.shape)), None, None, None, \
            None, None, None


def _avg_adjoint(g: np.ndarray, win: _Win3, div, shape) -> np.ndarray:
    """dx of average pooling: g / divisor added back over every window."""
    gd = g / div
    gp = np.zeros(shape[:-3] + tuple(n + p + h for n, p, h in zip(win.size, win.p, win.hi)),
                  gd.dtype)
    for _, sl in win.offset_slices():
        gp[sl] += gd
    return np.ascontiguousarray(win.crop(gp))


class AvgPool3DBackwardBackward0(Op):
    """The average pooling's backward as an op (double backward): dx = A^T g, and its own
    gradient is the pooling again, A gg."""

    @staticmethod
    def forward(ctx, g, win, div, shape, args):
        ctx.args = args
        return _avg_adjoint(g._data, win, div, shape)

    @staticmethod
    def backward(ctx, gg):
        return (AvgPool3DBackward0.apply(gg, *ctx.args), None, None, None, None)


def _divisor(win: _Win3, count_include_pad: bool, divisor_override, dtype):
    """Each output's divisor, as torch: the window clipped to the padded input (or, without
    count_include_pad, to the input itself); a product of one factor per dim."""
    if divisor_override:
        return divisor_override
    parts = []
    for ax in range(3):
        start = np.arange(win.out[ax]) * win.s[ax] - win.p[ax]
        end = np.minimum(start + win.k[ax], win.size[ax] + win.p[ax])
        n = end - start if count_include_pad else \
            np.minimum(end, win.size[ax]) - np.maximum(start, 0)
        parts.append(n)
    div = parts[0][:, None, None] * parts[1][None, :, None] * parts[2][None, None, :]
    return div.astype(dtype)


# ---- functional entry points -----------------------------------------------------------------
def _triple(v, name: str, fn: str):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * 3
    v = tuple(int(a) for a in v)
    if len(v) == 1:
        return v * 3
    if len(v) != 3:
        raise RuntimeError(f"{fn}: {name} must either be a single int, or a tuple of three ints")
    return v


def _args(input, kernel_size, stride, padding, fn):
    kernel = _triple(kernel_size, "kernel_size", fn)
    stride = kernel if stride is None or (not isinstance(stride, (int, np.integer)) and
                                          len(stride) == 0) else _triple(stride, "stride", fn)
    padding = _triple(padding, "padding", fn)
    x = input._data
    if x.ndim not in (4, 5) or 0 in x.shape[-4:]:
        if x.ndim in (4, 5) and fn == "max_pool3d":
            raise RuntimeError(f"max_pool3d_with_indices_out_cpu_template(): Expected input's "
                               f"non-batch dimensions to have positive length, but input has a "
                               f"shape of {list(x.shape)} and non-batch dimension 0 has "
                               f"length zero!")  # (torch names dimension 0 whichever it is)
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got kT: {kernel[0]} "
                           f"kH: {kernel[1]} kW: {kernel[2]}")
    if any(s == 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"stride should be greater than zero, but got dT: {stride[0]} "
                           f"dH: {stride[1]} dW: {stride[2]}")
    return kernel, stride, padding


def _check_out(x, kernel, padding, dilation, win: _Win3):
    for p, k, d in zip(padding, kernel, dilation):
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    if any(o < 1 for o in win.out):
        C = x.shape[-4]
        size = "x".join(map(str, x.shape[-3:]))
        out = "x".join(str(max(o, 0)) for o in win.out)
        raise RuntimeError(f"Given input size: ({C}x{size}). Calculated output size: "
                           f"({C}x{out}). Output size is too small")


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over 3-d windows.  Shape: (N, C, D, H, W) -> (N, C, Do, Ho, Wo),
    Do = (D + 2p - d(k-1) - 1) // s + 1 (rounded up with ceil_mode)."""
    fn = "max_pool3d"
    kernel, stride, padding = _args(input, kernel_size, stride, padding, fn)
    dilation = _triple(dilation, "dilation", fn)
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got dilationT: "
                           f"{dilation[0]} dilationH: {dilation[1]} dilationW: {dilation[2]}")
    x = input._data
    _check_out(x, kernel, padding, dilation,
               _Win3(x.shape[-3:], kernel, stride, padding, dilation, bool(ceil_mode)))
    return MaxPool3DWithIndicesBackward0.apply(input, kernel, stride, padding, dilation,
                                               bool(ceil_mode), bool(return_indices))


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over 3-d windows.  Shape: (N, C, D, H, W) -> (N, C, Do, Ho, Wo)."""
    fn = "avg_pool3d"
    kernel, stride, padding = _args(input, kernel_size, stride, padding, fn)
    x = input._data
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    if x.dtype.kind != "f":
        raise NotImplementedError(f'"avg_pool3d_out_frame" not implemented for '
                                  f"'{_TORCH_NAMES.get(x.dtype.name, x.dtype.name)}'")
    for p, k in zip(padding, kernel):
        if p > k // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation=1")
    if any(n + 2 * p < k for n, p, k in zip(x.shape[-3:], padding, kernel)):
        T, H, W = x.shape[-3:]
        raise RuntimeError(f"input image (T: {T} H: {H} W: {W}) smaller than kernel size (kT: "
                           f"{kernel[0]} kH: {kernel[1]} kW: {kernel[2]})")
    win = _Win3(x.shape[-3:], kernel, stride, padding, (1, 1, 1), bool(ceil_mode))
    _check_out(x, kernel, padding, (1, 1, 1), win)
    return AvgPool3DBackward0.apply(input, kernel, stride, padding, bool(ceil_mode),
                                    bool(count_include_pad), divisor_override)


_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                "uint8": "Byte", "bool": "Bool"}
