"""Colour adjustments, Gaussian blur and erasing of tensor images in NumPy, with torchvision's
tensor arithmetic (same dtypes and operation order, so float results agree to the last bit
where the operations are elementwise).

Shape: images are (..., C, H, W) arrays.
"""
from __future__ import annotations

import numpy as np


def _max_value(dtype: np.dtype) -> float:
    if np.issubdtype(dtype, np.floating):
        return 1.0
    return float(np.iinfo(dtype).max)


def _float_dtype(a: np.ndarray):
    return a.dtype if np.issubdtype(a.dtype, np.floating) else np.dtype(np.float32)


def blend(img1: np.ndarray, img2: np.ndarray, ratio: float) -> np.ndarray:
    """clamp(ratio * img1 + (1 - ratio) * img2, 0, max) in img1's dtype (integers truncate)."""
    ratio = float(ratio)
    dt = _float_dtype(img1)
    out = img1.astype(dt) * dt.type(ratio)
    out += img2.astype(dt) * dt.type(1.0 - ratio)
    np.clip(out, 0, _max_value(img1.dtype), out=out)
    return out.astype(img1.dtype)


def grayscale(a: np.ndarray) -> np.ndarray:
    """(..., 3, H, W) -> (..., 1, H, W) luma (0.2989, 0.587, 0.114), in a's dtype."""
    ft = a.dtype.type if np.issubdtype(a.dtype, np.floating) else np.float32
    r, g, b = (a[..., i, :, :].astype(ft, copy=False) for i in range(3))
    return (ft(0.2989) * r + ft(0.587) * g + ft(0.114) * b).astype(a.dtype)[..., None, :, :]


def adjust_contrast(a: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the mean grey level of each image."""
    dt = _float_dtype(a)
    src = grayscale(a) if a.shape[-3] == 3 else a
    mean = src.astype(dt).mean(axis=(-3, -2, -1), keepdims=True, dtype=dt)
    return blend(a, mean, factor)


def rgb2hsv(img: np.ndarray) -> np.ndarray:
    """(..., 3, H, W) float RGB in [0, 1] -> HSV (hue in [0, 1))."""
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    maxc = img.max(axis=-3)
    minc = img.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    one = img.dtype.type(1)
    s = cr / np.where(eqc, one, maxc)
    cr_divisor = np.where(eqc, one, cr)
    rc = (maxc - r) / cr_divisor
    gc = (maxc - g) / cr_divisor
    bc = (maxc - b) / cr_divisor
    t = img.dtype.type
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (t(2.0) + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (t(4.0) + gc - rc)
    h = hr + hg + hb
    h = np.fmod(h / t(6.0) + t(1.0), t(1.0))
    return np.stack((h, s, maxc), axis=-3)


def hsv2rgb(img: np.ndarray) -> np.ndarray:
    """(..., 3, H, W) float HSV -> RGB, by the six sectors of the hue circle."""
    t = img.dtype.type
    h, s, v = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    i = np.floor(h * t(6.0))
    f = h * t(6.0) - i
    i = i.astype(np.int32) % 6
    p = np.clip(v * (t(1.0) - s), 0.0, 1.0)
    q = np.clip(v * (t(1.0) - s * f), 0.0, 1.0)
    tt = np.clip(v * (t(1.0) - s * (t(1.0) - f)), 0.0, 1.0)
    table = ((v, q, p, p, tt, v), (tt, v, v, q, p, p), (p, p, tt, v, v, q))
    out = np.empty(img.shape, dtype=img.dtype)
    for c in range(3):
        out[..., c, :, :] = np.choose(i, table[c])
    return out


def adjust_hue(a: np.ndarray, hue_factor: float) -> np.ndarray:
    """Rotate the hue by hue_factor turns (in float32 for integer images)."""
    from .functional import _convert_dtype_array
    orig = a.dtype
    x = _convert_dtype_array(a, np.dtype(np.float32), (orig, "float32")) \
        if not np.issubdtype(orig, np.floating) else a
    hsv = rgb2hsv(x)
    h = hsv[..., 0, :, :] + hsv.dtype.type(hue_factor)
    hsv[..., 0, :, :] = np.mod(h, hsv.dtype.type(1.0))
    rgb = hsv2rgb(hsv)
    return _convert_dtype_array(rgb, orig, ("float32", orig)) if rgb.dtype != orig else rgb


def gaussian_kernel1d(ksize: int, sigma: float, dt) -> np.ndarray:
    from ...ops.creation import linspace
    half = (ksize - 1) * 0.5
    x = linspace(-half, half, ksize, dtype=_EMBER_DT[np.dtype(dt)])._data
    pdf = np.exp(dt.type(-0.5) * (x / dt.type(sigma)) ** 2)
    return pdf / pdf.sum(dtype=dt)


def _ember_dtypes():
    from ... import _dtype
    return {np.dtype(np.float32): _dtype.float32, np.dtype(np.float64): _dtype.float64}


_EMBER_DT = _ember_dtypes()


def gaussian_blur(a: np.ndarray, kernel_size, sigma) -> np.ndarray:
    """Convolve each channel with the (kh, kw) Gaussian (outer product of the 1-D kernels),
    reflect-padding the borders; integer images are blurred in float32 and rounded back."""
    dt = _float_dtype(a)
    kx = gaussian_kernel1d(kernel_size[0], sigma[0], dt)
    ky = gaussian_kernel1d(kernel_size[1], sigma[1], dt)
    kernel = ky[:, None] * kx[None, :]
    kh, kw = kernel.shape
    x = a.astype(dt, copy=False)
    h, w = x.shape[-2:]
    if kh // 2 >= h or kw // 2 >= w:
        raise ValueError(f"Padding size should be less than the corresponding input dimension, "
                         f"but got: padding ({kw // 2}, {kw // 2}) at dimension 3 of input "
                         f"{list(a.shape)}")
    widths = [(0, 0)] * (x.ndim - 2) + [(kh // 2, kh // 2), (kw // 2, kw // 2)]
    x = np.pad(x, widths, mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(-2, -1))
    out = np.tensordot(windows, kernel, axes=([-2, -1], [0, 1])).astype(dt, copy=False)
    if np.issubdtype(a.dtype, np.integer):
        out = np.round(out)
    return out.astype(a.dtype, copy=False)
