"""Convolutions over small feature maps (the deep layers of a CNN), where the forward folds the
batch into one GEMM: values and gradients against torch, with bias, groups, strides, dilation
and 1-d inputs."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.ops import conv as conv_ops

CASES = [  # (N, C, O, H, W, k, stride, padding, dilation, groups, bias)
    (4, 16, 24, 4, 4, 3, 1, 1, 1, 1, True),
    (3, 8, 12, 2, 2, 3, 1, 1, 1, 1, False),
    (5, 12, 18, 5, 4, 3, 2, 1, 1, 3, True),
    (2, 8, 8, 6, 6, 3, 1, 2, 2, 8, True),
    (4, 6, 10, 3, 7, 1, 1, 0, 1, 2, False),
    (3, 4, 6, 7, 5, (2, 3), (2, 1), (1, 0), 1, 1, True),
]


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_small_map_convolution_matches_torch(torch, case):
    N, C, O, H, W, k, s, p, d, g, bias = case
    rs = np.random.RandomState(len(str(case)))
    x = rs.randn(N, C, H, W).astype(np.float32)
    w = rs.randn(O, C // g, *((k, k) if isinstance(k, int) else k)).astype(np.float32)
    b = rs.randn(O).astype(np.float32) if bias else None
    geo = conv_ops._Geometry(x.shape, w.shape, (s, s) if isinstance(s, int) else s,
                             (p, p, p, p) if isinstance(p, int) else (p[0], p[0], p[1], p[1]),
                             (d, d), g)
    assert conv_ops._fold_batch(geo)  # the path under test
    outs = []
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=True)
        wt = lib.tensor(w, requires_grad=True)
        bt = lib.tensor(b, requires_grad=True) if bias else None
        y = lib.nn.functional.conv2d(xt, wt, bt, stride=s, padding=p, dilation=d, groups=g)
        y.backward(lib.tensor(np.cos(np.arange(y.numel(), dtype=np.float32)).reshape(y.shape)))
        outs.append([y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()]
                    + ([bt.grad.numpy()] if bias else []))
    for a, e in zip(*outs):
        np.testing.assert_allclose(e, a, rtol=1e-5, atol=1e-5 * np.abs(a).max())


def test_small_map_conv1d_matches_torch(torch):
    rs = np.random.RandomState(0)
    x = rs.randn(6, 10, 9).astype(np.float32)
    w = rs.randn(14, 5, 3).astype(np.float32)
    a = torch.nn.functional.conv1d(torch.tensor(x), torch.tensor(w), padding=1, groups=2)
    e = ember.nn.functional.conv1d(ember.tensor(x), ember.tensor(w), padding=1, groups=2)
    np.testing.assert_allclose(e.numpy(), a.numpy(), rtol=1e-5, atol=1e-5)


def test_small_map_forward_gradcheck():
    rs = np.random.RandomState(1)
    x = ember.tensor(rs.randn(3, 4, 3, 3), requires_grad=True)
    w = ember.tensor(rs.randn(6, 2, 3, 3), requires_grad=True)
    b = ember.tensor(rs.randn(6), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda x, w, b: ember.nn.functional.conv2d(x, w, b, padding=1, groups=2), (x, w, b))
