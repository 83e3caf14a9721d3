"""conv.py's input gradient with few input channels per group: all kernel offsets' products in
one GEMM (ops/conv._THIN_DX) instead of one GEMV per offset; both ways against torch over
stride, padding, dilation, groups, odd sizes, batch 1 and 1-d, and a float64 gradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.autograd import gradcheck
from ember.ops import conv as cv
from helpers import assert_close

RNG = np.random.default_rng(5)


@pytest.fixture(params=["one-gemm", "per-offset"])
def dx_by(request, monkeypatch):
    monkeypatch.setattr(cv, "_THIN_DX", 1 << 30 if request.param == "one-gemm" else 0)
    return request.param


@pytest.mark.parametrize("xshape,wshape,kw", [
    ((4, 1, 28, 28), (8, 1, 4, 4), dict(stride=2, padding=1)),       # DCGAN's first layer
    ((3, 3, 17, 15), (6, 3, 7, 7), dict(stride=2, padding=3)),       # resnet's first layer
    ((2, 3, 9, 8), (5, 3, 3, 3), dict(padding=1)),                   # stride 1 (wide columns)
    ((2, 2, 10, 9), (4, 2, 3, 3), dict(dilation=2, padding=(2, 1))),
    ((2, 4, 9, 9), (6, 2, 3, 3), dict(groups=2, stride=(2, 1))),
    ((1, 1, 5, 6), (3, 1, 2, 3), dict(stride=(1, 2))),               # batch 1
])
def test_thin_input_gradient_matches_torch(torch, dx_by, xshape, wshape, kw):
    x = RNG.standard_normal(xshape).astype(np.float32)
    w = RNG.standard_normal(wshape).astype(np.float32)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oe = F.conv2d(xe, ember.tensor(w), **kw)
    ot = torch.nn.functional.conv2d(xt, torch.tensor(w), **kw)
    assert_close(oe, ot, rtol=1e-4, atol=1e-5)
    g = RNG.standard_normal(ot.shape).astype(np.float32)
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    assert_close(xe.grad, xt.grad, rtol=1e-4, atol=1e-4)


def test_thin_input_gradient_1d(torch, dx_by):
    x = RNG.standard_normal((3, 2, 20)).astype(np.float32)
    w = RNG.standard_normal((4, 2, 5)).astype(np.float32)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.conv1d(xe, ember.tensor(w), stride=2, padding=2).sum().backward()
    torch.nn.functional.conv1d(xt, torch.tensor(w), stride=2, padding=2).sum().backward()
    assert_close(xe.grad, xt.grad, rtol=1e-4, atol=1e-4)


def test_thin_input_gradient_gradcheck(dx_by):
    x = ember.tensor(RNG.standard_normal((2, 2, 6, 5)), requires_grad=True)
    w = ember.tensor(RNG.standard_normal((3, 2, 3, 2)), requires_grad=True)
    assert gradcheck(lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=1), (x, w))
