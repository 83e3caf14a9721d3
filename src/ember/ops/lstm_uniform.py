"""The LSTM layer's loop when every step has the whole batch (padded input, no projection).

ops/rnn.py's general loop works row-major, state (b, H), gates (b, 4H); this one keeps
everything transposed, state (H, b) and gates (4H, b), for two reasons measured at the issue-10
size (batch 32, hidden 256, 64 steps, one thread):

- A step's GEMM, gates^T = W @ [x_t; h_{t-1}; 1], runs as ONE stacked NumPy matmul of W's row
  blocks (OpenBLAS serves each 64-row block from its small-matrix kernels, which skip packing
  the weight every step): ~10% faster than one plain GEMM and without the Python loop over
  blocks that the row-major layout needs. The backward's dh^T = W_hh^T @ dA^T likewise.
- The new hidden state is written straight into the next step's GEMM operand, and c_t into its
  own slot of a (T + 1, H, b) array, so a step copies nothing.

The arithmetic is the general loop's (see LstmLayerBackward0 for the equations): gate rows in
the order (i, f, o, g), sigmoid(a) = 0.5 tanh(a / 2) + 0.5 with the sigmoid rows of the weights
pre-scaled by 0.5, one tanh over all gates.
"""
from __future__ import annotations

import numpy as np

from . import _gemm
from ._gemm import gemm, serial_blas

_tanh = np.tanh
_FWD_ROWS = 64  # rows per block of W in the forward's stacked GEMM
_BWD_ROWS = 16  # rows per block of W_hh^T in the backward's


def _blocks(M: np.ndarray, rows: int) -> np.ndarray:
    """M (R, K) as a contiguous stack (R / rows, rows, K) (one block when rows does not divide R)."""
    R = M.shape[0]
    if R % rows:
        rows = R
    return np.ascontiguousarray(M).reshape(R // rows, rows, M.shape[1])


def forward(X, h0, c0, Wr, Wih_p, Whh_p, steps, I, H, bias, save):
    """X (N, I) rows by time; steps [(offset, B)] in visit order, all of the same B; Wr (4H, K)
    the permuted, scaled [W_ih, W_hh, b]; Wih_p / Whh_p the permuted unscaled weights (kept for
    the backward). Returns (out (N, H), h_n (B, H), c_n (B, H), saved or None)."""
    dt = X.dtype
    T = len(steps)
    B = steps[0][1]
    K = Wr.shape[1]
    H3 = 3 * H
    # XT[j] = [x^T; h^T; 1] of the j-th visited step; XT[j + 1, I:I + H] receives h_j
    XT = np.empty((T + 1, K, B), dt)
    X3 = X.reshape(T, B, I)
    if steps[0][0] != 0:  # reverse: visit order is time order reversed
        X3 = X3[::-1]
    XT[:T, :I] = X3.transpose(0, 2, 1)
    XT[T, :I] = 0
    if bias:
        XT[:, K - 1] = 1
    XT[0, I:I + H] = 0 if h0 is None else h0.T
    C = np.empty((T + 1, H, B), dt)
    C[0] = 0 if c0 is None else c0.T
    G = np.empty((T, 4 * H, B), dt)
    TC = np.empty((T, H, B), dt)
    tmp = np.empty((H, B), dt)
    Wb = _blocks(Wr, _FWD_ROWS)
    gshape = (Wb.shape[0], Wb.shape[1], B)
    matmul = _gemm._matmul  # np.matmul, looked up here so bench/floor.py can time it
    with serial_blas():
        for j in range(T):
            g = G[j]
            matmul(Wb, XT[j], out=g.reshape(gshape))
            _tanh(g, out=g)
            sg = g[:H3]
            sg *= 0.5
            sg += 0.5
            c = C[j + 1]
            np.multiply(g[H:2 * H], C[j], out=c)      # f * c_{t-1}
            np.multiply(g[:H], g[H3:], out=tmp)       # i * g
            c += tmp
            tc = TC[j]
            _tanh(c, out=tc)
            np.multiply(tc, g[2 * H:H3], out=XT[j + 1, I:I + H])  # h_t = o * tanh(c_t)
    Hs = XT[1:, I:I + H].transpose(0, 2, 1)  # (T, B, H) in visit order
    if steps[0][0] != 0:
        Hs = Hs[::-1]
    out = np.ascontiguousarray(Hs).reshape(T * B, H)
    h_n = np.ascontiguousarray(XT[T, I:I + H].T)
    c_n = np.ascontiguousarray(C[T].T)
    saved = (XT, G, C, TC, Wih_p, Whh_p, steps, I, H) if save else None
    return out, h_n, c_n, saved


def backward(saved, gout, gh, gc, need_x, need_w):
    """Gradients (dx (N, I), dh0 (B, H), dc0 (B, H), dW (4H, K) permuted as Wr's columns
    [W_ih, W_hh, b] or None)."""
    XT, G, C, TC, Wih_p, Whh_p, steps, I, H = saved
    T, H4, B = G.shape
    H3 = 3 * H
    dt = G.dtype
    rev = steps[0][0] != 0
    GO = gout.reshape(T, B, H)
    if rev:
        GO = GO[::-1]
    GOT = np.ascontiguousarray(GO.transpose(0, 2, 1))  # (T, H, B), visit order
    dh = np.ascontiguousarray(gh.T)
    dc = np.ascontiguousarray(gc.T)
    # dA of all steps as (4H, T, B), the weight gradient's left operand: each step's dA is
    # built in the contiguous scratch d (the step GEMM's operand) and copied there while in
    # cache (a bulk transpose afterwards costs 4x that)
    DA = np.empty((H4, T, B), dt)
    d = np.empty((H4, B), dt)
    t1 = np.empty((H, B), dt)
    t3 = np.empty((H3, B), dt)
    Wb = _blocks(Whh_p.T, _BWD_ROWS)  # (H / r, r, 4H)
    dshape = (Wb.shape[0], Wb.shape[1], B)
    matmul = _gemm._matmul  # np.matmul, looked up here so bench/floor.py can time it
    with serial_blas():
        for j in range(T - 1, -1, -1):
            dh += GOT[j]
            a = G[j]
            o = a[2 * H:H3]
            gg = a[H3:]
            tc = TC[j]
            np.multiply(dh, tc, out=d[2 * H:H3])            # dL/do
            np.multiply(tc, tc, out=t1)                      # dc += dh o (1 - tanh^2 c)
            np.subtract(1, t1, out=t1)
            t1 *= o
            t1 *= dh
            dc += t1
            np.multiply(dc, gg, out=d[:H])                   # dL/di
            np.multiply(dc, C[j], out=d[H:2 * H])            # dL/df
            np.multiply(dc, a[:H], out=d[H3:])               # dL/dg
            np.subtract(1, a[:H3], out=t3)                   # through the sigmoids
            t3 *= a[:H3]
            d[:H3] *= t3
            np.multiply(gg, gg, out=t1)                      # through tanh
            np.subtract(1, t1, out=t1)
            d[H3:] *= t1
            dc *= a[H:2 * H]                                 # dc_{t-1} = dc f
            matmul(Wb, d, out=dh.reshape(dshape))            # dh_{t-1} = W_hh^T dA
            DA[:, j] = d
    DAr = DA.reshape(H4, T * B)
    dx = dW = None
    if need_x:  # (T * B, I) in visit order
        dxT = gemm(Wih_p.T, DAr).reshape(I, T, B)
        dxv = dxT.transpose(1, 2, 0)
        if rev:
            dxv = dxv[::-1]
        dx = np.ascontiguousarray(dxv).reshape(T * B, I)
    if need_w:
        XH = np.ascontiguousarray(XT[:T].transpose(0, 2, 1)).reshape(T * B, XT.shape[1])
        dW = gemm(DAr, XH)
    return dx, np.ascontiguousarray(dh.T), np.ascontiguousarray(dc.T), dW
