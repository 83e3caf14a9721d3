"""Max / average / adaptive pooling against torch: values, indices, gradients, edge cases
(ceil_mode, padding, overlapping windows, ties, NaN, odd sizes), reprs, errors, gradchecks."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck
from helpers import assert_close, same_error

RNG = np.random.default_rng(0)


def _compare(torch, fe, ft, x, check_grad=True):
    """Run fe on ember and ft on torch with input x; compare outputs (and indices), then the
    input gradients for a random output gradient."""
    xe = ember.tensor(x, requires_grad=check_grad)
    xt = torch.tensor(x, requires_grad=check_grad)
    oe, ot = fe(xe), ft(xt)
    if isinstance(ot, tuple):
        assert isinstance(oe, tuple)
        assert_close(oe[1], ot[1])  # indices: int64, exactly equal
        oe, ot = oe[0], ot[0]
    assert_close(oe, ot)
    if check_grad:
        assert type(oe.grad_fn).__name__ == type(ot.grad_fn).__name__
        g = RNG.standard_normal(tuple(ot.shape)).astype(x.dtype)
        oe.backward(ember.tensor(g))
        ot.backward(torch.tensor(g))
        assert_close(xe.grad, xt.grad)
    return oe


MAX_GRID = list(itertools.product(
    [1, 2, 3, (2, 3)],        # kernel
    [None, 1, 2, (2, 1)],     # stride
    [0, 1],                   # padding
    [1, 2],                   # dilation
    [False, True],            # ceil_mode
))


@pytest.mark.parametrize("k,s,p,d,ceil", MAX_GRID)
def test_max_pool2d_grid(torch, k, s, p, d, ceil):
    # values rounded to one decimal: plenty of ties inside windows
    x = RNG.standard_normal((2, 3, 7, 8)).round(1).astype(np.float32)
    fe = lambda t: F.max_pool2d(t, k, s, p, d, ceil, True)  # noqa: E731
    ft = lambda t: torch.nn.functional.max_pool2d(t, k, s, p, d, ceil, True)  # noqa: E731
    try:
        ft(torch.tensor(x))
    except RuntimeError:
        same_error(torch, lambda: fe(ember.tensor(x)), lambda: ft(torch.tensor(x)))
        return
    _compare(torch, fe, ft, x)


def test_max_pool2d_seed_call_and_unbatched(torch):
    x = RNG.random((10, 6, 24, 24), dtype=np.float32)
    oe = _compare(torch, lambda t: F.max_pool2d(t, kernel_size=2, stride=2),
                  lambda t: torch.nn.functional.max_pool2d(t, kernel_size=2, stride=2), x)
    assert type(oe.grad_fn).__name__ == "MaxPool2DWithIndicesBackward0"
    _compare(torch, lambda t: F.max_pool2d(t, 3, 2, 1, return_indices=True),
             lambda t: torch.nn.functional.max_pool2d(t, 3, 2, 1, return_indices=True),
             RNG.standard_normal((3, 9, 7)).astype(np.float32))


def test_max_pool2d_all_equal_windows_take_first_element(torch):
    for x in (np.zeros((1, 2, 4, 4), np.float32), np.full((1, 1, 4, 5), -np.inf, np.float32)):
        _compare(torch, lambda t: F.max_pool2d(t, 2, 1, 1, return_indices=True),
                 lambda t: torch.nn.functional.max_pool2d(t, 2, 1, 1, return_indices=True), x)


def test_max_pool2d_nan_propagates_like_torch(torch):
    x = RNG.standard_normal((1, 2, 5, 5))
    x[0, 0, 1, 1] = np.nan
    x[0, 1, 2, 2] = x[0, 1, 2, 3] = np.nan
    _compare(torch, lambda t: F.max_pool2d(t, 3, 1, 1, return_indices=True),
             lambda t: torch.nn.functional.max_pool2d(t, 3, 1, 1, return_indices=True), x)


def test_max_pool2d_integer_and_float64(torch):
    x = RNG.integers(-5, 5, (2, 2, 5, 6))
    _compare(torch, lambda t: F.max_pool2d(t, 2, return_indices=True),
             lambda t: torch.nn.functional.max_pool2d(t, 2, return_indices=True), x,
             check_grad=False)
    _compare(torch, lambda t: F.max_pool2d(t, 2, 1), lambda t: torch.nn.functional.max_pool2d(
        t, 2, 1), RNG.standard_normal((2, 2, 5, 6)))


@pytest.mark.parametrize("k,s,p,d,ceil,ri", list(itertools.product(
    [1, 2, 3], [None, 2], [0, 1], [1, 2], [False, True], [False, True])))
def test_max_pool1d(torch, k, s, p, d, ceil, ri):
    x = RNG.standard_normal((2, 3, 9)).round(1).astype(np.float32)
    fe = lambda t: F.max_pool1d(t, k, s, p, d, ceil, ri)  # noqa: E731
    ft = lambda t: torch.nn.functional.max_pool1d(t, k, s, p, d, ceil, ri)  # noqa: E731
    try:
        ft(torch.tensor(x))
    except RuntimeError:
        same_error(torch, lambda: fe(ember.tensor(x)), lambda: ft(torch.tensor(x)))
        return
    _compare(torch, fe, ft, x)
    _compare(torch, fe, ft, x[0])


AVG_GRID = list(itertools.product(
    [1, 2, 3, (2, 3)],        # kernel
    [None, 1, 2, (2, 1)],     # stride
    [0, 1],                   # padding
    [False, True],            # ceil_mode
    [True, False],            # count_include_pad
    [None, 3],                # divisor_override
))


@pytest.mark.parametrize("k,s,p,ceil,cip,div", AVG_GRID)
def test_avg_pool2d_grid(torch, k, s, p, ceil, cip, div):
    x = RNG.standard_normal((2, 3, 7, 8)).astype(np.float32)
    fe = lambda t: F.avg_pool2d(t, k, s, p, ceil, cip, div)  # noqa: E731
    ft = lambda t: torch.nn.functional.avg_pool2d(t, k, s, p, ceil, cip, div)  # noqa: E731
    try:
        ft(torch.tensor(x))
    except RuntimeError:
        same_error(torch, lambda: fe(ember.tensor(x)), lambda: ft(torch.tensor(x)))
        return
    _compare(torch, fe, ft, x)


def test_avg_pool1d_and_integer_avg_pool(torch):
    x = RNG.standard_normal((2, 3, 10)).astype(np.float32)
    for args in ((2,), (3, 2, 1), (3, 2, 1, True, False)):
        _compare(torch, lambda t: F.avg_pool1d(t, *args),
                 lambda t: torch.nn.functional.avg_pool1d(t, *args), x)
    xi = RNG.integers(-9, 9, (1, 2, 4, 4))
    _compare(torch, lambda t: F.avg_pool2d(t, 2), lambda t: torch.nn.functional.avg_pool2d(t, 2),
             xi, check_grad=False)


@pytest.mark.parametrize("size", [1, 2, 3, (2, 5), (None, 3), (7, 8), (4, 1), (5, None)])
def test_adaptive_pools(torch, size):
    x = RNG.standard_normal((2, 3, 7, 8)).round(1).astype(np.float32)
    _compare(torch, lambda t: F.adaptive_avg_pool2d(t, size),
             lambda t: torch.nn.functional.adaptive_avg_pool2d(t, size), x)
    _compare(torch, lambda t: F.adaptive_max_pool2d(t, size, True),
             lambda t: torch.nn.functional.adaptive_max_pool2d(t, size, True), x)
    _compare(torch, lambda t: F.adaptive_avg_pool2d(t, size),
             lambda t: torch.nn.functional.adaptive_avg_pool2d(t, size), x[0])


def test_adaptive_1d(torch):
    x = RNG.standard_normal((2, 3, 11)).astype(np.float32)
    for n in (1, 4, 11):
        _compare(torch, lambda t: F.adaptive_avg_pool1d(t, n),
                 lambda t: torch.nn.functional.adaptive_avg_pool1d(t, n), x)
        _compare(torch, lambda t: F.adaptive_max_pool1d(t, n, True),
                 lambda t: torch.nn.functional.adaptive_max_pool1d(t, n, True), x)


def test_pool_modules_reprs_and_outputs(torch):
    makers = [
        lambda nn: nn.MaxPool2d(2),
        lambda nn: nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        lambda nn: nn.MaxPool2d((2, 3), return_indices=True),
        lambda nn: nn.MaxPool1d(3),
        lambda nn: nn.AvgPool2d(2),
        lambda nn: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        lambda nn: nn.AvgPool1d(3, 2, 1),
        lambda nn: nn.AdaptiveAvgPool2d((5, 7)),
        lambda nn: nn.AdaptiveAvgPool2d((None, 3)),
        lambda nn: nn.AdaptiveAvgPool1d(3),
        lambda nn: nn.AdaptiveMaxPool2d(2, return_indices=True),
        lambda nn: nn.AdaptiveMaxPool1d(3),
    ]
    for make in makers:
        e, t = make(nn), make(torch.nn)
        assert repr(e) == repr(t)
        assert list(e.state_dict()) == list(t.state_dict()) == []
        x = RNG.standard_normal((2, 3, 9, 10) if "2d" in repr(t) else (2, 3, 10))
        _compare(torch, e, t, x.astype(np.float32))


@pytest.mark.parametrize("call", [
    lambda F, T: F.max_pool2d(T.zeros(2, 3, 7, 7), 2, padding=2),
    lambda F, T: F.max_pool2d(T.zeros(2, 3, 7, 7), 8),
    lambda F, T: F.max_pool2d(T.zeros(7, 7), 2),
    lambda F, T: F.max_pool2d(T.zeros(2, 3, 7, 7), 2, stride=0),
    lambda F, T: F.max_pool2d(T.zeros(2, 3, 7, 7), 0, 1),
    lambda F, T: F.max_pool2d(T.zeros(2, 3, 7, 7), 2, 1, 0, 0),
    lambda F, T: F.max_pool2d(T.zeros(2, 3, 7, 7), 2, -1),
    lambda F, T: F.max_pool2d(T.zeros(2, 3, 7, 7), 2, padding=-1),
    lambda F, T: F.max_pool2d(T.zeros(2, 3, 7, 7), (2, 2, 2)),
    lambda F, T: F.max_pool2d(T.zeros(2, 3, 0, 4), 2),
    lambda F, T: F.avg_pool2d(T.zeros(2, 3, 7, 7), 2, padding=2),
    lambda F, T: F.avg_pool2d(T.zeros(2, 3, 7, 7), 8),
    lambda F, T: F.avg_pool2d(T.zeros(2, 3, 7, 7), 2, divisor_override=0),
    lambda F, T: F.max_pool1d(T.zeros(2, 3, 7, 7), 2),
    lambda F, T: F.max_pool1d(T.zeros(3, 7), 2, padding=2),
    lambda F, T: F.max_pool1d(T.zeros(3, 7), 9),
    lambda F, T: F.avg_pool1d(T.zeros(2, 3, 7, 7), 2),
    lambda F, T: F.adaptive_avg_pool2d(T.zeros(7, 7), 2),
])
def test_errors_match_torch(torch, call):
    ee, et = same_error(torch, lambda: call(F, ember), lambda: call(torch.nn.functional, torch))
    assert str(ee) == str(et)


@pytest.mark.parametrize("fn", [
    lambda t: F.max_pool2d(t, 2),
    lambda t: F.max_pool2d(t, 3, 2, 1, 1, True),
    lambda t: F.max_pool2d(t, 2, 1, dilation=2),
    lambda t: F.avg_pool2d(t, 3, 2, 1, True, False),
    lambda t: F.avg_pool2d(t, 2, 1),
    lambda t: F.adaptive_avg_pool2d(t, (3, 2)),
    lambda t: F.adaptive_max_pool2d(t, (3, 2)),
    lambda t: F.max_pool1d(t[0], 2, 1),
])
def test_gradcheck(fn):
    # distinct values, so max pooling is differentiable at the test point
    x = RNG.permutation(2 * 3 * 6 * 5).reshape(2, 3, 6, 5) / 7.0
    assert gradcheck(fn, (ember.tensor(x, requires_grad=True),))


def test_empty_batch(torch):
    x = np.zeros((0, 3, 6, 6), np.float32)
    _compare(torch, lambda t: F.max_pool2d(t, 2), lambda t: torch.nn.functional.max_pool2d(t, 2), x)
    _compare(torch, lambda t: F.avg_pool2d(t, 2), lambda t: torch.nn.functional.avg_pool2d(t, 2), x)
