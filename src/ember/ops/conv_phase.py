"""4x4 stride-2 convolutions and transposed convolutions (DCGAN and VAE layers) by phase and
Winograd F(4x4, 2x2).

Phases: split by the parity of rows and columns, a 4x4 stride-2 convolution is a 2x2 stride-1
correlation over 4C channels (space-to-depth: input phase (r, s) meets kernel taps
(2e + r, 2f + s)), and a 4x4 stride-2 transposed convolution is four 2x2 stride-1 correlations
of the same input, one per output phase (rq, cq), i.e. one with 4*C_out outputs (output row
y = 2m + rq - pad gets taps rq + 2 - 2e of input rows m + e - 1).

Winograd F(4x4, 2x2) then does each 4x4 block of a 2x2 correlation's outputs with 25 products
per channel pair instead of 64 (2.56x fewer; 1.96x on the 7x7 maps of a 28x28 DCGAN, which
need 8x8 of tiles):
    Y = A^T [ sum_k (G w G^T) ⊙ (B^T d B) ] A      (d the 5x5 input tile, w the 2x2 taps)
with interpolation points 0, 1, -1, -1/2 and infinity (A^T, B^T small binary fractions). Its
float32 error is larger than a direct sum's: measured 5e-6 of the output's scale for 64 input
channels (torch's own float32 result: 4e-7), growing with the square root of the depth.

Layout: the channel sums are 25 batched GEMMs U[k] (O', K) @ V[k] (K, tiles * N); the
transforms are small GEMMs (5x5 and 4x5 matrices). Inputs are laid out rows-outer and
batch-last, (H, C, W, N): a tile band's five rows are five whole (C, W, N) blocks, which the row
transform's GEMM reads in place; the column transform and the gradient transforms are batched
small GEMMs on strided views, reading and writing runs of N in place; the output transform's
stages are one GEMM per component over all tiles, the pixels then put in place (and cropped)
by block copies with runs of N (_untile, _unphase). The kernel transform is separable: two
K=2 GEMMs on the taps gathered by one np.take.
On the 7x7/14x14 maps of the benchmarks the transforms and layout copies cost about as much
again as the (reduced) GEMMs; they are memory passes NumPy cannot fuse.

Backward: the input gradient of either is the other one's forward (a convolution's dx is the
transposed convolution of g with the same weight, and back), and the weight gradient is the
adjoint of the forward's linear maps: Z = A gY A^T per tile, dU = Z V^T (25 GEMMs, V saved
from the forward), dW = G^T dU G, taps put back in place.

Applies (see `applies`): 2-d, kernel 4x4, stride 2, dilation 1, groups 1, float32/float64,
at least MIN_CHANNELS channels a side and MIN_PAIRS channel pairs (thin layers are faster by
im2col), two tiles or more a side and at most MAX_WORK of direct's multiply-adds (odd sizes
waste tiles).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._tensor import Tensor
from .base import Op
from . import conv_double as _double
from ._gemm import gemm
from .conv_layout import batch_first, batch_last
from .normalization import channel_sum

_new = Tensor._new

# Winograd F(4, 2) at the points 0, 1, -1, -1/2, infinity (Toom-Cook construction)
_AT = np.array([[1, 1, 1, 1, 0], [0, 1, -1, -.5, 0], [0, 1, 1, .25, 0],
                [0, 1, -1, -.125, 1]])
_G = np.array([[-2, 0], [1 / 3, 1 / 3], [-1, 1], [8 / 3, -4 / 3], [0, 1]])
_BT = np.array([[-.5, -1, .5, 1, 0], [0, .5, 1.5, 1, 0], [0, -.5, -.5, 1, 0], [0, -1, 0, 1, 0],
                [0, -.5, -1, .5, 1]])
_MATS: dict = {}

# fewest channels on each side, and channel pairs, for this path (measured fw+bw, batch 64, 1
# thread, against conv_strided's im2col and conv_transpose's GEMM + col2im: the transforms cost
# (C + O) * pixels, the GEMMs C * O * pixels; 16->32 @14 gains 1.8x, ConvTranspose 32->16 @7
# 1.25x, 16->16 @28 loses 2-6%)
MIN_CHANNELS = 16
MIN_PAIRS = 512
# most Winograd multiply-adds, as a share of direct's, for this path: tiles cover the output in
# 4x4 blocks (rows 2m + rq - pad of a transposed one), so odd sizes waste part of them (measured:
# ConvTranspose 256->128 8x8 -> 16x16, 0.88 of direct's, loses 8%; 7x7 maps, 0.51, gain 10%)
MAX_WORK = 0.6


def _mat(name: str, dtype) -> np.ndarray:
    key = (name, dtype)
    m = _MATS.get(key)
    if m is None:
        m = _MATS[key] = np.ascontiguousarray({"AT": _AT, "A": _AT.T, "BT": _BT, "G": _G,
                                                "GT": _G.T}[name],
                                              dtype=dtype)
    return m


def applies(xshape, wshape, stride, padding, dilation, groups, dtype, out_hw=None) -> bool:
    """Whether a 2-d convolution (out_hw None; padding (top, bottom, left, right)) or transposed
    convolution (out_hw its output's (H, W); padding (ph, pw)) goes through this module."""
    if not (len(wshape) == 4 and tuple(wshape[2:]) == (4, 4) and tuple(stride) == (2, 2)
            and tuple(dilation) == (1, 1) and groups == 1 and dtype.kind == "f"
            and dtype.itemsize >= 4 and len(xshape) == 4 and xshape[0] > 0):
        return False
    H, W = xshape[2:]
    if out_hw is None:
        cin, cout = wshape[1], wshape[0]
        pt, pb, pl, pr = padding
        Ho, Wo = (H + pt + pb - 4) // 2 + 1, (W + pl + pr - 4) // 2 + 1
        Th, Tw = -(-Ho // 4), -(-Wo // 4)
        direct = Ho * Wo
    else:
        cin, cout = wshape[0], wshape[1]
        Th, Tw = -(-(out_hw[0] + padding[0]) // 8), -(-(out_hw[1] + padding[1]) // 8)
        direct = H * W
    # one tile a side: the per-call transforms of the weights (25/4 of them) dominate (measured)
    return (cin >= MIN_CHANNELS and cout >= MIN_CHANNELS and cin * cout >= MIN_PAIRS
            and Th >= 2 and Tw >= 2
            and 100 * Th * Tw <= MAX_WORK * 16 * direct)


# ---- the Winograd transforms (each tile's 5x5 input, 5x5 products, 4x4 output) ---------------
# Index order of the 25 components: 5b + a, a the row component, b the column component.

def _taps_view(a6: np.ndarray, kind: str, k_major: bool) -> np.ndarray:
    """a6, a 4x4 stride-2 weight viewed (A, B, 2, 2, 2, 2), as its 2x2 taps w2 (a view) laid
    out (i, j, O', K) or, k_major, (i, j, K, O') (the separable kernel transform works on any
    order of the last two):
    "conv" w (O, C, 4, 4): w2[i, j, o, (c, r, s)] = w[o, c, 2i + r, 2j + s];
    "convt" w (Cin, Cout, 4, 4): w2[i, j, (rq, cq, o), c] = w[c, o, rq + 2 - 2i, cq + 2 - 2j]."""
    if kind == "conv":  # (o, c, i, r, j, s) -> (i, j, o, c, r, s) or (i, j, c, r, s, o)
        return a6.transpose((2, 4, 1, 3, 5, 0) if k_major else (2, 4, 0, 1, 3, 5))
    # (c, o, 1 - i, rq, 1 - j, cq) -> (i, j, c, rq, cq, o) or (i, j, rq, cq, o, c)
    return a6[:, :, ::-1, :, ::-1, :].transpose((2, 4, 0, 3, 5, 1) if k_major
                                                else (2, 4, 3, 5, 1, 0))


def _taps_index(kind: str, wshape, k_major: bool):
    """Flat indices gathering a weight into _taps_view's order, and their inverse (taps back
    to the weight's layout), for weights of up to _TAPS_MOST values (else None): one np.take
    is 4x faster than NumPy's 6-d transposing copy with runs of 2. Gathers are fastest where
    consecutive taps come from nearby weights: conv's (O', K) and convt's (K, O') read each
    channel pair's 16 taps together (the other orders stride by 4 KB, 5x slower); the
    gradient's order follows its GEMM instead (see _weight_grad)."""
    size = int(np.prod(wshape))
    if size > _TAPS_MOST:
        return None
    key = (kind, tuple(wshape), k_major)
    hit = _TAPS.get(key)
    if hit is None:
        if len(_TAPS) >= 32:  # a bounded cache: one entry per layer shape in use
            _TAPS.clear()
        fwd = _taps_view(np.arange(size).reshape(tuple(wshape[:2]) + (2, 2, 2, 2)), kind,
                         k_major).ravel()
        inv = np.empty_like(fwd)
        inv[fwd] = np.arange(fwd.size)
        hit = _TAPS[key] = (fwd, inv)
    return hit


_TAPS: dict = {}
# weights with more values than this gather their taps by a transposing copy instead of an
# index (which would hold 16 bytes per weight value, twice)
_TAPS_MOST = 1 << 20


def _taps(w: np.ndarray, kind: str, k_major: bool) -> np.ndarray:
    """The weight's 2x2 taps in _taps_view's order, flat."""
    idx = _taps_index(kind, w.shape, k_major)
    if idx is not None:
        return np.take(w.reshape(-1), idx[0])
    return np.ascontiguousarray(_taps_view(w.reshape(w.shape[:2] + (2, 2, 2, 2)), kind,
                                           k_major)).reshape(-1)


def _untaps(taps: np.ndarray, kind: str, wshape, k_major: bool) -> np.ndarray:
    """_taps's inverse: flat taps back to a weight-shaped array."""
    idx = _taps_index(kind, wshape, k_major)
    if idx is not None:
        return np.take(taps, idx[1]).reshape(wshape)
    out = np.empty(wshape, taps.dtype)
    view = _taps_view(out.reshape(tuple(wshape[:2]) + (2, 2, 2, 2)), kind, k_major)
    view[...] = taps.reshape(view.shape)
    return out


def _kernel_transform(w: np.ndarray, kind: str) -> np.ndarray:
    """U (25, O', K) of the weight's 2x2 taps w2 (see _taps_view): U[b, a] = sum_ij G[a, i]
    G[b, j] w2[i, j], as two separable stages (each a K=2 GEMM over all taps at once; 3x faster
    than one (25, 4) product, whose 25-row output BLAS handles poorly). For "convt" U is the
    transposed view of a (25, K, O') array (BLAS reads either order at the same speed)."""
    k_major = kind == "convt"
    g = _mat("G", w.dtype)
    taps = _taps(w, kind, k_major)  # (i, j, O'K)
    n = taps.size // 4
    t1 = gemm(g, taps.reshape(2, 2 * n)).reshape(5, 2, n)  # (a, j, O'K)
    u = np.empty((5, 5, n), w.dtype)  # (b, a, O'K), written through its (a, b) view
    gemm(g, t1, out=u.transpose(1, 0, 2))
    if not k_major:
        return u.reshape(25, w.shape[0], -1)
    return u.reshape(25, w.shape[0], -1).transpose(0, 2, 1)


def _kernel_adjoint(du: np.ndarray, kind: str, wshape, k_major: bool) -> np.ndarray:
    """The weight's gradient (wshape) from U's, C-contiguous (25, O', K) or, k_major,
    (25, K, O'): _kernel_transform's transpose (both stages transposed, then the taps put
    back in the weight's layout)."""
    gt = _mat("GT", du.dtype)
    n = du[0].size
    s1 = gemm(gt, du.reshape(5, 5, n).transpose(1, 0, 2))  # (a, j, O'K)
    taps = gemm(gt, s1.reshape(5, 2 * n))  # (i, j O'K)
    return _untaps(taps.reshape(-1), kind, wshape, k_major)


def _weight_grad(z: np.ndarray, v: np.ndarray, kind: str, wshape) -> np.ndarray:
    """The weight's gradient from Z (25, O', P) and the forward's V (25, K, P): dU = Z V^T,
    computed as whichever of Z V^T and V Z^T has more rows than columns (OpenBLAS runs that
    transposed-B product 10-15% faster: 25 x (128 x 256 x 256) 5.0 ms against 5.9), then the
    adjoint kernel transform."""
    if v.shape[1] >= z.shape[1]:
        return _kernel_adjoint(gemm(v, z.transpose(0, 2, 1)), kind, wshape, True)
    return _kernel_adjoint(gemm(z, v.transpose(0, 2, 1)), kind, wshape, False)


# bytes of the row stage's result per channel chunk of the input transform: small enough that
# the column stage reads it from cache (measured, 64->128 @14, batch 64: 16 channels a chunk,
# 1.5 MB, 0.89 ms against 1.14 for all channels at once)
_TRANSFORM_BYTES = 3 << 19


def _input_transform(xp: np.ndarray, rows_of, cols_view, v: np.ndarray) -> np.ndarray:
    """V = B^T d B for every 5x5 input tile d (at stride 4), into v (channels on axis 2).

    rows_of(xc) views each tile row-band's 5 rows of xc = xp[:, c0:c1] (rows-outer, so a
    row's channels are one run) as 5 contiguous runs of M, in place (no copy); cols_view(R, m)
    views the row-transformed R (..., 5a, M) of m channels as (5a, ..., 5l, N), each tile's five
    columns as a (5, N) matrix, and v as (5b, 5a, ..., N) is written through its transposed
    view (5a, ..., 5b, N): both stages are GEMMs on views, with no gather. A few channels at a
    time, so that R stays in cache between the stages."""
    bt = _mat("BT", xp.dtype)
    C = xp.shape[1]
    per = rows_of(xp[:, :1]).size * xp.itemsize
    cb = max(1, min(C, _TRANSFORM_BYTES // max(per, 1)))
    for c0 in range(0, C, cb):
        xc = xp[:, c0:c0 + cb]
        m = xc.shape[1]
        r = gemm(bt, rows_of(xc))  # rows transformed: (..., 5a, M)
        gemm(bt, cols_view(r, m), out=np.moveaxis(v[:, :, c0:c0 + m], 0, -2))
    return v


def _output_transform(m: np.ndarray, out_of, ob: int) -> None:
    """A^T M A per tile from M (25 = (5b, 5a), O', P), ob of the O' channels at a time (so
    that each chunk's first-stage result is read back from cache). Chunk k's first stage gives
    Y1 (4j, 5a, b*P), its second one GEMM per column component j over all of the chunk's
    tiles, (4i, 5a) @ Y1[j], into out_of(k, o0, o1): a (4j, 4i, b*P) view of the caller's
    buffer (tile component (i, j) outermost; _untile puts the pixels in place afterwards: one
    copy with runs of N, cheaper than the 1000s of 4x64 products writing them in place)."""
    at = _mat("AT", m.dtype)
    Op, P = m.shape[1:]
    m5 = m.reshape(5, 5, Op, P)
    y1 = np.empty((4, 5, min(ob, Op), P), m.dtype)
    for k, o0 in enumerate(range(0, Op, ob)):
        b = min(ob, Op - o0)
        y = y1[:, :, :b]
        # the first stage batched over a: (5a, 5b, b*P) -> (5a, 4j, b*P), into y's view
        gemm(at, m5[:, :, o0:o0 + b].transpose(1, 0, 2, 3).reshape(5, 5, b * P),
             out=y.reshape(4, 5, b * P).transpose(1, 0, 2))
        gemm(at, y.reshape(4, 5, b * P), out=out_of(k, o0, o0 + b))


def _untile(src: np.ndarray, Ho: int, Wo: int) -> np.ndarray:
    """A new C-contiguous (C, Ho, Wo, N) from 4x4 tiles src (C, T, 4i, U, 4j, N) (any strides):
    pixel (4t + i, 4u + j), the partial last tile row and column cropped (at most four
    block copies)."""
    C, N = src.shape[0], src.shape[5]
    out = np.empty((C, Ho, Wo, N), src.dtype)
    ft, fu = Ho // 4, Wo // 4
    for t0, nt, ni in ((0, ft, 4), (ft, 1, Ho - 4 * ft)):
        for u0, nu, nj in ((0, fu, 4), (fu, 1, Wo - 4 * fu)):
            if nt and ni and nu and nj:
                dst = out[:, 4 * t0:4 * t0 + nt * ni, 4 * u0:4 * u0 + nu * nj]
                np.copyto(dst.reshape(C, nt, ni, nu, nj, N),
                          src[:, t0:t0 + nt, :ni, u0:u0 + nu, :nj])
    return out


def _phase_segments(r: int, pad: int, size: int, T: int) -> list:
    """The output positions of phase r along one dim, as runs over the tiles: a transposed
    convolution's pixel 2m + r - pad for m = 4t + i (tile t, component i), kept where inside
    [0, size). Returns (t0, nt, i0, ni, first) per run of whole tiles or part of one tile
    (at most three: a partial first tile, whole tiles, a partial last one)."""
    lo = max(0, -(-(pad - r) // 2))
    hi = min(4 * T - 1, (size - 1 + pad - r) // 2)
    if hi < lo:
        return []
    tf, tl = lo // 4, hi // 4
    if tf == tl:
        return [(tf, 1, lo % 4, hi - lo + 1, 2 * lo + r - pad)]
    runs = []
    t0, t1 = tf, tl
    if lo % 4:
        runs.append((tf, 1, lo % 4, 4 - lo % 4, 2 * lo + r - pad))
        t0 = tf + 1
    if hi % 4 != 3:
        t1 = tl - 1
    if t1 >= t0:
        runs.append((t0, t1 - t0 + 1, 0, 4, 2 * (4 * t0) + r - pad))
    if hi % 4 != 3:
        runs.append((tl, 1, 0, hi % 4 + 1, 2 * (4 * tl) + r - pad))
    return runs


def _unphase(yt: np.ndarray, Ho: int, Wo: int, ph: int, pw: int) -> np.ndarray:
    """A new C-contiguous (C, Ho, Wo, N) from a transposed convolution's output by phase and
    tile, yt (2rq, 2cq, 4j, 4i, C, T, U, N): pixel (2(4t + i) + rq - ph, 2(4u + j) + cq - pw),
    cropped, in one pass of block copies with runs of N (per phase, at most 3 x 3 blocks)."""
    C, T, U, N = yt.shape[4:]
    out = np.empty((C, Ho, Wo, N), yt.dtype)
    for rq in range(2):
        rows = _phase_segments(rq, ph, Ho, T)
        for cq in range(2):
            src = yt[rq, cq].transpose(2, 3, 1, 4, 0, 5)  # (c, t, i, u, j, n)
            for t0, nt, i0, ni, h0 in rows:
                for u0, nu, j0, nj, w0 in _phase_segments(cq, pw, Wo, U):
                    dst = out[:, h0:h0 + 2 * nt * ni - 1:2, w0:w0 + 2 * nu * nj - 1:2]
                    np.copyto(dst.reshape(C, nt, ni, nu, nj, N),
                              src[:, t0:t0 + nt, i0:i0 + ni, u0:u0 + nu, j0:j0 + nj])
    return out


def _grad_transform(gv: np.ndarray, z1: np.ndarray, z1v: np.ndarray, Op: int) -> np.ndarray:
    """Z (25, O', P) = A gY A^T per tile (the adjoint of the output transform): gv views gY's
    tiles (4i, ..., 4j, N) straight in the laid-out gradient; the first stage goes into z1
    (5b, 4i, O', P) through its view z1v (4i, ..., 5b, N)."""
    a = _mat("A", z1.dtype)
    gemm(a, gv, out=z1v)
    return gemm(a, z1.reshape(5, 4, -1)).reshape(25, Op, -1)


def _rows_outer(a: np.ndarray, Hq: int, Wq: int, pt: int, pl: int) -> np.ndarray:
    """a (N, C, H, W) zero-padded to (Hq, C, Wq, N), a's pixel (h, w) at (pt + h, pl + w) (and
    cropped to fit). Rows outermost: a tile's rows are whole (C, Wq, N) blocks, which the input
    transform's GEMM reads in place; the batch innermost: every gather moves runs of N."""
    N, C, H, W = a.shape
    out = np.zeros((Hq, C, Wq, N), a.dtype)
    h1, w1 = min(H, Hq - pt), min(W, Wq - pl)
    # transposed to (C, H, W, N) first (conv_layout.batch_last), then moved in runs of W*N
    out[pt:pt + h1, :, pl:pl + w1] = batch_last(a)[:, :h1, :w1].transpose(1, 0, 2, 3)
    return out


def _layout(a: np.ndarray, Hq: int, Wq: int, pt: int, pl: int, al) -> np.ndarray:
    """_rows_outer(a, Hq, Wq, pt, pl), or its view in al = (the same array laid out by
    _rows_outer with padding at least (pt, pl) in front, that padding)."""
    if al is None:
        return _rows_outer(a, Hq, Wq, pt, pl)
    at, ot, ol = al
    return at[ot - pt:ot - pt + Hq, :, ol - pl:ol - pl + Wq]


# ---- 4x4 stride-2 convolution = 2x2 correlation over 4C channels -----------------------------

def conv_forward(x: np.ndarray, w: np.ndarray, pt: int, pl: int, Ho: int, Wo: int,
                 keep_v: bool, xl=None):
    """out (N, O, Ho, Wo) = conv2d(x, w, stride 2) with the zero padding's top/left (pt, pl)
    (bottom/right follow from Ho, Wo); and V (25, 4C, P) when keep_v (for the weight gradient).
    xl: x already laid out by _rows_outer with padding (pt, pl) and at least this size.

    Shape: x (N, C, H, W), w (O, C, 4, 4)."""
    N, C, H, W = x.shape
    O = w.shape[0]
    Th, Tw = -(-Ho // 4), -(-Wo // 4)
    xp = _rows_outer(x, 8 * Th + 2, 8 * Tw + 2, pt, pl) if xl is None else xl  # (Hq, C, Wq, N)
    Wq = xp.shape[2]
    # space-to-depth tile rows: band (t, r) is padded rows 8t + r + 2j, j = 0..4
    sH = xp.strides[0]

    def rows(xc):  # band (t, r) of xc's channels: 5 runs of (c, w, n)
        return as_strided(xc, (Th, 2, 5, xc[0].size), (8 * sH, sH, 2 * sH, xc.itemsize))

    def cols(r, m):  # (t, r, a, c, w, n) -> [a, (c, r, s), t, u | l, n] at w = 2(4u + l) + s
        r = r.reshape(Th, 2, 5, m, Wq, N)
        st = r.strides
        return as_strided(r, (5, m, 2, 2, Th, Tw, 5, N),
                          (st[2], st[3], st[1], st[4], st[0], 8 * st[4], 2 * st[4], st[5]))
    v = _input_transform(xp, rows, cols, np.empty((5, 5, C, 2, 2, Th, Tw, N), x.dtype))
    v = v.reshape(25, 4 * C, -1)
    m = gemm(_kernel_transform(w, "conv"), v)  # (25, O, P)
    # the output transform's result by tile component, (4j, 4i, O, Th, Tw, N), then the pixels
    # batch-last (O, Ho, Wo, N) and one transpose to (N, O, Ho, Wo) (conv_layout.batch_first)
    yt = np.empty((4, 4, O, Th, Tw, N), x.dtype)
    # channels a chunk: about 1.5 MB of first-stage result (64->128 @14 batch 64: 76 of 128)
    _output_transform(m, lambda k, o0, o1: yt[:, :, o0:o1].reshape(4, 4, -1),
                      max(1, _TRANSFORM_BYTES // (20 * m.shape[2] * m.itemsize)))
    full = _untile(yt.transpose(2, 3, 1, 4, 0, 5), Ho, Wo)
    return batch_first(full), (v if keep_v else None)


def conv_weight_grad(g: np.ndarray, v: np.ndarray, C: int, gl=None) -> np.ndarray:
    """dW (O, C, 4, 4) of conv_forward from g (N, O, Ho, Wo) and the forward's V (gl: g laid out
    by _rows_outer with a padding, see _layout)."""
    N, O, Ho, Wo = g.shape
    Th, Tw = -(-Ho // 4), -(-Wo // 4)
    gt = _layout(g, 4 * Th, 4 * Tw, 0, 0, gl).reshape(Th, 4, O, Tw, 4, N)  # (t, i, o, u, j, n)
    z1 = np.empty((5, 4, O, Th, Tw, N), g.dtype)
    z = _grad_transform(gt.transpose(1, 2, 0, 3, 4, 5), z1, z1.transpose(1, 2, 3, 4, 0, 5), O)
    return _weight_grad(z, v, "conv", (O, C, 4, 4))


# ---- 4x4 stride-2 transposed convolution = four 2x2 correlations (one per output phase) ------

def convt_forward(x: np.ndarray, w: np.ndarray, ph: int, pw: int, Ho: int, Wo: int,
                  keep_v: bool, xl=None):
    """out (N, Cout, Ho, Wo) = conv_transpose2d(x, w, stride 2, padding (ph, pw)) (output
    padding is in Ho, Wo); and V (25, Cin, P) when keep_v. xl: x already laid out by
    _rows_outer with padding (1, 1) and at least this size.

    Shape: x (N, Cin, H, W), w (Cin, Cout, 4, 4)."""
    N, Ci, H, W = x.shape
    Co = w.shape[1]
    Th, Tw = -(-(Ho + ph) // 8), -(-(Wo + pw) // 8)
    # input padded by one row/column in front: (4Th+1, Cin, 4Tw+1, N)
    xp = _rows_outer(x, 4 * Th + 1, 4 * Tw + 1, 1, 1) if xl is None else xl
    Wx = xp.shape[2]
    # tile rows: band t is rows 4t + j, j = 0..4, each a (Cin, Wx, N) block
    sH = xp.strides[0]

    def rows(xc):  # band t of xc's channels: 5 runs of (c, w, n)
        return as_strided(xc, (Th, 5, xc[0].size), (4 * sH, sH, xc.itemsize))

    def cols(r, m):  # (t, a, c, w, n) -> [a, c, t, u | l, n] at w = 4u + l
        r = r.reshape(Th, 5, m, Wx, N)
        st = r.strides
        return as_strided(r, (5, m, Th, Tw, 5, N),
                          (st[1], st[2], st[0], 4 * st[3], st[3], st[4]))
    v = _input_transform(xp, rows, cols, np.empty((5, 5, Ci, Th, Tw, N), x.dtype))
    v = v.reshape(25, Ci, -1)
    m = gemm(_kernel_transform(w, "convt"), v)  # (25, (rq, cq, o), P)
    # by output phase and tile component, (rq, cq, 4j, 4i, Cout, Th, Tw, N): output row
    # 2(4t + i) + rq - ph, column 2(4u + j) + cq - pw; one output phase (rq, cq) a chunk
    yt = np.empty((2, 2, 4, 4, Co, Th, Tw, N), x.dtype)
    _output_transform(m, lambda k, o0, o1: yt[divmod(k, 2)].reshape(4, 4, -1), Co)
    # the pixels in place, batch-last and cropped (Cout, Ho, Wo, N), then transposed
    return batch_first(_unphase(yt, Ho, Wo, ph, pw)), (v if keep_v else None)


def convt_weight_grad(g: np.ndarray, v: np.ndarray, Ci: int, ph: int, pw: int,
                      gl=None) -> np.ndarray:
    """dW (Cin, Cout, 4, 4) of convt_forward from g (N, Cout, Ho, Wo) and the forward's V (gl:
    g laid out by _rows_outer with a padding, see _layout)."""
    N, Co, Ho, Wo = g.shape
    Th, Tw = -(-(Ho + ph) // 8), -(-(Wo + pw) // 8)
    # gY[j, i, (rq, cq, o), t, u, n] = g padded[n, o, 2(4t+i) + rq, 2(4u+j) + cq]
    gt = _layout(g, 8 * Th, 8 * Tw, ph, pw, gl).reshape(Th, 4, 2, Co, Tw, 4, 2, N)
    z1 = np.empty((5, 4, 2, 2, Co, Th, Tw, N), g.dtype)
    z = _grad_transform(gt.transpose(1, 2, 6, 3, 0, 4, 5, 7), z1,
                        z1.transpose(1, 2, 3, 4, 5, 6, 0, 7), 4 * Co)  # (25, 4Cout, P)
    return _weight_grad(z, v, "convt", (Ci, Co, 4, 4))


# ---- the autograd ops ------------------------------------------------------------------------


def _finish_forward(ctx, out, v, x, weight, bias, pad):
    """Both ops' forward tail: the bias, and what the backward reads (the input transform V,
    the padding, the input's spatial size)."""
    if bias is not None:
        out += bias._data.reshape(-1, 1, 1)
    need = ctx.needs_input_grad
    if need[0] or need[1] or (bias is not None and need[2]):
        ctx.v, ctx.pad, ctx.has_bias = v, pad, bias is not None
        ctx.xhw = x._data.shape[2:]
        ctx.save_for_backward(x, weight)  # (torch's checks of in-place changes to either)
    return out

@_double.twice_differentiable
class ConvolutionBackward0(Op):
    """conv2d, 4x4 kernel, stride 2 (named as torch names its convolution node).

    Shape: x (N, C, H, W), weight (O, C, 4, 4), bias (O,) or None; padding (top, bottom, left,
    right); dilation 1, groups 1 (see applies)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        xa, wa = x._data, weight._data
        N, C, H, W = xa.shape
        pt, pb, pl, pr = padding
        Ho, Wo = (H + pt + pb - 4) // 2 + 1, (W + pl + pr - 4) // 2 + 1
        need = ctx.needs_input_grad
        out, v = conv_forward(xa, wa, pt, pl, Ho, Wo, need[1])
        return _finish_forward(ctx, out, v, x, weight, bias, (pt, pl))

    @staticmethod
    def backward(ctx, grad):
        need = ctx.needs_input_grad
        g = grad._data
        gx = gw = gb = None
        gl = None
        if need[0]:  # dx = conv_transpose2d(g, w) with the same stride and top/left padding
            pt, pl = ctx.pad
            H, W = ctx.xhw
            if need[1]:  # g laid out once, padded for both passes
                Ho, Wo = g.shape[2:]
                Hq = max(4 * -(-(H + pt) // 8), 4 * -(-Ho // 4)) + 1
                Wq = max(4 * -(-(W + pl) // 8), 4 * -(-Wo // 4)) + 1
                gl = (_rows_outer(g, Hq, Wq, 1, 1), 1, 1)
            gx = _new(convt_forward(g, ctx.saved_tensors[1]._data, pt, pl, H, W, False,
                                    None if gl is None else gl[0])[0])
        if need[1]:
            gw = _new(conv_weight_grad(g, ctx.v, ctx.v.shape[1] // 4, gl))
        if ctx.has_bias and need[2]:
            gb = _new(channel_sum(g))
        return gx, gw, gb, None, None, None, None


@_double.twice_differentiable
class ConvTransposeBackward(Op):
    """conv_transpose2d, 4x4 kernel, stride 2 (torch's node name: ConvolutionBackward0).

    Shape: x (N, Cin, H, W), weight (Cin, Cout, 4, 4), bias (Cout,) or None; padding (ph, pw);
    out_hw the output's (H, W), output_padding included."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups, out_hw):
        xa, wa = x._data, weight._data
        ph, pw = padding
        Ho, Wo = out_hw
        need = ctx.needs_input_grad
        out, v = convt_forward(xa, wa, ph, pw, Ho, Wo, need[1])
        return _finish_forward(ctx, out, v, x, weight, bias, (ph, pw))

    @staticmethod
    def backward(ctx, grad):
        need = ctx.needs_input_grad
        g = grad._data
        gx = gw = gb = None
        ph, pw = ctx.pad
        gl = None
        if need[0]:  # dx = conv2d(g, w) with the same stride and padding
            H, W = ctx.xhw
            if need[1]:  # g laid out once, padded for both passes
                Ho, Wo = g.shape[2:]
                Hq = max(8 * -(-H // 4) + 2, 8 * -(-(Ho + ph) // 8))
                Wq = max(8 * -(-W // 4) + 2, 8 * -(-(Wo + pw) // 8))
                gl = (_rows_outer(g, Hq, Wq, ph, pw), ph, pw)
            gx = _new(conv_forward(g, ctx.saved_tensors[1]._data, ph, pw, H, W, False,
                                   None if gl is None else gl[0])[0])
        if need[1]:
            gw = _new(convt_weight_grad(g, ctx.v, ctx.v.shape[1], ph, pw, gl))
        if ctx.has_bias and need[2]:
            gb = _new(channel_sum(g))
        return gx, gw, gb, None, None, None, None, None


ConvTransposeBackward.__name__ = "ConvolutionBackward0"
