"""The augmentation transforms against torchvision 0.28: RandomResizedCrop, ColorJitter (and
the adjust_* functions), GaussianBlur, RandomErasing, RandomApply, RandomChoice, and the
tensor/PIL/batched forms of the rest, for the same seed (ember's generator replays torch's)."""
from __future__ import annotations

import random

import numpy as np
import pytest

import ember
from ember.vision import transforms as E
from ember.vision.transforms import functional as EF

PIL = pytest.importorskip("PIL.Image")

RNG = np.random.RandomState(0)
RGB = RNG.randint(0, 256, (21, 26, 3)).astype(np.uint8)
GRAY = RNG.randint(0, 256, (19, 17)).astype(np.uint8)
U8 = RNG.randint(0, 256, (3, 21, 26)).astype(np.uint8)
U8_BATCH = RNG.randint(0, 256, (4, 3, 21, 26)).astype(np.uint8)
F32 = RNG.rand(3, 21, 26).astype(np.float32)
F32_BATCH = RNG.rand(3, 3, 21, 26).astype(np.float32)
F64 = RNG.rand(3, 21, 26)

INPUTS = {
    "pil_rgb": lambda m: PIL.fromarray(RGB),
    "pil_gray": lambda m: PIL.fromarray(GRAY),
    "u8": lambda m: m.from_numpy(U8.copy()),
    "u8_batch": lambda m: m.from_numpy(U8_BATCH.copy()),
    "f32": lambda m: m.from_numpy(F32.copy()),
    "f32_batch": lambda m: m.from_numpy(F32_BATCH.copy()),
    "f64": lambda m: m.from_numpy(F64.copy()),
}


def _array(x):
    return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)


def _translate(T, v):
    """ember's InterpolationMode / dtype arguments -> torchvision's."""
    import torch
    if isinstance(v, E.InterpolationMode):
        return getattr(T.InterpolationMode, v.name)
    if isinstance(v, ember.dtype):
        return getattr(torch, str(v).split(".")[1])
    if isinstance(v, list) and v and not isinstance(v[0], (int, float)):
        return [_translate(T, x) for x in v]
    return v


def _pair(torchvision, name, *args, **kwargs):
    T = torchvision.transforms
    tt = getattr(T, name)(*[_translate(T, a) for a in args],
                          **{k: _translate(T, v) for k, v in kwargs.items()})
    et = getattr(E, name)(*args, **kwargs)
    return tt, et


def _compare(tt, et, make, n=4, seed=3, tol=0.0, frac=0.0):
    """Same seed on both sides, n calls: equal types, shapes, dtypes and pixels (up to `tol`
    on at most a fraction `frac` of them)."""
    import torch
    torch.manual_seed(seed)
    ember.manual_seed(seed)
    random.seed(seed)
    want = [tt(make(torch)) for _ in range(n)]
    random.seed(seed)
    got = [et(make(ember)) for _ in range(n)]
    for a, b in zip(want, got):
        if isinstance(a, PIL.Image):
            assert isinstance(b, PIL.Image) and (b.mode, b.size) == (a.mode, a.size)
        else:
            assert isinstance(b, ember.Tensor)
        a, b = _array(a), _array(b)
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        assert (d > tol).mean() <= frac, (d.max(), (d > tol).mean())
    # the generators moved in step: the next draw agrees
    assert ember.rand(1).item() == torch.rand(1).item()


ALL = list(INPUTS)
TENSORS = [k for k in INPUTS if not k.startswith("pil")]
RGB_INPUTS = ["pil_rgb", "u8", "u8_batch", "f32", "f32_batch", "f64"]
B = E.InterpolationMode.BILINEAR
NEAREST = E.InterpolationMode.NEAREST
BICUBIC = E.InterpolationMode.BICUBIC

CASES = [
    ("RandomResizedCrop", (12,), {}, ALL, 1.0),
    ("RandomResizedCrop", ((10, 14),), {"scale": (0.5, 0.9), "ratio": (0.5, 2.0),
                                        "interpolation": NEAREST}, ALL, 0.0),
    ("RandomResizedCrop", (30,), {"scale": (0.9, 1.0), "interpolation": BICUBIC,
                                  "antialias": False}, ALL, 1.0),
    ("RandomResizedCrop", (8,), {"scale": (2.0, 3.0)}, ALL, 1.0),  # fallback: central crop
    ("ColorJitter", (0.5,), {}, ALL, 1.0),
    ("ColorJitter", (0.4, 0.4, 0.4, 0.1), {}, ALL, 1.0),
    ("ColorJitter", (), {"contrast": (0.2, 1.8)}, ALL, 1.0),
    ("ColorJitter", (), {"saturation": 0.9, "hue": 0.3}, ALL, 1.0),
    ("ColorJitter", (), {"hue": (-0.5, -0.2)}, ALL, 1.0),
    ("GaussianBlur", (3,), {}, ALL, 1.0),
    ("GaussianBlur", ((5, 3),), {"sigma": (0.5, 3.0)}, ALL, 1.0),
    ("GaussianBlur", (7,), {"sigma": 1.5}, ALL, 1.0),
    ("RandomErasing", (), {"p": 0.9}, TENSORS, 0.0),
    ("RandomErasing", (), {"p": 1.0, "value": "random", "scale": (0.1, 0.4)}, TENSORS, 0.0),
    ("RandomErasing", (), {"p": 1.0, "value": (7, 8, 9), "ratio": (0.5, 1.0)},
     ["u8", "u8_batch"], 0.0),
    ("RandomErasing", (), {"p": 1.0, "scale": (0.99, 1.0)}, TENSORS, 0.0),  # no fit
    ("RandomHorizontalFlip", (), {}, ALL, 0.0),
    ("RandomVerticalFlip", (0.7,), {}, ALL, 0.0),
    ("RandomCrop", (9,), {"padding": 2, "padding_mode": "reflect"}, ALL, 0.0),
    ("CenterCrop", (11,), {}, ALL, 0.0),
    ("Resize", (9,), {}, ALL, 1.0),
    ("Resize", ((30, 40),), {"interpolation": BICUBIC}, ALL, 1.0),
    ("Pad", ((1, 2, 3, 4),), {"padding_mode": "edge"}, ALL, 0.0),
    ("RandomRotation", (40,), {"interpolation": B, "fill": 5}, ALL, 1.0),
    ("RandomAffine", (10,), {"translate": (0.1, 0.1), "scale": (0.9, 1.1), "shear": 5},
     ALL, 1.0),
    ("Grayscale", (3,), {}, RGB_INPUTS, 1.0),
]


def _tolerance(kind: str, smooth: float):
    """Resampling, blurring and colour arithmetic sum in another order than torch's kernels:
    uint8 results may differ by 1 on a few pixels, float ones in the last bits."""
    if not smooth:
        return 0.0, 0.0
    if kind.startswith("pil") or kind.startswith("u8"):
        return smooth, 0.02
    return 2e-6, 0.0


@pytest.mark.parametrize("name,args,kwargs,kinds,smooth", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_transforms_match_torchvision_for_the_same_seed(torchvision, name, args, kwargs, kinds,
                                                       smooth):
    tt, et = _pair(torchvision, name, *args, **kwargs)
    assert repr(et) == repr(tt)
    for kind in kinds:
        tol, frac = _tolerance(kind, smooth)
        _compare(tt, et, INPUTS[kind], tol=tol, frac=frac)


@pytest.mark.parametrize("fn,factor", [
    ("adjust_brightness", 0.0), ("adjust_brightness", 1.7), ("adjust_contrast", 0.3),
    ("adjust_contrast", 2.5), ("adjust_saturation", 0.0), ("adjust_saturation", 1.9),
    ("adjust_hue", -0.5), ("adjust_hue", 0.21), ("adjust_hue", 0.5),
])
@pytest.mark.parametrize("kind", ["pil_rgb", "pil_gray", "u8", "u8_batch", "f32", "f64"])
def test_color_functions_match_torchvision(torchvision, fn, factor, kind):
    import torch
    TF = torchvision.transforms.functional
    a = _array(getattr(TF, fn)(INPUTS[kind](torch), factor))
    b = _array(getattr(EF, fn)(INPUTS[kind](ember), factor))
    assert a.shape == b.shape and a.dtype == b.dtype
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    tol, frac = _tolerance(kind, 1.0)
    assert (d > tol).mean() <= frac, d.max()


def test_gaussian_blur_function_defaults(torchvision):
    import torch
    TF = torchvision.transforms.functional
    for k, s in [(3, None), ([5, 7], None), (9, 2.0), ([3, 5], [0.7, 1.3])]:
        a = TF.gaussian_blur(torch.from_numpy(F32_BATCH[0].copy()), k, s).numpy()
        b = EF.gaussian_blur(ember.from_numpy(F32_BATCH[0].copy()), k, s).numpy()
        np.testing.assert_allclose(b, a, rtol=0, atol=2e-6)


def test_random_apply_and_choice(torchvision):
    T = torchvision.transforms
    tt = T.RandomApply([T.RandomCrop(15), T.ColorJitter(0.3, 0.3)], p=0.6)
    et = E.RandomApply([E.RandomCrop(15), E.ColorJitter(0.3, 0.3)], p=0.6)
    assert repr(et) == repr(tt)
    for kind in ("pil_rgb", "u8", "f32_batch"):
        _compare(tt, et, INPUTS[kind], n=6, tol=1.0, frac=0.02)
    tt = T.RandomChoice([T.RandomHorizontalFlip(1.0), T.GaussianBlur(3), T.RandomCrop(12)],
                        p=[0.2, 0.3, 0.5])
    et = E.RandomChoice([E.RandomHorizontalFlip(1.0), E.GaussianBlur(3), E.RandomCrop(12)],
                        p=[0.2, 0.3, 0.5])
    for kind in ("pil_rgb", "f32"):
        _compare(tt, et, INPUTS[kind], n=8, tol=2e-6 if kind == "f32" else 1.0, frac=0.02)


def test_pipeline_on_pil_matches_torchvision(torchvision):
    """A typical augmentation pipeline: PIL in, normalised tensor out, erased."""
    T = torchvision.transforms

    def build(M, interp):
        return M.Compose([
            M.RandomResizedCrop(16, interpolation=interp), M.RandomHorizontalFlip(),
            M.ColorJitter(0.2, 0.2, 0.2, 0.05), M.PILToTensor(),
            M.ConvertImageDtype(_translate(T, ember.float32) if M is T else ember.float32),
            M.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.3), inplace=True),
            M.RandomErasing(p=0.7)])
    tt = build(T, T.InterpolationMode.BILINEAR)
    et = build(E, E.InterpolationMode.BILINEAR)
    assert repr(et) == repr(tt)
    _compare(tt, et, INPUTS["pil_rgb"], n=6, tol=0.02, frac=0.02)


def test_to_pil_image_and_pil_to_tensor_round_trip(torchvision):
    import torch
    T = torchvision.transforms
    for arr in (F32, U8, U8[:1], RNG.rand(4, 5, 6).astype(np.float32)):
        a = T.ToPILImage()(torch.from_numpy(arr.copy()))
        b = E.ToPILImage()(ember.from_numpy(arr.copy()))
        assert (a.mode, a.size) == (b.mode, b.size)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        np.testing.assert_array_equal(E.PILToTensor()(b).numpy(), T.PILToTensor()(a).numpy())


def test_normalize_inplace(torchvision):
    import torch
    t = torch.from_numpy(F32_BATCH.copy())
    e = ember.from_numpy(F32_BATCH.copy())
    ta = torchvision.transforms.Normalize((0.1, 0.2, 0.3), (0.3, 0.2, 0.1), inplace=True)(t)
    ea = E.Normalize((0.1, 0.2, 0.3), (0.3, 0.2, 0.1), inplace=True)(e)
    assert ta is t and ea is e
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_erase_keeps_autograd():
    x = ember.rand(3, 8, 8, requires_grad=True)
    out = EF.erase(x * 1, 1, 2, 3, 4, ember.zeros(3, 1, 1))
    out.sum().backward()
    g = np.ones((3, 8, 8), np.float32)
    g[:, 1:4, 2:6] = 0
    np.testing.assert_array_equal(x.grad.numpy(), g)


@pytest.mark.parametrize("call", [
    lambda T, m: T.ColorJitter(brightness=-1),
    lambda T, m: T.ColorJitter(hue=0.7),
    lambda T, m: T.ColorJitter(contrast=(1, 2, 3)),
    lambda T, m: T.ColorJitter(saturation=(2.0, 1.0)),
    lambda T, m: T.GaussianBlur(4),
    lambda T, m: T.GaussianBlur(3, sigma=-1.0),
    lambda T, m: T.GaussianBlur(3, sigma=(2.0, 1.0)),
    lambda T, m: T.GaussianBlur(3, sigma="x"),
    lambda T, m: T.RandomErasing(value="zero"),
    lambda T, m: T.RandomErasing(scale=(0.5, 1.5)),
    lambda T, m: T.RandomErasing(p=1.5),
    lambda T, m: T.RandomErasing(value=object()),
    lambda T, m: T.RandomResizedCrop(10, scale=0.5),
    lambda T, m: T.RandomErasing(p=1.0, value=(1, 2))(m.from_numpy(F32.copy())),
    lambda T, m: T.RandomErasing(p=1.0)(PIL.fromarray(RGB)),
    lambda T, m: T.functional.adjust_hue(m.from_numpy(F32.copy()), 0.6),
    lambda T, m: T.functional.adjust_brightness(m.from_numpy(F32.copy()), -0.1),
    lambda T, m: T.functional.adjust_saturation(m.from_numpy(np.zeros((2, 4, 4), "f4")), 0.5),
    lambda T, m: T.functional.adjust_contrast(m.from_numpy(np.zeros((4, 4, 4), "f4")), 0.5),
    lambda T, m: T.functional.gaussian_blur(m.from_numpy(F32.copy()), 4),
    lambda T, m: T.functional.gaussian_blur(m.from_numpy(F32.copy()), 3, [0.0, 1.0]),
    lambda T, m: T.functional.erase(PIL.fromarray(RGB), 0, 0, 1, 1, 0),
])
def test_errors_match_torchvision(torchvision, call):
    import torch
    with pytest.raises(Exception) as te:
        call(torchvision.transforms, torch)
    with pytest.raises(type(te.value)) as ee:
        call(E, ember)
    assert str(ee.value) == str(te.value)
