"""4x4 stride-2 convolutions and transposed convolutions by phase + Winograd F(4x4, 2x2)
(ops/conv_phase.py) against torch: which shapes take the path, outputs and every gradient over
padding, output_padding, odd and even sizes, batch 1, partial gradients, float64, and float64
gradchecks of both ops."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.autograd import gradcheck
from ember.ops import conv_phase as cp
from helpers import assert_close, backward_and_compare_grads

RNG = np.random.default_rng(11)
PHASE = "ember.ops.conv_phase"


def _path(out) -> str:
    return type(out.grad_fn).__module__


def _check(torch, xshape, wshape, *, transposed=False, padding=1, output_padding=0, stride=2,
           dilation=1, groups=1, bias=True, need=(True, True, True), dtype=np.float32,
           path=None):
    """The same (transposed) convolution and backward on both; compare the output, its
    grad_fn name and every requested gradient."""
    x = RNG.standard_normal(xshape).astype(dtype)
    fan = wshape[0] if transposed else np.prod(wshape[1:])
    w = (RNG.standard_normal(wshape) / np.sqrt(fan)).astype(dtype)
    nout = wshape[1] * groups if transposed else wshape[0]
    b = RNG.standard_normal(nout).astype(dtype) if bias else None
    te = [None if a is None else ember.tensor(a, requires_grad=r) for a, r in zip((x, w, b), need)]
    tt = [None if a is None else torch.tensor(a, requires_grad=r) for a, r in zip((x, w, b), need)]
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    if transposed:
        kw["output_padding"] = output_padding
        oe = F.conv_transpose2d(*te, **kw)
        ot = torch.nn.functional.conv_transpose2d(*tt, **kw)
    else:
        oe, ot = F.conv2d(*te, **kw), torch.nn.functional.conv2d(*tt, **kw)
    if path is not None:
        assert (_path(oe) == PHASE) == (path == PHASE), _path(oe)
    assert type(oe.grad_fn).__name__ == type(ot.grad_fn).__name__
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    # Winograd F(4x4, 2x2)'s float32 error grows with the sum's depth (C*16 terms per output;
    # measured 5e-6 of the output's scale at C = 64, about 14x a direct sum's)
    depth = (wshape[0] if transposed else wshape[1]) * 16
    assert_close(oe, ot, **dict(tol, atol=tol["atol"] * max(1.0, (depth / 64) ** 0.5)))
    backward_and_compare_grads(torch, te, tt, oe, ot, tol, RNG)
    return oe


@pytest.fixture
def any_size(monkeypatch):
    """The path for every 4x4 stride-2 shape, so small channel counts and maps test its tile
    and phase edge cases quickly."""
    monkeypatch.setattr(cp, "MIN_CHANNELS", 1)
    monkeypatch.setattr(cp, "MAX_WORK", 1e9)
    monkeypatch.setattr(cp, "applies", _anything_4x4_s2(cp.applies))


def _anything_4x4_s2(rule):
    def applies(xshape, wshape, stride, padding, dilation, groups, dtype, out_hw=None):
        return (len(wshape) == 4 and tuple(wshape[2:]) == (4, 4) and tuple(stride) == (2, 2)
                and tuple(dilation) == (1, 1) and groups == 1 and dtype.kind == "f"
                and dtype.itemsize >= 4 and xshape[0] > 0)
    return applies


# ---- which shapes take the path -----------------------------------------------------------

@pytest.mark.parametrize("xshape,wshape,kw,expect", [
    ((2, 64, 14, 14), (128, 64, 4, 4), {}, PHASE),                  # DCGAN discriminator
    ((2, 32, 14, 14), (64, 32, 4, 4), {}, PHASE),                   # VAE encoder
    ((2, 16, 14, 14), (32, 16, 4, 4), {}, PHASE),                   # the fewest channels
    ((2, 16, 14, 14), (16, 16, 4, 4), {}, "other"),                 # too few channel pairs
    ((2, 8, 14, 14), (64, 8, 4, 4), {}, "other"),                   # too few input channels
    ((2, 1, 28, 28), (64, 1, 4, 4), {}, "other"),                   # a first layer
    ((2, 64, 8, 8), (128, 64, 4, 4), {}, "other"),                  # one tile a side (4x4 out)
    ((2, 64, 14, 14), (128, 64, 4, 4), dict(stride=1), "other"),
    ((2, 64, 14, 14), (128, 64, 4, 4), dict(dilation=2, padding=3), "other"),
    ((2, 64, 14, 14), (128, 32, 4, 4), dict(groups=2), "other"),
    ((2, 64, 14, 14), (128, 64, 3, 3), {}, "other"),
])
def test_conv_path_by_shape(torch, xshape, wshape, kw, expect):
    _check(torch, xshape, wshape, path=expect, **kw)


@pytest.mark.parametrize("xshape,wshape,kw,expect", [
    ((2, 128, 7, 7), (128, 64, 4, 4), {}, PHASE),                   # DCGAN generator
    ((2, 64, 7, 7), (64, 32, 4, 4), {}, PHASE),                     # VAE decoder
    ((2, 64, 14, 14), (64, 1, 4, 4), {}, "other"),                  # to one channel
    ((2, 32, 7, 7), (32, 16, 4, 4), {}, PHASE),                     # the fewest channels
    ((2, 16, 14, 14), (16, 16, 4, 4), {}, "other"),                 # too few channel pairs
    ((2, 64, 8, 8), (64, 32, 4, 4), {}, "other"),                   # 16x16 out: tiles wasted
    ((2, 64, 7, 7), (64, 32, 4, 4), dict(stride=1), "other"),
    ((2, 64, 7, 7), (64, 32, 4, 4), dict(dilation=2), "other"),
    ((2, 64, 7, 7), (64, 16, 4, 4), dict(groups=2), "other"),
])
def test_conv_transpose_path_by_shape(torch, xshape, wshape, kw, expect):
    _check(torch, xshape, wshape, transposed=True, path=expect, **kw)


def test_half_precision_is_not_this_path():
    x = ember.zeros(2, 64, 14, 14, dtype=ember.float16)
    w = ember.zeros(128, 64, 4, 4, dtype=ember.float16)
    assert _path(F.conv2d(x.requires_grad_(), w, stride=2, padding=1)) != PHASE


# ---- against torch: the phase/tile edge cases (any_size) ----------------------------------

@pytest.mark.parametrize("hw,padding", [
    ((14, 14), 1), ((28, 28), 1), ((15, 13), 1), ((9, 11), 0), ((8, 8), 3), ((4, 4), 0),
    ((5, 7), 2), ((16, 17), 1), ((6, 6), 1),
])
def test_conv_matches_torch(torch, any_size, hw, padding):
    _check(torch, (3, 5, *hw), (6, 5, 4, 4), padding=padding, path=PHASE)


@pytest.mark.parametrize("hw,padding,output_padding", [
    ((7, 7), 1, 0), ((7, 9), 2, (1, 0)), ((3, 4), 1, 1), ((5, 6), 0, 0), ((4, 4), 3, 0),
    ((14, 14), 1, 0), ((1, 1), 0, 1), ((8, 5), 1, (0, 1)), ((2, 2), 2, 0),
])
def test_conv_transpose_matches_torch(torch, any_size, hw, padding, output_padding):
    _check(torch, (3, 6, *hw), (6, 5, 4, 4), transposed=True, padding=padding,
           output_padding=output_padding, path=PHASE)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("need", [(True, False, False), (False, True, False),
                                  (False, False, True), (True, True, False)])
def test_partial_gradients(torch, any_size, transposed, need):
    xshape = (2, 4, 7, 6) if transposed else (2, 4, 12, 10)
    wshape = (4, 5, 4, 4) if transposed else (5, 4, 4, 4)
    _check(torch, xshape, wshape, transposed=transposed, need=need, path=PHASE)


@pytest.mark.parametrize("transposed", [False, True])
def test_batch_one_no_bias_float64(torch, any_size, transposed):
    xshape = (1, 3, 6, 5) if transposed else (1, 3, 11, 9)
    wshape = (3, 4, 4, 4) if transposed else (4, 3, 4, 4)
    _check(torch, xshape, wshape, transposed=transposed, bias=False, path=PHASE)
    oe = _check(torch, xshape, wshape, transposed=transposed, dtype=np.float64,
                path=PHASE)
    assert oe.dtype == ember.float64


def test_unbatched(torch, any_size):
    x = RNG.standard_normal((3, 10, 10)).astype(np.float32)
    w = RNG.standard_normal((3, 3, 4, 4)).astype(np.float32)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oe = F.conv_transpose2d(F.conv2d(xe, ember.tensor(w), stride=2, padding=1),
                            ember.tensor(w), stride=2, padding=1)
    ot = torch.nn.functional.conv_transpose2d(
        torch.nn.functional.conv2d(xt, torch.tensor(w), stride=2, padding=1),
        torch.tensor(w), stride=2, padding=1)
    assert_close(oe, ot, rtol=1e-4, atol=1e-4)
    oe.sum().backward()
    ot.sum().backward()
    assert_close(xe.grad, xt.grad, rtol=1e-4, atol=1e-4)


def test_generative_layers(torch):
    """The DCGAN and VAE benchmark layers at batch 4 (bench/bench_generative.py), real rule."""
    _check(torch, (4, 64, 14, 14), (128, 64, 4, 4), bias=False, path=PHASE)
    _check(torch, (4, 128, 7, 7), (128, 64, 4, 4), transposed=True, bias=False, path=PHASE)
    _check(torch, (4, 32, 14, 14), (64, 32, 4, 4), path=PHASE)
    _check(torch, (4, 64, 7, 7), (64, 32, 4, 4), transposed=True, path=PHASE)


# ---- float64 gradcheck of both ops ---------------------------------------------------------

@pytest.mark.parametrize("transposed,hw,padding,output_padding", [
    (False, (9, 8), 1, 0), (False, (6, 7), 0, 0), (True, (3, 4), 1, 0), (True, (3, 3), 2, 1),
])
def test_gradcheck(any_size, transposed, hw, padding, output_padding):
    x = ember.tensor(RNG.standard_normal((2, 2, *hw)), requires_grad=True)
    w = ember.tensor(RNG.standard_normal((2, 3, 4, 4) if transposed else (3, 2, 4, 4)),
                     requires_grad=True)
    b = ember.tensor(RNG.standard_normal(3), requires_grad=True)
    if transposed:
        def fn(x, w, b):
            return F.conv_transpose2d(x, w, b, stride=2, padding=padding,
                                      output_padding=output_padding)
    else:
        def fn(x, w, b):
            return F.conv2d(x, w, b, stride=2, padding=padding)
    assert _path(fn(x, w, b)) == PHASE
    assert gradcheck(fn, (x, w, b))


# ---- the transforms ------------------------------------------------------------------------

def test_winograd_matrices_compute_the_correlation():
    """Y = A^T[(G g G^T) ⊙ (B^T d B)]A is the 4x4 valid correlation of a 5x5 d with a 2x2 g."""
    d, g = RNG.standard_normal((5, 5)), RNG.standard_normal((2, 2))
    y = cp._AT @ ((cp._G @ g @ cp._G.T) * (cp._BT @ d @ cp._BT.T)) @ cp._AT.T
    want = np.array([[(d[i:i + 2, j:j + 2] * g).sum() for j in range(4)] for i in range(4)])
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("transposed", [False, True])
def test_inplace_change_of_saved_weight_raises(torch, transposed):
    """The ops save input and weight as torch does: changing the weight in place between
    forward and backward raises torch's RuntimeError."""
    xshape, wshape = ((2, 32, 7, 7), (32, 16, 4, 4)) if transposed else \
        ((2, 16, 14, 14), (32, 16, 4, 4))
    for fw in (torch, ember):
        x = fw.tensor(RNG.standard_normal(xshape).astype(np.float32), requires_grad=True)
        w = fw.tensor(RNG.standard_normal(wshape).astype(np.float32), requires_grad=True)
        f = fw.nn.functional.conv_transpose2d if transposed else fw.nn.functional.conv2d
        out = f(x, w, stride=2, padding=1)
        if fw is ember:
            assert _path(out) == PHASE
        with fw.no_grad():
            w.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


@pytest.mark.parametrize("transposed", [False, True])
# input channels a chunk, conv: 1, 1, 1, 3 (output channels: 1, 3, 6, 13), transposed: 1, 2, 5, 7
@pytest.mark.parametrize("nbytes", [1, 3000, 6000, 13000])
def test_transform_channel_chunks(torch, any_size, monkeypatch, transposed, nbytes):
    """The input and output transforms a few channels at a time (_TRANSFORM_BYTES): one
    channel a chunk, and chunks of several channels with a partial last one, in the forward
    and in the backward's input gradient (the other op's forward on the laid-out gradient)."""
    monkeypatch.setattr(cp, "_TRANSFORM_BYTES", nbytes)
    if transposed:
        _check(torch, (3, 7, 7, 6), (7, 5, 4, 4), transposed=True, path=PHASE)
    else:
        _check(torch, (3, 7, 13, 12), (5, 7, 4, 4), path=PHASE)
