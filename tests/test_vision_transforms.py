"""ember.vision.transforms against torchvision.transforms: outputs, reprs, errors, random draws."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.vision import transforms as E
from ember.vision.transforms import functional as EF

PIL = pytest.importorskip("PIL.Image")

RNG = np.random.RandomState(0)
GRAY = RNG.randint(0, 256, (28, 28)).astype(np.uint8)
RGB = RNG.randint(0, 256, (20, 24, 3)).astype(np.uint8)
U8 = RNG.randint(0, 256, (3, 20, 24)).astype(np.uint8)
F32 = RNG.rand(2, 3, 20, 24).astype(np.float32)


def pil(a):
    return PIL.fromarray(a)


def as_array(x):
    if hasattr(x, "detach"):
        return x.detach().numpy()
    return np.asarray(x)


def compare(tt, et, make_input, tol=0.0, frac=0.0, seed=1, n=1):
    """Run a torchvision and an ember transform on equal inputs from the same seed."""
    import torch
    torch.manual_seed(seed)
    ember.manual_seed(seed)
    for _ in range(n):
        a = tt(make_input(torch))
        b = et(make_input(ember))
        if isinstance(a, PIL.Image):
            assert b.mode == a.mode and b.size == a.size
        a, b = as_array(a), as_array(b)
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        assert (d > tol).mean() <= frac, (d.max(), (d > tol).mean())


def gray_pil(m):
    return pil(GRAY)


def rgb_pil(m):
    return pil(RGB)


def u8_tensor(m):
    return m.from_numpy(U8.copy())


def f32_tensor(m):
    return m.from_numpy(F32.copy())


def pair(torchvision, name, *args, **kwargs):
    """The same transform from torchvision and from ember (enum arguments translated)."""
    T = torchvision.transforms

    def conv(mod, v):
        if isinstance(v, E.InterpolationMode):
            return getattr(mod.InterpolationMode, v.name)
        return v
    tt = getattr(T, name)(*[conv(T, a) for a in args],
                          **{k: conv(T, v) for k, v in kwargs.items()})
    et = getattr(E, name)(*args, **kwargs)
    return tt, et


NEAREST, BILINEAR, BICUBIC = (E.InterpolationMode.NEAREST, E.InterpolationMode.BILINEAR,
                              E.InterpolationMode.BICUBIC)

PIL_CASES = [
    ("ToTensor", (), {}), ("PILToTensor", (), {}),
    ("Resize", (14,), {}), ("Resize", ((20, 33),), {"interpolation": BICUBIC}),
    ("Resize", ((40, 9),), {"interpolation": NEAREST}),
    ("CenterCrop", (10,), {}), ("CenterCrop", ((31, 35),), {}),
    ("Pad", ((1, 2, 3, 4),), {"fill": 9}), ("Pad", (3,), {"padding_mode": "symmetric"}),
    ("Pad", ((2, 5),), {"padding_mode": "reflect"}), ("Pad", (2,), {"padding_mode": "edge"}),
    ("RandomCrop", (16,), {}), ("RandomCrop", (28,), {"padding": 4}),
    ("RandomCrop", (32,), {"padding": (2, 3), "padding_mode": "reflect",
                           "pad_if_needed": True}),
    ("RandomCrop", (40,), {"pad_if_needed": True, "fill": 7}),
    ("RandomHorizontalFlip", (), {}), ("RandomVerticalFlip", (0.3,), {}),
    ("RandomRotation", (30,), {}),
    ("RandomRotation", ((10, 50),), {"interpolation": BILINEAR, "expand": True, "fill": 3}),
    ("RandomRotation", (20,), {"center": (3, 4)}),
    ("RandomAffine", (20,), {"translate": (0.1, 0.2), "scale": (0.8, 1.2),
                             "shear": (-5, 5, -3, 3)}),
    ("RandomAffine", (0,), {"translate": (0.3, 0.3)}),
    ("RandomAffine", (15,), {"shear": 10, "interpolation": BILINEAR, "fill": 2}),
    ("Grayscale", (), {}), ("Grayscale", (3,), {}),
]


@pytest.mark.parametrize("name,args,kwargs", PIL_CASES)
@pytest.mark.parametrize("make", [gray_pil, rgb_pil], ids=["L", "RGB"])
def test_pil_images_match_torchvision(torchvision, name, args, kwargs, make):
    tt, et = pair(torchvision, name, *args, **kwargs)
    assert repr(et) == repr(tt)
    compare(tt, et, make, n=4)


TENSOR_CASES = [(*case, make) for case in PIL_CASES[2:] + [
    ("Normalize", ((0.1, 0.2, 0.3), (0.5, 0.6, 0.7)), {}),
    ("ConvertImageDtype", (ember.float64,), {})] for make in (u8_tensor, f32_tensor)
    if not (case[0] == "Normalize" and make is u8_tensor)]  # integer images: see the errors test


@pytest.mark.parametrize("name,args,kwargs,make", TENSOR_CASES)
def test_tensor_images_match_torchvision(torchvision, name, args, kwargs, make):
    import torch
    if name == "ConvertImageDtype":
        tt, et = torchvision.transforms.ConvertImageDtype(torch.float64), E.ConvertImageDtype(
            ember.float64)
    else:
        tt, et = pair(torchvision, name, *args, **kwargs)
    # bilinear/bicubic resampling in float: rounding may differ in the last bit (uint8: by 1)
    smooth = kwargs.get("interpolation") in (BILINEAR, BICUBIC) or name == "Resize"
    tol = (1.0 if make is u8_tensor else 5e-5) if smooth else 0.0
    compare(tt, et, make, tol=tol, n=3)


def test_compose_and_normalize(torchvision):
    T = torchvision.transforms
    tt = T.Compose([T.RandomCrop(24, padding=2), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize((0.1, 0.2, 0.3), (0.5, 0.6, 0.7))])
    et = E.Compose([E.RandomCrop(24, padding=2), E.RandomHorizontalFlip(), E.ToTensor(),
                    E.Normalize((0.1, 0.2, 0.3), (0.5, 0.6, 0.7))])
    assert repr(et) == repr(tt)
    compare(tt, et, rgb_pil, n=5)
    tt = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    et = E.Compose([E.ToTensor(), E.Normalize((0.5,), (0.5,))])
    assert repr(et) == repr(tt) == ("Compose(\n    ToTensor()\n    Normalize(mean=(0.5,), "
                                    "std=(0.5,))\n)")
    compare(tt, et, gray_pil)  # bit-identical


def test_to_tensor_values_and_dtype():
    x = E.ToTensor()(pil(GRAY))
    assert x.dtype == ember.float32 and tuple(x.shape) == (1, 28, 28)
    assert np.array_equal(x.numpy()[0], GRAY.astype(np.float32) / np.float32(255))
    y = E.ToTensor()(RGB)  # ndarray input (H, W, C)
    assert tuple(y.shape) == (3, 20, 24)
    z = E.ToTensor()(RGB.astype(np.float64))  # non-uint8 arrays keep their values and dtype
    assert z.dtype == ember.float64 and float(z.max()) > 1


def test_to_pil_image_and_grayscale_functions(torchvision):
    import torch
    TF = torchvision.transforms.functional
    for arr in [U8, F32[0], U8[:1], F32[0, :1]]:
        a = TF.to_pil_image(torch.from_numpy(arr.copy()))
        b = EF.to_pil_image(ember.from_numpy(arr.copy()))
        assert a.mode == b.mode and np.array_equal(np.array(a), np.array(b))
    for arr, mode in [(RGB, None), (RGB, "HSV"), (GRAY.astype(np.int16) * 100, None),
                      (GRAY.astype(np.int32), None), (F32[0, 0], "F")]:
        a = TF.to_pil_image(arr, mode)
        b = EF.to_pil_image(arr, mode)
        assert a.mode == b.mode and np.array_equal(np.array(a), np.array(b))
    for n in (1, 3):
        a = TF.to_grayscale(pil(RGB), n)
        b = EF.to_grayscale(pil(RGB), n)
        assert a.mode == b.mode and np.array_equal(np.array(a), np.array(b))
        a = TF.rgb_to_grayscale(torch.from_numpy(F32.copy()), n)
        b = EF.rgb_to_grayscale(ember.from_numpy(F32.copy()), n)
        assert np.array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("src", [U8, F32], ids=["uint8", "float32"])
@pytest.mark.parametrize("dt", ["float32", "float64", "uint8", "int16", "int32", "int64"])
def test_convert_image_dtype(torchvision, src, dt):
    import torch
    TF = torchvision.transforms.functional
    try:
        a = TF.convert_image_dtype(torch.from_numpy(src.copy()), getattr(torch, dt))
    except RuntimeError as err:
        with pytest.raises(RuntimeError, match="cannot be performed safely"):
            EF.convert_image_dtype(ember.from_numpy(src.copy()), getattr(ember, dt))
        assert "cannot be performed safely" in str(err)
        return
    b = EF.convert_image_dtype(ember.from_numpy(src.copy()), getattr(ember, dt))
    assert str(b.dtype) == str(a.dtype).replace("torch", "ember")
    assert np.array_equal(a.numpy(), b.numpy())


def test_functional_geometry_on_tensors(torchvision):
    import torch
    TF = torchvision.transforms.functional
    cases = [
        lambda F, x: F.crop(x, 2, 3, 10, 12), lambda F, x: F.crop(x, -2, 3, 30, 12),
        lambda F, x: F.center_crop(x, [9, 30]), lambda F, x: F.hflip(x),
        lambda F, x: F.vflip(x), lambda F, x: F.pad(x, [-1, 2, 3, -4]),
        lambda F, x: F.pad(x, [1, 2], padding_mode="symmetric"),
        lambda F, x: F.rotate(x, 33.0), lambda F, x: F.rotate(x, 33.0, expand=True),
        lambda F, x: F.affine(x, 20.0, [2, -3], 1.1, [5.0, 3.0], center=[5, 6]),
        lambda F, x: F.resize(x, [10, 12], antialias=False),
    ]
    for case in cases:
        for src in (U8, F32):
            a = case(TF, torch.from_numpy(src.copy())).numpy()
            b = case(EF, ember.from_numpy(src.copy())).numpy()
            assert a.shape == b.shape and a.dtype == b.dtype
            assert np.allclose(a, b, atol=1e-5), case


def test_normalize_inplace_and_out_of_place():
    x = ember.from_numpy(F32[0].copy())
    y = EF.normalize(x, [0.5] * 3, [0.5] * 3)
    assert y is not x and np.array_equal(x.numpy(), F32[0])
    z = E.Normalize([0.5] * 3, [0.5] * 3, inplace=True)(x)
    assert z is x and np.array_equal(x.numpy(), y.numpy())


def test_normalize_keeps_autograd():
    x = ember.from_numpy(F32[0].copy()).requires_grad_()
    EF.normalize(x, [0.5] * 3, [0.25] * 3).sum().backward()
    assert np.allclose(x.grad.numpy(), 4.0)


@pytest.mark.parametrize("call", [
    lambda T, m: T.Normalize((0.5,), (0.5,))(m.from_numpy(U8.copy())),
    lambda T, m: T.Normalize((0.5, 0.5), (0.5, 0.5))(m.from_numpy(F32.copy())),
    lambda T, m: T.Normalize((0.5,), (0.0,))(m.from_numpy(F32.copy())),
    lambda T, m: T.Normalize((0.5,) * 3, (0.5,) * 3)(m.from_numpy(F32[0, :1].copy())),
    lambda T, m: T.ToTensor()(m.from_numpy(U8.copy())),
    lambda T, m: T.PILToTensor()(U8),
    lambda T, m: T.RandomCrop(40)(PIL.fromarray(GRAY)),
    lambda T, m: T.Resize((1, 2, 3)),
    lambda T, m: T.CenterCrop((1, 2, 3)),
    lambda T, m: T.RandomRotation(-5),
    lambda T, m: T.RandomAffine(5, translate=(2, 0)),
    lambda T, m: T.RandomAffine(5, scale=(0, 1)),
    lambda T, m: T.Pad(1, padding_mode="wrap"),
    lambda T, m: T.Grayscale(2)(PIL.fromarray(RGB)),
    lambda T, m: T.Lambda(3),
], ids=["norm_int", "norm_channels", "norm_zero_std", "norm_broadcast", "totensor_tensor",
        "piltotensor_array", "crop_too_big", "resize_size", "centercrop_size", "negative_degrees",
        "translate_range", "scale_range", "pad_mode", "gray_channels", "lambda"])
def test_errors_match_torchvision(torchvision, call):
    import torch
    with pytest.raises(Exception) as te:
        call(torchvision.transforms, torch)
    with pytest.raises(Exception) as ee:
        call(E, ember)
    assert type(ee.value) is type(te.value)
    assert str(ee.value).replace("ember._tensor.", "torch.").replace("ember.", "torch.") == \
        str(te.value)


def test_random_draws_follow_the_generator():
    ember.manual_seed(0)
    a = [E.RandomRotation.get_params([-30.0, 30.0]) for _ in range(3)]
    ember.manual_seed(0)
    b = [E.RandomRotation.get_params([-30.0, 30.0]) for _ in range(3)]
    assert a == b and len(set(a)) == 3
    params = E.RandomAffine.get_params([-10.0, 10.0], (0.1, 0.1), (0.9, 1.1), [-5.0, 5.0],
                                       [28, 28])
    assert -10 <= params[0] <= 10 and all(abs(t) <= 3 for t in params[1])
    assert 0.9 <= params[2] <= 1.1 and params[3][1] == 0.0


def test_random_flip_rate():
    ember.manual_seed(0)
    img = pil(GRAY)
    flips = sum(np.array_equal(np.array(E.RandomHorizontalFlip(0.3)(img)), GRAY[:, ::-1])
                for _ in range(400))
    assert 80 < flips < 160


def test_transforms_are_modules():
    from ember import nn
    assert isinstance(E.Normalize((0.5,), (0.5,)), nn.Module)
    seq = nn.Sequential(E.CenterCrop(10), E.Normalize((0.5,) * 3, (0.5,) * 3))
    out = seq(ember.from_numpy(F32.copy()))
    assert tuple(out.shape) == (2, 3, 10, 10)
    assert repr(E.ConvertImageDtype(ember.float32)) == "ConvertImageDtype()"


def test_pillow_is_imported_lazily():
    import subprocess
    import sys
    code = ("import sys, ember, ember.utils.data, ember.vision; "
            "assert 'PIL' not in sys.modules, 'PIL imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
