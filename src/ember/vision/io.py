"""torchvision.io's image functions, decoding and encoding through Pillow.

Images are (C, H, W) uint8 tensors (uint16 for 16-bit grayscale PNGs). `mode` converts as
torchvision's decoders (libpng, libjpeg) do: an UNCHANGED palette PNG gives its indices, other
modes expand the palette; GRAY from a colour PNG is libpng's rgb_to_gray with torchvision's
weights (0.2989, 0.587) in 15-bit fixed point; GRAY from a JPEG is its decoded luma plane, and
JPEGs decode to UNCHANGED, GRAY or RGB only; added alpha is opaque (255).
"""
from __future__ import annotations

import io as _io
import os
from enum import Enum

import numpy as np

from .._tensor import Tensor

__all__ = ["ImageReadMode", "read_file", "write_file", "decode_image", "read_image",
           "decode_png", "encode_png", "write_png", "decode_jpeg", "encode_jpeg", "write_jpeg"]


class ImageReadMode(Enum):
    """The channels to decode to: UNCHANGED, GRAY, GRAY_ALPHA, RGB, RGB_ALPHA (= RGBA)."""
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = RGB_ALPHA


def _pil():
    from .transforms.functional import _pil as pil
    return pil()


def read_file(path) -> Tensor:
    """The bytes of a file as a 1-D uint8 tensor."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    return Tensor._new(np.frombuffer(data, dtype=np.uint8).copy())


def write_file(filename, data: Tensor) -> None:
    """Write a 1-D uint8 tensor's bytes to a file."""
    _check_bytes(data, "write_file")
    with open(os.fspath(filename), "wb") as f:
        f.write(data._data.tobytes())


def _check_bytes(data, fn: str) -> None:
    if not isinstance(data, Tensor):
        raise TypeError(f"{fn} expects a uint8 tensor of encoded bytes, got {type(data)}")
    if data.dtype.np != np.uint8:
        raise RuntimeError(f"Expected a torch.uint8 tensor, got {data.dtype}")
    if data.ndim != 1:
        raise RuntimeError(f"Expected a one dimensional tensor, got {data.ndim} dims")
    if data.numel() == 0:
        raise RuntimeError("Input tensor must be non-empty")


def _as_mode(mode) -> ImageReadMode:
    if isinstance(mode, str):
        try:
            return ImageReadMode[mode.upper()]
        except KeyError:
            raise ValueError(f"Unknown image read mode {mode!r}: use one of "
                             f"{list(ImageReadMode.__members__)}") from None
    if not isinstance(mode, ImageReadMode):
        raise TypeError(f"mode should be an ImageReadMode or a str, got {type(mode)}")
    return mode


def _open(data: Tensor, what: str):
    """A loaded PIL image from encoded bytes (RuntimeError for data Pillow cannot decode)."""
    from PIL import UnidentifiedImageError
    try:
        img = _pil().open(_io.BytesIO(data._data.tobytes()))
        return img
    except (UnidentifiedImageError, OSError) as e:
        raise RuntimeError(f"Unsupported image file or corrupt {what} data ({e})") from None


_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}


def _decode(img, mode: ImageReadMode, apply_exif_orientation: bool) -> Tensor:
    fmt = img.format
    if fmt not in _FORMATS:
        raise RuntimeError(f"Unsupported image file: {fmt} images cannot be decoded (only "
                           f"{sorted(_FORMATS)})")
    if fmt == "JPEG" and mode not in (ImageReadMode.UNCHANGED, ImageReadMode.GRAY,
                                      ImageReadMode.RGB):
        raise RuntimeError("The provided mode is not supported for JPEG files")
    if fmt == "JPEG" and mode == ImageReadMode.GRAY and img.mode != "L":
        img.draft("L", img.size)  # the decoder's luma plane, as libjpeg's JCS_GRAYSCALE
    if apply_exif_orientation:
        from PIL import ImageOps
        img = ImageOps.exif_transpose(img)
    try:
        img.load()
    except OSError as e:
        raise RuntimeError(f"Corrupt {fmt} data: {e}") from None
    if img.mode in ("I;16", "I;16B", "I;16L") and mode == ImageReadMode.UNCHANGED:
        return Tensor._new(np.array(img, dtype=np.uint16)[None])  # 16-bit grey PNG
    if img.mode == "P":
        if mode == ImageReadMode.UNCHANGED and fmt == "PNG":
            a = np.asarray(img)  # libpng leaves palette images as their indices
            return Tensor._new(np.ascontiguousarray(a[None]))
        # expanded palettes carry an alpha channel (opaque without transparency)
        img = img.convert("RGBA")
    elif img.mode == "1":
        img = img.convert("L")
    elif img.mode not in ("L", "LA", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    a = np.asarray(img)
    a = a[:, :, None] if a.ndim == 2 else a
    channels = a.shape[2]
    has_alpha = channels in (2, 4)
    color = a[:, :, :channels - 1] if has_alpha else a
    alpha = a[:, :, channels - 1:] if has_alpha else None
    if mode == ImageReadMode.UNCHANGED:
        out = a
    elif mode in (ImageReadMode.GRAY, ImageReadMode.GRAY_ALPHA):
        gray = _to_gray(color) if color.shape[2] == 3 else color
        if mode == ImageReadMode.GRAY:
            out = gray
        else:
            out = np.concatenate([gray, alpha if alpha is not None else _opaque(gray)], 2)
    else:
        rgb = np.repeat(color, 3, axis=2) if color.shape[2] == 1 else color
        if mode == ImageReadMode.RGB:
            out = rgb
        else:
            out = np.concatenate([rgb, alpha if alpha is not None else _opaque(rgb)], 2)
    return Tensor._new(np.ascontiguousarray(out.transpose(2, 0, 1)))


def _opaque(a: np.ndarray) -> np.ndarray:
    return np.full(a.shape[:2] + (1,), 255, dtype=a.dtype)


# torchvision asks libpng for grey = 0.2989 R + 0.587 G + (rest) B; libpng turns the weights
# into 15-bit integers without rounding (29890 * 32768 // 100000, ...) and truncates the sum
_GRAY_R, _GRAY_G = 29890 * 32768 // 100000, 58700 * 32768 // 100000
_GRAY_B = 32768 - _GRAY_R - _GRAY_G


def _to_gray(rgb: np.ndarray) -> np.ndarray:
    """libpng's rgb_to_gray with torchvision's weights; grey pixels stay exactly as they are."""
    r, g, b = (rgb[:, :, i].astype(np.uint32) for i in range(3))
    gray = ((_GRAY_R * r + _GRAY_G * g + _GRAY_B * b) >> 15).astype(np.uint8)
    return gray[:, :, None]


def decode_image(input, mode=ImageReadMode.UNCHANGED,
                 apply_exif_orientation: bool = False) -> Tensor:
    """Decode a PNG, JPEG, GIF or WEBP image (encoded bytes as a 1-D uint8 tensor, or a path)
    to a (C, H, W) uint8 tensor in `mode`."""
    mode = _as_mode(mode)
    if not isinstance(input, Tensor):
        input = read_file(input)
    _check_bytes(input, "decode_image")
    return _decode(_open(input, "image"), mode, apply_exif_orientation)


def read_image(path, mode=ImageReadMode.UNCHANGED, apply_exif_orientation: bool = False) \
        -> Tensor:
    """Read and decode an image file to a (C, H, W) uint8 tensor in `mode`."""
    return decode_image(read_file(path), mode, apply_exif_orientation)


def _decode_format(input, mode, apply_exif_orientation, fmt: str) -> Tensor:
    mode = _as_mode(mode)
    _check_bytes(input, f"decode_{fmt.lower()}")
    img = _open(input, fmt)
    if img.format != fmt:
        raise RuntimeError(f"Content is not {fmt}")
    return _decode(img, mode, apply_exif_orientation)


def decode_png(input: Tensor, mode=ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> Tensor:
    """Decode PNG bytes to a (C, H, W) tensor (uint8, or uint16 for 16-bit grayscale)."""
    return _decode_format(input, mode, apply_exif_orientation, "PNG")


def decode_jpeg(input: Tensor, mode=ImageReadMode.UNCHANGED, device="cpu",
                apply_exif_orientation: bool = False) -> Tensor:
    """Decode JPEG bytes to a (C, H, W) uint8 tensor."""
    if str(device) != "cpu":
        raise RuntimeError(f"ember decodes JPEG images on the CPU only, not on {device}")
    return _decode_format(input, mode, apply_exif_orientation, "JPEG")


def _image_array(input, fn: str, channels) -> np.ndarray:
    """A (C, H, W) uint8 tensor as an (H, W[, C]) array for Pillow."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn} expects a (C, H, W) uint8 tensor, got {type(input)}")
    if input.dtype.np != np.uint8:
        raise RuntimeError(f"Input tensor dtype should be uint8, got {input.dtype}")
    if input.ndim != 3:
        raise RuntimeError(f"Input tensor dimensions should be 3, got {input.ndim}")
    c = input.shape[0]
    if c not in channels:
        raise RuntimeError(f"The number of channels should be {' or '.join(map(str, channels))}"
                           f", got: {c}")
    a = np.ascontiguousarray(input.detach()._data.transpose(1, 2, 0))
    return a[:, :, 0] if c == 1 else a


def encode_png(input: Tensor, compression_level: int = 6) -> Tensor:
    """A (C, H, W) uint8 image (C = 1 or 3) as PNG bytes in a 1-D uint8 tensor."""
    if not 0 <= compression_level <= 9:
        raise ValueError(f"Compression level should be between 0 and 9, got "
                         f"{compression_level}")
    a = _image_array(input, "encode_png", (1, 3))
    buf = _io.BytesIO()
    _pil().fromarray(a).save(buf, format="PNG", compress_level=compression_level)
    return Tensor._new(np.frombuffer(buf.getvalue(), dtype=np.uint8).copy())


def write_png(input: Tensor, filename, compression_level: int = 6) -> None:
    """Write a (C, H, W) uint8 image (C = 1 or 3) as a PNG file."""
    write_file(filename, encode_png(input, compression_level))


def encode_jpeg(input, quality: int = 75):
    """A (C, H, W) uint8 image (C = 1 or 3), or a list of them, as JPEG bytes."""
    if not 1 <= quality <= 100:
        raise ValueError(f"Image quality should be a positive number between 1 and 100, got "
                         f"{quality}")
    if isinstance(input, list):
        if not input:
            raise ValueError("encode_jpeg requires at least one input tensor when a list is "
                             "passed")
        return [encode_jpeg(t, quality) for t in input]
    a = _image_array(input, "encode_jpeg", (1, 3))
    buf = _io.BytesIO()
    _pil().fromarray(a).save(buf, format="JPEG", quality=quality)
    return Tensor._new(np.frombuffer(buf.getvalue(), dtype=np.uint8).copy())


def write_jpeg(input: Tensor, filename, quality: int = 75) -> None:
    """Write a (C, H, W) uint8 image (C = 1 or 3) as a JPEG file."""
    write_file(filename, encode_jpeg(input, quality))
