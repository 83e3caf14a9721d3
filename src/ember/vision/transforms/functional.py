"""Image functions of torchvision.transforms.functional, on PIL images and ember Tensors.

PIL images go through Pillow exactly as torchvision sends them (same calls, same arguments),
so results are identical. Tensor images are (..., C, H, W) ember Tensors handled with NumPy
(same arithmetic as torch, in the same dtype). Pillow is imported only when an image needs it.

The array helpers (`_scale_to_float`, `_normalize_array`, `_convert_dtype_array`) hold the
elementwise arithmetic of ToTensor / Normalize / ConvertImageDtype: the per-sample transforms
and the batch path of the MNIST datasets both run them, which is what makes the two paths
bit-identical.
"""
from __future__ import annotations

import math
import numbers
import sys
import warnings
from enum import Enum

import numpy as np

from ..._dtype import get_default_dtype
from ..._tensor import Tensor

__all__ = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels",
           "to_tensor", "pil_to_tensor", "to_pil_image", "convert_image_dtype", "normalize",
           "resize", "center_crop", "crop", "pad", "hflip", "vflip", "rotate", "affine",
           "to_grayscale", "rgb_to_grayscale", "resized_crop", "adjust_brightness",
           "adjust_contrast", "adjust_saturation", "adjust_hue", "gaussian_blur", "erase"]


class InterpolationMode(Enum):
    """Interpolation modes (values are the names torchvision prints)."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


# Pillow's resampling constants (Image.NEAREST=0, LANCZOS=1, BILINEAR=2, BICUBIC=3, BOX=4,
# HAMMING=5), spelled out so that ember does not import Pillow to name them.
pil_modes_mapping = {
    InterpolationMode.NEAREST: 0, InterpolationMode.NEAREST_EXACT: 0,
    InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3, InterpolationMode.BOX: 4,
    InterpolationMode.HAMMING: 5, InterpolationMode.LANCZOS: 1,
}
_MODES_FROM_INT = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR,
                   3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX,
                   5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}


def _interpolation_modes_from_int(i: int) -> InterpolationMode:
    return _MODES_FROM_INT[i]


def _check_interpolation(interpolation) -> InterpolationMode:
    if isinstance(interpolation, int):
        return _interpolation_modes_from_int(interpolation)
    if not isinstance(interpolation, InterpolationMode):
        raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding "
                        "Pillow integer constant")
    return interpolation


# ---- Pillow access -------------------------------------------------------------------------
def _pil():
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover  (Pillow is a dependency of ember.vision)
        raise ImportError("ember.vision needs Pillow for PIL images: pip install pillow") from e
    return Image


def _is_pil_image(img) -> bool:
    mod = sys.modules.get("PIL.Image")  # no PIL image can exist before PIL is imported
    return mod is not None and isinstance(img, mod.Image)


def _image_from_array(a: np.ndarray, mode: str | None = None):
    """An image of `mode` over the array's bytes (Image.fromarray's behaviour before Pillow 11.3
    deprecated its `mode` argument: the bytes are read in that mode, not converted)."""
    Image = _pil()
    img = Image.fromarray(a)
    if mode is None or img.mode == mode:
        return img
    size = (a.shape[1], a.shape[0])
    return Image.frombuffer(mode, size, np.ascontiguousarray(a).tobytes(), "raw", mode, 0, 1)


def _assert_tensor_image(img) -> None:
    if img.ndim < 2:
        raise TypeError("Tensor is not a torch image.")


def get_dimensions(img) -> list[int]:
    """[channels, height, width] of a PIL image or a (..., C, H, W) tensor."""
    if isinstance(img, Tensor):
        _assert_tensor_image(img)
        channels = 1 if img.ndim == 2 else img.shape[-3]
        height, width = img.shape[-2:]
        return [channels, height, width]
    if _is_pil_image(img):
        width, height = img.size
        return [len(img.getbands()), height, width]
    raise TypeError(f"Unexpected type {type(img)}")


def get_image_size(img) -> list[int]:
    """[width, height]."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img) -> int:
    return get_dimensions(img)[0]


# ---- conversions -----------------------------------------------------------------------------
def _scale_to_float(a: np.ndarray) -> np.ndarray:
    """uint8 -> default float dtype in [0, 1]: a / 255 in that dtype (ToTensor's arithmetic)."""
    dt = get_default_dtype().np
    out = a.astype(dt)
    np.divide(out, dt.type(255), out=out)
    return out


_PIL_NP_DTYPE = {"I": np.int32, "I;16": np.int16, "I;16B": np.int16, "F": np.float32}


def _pil_to_hwc(pic) -> np.ndarray:
    """A PIL image as a fresh (H, W, C) array, in the dtype torchvision uses for its mode."""
    a = np.array(pic, _PIL_NP_DTYPE.get(pic.mode, np.uint8), copy=True)
    if pic.mode == "1":
        a = 255 * a
    return a.reshape(pic.size[1], pic.size[0], len(pic.getbands()))


def to_tensor(pic) -> Tensor:
    """PIL image or (H, W[, C]) ndarray -> (C, H, W) tensor; uint8 is scaled to float [0, 1]."""
    if not (_is_pil_image(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = pic[:, :, None]
        chw = np.ascontiguousarray(pic.transpose(2, 0, 1))
    else:
        chw = np.ascontiguousarray(_pil_to_hwc(pic).transpose(2, 0, 1))
    if chw.dtype == np.uint8:
        return Tensor._new(_scale_to_float(chw))
    return Tensor._new(chw if chw is not pic else chw.copy())


def pil_to_tensor(pic) -> Tensor:
    """PIL image -> (C, H, W) tensor of its own dtype (no scaling)."""
    if not _is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    a = np.array(pic, copy=True)
    return Tensor._new(a.reshape(pic.size[1], pic.size[0], len(pic.getbands())).transpose(2, 0, 1))


def to_pil_image(pic, mode=None):
    """(C, H, W) tensor or (H, W, C) ndarray -> PIL image (floats are scaled by 255 to uint8)."""
    if isinstance(pic, Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = pic.unsqueeze(0)
        if pic.shape[-3] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {pic.shape[-3]} channels.")
        a = pic.detach()._data
        if np.issubdtype(a.dtype, np.floating) and mode != "F":
            # torch: pic.mul(255).byte()  (product in the tensor's dtype, truncating cast)
            a = (a * a.dtype.type(255)).astype(np.uint8)
        pic = a.transpose(1, 2, 0)
    elif not isinstance(pic, np.ndarray):
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    if pic.ndim == 2:
        pic = pic[:, :, None]
    if pic.ndim != 3:
        raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    if pic.shape[-1] > 4:
        raise ValueError(f"pic should not have > 4 channels. Got {pic.shape[-1]} channels.")
    npimg = pic
    if np.issubdtype(npimg.dtype, np.floating) and mode != "F":
        npimg = (npimg * 255).astype(np.uint8)
    if npimg.shape[2] == 1:
        expected = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16",
                    np.dtype(np.int32): "I", np.dtype(np.float32): "F"}.get(npimg.dtype)
        npimg = npimg[:, :, 0]
        if mode is not None and mode != expected:
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {np.dtype}. "
                             f"Should be {expected}")
        mode = expected
    elif npimg.shape[2] == 2:
        if mode is not None and mode not in ["LA"]:
            raise ValueError("Only modes ['LA'] are supported for 2D inputs")
        if mode is None and npimg.dtype == np.uint8:
            mode = "LA"
    elif npimg.shape[2] == 4:
        allowed = ["RGBA", "CMYK", "RGBX"]
        if mode is not None and mode not in allowed:
            raise ValueError(f"Only modes {allowed} are supported for 4D inputs")
        if mode is None and npimg.dtype == np.uint8:
            mode = "RGBA"
    else:
        allowed = ["RGB", "YCbCr", "HSV"]
        if mode is not None and mode not in allowed:
            raise ValueError(f"Only modes {allowed} are supported for 3D inputs")
        if mode is None and npimg.dtype == np.uint8:
            mode = "RGB"
    if mode is None:
        raise TypeError(f"Input type {npimg.dtype} is not supported")
    return _image_from_array(np.ascontiguousarray(npimg), mode)


_MAX_VALUE = {np.dtype(np.uint8): 255, np.dtype(np.int8): 127, np.dtype(np.int16): 32767,
              np.dtype(np.uint16): 65535, np.dtype(np.int32): 2147483647,
              np.dtype(np.int64): 9223372036854775807}


def _convert_dtype_array(a: np.ndarray, dt: np.dtype, names) -> np.ndarray:
    """convert_image_dtype on an array (a may be returned as is; never modified)."""
    if a.dtype == dt:
        return a
    if np.issubdtype(a.dtype, np.floating):
        if np.issubdtype(dt, np.floating):
            return a.astype(dt)
        if (a.dtype == np.float32 and dt in (np.int32, np.int64)) or \
                (a.dtype == np.float64 and dt == np.int64):
            raise RuntimeError(f"The cast from {names[0]} to {names[1]} cannot be performed "
                               "safely.")
        # (x * (max + 1 - eps)) keeps [0, 1] mapping evenly onto the integer range
        return (a * a.dtype.type(float(_MAX_VALUE[dt]) + 1.0 - 1e-3)).astype(dt)
    input_max = float(_MAX_VALUE[a.dtype])
    if np.issubdtype(dt, np.floating):
        out = a.astype(dt)
        np.divide(out, dt.type(input_max), out=out)
        return out
    output_max = float(_MAX_VALUE[dt])
    if input_max > output_max:
        factor = int((input_max + 1) // (output_max + 1))
        return (a // factor).astype(dt)
    factor = int((output_max + 1) // (input_max + 1))
    return a.astype(dt) * dt.type(factor)


def convert_image_dtype(image: Tensor, dtype=None) -> Tensor:
    """Convert a tensor image to `dtype`, rescaling values (ints use their full range,
    floats [0, 1])."""
    from ... import _dtype
    if not isinstance(image, Tensor):
        raise TypeError("Input img should be Tensor Image")
    dtype = _dtype.float32 if dtype is None else _dtype.to_dtype(dtype)
    out = _convert_dtype_array(image._data, np.dtype(dtype.np), (image.dtype, dtype))
    return image if out is image._data else Tensor._new(out)


_NORM_CACHE: dict = {}  # (dtype, mean, std) -> checked arrays, for the per-sample path


def _normalize_params(dtype, mean, std):
    """mean and std as arrays of `dtype` shaped to broadcast over (..., C, H, W)."""
    key = hit = None
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):  # tensors may change
        try:
            key = (np.dtype(dtype), tuple(mean), tuple(std))
            hit = _NORM_CACHE.get(key)
        except TypeError:  # numbers, nested lists
            key = None
    if hit is not None:
        return hit
    dt = np.dtype(dtype).type
    m = np.asarray(mean._data if isinstance(mean, Tensor) else mean, dtype=dt)
    s = np.asarray(std._data if isinstance(std, Tensor) else std, dtype=dt)
    if (s == 0).any():
        from ..._dtype import _FROM_NP
        raise ValueError(f"std evaluated to zero after conversion to {_FROM_NP[np.dtype(dtype)]}"
                         ", leading to division by zero.")
    if m.ndim == 1:
        m = m.reshape(-1, 1, 1)
    if s.ndim == 1:
        s = s.reshape(-1, 1, 1)
    if key is not None and len(_NORM_CACHE) < 64:
        m.flags.writeable = s.flags.writeable = False
        _NORM_CACHE[key] = (m, s)
    return m, s


def _check_inplace_broadcast(out_shape, other_shape) -> None:
    """torch's errors for `out.sub_(other)` when other does not broadcast to out's shape."""
    if len(other_shape) == 3 and len(out_shape) >= 3 and other_shape[1:] == (1, 1) and \
            other_shape[0] in (1, out_shape[-3]):
        return  # the usual per-channel (C, 1, 1) case
    n = max(len(out_shape), len(other_shape))
    a = (1,) * (n - len(out_shape)) + tuple(out_shape)
    b = (1,) * (n - len(other_shape)) + tuple(other_shape)
    for dim in range(n - 1, -1, -1):
        if a[dim] != b[dim] and a[dim] != 1 and b[dim] != 1:
            raise RuntimeError(f"The size of tensor a ({a[dim]}) must match the size of tensor b "
                               f"({b[dim]}) at non-singleton dimension {dim}")
    full = tuple(max(x, y) for x, y in zip(a, b))
    if full != tuple(out_shape):
        raise RuntimeError(f"output with shape {list(out_shape)} doesn't match the broadcast "
                           f"shape {list(full)}")


def _normalize_array(a: np.ndarray, mean, std) -> None:
    """(a - mean) / std in place, mean/std per channel (dim -3), in a's float dtype."""
    m, s = _normalize_params(a.dtype, mean, std)
    _check_inplace_broadcast(a.shape, m.shape)
    _check_inplace_broadcast(a.shape, s.shape)
    np.subtract(a, m, out=a)
    np.divide(a, s, out=a)


def normalize(tensor: Tensor, mean, std, inplace: bool = False) -> Tensor:
    """(tensor - mean[c]) / std[c] for each channel c of a float (..., C, H, W) tensor."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    _assert_tensor_image(tensor)
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.size()}")
    if tensor.requires_grad:  # keep the autograd graph: do it with tensor ops
        from ...ops.creation import as_tensor
        m = as_tensor(mean, dtype=tensor.dtype)
        s = as_tensor(std, dtype=tensor.dtype)
        if (s == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, "
                             "leading to division by zero.")
        m = m.view(-1, 1, 1) if m.ndim == 1 else m
        s = s.view(-1, 1, 1) if s.ndim == 1 else s
        t = tensor if inplace else tensor.clone()
        return t.sub_(m).div_(s)
    if inplace:
        _normalize_array(tensor._data, mean, std)
        tensor._vc[0] += 1
        return tensor
    out = tensor._data.copy()
    _normalize_array(out, mean, std)
    return Tensor._new(out)


# ---- geometry ------------------------------------------------------------------------------
def hflip(img):
    """Flip left-right."""
    if isinstance(img, Tensor):
        _assert_tensor_image(img)
        return img.flip(-1)
    _check_pil(img)
    return img.transpose(0)  # Image.FLIP_LEFT_RIGHT


def vflip(img):
    """Flip top-bottom."""
    if isinstance(img, Tensor):
        _assert_tensor_image(img)
        return img.flip(-2)
    _check_pil(img)
    return img.transpose(1)  # Image.FLIP_TOP_BOTTOM


def _check_pil(img) -> None:
    if not _is_pil_image(img):
        raise TypeError(f"img should be PIL Image. Got {type(img)}")


def crop(img, top: int, left: int, height: int, width: int):
    """The (height, width) window at (top, left); outside the image is filled with 0."""
    if not isinstance(img, Tensor):
        _check_pil(img)
        return img.crop((left, top, left + width, top + height))
    _assert_tensor_image(img)
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        padding_ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                        max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(img[..., max(top, 0):bottom, max(left, 0):right], padding_ltrb, fill=0)
    return img[..., top:bottom, left:right]


def center_crop(img, output_size):
    """The central (h, w) window (padding with 0 first when the image is smaller)."""
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    _, image_height, image_width = get_dimensions(img)
    crop_height, crop_width = output_size
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [
            (crop_width - image_width) // 2 if crop_width > image_width else 0,
            (crop_height - image_height) // 2 if crop_height > image_height else 0,
            (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
            (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
        ]
        img = pad(img, padding_ltrb, fill=0)
        _, image_height, image_width = get_dimensions(img)
        if crop_width == image_width and crop_height == image_height:
            return img
    crop_top = int(round((image_height - crop_height) / 2.0))
    crop_left = int(round((image_width - crop_width) / 2.0))
    return crop(img, crop_top, crop_left, crop_height, crop_width)


def _parse_padding(padding):
    """padding (int | 1, 2 or 4 ints) -> [left, top, right, bottom]."""
    if isinstance(padding, int):
        return [padding] * 4
    if len(padding) == 1:
        return [padding[0]] * 4
    if len(padding) == 2:
        return [padding[0], padding[1], padding[0], padding[1]]
    return list(padding)


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders: padding = int, (left/right, top/bottom) or (left, top, right, bottom);
    padding_mode constant (with fill), edge, reflect or symmetric. Negative padding crops."""
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    if isinstance(padding, list):
        padding = tuple(padding)
    if isinstance(padding, tuple) and len(padding) not in (1, 2, 4):
        raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    if isinstance(padding, tuple) and len(padding) == 1:
        padding = padding[0]
    if not isinstance(img, Tensor):
        return _pad_pil(img, padding, fill, padding_mode)
    _assert_tensor_image(img)
    left, top, right, bottom = _parse_padding(padding)
    if min(left, top, right, bottom) < 0:  # negative padding crops
        h, w = img.shape[-2:]
        img = img[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
        left, top, right, bottom = (max(p, 0) for p in (left, top, right, bottom))
    a = img.detach()._data
    widths = [(0, 0)] * (a.ndim - 2) + [(top, bottom), (left, right)]
    if padding_mode == "constant":
        fill = 0 if fill is None else fill
        out = np.pad(a, widths, mode="constant", constant_values=np.array(fill).astype(a.dtype))
    else:
        out = np.pad(a, widths, mode=padding_mode)
    return Tensor._new(out)


def _pad_pil(img, padding, fill, padding_mode):
    _check_pil(img)
    if padding_mode == "constant":
        from PIL import ImageOps
        opts = _parse_fill(fill, img, name="fill")
        if img.mode == "P":
            palette = img.getpalette()
            out = ImageOps.expand(img, border=padding, **opts)
            out.putpalette(palette)
            return out
        return ImageOps.expand(img, border=padding, **opts)
    p = _parse_padding(padding)
    cl, ct, cr, cb = (max(-v, 0) for v in p)
    if cl or ct or cr or cb:
        img = img.crop((cl, ct, img.width - cr, img.height - cb))
    left, top, right, bottom = (max(v, 0) for v in p)
    palette = img.getpalette() if img.mode == "P" else None
    a = np.asarray(img)
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (a.ndim - 2)
    out = _pil().fromarray(np.pad(a, widths, mode=padding_mode))
    if palette is not None:
        out.putpalette(palette)
    return out


def _parse_fill(fill, img, name: str = "fillcolor") -> dict:
    """A fill value as Pillow wants it for this image: one int per band (floats for mode F)."""
    num_channels = get_image_num_channels(img)
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and num_channels > 1:
        fill = tuple([fill] * num_channels)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = fill * num_channels
        elif len(fill) != num_channels:
            raise ValueError("The number of elements in 'fill' does not match the number of "
                             f"channels of the image ({len(fill)} != {num_channels})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, tuple) else int(fill)
    return {name: fill}


def _compute_resized_output_size(image_size, size, max_size=None) -> list[int]:
    h, w = image_size
    short, long = (w, h) if w <= h else (h, w)
    if len(size) == 1:  # size of the smaller edge
        requested_new_short = size[0]
        new_short, new_long = requested_new_short, int(requested_new_short * long / short)
        if max_size is not None:
            if max_size <= requested_new_short:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the "
                                 f"requested size for the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    else:
        new_w, new_h = size[1], size[0]
    return [new_h, new_w]


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to `size` ((h, w), or an int for the smaller edge keeping the aspect ratio).

    PIL images use Pillow (always antialiased); tensors support nearest, nearest-exact,
    bilinear and bicubic (antialiased when downscaling with antialias=True, as torch).
    """
    interpolation = _check_interpolation(interpolation)
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError("Size must be an int or a 1 or 2 element tuple/list, not a "
                             f"{len(size)} element tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("max_size should only be passed if size specifies the length of the "
                             "smaller edge, i.e. size should be an int or a sequence of length 1 "
                             "in torchscript mode.")
    _, image_height, image_width = get_dimensions(img)
    if isinstance(size, int):
        size = [size]
    output_size = _compute_resized_output_size((image_height, image_width), size, max_size)
    if [image_height, image_width] == output_size:
        return img
    if not isinstance(img, Tensor):
        if antialias is False:
            warnings.warn("Anti-alias option is always applied for PIL Image input. Argument "
                          "antialias is ignored.")
        _check_pil(img)
        return img.resize(tuple(output_size[::-1]), pil_modes_mapping[interpolation])
    from ._resample import resize_array
    mode = interpolation.value
    if mode not in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        raise ValueError(f"Tensor interpolation mode {mode} is not supported (use nearest, "
                         "nearest-exact, bilinear or bicubic)")
    antialias = bool(antialias) and mode in ("bilinear", "bicubic")
    return Tensor._new(resize_array(img.detach()._data, output_size, mode, antialias))


def resized_crop(img, top, left, height, width, size,
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
    img = crop(img, top, left, height, width)
    return resize(img, size, interpolation, antialias=antialias)


def _get_inverse_affine_matrix(center, angle, translate, scale, shear) -> list[float]:
    """The inverse of the map  x -> C T R S Sh C^-1 x  (rotation R by `angle` degrees, shear Sh,
    scale S, translation T, about `center`), as the 6 coefficients of a 2x3 matrix.

    The forward map's linear part is  R(angle) . Shear(sx, sy)  written as [[a, b], [c, d]]
    with determinant 1; its inverse is [[d, -b], [-c, a]] / scale.
    """
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [d, -b, 0.0, -c, a, 0.0]
    m = [x / scale for x in m]
    # undo the translation and the move to the centre, then move back
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx
    m[5] += cy
    return m


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False,
           center=None, fill=None):
    """Rotate counter-clockwise by `angle` degrees about `center` (default: the image centre)."""
    interpolation = _check_interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    if not isinstance(img, Tensor):
        _check_pil(img)
        return img.rotate(angle, pil_modes_mapping[interpolation], expand, center,
                          **_parse_fill(fill, img))
    center_f = [0.0, 0.0]
    if center is not None:
        _, height, width = get_dimensions(img)
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    # torch's rotate turns the other way round than its affine: hence -angle
    matrix = _get_inverse_affine_matrix(center_f, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    from ._resample import affine_array
    return Tensor._new(affine_array(img.detach()._data, matrix, interpolation.value, fill,
                                    expand=expand))


def affine(img, angle: float, translate, scale: float, shear,
           interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    """Rotate by `angle`, translate, scale and shear, keeping the centre fixed."""
    interpolation = _check_interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if not isinstance(shear, (numbers.Number, list, tuple)):
        raise TypeError("Shear should be either a single value or a sequence of two values")
    angle = float(angle)
    translate = list(translate)
    if isinstance(shear, numbers.Number):
        shear = [shear, 0.0]
    shear = list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    _, height, width = get_dimensions(img)
    if not isinstance(img, Tensor):
        _check_pil(img)
        if center is None:
            center = [width * 0.5, height * 0.5]
        matrix = _get_inverse_affine_matrix(center, angle, translate, scale, shear)
        return img.transform(img.size, 0, matrix, pil_modes_mapping[interpolation],  # AFFINE
                             **_parse_fill(fill, img))
    center_f = [0.0, 0.0]
    if center is not None:
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    translate_f = [1.0 * t for t in translate]
    matrix = _get_inverse_affine_matrix(center_f, angle, translate_f, scale, shear)
    from ._resample import affine_array
    return Tensor._new(affine_array(img.detach()._data, matrix, interpolation.value, fill))


# ---- colour --------------------------------------------------------------------------------
def to_grayscale(img, num_output_channels: int = 1):
    """PIL image -> grayscale PIL image with 1 or 3 (equal) channels."""
    if _is_pil_image(img):
        return _pil_grayscale(img, num_output_channels)
    raise TypeError("Input should be PIL Image")


def _pil_grayscale(img, num_output_channels):
    if num_output_channels == 1:
        return img.convert("L")
    if num_output_channels == 3:
        g = np.array(img.convert("L"), dtype=np.uint8)
        return _image_from_array(np.dstack([g, g, g]), "RGB")
    raise ValueError("num_output_channels should be either 1 or 3")


def rgb_to_grayscale(img, num_output_channels: int = 1):
    """Luma 0.2989 R + 0.587 G + 0.114 B (tensors: (..., 1 or 3, H, W); PIL: convert('L'))."""
    if not isinstance(img, Tensor):
        _check_pil(img)
        return _pil_grayscale(img, num_output_channels)
    if img.ndim < 3:
        raise TypeError("Input image tensor should have at least 3 dimensions, but found "
                        f"{img.ndim}")
    c = img.shape[-3]
    if c not in (1, 3):
        raise TypeError(f"Input image tensor permitted channel values are [1, 3], but found {c}")
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    a = img.detach()._data
    if c == 3:
        # torch computes in the default float dtype for integer images, then casts back
        ft = a.dtype.type if np.issubdtype(a.dtype, np.floating) else np.float32
        r, g, b = (a[..., i, :, :].astype(ft, copy=False) for i in range(3))
        l_img = (ft(0.2989) * r + ft(0.587) * g + ft(0.114) * b).astype(a.dtype)[..., None, :, :]
    else:
        l_img = a.copy()
    if num_output_channels == 3:
        l_img = np.broadcast_to(l_img, a.shape)
    return Tensor._new(l_img)


# ---- colour adjustments, blur, erasing -------------------------------------------------------
def _tensor_channels(img, permitted) -> int:
    _assert_tensor_image(img)
    c = get_dimensions(img)[0]
    if c not in permitted:
        raise TypeError(f"Input image tensor permitted channel values are {permitted}, but found "
                        f"{c}")
    return c


def _enhance(img, name: str, factor: float):
    from PIL import ImageEnhance
    _check_pil(img)
    return getattr(ImageEnhance, name)(img).enhance(factor)


def adjust_brightness(img, brightness_factor: float):
    """Scale the intensities by brightness_factor (0: black, 1: unchanged), clamped."""
    if not isinstance(img, Tensor):
        return _enhance(img, "Brightness", brightness_factor)
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    _tensor_channels(img, [1, 3])
    from ._color import blend
    a = img.detach()._data
    return Tensor._new(blend(a, np.zeros_like(a), brightness_factor))


def adjust_contrast(img, contrast_factor: float):
    """Blend with the image's mean grey (0: uniform grey, 1: unchanged)."""
    if not isinstance(img, Tensor):
        return _enhance(img, "Contrast", contrast_factor)
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    _tensor_channels(img, [3, 1])
    from ._color import adjust_contrast as contrast
    return Tensor._new(contrast(img.detach()._data, contrast_factor))


def adjust_saturation(img, saturation_factor: float):
    """Blend with the grey image (0: grey, 1: unchanged, 2: twice as saturated)."""
    if not isinstance(img, Tensor):
        return _enhance(img, "Color", saturation_factor)
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    if _tensor_channels(img, [1, 3]) == 1:
        return img
    from ._color import blend, grayscale
    a = img.detach()._data
    return Tensor._new(blend(a, grayscale(a), saturation_factor))


def adjust_hue(img, hue_factor: float):
    """Shift the hue by hue_factor turns, in [-0.5, 0.5] (through HSV)."""
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if not isinstance(img, Tensor):
        _check_pil(img)
        input_mode = img.mode
        if input_mode in {"L", "1", "I", "F"}:
            return img
        h, s, v = img.convert("HSV").split()
        np_h = np.array(h, dtype=np.uint8)
        with np.errstate(over="ignore"):  # hue wraps around the circle
            np_h += np.int32(hue_factor * 255).astype(np.uint8)
        h = _image_from_array(np_h, "L")
        return _pil().merge("HSV", (h, s, v)).convert(input_mode)
    if _tensor_channels(img, [1, 3]) == 1:
        return img
    from ._color import adjust_hue as hue
    return Tensor._new(hue(img.detach()._data, hue_factor))


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a (kh, kw) Gaussian (sigma per axis; default 0.3 * ((k - 1) * 0.5 - 1) + 0.8
    as k * 0.15 + 0.35), reflecting at the borders. PIL images are blurred as uint8 tensors."""
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError("kernel_size should be int or a sequence of integers. Got "
                        f"{type(kernel_size)}")
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got "
                         f"{len(kernel_size)}")
    for ksize in kernel_size:
        if ksize % 2 == 0 or ksize < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got "
                             f"{kernel_size}")
    if sigma is None:
        sigma = [ksize * 0.15 + 0.35 for ksize in kernel_size]
    if sigma is not None and not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if isinstance(sigma, (list, tuple)) and len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    from ._color import gaussian_blur as blur
    if isinstance(img, Tensor):
        _assert_tensor_image(img)
        return Tensor._new(blur(img.detach()._data, kernel_size, sigma))
    if not _is_pil_image(img):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")
    out = Tensor._new(blur(pil_to_tensor(img)._data, kernel_size, sigma))
    return to_pil_image(out, mode=img.mode)


def erase(img, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    """Set the (h, w) window at (i, j) to v (a tensor broadcasting to (..., C, h, w))."""
    if not isinstance(img, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    out = img if inplace else img.clone()
    out[..., i:i + h, j:j + w] = v
    return out
