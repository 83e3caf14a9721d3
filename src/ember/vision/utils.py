"""torchvision.utils: tile a batch of images into one grid (`make_grid`) and write it as an
image file (`save_image`, through Pillow), with torchvision's pixels."""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor

__all__ = ["make_grid", "save_image"]


def _as_images(tensor) -> np.ndarray:
    """A tensor or a list of equal-shaped tensors -> a (B, C, H, W) array (1-channel images
    repeated to 3 channels); may share memory with the input."""
    if not isinstance(tensor, Tensor):
        if not isinstance(tensor, list):
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
        for t in tensor:
            if not isinstance(t, Tensor):
                raise TypeError(f"tensor or list of tensors expected, got a list containing "
                                f"{type(t)}")
        from ..ops.shape import stack
        tensor = stack(tensor, dim=0)
    a = tensor.detach()._data
    if a.ndim == 2:  # one H x W image
        a = a[None]
    if a.ndim == 3:  # one C x H x W image
        if a.shape[0] == 1:
            a = np.concatenate((a, a, a), 0)
        a = a[None]
    if a.ndim == 4 and a.shape[1] == 1:
        a = np.concatenate((a, a, a), 1)
    if a.ndim != 4:
        raise ValueError(f"make_grid expects 2D, 3D or 4D images, got a tensor of shape "
                         f"{list(tensor.shape)}")
    return a


def _normalize(a: np.ndarray, low: float, high: float) -> None:
    """Clamp to [low, high] and map it onto [0, 1], in place (in a's dtype)."""
    np.clip(a, low, high, out=a)
    np.subtract(a, low, out=a)
    np.divide(a, max(high - low, 1e-5), out=a)


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range=None, scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """Tile images into a grid of `nrow` columns with `padding` pixels of `pad_value` between
    and around them. normalize maps value_range (default: the min and max of the whole batch,
    or of each image with scale_each) onto [0, 1] after clamping.

    Shape: (B, C, H, W), (C, H, W), (H, W) or a list of (C, H, W) ->
    (C', rows * (H + padding) + padding, ncols * (W + padding) + padding), C' = 3 if C == 1.
    A single image is returned as (C', H, W) without padding.
    """
    a = _as_images(tensor)
    if normalize is True:
        a = a.copy()
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max "
                            "are numbers")
        parts = a if scale_each is True else [a]
        for t in parts:
            if value_range is not None:
                _normalize(t, value_range[0], value_range[1])
            else:
                _normalize(t, float(t.min()), float(t.max()))
    if a.shape[0] == 1:
        return Tensor._new(a[0])
    nmaps, num_channels = a.shape[:2]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(a.shape[2] + padding), int(a.shape[3] + padding)
    grid = np.full((num_channels, height * ymaps + padding, width * xmaps + padding), pad_value,
                   dtype=a.dtype)
    # the grid cell of image k starts at (row * height + padding, col * width + padding)
    for k in range(nmaps):
        y, x = divmod(k, xmaps)
        grid[:, y * height + padding:(y + 1) * height, x * width + padding:(x + 1) * width] = a[k]
    return Tensor._new(grid)


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:
    """Write make_grid(tensor, **kwargs) as an image (format from fp's extension, or `format`
    for file objects). Floats in [0, 1] become bytes as round(x * 255), clamped."""
    grid = make_grid(tensor, **kwargs)._data
    if not np.issubdtype(grid.dtype, np.floating):
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{_TORCH_NAMES.get(grid.dtype, grid.dtype)}")
    # as torchvision: x * 255 + 0.5 in the image's dtype, clamped, then truncated to uint8
    out = grid * grid.dtype.type(255)
    out += grid.dtype.type(0.5)
    np.clip(out, 0, 255, out=out)
    ndarr = np.ascontiguousarray(out.transpose(1, 2, 0).astype(np.uint8))
    from .transforms.functional import _pil
    _pil().fromarray(ndarr).save(fp, format=format)


_TORCH_NAMES = {np.dtype(np.uint8): "Byte", np.dtype(np.int8): "Char",
                np.dtype(np.int16): "Short", np.dtype(np.int32): "Int",
                np.dtype(np.int64): "Long", np.dtype(np.bool_): "Bool"}
