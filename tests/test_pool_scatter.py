"""Max pooling's backward for windows that do not overlap (stride >= the dilated kernel): one
scatter of the winners' flat indices (ops/pooling._scatter_winners). Gradients against torch over
the geometries that reach it: tiling, gaps between windows, padding, dilation, ceil_mode, ties,
NaN, 1-d and unbatched input, a non-contiguous output gradient; and the path taken only
where windows are disjoint."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.autograd import gradcheck
from ember.ops import pooling
from helpers import assert_close

RNG = np.random.default_rng(7)

DISJOINT = [(k, s, p, d, ceil) for k, s, p, d, ceil in itertools.product(
    [1, 2, 3, (2, 3)], [2, 3, 4, (3, 2)], [0, 1], [1, 2], [False, True])
    if all(ss >= dd * (kk - 1) + 1 for kk, ss, dd in zip(
        *(v if isinstance(v, tuple) else (v, v) for v in (k, s, (d, d)))))
    and all(pp <= kk // 2 for kk, pp in zip(k if isinstance(k, tuple) else (k, k), (p, p)))]


def _grads(torch, x, g, call_e, call_t):
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    oe, ot = call_e(xe), call_t(xt)
    assert_close(oe, ot)
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    return xe.grad, xt.grad


@pytest.mark.parametrize("k,s,p,d,ceil", DISJOINT)
def test_disjoint_windows_match_torch(torch, k, s, p, d, ceil):
    x = RNG.standard_normal((2, 3, 11, 10)).round(1).astype(np.float32)  # ties in windows
    ot = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p, d, ceil)
    g = RNG.standard_normal(tuple(ot.shape)).astype(np.float32)
    ge, gt = _grads(torch, x, g, lambda t: F.max_pool2d(t, k, s, p, d, ceil),
                    lambda t: torch.nn.functional.max_pool2d(t, k, s, p, d, ceil))
    assert_close(ge, gt)


def test_seed_shapes_nan_and_noncontiguous_gradient(torch):
    x = RNG.standard_normal((4, 6, 24, 24)).astype(np.float32)
    x[0, 0, 0, 1] = x[1, 2, 5, 5] = x[1, 2, 4, 4] = np.nan
    gbig = RNG.standard_normal((4, 6, 12, 24)).astype(np.float32)
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    oe, ot = F.max_pool2d(xe, 2, 2), torch.nn.functional.max_pool2d(xt, 2, 2)
    oe.backward(ember.tensor(gbig)[..., ::2])  # a strided view as the incoming gradient
    ot.backward(torch.tensor(gbig)[..., ::2])
    assert_close(xe.grad, xt.grad)


def test_one_d_and_unbatched(torch):
    x = RNG.standard_normal((3, 13)).astype(np.float32)
    g = RNG.standard_normal((3, 5)).astype(np.float32)
    ge, gt = _grads(torch, x, g, lambda t: F.max_pool1d(t, 2, 3, 1, 1, True),
                    lambda t: torch.nn.functional.max_pool1d(t, 2, 3, 1, 1, True))
    assert_close(ge, gt)
    x3 = RNG.standard_normal((2, 9, 8)).astype(np.float32)
    g3 = RNG.standard_normal((2, 3, 3)).astype(np.float32)
    ge, gt = _grads(torch, x3, g3, lambda t: F.max_pool2d(t, 3, 3, 1),
                    lambda t: torch.nn.functional.max_pool2d(t, 3, 3, 1))
    assert_close(ge, gt)


def test_scatter_serves_disjoint_windows_only(monkeypatch):
    calls = []
    real = pooling._scatter_winners
    monkeypatch.setattr(pooling, "_scatter_winners", lambda *a: calls.append(1) or real(*a))
    x = ember.tensor(RNG.standard_normal((3, 4, 12, 9)).astype(np.float32), requires_grad=True)
    F.max_pool2d(x, 2, 2, (0, 1)).sum().backward()
    assert calls == [1]
    F.max_pool2d(x, 3, 2).sum().backward()  # overlapping windows: the per-offset loop
    assert calls == [1]


def test_gradcheck_disjoint_with_gaps():
    x = RNG.permutation(2 * 2 * 8 * 7).reshape(2, 2, 8, 7) / 9.0
    assert gradcheck(lambda t: F.max_pool2d(t, 2, 3, 1), (ember.tensor(x, requires_grad=True),))
