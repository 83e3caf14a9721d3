"""Strided convolution (stride > 1, where conv.py's contiguous "wide" columns do not apply) as
single batch-folded GEMMs, the layout ops/conv_transpose.py uses:

    columns  cols = im2col(x)  (G, C/G*kh*kw, Ho*Wo*N), one copy of a batch-last strided view;
    forward  out  = W cols;
    backward dW   = g cols^T,  dx = col2im(W^T g) (kh*kw slice-adds of contiguous N-runs).

Folding the batch into the GEMM's long dimension makes each pass one large GEMM instead of one
thin GEMM per sample (Ho*Wo columns each), which is what strided layers (DCGAN and VAE
encoders, ResNet downsampling) spend their time in.
"""
from __future__ import annotations

import numpy as np
from ._gemm import gemm
from numpy.lib.stride_tricks import as_strided


def applies(geo) -> bool:
    """Strided, with columns long enough (C/G*kh*kw >= 512) that the big GEMM, not the layout
    changes, dominates; shorter ones (first layers, thin 3x3s) are faster on conv.py's
    per-sample columns (measured: 64->128 k4 s2 batch 64 gains 1.15x, 16->32 k3 s2 loses)."""
    return not geo.wide and geo.C // geo.G * geo.kh * geo.kw >= 512


def _padded_batch_last(x: np.ndarray, geo) -> np.ndarray:
    """(N, C, H, W) -> zero-padded (C, Hp, Wp, N)."""
    xp = np.zeros((geo.C, geo.Hp, geo.Wp, geo.N), x.dtype)
    xp[:, geo.pt:geo.pt + geo.H, geo.pl:geo.pl + geo.W] = x.transpose(1, 2, 3, 0)
    return xp


def _cols(x: np.ndarray, geo) -> np.ndarray:
    """im2col (G, C/G*kh*kw, Ho*Wo*N): entry (c, i, j, p, q, n) is
    xpad[n, c, s*p + d*i, s*q + d*j]."""
    xp = _padded_batch_last(x, geo)
    sC, sH, sW, sN = xp.strides
    v = as_strided(xp, (geo.C, geo.kh, geo.kw, geo.Ho, geo.Wo, geo.N),
                   (sC, geo.dh * sH, geo.dw * sW, geo.sh * sH, geo.sw * sW, sN))
    return v.reshape(geo.G, geo.C // geo.G * geo.kh * geo.kw, geo.Ho * geo.Wo * geo.N)


def forward(x: np.ndarray, w: np.ndarray, bias, geo) -> np.ndarray:
    """out (N, O, Ho, Wo) = W cols (+ bias)."""
    G = geo.G
    out = gemm(w.reshape(G, geo.O // G, -1), _cols(x, geo))
    out = out.reshape(geo.O, geo.Ho, geo.Wo, geo.N)
    if bias is not None:
        out += bias.reshape(-1, 1, 1, 1)
    return np.ascontiguousarray(out.transpose(3, 0, 1, 2))


def backward(g: np.ndarray, x: np.ndarray, w: np.ndarray, geo, need_x: bool, need_w: bool,
             need_b: bool):
    """(dx, dW, db) of forward, each None where not needed."""
    G, N = geo.G, geo.N
    gt = np.ascontiguousarray(g.transpose(1, 2, 3, 0)).reshape(G, geo.O // G,
                                                                geo.Ho * geo.Wo * N)
    dx = dw = db = None
    if need_w:
        # (cols g^T)^T: the long dimension as the GEMM's inner one runs faster than g cols^T
        dw = gemm(_cols(x, geo), gt.transpose(0, 2, 1)).transpose(0, 2, 1)
        dw = np.ascontiguousarray(dw).reshape(w.shape)
    if need_b:
        db = g.sum(axis=(0, 2, 3))
    if need_x:
        wg = w.reshape(G, geo.O // G, -1).transpose(0, 2, 1)  # (G, C/G*kh*kw, O/G)
        cols = gemm(wg, gt).reshape(geo.C, geo.kh, geo.kw, geo.Ho, geo.Wo, N)
        dxp = np.zeros((geo.C, geo.Hp, geo.Wp, N), g.dtype)
        eh, ew = geo.sh * (geo.Ho - 1) + 1, geo.sw * (geo.Wo - 1) + 1
        for i in range(geo.kh):
            for j in range(geo.kw):
                r, c = i * geo.dh, j * geo.dw
                dst = dxp[:, r:r + eh:geo.sh, c:c + ew:geo.sw]
                np.add(dst, cols[:, i, j], out=dst)
        dxp = dxp[:, geo.pt:geo.pt + geo.H, geo.pl:geo.pl + geo.W]
        dx = np.ascontiguousarray(dxp.transpose(3, 0, 1, 2))
    return dx, dw, db
