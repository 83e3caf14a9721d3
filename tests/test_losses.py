"""Loss functions and modules against torch: every option combination, values, input and
target gradients, grad_fn names, numerical stability and torch's errors."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF
from helpers import assert_close, same_error

REDUCTIONS = ["mean", "sum", "none"]


def _arr(*shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _labels(n, c, seed=1, shape=None):
    return np.random.default_rng(seed).integers(0, c, shape if shape is not None else n)


def _run(torch, make_loss, x, *others, grad_others=False, rtol=1e-5, atol=1e-6, name=True):
    """Run make_loss(lib, F, input, *others) on both libraries; compare value and gradients
    (of the input, and of the float `others` when grad_others is True, or of the first
    `grad_others` of them when it is an int)."""
    n_grad = len(others) if grad_others is True else int(grad_others)

    def wrap(lib, i, o):
        if not isinstance(o, np.ndarray):
            return o
        return lib.tensor(o.copy(), requires_grad=i < n_grad and o.dtype.kind == "f")

    xe = ember.tensor(x.copy(), requires_grad=True)
    xt = torch.tensor(x.copy(), requires_grad=True)
    oe = [wrap(ember, i, o) for i, o in enumerate(others)]
    ot = [wrap(torch, i, o) for i, o in enumerate(others)]
    le = make_loss(enn, EF, xe, *oe)
    lt = make_loss(torch.nn, torch.nn.functional, xt, *ot)
    assert_close(le, lt, rtol=rtol, atol=atol)
    if name:
        assert type(le.grad_fn).__name__ == type(lt.grad_fn).__name__
    g = _arr(*tuple(lt.shape), seed=9) if lt.dim() else np.float32(1.5)
    le.backward(ember.tensor(g))
    lt.backward(torch.tensor(g))
    assert_close(xe.grad, xt.grad, rtol=rtol, atol=atol)
    for a, b in zip(oe, ot):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            assert_close(a.grad, b.grad, rtol=rtol, atol=atol)
    return le, lt


# ---- cross entropy / nll -------------------------------------------------------------------
CE_CASES = list(itertools.product(REDUCTIONS, [False, True], [-100, 2], [0.0, 0.1]))


@pytest.mark.parametrize("reduction,weighted,ignore_index,smoothing", CE_CASES)
def test_cross_entropy_class_indices(torch, reduction, weighted, ignore_index, smoothing):
    x = _arr(16, 5, scale=2)
    t = _labels(16, 5)
    w = np.linspace(0.5, 2.0, 5).astype(np.float32) if weighted else None

    def make(nn, F, xx, tt, ww=None):
        return nn.CrossEntropyLoss(weight=ww, ignore_index=ignore_index, reduction=reduction,
                                   label_smoothing=smoothing)(xx, tt)

    _run(torch, make, x, t, w, name=smoothing == 0.0)


@pytest.mark.parametrize("shape", [(4, 5, 3), (2, 5, 3, 4), (2, 5, 2, 2, 3), (5,)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_k_dim_and_unbatched(torch, shape, reduction, smoothing):
    x = _arr(*shape)
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = np.asarray(_labels(None, 5, shape=tshape))
    t.flat[0] = 1  # at least one class that is not ignored
    w = np.linspace(0.5, 2.0, 5).astype(np.float32)
    _run(torch, lambda nn, F, xx, tt, ww: F.cross_entropy(xx, tt, ww, reduction=reduction,
                                                          ignore_index=3,
                                                          label_smoothing=smoothing),
         x, t, w, name=False)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets(torch, reduction, weighted, smoothing):
    x = _arr(6, 4, 3)  # (N, C, d)
    p = np.random.default_rng(2).random((6, 4, 3)).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    w = np.array([0.2, 1.0, 3.0, 0.5], np.float32) if weighted else None
    _run(torch, lambda nn, F, xx, pp, ww=None: F.cross_entropy(
        xx, pp, weight=ww, reduction=reduction, label_smoothing=smoothing), x, p, w,
        grad_others=True, name=reduction != "mean")  # x / number is the core's DivBackward


def test_cross_entropy_grad_fn_and_one_pass(torch):
    le = EF.cross_entropy(ember.randn(4, 5, requires_grad=True), ember.tensor([1, 0, 4, 2]))
    assert type(le.grad_fn).__name__ == "NllLossBackward0"
    assert repr(le).endswith("grad_fn=<NllLossBackward0>)")
    le4 = EF.cross_entropy(ember.randn(2, 5, 3, 3, requires_grad=True),
                           ember.randint(0, 5, (2, 3, 3)))
    assert type(le4.grad_fn).__name__ == "NllLoss2DBackward0"


@pytest.mark.parametrize("scale", [1e4, 3e4])
def test_cross_entropy_huge_logits_finite(torch, scale):
    x = _arr(8, 10, scale=scale)
    t = _labels(8, 10)
    le, lt = _run(torch, lambda nn, F, xx, tt: F.cross_entropy(xx, tt), x, t, rtol=1e-5,
                  atol=1e-3)
    assert np.isfinite(le.item())
    x = np.array([[1e4, 0.0, -1e4]], np.float32)
    _run(torch, lambda nn, F, xx, tt: F.cross_entropy(xx, tt, reduction="none"), x,
         np.array([2]))


def test_cross_entropy_float64_and_uint8_targets(torch):
    x = np.random.default_rng(4).standard_normal((5, 3))
    _run(torch, lambda nn, F, xx, tt: F.cross_entropy(xx, tt), x, np.array([0, 2, 1, 1, 0]),
         rtol=1e-12, atol=1e-12)
    _run(torch, lambda nn, F, xx, tt: F.cross_entropy(xx, tt), x.astype(np.float32),
         np.array([0, 2, 1, 1, 0], np.uint8))


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_all_ignored_and_empty_are_nan_with_zero_grad(torch, fn):
    t = np.full(4, -100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warnings on the way
        le, lt = _run(torch, lambda nn, F, xx, tt: getattr(F, fn)(xx, tt), _arr(4, 5), t)
    assert np.isnan(le.item()) and np.isnan(lt.item())
    assert le.grad_fn is not None and repr(le).startswith("tensor(nan")
    e = getattr(EF, fn)(ember.randn(0, 5, requires_grad=True), ember.zeros(0, dtype=ember.long))
    assert np.isnan(e.item())


CE_ERRORS = [
    ("target out of range", lambda L, F: F.cross_entropy(L.randn(4, 5), L.tensor([1, 0, 10, 2]))),
    ("negative target", lambda L, F: F.cross_entropy(L.randn(4, 5), L.tensor([1, 0, -1, 2]))),
    ("float target", lambda L, F: F.cross_entropy(L.randn(4, 5), L.tensor([1.0, 0, 4, 2]))),
    ("int32 target", lambda L, F: F.cross_entropy(L.randn(4, 5),
                                                  L.tensor([1, 0, 4, 2], dtype=L.int32))),
    ("batch mismatch", lambda L, F: F.cross_entropy(L.randn(4, 5), L.tensor([1, 0, 4]))),
    ("2-D target", lambda L, F: F.cross_entropy(L.randn(4, 5), L.tensor([[1, 0, 4, 2]]))),
    ("K-dim target", lambda L, F: F.cross_entropy(L.randn(2, 5, 3), L.randint(0, 5, (2, 4)))),
    ("K-dim target rank", lambda L, F: F.cross_entropy(L.randn(2, 5, 3), L.randint(0, 5, (2,)))),
    ("multi-target", lambda L, F: F.cross_entropy(L.randn(4, 5), L.randn(4, 6))),
    ("weight size", lambda L, F: F.cross_entropy(L.randn(4, 5), L.tensor([1, 0, 4, 2]),
                                                 weight=L.ones(3))),
    ("int input", lambda L, F: F.cross_entropy(L.ones(4, 5, dtype=L.long),
                                               L.tensor([1, 0, 4, 2]))),
    ("0-d long target", lambda L, F: F.cross_entropy(L.tensor(1.0), L.tensor(0))),
    ("label smoothing", lambda L, F: F.cross_entropy(L.randn(4, 5), L.tensor([1, 0, 4, 2]),
                                                     label_smoothing=1.5)),
    ("reduction", lambda L, F: F.cross_entropy(L.randn(4, 5), L.tensor([1, 0, 4, 2]),
                                               reduction="avg")),
    ("nll out of range", lambda L, F: F.nll_loss(L.randn(4, 5), L.tensor([1, 0, 10, 2]))),
    ("nll K-dim target", lambda L, F: F.nll_loss(L.randn(2, 5, 3), L.tensor([1, 2]))),
    ("nll 0-d input", lambda L, F: F.nll_loss(L.tensor(1.0), L.tensor(0))),
    ("mse shapes", lambda L, F: F.mse_loss(L.randn(4, 5), L.randn(3))),
    ("bce shapes", lambda L, F: F.binary_cross_entropy(L.rand(4, 5), L.rand(4, 4))),
    ("bce range", lambda L, F: F.binary_cross_entropy(L.randn(4, 5) + 3, L.rand(4, 5))),
    ("bce logits shapes", lambda L, F: F.binary_cross_entropy_with_logits(L.randn(4, 5),
                                                                           L.rand(4, 4))),
    ("smooth l1 beta", lambda L, F: F.smooth_l1_loss(L.randn(3), L.randn(3), beta=-1.0)),
    ("huber delta", lambda L, F: F.huber_loss(L.randn(3), L.randn(3), delta=0.0)),
    ("mse reduction", lambda L, F: F.mse_loss(L.randn(3), L.randn(3), reduction="avg")),
    ("kl reduction", lambda L, F: F.kl_div(L.randn(3), L.randn(3), reduction="avg")),
]


@pytest.mark.parametrize("name,fn", CE_ERRORS, ids=[c[0] for c in CE_ERRORS])
def test_loss_errors_match_torch(torch, name, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ee, te = same_error(torch, lambda: fn(ember, EF), lambda: fn(torch, torch.nn.functional))
    assert str(ee) == str(te).replace("torch.Size", "ember.Size")


def test_seed_typo_cross_entropy_is_attribute_error():
    with pytest.raises(AttributeError, match="module 'ember.nn' has no attribute 'CrossEntropy'"):
        enn.CrossEntropy()


@pytest.mark.parametrize("reduction,weighted,ignore_index",
                         list(itertools.product(REDUCTIONS, [False, True], [-100, 0])))
def test_nll_loss(torch, reduction, weighted, ignore_index):
    x = _arr(10, 4)
    t = _labels(10, 4, seed=3)
    w = np.array([1.0, 0.5, 2.0, 3.0], np.float32) if weighted else None
    _run(torch, lambda nn, F, xx, tt, ww=None: nn.NLLLoss(
        ww, ignore_index=ignore_index, reduction=reduction)(F.log_softmax(xx, 1), tt), x, t, w,
        name=False)
    _run(torch, lambda nn, F, xx, tt, ww=None: F.nll_loss(
        xx, tt, ww, ignore_index=ignore_index, reduction=reduction), x, t, w)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_k_dim(torch, reduction):
    x = _arr(2, 4, 3, 5)
    t = _labels(None, 4, shape=(2, 3, 5))
    _run(torch, lambda nn, F, xx, tt: F.nll_loss(xx, tt, reduction=reduction), x, t,
         name=reduction != "none")


def test_legacy_size_average_reduce(torch):
    x, t = _arr(6, 3), _labels(6, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sa, rd in [(False, None), (None, False), (True, True)]:
            _run(torch, lambda nn, F, xx, tt: nn.CrossEntropyLoss(size_average=sa, reduce=rd)(
                xx, tt), x, t)
            assert enn.MSELoss(size_average=sa, reduce=rd).reduction == \
                torch.nn.MSELoss(size_average=sa, reduce=rd).reduction


# ---- regression and binary losses --------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss,kwargs", [("MSELoss", {}), ("L1Loss", {}), ("SmoothL1Loss", {}),
                                         ("SmoothL1Loss", {"beta": 0.3}),
                                         ("SmoothL1Loss", {"beta": 0.0}), ("HuberLoss", {}),
                                         ("HuberLoss", {"delta": 0.4})])
def test_regression_losses(torch, loss, kwargs, reduction):
    x, y = _arr(5, 7), _arr(5, 7, seed=5)
    y[0, 0] = x[0, 0]  # d == 0 exactly
    _run(torch, lambda nn, F, xx, yy: getattr(nn, loss)(reduction=reduction, **kwargs)(xx, yy),
         x, y, grad_others=True)


def test_regression_loss_broadcast_warns_and_promotes(torch):
    x, y = _arr(4, 5), _arr(5, seed=2)
    for fn in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        with pytest.warns(UserWarning, match=r"Using a target size \(ember.Size\(\[5\]\)\)"):
            le = getattr(EF, fn)(ember.tensor(x), ember.tensor(y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lt = getattr(torch.nn.functional, fn)(torch.tensor(x), torch.tensor(y))
        assert_close(le, lt)
    yi = np.arange(20).reshape(4, 5)
    _run(torch, lambda nn, F, xx, yy: F.mse_loss(xx, yy), x, yi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
            for reduction in REDUCTIONS:  # the input is broadcast up to the target's shape
                _run(torch, lambda nn, F, xx, yy: getattr(F, fn)(xx, yy, reduction=reduction),
                     _arr(4, 1), _arr(4, 5, seed=3) * 2, grad_others=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_loss(torch, reduction, weighted):
    p = np.random.default_rng(6).uniform(0.01, 0.99, (6, 4)).astype(np.float32)
    p[0, :2] = [0.0, 1.0]  # logs clamped at -100, as torch
    y = np.random.default_rng(7).random((6, 4)).astype(np.float32)
    y[0, :2] = [1.0, 0.0]
    w = np.random.default_rng(8).random(4).astype(np.float32) if weighted else None
    le, lt = _run(torch, lambda nn, F, pp, yy, ww=None: nn.BCELoss(ww, reduction=reduction)(
        pp, yy), p, y, w, grad_others=False, rtol=1e-4)
    _run(torch, lambda nn, F, pp, yy: F.binary_cross_entropy(pp, yy, reduction=reduction),
         p[1:], y[1:], grad_others=True, rtol=1e-4)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos", [False, True])
def test_bce_with_logits(torch, reduction, weighted, pos):
    x = _arr(6, 4, scale=3)
    x[0, :2] = [80.0, -80.0]  # stable for large logits
    y = np.random.default_rng(7).random((6, 4)).astype(np.float32)
    w = np.random.default_rng(8).random((6, 4)).astype(np.float32) if weighted else None
    pw = np.array([0.5, 1.0, 2.0, 4.0], np.float32) if pos else None

    def make(nn, F, xx, yy, ww, pp):
        return nn.BCEWithLogitsLoss(weight=ww, reduction=reduction, pos_weight=pp)(xx, yy)

    _run(torch, make, x, y, w, pw, grad_others=1)  # torch refuses weights that require grad


@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(torch, reduction, log_target):
    x = np.log(np.random.default_rng(1).dirichlet(np.ones(5), 4)).astype(np.float32)
    q = np.random.default_rng(2).dirichlet(np.ones(5), 4).astype(np.float32)
    q[0, 0] = 0.0
    if log_target:
        q = np.log(q + 1e-3).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _run(torch, lambda nn, F, xx, qq: nn.KLDivLoss(reduction=reduction,
                                                       log_target=log_target)(xx, qq), x, q,
             grad_others=log_target)
    if reduction == "mean":
        with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
            EF.kl_div(ember.tensor(x), ember.tensor(q))


def test_loss_module_reprs_buffers_and_state_dict(torch):
    cases = [("CrossEntropyLoss", {}), ("NLLLoss", {}), ("MSELoss", {}), ("L1Loss", {}),
             ("SmoothL1Loss", {"beta": 0.5}), ("HuberLoss", {"delta": 2.0}), ("BCELoss", {}),
             ("BCEWithLogitsLoss", {}), ("KLDivLoss", {"reduction": "batchmean"})]
    for name, kw in cases:
        me, mt = getattr(enn, name)(**kw), getattr(torch.nn, name)(**kw)
        assert repr(me) == repr(mt)
        assert list(me.state_dict()) == list(mt.state_dict())
        assert list(me._buffers) == list(mt._buffers)
        assert me.reduction == mt.reduction
    me = enn.CrossEntropyLoss(weight=ember.ones(3), ignore_index=1, label_smoothing=0.1)
    mt = torch.nn.CrossEntropyLoss(weight=torch.ones(3), ignore_index=1, label_smoothing=0.1)
    assert list(me.state_dict()) == list(mt.state_dict()) == ["weight"]
    assert (me.ignore_index, me.label_smoothing) == (mt.ignore_index, mt.label_smoothing)
    me = enn.BCEWithLogitsLoss(pos_weight=ember.ones(2))
    assert list(me.state_dict()) == ["pos_weight"]


@pytest.mark.parametrize("spread", [0.0, 10.0, 15.0, 18.0, 40.0, 90.0])
def test_cross_entropy_accuracy_with_rows_far_apart(torch, spread):
    """Rows whose logits sit at very different levels (confident and unsure predictions in
    one batch) keep torch's accuracy, value and gradient."""
    x = _arr(32, 10, seed=11)
    x[::2] += spread  # every other row far above the rest
    x[1::3, 0] += spread / 2
    t = _labels(32, 10)
    for reduction in REDUCTIONS:
        _run(torch, lambda nn, F, xx, tt: F.cross_entropy(xx, tt, reduction=reduction), x, t,
             rtol=2e-6, atol=2e-7)


@pytest.mark.parametrize("n,c", [(300, 7), (1000, 10), (40, 200)])
def test_cross_entropy_large_batches(torch, n, c):
    _run(torch, lambda nn, F, xx, tt: F.cross_entropy(xx, tt), _arr(n, c, scale=3),
         _labels(n, c), rtol=1e-5, atol=1e-7)
