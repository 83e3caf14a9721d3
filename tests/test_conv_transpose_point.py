"""Transposed convolutions of a 1x1 input (ops/conv_transpose_point.py: a generator's first
layer as one batch-first GEMM per pass) against torch: which shapes take the path, outputs,
grad_fn names and every gradient over kernel sizes, strides, bias, partial gradients, batch 1,
unbatched input and float64; the shapes next to it (padding, output padding, dilation, groups,
larger inputs) keep the general path and torch's results; float64 gradcheck of the op."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.autograd import gradcheck
from helpers import assert_close, backward_and_compare_grads

RNG = np.random.default_rng(21)
POINT = "ember.ops.conv_transpose_point"


def _check(torch, xshape, wshape, *, bias=True, need=(True, True, True), dtype=np.float32,
           path=True, **kw):
    x = RNG.standard_normal(xshape).astype(dtype)
    w = (RNG.standard_normal(wshape) / np.sqrt(wshape[0])).astype(dtype)
    b = RNG.standard_normal(wshape[1] * kw.get("groups", 1)).astype(dtype) if bias else None
    te = [None if a is None else ember.tensor(a, requires_grad=r) for a, r in zip((x, w, b), need)]
    tt = [None if a is None else torch.tensor(a, requires_grad=r) for a, r in zip((x, w, b), need)]
    oe = F.conv_transpose2d(*te, **kw)
    ot = torch.nn.functional.conv_transpose2d(*tt, **kw)
    assert (type(oe.grad_fn).__module__ == POINT) == path
    assert type(oe.grad_fn).__name__ == type(ot.grad_fn).__name__ == "ConvolutionBackward0"
    assert oe.shape == tuple(ot.shape) and oe.dtype == getattr(ember, str(ot.dtype)[6:])
    assert oe._data.flags.c_contiguous
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    assert_close(oe, ot, **tol)
    backward_and_compare_grads(torch, te, tt, oe, ot, tol, RNG)
    return oe


@pytest.mark.parametrize("wshape,stride", [
    ((64, 128, 7, 7), 1),      # DCGAN generator's first layer (bench_generative.py)
    ((16, 8, 4, 4), 1), ((16, 8, 4, 4), 2), ((5, 3, 3, 5), (3, 1)), ((4, 6, 1, 1), 1),
    ((3, 2, 2, 3), 4),
])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch(torch, wshape, stride, bias):
    _check(torch, (6, wshape[0], 1, 1), wshape, bias=bias, stride=stride)


@pytest.mark.parametrize("need", [(True, False, False), (False, True, False),
                                  (False, False, True), (False, True, True)])
def test_partial_gradients(torch, need):
    _check(torch, (5, 8, 1, 1), (8, 4, 4, 4), need=need)


def test_batch_one_float64_and_unbatched(torch):
    oe = _check(torch, (1, 6, 1, 1), (6, 5, 4, 4), dtype=np.float64)
    assert oe.dtype == ember.float64
    x = RNG.standard_normal((6, 1, 1)).astype(np.float32)
    w = RNG.standard_normal((6, 5, 3, 3)).astype(np.float32)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oe = F.conv_transpose2d(xe, ember.tensor(w))
    ot = torch.nn.functional.conv_transpose2d(xt, torch.tensor(w))
    assert oe.shape == tuple(ot.shape) == (5, 3, 3)
    assert_close(oe, ot, rtol=1e-5, atol=1e-5)
    oe.sum().backward()
    ot.sum().backward()
    assert_close(xe.grad, xt.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("xshape,wshape,kw", [
    ((3, 8, 1, 1), (8, 4, 4, 4), dict(padding=1)),
    ((3, 8, 1, 1), (8, 4, 4, 4), dict(stride=2, output_padding=1)),
    ((3, 8, 1, 1), (8, 4, 3, 3), dict(dilation=2)),
    ((3, 8, 1, 1), (8, 2, 4, 4), dict(groups=2)),
    ((3, 8, 2, 2), (8, 4, 4, 4), {}),
    ((3, 8, 1, 2), (8, 4, 4, 4), {}),
])
def test_neighbouring_shapes_keep_the_general_path(torch, xshape, wshape, kw):
    _check(torch, xshape, wshape, path=False, **kw)


def test_module_and_half_precision_path():
    """nn.ConvTranspose2d reaches the path; float16 (autocast's dtype) does not."""
    m = ember.nn.ConvTranspose2d(8, 4, 7, bias=False)
    z = ember.randn(2, 8, 1, 1)
    assert type(m(z).grad_fn).__module__ == POINT
    h = F.conv_transpose2d(z.half().requires_grad_(), m.weight.detach().half())
    assert type(h.grad_fn).__module__ != POINT


def test_gradcheck():
    x = ember.tensor(RNG.standard_normal((3, 4, 1, 1)), requires_grad=True)
    w = ember.tensor(RNG.standard_normal((4, 2, 3, 2)), requires_grad=True)
    b = ember.tensor(RNG.standard_normal(2), requires_grad=True)

    def fn(x, w, b):
        return F.conv_transpose2d(x, w, b, stride=2)
    assert type(fn(x, w, b).grad_fn).__module__ == POINT
    assert gradcheck(fn, (x, w, b))


def test_empty_batch(torch):
    _check(torch, (0, 4, 1, 1), (4, 3, 5, 5))
