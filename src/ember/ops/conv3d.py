"""3-d convolution and transposed convolution as single GEMMs over im2col columns.

Everything is laid out channel-first and batch-last, (C, D, H, W, N), as the transposed 2-d
convolution (ops/conv_transpose.py): the columns of all samples are ONE copy of a strided view
of the padded input, so each pass is one GEMM per group with the batch folded into its long
dimension, and col2im is one slice-add per kernel offset (kd*kh*kw of them; no loop over
voxels; strided, the grid is split by stride phase so each is a contiguous block). The two
ops are each other's adjoints:

    conv3d:            out = W cols(x)             dx = col2im(W^T g),  dW = g cols(x)^T
    conv_transpose3d:  out = col2im(W^T x)         dx = W cols(g),      dW = x cols(g)^T

The helpers work for any number of spatial dims; F.conv3d / F.conv_transpose3d use them.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from .base import Op
from ._gemm import gemm

_new = Tensor._new


def _batch_last(a: np.ndarray, pads=None) -> np.ndarray:
    """(N, C, *S) -> (C, *S_padded, N), zero-padded by pads ((lo, hi) per spatial dim)."""
    t = a.transpose(tuple(range(1, a.ndim)) + (0,))
    if not pads or not any(lo or hi for lo, hi in pads):
        return np.ascontiguousarray(t)
    shape = (t.shape[0],) + tuple(s + lo + hi for s, (lo, hi) in zip(t.shape[1:-1], pads)) + \
        (t.shape[-1],)
    out = np.zeros(shape, a.dtype)
    out[(slice(None),) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(t.shape[1:-1], pads))] = t
    return out


def _im2col(ap: np.ndarray, ksize, stride, dilation, out_size, groups: int) -> np.ndarray:
    """Columns (G, C/G*prod(k), prod(out)*N) of padded batch-last ap (C, *S, N): entry
    (c, *k, *o, n) is ap[c, *(s*o + d*k), n] (one copy of a strided view; strided, by phase
    as in _col2im, so each copied row is a contiguous W*N run)."""
    C, N = ap.shape[0], ap.shape[-1]
    nd = len(ksize)
    if all(t == 1 for t in stride):
        st = ap.strides
        v = as_strided(ap, (C,) + tuple(ksize) + tuple(out_size) + (N,),
                       (st[0],) + tuple(d * t for d, t in zip(dilation, st[1:-1])) +
                       st[1:-1] + (st[-1],))
        return v.reshape(groups, C // groups * math.prod(ksize), -1)
    q = tuple(-(-n // t) for n, t in zip(ap.shape[1:-1], stride))
    if any(a * t != n for a, t, n in zip(q, stride, ap.shape[1:-1])):
        full = np.zeros((C,) + tuple(a * t for a, t in zip(q, stride)) + (N,), ap.dtype)
        full[(slice(None),) + tuple(slice(0, n) for n in ap.shape[1:-1])] = ap
        ap = full
    # (C, q0, s0, q1, s1, ..., N) -> phases first: (*s, C, *q, N)
    split = ap.reshape((C,) + tuple(x for a, t in zip(q, stride) for x in (a, t)) + (N,))
    order = tuple(2 + 2 * d for d in range(nd)) + (0,) + tuple(1 + 2 * d for d in range(nd)) + \
        (2 * nd + 1,)
    ph = np.ascontiguousarray(split.transpose(order))
    cols = np.empty((C,) + tuple(ksize) + tuple(out_size) + (N,), ap.dtype)
    for off in itertools.product(*(range(k) for k in ksize)):
        ar = [divmod(d * o, t) for o, d, t in zip(off, dilation, stride)]
        cols[(slice(None),) + off] = ph[tuple(r for _, r in ar) + (slice(None),) +
                                        tuple(slice(a, a + n) for (a, _), n in
                                              zip(ar, out_size))]
    return cols.reshape(groups, C // groups * math.prod(ksize), -1)


def _col2im(cols: np.ndarray, grid, ksize, stride, dilation, in_size) -> np.ndarray:
    """The adjoint of _im2col: cols (C, *k, *in, N) summed into a zero grid (C, *grid, N),
    kernel offset k of position p landing at s*p + d*k (one slice-add per kernel offset).

    Strided, the grid is accumulated split by phase, (*s, C, *ceil(grid/s), N): offset d*k =
    a*s + r lands in phase r at a + p, a contiguous block whose rows run W*N elements (not N
    elements stepped by s), and one transpose puts the phases back in place."""
    nd = len(ksize)
    C, N = cols.shape[0], cols.shape[-1]
    q = tuple(-(-g // s) for g, s in zip(grid, stride))
    buf = np.zeros(tuple(stride) + (C,) + q + (N,), cols.dtype)
    for off in itertools.product(*(range(k) for k in ksize)):
        ar = [divmod(d * o, s) for o, d, s in zip(off, dilation, stride)]
        dst = buf[tuple(r for _, r in ar) + (slice(None),) +
                  tuple(slice(a, a + n) for (a, _), n in zip(ar, in_size))]
        np.add(dst, cols[(slice(None),) + off], out=dst)
    if all(s == 1 for s in stride):
        out = buf.reshape(buf.shape[nd:])
    else:  # (*s, C, *q, N) -> (C, q0, s0, q1, s1, ..., N) -> (C, *(q*s), N)
        order = (nd,) + tuple(x for d in range(nd) for x in (nd + 1 + d, d)) + (2 * nd + 1,)
        out = buf.transpose(order).reshape((C,) + tuple(a * s for a, s in zip(q, stride)) +
                                           (N,))
    return out[(slice(None),) + tuple(slice(0, g) for g in grid)]


def _to_batch_first(a: np.ndarray) -> np.ndarray:
    """(C, *S, N) -> (N, C, *S), contiguous."""
    return np.ascontiguousarray(np.moveaxis(a, -1, 0))


def _crop(a: np.ndarray, pads, size) -> np.ndarray:
    """a (C, *S_padded, N) without its padding."""
    return a[(slice(None),) + tuple(slice(lo, lo + n) for (lo, _), n in zip(pads, size))]


class ConvolutionBackward0(Op):
    """out[n, o, p] = sum_{c, k} w[o, c, k] xpad[n, c, s*p + d*k] + b[o]  (3-d, im2col GEMM).

    dW = g cols(x)^T,  db = sum g,  dx = col2im(W^T g) without the padding.
    Shape: x (N, C, D, H, W), weight (O, C/G, kd, kh, kw), bias (O,) or None -> (N, O, Do,
    Ho, Wo); `padding` is (d_lo, d_hi, h_lo, h_hi, w_lo, w_hi)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        xa, wa = x._data, weight._data
        pads = tuple(zip(padding[::2], padding[1::2]))
        ksize = wa.shape[2:]
        out_size = tuple((n + lo + hi - d * (k - 1) - 1) // s + 1 for n, (lo, hi), k, s, d in
                         zip(xa.shape[2:], pads, ksize, stride, dilation))
        cols = _im2col(_batch_last(xa, pads), ksize, stride, dilation, out_size, groups)
        O, N = wa.shape[0], xa.shape[0]
        res = gemm(wa.reshape(groups, O // groups, -1), cols)  # (G, O/G, L*N)
        out = _to_batch_first(res.reshape((O,) + out_size + (N,)))
        if bias is not None:
            out += bias._data.reshape((O,) + (1,) * len(out_size))
        need = ctx.needs_input_grad
        if need[0] or need[1] or (bias is not None and need[2]):
            ctx.geo = (pads, ksize, stride, dilation, out_size, groups)
            ctx.has_bias = bias is not None
            ctx.save_for_backward(x, weight)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        pads, ksize, stride, dilation, out_size, G = ctx.geo
        need = ctx.needs_input_grad
        xa, wa = x._data, weight._data
        g = grad._data
        O, C = wa.shape[0], xa.shape[1]
        gb = _batch_last(g).reshape(G, O // G, -1)  # (G, O/G, L*N)
        gx = gw = gbias = None
        if need[1]:
            cols = _im2col(_batch_last(xa, pads), ksize, stride, dilation, out_size, G)
            gw = _new(gemm(gb, cols.transpose(0, 2, 1)).reshape(wa.shape))
        if need[0]:
            dcols = gemm(wa.reshape(G, O // G, -1).transpose(0, 2, 1), gb)  # (G, C/G*K, L*N)
            dcols = dcols.reshape((C,) + tuple(ksize) + tuple(out_size) + (xa.shape[0],))
            grid = tuple(n + lo + hi for n, (lo, hi) in zip(xa.shape[2:], pads))
            dxp = _col2im(dcols, grid, ksize, stride, dilation, out_size)
            gx = _new(_to_batch_first(_crop(dxp, pads, xa.shape[2:])))
        if ctx.has_bias and need[2]:
            gbias = _new(g.sum(axis=(0,) + tuple(range(2, g.ndim))))
        return gx, gw, gbias, None, None, None, None


class ConvolutionTransposeOp(Op):
    """out = conv_transpose3d(x, w) + b: col2im(W^T x) on the output grid padded by p, cropped.

    dx = W cols(g padded by p),  dW = x cols(g)^T,  db = sum g.
    Shape: x (N, C_in, D, H, W), weight (C_in, C_out/G, kd, kh, kw), bias (C_out,) or None ->
    (N, C_out, *out_size) (output_padding included in out_size)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups, out_size):
        xa, wa = x._data, weight._data
        G = groups
        Cin, N = xa.shape[1], xa.shape[0]
        ksize = wa.shape[2:]
        cout = wa.shape[1] * G
        xb = _batch_last(xa).reshape(G, Cin // G, -1)
        cols = gemm(wa.reshape(G, Cin // G, -1).transpose(0, 2, 1), xb)  # (G, Cout/G*K, L*N)
        cols = cols.reshape((cout,) + tuple(ksize) + xa.shape[2:] + (N,))
        pads = tuple((p, p) for p in padding)
        grid = tuple(o + 2 * p for o, p in zip(out_size, padding))
        out = _crop(_col2im(cols, grid, ksize, stride, dilation, xa.shape[2:]), pads, out_size)
        out = _to_batch_first(out)
        if bias is not None:
            out += bias._data.reshape((cout,) + (1,) * len(out_size))
        need = ctx.needs_input_grad
        if need[0] or need[1] or (bias is not None and need[2]):
            ctx.geo = (pads, ksize, stride, dilation, G)
            ctx.has_bias = bias is not None
            ctx.save_for_backward(x, weight)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        pads, ksize, stride, dilation, G = ctx.geo
        need = ctx.needs_input_grad
        xa, wa = x._data, weight._data
        g = grad._data
        Cin = xa.shape[1]
        gx = gw = gbias = None
        if need[0] or need[1]:
            cols = _im2col(_batch_last(g, pads), ksize, stride, dilation, xa.shape[2:], G)
            if need[0]:
                dx = gemm(wa.reshape(G, Cin // G, -1), cols)  # (G, C_in/G, L*N)
                gx = _new(_to_batch_first(dx.reshape((Cin,) + xa.shape[2:] + (xa.shape[0],))))
            if need[1]:
                xb = _batch_last(xa).reshape(G, Cin // G, -1)
                gw = _new(gemm(xb, cols.transpose(0, 2, 1)).reshape(wa.shape))
        if ctx.has_bias and need[2]:
            gbias = _new(g.sum(axis=(0,) + tuple(range(2, g.ndim))))
        return gx, gw, gbias, None, None, None, None, None


# torch records both as ConvolutionBackward0
ConvolutionTransposeOp.__name__ = ConvolutionTransposeOp.__qualname__ = "ConvolutionBackward0"
