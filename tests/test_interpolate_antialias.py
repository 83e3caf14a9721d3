"""F.interpolate(..., antialias=True) for bilinear and bicubic against torch: values, gradients,
grad_fn names, float64 gradcheck, torch's errors; transforms.Resize(antialias=True) on tensors
against torchvision."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from helpers import assert_close, same_error

RNG = np.random.default_rng(11)

CASES = [
    ((1, 2, 17, 13), dict(size=(5, 4))),
    ((2, 1, 9, 10), dict(scale_factor=0.37)),
    ((1, 1, 4, 5), dict(size=(9, 3))),                  # up along one axis, down along the other
    ((1, 3, 8, 8), dict(scale_factor=(0.5, 2.0))),
    ((1, 1, 7, 9), dict(size=1)),
    ((1, 1, 7, 9), dict(scale_factor=0.3, recompute_scale_factor=True)),
    ((2, 2, 32, 24), dict(size=(7, 11))),
    ((1, 1, 6, 6), dict(size=(6, 6))),                  # same size: the identity
]


def _interp(L, x, mode, ac, kw):
    return L.nn.functional.interpolate(x, mode=mode, antialias=True, align_corners=ac, **kw)


@pytest.mark.parametrize("align_corners", [False, True], ids=["half_pixel", "align_corners"])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_antialias_matches_torch(torch, mode, align_corners, case):
    shape, kw = CASES[case]
    x = RNG.standard_normal(shape).astype(np.float32)
    res = {}
    for lib in (torch, ember):
        t = lib.tensor(x, requires_grad=True)
        out = _interp(lib, t, mode, align_corners, kw)
        w = lib.tensor(np.sin(np.arange(out.numel())).reshape(tuple(out.shape)).astype(np.float32))
        (out * w).sum().backward()
        res[lib] = (out, t.grad, out.grad_fn.name())
    assert_close(res[ember][0], res[torch][0], rtol=1e-5, atol=1e-6)
    assert_close(res[ember][1], res[torch][1], rtol=1e-5, atol=1e-6)
    assert res[ember][2] == res[torch][2]


def test_bilinear_upsampling_antialias_equals_plain():
    x = ember.tensor(RNG.standard_normal((2, 3, 5, 6)).astype(np.float32))
    f = ember.nn.functional.interpolate
    np.testing.assert_allclose(f(x, size=(11, 13), mode="bilinear", antialias=True).numpy(),
                               f(x, size=(11, 13), mode="bilinear").numpy(), rtol=1e-6,
                               atol=1e-6)


def test_antialias_float64(torch):
    x = RNG.standard_normal((1, 2, 11, 7))
    for mode in ("bilinear", "bicubic"):
        e = _interp(ember, ember.tensor(x), mode, False, dict(size=(4, 3)))
        t = _interp(torch, torch.tensor(x), mode, False, dict(size=(4, 3)))
        assert e.dtype == ember.float64
        assert_close(e, t, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_antialias_gradcheck(mode):
    x = ember.randn(1, 2, 9, 7, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda t: _interp(ember, t, mode, False, dict(size=(4, 5))), (x,))
    assert gradcheck(lambda t: _interp(ember, t, mode, True, dict(scale_factor=(0.4, 1.5))), (x,))


ERRORS = [
    lambda L: _interp(L, L.randn(1, 2, 8, 8), "nearest", None, dict(size=3)),
    lambda L: _interp(L, L.randn(1, 2, 8), "linear", None, dict(size=3)),
    lambda L: _interp(L, L.randn(1, 2, 8, 8, 8), "trilinear", None, dict(size=3)),
    lambda L: _interp(L, L.randn(1, 2, 8, 8), "area", None, dict(size=3)),
    lambda L: _interp(L, L.randint(0, 5, (1, 2, 8, 8)), "bilinear", None, dict(size=3)),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_antialias_errors(torch, i):
    ee, te = same_error(torch, lambda: ERRORS[i](ember), lambda: ERRORS[i](torch))
    if i < 4:
        assert str(ee) == str(te)


@pytest.mark.parametrize("interp", ["BILINEAR", "BICUBIC"])
def test_resize_transform_antialias(torch, torchvision, interp):
    """Resize(antialias=True) on float tensors, single and batched, as torchvision (which runs
    torch's antialiased interpolate)."""
    import ember.vision.transforms as ET
    TT = torchvision.transforms
    x = RNG.random((2, 3, 37, 29)).astype(np.float32)
    for size in [(9, 14), 11, (50, 12)]:
        e = ET.Resize(size, interpolation=getattr(ET.InterpolationMode, interp),
                      antialias=True)(ember.tensor(x))
        t = TT.Resize(size, interpolation=getattr(TT.InterpolationMode, interp),
                      antialias=True)(torch.tensor(x))
        assert_close(e, t, rtol=1e-5, atol=1e-5)
        e1 = ET.Resize(size, antialias=True)(ember.tensor(x[0]))
        t1 = TT.Resize(size, antialias=True)(torch.tensor(x[0]))
        assert_close(e1, t1, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode,kw", [("bilinear", dict(antialias=True)),
                                     ("bicubic", dict(antialias=True)),
                                     ("bilinear", {}), ("bicubic", dict(align_corners=True))])
def test_interpolate_double_backward(torch, mode, kw):
    """The backward is the same resampling transposed, so it is differentiable again:
    gradgradcheck, and a gradient penalty through a resize between two layers vs torch."""
    x = ember.randn(1, 2, 7, 6, dtype=ember.float64, requires_grad=True)
    f = ember.nn.functional.interpolate
    assert ember.autograd.gradgradcheck(lambda t: f(t, size=(4, 9), mode=mode, **kw), (x,))
    a = RNG.standard_normal((1, 2, 9, 8))
    w = RNG.standard_normal((1, 2, 5, 3))
    res = []
    for lib in (torch, ember):
        xt = lib.tensor(a, requires_grad=True)
        wt = lib.tensor(w, requires_grad=True)
        out = lib.nn.functional.interpolate((xt * xt).tanh(), size=(5, 3), mode=mode, **kw)
        (g,) = lib.autograd.grad((out * wt).sin().sum(), xt, create_graph=True)
        res.append(lib.autograd.grad((g ** 2).sum(), (xt, wt)))
    assert_close(list(res[1]), list(res[0]), rtol=1e-9, atol=1e-9)
