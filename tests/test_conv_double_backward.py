"""Convolution double backward (create_graph=True through conv / conv_transpose, ops/conv_double):
a gradient penalty as in WGAN-GP, d/dtheta of ||d out / d x||, against torch for every
convolution algorithm (plain columns, batch-last rows, strided, Winograd 3x3, 4x4 stride-2
phases, transposed, grouped, dilated, 1-d, 'same' padding); float64 gradgradcheck; the call's
record is dropped with the graph."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from helpers import assert_close

RNG = np.random.default_rng(13)

CONVS = [  # (in_shape, layer kwargs, transposed)
    ((2, 3, 9, 9), dict(in_channels=3, out_channels=4, kernel_size=3), False),
    ((2, 16, 10, 10), dict(in_channels=16, out_channels=16, kernel_size=3, padding=1), False),
    ((3, 6, 12, 12), dict(in_channels=6, out_channels=12, kernel_size=5), False),
    ((2, 8, 14, 14), dict(in_channels=8, out_channels=16, kernel_size=4, stride=2, padding=1),
     False),
    ((2, 4, 11, 10), dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=2),
     False),
    ((2, 4, 9, 9), dict(in_channels=4, out_channels=6, kernel_size=3, dilation=2, groups=2),
     False),
    ((2, 3, 8, 7), dict(in_channels=3, out_channels=5, kernel_size=(2, 3), padding="same"),
     False),
    ((2, 3, 11), dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1), False),
    ((2, 8, 7, 7), dict(in_channels=8, out_channels=4, kernel_size=4, stride=2, padding=1),
     True),
    ((2, 6, 1, 1), dict(in_channels=6, out_channels=4, kernel_size=7), True),
    ((2, 4, 5, 6), dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1,
                        output_padding=1, groups=2), True),
    ((2, 4, 5, 5), dict(in_channels=4, out_channels=3, kernel_size=3, dilation=2), True),
    ((2, 3, 9), dict(in_channels=3, out_channels=2, kernel_size=4, stride=2, padding=1), True),
]


def _critic_step(fw, in_shape, kw, transposed):
    """WGAN-GP's critic loss on a conv -> LeakyReLU -> linear critic: the parameters' grads."""
    nn = fw.nn
    fw.manual_seed(0)
    dims = len(in_shape) - 2
    conv = getattr(nn, f"Conv{'Transpose' if transposed else ''}{dims}d")(**kw)
    with fw.no_grad():
        for p in conv.parameters():
            p.mul_(3)  # bigger weights: a penalty well away from zero
    x = fw.tensor(RNG_X[in_shape], requires_grad=True)
    h = nn.functional.leaky_relu(conv(x), 0.2)
    head = fw.tensor(RNG_H[in_shape][:h[0].numel()].reshape(h.shape[1:]))
    out = (h * head).flatten(1).sum(1)
    g, = fw.autograd.grad(out.sum(), x, create_graph=True)
    penalty = ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    loss = out.mean() + 10 * penalty
    loss.backward()
    return [penalty, x.grad] + [p.grad for p in conv.parameters()]


RNG_X = {s: RNG.standard_normal(s).astype(np.float32) for s, _, _ in CONVS}
RNG_H = {s: RNG.standard_normal(4096).astype(np.float32) for s, _, _ in CONVS}


@pytest.mark.parametrize("in_shape,kw,transposed", CONVS)
def test_gradient_penalty_matches_torch(torch, in_shape, kw, transposed):
    got = _critic_step(ember, in_shape, kw, transposed)
    want = _critic_step(torch, in_shape, kw, transposed)
    for e, t in zip(got, want):
        assert_close(e, t, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("transposed", [False, True])
def test_gradgradcheck_float64(transposed):
    x = ember.tensor(RNG.standard_normal((2, 2, 5, 5)), requires_grad=True)
    w = ember.tensor(RNG.standard_normal((2, 3, 3, 3) if transposed else (3, 2, 3, 3)),
                     requires_grad=True)
    b = ember.tensor(RNG.standard_normal(3), requires_grad=True)
    op = ember.nn.functional.conv_transpose2d if transposed else ember.nn.functional.conv2d

    def first_grads(x, w, b):
        y = op(x, w, b, stride=2, padding=1)
        gx, gw = ember.autograd.grad((y * y).sum(), (x, w), create_graph=True)
        return gx.sum() * 0.5 + (gw * gw).sum() + (gx * gx).sum()

    assert gradcheck(first_grads, (x, w, b))


def test_call_record_is_dropped_with_the_graph():
    conv = ember.nn.Conv2d(2, 3, 3)
    x = ember.randn(1, 2, 5, 5, requires_grad=True)
    y = conv(x)
    node = y.grad_fn
    assert node.conv_call is not None
    y.sum().backward()
    assert node.conv_call is None
    y2 = conv(x)
    y2.sum().backward(retain_graph=True)
    assert y2.grad_fn.conv_call is not None  # kept for another backward
