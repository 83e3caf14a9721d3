"""conv.py's batch-last forward (columns built a few output rows at a time) and its direct
backward (per-offset cblas GEMMs on windows of batch-last buffers, dx accumulated by the GEMM
itself), against torch: output and all gradients over padding, dilation, groups, rectangular
and even kernels, 1-d, batch 1, partial gradients; each route forced on every stride-1 shape,
the NumPy fallback (no cblas), the shape rules, and float64 gradchecks."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.autograd import gradcheck
from ember.ops import conv as cv, _blas_strided
from helpers import assert_close, backward_and_compare_grads

RNG = np.random.default_rng(11)


@pytest.fixture(params=["by-shape", "forced", "numpy"])
def route(request, monkeypatch):
    """by-shape: the rules as shipped; forced: the batch-last forward and the direct backward
    on every stride-1 shape (rules off); numpy: neither (as without OpenBLAS's cblas)."""
    if request.param == "forced":
        monkeypatch.setattr(cv, "_forward_rows_applies", lambda geo: geo.wide and geo.N > 0)
        monkeypatch.setattr(cv, "_direct", lambda geo, dt, macs: _blas_strided.find(dt, macs)
                            if geo.wide and geo.N > 0 else None)
    elif request.param == "numpy":
        monkeypatch.setattr(cv, "_forward_rows_applies", lambda geo: False)
        monkeypatch.setattr(_blas_strided, "find", lambda dt, macs: None)
    return request.param


def _check(torch, xshape, wshape, *, need=(True, True, True), bias=True, dtype=np.float32,
           nd=2, **kw):
    x = RNG.standard_normal(xshape).astype(dtype)
    w = (RNG.standard_normal(wshape) / np.sqrt(np.prod(wshape[1:]))).astype(dtype)
    b = RNG.standard_normal(wshape[0]).astype(dtype) if bias else None
    te = [None if a is None else ember.tensor(a, requires_grad=r)
          for a, r in zip((x, w, b), need)]
    tt = [None if a is None else torch.tensor(a, requires_grad=r)
          for a, r in zip((x, w, b), need)]
    fe = F.conv2d if nd == 2 else F.conv1d
    ft = torch.nn.functional.conv2d if nd == 2 else torch.nn.functional.conv1d
    oe, ot = fe(*te, **kw), ft(*tt, **kw)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    assert_close(oe, ot, **tol)
    backward_and_compare_grads(torch, te, tt, oe, ot, tol, RNG)


@pytest.mark.parametrize("xshape,wshape,kw", [
    ((20, 6, 12, 12), (12, 6, 5, 5), {}),                              # the seed CNN's conv2
    ((9, 8, 10, 9), (16, 8, 3, 3), dict(padding=1)),
    ((8, 6, 11, 13), (5, 6, 5, 3), dict(padding=(2, 0))),              # rectangular kernel
    ((8, 5, 12, 10), (7, 5, 3, 3), dict(dilation=(2, 1), padding=2)),
    ((8, 8, 9, 9), (6, 4, 5, 5), dict(groups=2, padding=1)),            # 4 channels a group
    ((8, 6, 9, 10), (4, 6, 4, 4), dict(padding="same")),                # uneven padding
    ((1, 6, 12, 12), (12, 6, 5, 5), {}),                                # batch 1
    ((10, 2, 12, 12), (8, 2, 5, 5), dict(padding=2)),                   # thin input channels
    ((8, 6, 5, 5), (3, 6, 5, 5), {}),                                   # one output pixel
])
def test_matches_torch(torch, route, xshape, wshape, kw):
    _check(torch, xshape, wshape, **kw)


@pytest.mark.parametrize("need", [(True, False, False), (False, True, False),
                                  (False, False, True), (False, True, True),
                                  (True, True, False)])
def test_partial_gradients(torch, route, need):
    _check(torch, (10, 6, 12, 12), (12, 6, 5, 5), need=need)


def test_no_bias_float64_and_1d(torch, route):
    _check(torch, (10, 6, 12, 12), (12, 6, 5, 5), bias=False, dtype=np.float64, padding=1)
    _check(torch, (10, 8, 40), (16, 8, 5), nd=1, padding=2)


def test_input_changed_in_place_after_forward_raises(torch, route):
    """The forward keeps its own batch-last copy of the input for dW; changing the input in
    place must still fail the backward as in torch (the saved input's version)."""
    for fw in (torch, ember):
        x = fw.tensor(RNG.standard_normal((10, 6, 12, 12)).astype(np.float32),
                      requires_grad=True)
        w = fw.tensor(RNG.standard_normal((12, 6, 5, 5)).astype(np.float32), requires_grad=True)
        h = x * 1
        out = fw.nn.functional.conv2d(h, w)
        with fw.no_grad():
            h.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


def test_shape_rules():
    geo = lambda xs, ws, pad=(0, 0, 0, 0): cv._Geometry(xs, ws, (1, 1), pad, (1, 1), 1)
    assert cv._forward_rows_applies(geo((100, 6, 12, 12), (12, 6, 5, 5)))       # seed conv2
    assert not cv._forward_rows_applies(geo((100, 1, 28, 28), (6, 1, 5, 5)))    # seed conv1
    assert not cv._forward_rows_applies(geo((4, 6, 12, 12), (12, 6, 5, 5)))     # batch < 8
    assert not cv._forward_rows_applies(cv._Geometry((100, 6, 12, 12), (12, 6, 5, 5), (2, 2),
                                                     (0, 0, 0, 0), (1, 1), 1))  # strided
    assert cv._direct(geo((100, 6, 12, 12), (12, 6, 5, 5)), np.float32, 1) is not None
    assert cv._direct(geo((100, 3, 12, 12), (12, 3, 5, 5)), np.float32, 1) is None
    assert cv._direct(geo((100, 6, 12, 12), (12, 6, 5, 5)), np.float16, 1) is None


def test_gradcheck(route):
    x = ember.tensor(RNG.standard_normal((8, 4, 6, 5)), requires_grad=True)
    w = ember.tensor(RNG.standard_normal((3, 4, 3, 2)), requires_grad=True)
    b = ember.tensor(RNG.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=(1, 2)), (x, w, b))
    x = ember.tensor(RNG.standard_normal((8, 4, 6, 6)), requires_grad=True)
    w = ember.tensor(RNG.standard_normal((4, 2, 3, 3)), requires_grad=True)
    assert gradcheck(lambda x, w: F.conv2d(x, w, groups=2, dilation=2, padding=1), (x, w))


@pytest.mark.parametrize("chunk", [36240, 12000])
def test_forward_row_chunks(torch, monkeypatch, chunk):
    """Several row chunks with a partial last one (3 + 3 + 2 rows, and one row a chunk): the
    columns of 5x5 6->12 @12, batch 20, take 24160 elements a row, a chunk 2 * _CHUNK."""
    monkeypatch.setattr(cv, "_CHUNK", chunk)
    geo = cv._Geometry((20, 6, 12, 12), (12, 6, 5, 5), (1, 1), (0, 0, 0, 0), (1, 1), 1)
    assert cv._forward_rows_applies(geo)
    _check(torch, (20, 6, 12, 12), (12, 6, 5, 5))
    _check(torch, (20, 6, 12, 12), (12, 6, 5, 5), bias=False, need=(False, True, False))


@pytest.mark.parametrize("hw,pad,applies", [(4, 1, True), (6, 1, True), (5, 0, True),
                                            (2, 1, True), (1, 1, False), (7, 1, False)])
@pytest.mark.parametrize("own", [False, True])
def test_stride1_small_maps_take_the_strided_route(torch, monkeypatch, hw, pad, applies, own):
    """Stride-1 convolutions on outputs of 4-36 pixels with >= 512 column rows go through
    conv_strided's exact (gap-free) columns, large weights' gradients in their own layout
    (`own`: forced on these small weights); the values and gradients stay torch's."""
    from ember.ops import conv_strided
    if own:
        monkeypatch.setattr(conv_strided, "_OWN_LAYOUT", 1)
    geo = cv._Geometry((4, 64, hw, hw), (32, 64, 3, 3), (1, 1), (pad,) * 4, (1, 1), 1)
    assert conv_strided.applies(geo) == applies
    _check(torch, (4, 64, hw, hw), (32, 64, 3, 3), padding=pad)
    _check(torch, (3, 64, hw, hw), (16, 64, 3, 3), padding=pad, dtype=np.float64)
    _check(torch, (2, 128, hw + 3, hw + 3), (32, 64, 3, 3), padding=pad, stride=2, groups=2)
