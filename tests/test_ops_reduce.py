"""Reductions against torch: values, dtypes, shapes, grad_fn names (SumBackward0 vs 1 ...),
gradients (ties included), the (values, indices) named tuples, and errors for bad dims."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from helpers import assert_close, check_op, same_error

RNG = np.random.default_rng(99)


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


DIM_FORMS = [None, 0, 1, -1, (0, 2), (-1, 0), [1]]


def _kw(dim, keepdim):
    kw = {} if dim is None else {"dim": dim}
    if keepdim:
        kw["keepdim"] = True
    return kw


@pytest.mark.parametrize("op", ["sum", "mean", "logsumexp", "amax", "amin", "var", "std"])
@pytest.mark.parametrize("dim", DIM_FORMS, ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
def test_multi_dim_reductions(torch, op, dim, keepdim):
    if op == "logsumexp" and dim is None:
        dim = (0, 1, 2)
    if dim is None and keepdim and op in ("sum", "mean"):
        dim = (0, 1, 2)  # (torch takes keepdim only with dim)
    kw = _kw(dim, keepdim)
    x = randn(2, 3, 4)
    check_op(torch, lambda L, t: getattr(t, op)(**kw), x)
    check_op(torch, lambda L, t: getattr(L, op)(t, **kw), x.astype(np.float64))
    # non-contiguous input
    check_op(torch, lambda L, t: getattr(t.transpose(0, 2), op)(**kw), randn(4, 3, 2))


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin"])
def test_empty_dim_list_reduces_everything(torch, op):
    x = randn(2, 3)
    check_op(torch, lambda L, t: getattr(t, op)(()), x)
    check_op(torch, lambda L, t: getattr(t, op)((), keepdim=True), x)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "float16", "float64"])
def test_sum_dtypes(torch, dtype):
    a = np.array([[1, 0, 3], [4, 5, 1]]).astype(dtype)
    for fn in (lambda L, t: t.sum(), lambda L, t: t.sum(0), lambda L, t: L.sum(t, 1, True),
               lambda L, t: t.sum(dtype=L.float64), lambda L, t: t.prod(), lambda L, t: t.prod(1)):
        check_op(torch, fn, a, rtol=1e-3)
    check_op(torch, lambda L, t: t.sum(1, dtype=L.int32), a, grad=False)


def test_mean_rejects_integers_and_accepts_dtype(torch):
    e, t = ember.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    ee, et = same_error(torch, lambda: e.mean(), lambda: t.mean())
    assert str(ee) == str(et)
    same_error(torch, lambda: e.mean(0), lambda: t.mean(0))
    check_op(torch, lambda L, x: x.mean(dtype=L.float64), np.array([1, 2, 4]))
    ee, et = same_error(torch, lambda: ember.ones(2).mean(dtype=ember.int64),
                        lambda: torch.ones(2).mean(dtype=torch.int64))
    assert str(ee) == str(et)
    check_op(torch, lambda L, x: x.mean(dtype=L.float32), np.array([1, 2, 4]))


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod(torch, dim, keepdim):
    kw = _kw(dim, keepdim) if dim is not None else {}
    x = randn(3, 4)
    check_op(torch, lambda L, t: t.prod(**kw), x)
    # zeros: one zero in a slice gives the other elements zero gradient; two zeros give none
    z = x.copy()
    z[0, 1] = 0.0
    z[1, 1] = 0.0
    z[1, 3] = 0.0
    check_op(torch, lambda L, t: L.prod(t, **kw), z)


@pytest.mark.parametrize("kw", [{}, {"unbiased": False}, {"correction": 0}, {"correction": 2},
                                {"dim": 1, "unbiased": True}, {"dim": 0, "correction": 0},
                                {"dim": (0, 1), "keepdim": True}])
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_corrections(torch, op, kw):
    check_op(torch, lambda L, t: getattr(t, op)(**kw), randn(4, 5))


def test_var_positional_unbiased(torch):
    check_op(torch, lambda L, t: t.var(False), randn(6))
    check_op(torch, lambda L, t: L.std(t, 0, False), randn(3, 6))


def test_var_of_one_element_is_nan(torch):
    for fn in (lambda L, t: t.var(), lambda L, t: t.std(0), lambda L, t: t.var(1)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            e = fn(ember, ember.tensor([[1.5]]))
            t = fn(torch, torch.tensor([[1.5]]))
        assert_close(e, t)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_named_tuple(torch, op, dim, keepdim):
    x = randn(3, 4)
    (ev, ei), (tv, ti) = check_op(torch, lambda L, t: getattr(t, op)(dim, keepdim), x)
    e = getattr(ember, op)(ember.tensor(x), dim=dim, keepdim=keepdim)
    t = getattr(torch, op)(torch.tensor(x), dim=dim, keepdim=keepdim)
    assert type(e).__name__ == type(t).__name__ == op
    assert e._fields == ("values", "indices")
    assert_close(e.values, t.values)
    assert_close(e.indices, t.indices)
    assert_close(e[0], t[0])
    values, indices = e
    assert indices.dtype is ember.int64 and not indices.requires_grad


def test_named_tuple_repr(torch):
    x = np.array([[1.0, 3.0], [2.0, 0.0]], np.float32)
    e, t = ember.tensor(x).max(1), torch.tensor(x).max(1)
    assert repr(e).startswith("ember.return_types.max(\nvalues=tensor(")
    assert repr(t).startswith("torch.return_types.max(\nvalues=tensor(")
    assert repr(e).count("indices=") == 1


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_full_and_ties(torch, op):
    x = randn(3, 4)
    check_op(torch, lambda L, t: getattr(t, op)(), x)
    ties = np.array([[1.0, 3.0, 3.0], [0.0, 3.0, -1.0]], np.float32)
    ties_min = -ties
    for a in (ties, ties_min):
        check_op(torch, lambda L, t: getattr(t, op)(), a)
        check_op(torch, lambda L, t: getattr(L, op)(t, 1), a)
        check_op(torch, lambda L, t: getattr(L, op)(t, 0), a)
        check_op(torch, lambda L, t: getattr(t, "a" + op)(1), a)
        check_op(torch, lambda L, t: getattr(t, "a" + op)(), a)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin(torch, op):
    x = np.array([[1.0, 5.0, 5.0, 0.0], [7.0, -1.0, 7.0, 2.0], [0.0, 0.0, 0.0, 0.0]], np.float32)
    for kw in ({}, {"dim": 0}, {"dim": 1}, {"dim": -1, "keepdim": True}, {"dim": 0, "keepdim": True},
               {"keepdim": True}):
        check_op(torch, lambda L, t: getattr(t, op)(**kw), x)
        check_op(torch, lambda L, t: getattr(L, op)(t.t(), **kw), x)
    check_op(torch, lambda L, t: getattr(t, op)(), np.array(3.0, np.float32))
    check_op(torch, lambda L, t: getattr(t, op)(0), np.array([3, 1, 4]))


def test_logsumexp_stability(torch):
    big = np.array([[1000.0, 1000.0, -1000.0], [-np.inf, -np.inf, -np.inf],
                    [0.0, -np.inf, 1.0]], np.float32)
    e = ember.tensor(big).logsumexp(1)
    t = torch.tensor(big).logsumexp(1)
    assert_close(e, t)
    check_op(torch, lambda L, t: t.logsumexp(1), big[[0, 2]])
    check_op(torch, lambda L, t: L.logsumexp(t, 0, keepdim=True), randn(5, 3) * 50)


@pytest.mark.parametrize("op", ["all", "any"])
@pytest.mark.parametrize("dtype", ["bool", "float32", "int64", "uint8"])
def test_all_any(torch, op, dtype):
    a = np.array([[1, 0, 1], [1, 1, 1]]).astype(dtype)
    for kw in ({}, {"dim": 0}, {"dim": 1}, {"dim": -1, "keepdim": True}):
        check_op(torch, lambda L, t: getattr(t, op)(**kw), a)
        check_op(torch, lambda L, t: getattr(L, op)(t, **kw), a)


def test_cumsum_cumprod(torch):
    x = randn(3, 4)
    for fn in (lambda L, t: t.cumsum(0), lambda L, t: t.cumsum(-1), lambda L, t: L.cumprod(t, 1),
               lambda L, t: t.cumsum(1, dtype=L.float64)):
        check_op(torch, fn, x)
    check_op(torch, lambda L, t: t.cumsum(0), np.array([1, 2, 3], np.int32))


def test_reductions_of_zero_dim_tensors(torch):
    x = np.array(2.5, np.float32)
    for fn in (lambda L, t: t.sum(), lambda L, t: t.sum(0), lambda L, t: t.mean(-1),
               lambda L, t: t.max(), lambda L, t: t.max(0), lambda L, t: t.amax(0),
               lambda L, t: t.prod(0), lambda L, t: t.logsumexp(0), lambda L, t: t.sum(0, True)):
        check_op(torch, fn, x)


def test_reductions_of_empty_tensors(torch):
    x = np.zeros((0, 3), np.float32)
    for fn in (lambda L, t: t.sum(), lambda L, t: t.sum(0), lambda L, t: t.prod(0),
               lambda L, t: t.amax(1), lambda L, t: t.any(), lambda L, t: t.all()):
        check_op(torch, fn, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(ember.tensor(x).mean(0), torch.tensor(x).mean(0))
    e, t = ember.tensor(x), torch.tensor(x)
    for fn in (lambda L, v: v.max(), lambda L, v: v.max(0), lambda L, v: v.argmax(0),
               lambda L, v: v.amax(0)):
        same_error(torch, lambda: fn(ember, e), lambda: fn(torch, t))


@pytest.mark.parametrize("call", [
    lambda L, t: t.sum(2), lambda L, t: t.sum(-3), lambda L, t: t.mean((0, 5)),
    lambda L, t: t.max(2), lambda L, t: t.min(-3), lambda L, t: t.argmax(2),
    lambda L, t: t.var(3), lambda L, t: t.logsumexp(2), lambda L, t: t.amax(4),
    lambda L, t: t.prod(2), lambda L, t: t.std(-4), lambda L, t: t.all(2),
    lambda L, t: t.any(-3), lambda L, t: t.cumsum(2), lambda L, t: t.sum((0, 0)),
    lambda L, t: t.softmax(2) if L is not ember else t.cumsum(2)])
def test_bad_dims_raise_like_torch(torch, call):
    e, t = ember.ones(2, 3), torch.ones(2, 3)
    ee, et = same_error(torch, lambda: call(ember, e), lambda: call(torch, t))
    if isinstance(et, IndexError):
        assert str(ee) == str(et)


def test_dim_out_of_range_message(torch):
    ee, et = same_error(torch, lambda: ember.ones(2, 3).sum(2), lambda: torch.ones(2, 3).sum(2))
    assert str(ee) == str(et) == ("Dimension out of range (expected to be in range of [-2, 1], "
                                  "but got 2)")


def test_reduction_gradients_flow_to_broadcast_inputs(torch):
    a, b = randn(3, 1), randn(4)
    for fn in (lambda L, x, y: (x * y).sum(0), lambda L, x, y: (x + y).mean(),
               lambda L, x, y: (x - y).amax(1), lambda L, x, y: (x * y).var(1),
               lambda L, x, y: (x * y).max(0)[0], lambda L, x, y: (x + y).logsumexp(0),
               lambda L, x, y: (x * y).prod(1)):
        check_op(torch, fn, a, b)


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 0.5, float("inf"), -float("inf"), 0])
@pytest.mark.parametrize("dim", [None, 1, (0, 1), -1])
def test_norm(torch, p, dim):
    x = randn(3, 4)
    kw = {} if dim is None else {"dim": dim}
    if p == "fro" and dim == 1:
        kw["dim"] = (1,)
    check_op(torch, lambda L, t: t.norm(p, **kw), x, rtol=1e-4, atol=1e-5)
    check_op(torch, lambda L, t: L.norm(t, p=p, keepdim=True, **kw), x, rtol=1e-4, atol=1e-5)


def test_norm_of_zeros_has_zero_gradient(torch):
    check_op(torch, lambda L, t: t.norm(), np.zeros((2, 3), np.float32))
    check_op(torch, lambda L, t: t.norm(dim=1), np.array([[0, 0], [3, 4]], np.float32))


def test_numpy_spellings_of_dim_and_keepdim(torch):
    x = randn(2, 3, 4)
    for fn in (lambda L, t: t.sum(axis=0), lambda L, t: L.sum(t, axis=1, keepdim=True),
               lambda L, t: t.mean(axis=(0, 2)), lambda L, t: t.max(axis=1)[0],
               lambda L, t: t.std(axis=0), lambda L, t: L.amax(t, axis=-1),
               lambda L, t: t.argmax(axis=1), lambda L, t: t.logsumexp(axis=2),
               lambda L, t: (t > 0).all(axis=1), lambda L, t: t.cumsum(axis=0),
               lambda L, t: L.sum(t, 0, keepdims=True), lambda L, t: L.cat([t, t], axis=1),
               lambda L, t: L.stack([t, t], axis=0), lambda L, t: L.squeeze(t[:1], axis=0),
               lambda L, t: t.unsqueeze(dim=0), lambda L, t: t.var(axis=1, keepdim=True)):
        check_op(torch, fn, x)
