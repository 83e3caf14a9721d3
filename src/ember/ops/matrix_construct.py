"""Matrix construction and extraction: tril/triu (+ indices), diagonal, diag, diag_embed,
trace. Batched over leading dims; each op's docstring gives forward and backward."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .base import Op
from .util import wrap_dim

_new = Tensor._new


def _need_2d(name, x):
    if x.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions.")


def _tri_mask(shape, k, lower):
    n, m = shape[-2:]
    return np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)


class TrilBackward0(Op):
    """out = a with the entries above diagonal k zeroed;  da = tril(g, k)"""

    @staticmethod
    def forward(ctx, a, k):
        x = a._data
        _need_2d("tril", x)
        ctx.k = k
        return np.where(_tri_mask(x.shape, k, True), x, x.dtype.type(0))

    @staticmethod
    def backward(ctx, g):
        return tril(g, ctx.k), None


class TriuBackward0(Op):
    """out = a with the entries below diagonal k zeroed;  da = triu(g, k)"""

    @staticmethod
    def forward(ctx, a, k):
        x = a._data
        _need_2d("triu", x)
        ctx.k = k
        return np.where(_tri_mask(x.shape, k, False), x, x.dtype.type(0))

    @staticmethod
    def backward(ctx, g):
        return triu(g, ctx.k), None


def tril(input, diagonal=0):
    return TrilBackward0.apply(input, int(diagonal))


def triu(input, diagonal=0):
    return TriuBackward0.apply(input, int(diagonal))


def _tri_indices(row, col, offset, lower, dtype):
    from .. import _dtype
    r, c = np.nonzero(np.tri(row, col, offset, dtype=bool) if lower else
                      ~np.tri(row, col, offset - 1, dtype=bool))
    dt = (dtype or _dtype.int64)
    return _new(np.stack([r, c]).astype(dt.np if hasattr(dt, "np") else dt))


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, True, dtype)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, False, dtype)


class DiagonalBackward0(Op):
    """out = the offset-th diagonal of the (dim1, dim2) planes, a view moved to the last dim;
    da = diag_embed(g) scattered back into zeros of a's shape"""
    _view = True

    @staticmethod
    def forward(ctx, a, offset, d1, d2):
        x = a._data
        ctx.shape, ctx.args = x.shape, (offset, d1, d2)
        return np.diagonal(x, offset, d1, d2)

    @staticmethod
    def backward(ctx, g):
        offset, d1, d2 = ctx.args
        return _new(_diag_scatter(g._data, ctx.shape, offset, d1, d2)) if not g.requires_grad \
            else DiagonalScatter.apply(g, ctx.shape, offset, d1, d2), None, None, None


def _diag_scatter(gd, shape, offset, d1, d2):
    out = np.zeros(shape, gd.dtype)
    view = np.diagonal(out, offset, d1, d2)
    view.setflags(write=True)  # np.diagonal returns a read-only view; writing through is safe
    view[...] = gd
    return out


class DiagonalScatter(Op):
    """out = zeros with g on the diagonal (diagonal's backward, differentiable again);
    dg = diagonal(grad)"""

    @staticmethod
    def forward(ctx, g, shape, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        return _diag_scatter(g._data, shape, offset, d1, d2)

    @staticmethod
    def backward(ctx, gg):
        offset, d1, d2 = ctx.args
        return diagonal(gg, offset, d1, d2), None, None, None, None


def diagonal(input, offset=0, dim1=0, dim2=1):
    nd = input._data.ndim
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return DiagonalBackward0.apply(input, int(offset), d1, d2)


class DiagEmbedBackward0(Op):
    """out[..., i, i+offset] = a[..., i] in new dims (dim1, dim2);  da = diagonal(g)"""

    @staticmethod
    def forward(ctx, a, offset, d1, d2):
        x = a._data
        n = x.shape[-1] + abs(offset)
        ctx.args = (offset, d1, d2)
        shape = list(x.shape[:-1])
        lo, hi = sorted((d1, d2))
        shape.insert(lo, n)
        shape.insert(hi, n)
        out = np.zeros(shape, x.dtype)
        view = np.diagonal(out, offset, d1, d2)
        view.setflags(write=True)
        view[...] = x
        return out

    @staticmethod
    def backward(ctx, g):
        offset, d1, d2 = ctx.args
        return diagonal(g, offset, d1, d2), None, None, None


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    nd = input._data.ndim + 1
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return DiagEmbedBackward0.apply(input, int(offset), d1, d2)


def diag(input, diagonal=0):
    nd = input._data.ndim
    if nd == 1:
        return DiagEmbedBackward0.apply(input, int(diagonal), 0, 1)
    if nd == 2:
        from .shape import clone
        return clone(DiagonalBackward0.apply(input, int(diagonal), 0, 1))
    raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{nd}D")


class TraceBackward0(Op):
    """out = sum of the main diagonal;  da = g * eye"""

    @staticmethod
    def forward(ctx, a):
        x = a._data
        if x.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.ndim}")
        ctx.shape = x.shape
        t = np.trace(x)
        return np.asarray(t if x.dtype.kind == "f" else t, dtype=x.dtype if x.dtype.kind == "f"
                          else np.int64)

    @staticmethod
    def backward(ctx, g):
        eye = _new(np.eye(*ctx.shape, dtype=g._data.dtype))
        return g * eye


def trace(input):
    return TraceBackward0.apply(input)


TENSOR_METHODS = {"tril": tril, "triu": triu, "diagonal": diagonal, "diag": diag,
                  "diag_embed": diag_embed, "trace": trace}
