"""Spatial transformer sampling: `affine_grid` (AffineGridGeneratorBackward0) and 2-D
`grid_sample` (GridSampler2DBackward0), with torch's coordinate conventions.

grid_sample reads, for every output pixel, a few input pixels ("taps") with weights that depend
on the grid coordinate. Each mode is written as a list of taps: a flat row index into the input
seen as (N*H*W, C), a weight, and the weight's derivatives with respect to the (unnormalised)
x and y coordinates. Forward, input gradient and grid gradient are then the same few vectorised
gathers and one sorted scatter-add, whatever the mode.
"""
from __future__ import annotations

import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from .base import Op

_new = Tensor._new
_CUBIC_A = -0.75  # torch's (and Keys') bicubic convolution parameter


def _torch_dtype_name(dt) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
            "int32": "Int", "bool": "Bool", "uint8": "Byte", "int16": "Short",
            "int8": "Char"}.get(np.dtype(dt).name, np.dtype(dt).name)


def _sizes(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


# ---------------------------------------------------------------------------------- affine_grid

def _base_coords(steps: int, align_corners: bool, dtype) -> np.ndarray:
    """Pixel centres of `steps` pixels in [-1, 1] (the corner pixels' centres at +-1 when
    align_corners, the image's edges at +-1 otherwise)."""
    if steps <= 1:
        return np.zeros(max(steps, 1), dtype)
    r = np.linspace(-1.0, 1.0, steps, dtype=np.float64)
    if not align_corners:
        r = r * (steps - 1) / steps
    return r.astype(dtype)


class AffineGridGeneratorBackward0(Op):
    """grid[n, ..., i] = sum_j theta[n, i, j] * base[..., j], base = (x, y[, z], 1);
    dtheta[n] = sum over pixels of grad[n, p]^T base[p].

    Shape: theta (N, 2, 3), size (N, C, H, W) -> (N, H, W, 2); theta (N, 3, 4) and
    (N, C, D, H, W) -> (N, D, H, W, 3).
    """

    @staticmethod
    def forward(ctx, theta, spatial, align_corners):
        th = theta._data
        axes = [_base_coords(s, align_corners, th.dtype) for s in spatial]
        # base's last axis is (x, y[, z], 1): x runs along the last spatial dimension
        mesh = np.meshgrid(*axes, indexing="ij")
        base = np.stack(list(mesh[::-1]) + [np.ones_like(mesh[0])], axis=-1)
        base = base.reshape(-1, len(spatial) + 1)
        ctx.base = base
        out = np.matmul(base, th.transpose(0, 2, 1))  # (N, P, k)
        return out.reshape((th.shape[0],) + tuple(spatial) + (len(spatial),))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        g = grad._data
        g = g.reshape(g.shape[0], -1, g.shape[-1])  # (N, P, k)
        return _new(np.matmul(g.transpose(0, 2, 1), ctx.base)), None, None


def _default_align(align_corners):
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if "
                      "the old behavior is desired. See the documentation of grid_sample for "
                      "details.", UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def affine_grid(theta: Tensor, size, align_corners=None) -> Tensor:
    """torch.nn.functional.affine_grid: the sampling grid of a batch of affine maps."""
    align_corners = _default_align(align_corners)
    th = theta._data
    if th.dtype.kind != "f":
        raise ValueError(f"Expected theta to have floating point type, but got "
                         f"{str(theta.dtype).replace('ember.', 'torch.')}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        if th.ndim != 3 or th.shape[-2:] != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{size}. Got torch.Size({list(th.shape)}).")
        spatial = size[2:]
    elif len(size) == 5:
        if th.ndim != 3 or th.shape[-2:] != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{size}. Got torch.Size({list(th.shape)}).")
        spatial = size[2:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if th.shape[0] != size[0]:
        k = th.shape[1]
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{size[0]}, {k + 1}] but got: [{th.shape[0]}, {k + 1}].")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      UserWarning, stacklevel=2)
    return AffineGridGeneratorBackward0.apply(theta, spatial, align_corners)


# ---------------------------------------------------------------------------------- grid_sample

def _unnormalize(c: np.ndarray, size: int, align_corners: bool):
    """Grid coordinate in [-1, 1] -> pixel coordinate, and its derivative."""
    if align_corners:
        return (c + 1) * ((size - 1) / 2), (size - 1) / 2
    return ((c + 1) * size - 1) / 2, size / 2


def _clip(c: np.ndarray, size: int):
    """Clamp to [0, size - 1], nan to 0 (as torch's kernel); the derivative is 0 where clamped
    (torch: also at exactly 0)."""
    d = ((c > 0) & (c < size - 1)).astype(c.dtype)
    return np.where(np.isnan(c), 0, np.clip(c, 0, size - 1)), d


def _reflect(c: np.ndarray, twice_low: int, twice_high: int):
    """Reflect c into [twice_low / 2, twice_high / 2] by mirroring at both ends, and dc'/dc."""
    if twice_low == twice_high:
        return np.zeros_like(c), np.zeros_like(c)
    lo = twice_low / 2
    span = (twice_high - twice_low) / 2
    c = c - lo
    sign = np.where(c < 0, -1, 1).astype(c.dtype)
    c = np.abs(c)
    extra = np.fmod(c, span)
    even = (np.floor(c / span) % 2) == 0
    out = np.where(even, extra + lo, span - extra + lo).astype(c.dtype)
    return out, np.where(even, sign, -sign)


def _pad_coords(c: np.ndarray, size: int, padding_mode: str, align_corners: bool):
    """Apply border/reflection padding to pixel coordinates: (coordinate, derivative)."""
    if padding_mode == "border":
        return _clip(c, size)
    if padding_mode == "reflection":
        if align_corners:
            c, d1 = _reflect(c, 0, 2 * (size - 1))
        else:
            c, d1 = _reflect(c, -1, 2 * size - 1)
        c, d2 = _clip(c, size)
        return c, d1 * d2
    return c, 1


def _cubic_coeffs(t: np.ndarray):
    """Keys' cubic convolution weights of the taps at -1, 0, 1, 2 for fraction t, and their
    derivatives in t."""
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1, (3 * (a + 2) * x - 2 * (a + 3)) * x

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, (3 * a * x - 10 * a) * x + 8 * a

    c0, d0 = far(t + 1)
    c1, d1 = near(t)
    c2, d2 = near(1 - t)
    c3, d3 = far(2 - t)
    return (c0, c1, c2, c3), (d0, d1, -d2, -d3)


def _taps(coords, sizes, mode: str, padding_mode: str, align_corners: bool):
    """The taps of every output point: a list of (flat input index, weight, scatter weight,
    [dweight/dc for each axis]), each (N, P) (see `tap` for out-of-range taps), and the
    derivatives of the pixel coordinates with respect to the grid coordinates.

    coords: the (N, P) grid coordinates in [-1, 1] along x, y[, z]; sizes: W, H[, D]."""
    k = len(sizes)
    strides = [int(np.prod(sizes[:a])) for a in range(k)]  # 1, W[, W H]
    base = (np.arange(coords[0].shape[0], dtype=np.int64) * int(np.prod(sizes)))[:, None]
    finite = all(bool(np.isfinite(c).all()) for c in coords)
    cs, ms = zip(*(_unnormalize(c, size, align_corners) for c, size in zip(coords, sizes)))
    cs, ms = list(cs), list(ms)

    def axis(c, a):
        """Tap coordinate c along axis a: whether it is inside, and its index clamped inside,
        times the axis stride (the outermost axis also adds the sample's offset)."""
        ok = (c >= 0) & (c < sizes[a])
        c = np.clip(c, 0, sizes[a] - 1)
        return ok, (c * strides[a] + base if a == k - 1 else c * strides[a] if a else c)

    def tap(axes, w, dws):
        # (index, forward weight, scatter weight, dw/dc per axis). An out-of-range tap reads 0:
        # its forward weight is w * 0, so a nan/inf weight still makes the output nan, as
        # torch's w * (masked value 0) does, while nothing is scattered back to the input.
        ok = axes[0][0]
        idx = axes[0][1]
        for o, i in axes[1:]:
            ok = ok & o
            idx = idx + i
        wb = w
        if not ok.all():
            m = ok.astype(w.dtype)
            w = w * m
            wb = w if finite else np.where(ok, wb, 0)
            if dws is not None:
                dws = [d * m for d in dws]
        return idx, w, wb, dws

    if mode == "bicubic":  # 2-D only
        # the taps are read through the padding; the fraction comes from the raw coordinate
        c0 = [np.floor(c) for c in cs]
        (cx, dcx), (cy, dcy) = (_cubic_coeffs(c - f) for c, f in zip(cs, c0))
        axs = [[axis(_pad_coords(c0[a] + (j - 1), sizes[a], padding_mode,
                                 align_corners)[0].astype(np.int64), a) for j in range(4)]
               for a in range(2)]
        taps = [tap((axs[0][i], axs[1][j]), cx[i] * cy[j], [dcx[i] * cy[j], cx[i] * dcy[j]])
                for j in range(4) for i in range(4)]
        return taps, ms
    for a in range(k):
        cs[a], d = _pad_coords(cs[a], sizes[a], padding_mode, align_corners)
        ms[a] = ms[a] * d
    if mode == "nearest":
        axes = [axis(np.rint(c).astype(np.int64), a)  # round half to even, as nearbyint
                for a, c in enumerate(cs)]
        return [tap(axes, np.ones_like(cs[0]), None)], ms
    lo = [np.floor(c) for c in cs]
    frac = [c - f for c, f in zip(cs, lo)]  # weight of the upper neighbour along each axis
    lo = [f.astype(np.int64) for f in lo]
    ends = [(axis(lo[a], a), axis(lo[a] + 1, a)) for a in range(k)]
    factors = [(1 - t, t) for t in frac]
    taps = []
    for corner in np.ndindex(*(2,) * k):  # corner[a] = 1: the upper neighbour along axis a
        fs = [factors[a][corner[a]] for a in range(k)]
        w = fs[0]
        for f in fs[1:]:
            w = w * f
        dws = []
        for a in range(k):
            d = np.ones_like(frac[0]) if corner[a] else -np.ones_like(frac[0])
            for b in range(k):
                if b != a:
                    d = d * fs[b]
            dws.append(d)
        taps.append(tap([ends[a][corner[a]] for a in range(k)], w, dws))
    return taps, ms


class GridSampler2DBackward0(Op):
    """out[n, c, p] = sum over taps t of w_t(grid[n, p]) * input[n, c, tap_t(grid[n, p])];
    dinput scatters g * w_t back to the taps; dgrid[n, p] = sum_t (dw_t/dgrid) *
    sum_c g[n, c, p] * input[n, c, tap_t].

    Everything runs channel-major, (C, N*H*W) in and (C, N*P) out: a tap is one np.take of
    pixel columns for all channels, and the input gradient one np.bincount per channel over all
    taps at once (several times faster than a sorted or np.add.at scatter).

    Shape: input (N, C, H, W), grid (N, Ho, Wo, 2) -> (N, C, Ho, Wo); the 3-D subclass:
    input (N, C, D, H, W), grid (N, Do, Ho, Wo, 3) -> (N, C, Do, Ho, Wo).
    """

    @staticmethod
    def forward(ctx, input, grid, mode, padding_mode, align_corners):
        x = input._data
        g = grid._data
        n, c = x.shape[:2]
        k = g.shape[-1]
        sp = int(np.prod(x.shape[2:]))
        p = int(np.prod(g.shape[1:-1]))
        perm = (1, 0) + tuple(range(2, 2 + k))
        xt = np.ascontiguousarray(x.transpose(perm)).reshape(c, n * sp)
        coords = [g[..., a].reshape(n, p) for a in range(k)]
        with np.errstate(invalid="ignore"):  # nan/inf coordinates cast to int: masked taps
            taps, ms = _taps(coords, x.shape[:1:-1], mode, padding_mode, align_corners)
        out = np.zeros((c, n * p), x.dtype)
        for idx, wt, _, _ in taps:
            out += np.take(xt, idx.ravel(), axis=1) * wt.ravel()
        ctx.xt, ctx.taps, ctx.ms = xt, taps, ms
        ctx.shapes = (x.shape, g.shape, mode)
        out = out.reshape((c, n) + g.shape[1:-1])
        return np.ascontiguousarray(out.transpose(perm))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        xshape, gshape, mode = ctx.shapes
        n, c = xshape[:2]
        k = gshape[-1]
        sp = int(np.prod(xshape[2:]))
        p = int(np.prod(gshape[1:-1]))
        perm = (1, 0) + tuple(range(2, 2 + k))
        xt, taps = ctx.xt, ctx.taps
        go = np.ascontiguousarray(grad._data.transpose(perm)).reshape(c, n * p)
        gin = ggrid = None
        if ctx.needs_input_grad[0]:
            idx = np.concatenate([t[0].ravel() for t in taps])
            wts = np.stack([t[2].ravel() for t in taps])  # (T, N*P)
            gi = np.empty((c, n * sp), go.dtype)
            for ch in range(c):  # a loop over channels, each a bincount over every tap
                gi[ch] = np.bincount(idx, (wts * go[ch]).ravel(), n * sp)
            gin = _new(np.ascontiguousarray(gi.reshape((c, n) + xshape[2:]).transpose(perm)))
        if ctx.needs_input_grad[1]:
            gg = np.zeros(gshape, grad._data.dtype)
            if mode != "nearest":  # nearest's weights are piecewise constant: zero gradient
                gc = [np.zeros(go.shape[1], go.dtype) for _ in range(k)]
                for idx, _, _, dws in taps:
                    dot = np.einsum("cp,cp->p", go, np.take(xt, idx.ravel(), axis=1))
                    for a in range(k):
                        gc[a] += dot * dws[a].ravel()
                for a in range(k):
                    gg[..., a] = (gc[a].reshape(n, p) * ctx.ms[a]).reshape(gshape[:-1])
            ggrid = _new(gg)
        return gin, ggrid, None, None, None


class GridSampler3DBackward0(GridSampler2DBackward0):
    """grid_sample on 5-D input (trilinear or nearest); see GridSampler2DBackward0."""


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners=None) -> Tensor:
    """torch.nn.functional.grid_sample: sample `input` at the normalised coordinates of `grid`
    ((x, y[, z]) in [-1, 1] per output point); 4-D or 5-D input ('bilinear' on 5-D input is
    trilinear)."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    align_corners = _default_align(align_corners)
    x, g = input._data, grid._data
    if x.dtype != g.dtype or g.dtype.kind != "f":
        raise RuntimeError(f"expected scalar type {_torch_dtype_name(x.dtype)} but found "
                           f"{_torch_dtype_name(g.dtype)}")
    if x.ndim == 0 or g.ndim == 0 or x.shape[0] != g.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {_sizes(x.shape)} and grid with sizes "
                           f"{_sizes(g.shape)}")
    if g.shape[-1] != g.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {g.ndim - 2} in last "
                           f"dimension, but got grid with sizes {_sizes(g.shape)}")
    if x.ndim != g.ndim or x.ndim not in (4, 5):
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number "
                           f"of dimensions, but got input with sizes {_sizes(x.shape)} and grid "
                           f"with sizes {_sizes(g.shape)}")
    if x.ndim == 5 and mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if 0 in x.shape[2:]:
        raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial "
                           f"dimensions, but input has sizes {_sizes(x.shape)} with dimension "
                           f"{x.shape.index(0, 2)} being empty")
    op = GridSampler2DBackward0 if x.ndim == 4 else GridSampler3DBackward0
    return op.apply(input, grid, mode, padding_mode, align_corners)
