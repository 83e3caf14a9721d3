"""The wider Tensor API (issue 12 item 1): functions, Tensor methods and in-place forms against
torch (values, dtypes, shapes, grad_fn names, gradients, errors), and float64 gradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck

from helpers import assert_close, check_op, same_error

RNG = np.random.default_rng(2)
X = RNG.standard_normal((3, 4)).astype(np.float32)
Y = RNG.standard_normal((3, 4)).astype(np.float32)
U = RNG.uniform(-0.9, 0.9, (3, 4)).astype(np.float32)
G = RNG.uniform(1.1, 3.0, (3, 4)).astype(np.float32)
B = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)

# name -> (function of (lib, *tensors), inputs)
UNARY = {
    "tan": (lambda L, a: L.tan(a), (U,)), "sinh": (lambda L, a: L.sinh(a), (X,)),
    "cosh": (lambda L, a: L.cosh(a), (X,)), "asin": (lambda L, a: L.asin(a), (U,)),
    "acos": (lambda L, a: L.acos(a), (U,)), "atan": (lambda L, a: L.atan(a), (X,)),
    "asinh": (lambda L, a: L.asinh(a), (X,)), "acosh": (lambda L, a: L.acosh(a), (G,)),
    "atanh": (lambda L, a: L.atanh(a), (U,)), "arcsin": (lambda L, a: L.arcsin(a), (U,)),
    "arccos": (lambda L, a: L.arccos(a), (U,)), "arctan": (lambda L, a: L.arctan(a), (X,)),
    "arcsinh": (lambda L, a: L.arcsinh(a), (X,)), "arccosh": (lambda L, a: L.arccosh(a), (G,)),
    "arctanh": (lambda L, a: L.arctanh(a), (U,)), "log10": (lambda L, a: L.log10(a), (G,)),
    "deg2rad": (lambda L, a: L.deg2rad(a), (X,)), "rad2deg": (lambda L, a: L.rad2deg(a), (X,)),
    "frac": (lambda L, a: L.frac(a * 3), (X,)),
    "Tensor.tan": (lambda L, a: a.tan() + a.arctan() + a.arcsinh(), (U,)),
    "Tensor.sinh": (lambda L, a: a.sinh() + a.cosh() + a.asinh() + a.atan(), (X,)),
    "Tensor.acos": (lambda L, a: a.acos() + a.asin() + a.atanh() + a.arccos(), (U,)),
    "Tensor.log10": (lambda L, a: a.log10() + a.acosh() + a.frac(), (G,)),
    "atan2": (lambda L, a, b: L.atan2(a, b) + a.atan2(b) + L.arctan2(a, b), (X, Y)),
    "atan2_bcast": (lambda L, a, b: L.atan2(a, b[:1]), (X, Y)),
    "hypot": (lambda L, a, b: L.hypot(a, b) + a.hypot(b), (X, Y)),
    "lerp_scalar": (lambda L, a, b: L.lerp(a, b, 0.3) + a.lerp(b, 2.0), (X, Y)),
    "lerp_tensor": (lambda L, a, b, w: L.lerp(a, b, w), (X, Y, U)),
    "addcmul": (lambda L, a, b, c: L.addcmul(a, b, c, value=0.5) + a.addcmul(b, c), (X, Y, U)),
    "addcdiv": (lambda L, a, b, c: L.addcdiv(a, b, c, value=-2) + a.addcdiv(b, c), (X, Y, G)),
    "tril": (lambda L, a: L.tril(a) + L.tril(a, -1) + a.tril(2), (X,)),
    "triu": (lambda L, a: L.triu(a) + L.triu(a, 1) + a.triu(-1), (X,)),
    "tril_batched": (lambda L, a: L.tril(a, 1), (B,)),
    "triu_batched": (lambda L, a: a.triu(-2), (B,)),
    "diagonal": (lambda L, a: L.diagonal(a) * 2 + a.diagonal(1).sum(), (X,)),
    "diagonal_dims": (lambda L, a: L.diagonal(a, -1, 1, 3), (B,)),
    "diag_vec": (lambda L, a: L.diag(a[0]) + L.diag(a[1], 0), (X,)),
    "diag_vec_offset": (lambda L, a: L.diag(a[0], -2), (X,)),
    "diag_mat": (lambda L, a: L.diag(a) + a.diag(1)[:1].sum(), (X,)),
    "diag_embed": (lambda L, a: L.diag_embed(a), (B,)),
    "diag_embed_offset": (lambda L, a: L.diag_embed(a, 1, 0, 2), (X,)),
    "trace": (lambda L, a: L.trace(a) + a.trace(), (X,)),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_matches_torch(torch, name):
    fn, inputs = UNARY[name]
    check_op(torch, fn, *inputs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", [n for n in UNARY if not n.startswith("Tensor.")])
def test_gradcheck_float64(name):
    fn, inputs = UNARY[name]
    args = [ember.tensor(a[..., :3] if a.ndim == 4 else a, dtype=ember.float64,
                         requires_grad=True) for a in inputs]
    assert gradcheck(lambda *xs: fn(ember, *xs), tuple(args))


INPLACE = ["tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "atanh", "arcsin",
           "arccos", "arctan", "arcsinh", "arctanh", "log10", "deg2rad", "rad2deg", "frac"]


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_unary(torch, name):
    e, t = ember.tensor(U), torch.tensor(U)
    assert getattr(e, name + "_")() is e
    getattr(t, name + "_")()
    assert_close(e, t)


def test_inplace_binary_and_ternary(torch):
    for name, args in [("atan2_", (Y,)), ("hypot_", (Y,)), ("lerp_", (Y, 0.25)),
                       ("addcmul_", (Y, U)), ("addcdiv_", (Y, G)), ("tril_", (-1,)),
                       ("triu_", (1,)), ("arccosh_", ())]:
        base = G if name == "arccosh_" else X
        e, t = ember.tensor(base), torch.tensor(base)
        ea = [ember.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        ta = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        getattr(e, name)(*ea)
        getattr(t, name)(*ta)
        assert_close(e, t)
    e, t = ember.tensor(X), torch.tensor(X)
    e.addcmul_(ember.tensor(Y), ember.tensor(U), value=3)
    t.addcmul_(torch.tensor(Y), torch.tensor(U), value=3)
    assert_close(e, t)


def test_tri_indices(torch):
    for args in [(3, 3), (4, 3, 1), (3, 5, -1), (0, 0)]:
        assert_close(ember.tril_indices(*args), torch.tril_indices(*args))
        assert_close(ember.triu_indices(*args), torch.triu_indices(*args))
    assert_close(ember.tril_indices(3, 3, dtype=ember.int32),
                 torch.tril_indices(3, 3, dtype=torch.int32))


def test_integer_inputs(torch):
    i = np.array([[1, 2], [3, 4]])
    for fn in (lambda L, a: L.tan(a), lambda L, a: L.atan(a), lambda L, a: L.log10(a),
               lambda L, a: L.tril(a), lambda L, a: L.trace(a), lambda L, a: L.diag(a),
               lambda L, a: L.atan2(a, a), lambda L, a: L.deg2rad(a)):
        assert_close(fn(ember, ember.tensor(i)), fn(torch, torch.tensor(i)))


ERRORS = [
    ("tril 1-D", lambda L: L.tril(L.ones(3))),
    ("trace 3-D", lambda L: L.trace(L.ones(2, 2, 2))),
    ("diag 3-D", lambda L: L.diag(L.ones(2, 2, 2))),
    ("diagonal same dims", lambda L: L.diagonal(L.ones(2, 2), 0, 1, 1)),
    ("atan2 shapes", lambda L: L.atan2(L.ones(2, 3), L.ones(4))),
    ("lerp dtype", lambda L: L.lerp(L.ones(2), L.ones(2, dtype=L.float64), 0.5)),
    ("frac int", lambda L: L.frac(L.ones(2, dtype=L.int64))),
    ("addcdiv int", lambda L: L.addcdiv(L.ones(2), L.ones(2, dtype=L.int64),
                                        L.ones(2, dtype=L.int64))),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors(torch, case):
    same_error(torch, lambda: case[1](ember), lambda: case[1](torch))
