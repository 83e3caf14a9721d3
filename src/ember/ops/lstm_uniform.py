"""The LSTM layer's loop when every step has the whole batch (padded input, no projection).

ops/rnn.py's general loop works row-major, state (b, H), gates (b, 4H); this one keeps
everything transposed, state (H, b) and gates (4H, b), for two reasons measured at the issue-10
size (batch 32, hidden 256, 64 steps, one thread):

- A step's GEMM, gates^T = W @ [x_t; h_{t-1}; 1], runs as ONE stacked NumPy matmul of W's row
  blocks (OpenBLAS serves each 64-row block from its small-matrix kernels, which skip packing
  the weight every step): ~10% faster than one plain GEMM and without the Python loop over
  blocks that the row-major layout needs. The backward's dh^T = W_hh^T @ dA^T likewise, reading
  W_hh^T as 16-row blocks of a transposed view of W_hh (no copy), and dx_t^T = W_ih^T @ dA^T
  in the same way inside the loop (cheaper than one (T b, 4H) x (4H, I) product after it).
- The new hidden state is written straight into the next step's GEMM operand and c_t next to
  the next step's gates, so a step copies nothing but its dA into the weight gradient's operand.

The arithmetic is the general loop's (see LstmLayerBackward0 for the equations): forward gate
rows in the order (i, f, o, g), sigmoid(a) = 0.5 tanh(a / 2) + 0.5 with the sigmoid rows of the
weights pre-scaled by 0.5, one tanh over all gates; the backward's dA rows in torch's order
(i, f, g, o), so it uses the weights as they are and its weight gradients need no reordering.

The weight gradient is taken from the layer's own input and output (row-major, time order)
rather than from the step operands: dW_ih = dA^T X, dW_hh = dA^T [h0; out] shifted one step,
db = dA^T 1. That needs no (T b, I + H + 1) copy of the operands; the output is saved for it
as torch saves it (an in-place write to it before backward raises torch's error).

Measured floor: the step GEMMs run at OpenBLAS's small-kernel peak and the weight gradient's
at its large-GEMM rate (bench/floor.py); what remains is ~30 NumPy calls per step on (H, b)
blocks, mostly loads of the saved activations from L3 (the step's weights, > 1 MB,
evict them from L2 every step).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _gemm
from ._gemm import gemm, serial_blas

_tanh = np.tanh
_FWD_ROWS = 64  # rows per block of W in the forward's stacked GEMM
_BWD_ROWS = 16  # rows per block of W_hh^T / W_ih^T in the backward's


def _blocks(M: np.ndarray, rows: int) -> np.ndarray:
    """M (R, K) as a contiguous stack (R / rows, rows, K) (one block when rows does not divide R)."""
    R = M.shape[0]
    if R % rows:
        rows = R
    return np.ascontiguousarray(M).reshape(R // rows, rows, M.shape[1])


def forward(X, h0, c0, Wr, steps, I, H, bias, save):
    """X (N, I) rows by time; steps [(offset, B)] in visit order, all of the same B; Wr (4H, K)
    the permuted, scaled [W_ih, W_hh, b]. Returns (out (N, H), h_n (B, H), c_n (B, H), saved or
    None)."""
    dt = X.dtype
    T = len(steps)
    B = steps[0][1]
    K = Wr.shape[1]
    H3 = 3 * H
    rev = steps[0][0] != 0  # reverse: visit order is time order reversed
    # XT[j] = [x^T; h^T; 1] of the j-th visited step; XT[j + 1, I:I + H] receives h_j
    XT = np.empty((T + 1, K, B), dt)
    X3 = X.reshape(T, B, I)
    if rev:
        X3 = X3[::-1]
    XT[:T, :I] = X3.transpose(0, 2, 1)
    XT[T, :I] = 0
    if bias:
        XT[:, K - 1] = 1
    XT[0, I:I + H] = 0 if h0 is None else h0.T
    # Z[j] = the j-th visited step's gates (i, f, o, g) and, after them, c_{j-1}: g next to
    # c_{j-1} lets [i, f] * [g, c_{j-1}] be one product in the forward and dc * [g, c_{j-1}]
    # one in the backward
    Z = np.empty((T + 1, 5, H, B), dt)
    Z[0, 4] = 0 if c0 is None else c0.T
    TC = np.empty((T, H, B), dt)
    t2 = np.empty((2, H, B), dt)
    i_g, f_c = t2[0], t2[1]
    Wb = _blocks(Wr, _FWD_ROWS)
    gshape = (Wb.shape[0], Wb.shape[1], B)
    matmul = _gemm._matmul  # np.matmul, looked up here so bench/floor.py can time it
    mul = np.multiply
    add = np.add
    tanh = _tanh
    half = np.array(0.5, dt)  # (a 0-d operand of the arrays' dtype: no scalar conversion a call)
    with serial_blas():  # (ufunc outputs passed positionally: the keyword costs per call)
        for j in range(T):
            z = Z[j]
            g = z[:4]
            matmul(Wb, XT[j], g.reshape(gshape))
            tanh(g, g)
            sg = z[:3]
            mul(sg, half, sg)
            add(sg, half, sg)
            mul(z[:2], z[3:], t2)                  # [i * g, f * c_{t-1}]
            c = Z[j + 1, 4]
            add(i_g, f_c, c)
            tc = TC[j]
            tanh(c, tc)
            mul(tc, z[2], XT[j + 1, I:I + H])      # h_t = o * tanh(c_t)
    Hs = XT[1:, I:I + H].transpose(0, 2, 1)  # (T, B, H) in visit order
    if rev:
        Hs = Hs[::-1]
    out = np.ascontiguousarray(Hs).reshape(T * B, H)
    h_n = np.ascontiguousarray(XT[T, I:I + H].T)
    c_n = np.ascontiguousarray(Z[T, 4].T)
    saved = (Z, TC, rev) if save else None
    return out, h_n, c_n, saved


def _tn_blocks(W: np.ndarray) -> np.ndarray:
    """W^T of W (4H, n) as the backward step's stacked left operand: a (n / r, r, 4H) view of W
    itself (no transposed copy; OpenBLAS takes the transposed small blocks as fast as copied
    ones)."""
    W = np.ascontiguousarray(W)
    R, n = W.shape
    r = _BWD_ROWS if n % _BWD_ROWS == 0 else n
    s = W.itemsize
    return as_strided(W, shape=(n // r, r, R), strides=(r * s, s, n * s), writeable=False)


def backward(saved, gout, gh, gc, X, out, h0, Wih, Whh, need_x, need_w):
    """Gradients (dx (N, I), dh0 (B, H), dc0 (B, H), (dW_ih, dW_hh, db) or None). X (N, I) and
    out (N, H) are the layer's input and output, h0 (B, H) or None; Wih (4H, I), Whh (4H, H)
    the layer's weights. dA is built in torch's gate order (i, f, g, o), so the step GEMMs read
    the weights as they are and the weight gradients come out in the weights' order."""
    Z, TC, rev = saved
    T, H, B = TC.shape
    H4 = 4 * H
    I = Wih.shape[1]
    dt = TC.dtype
    GOT = np.ascontiguousarray(gout.reshape(T, B, H).transpose(0, 2, 1))  # (T, H, B), time order
    dh = np.ascontiguousarray(gh.T)
    dc = np.ascontiguousarray(gc.T)
    # dA of all steps as (4H, T, B) in time order: the left operand of the weight gradient.
    # Each step's dA is built in the contiguous scratch d (the step GEMM's operand) and copied
    # there (a ring of several steps copied together measured the same)
    DA = np.empty((H4, T, B), dt) if need_w else None
    d4 = np.empty((4, H, B), dt)
    d, d_if, dg, do = d4.reshape(H4, B), d4[:2], d4[2], d4[3]
    t1 = np.empty((H, B), dt)
    t3 = np.empty((3, H, B), dt)
    t3_if, t3_o = t3[:2], t3[2]
    Vh = _tn_blocks(Whh)  # dh_{t-1} = W_hh^T dA
    dh_out = dh.reshape(Vh.shape[0], Vh.shape[1], B)
    if need_x:  # dx_t = W_ih^T dA, in the loop: cheaper than one (Tb, 4H) x (4H, I) after it
        Vx = _tn_blocks(Wih)
        DX = np.empty((T, I, B), dt)
        dxshape = (Vx.shape[0], Vx.shape[1], B)
    matmul = _gemm._matmul  # np.matmul, looked up here so bench/floor.py can time it
    mul = np.multiply
    add = np.add
    sub = np.subtract
    one = np.array(1, dt)
    with serial_blas():
        for j in range(T - 1, -1, -1):
            t = T - 1 - j if rev else j
            add(dh, GOT[t], dh)
            z = Z[j]  # i f o g c_{t-1}
            tc = TC[j]
            mul(dh, tc, do)                       # dL/do
            mul(do, tc, t1)                       # dc += o dh (1 - tanh^2 c)
            sub(dh, t1, t1)
            mul(t1, z[2], t1)
            add(dc, t1, dc)
            mul(z[3:], dc, d_if)                  # dL/di = dc g, dL/df = dc c_{t-1}
            mul(dc, z[0], dg)                     # dL/dg = dc i
            s3 = z[:3]
            sub(one, s3, t3)                      # through the sigmoids
            mul(t3, s3, t3)
            mul(d_if, t3_if, d_if)
            mul(do, t3_o, do)
            gg = z[3]
            mul(gg, gg, t1)                       # through tanh
            sub(one, t1, t1)
            mul(dg, t1, dg)
            mul(dc, z[1], dc)                     # dc_{t-1} = dc f
            matmul(Vh, d, dh_out)
            if need_x:
                matmul(Vx, d, DX[t].reshape(dxshape))
            if need_w:
                DA[:, t] = d
    dx = dW = None
    if need_x:  # (T * B, I) in time order
        dx = np.ascontiguousarray(DX.transpose(0, 2, 1)).reshape(T * B, I)
    if need_w:
        DAr = DA.reshape(H4, T * B)
        dwih = gemm(DAr, X)
        # h_{t-1} of time step t: the output one step before it in visit order, or h0
        if rev:
            dwhh = gemm(DAr[:, :-B], out[B:])
            first = DAr[:, -B:]
        else:
            dwhh = gemm(DAr[:, B:], out[:-B])
            first = DAr[:, :B]
        if h0 is not None:
            dwhh += gemm(first, h0)
        db = gemm(DAr, np.ones(T * B, dt))
        dW = (dwih, dwhh, db)
    return dx, np.ascontiguousarray(dh.T), np.ascontiguousarray(dc.T), dW
