"""Strided convolution (stride > 1, where conv.py's contiguous "wide" columns do not apply) as
single batch-folded GEMMs, the layout ops/conv_transpose.py uses:

    columns  cols = im2col(x)  (G, C/G*kh*kw, Ho*Wo*N), one copy of a batch-last strided view;
    forward  out  = W cols;
    backward dW   = g cols^T,  dx = col2im(W^T g) (kh*kw slice-adds of contiguous N-runs).

Folding the batch into the GEMM's long dimension makes each pass one large GEMM instead of one
thin GEMM per sample (Ho*Wo columns each), which is what strided layers (DCGAN and VAE
encoders, ResNet downsampling) spend their time in. The columns of the forward and of the
weight gradient go a few output rows at a time through one reused, cache-sized buffer: the
copy then writes to cache and its GEMM reads from there (the whole matrix, 4x the input for a
4x4 stride-2 kernel, went to memory and back).
"""
from __future__ import annotations

import numpy as np
from ._gemm import gemm
from .conv_layout import batch_first, batch_last
from .normalization import channel_sum
from numpy.lib.stride_tricks import as_strided


def applies(geo) -> bool:
    """Strided, with columns long enough (C/G*kh*kw >= 512) that the big GEMM, not the layout
    changes, dominates; shorter ones (first layers, thin 3x3s) are faster on conv.py's
    per-sample columns (measured: 64->128 k4 s2 batch 64 gains 1.15x, 16->32 k3 s2 loses).
    Also stride 1 on small maps (4 to 36 output pixels), where conv.py's wide columns compute
    a third or more of gap columns: resnet18's 256->256 3x3 @4x4, batch 8, fw+bw 8.5 -> 6.2
    ms, 512->512 @2x2 17.4 -> 8.1 ms (torch 9-10; with the weight gradient in its own layout,
    see backward)."""
    if geo.C // geo.G * geo.kh * geo.kw < 512:
        return False
    return not geo.wide or 4 <= geo.Ho * geo.Wo <= 36


def _padded_batch_last(x: np.ndarray, geo) -> np.ndarray:
    """(N, C, H, W) -> zero-padded (C, Hp, Wp, N)."""
    xp = np.zeros((geo.C, geo.Hp, geo.Wp, geo.N), x.dtype)
    xp[:, geo.pt:geo.pt + geo.H, geo.pl:geo.pl + geo.W] = batch_last(x)
    return xp


# elements of one chunk of columns: 1 MiB of float32, about a core's L2 cache
_CHUNK = 1 << 18
# weights of at least this many values get their gradient straight in their own layout
_OWN_LAYOUT = 1 << 18


def _windows(xp: np.ndarray, geo) -> np.ndarray:
    """Strided view (G, C/G, kh, kw, Ho, Wo, N) of the padded batch-last input xp: entry
    (g, c, i, j, p, q, n) is xpad[n, g*C/G + c, s*p + d*i, s*q + d*j] (no copy)."""
    sC, sH, sW, sN = xp.strides
    v = as_strided(xp, (geo.C, geo.kh, geo.kw, geo.Ho, geo.Wo, geo.N),
                   (sC, geo.dh * sH, geo.dw * sW, geo.sh * sH, geo.sw * sW, sN))
    return v.reshape((geo.G, geo.C // geo.G) + v.shape[1:])


def _row_chunks(xp: np.ndarray, geo):
    """Yield (p0, p1, cols), cols (G, C/G*kh*kw, (p1-p0)*Wo*N): the im2col columns of output
    rows p0..p1-1 of the padded batch-last input xp, copied into one reused buffer of about
    _CHUNK elements."""
    v = _windows(xp, geo)
    G, kg, span = geo.G, geo.C // geo.G * geo.kh * geo.kw, geo.Wo * geo.N
    rows = max(1, min(geo.Ho, _CHUNK // max(G * kg * span, 1)))
    buf = np.empty((G, kg, rows * span), xp.dtype)
    for p0 in range(0, geo.Ho, rows):
        m = min(rows, geo.Ho - p0)
        cols = buf[:, :, :m * span]
        np.copyto(cols.reshape(v.shape[:4] + (m,) + v.shape[5:]), v[:, :, :, :, p0:p0 + m])
        yield p0, p0 + m, cols


def forward(x: np.ndarray, w: np.ndarray, bias, geo):
    """(out (N, O, Ho, Wo) = W cols (+ bias), the padded batch-last input, which backward can
    take instead of making it again)."""
    G, og, span = geo.G, geo.O // geo.G, geo.Wo * geo.N
    w2 = w.reshape(G, og, -1)
    out = np.empty((G, og, geo.Ho * span), np.result_type(x, w))
    xp = _padded_batch_last(x, geo)
    for p0, p1, cols in _row_chunks(xp, geo):
        gemm(w2, cols, out=out[:, :, p0 * span:p1 * span])
    return batch_first(out.reshape(geo.O, geo.Ho, geo.Wo, geo.N), bias), xp


def backward(g: np.ndarray, x: np.ndarray, w: np.ndarray, geo, need_x: bool, need_w: bool,
             need_b: bool, xp=None):
    """(dx, dW, db) of forward, each None where not needed; xp is forward's padded input."""
    G, N = geo.G, geo.N
    gt = batch_last(g).reshape(G, geo.O // G, geo.Ho * geo.Wo * N)
    dx = dw = db = None
    if need_w:
        # sum over row chunks of cols g^T (the long dimension inside: faster than g cols^T)
        span = geo.Wo * N
        dwt = tmp = None
        if xp is None:
            xp = _padded_batch_last(x, geo)
        # a weight of 256K+ values (deep layers, small maps) comes out in its own layout, g
        # cols^T: transposing (C/G*kh*kw, O/G) back costs more than the slower GEMM order
        # (resnet18's 512->512 3x3: a 2.3 ms copy of 9.4 MB)
        own = w.size >= _OWN_LAYOUT
        for p0, p1, cols in _row_chunks(xp, geo):
            gc = gt[:, :, p0 * span:p1 * span]
            a, b = (gc, cols.transpose(0, 2, 1)) if own else (cols, gc.transpose(0, 2, 1))
            if dwt is None:
                dwt = gemm(a, b)
            else:
                tmp = gemm(a, b, out=tmp)
                dwt += tmp
        dw = (dwt if own else np.ascontiguousarray(dwt.transpose(0, 2, 1))).reshape(w.shape)
    if need_b:
        db = channel_sum(g)
    if need_x:
        # col2im(W^T g) a few output rows at a time: each chunk's columns stay in cache
        wg = w.reshape(G, geo.O // G, -1).transpose(0, 2, 1)  # (G, C/G*kh*kw, O/G)
        span = geo.Wo * N
        rows = max(1, min(geo.Ho, _CHUNK // max(geo.C * geo.kh * geo.kw * span, 1)))
        buf = np.empty((G, wg.shape[1], rows * span), g.dtype)
        dxp = np.zeros((geo.C, geo.Hp, geo.Wp, N), g.dtype)
        ew = geo.sw * (geo.Wo - 1) + 1
        for p0 in range(0, geo.Ho, rows):
            m = min(rows, geo.Ho - p0)
            cols = gemm(wg, gt[:, :, p0 * span:(p0 + m) * span], out=buf[:, :, :m * span])
            cols = cols.reshape(geo.C, geo.kh, geo.kw, m, geo.Wo, N)
            for i in range(geo.kh):
                r = i * geo.dh + geo.sh * p0
                for j in range(geo.kw):
                    c = j * geo.dw
                    dst = dxp[:, r:r + geo.sh * (m - 1) + 1:geo.sh, c:c + ew:geo.sw]
                    np.add(dst, cols[:, i, j], out=dst)
        dxp = dxp[:, geo.pt:geo.pt + geo.H, geo.pl:geo.pl + geo.W]
        dx = batch_first(dxp)
    return dx, dw, db
