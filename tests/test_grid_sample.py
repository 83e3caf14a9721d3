"""affine_grid and grid_sample against torch: values, gradients (input and grid), errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from helpers import check_op, same_error

MODES = ["bilinear", "nearest", "bicubic"]
PADS = ["zeros", "border", "reflection"]


def _data(seed, n=2, c=3, h=5, w=6, ho=4, wo=7, dtype=np.float32):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    g = rng.uniform(-1.3, 1.3, (n, ho, wo, 2)).astype(dtype)  # some points outside the image
    return x, g


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding_mode", PADS)
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_matches_torch(torch, mode, padding_mode, align_corners):
    x, g = _data(1)
    check_op(torch, lambda lib, a, b: lib.nn.functional.grid_sample(
        a, b, mode=mode, padding_mode=padding_mode, align_corners=align_corners), x, g,
        rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding_mode", PADS)
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_gradcheck(mode, padding_mode, align_corners):
    x, g = _data(2, n=2, c=2, h=4, w=3, ho=3, wo=2, dtype=np.float64)
    xt = ember.tensor(x, requires_grad=True)
    gt = ember.tensor(g, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: F.grid_sample(
        a, b, mode=mode, padding_mode=padding_mode, align_corners=align_corners), (xt, gt))


def test_grid_sample_identity_and_float64(torch):
    # the identity affine grid with align_corners=False reproduces the image exactly
    x, _ = _data(3, dtype=np.float64)
    theta = np.tile(np.array([[1.0, 0, 0], [0, 1, 0]]), (2, 1, 1))
    grid = F.affine_grid(ember.tensor(theta), x.shape, align_corners=False)
    out = F.grid_sample(ember.tensor(x), grid, align_corners=False)
    assert out.dtype == ember.float64
    np.testing.assert_allclose(out.numpy(), x, atol=1e-12)


def test_grid_sample_single_pixel_and_singular_sizes(torch):
    for h, w in [(1, 1), (1, 4), (3, 1)]:
        x, g = _data(4, h=h, w=w)
        for pad in PADS:
            for ac in (False, True):
                check_op(torch, lambda lib, a, b: lib.nn.functional.grid_sample(
                    a, b, padding_mode=pad, align_corners=ac), x, g, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 1, 3), (2, 3, 2, 3, 4)])
def test_affine_grid_matches_torch(torch, align_corners, size):
    rng = np.random.default_rng(5)
    theta = rng.standard_normal((2, 2, 3) if len(size) == 4 else (2, 3, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(torch, lambda lib, t: lib.nn.functional.affine_grid(
            t, size, align_corners=align_corners), theta)


def test_affine_grid_gradcheck():
    rng = np.random.default_rng(6)
    for shape, size in [((2, 2, 3), (2, 3, 4, 5)), ((1, 3, 4), (1, 2, 2, 3, 4))]:
        th = ember.tensor(rng.standard_normal(shape), requires_grad=True)
        assert ember.autograd.gradcheck(lambda t: F.affine_grid(t, size, align_corners=False),
                                        (th,))


def test_spatial_transformer_step(torch):
    """The STN tutorial's sampling path: theta from a layer, affine_grid, grid_sample, a loss,
    gradients to the input, theta and the layer's weights."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
    w = (rng.standard_normal((6, 64)) * 0.05).astype(np.float32)
    b = np.array([1, 0, 0, 0, 1, 0], np.float32)

    def run(lib, x, w, b):
        theta = lib.nn.functional.linear(x.flatten(1), w, b).view(-1, 2, 3)
        grid = lib.nn.functional.affine_grid(theta, x.size(), align_corners=False)
        return lib.nn.functional.grid_sample(x, grid, align_corners=False)
    check_op(torch, run, x, w, b, rtol=1e-4, atol=1e-5)


def test_default_align_corners_warns():
    x, g = _data(8)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(ember.tensor(x), ember.tensor(g))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(ember.tensor(np.zeros((2, 2, 3), np.float32)), (2, 3, 4, 5))


def test_errors_match_torch(torch):
    x, g = _data(9)
    theta = np.zeros((2, 2, 3), np.float32)
    cases = [
        (lambda lib, x, g: lib.nn.functional.grid_sample(x, g, mode="foo", align_corners=False),
         "expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: 'foo'"),
        (lambda lib, x, g: lib.nn.functional.grid_sample(x, g, padding_mode="x",
                                                         align_corners=False), "padding_mode"),
        (lambda lib, x, g: lib.nn.functional.grid_sample(x, g.double(), align_corners=False),
         "expected scalar type Float but found Double"),
        (lambda lib, x, g: lib.nn.functional.grid_sample(x, g[:1], align_corners=False),
         "same batch size, but got input with sizes [2, 3, 5, 6] and grid with sizes "
         "[1, 4, 7, 2]"),
        (lambda lib, x, g: lib.nn.functional.grid_sample(x, g[..., :1], align_corners=False),
         "expected grid to have size 2 in last dimension"),
        (lambda lib, x, g: lib.nn.functional.grid_sample(x[None], g[None], mode="bicubic",
                                                         align_corners=False),
         "expected grid to have size 3 in last dimension"),
        (lambda lib, x, g: lib.nn.functional.affine_grid(lib.tensor(theta).long(), (2, 3, 4, 5),
                                                         align_corners=False),
         "Expected theta to have floating point type"),
        (lambda lib, x, g: lib.nn.functional.affine_grid(lib.zeros(2, 3, 3), (2, 3, 4, 5),
                                                         align_corners=False),
         "Expected a batch of 2D affine matrices of shape Nx2x3 for size (2, 3, 4, 5)"),
        (lambda lib, x, g: lib.nn.functional.affine_grid(lib.zeros(2, 2, 3), (2, 3, 4),
                                                         align_corners=False),
         "affine_grid only supports 4D and 5D sizes"),
        (lambda lib, x, g: lib.nn.functional.affine_grid(lib.zeros(2, 2, 3), (3, 3, 4, 5),
                                                         align_corners=False),
         "Expected size for first two dimensions of batch2 tensor to be: [3, 3] but got: [2, 3]"),
    ]
    for fn, msg in cases:
        ee, te = same_error(torch, lambda: fn(ember, ember.tensor(x), ember.tensor(g)),
                            lambda: fn(torch, torch.tensor(x), torch.tensor(g)))
        assert msg in str(te) and msg in str(ee), (msg, str(ee), str(te))


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", PADS)
@pytest.mark.parametrize("align_corners", [False, True])
def test_volumetric_grid_sample(torch, mode, padding_mode, align_corners):
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 4, 5, 3)).astype(np.float32)
    g = rng.uniform(-1.3, 1.3, (2, 3, 2, 4, 3)).astype(np.float32)
    check_op(torch, lambda lib, a, b: lib.nn.functional.grid_sample(
        a, b, mode=mode, padding_mode=padding_mode, align_corners=align_corners), x, g,
        rtol=1e-4, atol=1e-5)
    xd = ember.tensor(rng.standard_normal((1, 2, 3, 2, 3)), requires_grad=True)
    gd = ember.tensor(rng.uniform(-1.3, 1.3, (1, 2, 2, 1, 3)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: F.grid_sample(
        a, b, mode=mode, padding_mode=padding_mode, align_corners=align_corners), (xd, gd))


def test_volumetric_spatial_transformer(torch):
    """affine_grid 3-D into trilinear grid_sample, gradients to theta and the volume."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 2, 4, 5, 6)).astype(np.float32)
    theta = (np.tile(np.eye(3, 4), (2, 1, 1)) + 0.1 * rng.standard_normal((2, 3, 4))
             ).astype(np.float32)

    def run(lib, x, t):
        grid = lib.nn.functional.affine_grid(t, (2, 2, 3, 4, 5), align_corners=False)
        return lib.nn.functional.grid_sample(x, grid, align_corners=False)
    check_op(torch, run, x, theta, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_empty_batch_channels_and_grid(torch, mode):
    for xs, gs in [((0, 2, 3, 3), (0, 2, 2, 2)), ((2, 2, 3, 3), (2, 0, 4, 2)),
                   ((2, 0, 3, 3), (2, 2, 2, 2))]:
        check_op(torch, lambda lib, a, b: lib.nn.functional.grid_sample(
            a, b, mode=mode, align_corners=False), np.ones(xs, np.float32),
            np.zeros(gs, np.float32))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding_mode", PADS)
def test_non_finite_grid_as_torch(torch, mode, padding_mode):
    """nan/inf coordinates: nan outputs where torch's weights turn nan (zeros padding,
    bicubic), the clamped pixel where border/reflection padding maps them to an edge."""
    x = np.arange(1.0, 13.0, dtype=np.float32).reshape(1, 1, 3, 4)
    g = np.array([[[[np.nan, 0.3], [0.2, np.nan], [np.nan, np.nan], [np.inf, 0.0],
                    [-np.inf, 0.0]]]], np.float32)
    check_op(torch, lambda lib, a, b: lib.nn.functional.grid_sample(
        a, b, mode=mode, padding_mode=padding_mode, align_corners=False), x, g, grad=False)
