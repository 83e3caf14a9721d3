"""One recurrent layer in one direction as a single op, with a hand-written backward through time.

The sequence arrives packed: `x` is (N, I), the rows of time step t are x[off[t]:off[t]+bs[t]]
with bs non-increasing (a PackedSequence's layout; a padded (T, B, I) batch is the case
bs = [B] * T). The rows active at a step are always a prefix of the batch, so every step works on
slices (views), never on masks: a sequence that has ended keeps its last state in the rows past
bs[t], which are the final states h_n / c_n; in the reverse direction a sequence starts from h0
when its row first becomes active.

Forward: the input projection of all N rows is one GEMM before the loop; each step is one GEMM
of the whole active batch against W_hh plus a few in-place ufuncs (the LSTM folds the input
projection and bias into its step GEMM instead: see LstmLayerBackward0). Backward: the loop runs
the steps in reverse with one GEMM per step for the gradient of the previous hidden state; the
weight and input gradients are one GEMM each over all steps after the loop.

Sigmoid is computed as 0.5 * tanh(0.5 * a) + 0.5: the forward copies of the sigmoid gates'
weights are pre-scaled by 0.5 (exact in floating point) so one tanh covers all gates of a step.

Gate order of the weights is torch's: LSTM (i, f, g, o), GRU (r, z, n). The LSTM forward
reorders rows to (i, f, o, g) so the sigmoid gates are contiguous; gradients are mapped back.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from .base import Op
from ._gemm import gemm as _matmul  # BLAS threads chosen per product (busy cores)
from . import lstm_uniform as _lstm_uniform

_new = Tensor._new
_tanh = np.tanh


# OpenBLAS (NumPy's BLAS) serves GEMMs with M*N*K up to 100^3 from kernels that skip packing the
# weight matrix. A step's GEMM (batch x K times K x N) is a few times larger; cut into blocks of
# at most 64 columns (and K halved as needed, partial products summed) it runs 10-40% faster
# (measured at batch 32, K = 256..1024, N = 256..1024).
_SMALL_MNK = 1_000_000


def _gemm_plan(rows: int, W: np.ndarray, n_steps: int = 64):
    """Blocks of W (K, N) small enough for the small-matrix kernels at `rows` rows:
    [(k0, k1, [(j0, j1, contiguous W[k0:k1, j0:j1]), ...]), ...], or None for one GEMM
    (also for a few steps, e.g. a cell's one: copying the blocks would cost more than it saves)."""
    if n_steps < 4:
        return None
    K, N = W.shape
    nc = min(64, N)
    kc = K
    if rows * nc * kc > _SMALL_MNK:
        nc = min(32, N)
    while rows * nc * kc > _SMALL_MNK and kc > 64:
        kc = (kc + 1) // 2
    if rows * nc * kc > _SMALL_MNK or (kc == K and nc == N):
        return None
    return [(k0, min(k0 + kc, K),
             [(j, min(j + nc, N), np.ascontiguousarray(W[k0:k0 + kc, j:j + nc]))
              for j in range(0, N, nc)])
            for k0 in range(0, K, kc)]


def _right_operand(WT: np.ndarray, plan, n_steps: int) -> np.ndarray:
    """WT as the per-step GEMM's right operand: a transposed view serves a few steps (or a plan,
    which copies its own blocks); many unplanned steps get a contiguous copy (~25% faster)."""
    if plan is None and n_steps >= 4:
        return np.ascontiguousarray(WT)
    return WT


def _rmul(a, W, plan, out):
    """out = a @ W, by the blocks of `plan` when there is one."""
    if plan is None:
        return _matmul(a, W, out=out)
    split = len(plan) > 1
    for n, (k0, k1, blocks) in enumerate(plan):
        src = a[:, k0:k1] if split else a
        dst = out if n == 0 else np.empty_like(out)
        for j0, j1, blk in blocks:
            _matmul(src, blk, out=dst[:, j0:j1])
        if n:
            out += dst
    return out


def _steps(batch_sizes, reverse: bool):
    """(row offset, batch size) of each time step, in the order the layer visits them."""
    out = []
    off = 0
    for b in batch_sizes:
        out.append((off, b))
        off += b
    if reverse:
        out.reverse()
    return out


def _state(h, B, width, dtype):
    """An initial state as a fresh (B, width) array (zeros when none is given)."""
    if h is None:
        return np.zeros((B, width), dtype)
    return np.array(h._data, dtype=dtype, order="C")


def _grad(needed, arr):
    return _new(arr) if needed else None


class _RNNLayer(Op):
    """Common argument handling. forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, steps)
    with x (N, I), h0 (B, Hout) or None, c0 (B, H) or None (LSTM only), biases and w_hr
    optional; `steps` from _steps. Returns (out (N, Hout), h_n (B, Hout)) and, for the LSTM,
    c_n (B, H)."""

    _free_attrs = ("arrays", "uniform")  # the saved activations: freed with the graph

    @staticmethod
    def _save(ctx):
        nig = ctx.needs_input_grad
        return nig[0] or nig[1] or nig[2] or nig[3] or nig[4] or nig[5] or nig[6] or nig[7]

    @staticmethod
    def _save_inputs(ctx, *inputs):
        """The input tensors, read only by a backward that builds a graph (create_graph)."""
        ctx.save_for_backward(*inputs[:8])
        ctx.steps = inputs[8]


class RnnTanhLayerBackward0(_RNNLayer):
    """h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh (relu: the subclass).

    Backward: a_t' = (dh_t + dout_t) * act'(h_t); dh_{t-1} = a_t' W_hh; dW_ih = sum_t a_t'^T x_t,
    dW_hh = sum_t a_t'^T h_{t-1}, db_ih = db_hh = sum_t a_t'.
    """
    _relu = False

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, steps):
        cls = type(ctx)
        X = x._data
        dt = X.dtype
        Wih = w_ih._data
        Whh = w_hh._data
        H = Whh.shape[0]
        B = max((b for _, b in steps), default=0)
        h = _state(h0, B, H, dt)
        G = _matmul(X, Wih.T)  # (N, H): becomes the output in place
        if b_ih is not None:
            G += b_ih._data
            G += b_hh._data
        WhhT = Whh.T
        save = cls._save(ctx)
        Hprev = np.empty_like(G) if save else None
        relu = cls._relu
        plan = _gemm_plan(B, WhhT, len(steps))
        WhhT = _right_operand(WhhT, plan, len(steps))
        tmp = np.empty((B, H), dt)
        for s, b in steps:
            g = G[s:s + b]
            hp = h[:b]
            if save:
                Hprev[s:s + b] = hp
            g += _rmul(hp, WhhT, plan, tmp[:b])
            if relu:
                np.maximum(g, 0, out=g)
            else:
                _tanh(g, out=g)
            h[:b] = g
        if save:
            ctx.arrays = (X, G, Hprev, Wih, Whh, steps)
            cls._save_inputs(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, steps)
            return G.copy(), h  # the saved activations stay private to the node
        return G, h

    @staticmethod
    def backward(ctx, gout, gh):
        if _grad_state.enabled:  # create_graph
            return _backward_graph(ctx, (gout, gh))
        if ctx.arrays is None:  # freed by an earlier backward: torch's error
            ctx._saved_arrays()
        X, G, Hprev, Wih, Whh, steps = ctx.arrays
        nig = ctx.needs_input_grad
        dh = np.array(gh._data, order="C")
        GO = gout._data
        DA = np.empty_like(G)
        relu = type(ctx)._relu
        plan = _gemm_plan(dh.shape[0], Whh, len(steps))
        for s, b in reversed(steps):
            d = DA[s:s + b]
            np.add(dh[:b], GO[s:s + b], out=d)
            a = G[s:s + b]
            if relu:
                d *= a > 0
            else:
                d *= 1 - a * a
            _rmul(d, Whh, plan, dh[:b])
        dx = _matmul(DA, Wih) if nig[0] else None
        db = DA.sum(0) if nig[5] or nig[6] else None
        return (_grad(nig[0], dx), _grad(nig[1], dh), None,
                _grad(nig[3], _matmul(DA.T, X) if nig[3] else None),
                _grad(nig[4], _matmul(DA.T, Hprev) if nig[4] else None),
                _grad(nig[5], db), _grad(nig[6], db), None, None)


class RnnReluLayerBackward0(RnnTanhLayerBackward0):
    __doc__ = RnnTanhLayerBackward0.__doc__
    _relu = True


def _lstm_perm(H: int) -> np.ndarray:
    """Row order (i, f, o, g) from torch's (i, f, g, o)."""
    r = np.arange(4 * H)
    return np.concatenate([r[:2 * H], r[3 * H:], r[2 * H:3 * H]])


class LstmLayerBackward0(_RNNLayer):
    """LSTM layer (optionally with projection, h_t = (o_t * tanh(c_t)) W_hr^T):
        i, f, g, o = sigma, sigma, tanh, sigma of (x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
        c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t).

    Backward per step (dh_t = carried + dout_t): dr = dh_t (W_hr when projecting),
    dc_t += dr * o * (1 - tanh^2 c_t); pre-activation gradients di*i(1-i), df*f(1-f),
    do*o(1-o), dg*(1-g^2) with di = dc g, df = dc c_{t-1}, do = dr tanh c_t, dg = dc i;
    dc_{t-1} = dc f, dh_{t-1} = dA_t W_hh.

    Each step's GEMM takes [x_t, h_{t-1}, 1] against [W_ih; W_hh; b]^T, so the gates need no
    separate input projection or bias pass, and the backward gets dW_ih, dW_hh and db from one
    GEMM, dA^T [X, H_prev, 1].
    """
    _uniform_ok = True  # the transposed loop for full batches (off: A/B timing, tests)
    _save_output = True  # the full-batch backward reads h_{t-1} from the output, as torch saves it

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, steps):
        X = x._data
        dt = X.dtype
        Whh = w_hh._data
        H4, Hout = Whh.shape
        H = H4 // 4
        H3 = 3 * H
        B = max((b for _, b in steps), default=0)
        perm = _lstm_perm(H)
        # rows reordered to (i, f, o, g); sigmoid(a) = 0.5 tanh(a / 2) + 0.5, so the i, f, o rows
        # are scaled by 0.5 (exact) and one tanh covers all gates
        N, I = X.shape
        bias = b_ih is not None
        K = I + Hout + bias
        Wr = np.empty((H4, K), dt)  # [W_ih, W_hh, b], gate rows permuted and scaled
        for src, dst, k in ((0, 0, 2 * H), (H3, 2 * H, H), (2 * H, H3, H)):  # i f | o | g
            half = 0.5 if dst < H3 else 1.0
            np.multiply(w_ih._data[src:src + k], half, out=Wr[dst:dst + k, :I])
            np.multiply(Whh[src:src + k], half, out=Wr[dst:dst + k, I:I + Hout])
            if bias:
                np.add(b_ih._data[src:src + k], b_hh._data[src:src + k], out=Wr[dst:dst + k, -1])
                Wr[dst:dst + k, -1] *= half
        proj = w_hr is not None
        save = LstmLayerBackward0._save(ctx)
        if (not proj and len(steps) > 1 and B and steps[0][1] == steps[-1][1] == B
                and dt.itemsize >= 4 and LstmLayerBackward0._uniform_ok):  # (half: gemm())
            # every step has the whole batch: the transposed loop (ops/lstm_uniform.py)
            out, hn, cn, ctx.uniform = _lstm_uniform.forward(
                X, h0._data if h0 is not None else None, c0._data if c0 is not None else None,
                Wr, steps, I, H, bias, save)
            if save:
                LstmLayerBackward0._save_inputs(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr,
                                                steps)
            return out, hn, cn
        ctx.uniform = None
        h = _state(h0, B, Hout, dt)
        c = _state(c0, B, H, dt)
        XH = np.empty((N, K), dt)  # rows [x_t, h_{t-1}, 1]
        XH[:, :I] = X
        if bias:
            XH[:, K - 1] = 1
        W = Wr.T  # (K, 4H), the step GEMM's right operand
        G = np.empty((N, H4), dt)  # pre-activations, turned into activations in place
        WhrT = np.ascontiguousarray(w_hr._data.T) if proj else None
        out = np.empty((N, Hout), dt)
        if save:
            Cprev = np.empty((N, H), dt)
            TC = np.empty((N, H), dt)
            R = np.empty((N, H), dt) if proj else None
        plan = _gemm_plan(B, W, len(steps))
        W = _right_operand(W, plan, len(steps))
        for s, b in steps:
            g = G[s:s + b]
            xh = XH[s:s + b]
            xh[:, I:I + Hout] = h[:b]
            cp = c[:b]
            if save:
                Cprev[s:s + b] = cp
            _rmul(xh, W, plan, g)
            _tanh(g, out=g)
            sg = g[:, :H3]
            sg *= 0.5
            sg += 0.5
            cp *= g[:, H:2 * H]                   # f * c_{t-1}
            cp += g[:, :H] * g[:, H3:]            # + i * g
            if save:
                tc = TC[s:s + b]
                _tanh(cp, out=tc)
            else:
                tc = _tanh(cp)
            if proj:
                r = tc * g[:, 2 * H:H3]
                if save:
                    R[s:s + b] = r
                ht = out[s:s + b]
                _matmul(r, WhrT, out=ht)
            else:
                ht = out[s:s + b]
                np.multiply(tc, g[:, 2 * H:H3], out=ht)
            h[:b] = ht
        if save:
            ctx.arrays = (XH, I, Hout, G, Cprev, TC, R, w_ih._data[perm], Whh[perm],
                          w_hr._data if proj else None, perm, steps)
            LstmLayerBackward0._save_inputs(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, steps)
        return out, h, c

    @staticmethod
    def backward(ctx, gout, gh, gc):
        if _grad_state.enabled:  # create_graph
            return _backward_graph(ctx, (gout, gh, gc))
        nig = ctx.needs_input_grad
        if ctx.uniform is not None:
            # the layer's input, weights and output (the weight gradient reads them), checked
            # for in-place writes since the forward as torch checks its saved tensors
            X, h0, _, Wih, Whh, _, _, _, out = ctx._saved_arrays()
            need_w = nig[3] or nig[4] or nig[5] or nig[6]
            dx, dh, dc, dW = _lstm_uniform.backward(
                ctx.uniform, gout._data, gh._data, gc._data, X, out, h0, Wih, Whh, nig[0],
                need_w)
            grads = (None,) * 4
            if dW is not None:
                db = dW[2] if nig[5] or nig[6] else None
                grads = (_grad(nig[3], dW[0]), _grad(nig[4], dW[1]), _grad(nig[5], db),
                         _grad(nig[6], db))
            return (_grad(nig[0], dx), _grad(nig[1], dh), _grad(nig[2], dc), *grads,
                    None, None)
        if ctx.arrays is None:  # freed by an earlier backward: torch's error
            ctx._saved_arrays()
        XH, I, Hout, G, Cprev, TC, R, Wih, Whh, Whr, perm, steps = ctx.arrays
        H = TC.shape[1]
        H3 = 3 * H
        dh = np.array(gh._data, order="C")
        dc = np.array(gc._data, order="C")
        GO = gout._data
        DA = np.empty_like(G)
        proj = Whr is not None
        DH = np.empty_like(GO) if proj else None
        plan = _gemm_plan(dh.shape[0], Whh, len(steps))
        for s, b in reversed(steps):
            dht = dh[:b]
            dht += GO[s:s + b]
            if proj:
                DH[s:s + b] = dht
                dr = _matmul(dht, Whr)
            else:
                dr = dht
            a = G[s:s + b]
            i = a[:, :H]
            f = a[:, H:2 * H]
            o = a[:, 2 * H:H3]
            gg = a[:, H3:]
            tc = TC[s:s + b]
            dct = dc[:b]
            d = DA[s:s + b]
            do = d[:, 2 * H:H3]
            np.multiply(dr, tc, out=do)           # dL/do
            dct += dr * o * (1 - tc * tc)
            np.multiply(dct, gg, out=d[:, :H])    # dL/di
            np.multiply(dct, Cprev[s:s + b], out=d[:, H:2 * H])  # dL/df
            np.multiply(dct, i, out=d[:, H3:])    # dL/dg
            sg = d[:, :H3]
            sg *= a[:, :H3] * (1 - a[:, :H3])      # through the sigmoids
            d[:, H3:] *= 1 - gg * gg                # through tanh
            dct *= f
            _rmul(d, Whh, plan, dht)
        dx = _matmul(DA, Wih) if nig[0] else None
        dW = _matmul(DA.T, XH) if nig[3] or nig[4] or nig[5] or nig[6] else None
        dwhr = _matmul(DH.T, R) if proj and nig[7] else None
        return (_grad(nig[0], dx), _grad(nig[1], dh), _grad(nig[2], dc),
                *_lstm_weight_grads(dW, perm, I, Hout, nig), _grad(nig[7], dwhr), None)


def _lstm_weight_grads(dW, perm, I, Hout, nig):
    """(dW_ih, dW_hh, db_ih, db_hh) from dW (4H, K) = [dW_ih, dW_hh, db] in gate order perm."""
    if dW is None:
        return None, None, None, None
    dW = dW[np.argsort(perm)]
    dwih = np.ascontiguousarray(dW[:, :I])
    dwhh = np.ascontiguousarray(dW[:, I:I + Hout])
    db = np.ascontiguousarray(dW[:, -1]) if nig[5] or nig[6] else None
    return _grad(nig[3], dwih), _grad(nig[4], dwhh), _grad(nig[5], db), _grad(nig[6], db)


class GruLayerBackward0(_RNNLayer):
    """GRU layer, torch's formulation:
        r, z = sigma(x_t W_i{r,z}^T + b_i{r,z} + h_{t-1} W_h{r,z}^T + b_h{r,z})
        n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn)),  h_t = n + z * (h_{t-1} - n).

    Backward per step: dn = dh (1 - z), dz = dh (h_{t-1} - n), da_n = dn (1 - n^2),
    da_r = da_n (W_hn h + b_hn) r (1 - r), da_z = dz z (1 - z); the hidden-side pre-activation
    gradient is (da_r, da_z, da_n * r); dh_{t-1} = dh z + that W_hh.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, steps):
        X = x._data
        dt = X.dtype
        Wih0 = w_ih._data
        Whh0 = w_hh._data
        H = Whh0.shape[1]
        H2 = 2 * H
        B = max((b for _, b in steps), default=0)
        h = _state(h0, B, H, dt)
        scale = np.ones((3 * H, 1), dt)
        scale[:H2] = 0.5  # sigmoid via tanh for r, z
        Wih = Wih0 * scale
        WhhT = (Whh0 * scale).T
        G = _matmul(X, Wih.T)  # (N, 3H): activations r, z, n in place
        bhn = None
        if b_ih is not None:
            bias = b_ih._data.copy()
            bias[:H2] += b_hh._data[:H2]
            bias *= scale[:, 0]
            G += bias
            bhn = b_hh._data[H2:]
        save = GruLayerBackward0._save(ctx)
        N = X.shape[0]
        out = np.empty((N, H), dt)
        if save:
            Hprev = np.empty((N, H), dt)
            GHN = np.empty((N, H), dt)
        plan = _gemm_plan(B, WhhT, len(steps))
        WhhT = _right_operand(WhhT, plan, len(steps))
        tmp = np.empty((B, 3 * H), dt)
        for s, b in steps:
            g = G[s:s + b]
            hp = h[:b]
            if save:
                Hprev[s:s + b] = hp
            gh = _rmul(hp, WhhT, plan, tmp[:b])
            rz = g[:, :H2]
            rz += gh[:, :H2]
            _tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            ghn = gh[:, H2:]
            if bhn is not None:
                ghn += bhn
            if save:
                GHN[s:s + b] = ghn
            n = g[:, H2:]
            n += g[:, :H] * ghn
            _tanh(n, out=n)
            ht = out[s:s + b]
            np.subtract(hp, n, out=ht)
            ht *= g[:, H:H2]
            ht += n
            hp[...] = ht
        if save:
            ctx.arrays = (X, G, Hprev, GHN, Wih0, Whh0, steps)
            GruLayerBackward0._save_inputs(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, steps)
        return out, h

    @staticmethod
    def backward(ctx, gout, gh):
        if _grad_state.enabled:  # create_graph
            return _backward_graph(ctx, (gout, gh))
        if ctx.arrays is None:  # freed by an earlier backward: torch's error
            ctx._saved_arrays()
        X, G, Hprev, GHN, Wih, Whh, steps = ctx.arrays
        nig = ctx.needs_input_grad
        H = GHN.shape[1]
        H2 = 2 * H
        dh = np.array(gh._data, order="C")
        GO = gout._data
        DH = np.empty_like(G)        # hidden-side pre-activation gradients
        DN = np.empty_like(GHN)      # input-side gradient of n's pre-activation
        plan = _gemm_plan(dh.shape[0], Whh, len(steps))
        tmp = np.empty_like(dh)
        for s, b in reversed(steps):
            dht = dh[:b]
            dht += GO[s:s + b]
            a = G[s:s + b]
            r = a[:, :H]
            z = a[:, H:H2]
            n = a[:, H2:]
            d = DH[s:s + b]
            dn = DN[s:s + b]
            np.multiply(dht, 1 - z, out=dn)
            dn *= 1 - n * n                        # da_n
            np.multiply(dn, GHN[s:s + b], out=d[:, :H])
            d[:, :H] *= r * (1 - r)                # da_r
            dz = d[:, H:H2]
            np.subtract(Hprev[s:s + b], n, out=dz)
            dz *= dht
            dz *= z * (1 - z)                      # da_z
            np.multiply(dn, r, out=d[:, H2:])      # hidden side of n: da_n * r
            dht *= z
            dht += _rmul(d, Whh, plan, tmp[:b])
        DX = DH.copy()
        DX[:, H2:] = DN
        dx = _matmul(DX, Wih) if nig[0] else None
        return (_grad(nig[0], dx), _grad(nig[1], dh), None,
                _grad(nig[3], _matmul(DX.T, X) if nig[3] else None),
                _grad(nig[4], _matmul(DH.T, Hprev) if nig[4] else None),
                _grad(nig[5], DX.sum(0) if nig[5] else None),
                _grad(nig[6], DH.sum(0) if nig[6] else None), None, None)


# ---- double backward ----------------------------------------------------------------------------
# Under create_graph the gradients must themselves be recorded. The layer is recomputed as a
# composite of recorded ember ops (a few per step) and differentiated by a nested autograd.grad
# with create_graph: the result is the same gradient, expressed in ops that can be
# differentiated again. The first-order path above never comes here.

def _composite(cls, ins, steps):
    """The layer's forward as recorded ember ops on the packed rows (as the fused forward)."""
    from ..ops.creation import zeros
    from ..ops.shape import cat
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = ins
    B = max((b for _, b in steps), default=0)
    lstm = cls is LstmLayerBackward0
    gru = cls is GruLayerBackward0
    H = w_hh.shape[0] // (4 if lstm else 3 if gru else 1)
    h = h0 if h0 is not None else zeros(B, w_hh.shape[1], dtype=x.dtype)
    c = (c0 if c0 is not None else zeros(B, H, dtype=x.dtype)) if lstm else None
    xw = x.matmul(w_ih.t())
    if b_ih is not None:
        xw = xw + b_ih
    rows = {}
    for s, b in steps:
        hp = h[:b]
        gi = xw[s:s + b]
        gh = hp.matmul(w_hh.t())
        if b_hh is not None:
            gh = gh + b_hh
        if lstm:
            a = gi + gh
            i, f, o = a[:, :H].sigmoid(), a[:, H:2 * H].sigmoid(), a[:, 3 * H:].sigmoid()
            cn = f * c[:b] + i * a[:, 2 * H:3 * H].tanh()
            hn = o * cn.tanh()
            if w_hr is not None:
                hn = hn.matmul(w_hr.t())
            c = cat([cn, c[b:]]) if b < B else cn
        elif gru:
            r = (gi[:, :H] + gh[:, :H]).sigmoid()
            z = (gi[:, H:2 * H] + gh[:, H:2 * H]).sigmoid()
            n = (gi[:, 2 * H:] + r * gh[:, 2 * H:]).tanh()
            hn = n + z * (hp - n)
        else:
            a = gi + gh
            hn = a.relu() if cls._relu else a.tanh()
        h = cat([hn, h[b:]]) if b < B else hn
        rows[s] = hn
    out = cat([rows[s] for s in sorted(rows)]) if rows else zeros(0, h.shape[1], dtype=x.dtype)
    return (out, h, c) if lstm else (out, h)


def _backward_graph(ctx, grads):
    """The layer's input gradients as recorded ops: autograd.grad (create_graph) of the
    composite forward, run on aliases of the inputs (views with nodes of their own), so the
    nested pass stops at them instead of running back into the inputs' own graphs."""
    from ..autograd.engine import grad as _autograd_grad
    ins = list(ctx.saved_tensors)[:8]  # (the LSTM also saves its output)
    nig = ctx.needs_input_grad
    want = [i for i, t in enumerate(ins) if t is not None and nig[i]]
    for i in want:
        ins[i] = ins[i].view_as(ins[i])
    outs = _composite(type(ctx), ins, ctx.steps)
    res = _autograd_grad(outs, [ins[i] for i in want], grads, create_graph=True,
                         allow_unused=True, materialize_grads=True)
    full = [None] * 9
    for i, g in zip(want, res):
        full[i] = g
    return tuple(full)


LAYER_OPS = {"RNN_TANH": RnnTanhLayerBackward0, "RNN_RELU": RnnReluLayerBackward0,
             "LSTM": LstmLayerBackward0, "GRU": GruLayerBackward0}


def rnn_layer(mode: str, x: Tensor, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes,
              reverse: bool):
    """Run one layer-direction over packed rows x (N, I) with per-step batch sizes.
    Returns (out, h_n) or, for the LSTM, (out, h_n, c_n)."""
    return LAYER_OPS[mode].apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr,
                                 _steps(batch_sizes, reverse))
