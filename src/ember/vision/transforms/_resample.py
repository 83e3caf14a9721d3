"""Resampling of tensor images in NumPy: resize (torch's interpolate) and affine warps
(torch's affine_grid + grid_sample, align_corners=False), as torchvision's tensor backend does.

Integer images are resampled in float32 and rounded back (half to even), as torchvision does.
Shape: images are (..., C, H, W) arrays.
"""
from __future__ import annotations

import numpy as np

from ...ops.upsample import antialias_matrix


def _work_dtype(a: np.ndarray):
    return a.dtype if a.dtype in (np.float32, np.float64) else np.dtype(np.float32)


def _cast_back(out: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if out.dtype == dtype:
        return out
    if np.issubdtype(dtype, np.integer):
        out = np.round(out)
    return out.astype(dtype)


# ---- resize --------------------------------------------------------------------------------
def _cubic_weights(t, a):
    """Keys cubic convolution weights for taps at offsets -1, 0, 1, 2 (t in [0, 1))."""
    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _weights(in_size: int, out_size: int, mode: str, antialias: bool, dt) -> np.ndarray:
    """The (out_size, in_size) matrix of one separable resampling pass."""
    w = np.zeros((out_size, in_size), dtype=np.float64)
    rows = np.arange(out_size)
    scale32 = np.float32(in_size) / np.float32(out_size)
    if mode in ("nearest", "nearest-exact"):
        if out_size == in_size:
            src = rows
        elif out_size == 2 * in_size and mode == "nearest":
            src = rows >> 1
        else:
            off = np.float32(0.5) if mode == "nearest-exact" else np.float32(0.0)
            src = np.floor((rows.astype(np.float32) + off) * scale32).astype(np.int64)
            src = np.minimum(src, in_size - 1)
        w[rows, src] = 1.0
        return w
    scale = float(in_size) / out_size
    if antialias:  # torch's antialiased kernels (used for up- and downscaling alike)
        return antialias_matrix(mode, in_size, out_size, False, None, np.float64)
    src = scale * (rows + 0.5) - 0.5
    if mode == "bilinear":
        src = np.maximum(src, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
        lam = np.clip(src - i0, 0.0, 1.0)
        i1 = i0 + (i0 < in_size - 1)
        np.add.at(w, (rows, i0), 1.0 - lam)
        np.add.at(w, (rows, i1), lam)
        return w
    i0 = np.floor(src).astype(np.int64)
    t = src - i0
    for k, wk in zip(range(-1, 3), _cubic_weights(t, -0.75)):
        np.add.at(w, (rows, np.clip(i0 + k, 0, in_size - 1)), wk)
    return w


def resize_array(a: np.ndarray, size, mode: str, antialias: bool) -> np.ndarray:
    """Resize the last two dims of `a` to size = (h, w). Horizontal pass first, then vertical."""
    dtype = a.dtype
    dt = _work_dtype(a)
    oh, ow = size
    h, w = a.shape[-2:]
    out = a.astype(dt, copy=False)
    if mode in ("nearest", "nearest-exact"):
        cols = _weights(w, ow, mode, False, dt).argmax(1)
        rows = _weights(h, oh, mode, False, dt).argmax(1)
        return a[..., rows[:, None], cols[None, :]]
    if ow != w or not antialias:
        out = out @ _weights(w, ow, mode, antialias, dt).T.astype(dt)
    if oh != h or not antialias:
        out = np.swapaxes(np.swapaxes(out, -1, -2) @ _weights(h, oh, mode, antialias, dt).T
                          .astype(dt), -1, -2)
    if mode == "bicubic" and dtype == np.uint8:
        out = np.clip(out, 0, 255)
    return _cast_back(np.ascontiguousarray(out), dtype)


# ---- affine warps --------------------------------------------------------------------------
def _affine_output_size(matrix, w: int, h: int):
    """(width, height) that holds the whole warped image (rotate with expand=True)."""
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], dtype=np.float32)
    theta = np.array(matrix, dtype=np.float32).reshape(2, 3)
    new_pts = pts @ theta.T
    lo = new_pts.min(0) + np.array([w * 0.5, h * 0.5], dtype=np.float32)
    hi = new_pts.max(0) + np.array([w * 0.5, h * 0.5], dtype=np.float32)
    tol = np.float32(1e-4)  # ignore float noise before rounding outwards
    cmax = np.ceil(np.trunc(hi / tol) * tol)
    cmin = np.floor(np.trunc(lo / tol) * tol)
    size = cmax - cmin
    return int(size[0]), int(size[1])


def affine_array(a: np.ndarray, matrix, mode: str, fill, expand: bool = False) -> np.ndarray:
    """Warp the last two dims of `a` by the inverse affine `matrix` (output pixel -> input
    point, in pixel units about the image centre); outside points take `fill` (or 0)."""
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"Interpolation mode '{mode}' is unsupported with Tensor input")
    dtype = a.dtype
    dt = _work_dtype(a)
    *lead, c, h, w = a.shape if a.ndim >= 3 else (1, *a.shape)
    if fill is not None:
        fill = [float(fill)] if isinstance(fill, (int, float)) else [float(f) for f in fill]
        if len(fill) not in (1, c):
            raise ValueError("The number of elements in 'fill' cannot broadcast to match the "
                             f"number of channels of the image ({len(fill)} != {c})")
    ow, oh = _affine_output_size(matrix, w, h) if expand else (w, h)
    x = np.linspace(-ow * 0.5 + 0.5, ow * 0.5 + 0.5 - 1, ow, dtype=np.float32).astype(dt)
    y = np.linspace(-oh * 0.5 + 0.5, oh * 0.5 + 0.5 - 1, oh, dtype=np.float32).astype(dt)
    theta = np.array(matrix, dtype=dt).reshape(2, 3)
    rescaled = theta.T / np.array([0.5 * w, 0.5 * h], dtype=dt)  # (3, 2)
    gx = x[None, :] * rescaled[0, 0] + y[:, None] * rescaled[1, 0] + rescaled[2, 0]
    gy = x[None, :] * rescaled[0, 1] + y[:, None] * rescaled[1, 1] + rescaled[2, 1]
    # grid_sample, align_corners=False: normalised [-1, 1] -> pixel coordinates
    ix = ((gx + 1) * w - 1) / 2
    iy = ((gy + 1) * h - 1) / 2
    src = a.reshape(-1, c, h, w).astype(dt, copy=False)
    if mode == "nearest":
        xn = np.rint(ix).astype(np.int64)
        yn = np.rint(iy).astype(np.int64)
        inside = (xn >= 0) & (xn < w) & (yn >= 0) & (yn < h)
        out = src[:, :, np.clip(yn, 0, h - 1), np.clip(xn, 0, w - 1)] * inside
        mask = inside.astype(dt)
    else:
        x0 = np.floor(ix)
        y0 = np.floor(iy)
        out = np.zeros(src.shape[:2] + ix.shape, dtype=dt)
        mask = np.zeros(ix.shape, dtype=dt)
        for xs, ys in ((x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)):
            wgt = (1 - np.abs(ix - xs)) * (1 - np.abs(iy - ys))
            xi = xs.astype(np.int64)
            yi = ys.astype(np.int64)
            ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            wgt = np.where(ok, wgt, 0).astype(dt)
            out += src[:, :, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)] * wgt
            mask += wgt
    if fill is not None:
        f = np.array(fill, dtype=dt).reshape(1, -1, 1, 1)
        if mode == "nearest":
            out = np.where(mask < 0.5, np.broadcast_to(f, out.shape), out)
        else:
            out = out * mask + (1.0 - mask) * f
    out = out.reshape(*lead, c, oh, ow) if a.ndim >= 3 else out.reshape(oh, ow)
    return _cast_back(out, dtype)

