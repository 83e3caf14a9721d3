"""Every convolution algorithm ember picks by shape, against torch's conv2d: the output and the
gradients of input, weight and bias, over shapes that select each path and its boundaries
(ops/conv_winograd.use_winograd), chunk boundaries of the Winograd path, and float64
gradchecks of the Winograd op."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.autograd import gradcheck
from ember.ops import conv_winograd as cw
from helpers import assert_close, backward_and_compare_grads

RNG = np.random.default_rng(7)
WINOGRAD = "ember.ops.conv_winograd"
IM2COL = "ember.ops.conv"


def _path(out) -> str:
    return type(out.grad_fn).__module__


def _check(torch, xshape, wshape, *, padding=1, stride=1, dilation=1, groups=1, bias=True,
           need=(True, True, True), dtype=np.float32, path=None):
    """Same conv2d and backward on both; compare output and every requested gradient."""
    x = RNG.standard_normal(xshape).astype(dtype)
    w = (RNG.standard_normal(wshape) / np.sqrt(np.prod(wshape[1:]))).astype(dtype)
    b = RNG.standard_normal(wshape[0]).astype(dtype) if bias else None
    arrays = [x, w, b]
    te = [None if a is None else ember.tensor(a, requires_grad=r) for a, r in zip(arrays, need)]
    tt = [None if a is None else torch.tensor(a, requires_grad=r) for a, r in zip(arrays, need)]
    kw = dict(padding=padding, stride=stride, dilation=dilation, groups=groups)
    oe, ot = F.conv2d(*te, **kw), torch.nn.functional.conv2d(*tt, **kw)
    if path is not None:
        assert _path(oe) == path
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    assert_close(oe, ot, **tol)
    backward_and_compare_grads(torch, te, tt, oe, ot, tol, RNG)
    return oe


# ---- which path is picked -----------------------------------------------------------------

@pytest.mark.parametrize("cin,cout,k,stride,dilation,groups,expect", [
    (16, 16, 3, 1, 1, 1, WINOGRAD),       # the smallest Winograd shape
    (15, 16, 3, 1, 1, 1, IM2COL),         # one input channel too few
    (16, 15, 3, 1, 1, 1, IM2COL),         # one output channel too few
    (1, 32, 3, 1, 1, 1, IM2COL),          # the first layer of an image model
    (32, 64, 3, 2, 1, 1, IM2COL),         # strided
    (32, 64, 3, 1, 2, 1, IM2COL),         # dilated
    (32, 64, 3, 1, 1, 2, IM2COL),         # grouped
    (32, 64, 5, 1, 1, 1, IM2COL),         # not 3x3
    (32, 64, 1, 1, 1, 1, IM2COL),         # 1x1
])
def test_path_by_shape(torch, cin, cout, k, stride, dilation, groups, expect):
    _check(torch, (2, cin, 9, 8), (cout, cin // groups, k, k), padding=k // 2 * dilation,
           stride=stride, dilation=dilation, groups=groups, path=expect)


@pytest.mark.parametrize("hw,padding,expect", [
    ((8, 8), 1, WINOGRAD),        # 8x8 output: the smallest Winograd map
    ((7, 8), 1, IM2COL),          # one output row too few
    ((10, 9), 0, IM2COL),         # 8x7 output (no padding)
    ((4, 4), 1, IM2COL),          # a deep layer's small map (resnet18 layer3 on 64x64)
])
def test_path_by_output_size(torch, hw, padding, expect):
    _check(torch, (2, 16, *hw), (16, 16, 3, 3), padding=padding, path=expect)


# ---- Winograd against torch ---------------------------------------------------------------

@pytest.fixture(params=["winograd-forward", "im2col-forward"])
def forward_by(request, monkeypatch):
    """Both forwards of the Winograd op: its own (from MIN_CHANNELS_FORWARD input channels)
    and im2col's (fewer channels; the gradients are Winograd's either way)."""
    monkeypatch.setattr(cw, "MIN_CHANNELS_FORWARD", 1 if request.param == "winograd-forward"
                        else 1 << 30)
    monkeypatch.setattr(cw, "MIN_OUTPUT", 1)  # the tile edge cases come from small maps
    return request.param


@pytest.mark.parametrize("hw,padding", [
    ((8, 8), 1), ((7, 9), 1), ((5, 6), 0), ((6, 7), (2, 0)), ((3, 3), 0), ((4, 4), 3),
    ((1, 1), 1), ((2, 5), (1, 2)), ((28, 28), 1), ((14, 14), 1), ((3, 4), "valid"),
    ((6, 5), "same"),
])
def test_winograd_matches_torch(torch, forward_by, hw, padding):
    _check(torch, (3, 16, *hw), (20, 16, 3, 3), padding=padding, path=WINOGRAD)


@pytest.mark.parametrize("need", [(True, False, False), (False, True, False),
                                  (False, False, True), (True, True, False)])
def test_winograd_partial_gradients(torch, forward_by, need):
    _check(torch, (2, 16, 6, 7), (16, 16, 3, 3), need=need, path=WINOGRAD)


def test_winograd_without_bias_and_unbatched(torch, forward_by):
    _check(torch, (2, 17, 5, 8), (18, 17, 3, 3), bias=False, path=WINOGRAD)
    x = RNG.standard_normal((16, 6, 5)).astype(np.float32)
    w = RNG.standard_normal((16, 16, 3, 3)).astype(np.float32)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oe, ot = F.conv2d(xe, ember.tensor(w), padding=1), torch.nn.functional.conv2d(
        xt, torch.tensor(w), padding=1)
    assert_close(oe, ot, rtol=1e-4, atol=1e-4)
    oe.sum().backward()
    ot.sum().backward()
    assert_close(xe.grad, xt.grad, rtol=1e-4, atol=1e-4)


def test_winograd_float64(torch, forward_by):
    oe = _check(torch, (2, 16, 7, 6), (16, 16, 3, 3), dtype=np.float64, path=WINOGRAD)
    assert oe.dtype == ember.float64


@pytest.mark.parametrize("tiles,nbytes", [(1, 1), (40, 1 << 30), (1 << 30, 1 << 30)])
def test_winograd_chunks(torch, forward_by, monkeypatch, tiles, nbytes):
    """One sample per chunk, a partial last chunk (5 samples by 2), and one chunk for all."""
    monkeypatch.setattr(cw, "_CHUNK_TILES", tiles)
    monkeypatch.setattr(cw, "_CHUNK_BYTES", nbytes)
    _check(torch, (5, 16, 7, 8), (16, 16, 3, 3), path=WINOGRAD)


def test_conv_stack_layers(torch):
    """The benchmark's conv stack layers (bench/bench_conv_stack.py), at a smaller batch."""
    _check(torch, (4, 1, 28, 28), (32, 1, 3, 3), path=IM2COL, need=(False, True, True))
    _check(torch, (4, 32, 28, 28), (64, 32, 3, 3), path=WINOGRAD)
    _check(torch, (4, 64, 14, 14), (128, 64, 3, 3), path=WINOGRAD)


def test_empty_batch_uses_im2col(torch):
    _check(torch, (0, 16, 5, 5), (16, 16, 3, 3), path=IM2COL)


# ---- float64 gradcheck --------------------------------------------------------------------

@pytest.mark.parametrize("hw,padding,bias", [((4, 5), 1, True), ((5, 4), 0, False),
                                             ((3, 3), (2, 1), True)])
def test_winograd_gradcheck(monkeypatch, forward_by, hw, padding, bias):
    monkeypatch.setattr(cw, "MIN_CHANNELS", 2)  # small channel counts through Winograd
    monkeypatch.setattr(cw, "_CHUNK_TILES", 1)  # and several chunks
    x = ember.tensor(RNG.standard_normal((2, 2, *hw)), requires_grad=True)
    w = ember.tensor(RNG.standard_normal((3, 2, 3, 3)), requires_grad=True)
    b = ember.tensor(RNG.standard_normal(3), requires_grad=True) if bias else None
    assert _path(F.conv2d(x, w, b, padding=padding)) == WINOGRAD
    assert gradcheck(lambda *a: F.conv2d(*a, padding=padding),
                     (x, w) if b is None else (x, w, b))


def test_integer_input_stays_on_im2col():
    """The Winograd transforms have fractional coefficients: integer convolutions (whatever
    ember does with them) never go through them."""
    x = ember.tensor(RNG.integers(-3, 4, (2, 16, 5, 5)))
    w = ember.tensor(RNG.integers(-3, 4, (16, 16, 3, 3)))
    try:
        out = F.conv2d(x, w, padding=1)
    except RuntimeError:
        return  # rejected, as torch rejects integer convolutions on CPU
    xn, wn = x.numpy().astype(np.float64), w.numpy().astype(np.float64)
    xf, wf = ember.tensor(xn), ember.tensor(wn)
    np.testing.assert_array_equal(out.numpy(), F.conv2d(xf, wf, padding=1).numpy())


# ---- strided convolution's row chunks (ops/conv_strided.py) -----------------------------------

@pytest.mark.parametrize("chunk", [1, 25000, 1 << 30])
@pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(stride=(2, 3), padding=(0, 2)),
                                dict(stride=2, dilation=2, groups=2, padding=2)])
def test_strided_row_chunks(torch, monkeypatch, chunk, kw):
    """One output row per chunk, several rows with a partial last chunk, and one chunk for
    all: forward, dx and dW (the chunked passes) against torch."""
    from ember.ops import conv_strided
    monkeypatch.setattr(conv_strided, "_CHUNK", chunk)
    _check(torch, (3, 64, 11, 9), (12, 64 // kw.get("groups", 1), 4, 4), path=IM2COL, **kw)


def test_strided_path_is_taken():
    from ember.ops import conv_strided
    from ember.ops.conv import _Geometry
    assert conv_strided.applies(_Geometry((3, 64, 11, 9), (12, 32, 4, 4), (2, 2), (2,) * 4,
                                          (2, 2), 2))


# ---- the bias gradient's reduction (ops/normalization.channel_sum) ----------------------------

@pytest.mark.parametrize("make", [
    lambda: RNG.standard_normal((5, 7, 6, 4)).astype(np.float32),            # GEMV path
    lambda: RNG.standard_normal((5, 7, 9)),                                  # float64, 1-d conv
    lambda: RNG.standard_normal((5, 4, 6, 7)).astype(np.float32).transpose(0, 1, 3, 2),
    lambda: np.broadcast_to(np.float32(2.0), (3, 4, 5, 6)),                  # expanded grad
    lambda: RNG.standard_normal((3, 4, 5, 6)).astype(np.float16),
    lambda: np.zeros((0, 4, 5, 6), np.float32),                              # empty batch
])
def test_channel_sum(make):
    from ember.ops.normalization import channel_sum
    g = make()
    got = channel_sum(g)
    want = g.astype(np.float64).sum(axis=(0,) + tuple(range(2, g.ndim)))
    assert got.dtype == g.dtype and got.shape == (g.shape[1],)
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=2e-3 if g.dtype == np.float16
                               else 1e-5, atol=1e-4)
