"""Conv1d / Conv2d and F.conv1d / F.conv2d against torch: outputs, every gradient, reprs,
state_dict keys, errors; float64 gradchecks of the convolution op."""
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
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.")


def _copy_weights(em, tm):
    """Give the ember module the torch module's parameter values."""
    for name, p in tm.named_parameters():
        getattr(em, name)._data[...] = p.detach().numpy()


def _run_module(torch, e_mod, t_mod, x, grad_input=True):
    xe = ember.tensor(x, requires_grad=grad_input)
    xt = torch.tensor(x, requires_grad=grad_input)
    oe, ot = e_mod(xe), t_mod(xt)
    assert_close(oe, ot, rtol=1e-4, atol=1e-5)
    g = RNG.standard_normal(ot.shape).astype(x.dtype)
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    if grad_input:
        assert_close(xe.grad, xt.grad, rtol=1e-4, atol=1e-5)
    for name, p in t_mod.named_parameters():
        assert_close(getattr(e_mod, name).grad, p.grad, rtol=1e-4, atol=1e-4)
    return oe, ot


_FULL_GRID = list(itertools.product(
    [1, 2, (2, 1)],              # stride
    [0, 1, (2, 1), "same", "valid"],  # padding
    [1, 2],                      # dilation
    [1, 2],                      # groups
    [True, False],               # bias
))
# torch rejects padding='same' with a stride: those 16 combinations must raise as torch does
CONV2D_GRID = [c for c in _FULL_GRID if not (c[1] == "same" and c[0] != 1)]
CONV2D_SAME_STRIDED = [c for c in _FULL_GRID if c[1] == "same" and c[0] != 1]


@pytest.mark.parametrize("stride,padding,dilation,groups,bias", CONV2D_GRID)
def test_conv2d_grid_matches_torch(torch, stride, padding, dilation, groups, bias):
    tm = torch.nn.Conv2d(4, 6, (3, 2), stride, padding, dilation, groups, bias)
    em = nn.Conv2d(4, 6, (3, 2), stride, padding, dilation, groups, bias)
    _copy_weights(em, tm)
    x = RNG.standard_normal((2, 4, 9, 8)).astype(np.float32)
    oe, _ = _run_module(torch, em, tm, x)
    assert type(oe.grad_fn).__name__ == "ConvolutionBackward0"
    assert oe.is_contiguous()


@pytest.mark.parametrize("stride,padding,dilation,groups,bias", CONV2D_SAME_STRIDED)
def test_conv2d_grid_same_padding_with_stride_raises_as_torch(torch, stride, padding, dilation,
                                                              groups, bias):
    assert len(CONV2D_SAME_STRIDED) == 16
    args = (4, 6, (3, 2), stride, padding, dilation, groups, bias)
    ee, et = same_error(torch, lambda: nn.Conv2d(*args), lambda: torch.nn.Conv2d(*args))
    assert type(ee) is ValueError and str(ee) == str(et)
    x = RNG.standard_normal((2, 4, 9, 8)).astype(np.float32)
    w = RNG.standard_normal((6, 4 // groups, 3, 2)).astype(np.float32)
    b = RNG.standard_normal(6).astype(np.float32) if bias else None

    def call(lib, fn):
        return fn(lib.tensor(x), lib.tensor(w), None if b is None else lib.tensor(b), stride,
                  padding, dilation, groups)
    ee, et = same_error(torch, lambda: call(ember, F.conv2d),
                        lambda: call(torch, torch.nn.functional.conv2d))
    assert type(ee) is RuntimeError and str(ee) == str(et)


@pytest.mark.parametrize("stride,padding,dilation,groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), (1, "same", 2, 1), (3, 2, 2, 3), (1, "valid", 1, 3), (2, 0, 3, 1)])
def test_conv1d_matches_torch(torch, stride, padding, dilation, groups):
    tm = torch.nn.Conv1d(3, 6, 3, stride, padding, dilation, groups)
    em = nn.Conv1d(3, 6, 3, stride, padding, dilation, groups)
    _copy_weights(em, tm)
    x = RNG.standard_normal((4, 3, 17)).astype(np.float32)
    oe, _ = _run_module(torch, em, tm, x)
    assert type(oe.grad_fn).__name__ == "ConvolutionBackward0"


def test_seed_cnn_layers_and_batch_of_mnist_shape(torch):
    """The seed CNN's convolutions (1->6 k5, 6->12 k5) on a batch of 28x28 images."""
    for cin, cout, hw in ((1, 6, 28), (6, 12, 12)):
        tm = torch.nn.Conv2d(in_channels=cin, out_channels=cout, kernel_size=5)
        em = nn.Conv2d(in_channels=cin, out_channels=cout, kernel_size=5)
        _copy_weights(em, tm)
        x = RNG.random((10, cin, hw, hw), dtype=np.float32)
        oe, ot = _run_module(torch, em, tm, x, grad_input=cin != 1)
        assert oe.dtype == ember.float32


def test_unbatched_input(torch):
    tm = torch.nn.Conv2d(3, 5, 3, padding=1)
    em = nn.Conv2d(3, 5, 3, padding=1)
    _copy_weights(em, tm)
    x = RNG.standard_normal((3, 7, 6)).astype(np.float32)
    oe, ot = _run_module(torch, em, tm, x)
    assert type(oe.grad_fn).__name__ == type(ot.grad_fn).__name__ == "SqueezeBackward1"
    t1 = torch.nn.Conv1d(3, 5, 3)
    e1 = nn.Conv1d(3, 5, 3)
    _copy_weights(e1, t1)
    _run_module(torch, e1, t1, RNG.standard_normal((3, 9)).astype(np.float32))


def test_padding_modes(torch):
    for mode in ("reflect", "replicate", "circular"):
        tm = torch.nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode)
        em = nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode)
        _copy_weights(em, tm)
        _run_module(torch, em, tm, RNG.standard_normal((2, 2, 6, 5)).astype(np.float32))


def test_functional_with_noncontiguous_input_and_float64(torch):
    x = RNG.standard_normal((2, 5, 7, 3)).astype(np.float64)
    w = RNG.standard_normal((4, 3, 2, 2))
    b = RNG.standard_normal(4)
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    oe = F.conv2d(xe.permute(0, 3, 1, 2), ember.tensor(w), ember.tensor(b), padding=1)
    ot = torch.nn.functional.conv2d(xt.permute(0, 3, 1, 2), torch.tensor(w), torch.tensor(b),
                                    padding=1)
    assert_close(oe, ot)
    oe.sum().backward()
    ot.sum().backward()
    assert_close(xe.grad, xt.grad)


def test_integer_convolution(torch):
    x = RNG.integers(-3, 4, (1, 2, 5, 5))
    w = RNG.integers(-2, 3, (3, 2, 2, 2))
    assert_close(F.conv2d(ember.tensor(x), ember.tensor(w)),
                 torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w)))


@pytest.mark.parametrize("stride,padding,dilation,groups", [
    (1, 0, 1, 1), (2, 1, 1, 2), (1, "same", 2, 1), ((2, 1), (0, 2), (1, 2), 2)])
def test_gradcheck_conv2d(stride, padding, dilation, groups):
    x = ember.tensor(RNG.standard_normal((2, 4, 6, 5)), requires_grad=True)
    w = ember.tensor(RNG.standard_normal((4, 4 // groups, 3, 2)), requires_grad=True)
    b = ember.tensor(RNG.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
                     (x, w, b))


def test_gradcheck_conv1d():
    x = ember.tensor(RNG.standard_normal((2, 2, 7)), requires_grad=True)
    w = ember.tensor(RNG.standard_normal((3, 2, 3)), requires_grad=True)
    assert gradcheck(lambda x, w: F.conv1d(x, w, None, 2, 1, 2), (x, w))


def test_default_init_bounds_and_shapes():
    ember.manual_seed(0)
    m = nn.Conv2d(6, 12, 5)
    bound = 1 / np.sqrt(6 * 25)
    w = m.weight.detach().numpy()
    assert w.shape == (12, 6, 5, 5) and w.dtype == np.float32
    # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as does the bias
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(m.bias.detach().numpy()).max() <= bound
    assert m.weight.requires_grad and m.bias.requires_grad


def test_reprs_and_state_dict_keys(torch):
    cases = [
        lambda nn: nn.Conv2d(1, 6, 5),
        lambda nn: nn.Conv2d(in_channels=6, out_channels=12, kernel_size=5),
        lambda nn: nn.Conv2d(1, 6, 5, padding=2, bias=False),
        lambda nn: nn.Conv2d(2, 6, (3, 5), stride=2, padding=(1, 2), dilation=2,
                             padding_mode="reflect"),
        lambda nn: nn.Conv2d(2, 6, 3, padding="same", groups=2),
        lambda nn: nn.Conv1d(3, 6, 5),
        lambda nn: nn.Conv1d(3, 6, 5, stride=3, padding="valid", dilation=2),
    ]
    for make in cases:
        e, t = make(nn), make(torch.nn)
        assert repr(e) == repr(t)
        assert list(e.state_dict()) == list(t.state_dict())
        assert e._reversed_padding_repeated_twice == list(t._reversed_padding_repeated_twice) or \
            tuple(e._reversed_padding_repeated_twice) == tuple(t._reversed_padding_repeated_twice)


def test_wrong_channels_error_matches_torch(torch):
    ee, et = same_error(torch, lambda: nn.Conv2d(1, 6, 5)(ember.zeros(10, 3, 28, 28)),
                        lambda: torch.nn.Conv2d(1, 6, 5)(torch.zeros(10, 3, 28, 28)))
    assert str(ee) == str(et) == ("Given groups=1, weight of size [6, 1, 5, 5], expected "
                                  "input[10, 3, 28, 28] to have 1 channels, but got 3 channels "
                                  "instead")


@pytest.mark.parametrize("call", [
    lambda F, T: F.conv2d(T.zeros(28, 28), T.zeros(6, 1, 5, 5)),
    lambda F, T: F.conv2d(T.zeros(2, 1, 2, 28, 28), T.zeros(6, 1, 5, 5)),
    lambda F, T: F.conv2d(T.zeros(2, 1, 3, 3), T.zeros(6, 1, 5, 5)),
    lambda F, T: F.conv2d(T.zeros(3, 28, 28), T.zeros(6, 1, 5, 5)),
    lambda F, T: F.conv2d(T.zeros(1, 3, 8, 8, dtype=T.float64), T.zeros(6, 3, 3, 3)),
    lambda F, T: F.conv2d(T.zeros(1, 3, 8, 8), T.zeros(6, 3, 3, 3), T.zeros(6, dtype=T.float64)),
    lambda F, T: F.conv2d(T.zeros(1, 3, 8, 8), T.zeros(6, 3, 3, 3), T.zeros(5)),
    lambda F, T: F.conv2d(T.zeros(1, 3, 8, 8), T.zeros(6, 3, 3, 3), stride=2, padding="same"),
    lambda F, T: F.conv2d(T.zeros(1, 3, 8, 8), T.zeros(6, 3, 3, 3), padding="foo"),
    lambda F, T: F.conv2d(T.zeros(1, 3, 8, 8), T.zeros(6, 3, 3, 3), padding=-1),
    lambda F, T: F.conv2d(T.zeros(1, 3, 8, 8), T.zeros(6, 3, 3, 3), stride=0),
    lambda F, T: F.conv2d(T.zeros(1, 3, 8, 8), T.zeros(5, 1, 3, 3), groups=3),
    lambda F, T: F.conv2d(T.zeros(1, 3, 8, 8), T.zeros(6, 3, 3)),
    lambda F, T: F.conv1d(T.zeros(1, 3, 8), T.zeros(6, 3, 3, 3)),
    lambda F, T: F.conv1d(T.zeros(2, 3, 8, 8), T.zeros(6, 3, 3)),
    lambda F, T: F.conv1d(T.zeros(1, 3, 2), T.zeros(6, 3, 3)),
])
def test_functional_errors_match_torch(torch, call):
    ee, et = same_error(torch, lambda: call(F, ember), lambda: call(torch.nn.functional, torch))
    assert str(ee).replace("ember.", "torch.") == str(et)


def test_zero_dilation_is_a_runtime_error(torch):
    # torch's wording depends on which of its checks runs first; the type is what matters
    same_error(torch, lambda: F.conv2d(ember.zeros(1, 3, 8, 8), ember.zeros(6, 3, 3, 3),
                                       dilation=0),
               lambda: torch.nn.functional.conv2d(torch.zeros(1, 3, 8, 8),
                                                  torch.zeros(6, 3, 3, 3), dilation=0))


@pytest.mark.parametrize("kwargs", [
    dict(in_channels=3, out_channels=5, kernel_size=3, groups=2),
    dict(in_channels=4, out_channels=5, kernel_size=3, groups=2),
    dict(in_channels=4, out_channels=6, kernel_size=3, groups=0),
    dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding="same"),
    dict(in_channels=4, out_channels=6, kernel_size=3, padding="foo"),
    dict(in_channels=4, out_channels=6, kernel_size=3, padding_mode="foo"),
])
def test_constructor_errors_match_torch(torch, kwargs):
    ee, et = same_error(torch, lambda: nn.Conv2d(**kwargs), lambda: torch.nn.Conv2d(**kwargs))
    # torch formats a set of names into some of these messages: compare up to the set's order
    assert sorted(str(ee)) == sorted(str(et))


def test_empty_batch(torch):
    for cin in (1, 6):
        tm, em = torch.nn.Conv2d(cin, 4, 3), nn.Conv2d(cin, 4, 3)
        _copy_weights(em, tm)
        _run_module(torch, em, tm, np.zeros((0, cin, 8, 8), np.float32))
