"""The margin / embedding / likelihood losses and CTC against torch: values, gradients, every
reduction, reprs, errors, and float64 gradchecks."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF
from ember.autograd import gradcheck
from helpers import assert_close, check_op, same_error

RNG = np.random.default_rng(0)


def _x(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def _sign(*shape):
    return np.where(RNG.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


REDS = ["mean", "sum", "none"]

# (module name, module kwargs, input arrays)
CASES = [
    ("MarginRankingLoss", {}, lambda: (_x(6), _x(6), _sign(6))),
    ("MarginRankingLoss", dict(margin=0.5), lambda: (_x(6), _x(6), _sign(6))),
    ("HingeEmbeddingLoss", {}, lambda: (_x(4, 5), _sign(4, 5))),
    ("HingeEmbeddingLoss", dict(margin=0.3), lambda: (_x(7), _sign(7))),
    ("SoftMarginLoss", {}, lambda: (_x(4, 5), _sign(4, 5))),
    ("CosineEmbeddingLoss", {}, lambda: (_x(5, 4), _x(5, 4), _sign(5))),
    ("CosineEmbeddingLoss", dict(margin=0.2), lambda: (_x(4), _x(4), np.float32(-1.0))),
    ("TripletMarginLoss", {}, lambda: (_x(5, 4), _x(5, 4), _x(5, 4))),
    ("TripletMarginLoss", dict(margin=2.0, p=1.0, swap=True), lambda: (_x(5, 4), _x(5, 4),
                                                                        _x(5, 4))),
    ("TripletMarginWithDistanceLoss", {}, lambda: (_x(5, 4), _x(5, 4), _x(5, 4))),
    ("TripletMarginWithDistanceLoss", dict(swap=True, margin=3.0),
     lambda: (_x(5, 4), _x(5, 4), _x(5, 4))),
    ("MultiLabelSoftMarginLoss", {}, lambda: (_x(4, 5), (RNG.random((4, 5)) < 0.5)
                                              .astype(np.float32))),
    ("MultiMarginLoss", {}, lambda: (_x(4, 5), RNG.integers(0, 5, 4))),
    ("MultiMarginLoss", dict(p=2, margin=0.5), lambda: (_x(4, 5), RNG.integers(0, 5, 4))),
    ("MultiMarginLoss", {}, lambda: (_x(5), np.int64(2))),
    ("PoissonNLLLoss", {}, lambda: (_x(4, 5), RNG.poisson(2, (4, 5)).astype(np.float32))),
    ("PoissonNLLLoss", dict(log_input=False, full=True),
     lambda: (np.abs(_x(4, 5)) + 0.1, RNG.poisson(2, (4, 5)).astype(np.float32))),
    ("GaussianNLLLoss", {}, lambda: (_x(4, 5), _x(4, 5), np.abs(_x(4, 5)) + 0.1)),
    ("GaussianNLLLoss", dict(full=True, eps=0.5), lambda: (_x(4, 5), _x(4, 5),
                                                           np.abs(_x(4)))),
    ("GaussianNLLLoss", {}, lambda: (_x(4, 5), _x(4, 5), np.abs(_x(4, 1)) + 0.1)),
]


# how many leading inputs are differentiable (the targets of most losses are not, in torch)
N_GRAD = {"MarginRankingLoss": 2, "CosineEmbeddingLoss": 2, "TripletMarginLoss": 3,
          "TripletMarginWithDistanceLoss": 3, "GaussianNLLLoss": 3}


def _compare_loss(torch, fe, ft, arrays, n_grad, rtol=1e-5, atol=1e-5):
    """Run the loss on both libraries with the first n_grad inputs requiring grad; compare the
    value, dtype, and those inputs' gradients."""
    res = []
    for lib, fn in ((torch, ft), (ember, fe)):
        args = [lib.tensor(np.asarray(a).copy(), requires_grad=i < n_grad)
                for i, a in enumerate(arrays)]
        out = fn(*args)
        g = np.linspace(-1, 1, max(out.numel(), 1)).reshape(tuple(out.shape)).astype(np.float32)
        out.backward(lib.tensor(g))
        res.append((out, [a.grad for a in args[:n_grad]]))
    (ot, gt), (oe, ge) = res
    assert_close(oe, ot, rtol, atol)
    for a, b in zip(ge, gt):
        assert_close(a, b, rtol * 10, atol * 10)


@pytest.mark.parametrize("name,kw,make", CASES)
@pytest.mark.parametrize("reduction", REDS)
def test_loss_modules(torch, name, kw, make, reduction):
    arrays = make()
    em = getattr(enn, name)(reduction=reduction, **kw)
    tm = getattr(torch.nn, name)(reduction=reduction, **kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    _compare_loss(torch, em, tm, arrays, N_GRAD.get(name, 1))


def test_weighted_losses(torch):
    w = np.abs(_x(5)) + 0.5
    x, y = _x(4, 5), RNG.integers(0, 5, 4)
    _compare_loss(torch, lambda x, y, w: EF.multi_margin_loss(x, y, weight=w),
                  lambda x, y, w: torch.nn.functional.multi_margin_loss(x, y, weight=w),
                  (x, y, w), 1)
    t = (RNG.random((4, 5)) < 0.5).astype(np.float32)
    _compare_loss(torch, lambda x, t, w: EF.multilabel_soft_margin_loss(x, t, weight=w),
                  lambda x, t, w: torch.nn.functional.multilabel_soft_margin_loss(x, t, weight=w),
                  (x, t, w), 1)
    em = enn.MultiMarginLoss(weight=ember.tensor(w))
    tm = torch.nn.MultiMarginLoss(weight=torch.tensor(w))
    assert list(em.state_dict()) == list(tm.state_dict()) == ["weight"]


def test_gaussian_nll_var_clamp_and_float_var(torch):
    x, y = _x(3, 4), _x(3, 4)
    v = np.abs(_x(3, 4)) * 1e-3
    check_op(torch, lambda lib, x, y, v: lib.nn.functional.gaussian_nll_loss(x, y, v, eps=1e-3),
             x, y, v, names=False)
    check_op(torch, lambda lib, x, y: lib.nn.functional.gaussian_nll_loss(x, y, 0.5), x, y,
             names=False)


LOSS_FNS = [
    lambda F, a, b, c: F.margin_ranking_loss(a[:, 0], b[:, 0], ember_sign(F, a.shape[0])),
    lambda F, a, b, c: F.soft_margin_loss(a, b.sign()),
    lambda F, a, b, c: F.hinge_embedding_loss(a, b.sign(), margin=2.0),
    lambda F, a, b, c: F.cosine_embedding_loss(a, b, ember_sign(F, a.shape[0])),
    lambda F, a, b, c: F.triplet_margin_loss(a, b, c, margin=3.0),
    lambda F, a, b, c: F.triplet_margin_loss(a, b, c, margin=3.0, p=3, swap=True),
    lambda F, a, b, c: F.triplet_margin_with_distance_loss(a, b, c, margin=3.0),
    lambda F, a, b, c: F.multilabel_soft_margin_loss(a, b.sigmoid()),
    lambda F, a, b, c: F.multi_margin_loss(a, ember.tensor([0, 2, 1]), p=2),
    lambda F, a, b, c: F.poisson_nll_loss(a, b.abs(), full=True),
    lambda F, a, b, c: F.poisson_nll_loss(a.abs() + 0.5, b.abs(), log_input=False),
    lambda F, a, b, c: F.gaussian_nll_loss(a, b, c.abs() + 0.1, full=True),
]


def ember_sign(F, n):
    return ember.tensor(np.array([1.0, -1.0, 1.0][:n]))


@pytest.mark.parametrize("fn", LOSS_FNS)
def test_loss_gradcheck(fn):
    a, b, c = (ember.tensor(_x(3, 4, dtype=np.float64), requires_grad=True) for _ in range(3))
    assert gradcheck(lambda a, b, c: fn(EF, a, b, c), (a, b, c))


@pytest.mark.parametrize("fn", [
    lambda L, t: L.nn.functional.margin_ranking_loss(t(_x(3)), t(_x(2)), t(_x(3))),
    lambda L, t: L.nn.functional.margin_ranking_loss(t(_x(3)), t(_x(3, 1)), t(_x(3))),
    lambda L, t: L.nn.functional.cosine_embedding_loss(t(_x(2, 3, 4)), t(_x(2, 3, 4)),
                                                       t(_x(2))),
    lambda L, t: L.nn.functional.triplet_margin_loss(t(_x(2, 3)), t(_x(3)), t(_x(2, 3))),
    lambda L, t: L.nn.functional.multi_margin_loss(t(_x(2, 3)), t(np.array([0, 1])), p=3),
    lambda L, t: L.nn.functional.multi_margin_loss(t(_x(2, 3)), t(np.array([0, 3]))),
    lambda L, t: L.nn.functional.gaussian_nll_loss(t(_x(2, 3)), t(_x(2, 3)), t(np.ones((2, 2)))),
    lambda L, t: L.nn.functional.gaussian_nll_loss(t(_x(2, 3)), t(_x(2, 3)),
                                                   t(-np.ones((2, 3)))),
    lambda L, t: L.nn.functional.triplet_margin_with_distance_loss(t(_x(3)), t(_x(3)),
                                                                   t(_x(3)), margin=0),
    lambda L, t: L.nn.functional.hinge_embedding_loss(t(_x(3)), t(_x(2))),
    lambda L, t: L.nn.TripletMarginLoss(margin=0),
    lambda L, t: L.nn.MultiMarginLoss(p=3),
    lambda L, t: L.nn.functional.soft_margin_loss(t(_x(3)), t(_x(3)), reduction="avg"),
])
def test_loss_errors(torch, fn):
    e, t = same_error(torch, lambda: fn(ember, ember.tensor), lambda: fn(torch, torch.tensor))
    assert str(e).replace("ember.", "torch.") == str(t)


# ---- CTC ----------------------------------------------------------------------------------------
def _ctc_inputs(T=12, N=4, C=5, S=4):
    x = _x(T, N, C)
    tg = RNG.integers(1, C, (N, S))
    tl = np.array([4, 2, 3, 0])[:N]
    il = np.array([12, 10, 8, 6])[:N]
    return x, tg, il, tl


@pytest.mark.parametrize("reduction", REDS)
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("concat", [False, True])
def test_ctc_loss(torch, reduction, zero_infinity, concat):
    x, tg, il, tl = _ctc_inputs()
    if concat:
        tg = np.concatenate([tg[n, :tl[n]] for n in range(len(tl))])
    em = enn.CTCLoss(reduction=reduction, zero_infinity=zero_infinity)
    tm = torch.nn.CTCLoss(reduction=reduction, zero_infinity=zero_infinity)
    assert repr(em) == repr(tm)
    check_op(torch, lambda lib, x, tg, il, tl: (em if lib is ember else tm)(
        x.log_softmax(2), tg, il, tl), x, tg, il, tl, rtol=1e-5, atol=1e-5)


def test_ctc_infinite_loss_blank_and_lists(torch):
    x, tg, il, tl = _ctc_inputs()
    il = np.array([12, 10, 2, 6])  # sample 2 cannot emit 3 labels in 2 steps
    for zi in (False, True):
        check_op(torch, lambda lib, x: lib.nn.functional.ctc_loss(
            x.log_softmax(2), lib.tensor(tg), list(il), tuple(tl), reduction="none",
            zero_infinity=zi), x, names=False)
    # another blank index, unbatched input, repeated labels
    tg2 = np.array([[0, 0, 1, 1], [2, 0, 2, 2]])
    check_op(torch, lambda lib, x: lib.nn.functional.ctc_loss(
        x.log_softmax(2), lib.tensor(tg2), [9, 9], [4, 3], blank=3), _x(9, 2, 4))
    check_op(torch, lambda lib, x: lib.nn.functional.ctc_loss(
        x.log_softmax(1), lib.tensor(np.array([1, 2, 2])), lib.tensor(np.array(7)),
        lib.tensor(np.array(3))), _x(7, 4))


def test_ctc_gradcheck_and_errors(torch):
    x = ember.tensor(_x(6, 2, 4, dtype=np.float64), requires_grad=True)
    tg = ember.tensor(np.array([[1, 1, 2], [3, 2, 0]]))
    # torch's CTC gradient is the gradient through log_softmax (its formula assumes it)
    assert gradcheck(lambda x: EF.ctc_loss(x.log_softmax(2), tg, [6, 5], [3, 2]), (x,))
    assert gradcheck(lambda x: EF.ctc_loss(x.log_softmax(2), tg, [6, 4], [3, 1],
                                           reduction="sum"), (x,))
    lp = _x(5, 2, 4)
    for fn in (lambda L: L.nn.functional.ctc_loss(L.tensor(lp), L.ones(2, 3, dtype=L.int64),
                                                  [6, 5], [3, 3]),
               lambda L: L.nn.functional.ctc_loss(L.tensor(lp), L.ones(2, 2, dtype=L.int64),
                                                  [5, 5], [3, 3])):
        e, t = same_error(torch, lambda: fn(ember), lambda: fn(torch))
        assert str(e) == str(t)
