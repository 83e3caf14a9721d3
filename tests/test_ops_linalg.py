"""Matrix products against torch: matmul/@ over every rank combination, mm, bmm, mv, dot, outer,
addmm (with alpha/beta), gradients, dtypes, grad_fn names and torch's error messages."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from helpers import check_op, same_error

RNG = np.random.default_rng(3)


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (3,)), ((3,), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)),
                 ((5, 2, 3), (5, 3, 4)), ((1, 2, 3), (5, 3, 4)), ((6, 1, 2, 3), (5, 3, 4)),
                 ((5, 2, 3), (1, 3, 4)), ((2, 1, 2, 3), (2, 3, 4)), ((1, 3), (3, 1))]


DIFFERENT_NAMES = [((1, 2, 3), (5, 3, 4))]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
@pytest.mark.parametrize("form", ["op", "fn", "method"])
def test_matmul_all_ranks(torch, shapes, form):
    sa, sb = shapes
    fn = {"op": lambda L, a, b: a @ b, "fn": lambda L, a, b: L.matmul(a, b),
          "method": lambda L, a, b: a.matmul(b)}[form]
    # torch names (1, 2, 3) @ (5, 3, 4) CloneBackward0 (internal fold); ember UnsafeViewBackward0
    names = shapes not in DIFFERENT_NAMES
    check_op(torch, fn, randn(*sa), randn(*sb), rtol=1e-4, atol=1e-5, names=names)
    # one operand requiring grad: torch's fold (and so its node name) depends on which
    check_op(torch, lambda L, a: fn(L, a, L.tensor(np.ones(sb, np.float32))), randn(*sa),
             rtol=1e-4, atol=1e-5, names=names)
    check_op(torch, lambda L, b: fn(L, L.tensor(np.ones(sa, np.float32)), b), randn(*sb),
             rtol=1e-4, atol=1e-5, names=names)


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_float64_non_contiguous(torch, shapes):
    sa, sb = shapes

    def flip(L, t):  # the same values through a transposed (non-contiguous) layout
        return t.transpose(-1, -2).contiguous().transpose(-1, -2) if t.dim() > 1 else t[::1]

    def fn(L, a, b):
        return flip(L, a) @ flip(L, b)

    check_op(torch, fn, randn(*sa, dtype=np.float64), randn(*sb, dtype=np.float64),
             names=shapes not in DIFFERENT_NAMES)
    if len(sa) == 2 and len(sb) == 2:
        check_op(torch, lambda L, a, b: a.t() @ b.t(), randn(*sa[::-1]), randn(*sb[::-1]),
                 rtol=1e-4, atol=1e-5)


def test_mm_bmm_mv_dot_outer(torch):
    cases = [
        (lambda L, a, b: L.mm(a, b), (4, 3), (3, 5)),
        (lambda L, a, b: a.mm(b), (1, 3), (3, 1)),
        (lambda L, a, b: L.bmm(a, b), (2, 4, 3), (2, 3, 5)),
        (lambda L, a, b: a.bmm(b.transpose(1, 2)), (2, 4, 3), (2, 5, 3)),
        (lambda L, a, b: L.mv(a, b), (4, 3), (3,)),
        (lambda L, a, b: a.t().mv(b), (3, 4), (3,)),
        (lambda L, a, b: L.dot(a, b), (5,), (5,)),
        (lambda L, a, b: a.dot(b), (1,), (1,)),
        (lambda L, a, b: L.outer(a, b), (4,), (3,)),
        (lambda L, a, b: a.outer(b), (1,), (3,)),
        (lambda L, a, b: L.inner(a, b), (4,), (4,)),
        (lambda L, a, b: L.inner(a, b), (2, 4), (3, 4)),
        (lambda L, a, b: a.inner(b), (4,), (2, 3, 4)),
    ]
    for fn, sa, sb in cases:
        check_op(torch, fn, randn(*sa), randn(*sb), rtol=1e-4, atol=1e-5)
        check_op(torch, fn, randn(*sa, dtype=np.float64), randn(*sb, dtype=np.float64))


@pytest.mark.parametrize("bias_shape", [(5,), (1, 5), (4, 5), (4, 1), ()])
@pytest.mark.parametrize("scales", [{}, {"beta": 0.5}, {"alpha": 2.0}, {"beta": 0.0, "alpha": -1}])
def test_addmm(torch, bias_shape, scales):
    check_op(torch, lambda L, c, a, b: L.addmm(c, a, b, **scales), randn(*bias_shape),
             randn(4, 3), randn(3, 5), rtol=1e-4, atol=1e-5)
    check_op(torch, lambda L, c, a, b: c.addmm(a, b.t(), **scales), randn(*bias_shape),
             randn(4, 3), randn(5, 3), rtol=1e-4, atol=1e-5)


def test_addmm_beta_zero_ignores_nan_bias(torch):
    c = np.full(5, np.nan, np.float32)
    check_op(torch, lambda L, c, a, b: L.addmm(c, a, b, beta=0), c, randn(4, 3), randn(3, 5),
             rtol=1e-4, atol=1e-5, grad=False)


def test_integer_and_mixed_dtypes(torch):
    a = np.arange(6).reshape(2, 3)
    b = np.arange(12).reshape(3, 4)
    check_op(torch, lambda L, x, y: x @ y, a, b)
    check_op(torch, lambda L, x, y: L.mm(x, y), a.astype(np.int32), b.astype(np.int32))
    check_op(torch, lambda L, x, y: L.outer(x, y), randn(3), randn(2, dtype=np.float64))


def test_only_one_operand_requires_grad(torch):
    a, b = randn(4, 3), randn(3, 5)
    check_op(torch, lambda L, x: x @ L.tensor(b), a)
    check_op(torch, lambda L, y: L.tensor(a) @ y, b)
    c = randn(2, 4, 3)
    check_op(torch, lambda L, x: x @ L.tensor(b), c)
    check_op(torch, lambda L, y: L.tensor(c) @ y, b)


def test_rmatmul_with_numpy_operand(torch):
    a = randn(3, 4)
    e = a @ ember.tensor(randn(4, 2) * 0 + 1)
    assert isinstance(e, ember.Tensor) and tuple(e.shape) == (3, 2)


ERRORS = [
    lambda L: L.ones(3) @ L.ones(4), lambda L: L.ones(2, 3) @ L.ones(4),
    lambda L: L.ones(3) @ L.ones(4, 5), lambda L: L.ones(64, 784) @ L.ones(128, 10),
    lambda L: L.ones(5, 2, 3) @ L.ones(4), lambda L: L.ones(4) @ L.ones(5, 3, 4),
    lambda L: L.ones(5, 2, 3) @ L.ones(4, 4), lambda L: L.ones(2, 3) @ L.ones(5, 4, 4),
    lambda L: L.ones(5, 2, 3) @ L.ones(5, 4, 4), lambda L: L.ones(5, 2, 3) @ L.ones(4, 3, 4),
    lambda L: L.ones(()) @ L.ones(3), lambda L: L.ones(3) @ L.ones(()),
    lambda L: L.mm(L.ones(2, 3), L.ones(4, 5)),
    lambda L: L.mm(L.ones(2, 3), L.ones(3, 5, dtype=L.float64)),
    lambda L: L.mm(L.ones(3), L.ones(3, 5)), lambda L: L.mm(L.ones(2, 3), L.ones(3)),
    lambda L: L.bmm(L.ones(2, 2, 3), L.ones(2, 4, 5)),
    lambda L: L.bmm(L.ones(2, 2, 3), L.ones(3, 3, 5)),
    lambda L: L.bmm(L.ones(2, 3), L.ones(2, 3, 5)),
    lambda L: L.bmm(L.ones(2, 2, 3), L.ones(2, 3, 5, dtype=L.float64)),
    lambda L: L.mv(L.ones(2, 3), L.ones(4)), lambda L: L.mv(L.ones(2, 3), L.ones(3, 1)),
    lambda L: L.mv(L.ones(2, 3), L.ones(3, dtype=L.float64)),
    lambda L: L.dot(L.ones(3), L.ones(4)), lambda L: L.dot(L.ones(3), L.ones(3, 1)),
    lambda L: L.dot(L.ones(3), L.ones(3, dtype=L.float64)),
    lambda L: L.dot(L.ones(3), L.ones(3, dtype=L.int64)),
    lambda L: L.outer(L.ones(3), L.ones(3, 2)), lambda L: L.inner(L.ones(3), L.ones(4)),
    lambda L: L.matmul(L.ones(2, 3), L.ones(3, 2, dtype=L.float64)),
    lambda L: L.matmul(L.ones(2, 3, 3), L.ones(3, 2, dtype=L.float64)),
    lambda L: L.addmm(L.ones(4), L.ones(2, 3), L.ones(3, 3)),
    lambda L: L.addmm(L.ones(2, 3), L.ones(2, 3), L.ones(4, 3)),
    lambda L: L.mm(L.ones(2, 2, dtype=L.bool), L.ones(2, 2, dtype=L.bool)),
]


@pytest.mark.parametrize("fn", [lambda L: L.ones(2, 3) @ 2, lambda L: 2 @ L.ones(2, 3),
                                lambda L: L.matmul(L.ones(3), 2.0)])
def test_matmul_with_a_number_is_a_type_error(torch, fn):
    same_error(torch, lambda: fn(ember), lambda: fn(torch))


@pytest.mark.parametrize("fn", ERRORS)
def test_errors_match_torch(torch, fn):
    ee, et = same_error(torch, lambda: fn(ember), lambda: fn(torch))
    assert str(ee) == str(et)


def test_mm_error_message_names_both_shapes(torch):
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                           r"\(64x784 and 128x10\)"):
        ember.ones(64, 784) @ ember.ones(128, 10)
