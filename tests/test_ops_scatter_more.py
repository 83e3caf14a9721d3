"""scatter_reduce(_), index_copy(_) and masked_scatter(_) against torch: values, dtypes, grad_fn
names, gradients (ties for amax/amin, zeros for prod, include_self both ways), double backward,
in-place forms (version counter, leaf and saved-tensor errors), gradcheck and torch's errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from helpers import assert_close, check_op
from test_index_ops import _both_error

REDUCES = ("sum", "prod", "mean", "amax", "amin")
RNG = np.random.default_rng(7)
# small integers: many ties and zeros
X = RNG.integers(-2, 3, (3, 4)).astype(np.float32)
S = RNG.integers(-2, 3, (3, 4)).astype(np.float32)
IDX1 = np.array([[0, 0, 3, 0], [1, 1, 1, 2], [3, 3, 0, 3]])  # along dim 1 of X
IDX0 = np.array([[0, 2, 2, 0], [0, 2, 1, 0]])  # along dim 0, covering 2 of S's 3 rows
B = RNG.integers(-1, 2, (2, 3, 4)).astype(np.float32)
IDXB = np.array([[[0, 1, 0, 0], [2, 2, 0, 1]]])  # (1, 2, 4) along dim 1 of B
MASK = np.array([[True, False, True, False], [False, False, True, True],
                 [True, True, False, False]])


def _check_inplace_write(torch, op):
    """op(lib, t) writes t (X's values) in place: it returns t, bumps t's version and leaves the
    values torch's does; on a leaf that requires grad it raises torch's error."""
    res = []
    for lib in (torch, ember):
        t = lib.tensor(X)
        v = t._version
        assert op(lib, t) is t
        res.append((t._version - v, t.numpy().tolist()))
    assert res[0] == res[1]
    _both_error(torch, lambda L: op(L, L.tensor(X, requires_grad=True)))


def _i(L, a):
    return L.tensor(a)


# ---- scatter_reduce ---------------------------------------------------------------------------
SR_CASES = {
    "dim1": (lambda L, x, s, r, inc: x.scatter_reduce(1, _i(L, IDX1), s, r, include_self=inc),
             X, S),
    "dim0_fn": (lambda L, x, s, r, inc: L.scatter_reduce(x, 0, _i(L, IDX0), s[:2], reduce=r,
                                                          include_self=inc), X, S),
    "neg_dim": (lambda L, x, s, r, inc: x.scatter_reduce(-1, _i(L, IDX1), s, r,
                                                          include_self=inc), X, S),
    "3d": (lambda L, x, s, r, inc: x.scatter_reduce(1, _i(L, IDXB), s[:1, :2], r,
                                                     include_self=inc), B, B),
    "noncontig": (lambda L, x, s, r, inc: x.t().scatter_reduce(0, _i(L, IDX1.T[:3]),
                                                               s.t()[:3], r, include_self=inc),
                  X, S),
    "int32_index": (lambda L, x, s, r, inc: x.scatter_reduce(
        1, L.tensor(IDX1, dtype=L.int32), s, r, include_self=inc), X, S),
    "0dim_self": (lambda L, x, s, r, inc: x[0, 0].scatter_reduce(0, _i(L, np.array([0, 0])),
                                                                 s[0, :2], r, include_self=inc),
                  X, S),
    "0dim_src": (lambda L, x, s, r, inc: x[0, :2].scatter_reduce(0, _i(L, np.array([1])),
                                                                  s[0, 1], r, include_self=inc),
                 X, S),
}


@pytest.mark.parametrize("case", list(SR_CASES))
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_values_and_grads(torch, case, reduce, include_self):
    fn, x, s = SR_CASES[case]
    check_op(torch, lambda L, a, b: fn(L, a, b, reduce, include_self), x, s)


def test_scatter_reduce_ties_and_zeros(torch):
    """amax/amin share the gradient among ties (a's value counts even with include_self=False,
    as in torch); prod's gradient with one zero and with two zeros at a position."""
    x = np.array([[2., 0., 3.], [4., 5., 6.]], np.float32)
    s = np.array([[2., 2., 0., 1.], [0., 4., 0., 6.]], np.float32)
    idx = np.array([[0, 0, 2, 0], [1, 0, 0, 1]])
    for reduce in REDUCES:
        for inc in (True, False):
            eo, to = check_op(torch, lambda L, a, b: a.scatter_reduce(1, _i(L, idx), b, reduce,
                                                                      include_self=inc), x, s)
    # one source only: the gradient goes to self and src with its exact share
    for lib in (torch, ember):
        a = lib.tensor([5.], requires_grad=True)
        b = lib.tensor([5., 5., 1.], requires_grad=True)
        a.scatter_reduce(0, lib.tensor([0, 0, 0]), b, "amax", include_self=False).backward()
        assert_close(b.grad, torch.tensor([1 / 3, 1 / 3, 0.]))
        assert float(a.grad[0]) == 0.0


def test_scatter_reduce_sum_grad_is_shared_exactly(torch):
    """The amax shares over a tie of k values add up to the position's gradient."""
    x = ember.tensor([[1., 7.]], requires_grad=True)
    s = ember.tensor([[7., 7., 7.]], requires_grad=True)
    x.scatter_reduce(1, ember.tensor([[1, 1, 1]]), s, "amax").sum().backward()
    assert np.allclose(x.grad.numpy(), [[1., 0.25]]) and np.allclose(s.grad.numpy(), 0.25)


def test_scatter_reduce_src_larger_than_index():
    """Forward as torch; ember's src gradient is zero where index does not read src (torch
    raises an invalid-gradient-shape error here)."""
    import torch
    x = np.ones((2, 3), np.float32)
    s = np.arange(8, dtype=np.float32).reshape(2, 4)
    idx = np.array([[1, 0, 1]])
    for reduce in REDUCES:
        e = ember.tensor(s, requires_grad=True)
        out = ember.tensor(x).scatter_reduce(0, ember.tensor(idx), e, reduce)
        assert_close(out, torch.tensor(x).scatter_reduce(0, torch.tensor(idx),
                                                         torch.tensor(s), reduce))
        out.sum().backward()
        assert e.grad.shape == (2, 4) and not e.grad.numpy()[1].any()
        assert not e.grad.numpy()[0, 3]


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8", "bool",
                                   "float16", "float64"])
def test_scatter_reduce_dtypes(torch, dtype):
    """Forward in every dtype (integer means round down, int8 sums wrap as torch's)."""
    x = RNG.integers(0 if dtype in ("uint8", "bool") else -60, 60, (3, 4))
    s = RNG.integers(0 if dtype in ("uint8", "bool") else -60, 60, (3, 4))
    for reduce in REDUCES:
        if dtype == "bool" and reduce == "mean":
            continue
        for inc in (True, False):
            outs = [lib.tensor(x.astype(dtype)).scatter_reduce(
                1, lib.tensor(IDX1), lib.tensor(s.astype(dtype)), reduce, include_self=inc)
                for lib in (torch, ember)]
            assert_close(outs[1], outs[0], rtol=1e-3)


def test_scatter_reduce_int_mean_rounds_down(torch):
    for lib in (torch, ember):
        r = lib.tensor([-7, 5]).scatter_reduce(0, lib.tensor([0, 0, 1]), lib.tensor([0, 0, 2]),
                                               "mean")
        assert r.tolist() == [-3, 3]


def test_scatter_reduce_no_grad_inputs(torch):
    """Only one of self / src requires grad: the other gets none; the output still has the
    node (as torch)."""
    for rg_self in (True, False):
        r = {}
        for lib in (torch, ember):
            a = lib.tensor(X, requires_grad=rg_self)
            b = lib.tensor(S, requires_grad=not rg_self)
            out = a.scatter_reduce(1, lib.tensor(IDX1), b, "prod")
            assert type(out.grad_fn).__name__ == "ScatterReduceBackward0"
            (out * lib.arange(12.).reshape(3, 4)).sum().backward()
            r[lib] = (a.grad, b.grad)
        assert_close(r[ember], r[torch])


def test_scatter_reduce_out(torch):
    res = []
    for lib in (torch, ember):
        out = lib.empty(3, 4)
        r = lib.scatter_reduce(lib.tensor(X), 1, lib.tensor(IDX1), lib.tensor(S), "amax",
                               include_self=False, out=out)
        assert r is out
        res.append(out)
    assert_close(res[1], res[0])


@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_reduce_inplace(torch, reduce):
    for inc in (True, False):
        check_op(torch, lambda L, a, b: (a * 1).scatter_reduce_(1, _i(L, IDX1), b, reduce,
                                                                include_self=inc), X, S)
        _check_inplace_write(torch, lambda L, t: t.scatter_reduce_(
            1, L.tensor(IDX1), L.tensor(S), reduce, include_self=inc))


def test_scatter_reduce_saved_tensors_are_version_checked(torch):
    """torch saves self, src and the result for every reduction: writing any of them in place
    fails the backward."""
    for which in range(3):
        msgs = []
        for lib in (torch, ember):
            a = lib.tensor(X, requires_grad=True) * 1
            b = lib.tensor(S, requires_grad=True) * 1
            y = a.scatter_reduce(1, lib.tensor(IDX1), b, "sum")
            (a, b, y)[which].add_(1)
            with pytest.raises(RuntimeError) as e:
                y.sum().backward()
            msgs.append(str(e.value))
        assert "modified by an inplace operation" in msgs[1]
        assert msgs[1].split("is at version")[0] == msgs[0].split("is at version")[0]


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradcheck(reduce, include_self):
    """float64 gradcheck and gradgradcheck (distinct values: amax/amin are smooth there; prod
    with one zero at a position of src and one at a position of self)."""
    rng = np.random.default_rng(3)
    x = ember.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    s = ember.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    idx = ember.tensor([[0, 0, 2, 1], [1, 2, 1, 0]])
    if reduce == "prod":
        with ember.no_grad():
            s[0, 1] = 0.0
            x[1, 2] = 0.0

    def f(a, b):
        return a.scatter_reduce(1, idx, b, reduce, include_self=include_self)
    assert ember.autograd.gradcheck(f, (x, s))
    assert ember.autograd.gradgradcheck(f, (x, s))


def test_scatter_reduce_prod_double_backward_matches_torch(torch):
    """Second derivatives of prod through a position holding one zero."""
    res = []
    for lib in (torch, ember):
        a = lib.tensor([1.5, 2.0], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([0.0, 3.0, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = a.scatter_reduce(0, lib.tensor([0, 0, 1, 0]), b, "prod")
        ga, gb = lib.autograd.grad((y * lib.tensor([0.5, -2.0], dtype=lib.float64)).sum(),
                                   (a, b), create_graph=True)
        res.append((ga, gb) + lib.autograd.grad((ga * ga).sum() + (gb * gb).sum(), (a, b)))
    assert_close(res[1], res[0])


SR_ERRORS = {
    "bad_reduce": lambda L: L.ones(2, 3).scatter_reduce(1, L.tensor([[0]]), L.ones(1, 1), "add"),
    "max_backward": lambda L: L.ones(2, 3, requires_grad=True).scatter_reduce(
        1, L.tensor([[0]]), L.ones(1, 1), "max").sum().backward(),
    "bad_reduce_empty_index": lambda L: L.ones(2, 3).scatter_reduce(
        1, L.zeros(0, dtype=L.long), L.ones(2, 3), "foo"),
    "src_dtype": lambda L: L.ones(2, 3).scatter_reduce(1, L.tensor([[0]]),
                                                       L.ones(1, 1, dtype=L.float64), "sum"),
    "src_dtype_before_reduce": lambda L: L.ones(2, 3).scatter_reduce(
        1, L.tensor([[0]]), L.ones(1, 1, dtype=L.float64), "foo"),
    "float_index": lambda L: L.ones(2, 3).scatter_reduce(1, L.tensor([[0.]]), L.ones(1, 1),
                                                         "sum"),
    "index_high": lambda L: L.ones(2, 3).scatter_reduce(1, L.tensor([[3]]), L.ones(1, 1), "sum"),
    "index_negative": lambda L: L.ones(2, 3).scatter_reduce(0, L.tensor([[-1]]), L.ones(1, 1),
                                                            "amin"),
    "reduce_before_bounds": lambda L: L.ones(2, 3).scatter_reduce(1, L.tensor([[7]]),
                                                                  L.ones(1, 1), "foo"),
    "dim": lambda L: L.ones(2, 3).scatter_reduce(2, L.tensor([[0.]]), L.ones(1, 1), "sum"),
    "index_dims": lambda L: L.ones(2, 3).scatter_reduce(1, L.tensor([0]), L.ones(1), "sum"),
    "src_fewer_dims": lambda L: L.ones(2, 3).scatter_reduce(0, L.tensor([[0]]), L.ones(3),
                                                            "sum"),
    "src_more_dims": lambda L: L.ones(2, 3).scatter_reduce(0, L.tensor([[0]]),
                                                           L.ones(1, 1, 1), "sum"),
    "index_too_big": lambda L: L.ones(2, 3).scatter_reduce(1, L.zeros(3, 3, dtype=L.long),
                                                           L.ones(3, 3), "sum"),
    "index_bigger_than_src": lambda L: L.ones(2, 3).scatter_reduce(
        1, L.zeros(2, 3, dtype=L.long), L.ones(2, 2), "prod"),
    "src_number": lambda L: L.ones(2, 3).scatter_reduce(1, L.tensor([[0]]), 2.0, "sum"),
    "index_list": lambda L: L.ones(2, 3).scatter_reduce(1, [[0]], L.ones(1, 1), "sum"),
    "reduce_int": lambda L: L.ones(2, 3).scatter_reduce(1, L.tensor([[0]]), L.ones(1, 1), 3),
    "include_self_int": lambda L: L.ones(2, 3).scatter_reduce(
        1, L.tensor([[0]]), L.ones(1, 1), "sum", include_self=1),
    "inplace_index_list": lambda L: L.ones(2, 3).scatter_reduce_(1, [[0]], L.ones(1, 1), "sum"),
    "bool_mean": lambda L: L.ones(2, 3, dtype=L.bool).scatter_reduce(
        0, L.tensor([[5]]), L.ones(1, 1, dtype=L.bool), "mean"),
    "overlap": lambda L: L.ones(3).expand(2, 3).scatter_reduce_(0, L.tensor([[1]]),
                                                                 L.ones(1, 1), "sum"),
    # the same src-shape checks for scatter / scatter_add (shared with scatter_reduce)
    "scatter_src_fewer_dims": lambda L: L.ones(2, 3).scatter(1, L.tensor([[0]]), L.ones(3)),
    "scatter_add_src_more_dims": lambda L: L.ones(2, 3).scatter_add(0, L.tensor([[0]]),
                                                                    L.ones(1, 1, 1)),
    "scatter_dim_first": lambda L: L.ones(2, 3).scatter(5, L.tensor([[0.]]), L.ones(1, 1)),
    "scatter_reduce_before_bounds": lambda L: L.ones(2, 3).scatter(
        0, L.tensor([[9]]), L.ones(1, 1), reduce="foo"),
}


@pytest.mark.parametrize("case", list(SR_ERRORS))
def test_scatter_reduce_errors(torch, case):
    _both_error(torch, SR_ERRORS[case])


def test_scatter_empty_index_skips_shape_checks(torch):
    for lib in (torch, ember):
        x = lib.ones(2, 3)
        assert x.scatter_reduce(0, lib.zeros(0, 5, dtype=lib.long), lib.ones(5), "sum").equal(x)
        assert x.scatter_add(0, lib.zeros(0, dtype=lib.long), lib.ones(2, 3, 1)).equal(x)


# ---- index_copy -------------------------------------------------------------------------------
A = RNG.standard_normal((3, 4)).astype(np.float32)
IC_CASES = {
    "dim0": lambda L, x, s: x.index_copy(0, _i(L, np.array([2, 0])), s[:2]),
    "dim1_fn": lambda L, x, s: L.index_copy(x, 1, _i(L, np.array([3, 0, 1])), s[:, :3]),
    "neg_dim": lambda L, x, s: x.index_copy(-1, _i(L, np.array([1])), s[:, 2:3] * 2),
    "repeated": lambda L, x, s: x.index_copy(0, _i(L, np.array([1, 1])), s[1:]),
    "0dim_index": lambda L, x, s: x.index_copy(0, _i(L, np.array(1)), s[:1]),
    "scalar_source": lambda L, x, s: x[0].index_copy(0, _i(L, np.array([2])), s[0, 0]),
    "0dim_self": lambda L, x, s: x[0, 0].index_copy(0, _i(L, np.array([0])), s[0, :1]),
    "empty": lambda L, x, s: x.index_copy(0, L.zeros(0, dtype=L.long), s[:0]),
    "noncontig": lambda L, x, s: x.t().index_copy(1, _i(L, np.array([2, 0])), s.t()[:, :2]),
    "inplace": lambda L, x, s: (x * 1).index_copy_(1, _i(L, np.array([0, 2])), s[:, :2]),
}


@pytest.mark.parametrize("case", list(IC_CASES))
def test_index_copy(torch, case):
    check_op(torch, IC_CASES[case], A, S[:, :4] * 3)


@pytest.mark.parametrize("dtype", ["int64", "int8", "uint8", "bool", "float64"])
def test_index_copy_dtypes(torch, dtype):
    outs = [lib.tensor(A > 0).to(getattr(lib, dtype)).index_copy(
        1, lib.tensor([2, 0]), lib.tensor(S[:, :2] > 0).to(getattr(lib, dtype)))
        for lib in (torch, ember)]
    assert_close(outs[1], outs[0])


def test_index_copy_inplace_version_and_leaf(torch):
    _check_inplace_write(torch, lambda L, t: t.index_copy_(0, L.tensor([1]), L.ones(1, 4)))


def test_saved_tensors_of_index_copy_and_masked_scatter(torch):
    """torch saves only index_copy's source: writing it in place afterwards fails the backward;
    writing self or the output (or anything of masked_scatter) does not."""
    for op in ("index_copy", "masked_scatter"):
        for which in range(3):
            res = []
            for lib in (torch, ember):
                a = lib.tensor(A, requires_grad=True) * 1
                b = lib.ones(2, 4, requires_grad=True) * 1
                y = a.index_copy(0, lib.tensor([1, 0]), b) if op == "index_copy" else \
                    a.masked_scatter(lib.tensor(MASK), b)
                (a, b, y)[which].add_(1)
                try:
                    y.sum().backward()
                    res.append(None)
                except RuntimeError as e:
                    res.append(str(e).split(" is at version")[0])
            assert res[0] == res[1], (op, which, res)


def test_index_copy_gradcheck():
    x = ember.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    s = ember.tensor(np.random.default_rng(2).standard_normal((3, 2)), requires_grad=True)
    idx = ember.tensor([3, 1])

    def f(a, b):
        return a.index_copy(1, idx, b)
    assert ember.autograd.gradcheck(f, (x, s)) and ember.autograd.gradgradcheck(f, (x, s))


IC_ERRORS = {
    "index_2d": lambda L: L.ones(2, 3).index_copy(0, L.tensor([[0.]]), L.ones(2, 4)),
    "dim_before_index_2d": lambda L: L.ones(2, 3).index_copy(9, L.tensor([[0]]), L.ones(1, 3)),
    "dimensionality": lambda L: L.ones(2, 3).index_copy(0, L.tensor([0.]), L.ones(2, 3, 4)),
    "float_index": lambda L: L.ones(2, 3).index_copy(0, L.tensor([0.]), L.ones(1, 3)),
    "int32_index": lambda L: L.ones(2, 3).index_copy(0, L.tensor([0], dtype=L.int32),
                                                     L.ones(1, 3)),
    "source_dtype": lambda L: L.ones(2, 3).index_copy(0, L.tensor([0, 0, 0]),
                                                      L.ones(2, 3, dtype=L.float64)),
    "slice_shape": lambda L: L.ones(3, 4, 5).index_copy(1, L.tensor([0, 1]), L.ones(2, 2, 6)),
    "slice_before_count": lambda L: L.ones(2, 3).index_copy(0, L.tensor([0, 5, 0]),
                                                            L.ones(2, 4)),
    "count": lambda L: L.ones(2, 3).index_copy(0, L.tensor([0, 9, 0]), L.ones(2, 3)),
    "high": lambda L: L.ones(2, 3).index_copy(0, L.tensor([0, 2]), L.ones(2, 3)),
    "negative": lambda L: L.ones(2, 3).index_copy(1, L.tensor([-1]), L.ones(2, 1)),
    "scalar_source_count": lambda L: L.ones(3).index_copy(0, L.tensor([0., 1.]), L.ones(())),
    "scalar_source_slice": lambda L: L.ones(2, 3).index_copy(0, L.tensor([0]), L.ones(())),
    "0dim_self_slice": lambda L: L.ones(()).index_copy(0, L.tensor([0]), L.ones(1, 1)),
    "source_number": lambda L: L.ones(2, 3).index_copy(0, L.tensor([0]), 2.0),
    "index_list": lambda L: L.ones(2, 3).index_copy_(0, [0], L.ones(1, 3)),
}


@pytest.mark.parametrize("case", list(IC_ERRORS))
def test_index_copy_errors(torch, case):
    _both_error(torch, IC_ERRORS[case])


# ---- masked_scatter ---------------------------------------------------------------------------
MS_CASES = {
    "same_shape": lambda L, x, m, s: x.masked_scatter(m, s),
    "mask_broadcast": lambda L, x, m, s: L.masked_scatter(x, m[1], s),
    "input_broadcast": lambda L, x, m, s: x[0].masked_scatter(m[:, :1], s),
    "source_2d_larger": lambda L, x, m, s: x.masked_scatter(m, s.reshape(2, 6)),
    "all_false": lambda L, x, m, s: x.masked_scatter(m & False, s[:0]),
    "0dim": lambda L, x, m, s: x[0, 0].masked_scatter(m[0, 0], s[:1]),
    "noncontig": lambda L, x, m, s: x.t().masked_scatter(m.t(), s),
    "inplace": lambda L, x, m, s: (x * 1).masked_scatter_(m, s),
    "inplace_mask_broadcast": lambda L, x, m, s: (x * 1).masked_scatter_(m[2], s),
}


@pytest.mark.parametrize("case", list(MS_CASES))
def test_masked_scatter(torch, case):
    check_op(torch, MS_CASES[case], A, MASK, S.reshape(-1) * 3)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "float64"])
def test_masked_scatter_dtypes(torch, dtype):
    outs = [lib.tensor(A > 0).to(getattr(lib, dtype)).masked_scatter(
        lib.tensor(MASK), lib.tensor(S > 0).to(getattr(lib, dtype)))
        for lib in (torch, ember)]
    assert_close(outs[1], outs[0])


def test_masked_scatter_inplace_version_and_leaf(torch):
    _check_inplace_write(torch, lambda L, t: t.masked_scatter_(L.tensor(MASK[0]),
                                                               L.arange(12.)))


def test_masked_scatter_gradcheck():
    rng = np.random.default_rng(4)
    x = ember.tensor(rng.standard_normal((3,)), requires_grad=True)
    s = ember.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    m = ember.tensor([[True, False, True], [False, True, False]])

    def f(a, b):
        return a.masked_scatter(m, b)
    assert ember.autograd.gradcheck(f, (x, s)) and ember.autograd.gradgradcheck(f, (x, s))


MS_ERRORS = {
    "too_few": lambda L: L.ones(2, 3).masked_scatter(L.tensor(MASK[:2, :3]), L.ones(1)),
    "source_dtype": lambda L: L.ones(2, 3).masked_scatter(L.ones(2, 3),
                                                          L.ones(2, dtype=L.float64)),
    "mask_dtype": lambda L: L.ones(2, 3).masked_scatter(L.ones(2, 3), L.ones(6)),
    "mask_uint8": lambda L: L.ones(2, 3).masked_scatter(L.ones(2, 3, dtype=L.uint8), L.ones(6)),
    "broadcast_first": lambda L: L.ones(2, 3).masked_scatter(L.ones(3, 3),
                                                             L.ones(2, dtype=L.float64)),
    "broadcast_mask_a": lambda L: L.ones(2, 3).masked_scatter(L.ones(2, dtype=L.bool),
                                                              L.ones(6)),
    "inplace_dtype_first": lambda L: L.ones(2, 3).masked_scatter_(
        L.ones(3, 3, dtype=L.bool), L.ones(2, dtype=L.float64)),
    "inplace_expand": lambda L: L.ones(2, 3).masked_scatter_(L.ones(3, 3), L.ones(9)),
    "inplace_mask_bigger": lambda L: L.ones(3).masked_scatter_(L.ones(2, 3), L.ones(9)),
    "source_number": lambda L: L.ones(2, 3).masked_scatter(L.ones(2, 3, dtype=L.bool), 2.0),
    "mask_list": lambda L: L.ones(2, 3).masked_scatter_([True], L.ones(6)),
}


@pytest.mark.parametrize("case", list(MS_ERRORS))
def test_masked_scatter_errors(torch, case):
    _both_error(torch, MS_ERRORS[case])


def test_grad_fn_names(torch):
    for lib in (torch, ember):
        a = lib.ones(2, 3, requires_grad=True)
        outs = (a.scatter_reduce(0, lib.tensor([[1, 0, 1]]), a[:1] * 2, "mean"),
                a.index_copy(0, lib.tensor([1]), a[:1] * 2),
                a.masked_scatter(lib.tensor([True, False, True]), a * 2))
        assert [type(o.grad_fn).__name__ for o in outs] == \
            ["ScatterReduceBackward0", "IndexCopyBackward0", "MaskedScatterBackward0"]


def test_scatter_reduce_max_min_forward_aliases(torch):
    """torch's forward takes "max"/"min" for amax/amin (its backward raises, tested above)."""
    for r in ("max", "min"):
        for inc in (True, False):
            outs = [lib.tensor(X).scatter_reduce(1, lib.tensor(IDX1), lib.tensor(S), r,
                                                 include_self=inc) for lib in (torch, ember)]
            assert_close(outs[1], outs[0])
