"""Tensor.unfold: every window of `size` elements, `step` apart, along one dimension, as a
strided view of the input (torch's UnfoldBackward0)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _wrap_dim
from ..autograd.grad_mode import state as _grad_state
from .base import Op

_new = Tensor._new


class UnfoldBackward0(Op):
    """out[..., j, ..., k] = x[..., j * step + k, ...] (windows along `dim`, the window's
    elements in a new last dim);  dx[..., j * step + k, ...] += g[..., j, ..., k]."""
    _view = True

    @staticmethod
    def forward(ctx, x, dim, size, step):
        a = x._data
        ctx.dim, ctx.size, ctx.step, ctx.shape = dim, size, step, a.shape
        return _windows(a, dim, size, step)

    @staticmethod
    def backward(ctx, g):
        dim, size, step = ctx.dim, ctx.size, ctx.step
        if _grad_state.enabled:  # create_graph: the same sums as a recorded index_add
            n = int(np.prod(ctx.shape))
            pos = _windows(np.arange(n).reshape(ctx.shape), dim, size, step)
            return scatter_sum(g, pos, ctx.shape), None, None, None
        gd = g._data
        if not ctx.shape:
            return _new(gd.sum().reshape(())), None, None, None
        gx = np.zeros(ctx.shape, gd.dtype)
        n = gd.shape[dim]
        # (windows overlap when step < size: one strided add per position in the window)
        for k in range(size):
            idx = (slice(None),) * dim + (slice(k, k + step * (n - 1) + 1, step),)
            gx[idx] += gd[..., k]
        return _new(gx), None, None, None


def _windows(a: np.ndarray, dim: int, size: int, step: int) -> np.ndarray:
    """The strided view of a's windows (unfold's output); a 0-d a is its one window."""
    if a.ndim == 0:  # torch: the one window, without a window dim
        return a.reshape(1)[:size]
    n = (a.shape[dim] - size) // step + 1
    shape = a.shape[:dim] + (n,) + a.shape[dim + 1:] + (size,)
    strides = a.strides[:dim] + (a.strides[dim] * step,) + a.strides[dim + 1:] + \
        (a.strides[dim],)
    return np.lib.stride_tricks.as_strided(a, shape, strides,
                                           writeable=step >= size and a.flags.writeable)


def scatter_sum(g: Tensor, pos: np.ndarray, shape) -> Tensor:
    """A tensor of `shape` whose flat element i is the sum of g's entries at pos == i, as a
    recorded index_add (the backward of a view that reads element pos of its base)."""
    from .creation import zeros
    flat = zeros(int(np.prod(shape)), dtype=g.dtype)
    return flat.index_add(0, _new(np.ascontiguousarray(pos).reshape(-1)),
                          g.reshape(-1)).reshape(shape)


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Windows of `size` along `dimension`, `step` apart, in a new last dim (a view).
    Shape: (..., n, ...) -> (..., (n - size) // step + 1, ..., size)."""
    nd = max(self._data.ndim, 1)
    dim = _wrap_dim(dimension, nd)
    length = self._data.shape[dim] if self._data.ndim else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {length} but size is "
                           f"{size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    return UnfoldBackward0.apply(self, dim, size, step)
