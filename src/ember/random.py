"""Random numbers that match PyTorch's CPU generator bit for bit.

torch's CPU generator is a 32-bit Mersenne Twister (mt19937) seeded with the low 32 bits of the
seed. Each kernel turns the twister's 32-bit words into values in its own fixed way; every draw
method below names the recipe it reproduces (established by comparing outputs with torch 2.13 on
x86-64). NumPy's MT19937 bit generator, loaded with the same 624-word state, yields the same
words, so the draws are vectorised. The only per-element Python work is where torch calls the C
library in float64 (log, log1p, sin, cos): NumPy's SIMD versions may differ in the last bit, so
those go through `math`, which calls the same C library.

How the kernels use the 32-bit words w (a "64-bit word" is two words, the first one high):
  uniform float32/16  (w & 0xFFFFFF) * 2**-24, then fma(u, to - from, from) in float32
  uniform float64     (w64 & (2**53 - 1)) * 2**-53, then fma(u, to - from, from) in float64;
                      a value that rounds to `to` (in the tensor's dtype) becomes `from`
  normal, n >= 16 and contiguous: uniforms in blocks of 16; within a block x[j], x[j + 8] (j < 8)
                      become r cos t, r sin t with r = sqrt(-2 log(1 - x[j])), t = 2 pi x[j + 8],
                      then fma(value, std, mean). float32 evaluates log and sincos with the
                      Cephes polynomials of torch's AVX2 kernel (reproduced op for op, fused
                      multiply-adds included); float64 uses the C library. n uniforms are drawn;
                      if n % 16, 16 more redraw the last 16 values (float16 skips the words of
                      the partial block)
  normal otherwise    pairs of float64 uniforms (u1, u2): r = sqrt(-2 log1p(-u2)), t = 2 pi u1;
                      r cos t is returned and r sin t kept in the generator for the next draw
  random_(from, to)   range < 2**28: w % range + from, else w64 % range + from
  random_()           w64 % 2**63 (int64), w % 2**31 (int32), ..., w % (2**24 + 1) (float32)
  randperm            forward Fisher-Yates: step i swaps slots i and i + w_i % (n - i)
  bernoulli_(p)       float64 uniform < p; bernoulli(p tensor): uniform of p's float type < p
  exponential_        -log1p(-u) / lambd with a float64 uniform
"""
from __future__ import annotations

import math
import os
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator",
           "get_rng_state", "set_rng_state", "fork_rng"]

_DEFAULT_SEED = 67280421310721  # torch's default_generator seed
_STATE_SIZE = 5056  # bytes in torch's CPU generator state (ember reads and writes that layout)
_M32 = 0xFFFFFFFF
_F32 = np.float32
# Elements per pass in the float32 pipelines: float64 temporaries stay under 128 KiB, so they
# stay in cache and come from the heap rather than fresh (page-faulting) mmap'd memory.
_CHUNK = 8192


# ---- seeding ---------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _mt_key(seed: int) -> np.ndarray:
    """mt19937's initial 624-word state for a 32-bit seed (Knuth's multiplier recurrence)."""
    key = [seed & _M32]
    x = key[0]
    for i in range(1, 624):
        x = (1812433253 * (x ^ (x >> 30)) + i) & _M32
        key.append(x)
    return np.array(key, np.uint32)


# ---- exact fused multiply-add ----------------------------------------------------------------
def _sum_err(a, b, s):
    """The exact rounding error of s = a + b (Knuth's TwoSum)."""
    bb = s - a
    return (a - (s - bb)) + (b - bb)


def _round_to_odd(s, err):
    """s (float64 array) re-rounded to odd: where s + err is inexact, the neighbour with odd bits."""
    fix = (err != 0) & ((s.view(np.uint64) & np.uint64(1)) == 0)
    if fix.any():
        s = s.copy()
        s[fix] = np.nextafter(s[fix], np.copysign(np.inf, err[fix]))
    return s


def _fma32(a, b, c):
    """float32 fma(a, b, c) = round(a * b + c) with one rounding.

    a: float32 array; b, c: float32 values, as scalars or as float32 or float64 arrays (a float64
    array holding float32 values saves a conversion when it is used many times). The product is
    exact in float64; the float64 sum is re-rounded to odd only where it landed on a float32
    halfway point, the one case where rounding twice could differ from rounding once.
    """
    s = a.astype(np.float64)
    s *= b
    s += c
    mid = (s.view(np.uint64) & np.uint64(0x1FFFFFFF)) == np.uint64(0x10000000)
    if mid.any():
        idx = np.nonzero(mid)
        aa, bb, cc = (np.broadcast_to(np.asarray(v, np.float64), s.shape)[idx] for v in (a, b, c))
        s[idx] = _round_to_odd(s[idx], _sum_err(aa * bb, cc, s[idx]))
    return s.astype(np.float32)


def _fma32_box(a, b, c):
    """float32 fma for the Box-Muller kernel: the float64 sum rounded to float32 unchecked.

    Rounding twice can differ from the fused single rounding only at float32 halfway points;
    running the kernel over all 2**24 possible uniforms (every input it can ever see) shows no
    such difference at any of its fma steps, so the check of `_fma32` is skipped here.
    """
    s = a.astype(np.float64)
    s *= b
    s += c
    return s.astype(np.float32)


def _split(a):
    t = a * 134217729.0  # 2**27 + 1: Veltkamp's split into two 26-bit halves
    hi = t - (t - a)
    return hi, a - hi


def _fma64(a, b, c):
    """float64 fma(a, b, c) with one rounding (Boldo and Melquiond's emulation via round-to-odd)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    c = np.asarray(c, np.float64)
    a, b, c = np.broadcast_arrays(a, b, c)
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    pe = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # p + pe == a * b exactly
    th = c + p
    tl = _sum_err(c, p, th)
    v = tl + pe
    v = _round_to_odd(np.atleast_1d(v), np.atleast_1d(_sum_err(tl, pe, v))).reshape(v.shape)
    return th + v


def _affine32(x, std, mean):
    """fma(x, std, mean) in float32, skipping the exact cases."""
    std, mean = _F32(std), _F32(mean)
    if mean == 0:
        return x if std == 1 else np.multiply(x, std, dtype=np.float64).astype(np.float32)
    if std == 1:
        return x + mean
    return _fma32(x, std, mean)


def _affine64(x, std, mean):
    """fma(x, std, mean) in float64, skipping the exact cases."""
    if mean == 0:
        return x if std == 1 else x * std
    if std == 1:
        return x + mean
    return _fma64(x, std, mean)


# ---- torch's AVX2 Box-Muller for float32 (Cephes logf / sincosf) -------------------------------
_LOG_P = [_F32(v) for v in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                            1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                            3.3333331174e-1)]
_LOG_Q1, _LOG_Q2 = _F32(-2.12194440e-4), _F32(0.693359375)
_SQRTHF = _F32(0.707106781186547524)
_FOPI = _F32(1.27323954473516)  # 4 / pi
_DP1, _DP2, _DP3 = _F32(-0.78515625), _F32(-2.4187564849853515625e-4), _F32(-3.77489497744594108e-8)
_COS_P = [_F32(v) for v in (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2)]
_SIN_P = [_F32(v) for v in (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)]
_TWO_PI32 = _F32(2 * math.pi)


def _log_ps(x):
    """Natural log of float32 x in (0, 1], evaluated exactly as torch's vectorised kernel does."""
    bits = x.view(np.int32)
    e = ((bits >> 23) - 127).astype(np.float32)
    e += _F32(1)
    m = ((bits & ~0x7F800000) | 0x3F000000).view(np.float32)  # mantissa scaled into [0.5, 1)
    small = m < _SQRTHF
    e -= small
    x = m - _F32(1)
    x += m * small
    z = x * x
    x64 = x.astype(np.float64)
    y = np.full_like(x, _LOG_P[0])
    for p in _LOG_P[1:]:
        y = _fma32_box(y, x64, p)
    y = _fma32_box(y * x, z.astype(np.float64), e * _LOG_Q1)
    y -= z * _F32(0.5)
    x += y
    x += e * _LOG_Q2  # exact product: one rounding, as in the fused form
    return x


def _sincos_ps(t):
    """(sin t, cos t) for float32 t >= 0, evaluated exactly as torch's vectorised kernel does."""
    j = (t * _FOPI).astype(np.int32)
    j += 1
    j &= ~1
    y = j.astype(np.float32)
    x = t + y * _DP1  # exact products (short constants): one rounding each, as fused
    x += y * _DP2
    x = _fma32_box(y, _DP3, x)
    z = x * x
    z64 = z.astype(np.float64)
    yc = _fma32_box(_fma32_box(np.full_like(z, _COS_P[0]), z64, _COS_P[1]), z64, _COS_P[2])
    yc = _fma32_box(yc * z, z64, -(z * _F32(0.5)))
    yc += _F32(1)
    ys = _fma32_box(_fma32_box(np.full_like(z, _SIN_P[0]), z64, _SIN_P[1]), z64, _SIN_P[2])
    x64 = x.astype(np.float64)
    ys = _fma32_box(ys * z, x64, x64)
    # octant bookkeeping on the bit patterns: which polynomial gives sin, and the two signs
    pick = ((j & 2) >> 1) - 1  # all ones where the sine polynomial gives sin
    ys, yc = ys.view(np.int32), yc.view(np.int32)
    s = (ys & pick) | (yc & ~pick)
    c = (yc & pick) | (ys & ~pick)
    s ^= (j & 4) << 29
    c ^= (~(j - 2) & 4) << 29
    return s.view(np.float32), c.view(np.float32)


def _box_muller16_f32(u):
    """Normals from float32 uniforms in blocks of 16 (torch's vectorised float32 kernel)."""
    u = u.reshape(-1, 16)
    out = np.empty(u.shape, np.float32)
    radius = np.sqrt(_F32(-2) * _log_ps(_F32(1) - u[:, :8]))
    s, c = _sincos_ps(_TWO_PI32 * u[:, 8:])
    np.multiply(radius, c, out=out[:, :8])
    np.multiply(radius, s, out=out[:, 8:])
    return out.reshape(-1)


def _box_muller16_f64(u):
    """Normals from float64 uniforms in blocks of 16, with the C library's log, sin and cos."""
    u = u.reshape(-1, 16)
    logs = np.array(list(map(math.log, (1.0 - u[:, :8]).ravel().tolist())), np.float64)
    radius = np.sqrt(-2.0 * logs)
    theta = (2.0 * math.pi * u[:, 8:]).ravel().tolist()
    cos = np.array(list(map(math.cos, theta)), np.float64)
    sin = np.array(list(map(math.sin, theta)), np.float64)
    out = np.empty(u.shape, np.float64)
    out[:, :8] = (radius * cos).reshape(-1, 8)
    out[:, 8:] = (radius * sin).reshape(-1, 8)
    return out.reshape(-1)


# ---- randperm ---------------------------------------------------------------------------------
def _fisher_yates(z):
    """The permutation left by swapping slot i with slot i + z[i] for i = 0, 1, ..., n - 2.

    Vectorised: slot i is final after step i; it receives the value held by slot i + z[i] at that
    time, which is either that slot's own index or what the latest earlier step aiming at it left
    there. Those "what was left" links form a forest resolved by pointer jumping.
    """
    n = len(z) + 1
    ev = np.nonzero(z)[0]  # steps that move something (target > step)
    # events grouped by target slot, in step order within a group
    tg, ev = np.divmod(np.sort((ev + z[ev]) * n + ev), n)
    newest = np.ones(len(ev), bool)  # the last step aiming at its slot
    newest[:-1] = tg[1:] != tg[:-1]
    # held[m]: the value slot m holds when step m runs (the value step `parent` moved there)
    parent = np.arange(n)
    parent[tg[newest]] = ev[newest]
    held = parent
    while True:
        nxt = held[held]
        if np.array_equal(nxt, held):
            break
        held = nxt
    perm = held.copy()  # slots that no step took from keep what they held
    oldest = np.ones(len(ev), bool)  # the first step aiming at its slot
    oldest[1:] = newest[:-1]
    got = np.empty(len(ev), np.int64)
    got[oldest] = tg[oldest]  # the first step aiming at a slot takes its original value
    later = np.nonzero(~oldest)[0]
    got[later] = held[ev[later - 1]]  # later ones take what the previous step left there
    perm[ev] = got
    return perm


def in_memory_order(a: np.ndarray, draw, *aligned) -> np.ndarray:
    """`draw(shape, *aligned)` laid out over `a`'s memory order, returned with `a`'s shape.

    torch's in-place random kernels fill a tensor in memory order, so a transposed or otherwise
    permuted tensor receives its numbers along its strides, not along its logical C order.
    Arrays in `aligned` (broadcastable to `a`) reach `draw` permuted the same way.
    """
    aligned = [np.broadcast_to(x, a.shape) for x in aligned]
    if a.flags.c_contiguous or a.ndim < 2:
        return draw(a.shape, *aligned)
    axes = sorted(range(a.ndim), key=lambda i: -abs(a.strides[i]))
    values = draw(tuple(a.shape[i] for i in axes), *[x.transpose(axes) for x in aligned])
    return values.transpose(np.argsort(axes))


# random_() without bounds: values are word % this (a 64-bit word where marked True)
_FULL_RANGE = {np.dtype(np.int64): (2 ** 63, True), np.dtype(np.int32): (2 ** 31, False),
               np.dtype(np.int16): (2 ** 15, False), np.dtype(np.int8): (2 ** 7, False),
               np.dtype(np.uint8): (2 ** 8, False), np.dtype(np.bool_): (2, False),
               np.dtype(np.float32): (2 ** 24 + 1, False), np.dtype(np.float64): (2 ** 53 + 1, True),
               np.dtype(np.float16): (2 ** 11 + 1, False)}


class Generator:
    """A random source with torch.Generator's API and torch's CPU number stream.

    `Generator().manual_seed(s)` yields the same numbers as `torch.Generator().manual_seed(s)`
    for every draw ember implements; `get_state()` is torch's 5056-byte state layout.
    """

    __slots__ = ("device", "_seed", "_bg", "_normal", "_fresh", "__weakref__")

    def __init__(self, device="cpu"):
        from ._device import check_device, device as _device
        check_device(device)
        self.device = _device("cpu")
        self._bg = np.random.MT19937(0)
        self.manual_seed(_DEFAULT_SEED)

    def __repr__(self) -> str:
        return f"<ember.Generator object at {hex(id(self))}>"

    # ---- seeding and state ------------------------------------------------------------------
    def manual_seed(self, seed) -> "Generator":
        """Seed with `seed` (any int in [-2**63, 2**64); negative values wrap modulo 2**64)."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            name = type(seed).__name__ if type(seed).__module__ == "builtins" else \
                f"{type(seed).__module__}.{type(seed).__name__}"
            raise RuntimeError(f"manual_seed expected a long, but got {name}")
        seed = int(seed)
        if not -2 ** 63 <= seed < 2 ** 64:
            raise ValueError("Overflow when unpacking long long")
        self._seed = seed & 0xFFFFFFFFFFFFFFFF
        self._set_words(_mt_key(self._seed), 624)
        self._normal = None  # the cached second value of a Box-Muller pair
        self._fresh = True
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the seed."""
        s = int.from_bytes(os.urandom(8), "little") & 0x1FFFFFFFFFFFFF
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def _set_words(self, key, pos):
        self._bg.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": int(pos)}}

    def get_state(self):
        """The state as a uint8 tensor in torch's layout (restorable in ember or torch)."""
        from ._tensor import Tensor
        st = self._bg.state["state"]
        pos = int(st["pos"])
        buf = np.zeros(_STATE_SIZE, np.uint8)
        head = np.array([self._seed], np.uint64).view(np.uint8)
        buf[0:8] = head
        left, nxt = (1, 0 if self._fresh else 624) if pos >= 624 else (625 - pos, pos)
        buf[8:16] = np.array([left, 1], np.int32).view(np.uint8)
        buf[16:24] = np.array([nxt], np.uint64).view(np.uint8)
        buf[24:24 + 624 * 8] = st["key"].astype(np.uint64).view(np.uint8)
        o = 24 + 624 * 8
        if self._normal is not None:
            buf[o + 8:o + 16] = np.array([self._normal], np.float64).view(np.uint8)
            buf[o + 24:o + 28] = np.array([1], np.int32).view(np.uint8)
        return Tensor._new(buf)

    def set_state(self, new_state) -> "Generator":
        """Restore a state from `get_state()` (ember's or torch's)."""
        from ._tensor import Tensor
        if not isinstance(new_state, Tensor) or new_state._data.dtype != np.uint8:
            raise TypeError("RNG state must be a ember.ByteTensor")
        raw = np.ascontiguousarray(new_state._data).reshape(-1)
        if raw.size != _STATE_SIZE:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE_SIZE} but found "
                               f"the input RNG state size to be {raw.size}")
        seed_ = int(raw[0:8].view(np.uint64)[0])
        left = int(raw[8:12].view(np.int32)[0])
        nxt = int(raw[16:24].view(np.uint64)[0])
        key = raw[24:24 + 624 * 8].view(np.uint64).astype(np.uint32)
        o = 24 + 624 * 8
        valid = int(raw[o + 24:o + 28].view(np.int32)[0])
        self._seed = seed_
        self._set_words(key, 624 if left == 1 else nxt)
        self._fresh = left == 1 and nxt == 0
        self._normal = float(raw[o + 8:o + 16].view(np.float64)[0]) if valid else None
        return self

    # ---- words --------------------------------------------------------------------------------
    def _w32(self, n: int) -> np.ndarray:
        """n 32-bit words (as uint64)."""
        self._fresh = False
        return self._bg.random_raw(n)

    def _w64(self, n: int) -> np.ndarray:
        """n 64-bit words, each built from two 32-bit words (the first is the high half)."""
        self._fresh = False
        w = self._bg.random_raw(2 * n)
        return (w[0::2] << np.uint64(32)) | w[1::2]

    def _u24(self, n: int) -> np.ndarray:
        """n float32 uniforms in [0, 1) from 24 bits of one word each."""
        return (self._w32(n).view(np.int64) & 0xFFFFFF).astype(np.float32) * _F32(2.0 ** -24)

    def _u53(self, n: int) -> np.ndarray:
        """n float64 uniforms in [0, 1) from 53 bits of one 64-bit word each."""
        return (self._w64(n) & np.uint64(2 ** 53 - 1)).astype(np.float64) * 2.0 ** -53

    # ---- draws used by ember (NumPy arrays in C order of `shape`) ------------------------------
    def uniform(self, shape, low, high, np_dtype):
        """Uniform on [low, high) as torch's uniform_ for `np_dtype` (float16/32/64)."""
        np_dtype = np.dtype(np_dtype)
        n = math.prod(shape)
        if np_dtype == np.float64:
            u = self._u53(n)
            if low != 0.0 or high != 1.0:
                u = _affine64(u, float(high) - float(low), float(low))
        elif low == 0.0 and high == 1.0:
            u = self._u24(n).astype(np_dtype, copy=False)
        else:
            u = np.empty(n, np.float32)
            # fma(k * 2**-24, high - low, low): k * ((high - low) * 2**-24) is exact in float64
            scale = float(_F32(high) - _F32(low)) * 2.0 ** -24
            low32 = _F32(low)
            for i in range(0, n, _CHUNK):
                k = self._w32(min(_CHUNK, n - i)).view(np.int64) & 0xFFFFFF
                u[i:i + len(k)] = _fma32(k.astype(np.float32), scale, low32)
            u = u.astype(np_dtype, copy=False)
        top = u == np_dtype.type(high)  # a value rounded up to `high` becomes `low`: [low, high)
        if top.any():
            u[top] = low
        return u.reshape(shape)

    def normal(self, shape, mean, std, np_dtype, contiguous=True):
        """Normal(mean, std) as torch's normal_ for `np_dtype`.

        Tensors of 16 or more elements that are contiguous take torch's vectorised path; others
        (and `contiguous=False`) the scalar path that caches the second value of each pair.
        """
        np_dtype = np.dtype(np_dtype)
        n = math.prod(shape)
        if n < 16 or not contiguous:
            out = _affine64(self._normal_scalar(n), float(std), float(mean))
            if np_dtype == np.float16:
                out = out.astype(np.float32)
            return out.reshape(shape).astype(np_dtype, copy=False)
        full = n - n % 16  # all n uniforms are drawn; a partial block then redraws the last 16
        if np_dtype == np.float64:
            out = np.empty(n, np.float64)
            out[:full] = _box_muller16_f64(self._u53(n)[:full])
            if full < n:
                out[n - 16:] = _box_muller16_f64(self._u53(16))
            return _affine64(out, float(std), float(mean)).reshape(shape)
        out = np.empty(n, np.float32)
        for i in range(0, full, 2 * _CHUNK):
            k = min(2 * _CHUNK, full - i)
            out[i:i + k] = _affine32(_box_muller16_f32(self._u24(k)), std, mean)
        if full < n:
            if np_dtype != np.float16:  # float16 goes block by block: no words for a partial one
                self._w32(n - full)
            out[n - 16:] = _affine32(_box_muller16_f32(self._u24(16)), std, mean)
        return out.reshape(shape).astype(np_dtype, copy=False)

    def _normal_scalar(self, n: int) -> np.ndarray:
        """n standard normals (float64) from the Box-Muller pairs of torch's scalar path."""
        out = np.empty(n, np.float64)
        k = 0
        if n and self._normal is not None:
            out[0] = self._normal
            self._normal = None
            k = 1
        pairs = (n - k + 1) // 2
        if pairs:
            u = self._u53(2 * pairs)
            lg = np.array(list(map(math.log1p, (-u[1::2]).tolist())), np.float64)
            r = np.sqrt(-2.0 * lg)
            theta = (2.0 * math.pi * u[0::2]).tolist()
            both = np.empty(2 * pairs, np.float64)
            both[0::2] = r * np.array(list(map(math.cos, theta)), np.float64)
            both[1::2] = r * np.array(list(map(math.sin, theta)), np.float64)
            out[k:] = both[:n - k]
            if (n - k) % 2:
                self._normal = float(both[-1])
        return out

    def integers(self, low, high, shape, np_dtype):
        """Integers in [low, high) as torch's random_(low, high) / randint."""
        low, high = int(low), int(high)
        span = high - low
        n = math.prod(shape)
        w = self._w64(n) if span >= 2 ** 28 else self._w32(n)  # torch's switch point
        if span < 2 ** 64:
            w = w % np.uint64(span)
        v = w.astype(np.int64) + np.int64(low)  # wraps modulo 2**64 like torch's int64 sum
        return v.reshape(shape).astype(np_dtype, copy=False)

    def random_bits(self, shape, np_dtype):
        """torch's random_() without bounds: the dtype's whole non-negative integer range."""
        np_dtype = np.dtype(np_dtype)
        mod, wide = _FULL_RANGE[np_dtype]
        n = math.prod(shape)
        w = (self._w64(n) if wide else self._w32(n)) % np.uint64(mod)
        if np_dtype == np.float16:
            w = w.astype(np.float32)
        return w.reshape(shape).astype(np_dtype)

    def permutation(self, n: int) -> np.ndarray:
        """torch's randperm(n): forward Fisher-Yates with one 32-bit word per step."""
        n = int(n)
        if n < 2:
            return np.arange(n, dtype=np.int64)
        z = (self._w32(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).astype(np.int64)
        return _fisher_yates(z)

    def bernoulli(self, shape, p, np_dtype):
        """torch's bernoulli_(p) for a float p: 1 where a float64 uniform < p."""
        n = math.prod(shape)
        return (self._u53(n) < float(p)).reshape(shape).astype(np_dtype)

    def bernoulli_tensor(self, p: np.ndarray, np_dtype):
        """torch's bernoulli with a probability array p: float64 uniforms if p is float64, else
        float32 ones, compared with p element by element."""
        if p.dtype == np.float64:
            return (self._u53(p.size).reshape(p.shape) < p).astype(np_dtype)
        return (self._u24(p.size).reshape(p.shape) < p.astype(np.float32)).astype(np_dtype)

    def exponential(self, shape, lambd, np_dtype):
        """Exponential(lambd) as torch's exponential_: -log1p(-u) / lambd, u a float64 uniform."""
        np_dtype = np.dtype(np_dtype)
        n = math.prod(shape)
        u = self._u53(n)
        if np_dtype == np.float64:
            lg = np.array(list(map(math.log1p, (-u).tolist())), np.float64)
        else:  # the last float64 bit only matters where it changes a float32 rounding: never seen
            lg = np.log1p(-u)
        out = (-1.0 / float(lambd)) * lg
        if np_dtype == np.float16:
            out = out.astype(np.float32)
        return out.reshape(shape).astype(np_dtype, copy=False)


default_generator = Generator()


def manual_seed(seed) -> Generator:
    """Seed the default generator (torch.manual_seed; the seed goes through int()); returns it."""
    return default_generator.manual_seed(int(seed))


def seed() -> int:
    """Seed the default generator non-deterministically; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state: a uint8 tensor in torch's layout."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


@contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cpu"):
    """Restore the default generator's state on exit (torch.random.fork_rng)."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def gen(generator) -> Generator:
    return default_generator if generator is None else generator
