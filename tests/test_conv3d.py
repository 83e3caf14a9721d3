"""nn.Conv3d / ConvTranspose3d / MaxPool3d / AvgPool3d and their functional forms against torch:
outputs, gradients, indices, repr, state_dict, seeded init, torch's errors; float64 gradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from helpers import assert_close, same_error

RNG = np.random.default_rng(3)


def _run(lib, fn, arrays, dtype="float32"):
    ts = [lib.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out = fn(lib, *ts)
    o = out[0] if isinstance(out, tuple) else out
    o.backward(lib.tensor(np.cos(np.arange(o.numel())).reshape(tuple(o.shape)).astype(dtype)))
    return out, [t.grad for t in ts]


def _compare(torch, fn, arrays, rtol=1e-5, atol=1e-5):
    oe, ge = _run(ember, fn, arrays)
    ot, gt = _run(torch, fn, arrays)
    assert_close(oe, ot, rtol=rtol, atol=atol)
    assert_close(ge, gt, rtol=rtol, atol=atol)
    o = oe[0] if isinstance(oe, tuple) else oe
    t = ot[0] if isinstance(ot, tuple) else ot
    assert o.grad_fn.name() == t.grad_fn.name()
    return oe


CONV = {
    "plain": (dict(), (2, 4, 5, 6, 7), (3, 4, 3, 3, 3)),
    "stride_pad": (dict(stride=2, padding=1), (2, 4, 6, 5, 7), (3, 4, 3, 2, 3)),
    "dilation_groups": (dict(dilation=(1, 2, 1), groups=2, padding=(0, 2, 1)), (1, 4, 5, 7, 6),
                        (6, 2, 2, 3, 3)),
    "same": (dict(padding="same"), (2, 3, 4, 5, 6), (2, 3, 3, 2, 3)),
    "unbatched": (dict(stride=(1, 2, 3)), (3, 5, 6, 7), (2, 3, 2, 2, 2)),
    "kernel1": (dict(), (2, 3, 2, 3, 4), (4, 3, 1, 1, 1)),
}


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name", list(CONV))
def test_conv3d_matches_torch(torch, name, bias):
    kw, xs, ws = CONV[name]
    arrays = [RNG.standard_normal(xs), RNG.standard_normal(ws)]
    if bias:
        arrays.append(RNG.standard_normal(ws[0]))
    _compare(torch, lambda L, *t: L.nn.functional.conv3d(*t, **kw), arrays)


TCONV = {
    "plain": (dict(), (2, 4, 3, 4, 5), (4, 3, 3, 3, 3)),
    "stride_pad_outpad": (dict(stride=2, padding=1, output_padding=1), (2, 4, 3, 4, 3),
                          (4, 2, 3, 3, 3)),
    "groups_dilation": (dict(groups=2, dilation=(2, 1, 1), stride=(1, 2, 1)), (1, 4, 3, 3, 4),
                        (4, 3, 2, 3, 2)),
    "unbatched": (dict(stride=(2, 1, 3), padding=(1, 0, 0)), (3, 3, 4, 2), (3, 2, 3, 2, 3)),
}


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name", list(TCONV))
def test_conv_transpose3d_matches_torch(torch, name, bias):
    kw, xs, ws = TCONV[name]
    arrays = [RNG.standard_normal(xs), RNG.standard_normal(ws)]
    if bias:
        groups = kw.get("groups", 1)
        arrays.append(RNG.standard_normal(ws[1] * groups))
    _compare(torch, lambda L, *t: L.nn.functional.conv_transpose3d(*t, **kw), arrays)


def test_conv3d_gradcheck():
    d = ember.float64
    x = ember.randn(2, 2, 4, 3, 4, dtype=d, requires_grad=True)
    w = ember.randn(4, 1, 2, 2, 3, dtype=d, requires_grad=True)
    b = ember.randn(4, dtype=d, requires_grad=True)
    f = ember.nn.functional
    assert gradcheck(lambda x, w, b: f.conv3d(x, w, b, stride=(2, 1, 1), padding=1,
                                              dilation=(1, 1, 2), groups=2), (x, w, b))
    wt = ember.randn(2, 3, 2, 2, 3, dtype=d, requires_grad=True)
    bt = ember.randn(3, dtype=d, requires_grad=True)
    assert gradcheck(lambda x, w, b: f.conv_transpose3d(x, w, b, stride=2, padding=(1, 0, 1),
                                                        output_padding=(1, 0, 0)), (x, wt, bt))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "zeros"])
def test_conv3d_module(torch, mode):
    torch.manual_seed(0)
    ember.manual_seed(0)
    tm = torch.nn.Conv3d(2, 4, (3, 2, 3), stride=(1, 2, 1), padding=1, padding_mode=mode)
    em = ember.nn.Conv3d(2, 4, (3, 2, 3), stride=(1, 2, 1), padding=1, padding_mode=mode)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert_close(em.weight, tm.weight)  # torch's init for the same seed
    assert_close(em.bias, tm.bias)
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = RNG.standard_normal((2, 2, 4, 5, 6)).astype(np.float32)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oe, ot = em(xe), tm(xt)
    assert_close(oe, ot)
    (oe ** 2).sum().backward()
    (ot ** 2).sum().backward()
    assert_close(xe.grad, xt.grad, rtol=1e-4)
    assert_close(em.weight.grad, tm.weight.grad, rtol=1e-4, atol=1e-4)
    assert_close(em.bias.grad, tm.bias.grad, rtol=1e-4, atol=1e-4)


def test_conv_transpose3d_module(torch):
    torch.manual_seed(1)
    ember.manual_seed(1)
    tm = torch.nn.ConvTranspose3d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                                  bias=False)
    em = ember.nn.ConvTranspose3d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                                  bias=False)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert tuple(em.weight.shape) == tuple(tm.weight.shape)
    assert_close(em.weight, tm.weight)
    x = RNG.standard_normal((1, 4, 2, 3, 2)).astype(np.float32)
    assert_close(em(ember.tensor(x)), tm(torch.tensor(x)))
    # output_size picks output_padding
    assert_close(em(ember.tensor(x), output_size=[3, 5, 4]),
                 tm(torch.tensor(x), output_size=[3, 5, 4]))


CONV_ERRORS = [
    lambda L: L.nn.functional.conv3d(L.randn(2, 4, 4), L.randn(2, 2, 2, 2, 2)),
    lambda L: L.nn.functional.conv3d(L.randn(1, 3, 4, 4, 4), L.randn(2, 2, 2, 2, 2)),
    lambda L: L.nn.functional.conv3d(L.randn(1, 2, 4, 4), L.randn(2, 2, 2, 2, 2)),
    lambda L: L.nn.functional.conv3d(L.randn(1, 2, 1, 4, 4), L.randn(2, 2, 2, 2, 2)),
    lambda L: L.nn.functional.conv3d(L.randn(1, 2, 4, 4, 4), L.randn(2, 2, 2, 2)),
    lambda L: L.nn.functional.conv_transpose3d(L.randn(1, 3, 4, 4, 4), L.randn(2, 2, 2, 2, 2)),
    lambda L: L.nn.functional.conv_transpose3d(L.randn(3, 4, 4), L.randn(2, 2, 2, 2, 2)),
    lambda L: L.nn.functional.conv_transpose3d(L.randn(1, 2, 3, 3, 3), L.randn(2, 2, 2, 2, 2),
                                               stride=2, output_padding=(0, 2, 0)),
    lambda L: L.nn.functional.conv_transpose3d(L.randn(1, 2, 1, 1, 1), L.randn(2, 2, 1, 1, 1),
                                               padding=1),
    lambda L: L.nn.Conv3d(2, 4, 3)(L.randn(1, 3, 5, 5, 5)),
    lambda L: L.nn.Conv3d(3, 4, 3, groups=2),
    lambda L: L.nn.ConvTranspose3d(2, 4, 3, padding_mode="reflect"),
    lambda L: L.nn.ConvTranspose3d(2, 4, 3, stride=2)(L.randn(1, 2, 3, 3, 3),
                                                      output_size=[9, 9, 9]),
]


@pytest.mark.parametrize("i", range(len(CONV_ERRORS)))
def test_conv3d_errors(torch, i):
    ee, te = same_error(torch, lambda: CONV_ERRORS[i](ember), lambda: CONV_ERRORS[i](torch))
    if i not in (4, 12):  # (12 names torch.Size)
        assert str(ee) == str(te)


# ---- pooling -----------------------------------------------------------------------------
MAXPOOL = {
    "k2": dict(kernel_size=2),
    "k3s2p1": dict(kernel_size=3, stride=2, padding=1),
    "aniso_dilation": dict(kernel_size=(2, 3, 2), stride=(1, 2, 1), dilation=(2, 1, 1)),
    "ceil": dict(kernel_size=2, stride=2, ceil_mode=True),
    "ceil_pad": dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
}


@pytest.mark.parametrize("shape", [(2, 3, 5, 6, 7), (3, 5, 4, 6)], ids=["batched", "unbatched"])
@pytest.mark.parametrize("name", list(MAXPOOL))
def test_max_pool3d_matches_torch(torch, name, shape):
    kw = MAXPOOL[name]
    x = RNG.permutation(np.prod(shape)).reshape(shape).astype(np.float64)  # no ties
    fn = lambda L, t: L.nn.functional.max_pool3d(t, return_indices=True, **kw)  # noqa: E731
    (oe, ie), ge = _run(ember, fn, [x])
    (ot, it), gt = _run(torch, fn, [x])
    assert_close(oe, ot)
    assert_close(ie, it)
    assert_close(ge, gt)
    assert oe.grad_fn.name() == ot.grad_fn.name()


def test_max_pool3d_ties_and_nan(torch):
    x = np.zeros((1, 1, 4, 4, 4))
    x[0, 0, 1, 1, 1] = np.nan
    fn = lambda L, t: L.nn.functional.max_pool3d(t, 2, 1, return_indices=True)  # noqa: E731
    (oe, ie), ge = _run(ember, fn, [x])
    (ot, it), gt = _run(torch, fn, [x])
    assert_close(oe, ot)
    assert_close(ie, it)
    assert_close(ge, gt)


AVGPOOL = {
    "k2": dict(kernel_size=2),
    "k3s2p1": dict(kernel_size=3, stride=2, padding=1),
    "no_pad_count": dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    "ceil": dict(kernel_size=(2, 3, 2), stride=2, ceil_mode=True, padding=1),
    "ceil_nocount": dict(kernel_size=3, stride=2, ceil_mode=True, count_include_pad=False),
    "divisor": dict(kernel_size=2, stride=1, divisor_override=3),
}


@pytest.mark.parametrize("shape", [(2, 3, 5, 6, 7), (3, 5, 4, 6)], ids=["batched", "unbatched"])
@pytest.mark.parametrize("name", list(AVGPOOL))
def test_avg_pool3d_matches_torch(torch, name, shape):
    kw = AVGPOOL[name]
    _compare(torch, lambda L, t: L.nn.functional.avg_pool3d(t, **kw),
             [RNG.standard_normal(shape)])


def test_pool3d_gradcheck():
    x = ember.randn(2, 2, 5, 4, 5, dtype=ember.float64, requires_grad=True)
    f = ember.nn.functional
    assert gradcheck(lambda t: f.max_pool3d(t, 3, 2, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda t: f.max_pool3d(t, 2, 1, dilation=(1, 2, 1)), (x,))
    assert gradcheck(lambda t: f.avg_pool3d(t, 3, 2, 1, ceil_mode=True,
                                            count_include_pad=False), (x,))
    assert gradcheck(lambda t: f.avg_pool3d(t, (2, 3, 2), 1, divisor_override=5), (x,))


def test_pool3d_modules(torch):
    for args in [((2,), {}), (((2, 3, 1),), dict(stride=1, padding=(1, 1, 0), dilation=2,
                                                  ceil_mode=True, return_indices=True))]:
        em, tm = ember.nn.MaxPool3d(*args[0], **args[1]), torch.nn.MaxPool3d(*args[0], **args[1])
        assert repr(em) == repr(tm)
        x = RNG.standard_normal((1, 2, 5, 6, 5)).astype(np.float32)
        assert_close(em(ember.tensor(x)), tm(torch.tensor(x)))
    for args in [((2,), {}), ((3, 2, 1, True, False, 4), {})]:
        em, tm = ember.nn.AvgPool3d(*args[0], **args[1]), torch.nn.AvgPool3d(*args[0], **args[1])
        assert repr(em) == repr(tm)
        x = RNG.standard_normal((1, 2, 5, 6, 5)).astype(np.float32)
        assert_close(em(ember.tensor(x)), tm(torch.tensor(x)))
    assert list(ember.nn.BatchNorm3d(3).state_dict()) == list(torch.nn.BatchNorm3d(3).state_dict())


POOL_ERRORS = [
    lambda L: L.nn.functional.max_pool3d(L.randn(4, 4, 4), 2),
    lambda L: L.nn.functional.max_pool3d(L.randn(2, 4, 4, 4, 4, 4), 2),
    lambda L: L.nn.functional.max_pool3d(L.randn(1, 2, 4, 4, 4), 2, padding=2),
    lambda L: L.nn.functional.avg_pool3d(L.randn(1, 2, 4, 4, 4), 2, padding=2),
    lambda L: L.nn.functional.avg_pool3d(L.randn(4, 4), 2),
    lambda L: L.nn.functional.max_pool3d(L.randn(1, 2, 4, 4, 4), (2, 2)),
    lambda L: L.nn.functional.max_pool3d(L.randn(1, 2, 4, 4, 4), 5),
    lambda L: L.nn.functional.avg_pool3d(L.randn(1, 2, 4, 4, 4), 5),
    lambda L: L.nn.functional.max_pool3d(L.randn(1, 2, 4, 4, 4), 2, stride=0),
    lambda L: L.nn.functional.avg_pool3d(L.randn(1, 2, 4, 4, 4), 2, divisor_override=0),
    lambda L: L.nn.functional.max_pool3d(L.randn(1, 2, 0, 4, 4), 2),
]


@pytest.mark.parametrize("i", range(len(POOL_ERRORS)))
def test_pool3d_errors(torch, i):
    ee, te = same_error(torch, lambda: POOL_ERRORS[i](ember), lambda: POOL_ERRORS[i](torch))
    assert str(ee) == str(te)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool3d_double_backward(torch, kind):
    """gradgradcheck, and a gradient penalty through the pooling vs torch."""
    x = ember.randn(2, 2, 5, 4, 5, dtype=ember.float64, requires_grad=True)
    if kind == "max":
        def fn(L, t):
            return L.nn.functional.max_pool3d(t, 3, 2, 1, ceil_mode=True)
    else:
        def fn(L, t):
            return L.nn.functional.avg_pool3d(t, 3, 2, 1, ceil_mode=True,
                                              count_include_pad=False)
    assert ember.autograd.gradgradcheck(lambda t: fn(ember, t), (x,))
    a = RNG.permutation(2 * 2 * 5 * 4 * 5).reshape(2, 2, 5, 4, 5) / 50.0
    res = []
    for lib in (torch, ember):
        xt = lib.tensor(a, requires_grad=True)
        (g,) = lib.autograd.grad((fn(lib, xt.sin()) ** 3).sum(), xt, create_graph=True)
        res.append(lib.autograd.grad((g ** 2).sum(), xt))
    assert_close(list(res[1]), list(res[0]), rtol=1e-9, atol=1e-9)
