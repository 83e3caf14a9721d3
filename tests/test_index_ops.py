"""The gather/scatter family, index_select/add/fill, take_along_dim, masked_fill/select,
sort/argsort/topk and where against torch: values, dtypes, grad_fn names, gradients (also on
non-contiguous inputs and through double backward) and torch's errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from helpers import assert_close, check_op

RNG = np.random.default_rng(5)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((2, 3, 4))
IDX = np.array([[0, 1], [2, 3], [1, 1]])


def _both_error(torch, fn):
    """fn(lib) raises the same exception type and message on torch and ember."""
    msgs = []
    for lib in (torch, ember):
        with pytest.raises(Exception) as e:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(lib)
        msgs.append((type(e.value), str(e.value)))
    assert msgs[1] == msgs[0], msgs


def _t(L, a):
    return L.tensor(a)


NONCONTIG = {"plain": lambda L, t: t, "t": lambda L, t: t.t().contiguous().t(),
             "step": lambda L, t: L.cat([t, t], 0)[::2] if t.dim() else t}

# (name, fn(lib, input)) on A (3, 4)
CASES = {
    "gather1": lambda L, x: x.gather(1, _t(L, IDX)),
    "gather0": lambda L, x: L.gather(x, 0, _t(L, np.array([[0, 2, 2, 1]]))),
    "gather_i32": lambda L, x: x.gather(1, L.tensor(IDX, dtype=L.int32)),
    "gather_small": lambda L, x: x.gather(0, _t(L, np.array([[1], [1]]))),
    "gather_neg_dim": lambda L, x: x.gather(-1, _t(L, IDX)),
    "scatter_src": lambda L, x: x.scatter(1, _t(L, IDX), x[:, 1:3] * 2),
    "scatter_unique": lambda L, x: x.scatter(0, _t(L, np.array([[2, 0], [1, 2]])),
                                             x[1:, :2] * 3),
    "scatter_value": lambda L, x: x.scatter(1, _t(L, IDX), 2.5),
    "scatter_kw": lambda L, x: L.scatter(x, 0, _t(L, np.array([[2, 0, 1, 0]])), value=-1.0),
    "scatter_add": lambda L, x: x.scatter_add(1, _t(L, IDX), x[:, :2].exp()),
    "scatter_add_fn": lambda L, x: L.scatter_add(x, 0, _t(L, np.array([[0, 0, 0, 0]] * 3)), x),
    "index_select": lambda L, x: x.index_select(1, _t(L, np.array([3, 0, 3]))),
    "index_select0": lambda L, x: L.index_select(x, 0, _t(L, np.array([2, 2]))),
    "index_select_0d": lambda L, x: x.index_select(1, _t(L, np.array(2))),
    "index_select_i32": lambda L, x: x.index_select(0, L.tensor([1], dtype=L.int32)),
    "index_add": lambda L, x: x.index_add(0, _t(L, np.array([0, 0, 2])), x * x, alpha=2),
    "index_add_fn": lambda L, x: L.index_add(x, 1, _t(L, np.array([1, 0, 1, 1])), x.sin()),
    "index_fill": lambda L, x: x.index_fill(1, _t(L, np.array([0, -1])), 2.0),
    "index_fill_t": lambda L, x: x.index_fill(0, _t(L, np.array([1])), x[0, 0] * 3),
    "take_along_dim": lambda L, x: L.take_along_dim(x, _t(L, IDX), 1),
    "take_along_dim_neg": lambda L, x: x.take_along_dim(_t(L, np.array([[-1], [0], [-4]])),
                                                        dim=1),
    # (torch's dim=None path views the input, so it refuses non-contiguous ones)
    "take_along_dim_flat": lambda L, x: L.take_along_dim(x.contiguous(),
                                                         _t(L, np.array([0, 11, 5, 5]))),
    "take_along_dim_bc": lambda L, x: L.take_along_dim(x, _t(L, np.array([[0, 3]])), dim=1),
    "take": lambda L, x: L.take(x, _t(L, np.array([[0, -1], [5, 5]]))),
    "take_method": lambda L, x: x.take(_t(L, np.array([11, 3, 3, 3]))),
    "masked_fill": lambda L, x: x.masked_fill(x > 0, 0.5),
    "masked_fill_bc": lambda L, x: x.masked_fill(_t(L, np.array([True, False, True, False])),
                                                 -1.0),
    "masked_fill_t": lambda L, x: L.masked_fill(x, x < 0, x[1, 1] ** 2),
    "masked_fill_tc": lambda L, x: x.masked_fill(x < 0, L.tensor(3.0, dtype=L.float64)),
    "masked_fill_inf": lambda L, x: x.masked_fill(x > 0.5, float("-inf")).exp(),
    "masked_select": lambda L, x: x.masked_select(x > 0),
    "masked_select_bc": lambda L, x: L.masked_select(x, _t(L, np.array([True, False, True,
                                                                       True]))),
    "masked_select_bc_in": lambda L, x: x[0].masked_select(_t(L, A > 0)),
    "sort": lambda L, x: x.sort(),
    "sort_desc": lambda L, x: L.sort(x, dim=0, descending=True),
    "sort_stable": lambda L, x: x.sort(stable=True, dim=1),
    "argsort": lambda L, x: x.argsort(dim=0),
    "argsort_desc": lambda L, x: L.argsort(x, descending=True),
    "msort": lambda L, x: L.msort(x),
    "topk": lambda L, x: x.topk(2),
    "topk_small": lambda L, x: L.topk(x, 2, dim=0, largest=False),
    "topk_all": lambda L, x: x.topk(4, dim=1),
    "topk_0": lambda L, x: x.topk(0),
    "where": lambda L, x: L.where(x > 0, x, x * x),
    "where_scalar": lambda L, x: L.where(x > 0, x, 0.0),
    "where_method": lambda L, x: x.where(x > 0, -x),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("layout", list(NONCONTIG))
def test_ops_match_torch(torch, name, layout):
    def fn(L, x):
        return CASES[name](L, NONCONTIG[layout](L, x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(torch, fn, A.copy())


@pytest.mark.parametrize("name", ["gather1", "scatter_src", "scatter_add", "index_select",
                                  "index_add", "index_fill_t", "take_along_dim", "masked_fill_t",
                                  "masked_select", "sort", "topk"])
def test_double_backward(torch, name):
    res = []
    for lib in (torch, ember):
        x = lib.tensor(A.copy(), requires_grad=True)
        out = CASES[name](lib, x)
        out = out[0] if isinstance(out, tuple) else out
        (g,) = lib.autograd.grad((out ** 3).sum(), x, create_graph=True)
        (g * g).sum().backward()
        res.append((g, x.grad))
    assert_close(res[1][0], res[0][0])
    assert_close(res[1][1], res[0][1])


@pytest.mark.parametrize("name", ["gather1", "scatter_unique", "scatter_add", "index_add",
                                  "index_fill_t", "masked_fill_t", "masked_select", "topk",
                                  "take"])
def test_gradcheck(name):
    def f(x):
        out = CASES[name](ember, x)
        return out[0] if isinstance(out, tuple) else out
    x = ember.tensor(A.copy(), requires_grad=True)
    assert ember.autograd.gradcheck(f, (x,))
    assert ember.autograd.gradgradcheck(f, (x,))


def test_repeated_indices_accumulate(torch):
    for fn in (lambda L, x: x.gather(0, _t(L, np.array([[0, 0, 0, 0], [0, 1, 0, 1]]))),
               lambda L, x: x.index_select(0, _t(L, np.array([1, 1, 1]))),
               lambda L, x: L.take_along_dim(x, _t(L, np.array([[2, 2, 2]])), 1)):
        check_op(torch, fn, A.copy())


def test_return_types(torch):
    x = np.array([3.0, 1.0, 2.0])
    for name in ("sort", "topk"):
        args = (2,) if name == "topk" else ()
        e = getattr(ember.tensor(x), name)(*args)
        t = getattr(torch.tensor(x), name)(*args)
        assert repr(e) == repr(t).replace("torch.", "ember.")
        assert type(e).__name__ == name and e.values is e[0] and e.indices is e[1]
        assert e.indices.dtype == ember.int64


def test_sort_nan_and_ties(torch):
    x = np.array([3.0, np.nan, 1.0, np.inf, 2.0, -np.inf, np.nan, 1.0])
    for fn in (lambda L, t: t.sort(), lambda L, t: t.sort(descending=True),
               lambda L, t: t.sort(stable=True, descending=True), lambda L, t: t.argsort(),
               lambda L, t: t.topk(3), lambda L, t: t.topk(3, largest=False)):
        check_op(torch, fn, x, grad=False)
    ties = np.array([[2, 1, 2, 1, 0, 2], [5, 5, 5, 1, 1, 0]])
    for fn in (lambda L, t: t.sort(stable=True), lambda L, t: t.sort(stable=True, descending=True),
               lambda L, t: t.argsort(stable=True, dim=1)):
        check_op(torch, fn, ties, grad=False)
    for dt in ("bool", "uint8", "int32", "float16"):
        check_op(torch, lambda L, t: t.sort(stable=True, descending=True), ties.astype(dt),
                 grad=False)


def test_zero_dim_inputs(torch):
    x = np.array(2.5)
    for fn in (lambda L, t: t.sort(), lambda L, t: t.topk(1), lambda L, t: t.argsort(),
               lambda L, t: t.gather(0, L.tensor(0)), lambda L, t: t.index_select(0, L.tensor(0)),
               lambda L, t: t.masked_fill(L.tensor(True), 1.0),
               lambda L, t: t.masked_select(L.tensor(True))):
        check_op(torch, fn, x)


def test_integer_inputs(torch):
    a = np.arange(12).reshape(3, 4)
    for fn in (lambda L, t: t.gather(1, L.tensor(IDX)), lambda L, t: t.scatter(1, L.tensor(IDX), 7),
               lambda L, t: t.masked_fill(t > 5, 2.7), lambda L, t: t.masked_fill(
                   t > 5, L.tensor(-2.5)), lambda L, t: t.index_fill(0, L.tensor([1]), 9),
               lambda L, t: t.topk(2), lambda L, t: t.sort(descending=True)):
        check_op(torch, fn, a)


ERRORS = [
    lambda L: _t(L, A).gather(1, _t(L, IDX + 3)),
    lambda L: _t(L, A).gather(1, _t(L, IDX - 1)),
    lambda L: _t(L, A).gather(1, _t(L, np.zeros((4, 2), np.int64))),
    lambda L: _t(L, A).gather(1, _t(L, np.zeros(3, np.int64))),
    lambda L: _t(L, A).gather(1, _t(L, IDX.astype(np.float32))),
    lambda L: _t(L, A).gather(2, _t(L, IDX)),
    lambda L: _t(L, A).scatter(1, _t(L, IDX), 2.0, reduce="sum"),
    lambda L: _t(L, A).scatter(1, _t(L, IDX), _t(L, np.ones((3, 1)))),
    lambda L: _t(L, A).scatter(1, _t(L, IDX), L.ones(3, 2, dtype=L.float32)),
    lambda L: _t(L, A).scatter(1, _t(L, IDX + 3), _t(L, np.ones((3, 2)))),
    lambda L: _t(L, A).scatter(1, _t(L, IDX).float(), _t(L, np.ones((3, 2)))),
    lambda L: _t(L, A).scatter_add(1, _t(L, IDX + 3), _t(L, np.ones((3, 2)))),
    lambda L: _t(L, A).index_select(1, _t(L, np.array([[2]]))),
    lambda L: _t(L, A).index_select(1, _t(L, np.array([4]))),
    lambda L: _t(L, A).index_select(1, _t(L, np.array([-1]))),
    lambda L: _t(L, A).index_select(1, _t(L, np.array([1.0]))),
    lambda L: _t(L, A).index_add_(0, _t(L, np.array([0, 0])), _t(L, np.ones((3, 4)))),
    lambda L: _t(L, A).index_add_(0, _t(L, np.array([0])), L.ones(1, 4)),
    lambda L: _t(L, A).index_add_(0, _t(L, np.array([5])), _t(L, np.ones((1, 4)))),
    lambda L: _t(L, A).index_add_(0, _t(L, np.array([[0]])), _t(L, np.ones((1, 4)))),
    lambda L: _t(L, A).index_add_(0, _t(L, np.array([0])), _t(L, np.ones((1, 3)))),
    lambda L: _t(L, A).masked_fill(_t(L, np.zeros((3, 4))), 0.0),
    lambda L: _t(L, A).masked_fill(_t(L, np.zeros((3, 4), np.int64)), 0.0),
    lambda L: _t(L, A).masked_fill(_t(L, A) > 0, _t(L, np.array([1.0]))),
    lambda L: _t(L, A[0]).masked_fill_(_t(L, A) > 0, 0.0),
    lambda L: _t(L, A).masked_fill(_t(L, np.ones(3, bool)), 0.0),
    lambda L: _t(L, A).masked_select(_t(L, np.zeros((3, 4)))),
    lambda L: L.take(_t(L, A), _t(L, np.array([12]))),
    lambda L: L.take(_t(L, A), _t(L, np.array([-13]))),
    lambda L: L.take(_t(L, A), L.tensor([1], dtype=L.int32)),
    lambda L: _t(L, A).topk(5),
    lambda L: _t(L, A).topk(-1),
    lambda L: _t(L, A).sort(dim=2),
    lambda L: L.take_along_dim(_t(L, A), _t(L, np.array([0])), 1),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors_match_torch(torch, k):
    _both_error(torch, ERRORS[k])


def test_take_along_dim_checks_bounds():
    # (torch reads out of bounds here; ember refuses)
    with pytest.raises(RuntimeError, match="index 4 is out of bounds for dimension 1 with size 4"):
        ember.take_along_dim(ember.zeros(3, 4), ember.tensor([[0, 4]]), 1)


def test_scatter_reduce_has_no_derivative(torch):
    for lib in (torch, ember):
        x = lib.tensor(A.copy(), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = x.scatter(1, lib.tensor(IDX), lib.ones(3, 2, dtype=lib.float64), reduce="add")
        assert type(y.grad_fn).__name__ == "NotImplemented"
        with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
            y.sum().backward()
    check_op(torch, lambda L, t: t.scatter(1, L.tensor(IDX), 3.0, reduce="multiply"), A,
             grad=False)
    check_op(torch, lambda L, t: t.scatter(0, L.tensor([[0, 0, 0, 0]]),
                                           L.ones(1, 4, dtype=L.float64), reduce="add"), A,
             grad=False)


def test_inplace_forms(torch):
    fns = [lambda L, y: y.scatter_(1, L.tensor(IDX), 0.5),
           lambda L, y: y.scatter_add_(0, L.tensor([[2, 1, 0, 0]]), L.ones(1, 4, dtype=L.float64)),
           lambda L, y: y.index_add_(1, L.tensor([0, 0, 3, 3]), y.clone(), alpha=-1),
           lambda L, y: y.index_fill_(0, L.tensor([0, 2]), 7.0),
           lambda L, y: y.masked_fill_(y > 0, L.tensor(1.5, dtype=L.float64))]
    for fn in fns:
        outs = []
        for lib in (torch, ember):
            y = lib.tensor(A.copy())
            v = y[1]
            r = fn(lib, y)
            outs.append((r is y, y, v, y._version, v._version))
        (tr, ty, tv, tvy, tvv), (er, ey, ev, evy, evv) = outs
        assert er and tr
        assert_close(ey, ty)
        assert_close(ev, tv)  # the view saw the write
        assert (evy, evv) == (tvy, tvv)
