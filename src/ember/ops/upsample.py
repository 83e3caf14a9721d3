"""Interpolation (F.interpolate's nearest, nearest-exact, linear, bilinear, bicubic, trilinear)
as one small resampling matrix per spatial axis.

Every mode torch offers here is separable: output = M_1 x M_2^T (2-d), each M_k (out_k, in_k)
holding the interpolation weights of axis k (one 1 per row for nearest, two weights for linear,
four for bicubic, boundary indices clamped so their weights pile up on the edge). The forward is
one GEMM per axis over the whole batch and the backward is the same with the transposes, so
there is no gather/scatter and no Python loop over pixels.
"""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from .base import Op

_new = Tensor._new
_CUBIC_A = -0.75


def _source_scale(n_in: int, n_out: int, align_corners: bool, scale) -> float:
    """The step in input coordinates per output element (torch's area_pixel_compute_scale)."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _cubic_weights(t: np.ndarray) -> np.ndarray:
    """The four cubic-convolution weights (A = -0.75) for fractional offsets t: (n, 4)."""
    A = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1)


def resample_matrix(mode: str, n_in: int, n_out: int, align_corners: bool, scale,
                    dtype) -> np.ndarray:
    """M (n_out, n_in): the interpolation weights of one axis."""
    m = np.zeros((n_out, n_in), np.float64)
    rows = np.arange(n_out)
    dst = rows.astype(np.float64)
    if mode in ("nearest", "nearest-exact"):
        s = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
        src = np.floor((dst + 0.5) * s if mode == "nearest-exact" else dst * s).astype(np.int64)
        m[rows, np.minimum(src, n_in - 1)] = 1
    elif mode == "linear" and n_in == n_out:  # torch copies an axis whose size stays (any scale)
        m[rows, rows] = 1
    elif mode == "linear":
        s = _source_scale(n_in, n_out, align_corners, scale)
        real = s * dst if align_corners else np.maximum(s * (dst + 0.5) - 0.5, 0.0)
        i0 = np.floor(real).astype(np.int64)
        lam = real - i0
        i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
        np.add.at(m, (rows, i0), 1 - lam)
        np.add.at(m, (rows, i1), lam)
    else:  # cubic
        s = _source_scale(n_in, n_out, align_corners, scale)
        real = s * dst if align_corners else s * (dst + 0.5) - 0.5
        i = np.floor(real).astype(np.int64)
        w = _cubic_weights(real - i)
        for k in range(4):
            np.add.at(m, (rows, np.clip(i - 1 + k, 0, n_in - 1)), w[:, k])
    return m.astype(dtype)


def _aa_filter(mode: str):
    """(support of the filter at scale 1, the filter): triangle for bilinear, Keys' cubic with
    a = -0.5 for bicubic (Pillow's, which torch's antialiased kernels follow)."""
    if mode == "bilinear":
        return 1.0, lambda x: np.maximum(1.0 - np.abs(x), 0.0)
    a = -0.5

    def cubic(x):
        x = np.abs(x)
        return np.where(x < 1.0, ((a + 2) * x - (a + 3)) * x * x + 1,
                        np.where(x < 2.0, (((x - 5) * x + 8) * x - 4) * a, 0.0))
    return 2.0, cubic


def antialias_matrix(mode: str, n_in: int, n_out: int, align_corners: bool, scale,
                     dtype) -> np.ndarray:
    """M (n_out, n_in) of torch's antialiased bilinear/bicubic resampling along one axis.

    Output i is centred at input coordinate c = s (i + 0.5) (s = input step per output); when
    downsampling (s > 1) the filter is stretched by s, so its support grows to s times the
    plain one and every input pixel under it contributes (no aliasing). Taps are the pixels j
    with trunc(c - support + 0.5) <= j < trunc(c + support + 0.5), weighted filter((j - c +
    0.5) / max(s, 1)) and normalised to sum 1. Upsampling bilinear gives plain bilinear."""
    half, filt = _aa_filter(mode)
    s = _source_scale(n_in, n_out, align_corners, scale)
    support = half * s if s >= 1.0 else half
    inv = 1.0 / s if s >= 1.0 else 1.0
    center = s * (np.arange(n_out) + 0.5)
    lo = np.maximum(np.trunc(center - support + 0.5), 0)[:, None]
    hi = np.minimum(np.trunc(center + support + 0.5), n_in)[:, None]
    j = np.arange(n_in)[None, :]
    m = filt((j - center[:, None] + 0.5) * inv)
    m[(j < lo) | (j >= hi)] = 0.0
    tot = m.sum(1, keepdims=True)
    m /= np.where(tot != 0, tot, 1.0)
    return m.astype(dtype)


def _along(a: np.ndarray, m: np.ndarray, k: int) -> np.ndarray:
    """Apply m (out, in) along axis -k of a."""
    if k == 1:
        return np.matmul(a, m.T)
    shape = a.shape
    rest = shape[len(shape) - k + 1:]
    a2 = a.reshape(shape[:-k] + (shape[-k], math.prod(rest)))
    return np.matmul(m, a2).reshape(shape[:-k] + (m.shape[0],) + rest)


class _Resample(Op):
    """out = x with each spatial axis k mapped by M_k (out_k, in_k);  dx = g with M_k^T."""

    @staticmethod
    def forward(ctx, x, mats, copy_back=False):
        a = x._data
        nd = len(mats)
        for k, m in enumerate(mats):
            a = _along(a, m, nd - k)
        ctx.mats, ctx.copy_back = mats, copy_back
        return np.ascontiguousarray(a)

    @staticmethod
    def backward(ctx, g):
        if ctx.copy_back:
            return g, None, None
        if _grad_state.enabled:  # create_graph: the backward is the same op with M_k^T
            return type(ctx).apply(g, tuple(np.ascontiguousarray(m.T) for m in ctx.mats)), \
                None, None
        a = g._data
        nd = len(ctx.mats)
        for k, m in enumerate(ctx.mats):
            a = _along(a, m.T, nd - k)
        return _new(np.ascontiguousarray(a)), None, None


_NODE_NAMES = {"bilinear-aa": "UpsampleBilinear2DAaBackward0",
               "bicubic-aa": "UpsampleBicubic2DAaBackward0",
               "nearest": "UpsampleNearest{}DBackward0",
               "nearest-exact": "UpsampleNearestExact{}DBackward0",
               "linear": "UpsampleLinear1DBackward0", "bilinear": "UpsampleBilinear2DBackward0",
               "bicubic": "UpsampleBicubic2DBackward0", "trilinear": "UpsampleTrilinear3DBackward0"}
_NODE_CLASSES: dict = {}


def _node(mode: str, nd: int):
    name = _NODE_NAMES[mode].format(nd)
    cls = _NODE_CLASSES.get(name)
    if cls is None:
        cls = _NODE_CLASSES[name] = type(name, (_Resample,), {"__module__": __name__})
    return cls


_TORCH_DT = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "bool": "Bool"}
_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_NEEDS = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False):
    """Resize the spatial dims of (N, C, d1[, d2[, d3]]) input; see torch.nn.functional.

    Shape: (N, C, *in) -> (N, C, *out), out = size, or floor(in * scale_factor)."""
    if mode not in _MODES:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
            f"the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
            f"nearest-exact (got {mode})")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    nd = input.dim() - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    spatial = list(input.shape[2:])
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != nd:
                raise ValueError(
                    f"Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {spatial} and output size of "
                    f"{list(size)}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                    f"and output size in (o1, o2, ...,oK) format.")
            out = [int(s) for s in size]
        else:
            out = [int(size)] * nd
        scales = [None] * nd
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != nd:
                raise ValueError(
                    f"Input and scale_factor must have the same number of spatial dimensions, "
                    f"but got input with spatial dimensions of {spatial} and scale_factor of "
                    f"shape {list(scale_factor)}. Please provide input tensor in (N, C, d1, d2, "
                    f"...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * nd
        out = [int(math.floor(n * s)) for n, s in zip(spatial, scales)]
        if recompute_scale_factor:
            scales = [None] * nd
    else:
        raise ValueError("either size or scale_factor should be defined")
    if nd not in (1, 2, 3):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
            f"the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
            f"nearest-exact (got {mode})")
    if antialias and (mode not in ("bilinear", "bicubic") or input.dim() != 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes "
                         "and requires a 4-D tensor as input")
    need = _NEEDS.get(mode)
    if need is not None and input.dim() != need:
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs {need}D "
                                  f"input")
    if any(o <= 0 for o in out) or any(n <= 0 for n in spatial):
        names = "DHW"[3 - nd:]
        ins = ", ".join(f"{c}: {n}" for c, n in zip(names, spatial))
        outs = ", ".join(f"{c}: {n}" for c, n in zip(names, out))
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({ins}) output ({outs})")
    if mode == "area":
        from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d
        if nd == 3:
            raise NotImplementedError("interpolate: mode='area' on 5-D input is not supported "
                                      "by ember")
        return (adaptive_avg_pool1d if nd == 1 else adaptive_avg_pool2d)(input, out)
    kind = mode if mode.startswith("nearest") else ("cubic" if mode == "bicubic" else "linear")
    dt = input._data.dtype if input._data.dtype.kind == "f" else np.float32
    if input._data.dtype.kind != "f" and kind != "nearest" and kind != "nearest-exact":
        raise NotImplementedError(f'"upsample_{mode}{nd}d_out_frame" not implemented for '
                                  f"'{input._data.dtype.name}'")
    if antialias:  # torch's antialiased kernels (float only; its uint8 path is fixed-point)
        if input._data.dtype.kind != "f":
            raise NotImplementedError(f'"compute_index_ranges_weights" not implemented for '
                                      f"'{_TORCH_DT.get(input._data.dtype.name, 'Byte')}' "
                                      f"(ember: antialias=True needs a floating input)")
        mats = tuple(antialias_matrix(mode, n, o, bool(align_corners), s, dt)
                     for n, o, s in zip(spatial, out, scales))
        return _node(mode + "-aa", nd).apply(input, mats, False)
    mats = tuple(resample_matrix(kind, n, o, bool(align_corners), s, dt)
                 for n, o, s in zip(spatial, out, scales))
    if input._data.dtype.kind != "f":  # nearest on integers: a gather keeps the dtype exact
        a = input._data
        for k, m in enumerate(mats):
            a = np.take(a, m.argmax(axis=1), axis=2 + k)
        return _new(np.ascontiguousarray(a))
    # torch's bicubic backward copies the gradient through when no size changes (its forward
    # still filters): kept, so gradients agree
    copy_back = mode == "bicubic" and out == spatial
    return _node(mode, nd).apply(input, mats, copy_back)


# ---- pixel shuffle ----------------------------------------------------------------------------
def _shuffle(a: np.ndarray, r: int) -> np.ndarray:
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""
    *lead, c, h, w = a.shape
    oc = c // (r * r)
    b = a.reshape(*lead, oc, r, r, h, w)
    n = len(lead)
    b = b.transpose(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return np.ascontiguousarray(b).reshape(*lead, oc, h * r, w * r)


def _unshuffle(a: np.ndarray, r: int) -> np.ndarray:
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""
    *lead, c, h, w = a.shape
    oh, ow = h // r, w // r
    b = a.reshape(*lead, c, oh, r, ow, r)
    n = len(lead)
    b = b.transpose(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return np.ascontiguousarray(b).reshape(*lead, c * r * r, oh, ow)


class PixelShuffleBackward0(Op):
    """out[c, h r + i, w r + j] = x[c r^2 + i r + j, h, w];  dx = pixel_unshuffle(g)."""

    @staticmethod
    def forward(ctx, x, r):
        ctx.r = r
        return _shuffle(x._data, r)

    @staticmethod
    def backward(ctx, g):
        return PixelUnshuffleBackward0.apply(g, ctx.r), None


class PixelUnshuffleBackward0(Op):
    """The inverse of pixel_shuffle;  dx = pixel_shuffle(g)."""

    @staticmethod
    def forward(ctx, x, r):
        ctx.r = r
        return _unshuffle(x._data, r)

    @staticmethod
    def backward(ctx, g):
        return PixelShuffleBackward0.apply(g, ctx.r), None


def pixel_shuffle(input, upscale_factor: int):
    """Rearrange (*, C r^2, H, W) into (*, C, H r, W r)."""
    r = int(upscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    c = input.shape[-3]
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    return PixelShuffleBackward0.apply(input, r)


def pixel_unshuffle(input, downscale_factor: int):
    """Rearrange (*, C, H r, W r) into (*, C r^2, H, W)."""
    r = int(downscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    h, w = input.shape[-2], input.shape[-1]
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, "
                           f"but input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, "
                           f"but input.size(-1)={w} is not divisible by {r}")
    return PixelUnshuffleBackward0.apply(input, r)
