"""Vision / generative layers against torch: ConvTranspose1d/2d, interpolate / Upsample,
PixelShuffle, padding layers, GroupNorm / InstanceNorm / LocalResponseNorm, and the smaller
layers (pooling extras, Fold/Unfold, distances, activations): values, gradients, dtypes, grad_fn
names, init, repr, state_dict keys, errors, and float64 gradchecks."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF
from ember.autograd import gradcheck
from helpers import assert_close, check_op, same_error

RNG = np.random.default_rng(0)


def _x(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def _modules(torch, name, *args, **kw):
    """The torch and ember module built from the same seed (so default inits must agree)."""
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(*args, **kw)
    ember.manual_seed(0)
    em = getattr(enn, name)(*args, **kw)
    return em, tm


def _compare_module(torch, em, tm, x, rtol=1e-5, atol=1e-5, train=True, call=None, names=True):
    """Same init, output, input and parameter gradients, repr, state_dict keys and buffers."""
    em.train(train)
    tm.train(train)
    assert repr(em) == repr(tm)
    assert list(em.state_dict().keys()) == list(tm.state_dict().keys())
    for (n, p), (_, q) in zip(em.named_parameters(), tm.named_parameters()):
        assert_close(p, q.detach(), 0, 0)
    call = call or (lambda m, x: m(x))
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oe, ot = call(em, xe), call(tm, xt)
    assert_close(oe, ot, rtol, atol)
    if names:
        assert type(oe.grad_fn).__name__ == type(ot.grad_fn).__name__
    g = RNG.standard_normal(tuple(ot.shape)).astype(x.dtype)
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    assert_close(xe.grad, xt.grad, rtol * 10, atol * 10)
    for (n, p), (_, q) in zip(em.named_parameters(), tm.named_parameters()):
        assert_close(p.grad, q.grad, rtol * 10, atol * 10)
    for b, c in zip(em.buffers(), tm.buffers()):
        assert_close(b, c, rtol, atol)
    return oe, ot


# ---- transposed convolution --------------------------------------------------------------------
CT2 = [dict(), dict(stride=2), dict(stride=2, padding=1, output_padding=1),
       dict(stride=(1, 2), padding=(0, 1), groups=2), dict(stride=3, dilation=2, padding=2,
                                                         output_padding=2),
       dict(kernel_size=(2, 3), bias=False, groups=3, stride=2),
       dict(kernel_size=4, stride=2, padding=1)]


@pytest.mark.parametrize("kw", CT2)
def test_conv_transpose2d_module(torch, kw):
    kw = dict(kw)
    k = kw.pop("kernel_size", 3)
    em, tm = _modules(torch, "ConvTranspose2d", 6, 12, k, **kw)
    _compare_module(torch, em, tm, _x(2, 6, 5, 4), 1e-4, 1e-5)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, output_padding=1),
                                dict(groups=2, dilation=2), dict(stride=3, bias=False)])
def test_conv_transpose1d_module(torch, kw):
    em, tm = _modules(torch, "ConvTranspose1d", 4, 6, 3, **kw)
    _compare_module(torch, em, tm, _x(3, 4, 7), 1e-4, 1e-5)


def test_conv_transpose_unbatched_output_size_and_float64(torch):
    em, tm = _modules(torch, "ConvTranspose2d", 2, 3, 3, stride=2)
    _compare_module(torch, em, tm, _x(2, 4, 5), 1e-4, 1e-5)
    for size in ([10, 12], (1, 3, 10, 12), [9, 11]):
        out = _compare_module(torch, em, tm, _x(1, 2, 4, 5), 1e-4, 1e-5,
                              call=lambda m, x: m(x, output_size=size))[0]
        assert tuple(out.shape[-2:]) == tuple(size[-2:])
    e, t = same_error(torch, lambda: em(ember.tensor(_x(1, 2, 4, 5)), output_size=[12, 12]),
                      lambda: tm(torch.tensor(_x(1, 2, 4, 5)), output_size=[12, 12]))
    assert "valid sizes range from [9, 11] to [10, 12]" in str(e)
    em64 = em.double()
    out = em64(ember.tensor(_x(1, 2, 3, 3, dtype=np.float64)))
    assert out.dtype == ember.float64


def test_conv_transpose_functional_and_gradcheck(torch):
    check_op(torch, lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(
        x, w, b, stride=2, padding=1, output_padding=1, groups=2, dilation=1),
        _x(2, 4, 3, 3), _x(4, 3, 3, 3), _x(6), rtol=1e-4, atol=1e-5)
    check_op(torch, lambda lib, x, w: lib.nn.functional.conv_transpose1d(x, w, stride=2),
             _x(2, 3, 5), _x(3, 2, 4), rtol=1e-4, atol=1e-5)
    for kw in (dict(stride=2, padding=1, output_padding=1), dict(stride=1, dilation=2, groups=2),
               dict(stride=3, dilation=2, output_padding=2)):
        x = ember.tensor(_x(2, 2, 3, 4, dtype=np.float64), requires_grad=True)
        w = ember.tensor(_x(2, 3 if kw.get("groups", 1) == 1 else 1, 3, 2, dtype=np.float64),
                         requires_grad=True)
        b = ember.tensor(_x(w.shape[1] * kw.get("groups", 1), dtype=np.float64),
                         requires_grad=True)
        assert gradcheck(lambda x, w, b: EF.conv_transpose2d(x, w, b, **kw), (x, w, b))
    x = ember.tensor(_x(2, 2, 5, dtype=np.float64), requires_grad=True)
    w = ember.tensor(_x(2, 3, 3, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda x, w: EF.conv_transpose1d(x, w, stride=2, padding=1), (x, w))


@pytest.mark.parametrize("case", [
    ("x", (1, 2, 2, 2), (2, 3, 3, 3), dict(padding=3)),
    ("x", (1, 2, 2, 2), (2, 3, 3, 3), dict(output_padding=1)),
    ("x", (1, 2, 2, 2), (2, 3, 3, 3), dict(stride=2, output_padding=2)),
    ("x", (1, 3, 2, 2), (2, 3, 3, 3), dict()),
    ("x", (2, 2), (2, 3, 3, 3), dict()),
    ("x", (1, 2, 2, 2), (2, 3, 3, 3), dict(stride=0)),
])
def test_conv_transpose_errors(torch, case):
    _, xs, ws, kw = case
    x, w = _x(*xs), _x(*ws)
    e, t = same_error(torch, lambda: EF.conv_transpose2d(ember.tensor(x), ember.tensor(w), **kw),
                      lambda: torch.nn.functional.conv_transpose2d(torch.tensor(x),
                                                                   torch.tensor(w), **kw))
    assert str(e) == str(t)


def test_conv_transpose_module_errors(torch):
    same_error(torch, lambda: enn.ConvTranspose2d(2, 3, 3, padding_mode="reflect"),
               lambda: torch.nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect"))
    same_error(torch, lambda: enn.ConvTranspose2d(2, 3, 3, groups=2),
               lambda: torch.nn.ConvTranspose2d(2, 3, 3, groups=2))
    x, w = _x(1, 2, 3, 3), _x(2, 3, 3, 3)
    e, t = same_error(torch, lambda: EF.conv_transpose2d(ember.tensor(x), ember.tensor(w),
                                                         padding="same"),
                      lambda: torch.nn.functional.conv_transpose2d(torch.tensor(x),
                                                                   torch.tensor(w),
                                                                   padding="same"))
    assert str(e) == str(t)


# ---- Conv padding modes -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "zeros"])
@pytest.mark.parametrize("nd", [1, 2])
def test_conv_padding_modes(torch, mode, nd):
    em, tm = _modules(torch, f"Conv{nd}d", 3, 4, 3, padding=2 if nd == 1 else (1, 2),
                      padding_mode=mode)
    _compare_module(torch, em, tm, _x(2, 3, 6) if nd == 1 else _x(2, 3, 5, 6), 1e-4, 1e-5)
    em, tm = _modules(torch, f"Conv{nd}d", 3, 4, 3, padding="same", padding_mode=mode)
    _compare_module(torch, em, tm, _x(2, 3, 6) if nd == 1 else _x(2, 3, 5, 6), 1e-4, 1e-5)


# ---- interpolate / Upsample ---------------------------------------------------------------------
INTERP = [
    ((2, 3, 5, 7), dict(scale_factor=2)),
    ((2, 3, 5, 7), dict(size=(8, 3))),
    ((2, 3, 5, 7), dict(size=(8, 3), mode="bilinear")),
    ((2, 3, 5, 7), dict(size=(8, 13), mode="bilinear", align_corners=True)),
    ((2, 3, 5, 7), dict(scale_factor=1.7, mode="bicubic")),
    ((2, 3, 5, 7), dict(scale_factor=(0.6, 2.3), mode="bicubic", align_corners=True)),
    ((2, 3, 3, 3), dict(scale_factor=(1.2, 1.5), mode="bilinear")),
    ((2, 3, 3, 3), dict(scale_factor=1.2, mode="bicubic")),
    ((2, 3, 5), dict(scale_factor=2.5, mode="linear")),
    ((2, 3, 5), dict(size=4, mode="linear", align_corners=True)),
    ((2, 3, 5), dict(scale_factor=2.5, mode="nearest-exact")),
    ((2, 3, 5), dict(scale_factor=1.5)),
    ((2, 3, 5, 6), dict(size=(7, 4), mode="nearest-exact")),
    ((2, 3, 5, 6), dict(scale_factor=1.3, mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 5, 6), dict(scale_factor=0.7, mode="nearest")),
    ((1, 2, 3, 4, 5), dict(scale_factor=(2, 1.2, 1.5), mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(size=(2, 5, 7), mode="nearest")),
    ((2, 3, 5, 6), dict(size=(3, 4), mode="area")),
]


@pytest.mark.parametrize("shape,kw", INTERP)
def test_interpolate(torch, shape, kw):
    check_op(torch, lambda lib, x: lib.nn.functional.interpolate(x, **kw), _x(*shape),
             atol=1e-5)


@pytest.mark.parametrize("mode", ["nearest", "linear", "bicubic"])
def test_interpolate_gradcheck(mode):
    shape = (1, 2, 3) if mode == "linear" else (1, 2, 3, 4)
    x = ember.tensor(_x(*shape, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda x: EF.interpolate(x, scale_factor=1.7, mode=mode), (x,))
    if mode != "nearest":
        assert gradcheck(lambda x: EF.interpolate(x, scale_factor=2, mode=mode,
                                                  align_corners=True), (x,))


def test_interpolate_integer_and_float64(torch):
    x = RNG.integers(0, 255, (1, 1, 3, 4)).astype(np.uint8)
    check_op(torch, lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=2), x)
    check_op(torch, lambda lib, x: lib.nn.functional.interpolate(x, size=(4, 6),
                                                                 mode="bilinear"),
             _x(1, 2, 3, 4, dtype=np.float64))


@pytest.mark.parametrize("shape,kw", [
    ((1, 2, 3, 4), dict(size=(2, 2), scale_factor=2)),
    ((1, 2, 3, 4), dict()),
    ((1, 2, 3, 4), dict(size=(2,))),
    ((1, 2, 3, 4), dict(scale_factor=(2, 2, 2))),
    ((1, 2, 3), dict(scale_factor=2, mode="bilinear")),
    ((1, 2, 3, 4), dict(scale_factor=2, mode="linear")),
    ((1, 2, 3, 4), dict(scale_factor=2, align_corners=True)),
    ((1, 2, 3, 4), dict(scale_factor=2, mode="cubic")),
    ((1, 2, 3, 4), dict(size=(0, 2))),
])
def test_interpolate_errors(torch, shape, kw):
    x = _x(*shape)
    same_error(torch, lambda: EF.interpolate(ember.tensor(x), **kw),
               lambda: torch.nn.functional.interpolate(torch.tensor(x), **kw))


@pytest.mark.parametrize("name,args,kw", [
    ("Upsample", (), dict(scale_factor=2)),
    ("Upsample", (), dict(size=(3, 9), mode="bilinear")),
    ("Upsample", (), dict(scale_factor=(2, 3.0), mode="bicubic", align_corners=True)),
    ("UpsamplingNearest2d", (), dict(scale_factor=2)),
    ("UpsamplingBilinear2d", (), dict(size=4)),
])
def test_upsample_modules(torch, name, args, kw):
    em, tm = _modules(torch, name, *args, **kw)
    _compare_module(torch, em, tm, _x(2, 3, 4, 5))


# ---- pixel shuffle ------------------------------------------------------------------------------
def test_pixel_shuffle(torch):
    em, tm = _modules(torch, "PixelShuffle", 2)
    _compare_module(torch, em, tm, _x(2, 8, 3, 4))
    _compare_module(torch, em, tm, _x(3, 2, 8, 3, 4))
    em, tm = _modules(torch, "PixelUnshuffle", 3)
    _compare_module(torch, em, tm, _x(2, 2, 6, 9))
    x = ember.tensor(_x(1, 4, 2, 3, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda x: EF.pixel_unshuffle(EF.pixel_shuffle(x, 2) * 2, 2), (x,))
    for fe, ft, shape in ((lambda x: EF.pixel_shuffle(x, 2), lambda x:
                           torch.nn.functional.pixel_shuffle(x, 2), (1, 5, 2, 2)),
                          (lambda x: EF.pixel_shuffle(x, 2), lambda x:
                           torch.nn.functional.pixel_shuffle(x, 2), (4, 2)),
                          (lambda x: EF.pixel_unshuffle(x, 2), lambda x:
                           torch.nn.functional.pixel_unshuffle(x, 2), (1, 1, 3, 4)),
                          (lambda x: EF.pixel_unshuffle(x, 2), lambda x:
                           torch.nn.functional.pixel_unshuffle(x, 2), (1, 1, 4, 3))):
        x = _x(*shape)
        e, t = same_error(torch, lambda: fe(ember.tensor(x)), lambda: ft(torch.tensor(x)))
        assert str(e) == str(t)


# ---- padding ------------------------------------------------------------------------------------
PADS = [("ZeroPad1d", (2,), (2, 3, 5)), ("ZeroPad2d", (2,), (2, 3, 4, 5)),
        ("ZeroPad2d", ((1, 2, 3, 0),), (2, 3, 4, 5)), ("ConstantPad1d", (2, 3.5), (2, 3, 5)),
        ("ConstantPad2d", ((1, 2, 0, 1), 0.0), (2, 3, 4, 5)),
        ("ConstantPad3d", (1, 1.0), (1, 2, 3, 4, 5)),
        ("ReflectionPad1d", (2,), (2, 3, 5)), ("ReflectionPad2d", ((1, 1, 2, 0),), (2, 3, 4, 5)),
        ("ReflectionPad2d", (3,), (3, 4, 5)),
        ("ReplicationPad1d", (3,), (2, 3, 5)), ("ReplicationPad2d", ((2, 0, 1, 3),), (2, 3, 4, 5)),
        ("CircularPad1d", (1,), (2, 3, 5)), ("CircularPad2d", ((1, 2, 2, 1),), (2, 3, 4, 5))]


@pytest.mark.parametrize("name,args,shape", PADS)
def test_padding_modules(torch, name, args, shape):
    em, tm = _modules(torch, name, *args)
    assert em.padding == tm.padding
    # torch builds circular padding from slice copies (CopySlices); ember has one pad node
    _compare_module(torch, em, tm, _x(*shape), names="Circular" not in name)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradcheck(mode):
    x = ember.tensor(_x(1, 2, 3, 4, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda x: EF.pad(x, (1, 2, 2, 1), mode=mode), (x,))


def test_pad_errors(torch):
    x = _x(1, 2, 3)
    same_error(torch, lambda: EF.pad(ember.tensor(x), (3, 3), mode="reflect"),
               lambda: torch.nn.functional.pad(torch.tensor(x), (3, 3), mode="reflect"))
    same_error(torch, lambda: EF.pad(ember.tensor(x), (1, 1, 1), mode="constant"),
               lambda: torch.nn.functional.pad(torch.tensor(x), (1, 1, 1), mode="constant"))


# ---- GroupNorm / InstanceNorm / LocalResponseNorm -----------------------------------------------
def _randomise(em, tm):
    for p, q in zip(em.parameters(), tm.parameters()):
        v = _x(*p.shape)
        p._data[...] = v
        with __import__("torch").no_grad():
            q.copy_(__import__("torch").tensor(v))


@pytest.mark.parametrize("args,kw,shape", [((2, 4), {}, (3, 4, 5, 6)),
                                           ((1, 4), dict(affine=False), (3, 4, 5)),
                                           ((4, 4), dict(eps=1e-3), (2, 4, 3)),
                                           ((3, 6), dict(bias=False), (2, 6, 2, 2))])
def test_group_norm(torch, args, kw, shape):
    em, tm = _modules(torch, "GroupNorm", *args, **kw)
    _randomise(em, tm)
    _compare_module(torch, em, tm, _x(*shape) * 2 + 1, 1e-5, 1e-5)


@pytest.mark.parametrize("name,kw,shape", [
    ("InstanceNorm1d", {}, (3, 4, 5)), ("InstanceNorm1d", dict(affine=True), (4, 5)),
    ("InstanceNorm2d", {}, (3, 4, 5, 6)),
    ("InstanceNorm2d", dict(affine=True, track_running_stats=True), (3, 4, 5, 6)),
    ("InstanceNorm1d", dict(track_running_stats=True, momentum=0.3), (2, 4, 7))])
def test_instance_norm(torch, name, kw, shape):
    em, tm = _modules(torch, name, 4, **kw)
    _randomise(em, tm)
    x = _x(*shape) * 2 + 1
    # torch runs instance norm as a batch norm over a (1, N*C, ...) view (a ViewBackward0 on
    # top); ember runs it as a group norm with one channel per group
    _compare_module(torch, em, tm, x, 1e-5, 1e-5, names=False)
    _compare_module(torch, em, tm, x, 1e-5, 1e-5, names=False)
    if kw.get("track_running_stats"):
        _compare_module(torch, em, tm, x, 1e-5, 1e-5, train=False, names=False)


def test_norm_gradcheck_and_errors(torch):
    x = ember.tensor(_x(2, 4, 3, dtype=np.float64), requires_grad=True)
    w = ember.tensor(_x(4, dtype=np.float64), requires_grad=True)
    b = ember.tensor(_x(4, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda x, w, b: EF.group_norm(x, 2, w, b), (x, w, b))
    assert gradcheck(lambda x, w, b: EF.instance_norm(x, weight=w, bias=b), (x, w, b))
    assert gradcheck(lambda x: EF.local_response_norm(x, 3, alpha=0.5), (x,))
    assert gradcheck(lambda x: EF.group_norm(x, 4), (x,))
    cases = [
        (lambda m: m.nn.GroupNorm(3, 4), None),
        (lambda m: m.nn.functional.group_norm(m.tensor(_x(2, 5, 3)), 2), None),
        (lambda m: m.nn.functional.group_norm(m.tensor(_x(5)), 2), None),
        (lambda m: m.nn.functional.group_norm(m.tensor(_x(2, 4, 3)), 2, m.ones(3)), None),
        (lambda m: m.nn.InstanceNorm2d(3, affine=True)(m.tensor(_x(2, 4, 4, 4))), None),
        (lambda m: m.nn.InstanceNorm2d(3)(m.tensor(_x(4, 4))), None),
        (lambda m: m.nn.functional.instance_norm(m.tensor(_x(2, 3, 1))), None),
        (lambda m: m.nn.functional.local_response_norm(m.tensor(_x(3)), 2), None),
    ]
    for fn, _ in cases:
        e, t = same_error(torch, lambda: fn(ember), lambda: fn(torch))
        assert str(e).replace("ember.", "torch.") == str(t)


@pytest.mark.parametrize("args,shape", [((3,), (3, 6, 5, 6)), ((2, 0.1, 0.75, 2.0), (3, 6, 5)),
                                        ((4,), (2, 5, 2, 3, 2))])
def test_local_response_norm(torch, args, shape):
    em, tm = _modules(torch, "LocalResponseNorm", *args)
    xe = ember.tensor(_x(*shape), requires_grad=True)
    xt = torch.tensor(xe.detach().numpy(), requires_grad=True)
    oe, ot = em(xe), tm(xt)
    assert repr(em) == repr(tm)
    assert_close(oe, ot)
    oe.sum().backward()
    ot.sum().backward()
    assert_close(xe.grad, xt.grad, 1e-4, 1e-5)


# ---- activations --------------------------------------------------------------------------------
ACTS = [("RReLU", (), {}), ("RReLU", (0.1, 0.3), {}), ("Softshrink", (), {}),
        ("Softshrink", (0.3,), {}), ("Hardshrink", (), {}), ("Hardshrink", (0.8,), {}),
        ("Softmax2d", (), {}), ("PReLU", (), {}), ("PReLU", (3,), dict(init=0.1)),
        ("SELU", (), {}), ("CELU", (0.7,), {}), ("Mish", (), {}), ("Hardswish", (), {}),
        ("Hardsigmoid", (), {}), ("Softsign", (), {}), ("Tanhshrink", (), {}),
        ("Threshold", (0.1, 20.0), {}), ("GLU", (), {}), ("GLU", (2,), {}),
        ("LogSigmoid", (), {}), ("Softmin", (1,), {})]


@pytest.mark.parametrize("name,args,kw", ACTS)
@pytest.mark.parametrize("train", [True, False])
def test_activation_modules(torch, name, args, kw, train):
    em, tm = _modules(torch, name, *args, **kw)
    x = _x(2, 3, 4, 6) * 2
    torch.manual_seed(1)
    ember.manual_seed(1)
    # torch names softsign / tanhshrink / GLU's composed nodes differently from ember's ops
    names = name not in ("Softsign", "Tanhshrink", "GLU")
    _compare_module(torch, em, tm, x, train=train, names=names)


@pytest.mark.parametrize("fn", [
    lambda F, x: F.softshrink(x, 0.4), lambda F, x: F.hardshrink(x, 0.4),
    lambda F, x: F.rrelu(x, 0.1, 0.3), lambda F, x: F.selu(x), lambda F, x: F.celu(x, 0.5),
    lambda F, x: F.mish(x), lambda F, x: F.hardswish(x), lambda F, x: F.logsigmoid(x),
    lambda F, x: F.softmin(x, 1), lambda F, x: F.glu(x, 1), lambda F, x: F.softsign(x)])
def test_activation_gradcheck(fn):
    x = ember.tensor(_x(3, 4, dtype=np.float64) + 0.05, requires_grad=True)
    assert gradcheck(lambda x: fn(EF, x), (x,))


def test_rrelu_training_draws_and_errors(torch):
    x = _x(5, 7)
    torch.manual_seed(4)
    ember.manual_seed(4)
    check_op(torch, lambda lib, x: lib.nn.functional.rrelu(x, 0.2, 0.4, training=True), x)
    xe, xt = ember.tensor(x), torch.tensor(x)
    ember.manual_seed(2)
    torch.manual_seed(2)
    enn.RReLU(inplace=True).train()(xe)
    torch.nn.RReLU(inplace=True).train()(xt)
    assert_close(xe, xt)
    same_error(torch, lambda: EF.softshrink(ember.tensor(x), -1),
               lambda: torch.nn.functional.softshrink(torch.tensor(x), -1))
    same_error(torch, lambda: enn.Softmax2d()(ember.tensor(x)),
               lambda: torch.nn.Softmax2d()(torch.tensor(x)))


# ---- pooling extras -----------------------------------------------------------------------------
POOLS = [("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 9)),
         ("MaxPool1d", (2,), dict(ceil_mode=True, dilation=2), (2, 3, 8)),
         ("AvgPool1d", (3,), dict(stride=2, padding=1), (2, 3, 9)),
         ("AvgPool1d", (3,), dict(count_include_pad=False, padding=1, ceil_mode=True), (2, 3, 8)),
         ("AdaptiveMaxPool1d", (4,), {}, (2, 3, 9)),
         ("AdaptiveMaxPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
         ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
         ("LPPool2d", (2, 3), dict(stride=2), (2, 3, 7, 6)),
         ("LPPool2d", (1.5, (2, 3)), {}, (2, 3, 6, 6)),
         ("LPPool1d", (3, 2), {}, (2, 3, 8)),
         ("Fold", ((4, 5), 2), {}, (2, 12, 12)),
         ("Fold", ((5, 6), (2, 3)), dict(stride=(1, 2), padding=1, dilation=(2, 1)), (2, 6, 15)),
         ("Unfold", (2,), dict(padding=1), (2, 3, 4, 5)),
         ("Unfold", ((2, 3),), dict(stride=2, dilation=(1, 2)), (2, 3, 6, 7))]


@pytest.mark.parametrize("name,args,kw,shape", POOLS)
def test_pooling_extras(torch, name, args, kw, shape):
    em, tm = _modules(torch, name, *args, **kw)
    x = np.abs(_x(*shape)) + 0.1 if name.startswith("LP") else _x(*shape)
    _compare_module(torch, em, tm, x, 1e-5, 1e-5)


def test_max_unpool(torch):
    x = _x(2, 3, 6, 4)
    for lib, nnm in ((torch, torch.nn), (ember, enn)):
        pool = nnm.MaxPool2d(2, return_indices=True)
        unpool = nnm.MaxUnpool2d(2)
        xx = lib.tensor(x, requires_grad=True)
        o, i = pool(xx)
        u = unpool(o, i)
        u2 = unpool(o, i, output_size=(7, 5))
        (u * lib.tensor(np.arange(u.numel(), dtype=np.float32).reshape(u.shape))).sum().backward()
        if lib is torch:
            rt = (u, u2, xx.grad, repr(unpool), type(u.grad_fn).__name__)
        else:
            re = (u, u2, xx.grad, repr(unpool), type(u.grad_fn).__name__)
    for a, b in zip(re[:3], rt[:3]):
        assert_close(a, b)
    assert re[3:] == rt[3:]
    x1 = _x(2, 3, 8)
    check_op(torch, lambda lib, x: lib.nn.functional.max_unpool1d(
        *lib.nn.functional.max_pool1d(x, 2, return_indices=True), 2), x1)
    o, i = EF.max_pool2d(ember.tensor(x), 2, return_indices=True)
    o64 = ember.tensor(o.numpy().astype(np.float64), requires_grad=True)
    assert gradcheck(lambda o: EF.max_unpool2d(o, i, 2), (o64,))
    ot, it = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    same_error(torch, lambda: EF.max_unpool2d(o, i, 2, output_size=(9, 9)),
               lambda: torch.nn.functional.max_unpool2d(ot, it, 2, output_size=(9, 9)))
    same_error(torch, lambda: EF.max_unpool2d(o, i + 100, 2),
               lambda: torch.nn.functional.max_unpool2d(ot, it + 100, 2))


def test_fold_unfold_gradcheck_and_errors(torch):
    x = ember.tensor(_x(1, 2, 4, 5, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda x: EF.unfold(x, (2, 3), padding=1, stride=(2, 1)), (x,))
    c = ember.tensor(_x(1, 8, 12, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda c: EF.fold(c, (4, 5), 2), (c,))
    assert gradcheck(lambda x: EF.lp_pool2d(x.abs() + 0.1, 2, 2), (x,))
    for fe in (lambda F, t: F.unfold(t(_x(1, 2, 3, 3)), 4),
               lambda F, t: F.fold(t(_x(1, 5, 12)), (4, 5), 2),
               lambda F, t: F.fold(t(_x(1, 8, 10)), (4, 5), 2),
               lambda F, t: F.unfold(t(_x(1, 2, 3, 3)), 2, stride=0)):
        e, t = same_error(torch, lambda: fe(EF, ember.tensor),
                          lambda: fe(torch.nn.functional, torch.tensor))
        assert str(e) == str(t)


# ---- distances, Bilinear, dropouts --------------------------------------------------------------
@pytest.mark.parametrize("name,kw", [("CosineSimilarity", {}), ("CosineSimilarity", dict(dim=0)),
                                     ("PairwiseDistance", {}),
                                     ("PairwiseDistance", dict(p=1.0, keepdim=True)),
                                     ("PairwiseDistance", dict(p=3.0, eps=0.1))])
def test_distance_modules(torch, name, kw):
    em, tm = _modules(torch, name, **kw)
    assert repr(em) == repr(tm)
    check_op(torch, lambda lib, a, b: getattr(lib.nn, name)(**kw)(a, b), _x(4, 5), _x(4, 5),
             names=False)
    a = ember.tensor(_x(3, 4, dtype=np.float64), requires_grad=True)
    b = ember.tensor(_x(3, 4, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda a, b: em(a, b), (a, b))


def test_bilinear_and_dropouts(torch):
    em, tm = _modules(torch, "Bilinear", 3, 4, 5)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    check_op(torch, lambda lib, a, b: (em if lib is ember else tm)(a, b), _x(6, 3), _x(6, 4),
             names=False, rtol=1e-4)
    for name, shape in (("Dropout1d", (4, 5, 6)), ("AlphaDropout", (4, 5))):
        em, tm = _modules(torch, name, 0.4)
        assert repr(em) == repr(tm)
        x = _x(*shape)
        torch.manual_seed(7)
        ember.manual_seed(7)
        assert_close(em(ember.tensor(x)), tm(torch.tensor(x)))


# ---- strided convolution on the batch-folded GEMM path (ops/conv_strided.py) ------------------
@pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(stride=(2, 3), padding=(0, 2)),
                                dict(stride=2, dilation=2, groups=2, padding=2),
                                dict(stride=3, bias=False), dict(stride=2, padding_mode="reflect",
                                                                 padding=1)])
def test_strided_conv_many_channels(torch, kw):
    em, tm = _modules(torch, "Conv2d", 64, 12, 3, **kw)
    _compare_module(torch, em, tm, _x(3, 64, 9, 11), 1e-4, 1e-5)
    em, tm = _modules(torch, "Conv1d", 256, 12, 3, **{k: (v[0] if isinstance(v, tuple) else v)
                                                      for k, v in kw.items()})
    _compare_module(torch, em, tm, _x(3, 256, 11), 1e-4, 1e-5)


def test_strided_conv_gradcheck():
    x = ember.tensor(_x(2, 256, 5, 6, dtype=np.float64), requires_grad=True)
    w = ember.tensor(_x(6, 128, 3, 2, dtype=np.float64), requires_grad=True)
    b = ember.tensor(_x(6, dtype=np.float64), requires_grad=True)
    from ember.ops import conv_strided
    from ember.ops.conv import _Geometry
    assert conv_strided.applies(_Geometry(x.shape, w.shape, (2, 2), (1,) * 4, (1, 1), 2))
    # few elements of x and w perturbed (gradcheck is dense): the projection checks the rest
    assert gradcheck(lambda x, w, b: EF.conv2d(x, w, b, stride=2, padding=1, groups=2),
                     (x, w, b), fast_mode=True)
    assert gradcheck(lambda x, w: EF.conv2d(x, w.repeat(1, 2, 1, 1), stride=(2, 1),
                                            dilation=2), (x, w), fast_mode=True)


# ---- end to end: the benchmark's DCGAN and VAE steps, small -------------------------------------
def test_dcgan_and_vae_steps_match_torch(torch):
    import sys
    import pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "bench"))
    import bench_generative as B
    results = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        gen, disc = B.dcgan(lib)
        F = lib.nn.functional
        rng = np.random.default_rng(0)
        z = lib.tensor(rng.standard_normal((4, B.NZ, 1, 1)).astype(np.float32))
        real = lib.tensor(rng.random((4, 1, 28, 28), dtype=np.float32) * 2 - 1)
        fake = gen(z)
        loss_d = (F.binary_cross_entropy_with_logits(disc(real), lib.ones(4, 1)) +
                  F.binary_cross_entropy_with_logits(disc(fake.detach()), lib.zeros(4, 1)))
        loss_d.backward()
        loss_g = F.binary_cross_entropy_with_logits(disc(fake), lib.ones(4, 1))
        loss_g.backward()
        vae = B._VAEParts(lib)
        x = lib.tensor(rng.random((4, 1, 28, 28), dtype=np.float32))
        h = vae.enc(x)
        recon = vae.dec(vae.dec_fc(h[:, :vae.latent]))
        loss_v = F.binary_cross_entropy(recon, x, reduction="sum")
        loss_v.backward()
        grads = [p.grad for p in list(gen.parameters()) + list(disc.parameters()) +
                 vae.parameters()]
        results.append((fake, loss_d, loss_g, recon, loss_v, grads))
    (ft, dt, gt, rt, vt, grt), (fe, de, ge, re_, ve, gre) = results
    assert_close(fe, ft.detach(), 1e-4, 1e-5)
    assert_close(re_, rt.detach(), 1e-4, 1e-5)
    for a, b in ((de, dt), (ge, gt), (ve, vt)):
        assert_close(a, b.detach(), 1e-4, 1e-4)
    for a, b in zip(gre, grt):
        assert_close(a, b, 1e-3, 1e-4)


def test_deprecated_upsample_functions(torch):
    x = _x(1, 2, 3, 4)
    for name, kw in (("upsample", dict(scale_factor=2, mode="bilinear")),
                     ("upsample_nearest", dict(scale_factor=2)),
                     ("upsample_bilinear", dict(size=(5, 7)))):
        with pytest.warns(UserWarning):
            oe = getattr(EF, name)(ember.tensor(x), **kw)
        with pytest.warns(UserWarning):
            ot = getattr(torch.nn.functional, name)(torch.tensor(x), **kw)
        assert_close(oe, ot)


@pytest.mark.parametrize("fn", [
    lambda L: L.nn.ConvTranspose2d(4, 6, 3, stride=2)(L.zeros(0, 4, 5, 5, requires_grad=True)),
    lambda L: L.nn.Conv2d(64, 6, 3, stride=2)(L.zeros(0, 64, 5, 5, requires_grad=True)),
    lambda L: L.nn.functional.group_norm(L.zeros(0, 4, 5, requires_grad=True), 2),
    lambda L: L.nn.functional.interpolate(L.zeros(0, 4, 5, 5, requires_grad=True),
                                          scale_factor=2, mode="bilinear"),
    lambda L: L.nn.functional.unfold(L.zeros(0, 2, 4, 4, requires_grad=True), 2),
    lambda L: L.nn.ConvTranspose2d(4, 6, 3, stride=2)(
        L.ones(2, 5, 5, 4, requires_grad=True).permute(0, 3, 1, 2)),
])
def test_empty_batch_and_non_contiguous(torch, fn):
    res = []
    for L in (torch, ember):
        L.manual_seed(0)
        y = fn(L)
        y.sum().backward()
        res.append(y)
    assert_close(res[1], res[0].detach(), 1e-5, 1e-5)
