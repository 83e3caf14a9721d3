"""Convolution (1-d and 2-d) as GEMMs over strided window views of the padded input.

Forward: im2col columns (N, C*kh*kw, L) come from a window view of the input (no Python loop
over pixels) a few samples at a time, into one cache-sized buffer, and each chunk is one batched
GEMM W (O, C*kh*kw [+bias]) @ columns. For stride 1 the columns are "wide": kernel offset (i, j)
is ONE contiguous run of the flattened padded image starting at i*dh*Wp + j*dw, so the copy moves
long runs; the Wp-Wo extra columns per row are dropped from the output. Small feature maps
(deep layers) put the whole batch into one GEMM instead (forward and the column weight gradient),
so the weight matrix is read once rather than once per sample.

Backward works batch-last (N innermost): there each kernel offset's part of the image is one
contiguous run per channel, so dx and (with enough channels) dW are kh*kw small GEMMs straight
on views plus slice-adds, with no column matrix and no col2im.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._tensor import Tensor
from . import conv_strided as _strided
from . import conv_phase as _phase
from .base import Op
from . import conv_double as _double
from ._gemm import gemm
from .gemm_pieces import few_rows
from . import _blas_strided
from .conv_layout import batch_first, batch_last
from .normalization import channel_sum
from .conv_winograd import ConvolutionBackward0 as WinogradConvolution, use_winograd
from ..amp.autocast_mode import cast_low as _amp_low, state as _amp

_new = Tensor._new

# elements in one chunk of im2col columns: 1 MiB of float32, which stays in a core's L2 cache
_CHUNK = 1 << 18
# fewer input channels per group than this make the input gradient's per-offset products
# GEMVs (each re-reading the whole output gradient): one GEMM for all offsets instead
# (measured: DCGAN discriminator's 1->64 k4 s2 input gradient, batch 64, 5x faster)
_THIN_DX = 8


class _Geometry:
    """Sizes of one 2-d convolution: padded input, output, and whether the wide layout applies."""
    __slots__ = ("N", "C", "H", "W", "O", "kh", "kw", "sh", "sw", "pt", "pb", "pl", "pr",
                 "dh", "dw", "G", "Hp", "Wp", "Ho", "Wo", "wide", "L")

    def __init__(self, xshape, wshape, stride, pad, dilation, groups):
        self.N, self.C, self.H, self.W = xshape
        self.O, _, self.kh, self.kw = wshape
        self.sh, self.sw = stride
        self.pt, self.pb, self.pl, self.pr = pad
        self.dh, self.dw = dilation
        self.G = groups
        self.Hp = self.H + self.pt + self.pb
        self.Wp = self.W + self.pl + self.pr
        self.Ho = (self.Hp - self.dh * (self.kh - 1) - 1) // self.sh + 1
        self.Wo = (self.Wp - self.dw * (self.kw - 1) - 1) // self.sw + 1
        self.wide = self.sh == 1 and self.sw == 1
        # wide columns run from the first to the last output pixel of the flattened image
        self.L = (self.Ho - 1) * self.Wp + self.Wo if self.wide else self.Ho * self.Wo


def _pad(x: np.ndarray, geo: _Geometry) -> np.ndarray:
    """The zero-padded input, C-contiguous (the wide view needs one flat buffer)."""
    if not (geo.pt or geo.pb or geo.pl or geo.pr):
        return np.ascontiguousarray(x)
    xp = np.zeros((geo.N, geo.C, geo.Hp, geo.Wp), x.dtype)
    xp[:, :, geo.pt:geo.pt + geo.H, geo.pl:geo.pl + geo.W] = x
    return xp


def _windows(x: np.ndarray, geo: _Geometry) -> np.ndarray:
    """Strided view (N, G, C/G, kh, kw, *L) of the padded input: element (n, c, i, j, p) is the
    input under kernel offset (i, j) for output position p (no copy)."""
    xp = _pad(x, geo)
    N, C, G, kh, kw = geo.N, geo.C, geo.G, geo.kh, geo.kw
    sN, sC, sH, sW = xp.strides
    if geo.wide:
        v = as_strided(xp, (N, C, kh, kw, geo.L), (sN, sC, geo.dh * sH, geo.dw * sW, sW))
    else:
        v = as_strided(xp, (N, C, kh, kw, geo.Ho, geo.Wo),
                       (sN, sC, geo.dh * sH, geo.dw * sW, geo.sh * sH, geo.sw * sW))
    return v.reshape((N, G, C // G) + v.shape[2:])


def _column_chunks(v: np.ndarray, geo: _Geometry, ones: bool):
    """Yield (n0, n1, cols) with cols (n1-n0, G, C/G*kh*kw [+1], L): the im2col matrix of a
    few samples at a time, copied into one reused buffer small enough to stay in cache while
    its GEMM runs. With `ones`, each group's last row is ones, so the bias rides along in the
    GEMM (forward) and its gradient comes out of the weight-gradient GEMM (backward)."""
    N, G = geo.N, geo.G
    kg = v.shape[2] * geo.kh * geo.kw
    rows = G * (kg + ones) * geo.L
    nc = max(1, min(N, _CHUNK // max(rows, 1)))
    buf = np.empty((nc, G, kg + ones, geo.L), v.dtype)
    if ones:
        buf[:, :, kg] = 1
    for n0 in range(0, N, nc):
        m = min(nc, N - n0)
        cols = buf[:m]
        np.copyto(cols[:, :, :kg].reshape((m,) + v.shape[1:]), v[n0:n0 + m])
        yield n0, n0 + m, cols


def _column_rows(geo: _Geometry, ones: bool) -> int:
    return geo.C // geo.G * geo.kh * geo.kw + ones


def _out_view(flat: np.ndarray, geo: _Geometry, n: int) -> np.ndarray:
    """(n, O, Ho, Wo) view of wide GEMM results laid out (n, O, L)."""
    sN, sO, s = flat.strides
    return as_strided(flat, (n, geo.O, geo.Ho, geo.Wo), (sN, sO, geo.Wp * s, s))


def _grad_cols(g: np.ndarray, geo: _Geometry) -> np.ndarray:
    """The output gradient as (N, G, O/G, L) in the columns' layout (zeros in wide gaps)."""
    N, O = geo.N, geo.O
    if geo.wide and geo.Wp != geo.Wo:
        gw = np.zeros((N, O, geo.Ho * geo.Wp), g.dtype)
        gw.reshape(N, O, geo.Ho, geo.Wp)[:, :, :, :geo.Wo] = g
        gw = gw[:, :, :geo.L]
    else:
        gw = np.ascontiguousarray(g).reshape(N, O, geo.L)
    return gw.reshape(N, geo.G, O // geo.G, geo.L)


# ---- batch-last backward ---------------------------------------------------------------------
# With N the innermost axis, the part of the (padded, flattened) image that kernel offset (i, j)
# sees is ONE contiguous run per channel: x_t[:, s:s + L*N] with s = (i*dh*Wp + j*dw)*N. So the
# gradients need no column matrix at all: each offset is one small GEMM straight on a view.

def _batch_last_grad(g: np.ndarray, geo: _Geometry) -> np.ndarray:
    """The output gradient as (G, O/G, L*N), batch-last, zeros in the wide gaps."""
    N, O, G = geo.N, geo.O, geo.G
    if geo.wide:
        gt = np.zeros((O, geo.Ho, geo.Wp, N), g.dtype)
        gt[:, :, :geo.Wo, :] = batch_last(g)
        return gt.reshape(G, O // G, -1)[:, :, :geo.L * N]
    return batch_last(g).reshape(G, O // G, -1)


def _offsets(geo: _Geometry):
    for i in range(geo.kh):
        for j in range(geo.kw):
            yield i, j


def _weight_grad_batch_last(gt: np.ndarray, x: np.ndarray, geo: _Geometry) -> np.ndarray:
    """dW[:, :, i, j] = g_t @ x_t[offset (i, j)]^T for each kernel offset (wide geometry only).

    Shape: gt (G, O/G, L*N), x (N, C, H, W) -> dW (O, C/G, kh, kw)."""
    N, C, G = geo.N, geo.C, geo.G
    xp = _pad(x, geo)
    xt = batch_last(xp).reshape(G, C // G, -1)
    LN = geo.L * N
    dw = np.empty((geo.kh, geo.kw, G, geo.O // G, C // G), gt.dtype)
    for i, j in _offsets(geo):
        s = (i * geo.dh * geo.Wp + j * geo.dw) * N
        gemm(gt, xt[:, :, s:s + LN].transpose(0, 2, 1), out=dw[i, j])
    return dw.reshape(geo.kh, geo.kw, geo.O, C // G).transpose(2, 3, 0, 1)


def _input_grad(gt: np.ndarray, w: np.ndarray, geo: _Geometry) -> np.ndarray:
    """dx = sum over kernel offsets of W[:, :, i, j]^T @ g_t, added at each offset's place in the
    batch-last padded image (one small GEMM and one long slice-add per offset; no col2im).

    Shape: gt (G, O/G, L*N), w (O, C/G, kh, kw) -> dx (N, C, H, W)."""
    N, C, O, G = geo.N, geo.C, geo.O, geo.G
    cg, LN = C // G, gt.shape[2]
    # (kh, kw, G, C/G, O/G): the transposed weight of each offset, contiguous
    wt = np.ascontiguousarray(w.reshape(G, O // G, cg, geo.kh, geo.kw).transpose(3, 4, 0, 2, 1))
    if cg < _THIN_DX and geo.kh * geo.kw * C * LN <= _CHUNK * 16:
        # few input channels: each offset's product would be a GEMV re-reading all of g, so
        # all offsets' products come from one GEMM (reading g once), (kh, kw, G, C/G, L*N)
        kk = geo.kh * geo.kw
        allp = gemm(np.ascontiguousarray(wt.reshape(kk, G, cg, O // G).transpose(1, 0, 2, 3))
                    .reshape(G, kk * cg, O // G), gt)
        allp = allp.reshape(G, geo.kh, geo.kw, cg, LN).transpose(1, 2, 0, 3, 4)
        products = (allp[i, j] for i, j in _offsets(geo))
    else:
        tmp = np.empty((G, cg, LN), gt.dtype)
        products = (gemm(wt[i, j], gt, out=tmp) for i, j in _offsets(geo))
    if geo.wide:
        dxt = np.zeros((G, cg, geo.Hp * geo.Wp * N), gt.dtype)
        for (i, j), prod in zip(_offsets(geo), products):
            s = (i * geo.dh * geo.Wp + j * geo.dw) * N
            dst = dxt[:, :, s:s + LN]
            np.add(dst, prod, out=dst)
    else:
        dxt = np.zeros((G, cg, geo.Hp, geo.Wp, N), gt.dtype)
        eh = geo.sh * (geo.Ho - 1) + 1
        ew = geo.sw * (geo.Wo - 1) + 1
        for (i, j), prod in zip(_offsets(geo), products):
            r, c = i * geo.dh, j * geo.dw
            dst = dxt[:, :, r:r + eh:geo.sh, c:c + ew:geo.sw]
            np.add(dst, prod.reshape(G, cg, geo.Ho, geo.Wo, N), out=dst)
    dxt = dxt.reshape(C, geo.Hp, geo.Wp, N)[:, geo.pt:geo.pt + geo.H, geo.pl:geo.pl + geo.W]
    return batch_first(dxt)


# ---- batch-last forward and direct (strided-BLAS) backward ------------------------------------
# For stride 1 the columns of a few output rows are, per (channel, kernel offset), runs of Wo*N
# contiguous batch-last elements (no gap columns, long copies), and the GEMM result of a chunk
# is transposed to (N, O, rows, Wo) while it is still in cache. The backward's per-offset
# products read shifted windows of the batch-last input (dW) and ADD into shifted windows of
# the batch-last input gradient (dx) inside cblas_?gemm (beta = 1): no product buffer, no
# separate slice-adds (ops/_blas_strided.py; without cblas the NumPy routes above are used).

def _batch_last_input(xa: np.ndarray, geo: _Geometry) -> np.ndarray:
    """The zero-padded input batch-last, (C, Hp*Wp*N) C-contiguous."""
    N, C = geo.N, geo.C
    if not (geo.pt or geo.pb or geo.pl or geo.pr):
        return batch_last(xa).reshape(C, -1)
    xt = np.zeros((C, geo.Hp, geo.Wp, N), xa.dtype)
    xt[:, geo.pt:geo.pt + geo.H, geo.pl:geo.pl + geo.W] = batch_last(xa)
    return xt.reshape(C, -1)


def _forward_rows_applies(geo: _Geometry) -> bool:
    """Stride 1, a few samples (the batch is the copies' inner run), >= 128 column rows per
    group and >= 1/6 of the wide columns in gaps: there the gap-free GEMM saves more than the
    output's transposition costs (measured, batch 32-100: 5x5 6->12 @12 0.90x the wide
    columns' time, 32->64 @12 0.81x, 3x3 16->16 @10 0.85x; 3x3 3->32 @28 2.3x, 5x5 1->6
    @28 1.6x, 3x3 12->16 @20 1.4x, 5x5 4->8 @14 1.07x)."""
    return (geo.wide and geo.N >= 8 and geo.C // geo.G * geo.kh * geo.kw >= 128
            and 6 * (geo.Wp - geo.Wo) >= geo.Wp)


def _forward_rows(xt: np.ndarray, w2: np.ndarray, geo: _Geometry, has_bias: bool,
                  out: np.ndarray) -> None:
    """out = W @ columns, the columns built batch-last from xt a few output rows at a time."""
    N, G, O, Ho, Wo = geo.N, geo.G, geo.O, geo.Ho, geo.Wo
    cg, kh, kw = geo.C // G, geo.kh, geo.kw
    kg, run = cg * kh * kw, Wo * N
    it = xt.itemsize
    r = max(1, min(Ho, 2 * _CHUNK // ((kg + has_bias) * G * run)))
    buf = np.empty((G, kg + has_bias, r * run), xt.dtype)
    if has_bias:
        buf[:, kg] = 1
    row = geo.Wp * N * it  # bytes from one padded row to the next
    sc = geo.Hp * geo.Wp * N * it
    res = np.empty((G, O // G, r * run), out.dtype)
    for h0 in range(0, Ho, r):
        m = min(r, Ho - h0)
        v = as_strided(xt[:, h0 * geo.Wp * N:], (G, cg, kh, kw, m, run),
                       (cg * sc, sc, geo.dh * row, geo.dw * N * it, row, it))
        b = buf[:, :, :m * run]
        np.copyto(b[:, :kg].reshape(G, cg, kh, kw, m, run), v)
        p = few_rows(w2, b, res if m == r else np.empty((G, O // G, m * run), res.dtype))
        np.copyto(out[:, :, h0:h0 + m], p.reshape(O, m, Wo, N).transpose(3, 0, 1, 2))


def _weight_grad_direct(sg, gt: np.ndarray, xt: np.ndarray, geo: _Geometry) -> np.ndarray:
    """dW[:, :, i, j] = g_t @ x_t[offset (i, j)]^T per offset and group, straight on the
    windows (wide geometry). gt (G, O/G, L*N) with unit inner stride, xt (C, Hp*Wp*N)."""
    G, cg, og = geo.G, geo.C // geo.G, geo.O // geo.G
    LN, big = geo.L * geo.N, geo.Hp * geo.Wp * geo.N
    it = sg.item
    dw = np.empty((geo.kh, geo.kw, G, og, cg), gt.dtype)
    ga, xa, da = _blas_strided.address(gt), _blas_strided.address(xt), _blas_strided.address(dw)
    sgG, lda = gt.strides[0], gt.strides[1] // it
    for i, j in _offsets(geo):
        s = (i * geo.dh * geo.Wp + j * geo.dw) * geo.N
        for g in range(G):
            c = ((i * geo.kw + j) * G + g) * og * cg
            sg(og, cg, LN, ga + g * sgG, lda, xa + (g * cg * big + s) * it, big, 0.0,
               da + c * it, cg, tb=True)
    return dw.reshape(geo.kh, geo.kw, geo.O, cg).transpose(2, 3, 0, 1)


def _input_grad_direct(sg, gt: np.ndarray, w: np.ndarray, geo: _Geometry) -> np.ndarray:
    """dx = sum over offsets of W[:, :, i, j]^T @ g_t, each product accumulated by the GEMM
    itself into its offset's window of the batch-last padded gradient (wide geometry)."""
    N, C, G = geo.N, geo.C, geo.G
    cg, og = C // G, geo.O // G
    LN, big = geo.L * N, geo.Hp * geo.Wp * N
    it = sg.item
    wt = np.ascontiguousarray(w.reshape(G, og, cg, geo.kh, geo.kw).transpose(3, 4, 0, 2, 1))
    dxt = np.zeros((C, geo.Hp, geo.Wp, N), gt.dtype)
    ga, wa, da = _blas_strided.address(gt), _blas_strided.address(wt), _blas_strided.address(dxt)
    sgG, ldb = gt.strides[0], gt.strides[1] // it
    for i, j in _offsets(geo):
        s = (i * geo.dh * geo.Wp + j * geo.dw) * N
        for g in range(G):
            a = ((i * geo.kw + j) * G + g) * cg * og
            sg(cg, LN, og, wa + a * it, og, ga + g * sgG, ldb, 1.0,
               da + (g * cg * big + s) * it, big)
    dxt = dxt[:, geo.pt:geo.pt + geo.H, geo.pl:geo.pl + geo.W]
    return batch_first(dxt)


def _direct(geo: _Geometry, dtype, macs: int):
    """The strided GEMM for the direct backward, or None: not wide, too many calls, no cblas,
    or < 4 input channels per group (each product's rows are the input channels: with fewer,
    BLAS runs far below its speed; measured 3x3 3->32 @28 dx 2.5x slower, 5x5 1->6 @28 dW
    no faster than the columns; with 4-6: 5x5 6->12 @12 dx 0.69x, 3x3 4->8 @20 0.72x)."""
    if not geo.wide or geo.C // geo.G < 4 or geo.kh * geo.kw * geo.G > 256 or geo.N == 0:
        return None
    return _blas_strided.find(dtype, macs)


def _fold_batch(geo: _Geometry) -> bool:
    """Small feature maps (deep layers): per-sample GEMMs with a few columns each would re-read
    the whole weight matrix once per sample, so the batch goes into one GEMM's columns."""
    return geo.N > 1 and geo.L < 64 and _column_rows(geo, True) * geo.L * geo.N <= 4 * _CHUNK


def _folded_columns(xa: np.ndarray, geo: _Geometry, ones: bool) -> np.ndarray:
    """The im2col columns of all samples side by side: (G, C/G*kh*kw [+1], N*L)."""
    v = _windows(xa, geo)  # (N, G, C/G, kh, kw, *L)
    N, G = geo.N, geo.G
    kg = v.shape[2] * geo.kh * geo.kw
    cols = np.empty((G, kg + ones, N) + v.shape[5:], v.dtype)
    if ones:
        cols[:, kg] = 1
    np.copyto(cols[:, :kg].reshape((G,) + v.shape[2:5] + (N,) + v.shape[5:]),
              np.moveaxis(v, 0, 4))
    return cols.reshape(G, kg + ones, N * geo.L)


def _forward_folded(xa: np.ndarray, w2: np.ndarray, geo: _Geometry, has_bias: bool,
                    out: np.ndarray) -> None:
    """out = W @ columns, one GEMM over the whole batch."""
    N, L = geo.N, geo.L
    res = gemm(w2, _folded_columns(xa, geo, has_bias))  # (G, O/G, N*L)
    res = res.reshape(geo.O, N, L).transpose(1, 0, 2)
    if geo.wide:
        np.copyto(out, _out_view(np.ascontiguousarray(res), geo, N))
    else:
        np.copyto(out.reshape(N, geo.O, L), res)


@_double.twice_differentiable
class ConvolutionBackward0(Op):
    """out[n, o] = sum_{c,i,j} w[o, c, i, j] * xpad[n, c, s*p + d*(i, j)] + b[o]  (im2col GEMMs)

    dW[:, :, i, j] = sum_n,p g[n, :, p] xpad[n, :, s*p + d*(i, j)];  db = sum g;
    dx = sum over offsets (i, j) of W[:, :, i, j]^T g placed at the offset.

    Shape: x (N, C, *spatial), weight (O, C/groups, *kernel), bias (O,) or None, with 1 or 2
    spatial dims; `padding` is (top, bottom, left, right) for 2-d, (left, right) for 1-d.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        xa, wa = x._data, weight._data
        one_d = xa.ndim == 3
        if one_d:  # a 1-d convolution is a 2-d one over a height-1 image
            xa, wa = xa[:, :, None, :], wa[:, :, None, :]
            stride, dilation = (1,) + tuple(stride), (1,) + tuple(dilation)
            padding = (0, 0) + tuple(padding)
        geo = _Geometry(xa.shape, wa.shape, stride, padding, dilation, groups)
        G, og, O, L = groups, geo.O // groups, geo.O, geo.L
        has_bias = bias is not None
        if _strided.applies(geo):  # strided: one batch-folded GEMM (ops/conv_strided.py)
            out, xp = _strided.forward(xa, wa, bias._data if has_bias else None, geo)
            need = ctx.needs_input_grad
            if need[0] or need[1] or (has_bias and need[2]):
                ctx.geo, ctx.one_d, ctx.has_bias = geo, one_d, has_bias
                ctx.xp = xp if need[1] else None  # the weight gradient's input, ready padded
                ctx.save_for_backward(x, weight)
            return out[:, :, 0, :] if one_d else out
        w2 = wa.reshape(G, og, -1)
        if has_bias:
            w2 = np.concatenate([w2, bias._data.reshape(G, og, 1)], axis=2)
        out = np.empty((geo.N, O, geo.Ho, geo.Wo), np.result_type(xa, wa))
        xt = None
        if _fold_batch(geo):
            _forward_folded(xa, w2, geo, has_bias, out)
        elif _forward_rows_applies(geo):
            xt = _batch_last_input(xa, geo)
            _forward_rows(xt, w2, geo, has_bias, out)
        else:
            flat = None
            for n0, n1, cols in _column_chunks(_windows(xa, geo), geo, has_bias):
                m = n1 - n0
                if geo.wide:  # GEMM into a scratch chunk, then drop the gap columns
                    if flat is None:
                        flat = np.empty((cols.shape[0], G, og, L), out.dtype)
                    gemm(w2, cols, out=flat[:m])
                    np.copyto(out[n0:n1], _out_view(flat[:m].reshape(m, O, L), geo, m))
                else:
                    gemm(w2, cols, out=out[n0:n1].reshape(m, G, og, L))
        need = ctx.needs_input_grad
        if need[0] or need[1] or (has_bias and need[2]):
            ctx.geo, ctx.one_d, ctx.has_bias = geo, one_d, has_bias
            ctx.xt = xt if need[1] else None  # the weight gradient's batch-last input
            ctx.save_for_backward(x, weight)
        return out[:, :, 0, :] if one_d else out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        geo, need = ctx.geo, ctx.needs_input_grad
        g = grad._data
        if ctx.one_d:
            g = g[:, :, None, :]
        gx = gw = gb = None
        wa = weight._data
        need_w, need_b = need[1], ctx.has_bias and need[2]
        xa = x._data[:, :, None, :] if ctx.one_d else x._data
        if _strided.applies(geo):  # strided: one batch-folded GEMM per pass (conv_strided.py)
            dx, dw, db = _strided.backward(g, xa, wa.reshape(geo.O, -1, geo.kh, geo.kw), geo,
                                           need[0], need_w, need_b, ctx.xp)
            return (None if dx is None else _new(dx.reshape(x._data.shape)),
                    None if dw is None else _new(dw.reshape(wa.shape)),
                    None if db is None else _new(db), None, None, None, None)
        sg = _direct(geo, g.dtype, geo.O // geo.G * (geo.C // geo.G) * geo.L * geo.N) \
            if need[0] or need_w else None
        if sg is not None:  # per-offset GEMMs on windows of batch-last buffers
            gt = _batch_last_grad(g, geo)
            if need_w:
                xt = getattr(ctx, "xt", None)
                if xt is None:
                    xt = _batch_last_input(xa, geo)
                gw = _new(np.ascontiguousarray(_weight_grad_direct(sg, gt, xt, geo))
                          .reshape(wa.shape))
            if need_b:
                gb = _new(channel_sum(g))
            if need[0]:
                dx = _input_grad_direct(sg, gt, wa.reshape(geo.O, geo.C // geo.G, geo.kh,
                                                           geo.kw), geo)
                gx = _new(dx[:, :, 0, :] if ctx.one_d else dx)
            return gx, gw, gb, None, None, None, None
        # few input channels make the per-offset weight GEMMs too thin: use columns then
        batch_last_w = need_w and geo.wide and geo.C // geo.G >= 4
        gt = _batch_last_grad(g, geo) if need[0] or batch_last_w else None
        if batch_last_w:
            gw = _new(_weight_grad_batch_last(gt, xa, geo).reshape(wa.shape))
            if need_b:
                gb = _new(channel_sum(g))
        elif need_w or need_b:
            gc = _grad_cols(g, geo)
            dwt = None
            if _fold_batch(geo):  # one GEMM contracting over the whole batch's columns
                gf = gc.transpose(1, 0, 3, 2).reshape(geo.G, -1, geo.O // geo.G)
                dwt = gemm(_folded_columns(xa, geo, ctx.has_bias), gf)
            else:
                # per sample cols @ g^T, summed: (G, Kg [+1], O/G), the bias row giving db
                for n0, n1, cols in _column_chunks(_windows(xa, geo), geo, ctx.has_bias):
                    part = gemm(cols, gc[n0:n1].transpose(0, 1, 3, 2)).sum(axis=0)
                    if dwt is None:
                        dwt = part
                    else:
                        dwt += part
            if dwt is None:  # an empty batch
                dwt = np.zeros((geo.G, _column_rows(geo, ctx.has_bias), geo.O // geo.G), g.dtype)
            kg = dwt.shape[1] - ctx.has_bias
            if need_w:
                gw = _new(np.ascontiguousarray(dwt[:, :kg].transpose(0, 2, 1)).reshape(wa.shape))
            if need_b:
                gb = _new(dwt[:, kg].reshape(-1))
        if need[0]:
            dx = _input_grad(gt, wa.reshape(geo.O, geo.C // geo.G, geo.kh, geo.kw), geo)
            gx = _new(dx[:, :, 0, :] if ctx.one_d else dx)
        return gx, gw, gb, None, None, None, None


# ---- argument handling shared by F.conv1d / F.conv2d --------------------------------------

def _tuple(v, n: int, name: str):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(a) for a in v)
    if len(v) == 1 and n > 1:
        return v * n
    if len(v) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values "
                           f"to match the convolution dimensions, but got {name}={list(v)}")
    return v


_DT_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
             "int32": "int", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
             "bool": "bool"}
_SCALAR_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                 "int32": "Int", "uint8": "Byte", "int8": "Char", "int16": "Short", "bool": "Bool"}


def convolution(input, weight, bias, stride, padding, dilation, groups, nd: int):
    if _amp.on:  # autocast: convolutions run in the lower precision
        input, weight, bias = _amp_low(input, weight, bias)
    """F.conv1d / F.conv2d (nd = 1 or 2): checks and padding resolution as torch, then the op."""
    name = f"conv{nd}d"
    x, w = input._data, weight._data
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(x.shape)}")
    groups = int(groups)
    stride = _tuple(stride, nd, "stride")
    if w.ndim != nd + 2:
        if w.ndim > nd + 2:
            xs = list(x.shape) if x.ndim == nd + 2 else [1] + list(x.shape)
            raise RuntimeError(f"Expected {w.ndim}-dimensional input for {w.ndim}-dimensional "
                               f"weight {list(w.shape)}, but got {len(xs)}-dimensional input of "
                               f"size {xs} instead")
        raise RuntimeError(f"expected stride to be a single integer value or a list of "
                           f"{max(w.ndim - 2, 0)} values to match the convolution dimensions, but "
                           f"got stride={list(stride)}")
    dilation = _tuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    ksize = w.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0,) * (2 * nd)
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = ()
            for k, d in zip(ksize, dilation):
                total = d * (k - 1)
                pads += (total // 2, total - total // 2)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        p = _tuple(padding, nd, "padding")
        if any(a < 0 for a in p):
            raise RuntimeError("negative padding is not supported")
        pads = tuple(a for a in p for _ in (0, 1))
    unbatched = x.ndim == nd + 1
    C = x.shape[0] if unbatched else x.shape[1]
    if w.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size [{list(w.shape)}] instead")
    if C != w.shape[1] * groups:
        shape = [1] + list(x.shape) if unbatched else list(x.shape)
        raise RuntimeError(f"Given groups={groups}, weight of size {list(w.shape)}, expected "
                           f"input{shape} to have {w.shape[1] * groups} channels, but got {C} "
                           f"channels instead")
    if bias is not None and (bias._data.ndim != 1 or bias._data.shape[0] != w.shape[0]):
        raise RuntimeError(f"Given weight of size {list(w.shape)}, expected bias to be "
                           f"1-dimensional with {w.shape[0]} elements, but got bias of size "
                           f"{list(bias._data.shape)} instead")
    if x.dtype != w.dtype:
        raise RuntimeError(f"expected scalar type {_SCALAR_NAMES.get(x.dtype.name, x.dtype.name)} "
                           f"but found {_SCALAR_NAMES.get(w.dtype.name, w.dtype.name)}")
    if bias is not None and bias._data.dtype != x.dtype:
        raise RuntimeError(f"Input type ({_DT_NAMES.get(x.dtype.name)}) and bias type "
                           f"({_DT_NAMES.get(bias._data.dtype.name)}) should be the same")
    spatial = x.shape[-nd:]
    padded = tuple(s + pads[2 * i] + pads[2 * i + 1] for i, s in enumerate(spatial))
    eff = tuple(d * (k - 1) + 1 for k, d in zip(ksize, dilation))
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, eff))}). Kernel size can't be greater than "
                           f"actual input size")
    if unbatched:
        input = input.unsqueeze(0)
    if nd == 3:  # ---- apigaps: 3-d convolution (ops/conv3d.py) ----
        from .conv3d import ConvolutionBackward0 as Conv3d
        out = Conv3d.apply(input, weight, bias, stride, pads, dilation, groups)
        return out.squeeze(0) if unbatched else out
    # ---- convspeed: the algorithm by shape (Winograd F(2x2,3x3) where it wins) ----
    op = ConvolutionBackward0
    # (floating point only: the transforms have fractional coefficients)
    if nd == 2 and x.dtype.kind == "f" and use_winograd(input.shape, w.shape, stride, pads,
                                                        dilation, groups):
        op = WinogradConvolution
    elif nd == 2 and _phase.applies(input.shape, w.shape, stride, pads, dilation, groups,
                                    x.dtype):  # 4x4 stride 2: phases + Winograd F(4x4, 2x2)
        op = _phase.ConvolutionBackward0
    out = _double.record(op.apply(input, weight, bias, stride, pads, dilation, groups),
                         input, weight, stride, pads, dilation, groups)
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return convolution(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return convolution(input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return convolution(input, weight, bias, stride, padding, dilation, groups, 3)
