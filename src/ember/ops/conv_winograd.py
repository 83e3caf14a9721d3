"""Winograd F(2x2, 3x3) convolution for 3x3, stride-1, undilated, ungrouped 2-d convolutions.

Each 2x2 block of output pixels is computed from the 4x4 input tile under it as
    Y = A^T [ sum_c (G w G^T) ⊙ (B^T d B) ] A
so that per output pixel the channel sum costs 16/4 = 4 multiply-adds per (o, c) instead of 9.
The transforms are a few shifted adds over whole images (unit-stride slices of a channel-first,
padded copy of the input split by row/column parity, see "layout"); the channel sums are 16
batched GEMMs (U[k] (O, C) @ V[k] (C, P), P = samples * tiles) through `gemm`. Work goes a few
samples at a time through buffers reused by every chunk, so the transforms run in cache.

Backward is the exact transpose of those linear maps, so it costs the same 16 GEMMs again per
gradient and no transform of the kernel-flipped problem:
    Z = A g A^T                        (the output gradient, tile by tile)
    dW = G^T [ sum_tiles Z ⊙ V ] G     (16 GEMMs Z[k] (O, P) @ V[k]^T (P, C))
    dx = overlap-add of B [ U^T Z ] B^T over the 4x4 tiles (they overlap by 2).
Backward recomputes each chunk's V from the input (cheap in cache) rather than keeping 4x the
input. With few input channels the forward is ops/conv.py's im2col GEMM (faster there: the
Winograd GEMMs have depth C) and only the gradients go through here.

Where it wins: the transforms are memory-bound work proportional to (C + O) * pixels, against
GEMM work proportional to C * O * pixels, so only with enough channels on both sides;
`use_winograd` holds the rule (measured with bench/bench_conv_stack.py and paired timings).

F(4x4, 3x3) (2.25 instead of 4 multiply-adds per output) was tried: with NumPy's one pass per
transform coefficient its transforms cost more than the GEMM time it saves, and its float32
error (~1.5e-5 on unit-scale outputs) is ten times F(2x2)'s.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .base import Op
from . import conv_double as _double
from ._gemm import gemm
from .normalization import channel_sum

_new = Tensor._new

# G (4x3), the kernel transform: U = G w G^T
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
# (16, 9): row (a, b), column (i, j) is G[a, i] G[b, j], so U = _GG @ w and dW = _GG^T @ M
_GG = np.kron(_G, _G)

# fewest input and output channels for which the transforms pay for themselves (measured
# fw+bw, 1 thread, Winograd/im2col: 16->16 @28x28 0.81, 32->64 @28 0.80, 64->128 @14 0.72)
MIN_CHANNELS = 16
# fewest input channels for which the Winograd *forward* beats the im2col GEMM (its GEMMs have
# depth C; measured forward only, batch 64: 16->32 @28 1.11, 32->32 @28 0.95, 32->64 @28 0.81,
# 64->128 @14 0.70); below, the forward is im2col's and only the gradients (depth O and P) go
# through Winograd
MIN_CHANNELS_FORWARD = 32


# smallest output height and width: below, tiles are few per image and mostly padding and the
# wide column, and the per-call transforms of the (large) kernels of deep layers do not pay
# (measured fw+bw, batch 8, Winograd/im2col: 128->128 @8x8 0.73, 256->256 @4x4 1.11,
# 512->512 @2x2 1.85)
MIN_OUTPUT = 8


def use_winograd(xshape, wshape, stride, padding, dilation, groups) -> bool:
    """Whether a 2-d convolution of these shapes (padding (top, bottom, left, right)) goes
    through Winograd F(2x2, 3x3)."""
    if not (len(wshape) == 4 and wshape[2] == 3 and wshape[3] == 3 and groups == 1
            and tuple(stride) == (1, 1) and tuple(dilation) == (1, 1)
            and wshape[0] >= MIN_CHANNELS and wshape[1] >= MIN_CHANNELS and xshape[0] > 0):
        return False
    pt, pb, pl, pr = padding
    return (xshape[2] + pt + pb - 2 >= MIN_OUTPUT and xshape[3] + pl + pr - 2 >= MIN_OUTPUT)


def _kernel_transform(w: np.ndarray) -> np.ndarray:
    """U (16, O, C) from w (O, C, 3, 3): U[(a, b)] = sum_ij G[a, i] G[b, j] w[:, :, i, j], one
    GEMM with G's Kronecker square (NumPy's stacked 4x3 @ 3x3 @ 3x4 products, one per (o, c),
    cost more than the whole convolution on deep layers)."""
    O, C = w.shape[:2]
    return (_GG.astype(w.dtype) @ w.reshape(O * C, 9).T).reshape(16, O, C)


# ---- layout -------------------------------------------------------------------------------
# A tile at stride 2 reads padded rows 2t..2t+3; splitting the padded image by the parity of its
# row and column, (2, 2, C, N, T+1, T+1), turns each of those rows into a unit-stride slice
# [k % 2, ..., k // 2 : k // 2 + T], so every transform below is a contiguous NumPy add.

def _parities(pad: int, size: int):
    """For padded-image parity 0 and 1: (first source index, first half-index, count) of the
    source positions 0..size-1 placed at padded position p = pad + index."""
    for par in (0, 1):
        h0 = (par - pad) % 2
        n = len(range(h0, size, 2))
        yield par, h0, (h0 + pad) // 2, n


class _Scratch:
    """Flat buffers reused by every chunk of one call, viewed at each chunk's shape: the
    transforms then run on memory already mapped and, chunk by chunk, in cache."""
    __slots__ = ("dtype", "bufs")

    def __init__(self, dtype):
        self.dtype = dtype
        self.bufs = {}

    def get(self, name: str, shape) -> np.ndarray:
        size = 1
        for d in shape:
            size *= d
        b = self.bufs.get(name)
        if b is None or b.size < size:
            b = self.bufs[name] = np.empty(size, self.dtype)
        return b[:size].reshape(shape)


def _split(x: np.ndarray, pt: int, pl: int, Th: int, Tw: int) -> np.ndarray:
    """The zero-padded image x (N, C, H, W) by row/column parity: (2, 2, C, N, Th+1, Tw+1)."""
    N, C, H, W = x.shape
    xs = np.zeros((2, 2, C, N, Th + 1, Tw + 1), x.dtype)
    for pr, h0, i0, nh in _parities(pt, H):
        for pc, w0, j0, nw in _parities(pl, W):
            np.copyto(xs[pr, pc, :, :, i0:i0 + nh, j0:j0 + nw],
                      x[:, :, h0::2, w0::2].transpose(1, 0, 2, 3))
    return xs


def _merge(xs: np.ndarray, pt: int, pl: int, x: np.ndarray) -> None:
    """x (n, C, H, W) = the inverse of _split, cropped, from xs (2, 2, C, n, Th+1, Tw+1)."""
    H, W = x.shape[2:]
    for pr, h0, i0, nh in _parities(pt, H):
        for pc, w0, j0, nw in _parities(pl, W):
            np.copyto(x[:, :, h0::2, w0::2],
                      xs[pr, pc, :, :, i0:i0 + nh, j0:j0 + nw].transpose(1, 0, 2, 3))


# Each image row of tiles is Tw + 1 wide: the extra "wide" column lets a shift by one tile
# column be a shift by one element of the flat buffer (long unit-stride runs for NumPy). Its
# values in V and M are unused: the output drops them, and the gradient Z is zero there, so
# they add nothing to dW and, through the adjoint, nothing to dx.

def _input_transform(xs: np.ndarray, Th: int, Tw: int, sc: _Scratch) -> np.ndarray:
    """V (4, 4, C, n, Th, Tw+1) = B^T d B for every 4x4 tile d (at stride 2) of the split padded
    input xs (2, 2, C, n, Th+1, Tw+1). B^T's rows: d0-d2, d1+d2, d2-d1, d1-d3."""
    C, N, _, Wq = xs.shape[2:]
    r = [xs[k % 2, :, :, :, k // 2:k // 2 + Th] for k in range(4)]  # (2, C, n, Th, Wq)
    t = sc.get("t", (4, 2, C, N, Th, Wq))
    np.subtract(r[0], r[2], out=t[0])
    np.add(r[1], r[2], out=t[1])
    np.subtract(r[2], r[1], out=t[2])
    np.subtract(r[1], r[3], out=t[3])
    tf = t.reshape(4, 2, -1)
    L = tf.shape[2] - 1
    s = [tf[:, k % 2, k // 2:k // 2 + L] for k in range(4)]  # (4, C*n*Th*Wq - 1)
    v = sc.get("v", (4, 4, C, N, Th, Wq))
    vf = v.reshape(4, 4, -1)
    np.subtract(s[0], s[2], out=vf[:, 0, :L])
    np.add(s[1], s[2], out=vf[:, 1, :L])
    np.subtract(s[2], s[1], out=vf[:, 2, :L])
    np.subtract(s[1], s[3], out=vf[:, 3, :L])
    vf[:, :, L] = 0
    return v


def _output_transform(m: np.ndarray, out6: np.ndarray, sc: _Scratch) -> None:
    """out6 (n, O, Th, 2, Tw, 2) = A^T M A per tile, from m (4, 4, O, n, Th, Tw+1).
    A^T's rows: m0+m1+m2, m1-m2-m3."""
    y = sc.get("y", (2,) + m.shape[1:])  # (2, 4, O, n, Th, Wq)
    np.add(m[0], m[1], out=y[0])
    y[0] += m[2]
    np.subtract(m[1], m[2], out=y[1])
    y[1] -= m[3]
    o = sc.get("o", (2, 2) + m.shape[2:])
    np.add(y[:, 0], y[:, 1], out=o[:, 0])
    o[:, 0] += y[:, 2]
    np.subtract(y[:, 1], y[:, 2], out=o[:, 1])
    o[:, 1] -= y[:, 3]
    Tw = out6.shape[4]
    for u in (0, 1):
        for v in (0, 1):
            np.copyto(out6[:, :, :, u, :, v], o[u, v, ..., :Tw].transpose(1, 0, 2, 3))


# (16, 4): Z = A g A^T per 2x2 tile as one product, row (k, l) column (u, v) = A[k, u] A[l, v]
_AA = np.kron(np.array([[1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [0.0, -1.0]]),
              np.array([[1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [0.0, -1.0]]))
_AA_BY_DTYPE: dict = {}


def _grad_transform(g: np.ndarray, Th: int, Tw: int, sc: _Scratch) -> np.ndarray:
    """Z (16, O, P) = A g A^T for every 2x2 tile of the output gradient g (n, O, Ho, Wo),
    zero in the wide column. A's rows: g0, g0+g1, g0-g1, -g1.

    The four pixels of every tile are gathered by parity into r (2u, 2v, O, n, Th, Tw+1) (one
    copy), then Z = kron(A, A) @ r is one GEMM with K = 4 (measured 32->64 @28, two samples:
    0.13 ms against 0.23 for the 19 NumPy passes of the separable form)."""
    N, O, Ho, Wo = g.shape
    r = sc.get("r", (2, 2, O, N, Th, Tw + 1))
    gt = g.transpose(1, 0, 2, 3)  # (O, n, Ho, Wo)
    if Ho == 2 * Th and Wo == 2 * Tw:
        r[..., Tw] = 0
        np.copyto(r[..., :Tw], gt.reshape(O, N, Th, 2, Tw, 2).transpose(3, 5, 0, 1, 2, 4))
    else:  # odd sizes: the missing row/column of a tile is zero
        r[...] = 0
        for u in (0, 1):
            for v in (0, 1):
                src = gt[:, :, u::2, v::2]
                np.copyto(r[u, v, :, :, :src.shape[2], :src.shape[3]], src)
    aa = _AA_BY_DTYPE.get(g.dtype)
    if aa is None:
        aa = _AA_BY_DTYPE[g.dtype] = _AA.astype(g.dtype)
    z = gemm(aa, r.reshape(4, -1), out=sc.get("z", (16, r.size // 4)))
    return z.reshape(16, O, -1)


def _input_grad(e: np.ndarray, C: int, N: int, Th: int, Tw: int, sc: _Scratch,
                dxs: np.ndarray) -> None:
    """dxs (2, 2, C, n, Th+1, Tw+1), the split padded input's gradient, from E (16, C, P) =
    U^T Z (zero in the wide column): the transpose of `_input_transform`, columns then rows.

    Along each axis, per tile d0 = e0, d1 = e1-e2+e3, d2 = e1+e2-e0, d3 = -e3 (B applied to
    e); image position 2s gets d0 of tile s and d2 of tile s-1, position 2s+1 gets d1 of tile
    s and d3 of tile s-1 (tiles overlap by 2)."""
    Wq = Tw + 1
    # columns, on the flat buffer: position 2s of a row and the wide column (zero) of the row
    # before meet exactly as tiles s and s-1 do
    ef = e.reshape(4, 4, -1)
    f = sc.get("f", (4, 2, C, N, Th, Wq))
    ff = f.reshape(4, 2, -1)
    e0, e1, e2, e3 = (ef[:, k] for k in range(4))
    ev, od = ff[:, 0], ff[:, 1]
    np.copyto(ev, e0)
    lo = ev[:, 1:]
    lo += e1[:, :-1]
    lo += e2[:, :-1]
    lo -= e0[:, :-1]
    np.subtract(e1, e2, out=od)
    od += e3
    lo = od[:, 1:]
    lo -= e3[:, :-1]
    # rows: image rows 0..Th, each a contiguous run of Wq
    f0, f1, f2, f3 = f
    ev, od = dxs[0], dxs[1]
    np.copyto(ev[..., :Th, :], f0)
    ev[..., Th, :] = 0
    lo = ev[..., 1:, :]
    lo += f1
    lo += f2
    lo -= f0
    np.subtract(f1, f2, out=od[..., :Th, :])
    od[..., :Th, :] += f3
    od[..., Th, :] = 0
    lo = od[..., 1:, :]
    lo -= f3


def _chunk(N: int, C: int, O: int, Th: int, Tw: int, itemsize: int) -> int:
    """Samples per chunk: enough tiles for the GEMMs to run near full speed (_CHUNK_TILES), as
    long as the transforms' buffers of a chunk (about 7 copies of the input's tiles and 7 of
    the output's) stay within _CHUNK_BYTES, so in cache. Small chunks win: measured fw+bw,
    batch 64, 32->64 @28, 256 tiles / 4 MB against 1024 tiles / 16 MB: 0.76-0.85x; but 8 MB
    against 4 MB (two samples a chunk there instead of one, half the NumPy calls): 0.94x."""
    tiles = Th * (Tw + 1)
    per = (7 * C + 7 * O) * 4 * tiles * itemsize
    n = min(-(-_CHUNK_TILES // tiles), max(1, _CHUNK_BYTES // per))
    return max(1, min(N, n))


_CHUNK_TILES = 256
_CHUNK_BYTES = 8 << 20


@_double.twice_differentiable
class ConvolutionBackward0(Op):
    """Winograd F(2x2, 3x3) convolution (named as torch names its convolution node).

    Shape: x (N, C, H, W), weight (O, C, 3, 3), bias (O,) or None; padding (top, bottom, left,
    right); stride 1, dilation 1, groups 1 (see use_winograd). Work goes a few samples at a
    time (see _chunk); backward recomputes each chunk's V rather than keeping 4x the input."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        xa, wa = x._data, weight._data
        N, C, H, W = xa.shape
        O = wa.shape[0]
        pt, pb, pl, pr = padding
        Ho, Wo = H + pt + pb - 2, W + pl + pr - 2
        Th, Tw = (Ho + 1) // 2, (Wo + 1) // 2
        u = _kernel_transform(wa)
        nc = _chunk(N, C, O, Th, Tw, xa.itemsize)
        need = ctx.needs_input_grad
        if need[0] or need[1] or (bias is not None and need[2]):
            ctx.dims = (Th, Tw, padding, nc)
            ctx.has_bias = bias is not None
            ctx.x = xa if need[1] else None
            ctx.u = u if need[0] else None
            ctx.xs = None
        if C < MIN_CHANNELS_FORWARD:
            return _im2col_forward(x, weight, bias, padding)
        sc = _Scratch(xa.dtype)
        out = np.empty((N, O, 2 * Th, 2 * Tw), xa.dtype)
        out6 = out.reshape(N, O, Th, 2, Tw, 2)
        b = None if bias is None else bias._data.reshape(O, 1)
        xs = _split(xa, pt, pl, Th, Tw)
        if need[1]:  # the weight gradient reads the same split input (about 1.2x the input)
            ctx.xs = xs
        for n0 in range(0, N, nc):
            n1 = min(N, n0 + nc)
            m = n1 - n0
            v = _input_transform(xs[:, :, :, n0:n1], Th, Tw, sc).reshape(16, C, -1)
            mm = gemm(u, v, out=sc.get("m", (16, O, m * Th * (Tw + 1))))
            if b is not None:  # M[1, 1] reaches all four outputs of its tile with weight 1
                mm[5] += b
            _output_transform(mm.reshape(4, 4, O, m, Th, Tw + 1), out6[n0:n1], sc)
        if Ho != 2 * Th or Wo != 2 * Tw:
            out = np.ascontiguousarray(out[:, :, :Ho, :Wo])
        return out

    @staticmethod
    def backward(ctx, grad):
        Th, Tw, (pt, pb, pl, pr), nc = ctx.dims
        need = ctx.needs_input_grad
        g = grad._data
        N, O = g.shape[:2]
        xa = ctx.x
        gx = gw = gb = None
        sc = _Scratch(g.dtype)
        if need[0]:
            ut = np.ascontiguousarray(ctx.u.transpose(0, 2, 1))  # (16, C, O)
            C = ut.shape[1]
            dx = np.empty((N, C) + _in_hw(Th, Tw, g.shape, (pt, pb, pl, pr)), g.dtype)
            dxs = np.empty((2, 2, C, N, Th + 1, Tw + 1), g.dtype)
        if need[1]:
            C = xa.shape[1]
            mw = np.zeros((16, O, C), g.dtype)
            xs = ctx.xs if ctx.xs is not None else _split(xa, pt, pl, Th, Tw)
        for n0 in range(0, N, nc):
            n1 = min(N, n0 + nc)
            m = n1 - n0
            z = _grad_transform(g[n0:n1], Th, Tw, sc)  # (16, O, P)
            if need[1]:
                v = _input_transform(xs[:, :, :, n0:n1], Th, Tw, sc).reshape(16, C, -1)
                # V^T copied first: BLAS runs the (O, P) @ (P, C) products about 1.7x faster
                # on a contiguous right factor than on the transposed view (measured
                # (16, 64, 210) @ (16, 210, 32): 33 against 56 GMAC/s; the copy costs 1/6)
                vt = sc.get("vt", (16, v.shape[2], C))
                np.copyto(vt, v.transpose(0, 2, 1))
                mw += gemm(z, vt, out=sc.get("mw", (16, O, C)))
            if need[0]:
                e = gemm(ut, z, out=sc.get("e", (16, C, m * Th * (Tw + 1))))
                _input_grad(e, C, m, Th, Tw, sc, dxs[:, :, :, n0:n1])
        if need[1]:
            # dW[o, c] = G^T M[:, :, o, c] G, as one GEMM (O*C, 16) @ (16, 9)
            gw = _new((mw.reshape(16, O * C).T @ _GG.astype(g.dtype)).reshape(O, C, 3, 3))
        if ctx.has_bias and need[2]:
            gb = _new(channel_sum(g))
        if need[0]:
            _merge(dxs, pt, pl, dx)
            gx = _new(dx)
        return gx, gw, gb, None, None, None, None


class _NoGrad:
    needs_input_grad = (False,) * 7


def _im2col_forward(x, weight, bias, padding) -> np.ndarray:
    """The output by ops/conv.py's im2col GEMMs (saving nothing: backward is this module's)."""
    from .conv import ConvolutionBackward0 as Im2col  # conv.py imports this module
    return Im2col.forward(_NoGrad(), x, weight, bias, (1, 1), padding, (1, 1), 1)


def _in_hw(Th, Tw, gshape, pad):
    """The input's (H, W) from the output gradient's shape and the padding (3x3, stride 1)."""
    pt, pb, pl, pr = pad
    return gshape[2] + 2 - pt - pb, gshape[3] + 2 - pl - pr
