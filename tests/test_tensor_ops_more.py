"""ops/tensor_ops_more.py against torch: bitwise methods and shifts (+ in place), fill_diagonal_
(wrap, 3-d), H / mH / adjoint, isreal, split_with_sizes, sum_to_size, gcd / lcm, ldexp, frexp,
nextafter, put / put_, select / slice / diagonal scatter, narrow_copy, cholesky_solve /
cholesky_inverse, histogram, output_nr, pin_memory; values, gradients and errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from helpers import assert_close, same_error

RNG = np.random.default_rng(47)
I = RNG.integers(-20, 20, (3, 4))
J = RNG.integers(1, 6, (3, 4))
F = RNG.standard_normal((3, 4))
SPD = (lambda m: m @ m.T + 3 * np.eye(3))(RNG.standard_normal((3, 3)))

VALUE_CASES = {
    "and": lambda m: m.tensor(I).bitwise_and(m.tensor(J)),
    "or_": lambda m: m.tensor(I).bitwise_or_(m.tensor(J)),
    "xor": lambda m: m.tensor(I).bitwise_xor(7),
    "not_": lambda m: m.tensor(I).bitwise_not_(),
    "lshift": lambda m: m.bitwise_left_shift(m.tensor(J), 2),
    "rshift_": lambda m: m.tensor(I).bitwise_right_shift_(m.tensor(J)),
    "gcd": lambda m: m.gcd(m.tensor(I), m.tensor(J)),
    "lcm_": lambda m: m.tensor(I).lcm_(m.tensor(J)),
    "fill_diag": lambda m: m.zeros(3, 5).fill_diagonal_(2.5),
    "fill_diag_wrap": lambda m: m.zeros(7, 3).fill_diagonal_(1.0, wrap=True),
    "fill_diag_nowrap": lambda m: m.zeros(7, 3).fill_diagonal_(1.0),
    "fill_diag_3d": lambda m: m.zeros(3, 3, 3).fill_diagonal_(4),
    "isreal": lambda m: m.isreal(m.tensor(F)),
    "frexp": lambda m: m.frexp(m.tensor(F * 100)),
    "nextafter": lambda m: m.nextafter(m.tensor(F), m.tensor(F * 2)),
    "put": lambda m: m.put(m.tensor(F), m.tensor([0, 5, -1]), m.tensor([9., 8., 7.],
                                                                       dtype=m.float64)),
    "put_acc": lambda m: m.tensor(F).put_(m.tensor([1, 1, 3]), m.tensor([1., 2., 3.],
                                                                        dtype=m.float64), True),
    "histogram": lambda m: m.histogram(m.tensor(F), bins=5),
    "histogram_range": lambda m: m.histogram(m.tensor(F), bins=4, range=(-1., 1.),
                                             weight=m.tensor(np.abs(F)), density=True),
    "split_sizes": lambda m: m.tensor(F).split_with_sizes([1, 3], dim=1),
    "sum_to_size": lambda m: m.tensor(F).sum_to_size(1, 4),
    "narrow_copy": lambda m: m.tensor(F).narrow_copy(1, 1, 2),
}


@pytest.mark.parametrize("name", list(VALUE_CASES))
def test_values_match_torch(torch, name):
    e, t = VALUE_CASES[name](ember), VALUE_CASES[name](torch)
    if isinstance(t, (tuple, list)):
        for a, b in zip(e, t):
            assert_close(a, b)
    else:
        assert_close(e, t)


GRAD_CASES = {
    "H": lambda m, x: x.H * 2,
    "mH": lambda m, x: x.reshape(1, 3, 3).mH,
    "adjoint": lambda m, x: m.adjoint(x) + 1,
    "ldexp": lambda m, x: m.ldexp(x, m.tensor([1, 2, 3])),
    "sum_to_size": lambda m, x: x.sum_to_size(1, 3),
    "split_sizes": lambda m, x: x.split_with_sizes([1, 2], 1)[1],
    "select_scatter": lambda m, x: m.select_scatter(x, x[0] * 3, 0, 1),
    "slice_scatter": lambda m, x: m.slice_scatter(x, x[:, :2].exp(), 1, 0, 3, 2),
    "diagonal_scatter": lambda m, x: m.diagonal_scatter(x, x[0] * 5, 0),
    "put": lambda m, x: m.put(x, m.tensor([0, 4]), x[1, :2] * 2),
    "cholesky_solve": lambda m, x: m.cholesky_solve(x, m.linalg.cholesky(m.tensor(SPD))),
    "cholesky_solve_upper": lambda m, x: m.cholesky_solve(
        x, m.linalg.cholesky(m.tensor(SPD)).transpose(0, 1), upper=True),
    "cholesky_inverse": lambda m, x: m.cholesky_inverse(m.linalg.cholesky(x @ x.T + 3 * m.eye(
        3, dtype=m.float64))),
    "fill_diag_grad": lambda m, x: (x * 1).fill_diagonal_(0.0),
}


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_values_and_gradients_match_torch(torch, name):
    x0 = RNG.standard_normal((3, 3))
    res = []
    for m in (ember, torch):
        x = m.tensor(x0, requires_grad=True)
        y = GRAD_CASES[name](m, x)
        (y * y).sum().backward()
        res.append((y, x.grad))
    for a, b in zip(*res):
        assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_errors_match_torch(torch):
    for call in (lambda m: m.tensor(F).bitwise_and(m.tensor(F)),
                 lambda m: m.gcd(m.tensor(F), m.tensor(F)),
                 lambda m: m.zeros(3, 4, 5).fill_diagonal_(1.0),
                 lambda m: m.zeros(3).fill_diagonal_(1.0),
                 lambda m: m.zeros(2, 3, 4).H,
                 lambda m: m.tensor(F).sum_to_size(2, 4),
                 lambda m: m.tensor(F).split_with_sizes([1, 2], 1),
                 lambda m: m.tensor(F).put_(m.tensor([12]), m.tensor([1.], dtype=m.float64)),
                 lambda m: m.ones(2).pin_memory(),
                 lambda m: m.tensor([1, 2]).ldexp_(m.tensor([1, 1])),  # float into long
                 lambda m: m.tensor(F).bitwise_and_(m.tensor(J)),
                 lambda m: m.diagonal_scatter(m.zeros(3, 3), m.ones(2)),
                 lambda m: m.select_scatter(m.zeros(3, 3), m.ones(2), 0, 0)):
        same_error(torch, lambda: call(ember), lambda: call(torch))
    assert ember.ones(2).is_pinned() is False
    y = ember.ones(2, requires_grad=True).split(1)
    assert [t.output_nr for t in y] == [0, 1]
