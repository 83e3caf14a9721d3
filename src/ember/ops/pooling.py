"""Pooling: max / average over sliding windows, adaptive average / max.

Windows are handled kernel offset by kernel offset: offset (i, j) of every window at once is one
strided slice of the padded input, so a pass costs kh*kw whole-array NumPy operations and never
loops over pixels, channels or the batch. Max pooling keeps, per output, which offset won
(a uint8 array), which is all the backward pass needs.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from ..autograd.grad_mode import state as _grad_state
from .base import Op
from . import pooling_double as _double

_new = Tensor._new


def out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Output length of a pooling window sweep, torch's formula (ceil_mode drops a last window
    that would start in the right padding)."""
    n = size + 2 * p - d * (k - 1) - 1
    out = (n + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


class _Windows:
    """Geometry of a 2-d window sweep over (N, C, H, W) and the padded input it slides over."""
    __slots__ = ("H", "W", "kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw", "Ho", "Wo", "Hp", "Wp",
                 "disjoint", "tiles")

    def __init__(self, H, W, kernel, stride, padding, dilation, ceil_mode):
        self.H, self.W = H, W
        (self.kh, self.kw), (self.sh, self.sw) = kernel, stride
        (self.ph, self.pw), (self.dh, self.dw) = padding, dilation
        self.Ho = out_size(H, self.kh, self.sh, self.ph, self.dh, ceil_mode)
        self.Wo = out_size(W, self.kw, self.sw, self.pw, self.dw, ceil_mode)
        # the padded extent the last window reaches (ceil_mode may reach past the padding)
        self.Hp = max(H + 2 * self.ph, (self.Ho - 1) * self.sh + self.dh * (self.kh - 1) + 1)
        self.Wp = max(W + 2 * self.pw, (self.Wo - 1) * self.sw + self.dw * (self.kw - 1) + 1)
        self.disjoint = (self.sh >= self.dh * (self.kh - 1) + 1 and
                         self.sw >= self.dw * (self.kw - 1) + 1)
        # the windows cover the padded input exactly once (so a gradient needs no zero fill)
        self.tiles = (self.kh == self.sh and self.kw == self.sw and self.dh == self.dw == 1 and
                      self.Hp == self.Ho * self.sh and self.Wp == self.Wo * self.sw)

    @property
    def padded(self) -> bool:
        return self.Hp != self.H or self.Wp != self.W

    def pad(self, x: np.ndarray, value) -> np.ndarray:
        if not self.padded:
            return x
        xp = np.full(x.shape[:-2] + (self.Hp, self.Wp), value, x.dtype)
        xp[..., self.ph:self.ph + self.H, self.pw:self.pw + self.W] = x
        return xp

    def grad_buffer(self, lead: tuple, dtype) -> np.ndarray:
        """The padded input's gradient to write window gradients into: zeros, unless the
        windows tile it exactly (every element is then written once)."""
        return (np.empty if self.tiles else np.zeros)(lead + (self.Hp, self.Wp), dtype)

    def crop(self, gp: np.ndarray) -> np.ndarray:
        if not self.padded:
            return gp
        return np.ascontiguousarray(gp[..., self.ph:self.ph + self.H, self.pw:self.pw + self.W])

    def offsets(self, xp: np.ndarray):
        """(k, view) for each kernel offset k = i*kw + j: the element at offset (i, j) of every
        window, shape (..., Ho, Wo)."""
        eh = (self.Ho - 1) * self.sh + 1
        ew = (self.Wo - 1) * self.sw + 1
        k = 0
        for i in range(self.kh):
            r = i * self.dh
            for j in range(self.kw):
                c = j * self.dw
                yield k, xp[..., r:r + eh:self.sh, c:c + ew:self.sw]
                k += 1


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else (np.iinfo(dtype).min if dtype.kind in "iu" else False)


def _max_offsets(xp: np.ndarray, win: _Windows, want_arg: bool):
    """Window maxima and (if want_arg) the winning kernel offset, first maximum winning and NaN
    beating everything as in torch."""
    views = win.offsets(xp)
    _, v0 = next(views)
    best = v0.copy()
    if not want_arg:
        for _, v in views:
            np.maximum(best, v, out=best)
        return best, None
    K = win.kh * win.kw
    adt = np.uint8 if K <= 256 else np.int32
    arg = np.zeros(best.shape, adt)
    mask = np.empty(best.shape, np.bool_)
    step = np.empty(best.shape, adt)
    for k, v in views:
        np.greater(v, best, out=mask)
        np.maximum(best, v, out=best)  # propagates NaN, as torch's output does
        # offsets come in increasing order, so the last improvement is the largest k that
        # improved: arg = max(arg, k * mask) (plain arithmetic beats copyto(where=) by far)
        np.multiply(mask, adt(k), out=step)
        np.maximum(arg, step, out=arg)
    if best.dtype.kind == "f" and np.isnan(best).any():
        # torch's rule (val > max || isnan(val)): redo the argument with NaN taking over
        cur = v0.copy()
        arg[...] = 0
        for k, v in win.offsets(xp):
            if k:
                np.logical_or(np.greater(v, cur), np.isnan(v), out=mask)
                np.copyto(cur, v, where=mask)
                np.copyto(arg, k, where=mask)
    if win.padded:
        # torch starts each window at its first in-bounds element, so where every element is
        # the lowest value that element (not a padded cell) is the argument
        low = best == _lowest(best.dtype)
        if low.any():
            np.copyto(arg, _first_inside(win).astype(arg.dtype), where=low)
    return best, arg


def _first_inside(win: _Windows) -> np.ndarray:
    """(Ho, Wo): the kernel offset of each window's first element inside the unpadded input."""
    def first(n_out, s, p, d):
        start = np.arange(n_out) * s - p
        return np.maximum(-(start // d), 0)  # smallest i with start + i*d >= 0
    return first(win.Ho, win.sh, win.ph, win.dh)[:, None] * win.kw + \
        first(win.Wo, win.sw, win.pw, win.dw)[None, :]


def _flat_indices(arg: np.ndarray, win: _Windows) -> np.ndarray:
    """torch's max-pool indices: flat positions in the unpadded H*W plane."""
    arg = arg.astype(np.int64)
    ki, kj = np.divmod(arg, win.kw)
    rows = (np.arange(win.Ho, dtype=np.int64) * win.sh - win.ph)[:, None]
    cols = np.arange(win.Wo, dtype=np.int64) * win.sw - win.pw
    return (rows + ki * win.dh) * win.W + cols + kj * win.dw


class MaxPool2DWithIndicesBackward0(Op):
    """out[n, c, p] = max over window p of x[n, c];  dx[argmax] += g  (first maximum wins).

    Shape: x (N, C, H, W) or (C, H, W); out and indices (N, C, Ho, Wo) or (C, Ho, Wo).
    """

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode, return_indices):
        xa = x._data
        win = _Windows(xa.shape[-2], xa.shape[-1], kernel, stride, padding, dilation, ceil_mode)
        need = ctx.needs_input_grad[0]
        out, arg = _max_offsets(win.pad(xa, _lowest(xa.dtype)), win, need or return_indices)
        if need:
            ctx.win, ctx.arg, ctx.shape = win, arg, xa.shape
        if return_indices:
            return out, _flat_indices(arg, win)
        return out

    @staticmethod
    def backward(ctx, g, *_):
        if _grad_state.enabled:  # create_graph: the scatter to the winners as recorded ops
            return _double.scatter_to_indices(g, _flat_indices(ctx.arg, ctx.win), ctx.shape), \
                None, None, None, None, None, None
        win, arg = ctx.win, ctx.arg
        ga = g._data
        if win.disjoint and ga.size:
            return _new(win.crop(_scatter_winners(ga, arg, win, ctx.shape[:-2]))), \
                None, None, None, None, None, None
        gp = win.grad_buffer(ctx.shape[:-2], ga.dtype)
        mask = np.empty(arg.shape, np.bool_)
        for k, view in win.offsets(gp):
            np.equal(arg, k, out=mask)
            if win.disjoint:
                np.multiply(ga, mask, out=view)
            else:
                view += ga * mask
        return _new(win.crop(gp)), None, None, None, None, None, None


_BASES: dict = {}


def _scatter_winners(ga: np.ndarray, arg: np.ndarray, win: _Windows, lead: tuple) -> np.ndarray:
    """The padded input's gradient when no two windows overlap: each window's gradient goes to
    its winning element by one scatter of flat indices (a window's first element plus its winning
    offset), instead of a compare and a strided write per kernel offset (the strided writes run
    NumPy's inner loop over one output row at a time: 2-3x slower for 2x2 pooling)."""
    planes = int(np.prod(lead, dtype=np.int64))
    key = (planes, win.Ho, win.Wo, win.Hp, win.Wp, win.sh, win.sw)
    base = _BASES.get(key)
    if base is None:  # flat position of every window's first element (cached: same each step)
        if len(_BASES) > 16:
            _BASES.clear()
        base = _BASES[key] = (
            (np.arange(planes, dtype=np.int64) * (win.Hp * win.Wp))[:, None, None]
            + (np.arange(win.Ho, dtype=np.int64) * (win.sh * win.Wp))[:, None]
            + np.arange(win.Wo, dtype=np.int64) * win.sw).reshape(-1)
    ki, kj = np.divmod(np.arange(win.kh * win.kw, dtype=np.int64), win.kw)
    idx = (ki * (win.dh * win.Wp) + kj * win.dw).take(arg.reshape(-1))
    idx += base
    gp = np.zeros(lead + (win.Hp, win.Wp), ga.dtype)
    gp.reshape(-1)[idx] = ga.reshape(-1)
    return gp


def _avg_divisor(win: _Windows, count_include_pad: bool, divisor_override, dtype):
    """The divisor of each output (a scalar when all windows divide by the same number)."""
    if divisor_override:
        return divisor_override

    def extent(n_out, s, p, k, size):
        start = np.arange(n_out) * s - p
        end = np.minimum(start + k, size + p)
        if count_include_pad:
            return end - start
        return np.minimum(end, size) - np.maximum(start, 0)

    hn = extent(win.Ho, win.sh, win.ph, win.kh, win.H)
    wn = extent(win.Wo, win.sw, win.pw, win.kw, win.W)
    if (hn == hn[0]).all() and (wn == wn[0]).all():
        return int(hn[0] * wn[0])
    return (hn[:, None] * wn[None, :]).astype(dtype if dtype.kind == "f" else np.float64)


class AvgPool2DBackward0(Op):
    """out[n, c, p] = sum over window p of x[n, c] / divisor[p];  dx[window p] += g[p] / divisor[p]

    Shape: x (N, C, H, W) or (C, H, W); out (N, C, Ho, Wo) or (C, Ho, Wo).
    """

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
        xa = x._data
        win = _Windows(xa.shape[-2], xa.shape[-1], kernel, stride, padding, (1, 1), ceil_mode)
        views = win.offsets(win.pad(xa, 0))
        _, v0 = next(views)
        acc = v0.astype(np.int64 if xa.dtype.kind in "iub" else xa.dtype, copy=True)
        for _, v in views:
            np.add(acc, v, out=acc)
        div = _avg_divisor(win, count_include_pad, divisor_override, xa.dtype)
        if xa.dtype.kind == "f":
            acc /= div
            out = acc
        else:  # integer pooling divides with truncation, as torch's integer kernels do
            out = np.trunc(acc / div).astype(xa.dtype)
        if ctx.needs_input_grad[0]:
            ctx.win, ctx.div, ctx.shape = win, div, xa.shape
        return out

    @staticmethod
    def backward(ctx, g):
        if _grad_state.enabled:  # create_graph: the same linear map as recorded ops
            return _double.avg_pool_input_grad(ctx, g), None, None, None, None, None, None
        win = ctx.win
        gd = g._data / ctx.div
        gp = win.grad_buffer(ctx.shape[:-2], gd.dtype)
        for _, view in win.offsets(gp):
            if win.disjoint:
                view[...] = gd
            else:
                view += gd
        return _new(win.crop(gp)), None, None, None, None, None, None


def _adaptive_matrix(size: int, out: int, dtype) -> np.ndarray:
    """(out, size) averaging matrix of adaptive pooling: row i averages
    [floor(i*size/out), ceil((i+1)*size/out))."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    cols = np.arange(size)
    m = (cols >= start[:, None]) & (cols < end[:, None])
    return (m / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool2DBackward0(Op):
    """out = A_h @ x @ A_w^T with A the adaptive averaging matrices;  dx = A_h^T @ g @ A_w

    Shape: x (N, C, H, W) or (C, H, W); out (N, C, oh, ow) or (C, oh, ow).
    """

    @staticmethod
    def forward(ctx, x, output_size):
        xa = x._data
        oh, ow = output_size
        ah = _adaptive_matrix(xa.shape[-2], oh, xa.dtype)
        aw = _adaptive_matrix(xa.shape[-1], ow, xa.dtype)
        if ctx.needs_input_grad[0]:
            ctx.ah, ctx.aw = ah, aw
        return np.matmul(np.matmul(ah, xa), aw.T)

    @staticmethod
    def backward(ctx, g):
        if _grad_state.enabled:  # create_graph: the same linear map as recorded ops
            return _double.adaptive_avg_input_grad(ctx, g), None
        return _new(np.matmul(np.matmul(ctx.ah.T, g._data), ctx.aw)), None


class AdaptiveMaxPool2DBackward0(Op):
    """out[.., i, j] = max of x over adaptive window (i, j);  dx[argmax] += g

    Shape: x (N, C, H, W) or (C, H, W); out and indices (N, C, oh, ow) or (C, oh, ow).
    """

    @staticmethod
    def forward(ctx, x, output_size, return_indices):
        xa = x._data
        H, W = xa.shape[-2:]
        oh, ow = output_size
        lead = xa.shape[:-2]
        flat = xa.reshape((-1, H, W))
        out = np.empty((flat.shape[0], oh, ow), xa.dtype)
        idx = np.empty((flat.shape[0], oh, ow), np.int64)
        for i in range(oh):
            hs, he = (i * H) // oh, -((-(i + 1) * H) // oh)
            for j in range(ow):
                ws, we = (j * W) // ow, -((-(j + 1) * W) // ow)
                region = flat[:, hs:he, ws:we].reshape(flat.shape[0], -1)
                a = np.argmax(region, axis=1)
                out[:, i, j] = region[np.arange(region.shape[0]), a]
                idx[:, i, j] = (hs + a // (we - ws)) * W + ws + a % (we - ws)
        out = out.reshape(lead + (oh, ow))
        idx = idx.reshape(lead + (oh, ow))
        if ctx.needs_input_grad[0]:
            ctx.idx, ctx.shape = idx, xa.shape
        return (out, idx) if return_indices else out

    @staticmethod
    def backward(ctx, g, *_):
        if _grad_state.enabled:  # create_graph: the scatter to the argmax as recorded ops
            return _double.scatter_to_indices(g, ctx.idx, ctx.shape), None, None
        H, W = ctx.shape[-2:]
        idx = ctx.idx.reshape(-1, ctx.idx.shape[-2] * ctx.idx.shape[-1])
        gi = np.zeros((idx.shape[0], H * W), g._data.dtype)
        rows = np.broadcast_to(np.arange(idx.shape[0])[:, None], idx.shape)
        np.add.at(gi, (rows, idx), g._data.reshape(idx.shape))
        return _new(gi.reshape(ctx.shape)), None, None


# ---- functional entry points (ember.nn.functional re-exports these) ------------------------

def _pair(v, name: str, fn: str):
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    v = tuple(int(a) for a in v)
    if len(v) == 1:
        return v * 2
    if len(v) != 2:
        raise RuntimeError(f"{fn}: {name} must either be a single int, or a tuple of two ints")
    return v


def _window_args(kernel_size, stride, padding, fn: str):
    """(kernel, stride, padding) as pairs; no stride (None or empty) means the kernel size."""
    kernel = _pair(kernel_size, "kernel_size", fn)
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _pair(stride, "stride", fn)
    return kernel, stride, _pair(padding, "padding", fn)


def _squeeze_h(out, return_indices: bool):
    """A 1-d max pooling's result (and indices) from the 2-d pooling of its input with a
    height-1 dim added."""
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def _check_input_2d(x: np.ndarray):
    if x.ndim not in (3, 4) or 0 in x.shape[-3:] and x.ndim == 3:
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    if 0 in x.shape[-3:]:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size "
                           f"for input, but got:{list(x.shape)}")


def _check_window(x, kernel, stride, padding, dilation, ceil_mode, fn):
    if kernel[0] <= 0 or kernel[1] <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kernel[0]} "
                           f"kW: {kernel[1]}")
    if stride[0] == 0 or stride[1] == 0:
        raise RuntimeError("stride should not be zero")
    if stride[0] < 0 or stride[1] < 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {stride[0]} "
                           f"dW: {stride[1]}")
    if dilation[0] <= 0 or dilation[1] <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: "
                           f"{dilation[0]} dilationW: {dilation[1]}")
    for p in padding:
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    H, W = x.shape[-2:]
    Ho = out_size(H, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    Wo = out_size(W, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    if Ho < 1 or Wo < 1:
        C = x.shape[-3]
        raise RuntimeError(f"Given input size: ({C}x{H}x{W}). Calculated output size: "
                           f"({C}x{max(Ho, 0)}x{max(Wo, 0)}). Output size is too small")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    fn = "max_pool2d"
    kernel, stride, padding = _window_args(kernel_size, stride, padding, fn)
    dilation = _pair(dilation, "dilation", fn)
    _check_input_2d(input._data)
    _check_window(input._data, kernel, stride, padding, dilation, ceil_mode, fn)
    return MaxPool2DWithIndicesBackward0.apply(input, kernel, stride, padding, dilation,
                                               bool(ceil_mode), bool(return_indices))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    x = input._data
    if x.ndim not in (2, 3):
        raise RuntimeError(f"max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
                           f"dim batch size for input, but got:{list(x.shape)}")
    (k, _), (s, _), (p, _) = _window_args(kernel_size, stride, padding, "max_pool1d")
    d = _pair(dilation, "dilation", "max_pool1d")[0]
    if k > 0 and s > 0 and d > 0 and p >= 0:
        if p > k // 2:
            raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but "
                               f"got padding={p} and kernel_size={k}")
        n = out_size(x.shape[-1], k, s, p, d, ceil_mode)
        if n < 1:
            raise RuntimeError(f"max_pool1d() Invalid computed output size: {n}")
    out = max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, p), (1, d), ceil_mode,
                     return_indices)
    return _squeeze_h(out, return_indices)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    fn = "avg_pool2d"
    kernel, stride, padding = _window_args(kernel_size, stride, padding, fn)
    x = input._data
    if x.ndim not in (3, 4):
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-max(x.ndim, 1)}, {max(x.ndim, 1) - 1}], but got -3)")
    _check_input_2d(x)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    if x.dtype == np.uint8 or x.dtype == np.bool_:
        raise NotImplementedError(f'"avg_pool2d" not implemented for '
                                  f"'{'Byte' if x.dtype == np.uint8 else 'Bool'}'")
    _check_window(x, kernel, stride, padding, (1, 1), ceil_mode, fn)
    return AvgPool2DBackward0.apply(input, kernel, stride, padding, bool(ceil_mode),
                                    bool(count_include_pad), divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    x = input._data
    if x.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {x.ndim}-dimensional tensor for "
                           f"argument #1 'self' (while checking arguments for avg_pool1d)")
    (k, _), (s, _), (p, _) = _window_args(kernel_size, stride, padding, "avg_pool1d")
    return avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, p), ceil_mode,
                      count_include_pad).squeeze(-2)


def _adaptive_size(x: np.ndarray, output_size, fn: str):
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{fn}(): Expected 3D or 4D tensor, but got {list(x.shape)}")
    if isinstance(output_size, (int, np.integer)):
        output_size = (int(output_size), int(output_size))
    output_size = tuple(output_size)
    if len(output_size) == 1:
        output_size = output_size * 2
    if len(output_size) != 2:
        raise RuntimeError(f"{fn}: output_size must be 2")
    return tuple(x.shape[-2 + i] if s is None else int(s) for i, s in enumerate(output_size))


def adaptive_avg_pool2d(input, output_size):
    size = _adaptive_size(input._data, output_size, "adaptive_avg_pool2d")
    if size == (1, 1):  # torch takes the mean (its grad_fn is MeanBackward1)
        return input.mean((-1, -2), keepdim=True)
    return AdaptiveAvgPool2DBackward0.apply(input, size)


def adaptive_avg_pool1d(input, output_size):
    if isinstance(output_size, (tuple, list)):
        output_size = output_size[0]
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, output_size)).squeeze(-2)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    size = _adaptive_size(input._data, output_size, "adaptive_max_pool2d")
    return AdaptiveMaxPool2DBackward0.apply(input, size, bool(return_indices))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    if isinstance(output_size, (tuple, list)):
        output_size = output_size[0]
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, output_size), return_indices)
    return _squeeze_h(out, return_indices)
