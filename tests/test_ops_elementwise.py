"""Elementwise ops against torch: values, dtypes, shapes, grad_fn names, gradients and errors,
including broadcasting, Python-number operands, reflected operators and non-contiguous inputs."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from helpers import assert_close, check_op, same_error

RNG = np.random.default_rng(1234)


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def positive(*shape, dtype=np.float32):
    return (RNG.uniform(0.2, 2.0, shape)).astype(dtype)


def unit(*shape, dtype=np.float32):
    return (RNG.uniform(-0.9, 0.9, shape)).astype(dtype)


UNARY = {
    "neg": (lambda L, x: -x, randn),
    "neg_fn": (lambda L, x: L.neg(x), randn),
    "abs": (lambda L, x: x.abs(), randn),
    "abs_fn": (lambda L, x: L.abs(x), randn),
    "exp": (lambda L, x: x.exp(), randn),
    "log": (lambda L, x: L.log(x), positive),
    "log1p": (lambda L, x: x.log1p(), positive),
    "sqrt": (lambda L, x: L.sqrt(x), positive),
    "rsqrt": (lambda L, x: x.rsqrt(), positive),
    "sin": (lambda L, x: L.sin(x), randn),
    "cos": (lambda L, x: x.cos(), randn),
    "tanh": (lambda L, x: L.tanh(x), randn),
    "sigmoid": (lambda L, x: x.sigmoid(), randn),
    "relu": (lambda L, x: L.relu(x), randn),
    "sign": (lambda L, x: x.sign(), randn),
    "square": (lambda L, x: x.square(), randn),
    "reciprocal": (lambda L, x: x.reciprocal(), positive),
    "clamp_both": (lambda L, x: x.clamp(-0.5, 0.5), randn),
    "clamp_min": (lambda L, x: L.clamp(x, min=0.1), randn),
    "clamp_max": (lambda L, x: x.clamp(max=-0.1), randn),
    "clamp_min_fn": (lambda L, x: x.clamp_min(0.0), randn),
    "clip": (lambda L, x: L.clip(x, -1, 1), randn),
    "pow_2": (lambda L, x: x ** 2, randn),
    "pow_3": (lambda L, x: x.pow(3), randn),
    "pow_half": (lambda L, x: x ** 0.5, positive),
    "pow_neg": (lambda L, x: L.pow(x, -1.5), positive),
    "pow_0": (lambda L, x: x ** 0, randn),
    "rpow": (lambda L, x: 2 ** x, randn),
    "rpow_float": (lambda L, x: 1.5 ** x, randn),
    "pow_scalar_base_fn": (lambda L, x: L.pow(3.0, x), randn),
}


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary(torch, name, dtype):
    fn, make = UNARY[name]
    check_op(torch, fn, make(3, 4, dtype=dtype))


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_non_contiguous(torch, name):
    fn, make = UNARY[name]
    check_op(torch, lambda L, x: fn(L, x.t()), make(4, 3))
    check_op(torch, lambda L, x: fn(L, x[:, ::2]), make(3, 6))


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid",
                                  "rsqrt", "log1p", "reciprocal"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_unary_float_ops_on_integers(torch, name, dtype):
    fn, _ = UNARY[name]
    a = np.array([[1, 2], [3, 1]]).astype(dtype)
    check_op(torch, fn, a)


@pytest.mark.parametrize("name", ["abs", "neg", "relu", "sign", "square", "clamp_both", "pow_2"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8"])
def test_unary_integer_preserving(torch, name, dtype):
    fn, _ = UNARY[name]
    a = np.array([[1, 2], [3, 0]]).astype(dtype)
    if name in ("neg", "abs", "sign", "relu") and dtype != "uint8":
        a = a - 1
    check_op(torch, fn, a)


def test_scalar_float_ops_keep_integer_out_for_clamp(torch):
    check_op(torch, lambda L, x: x.clamp(0.5, 1.5), np.array([0, 1, 2]))
    check_op(torch, lambda L, x: x.clamp(0, 1), np.array([-1, 1, 2]))


def test_special_values_without_warnings(torch):
    a = np.array([-1.0, 0.0, 1.0, np.inf, -np.inf, np.nan], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn in (lambda L, x: x.log(), lambda L, x: x.sqrt(), lambda L, x: x.rsqrt(),
                   lambda L, x: x.log1p(), lambda L, x: x.reciprocal(), lambda L, x: 1 / x,
                   lambda L, x: x / x, lambda L, x: x ** 0.5, lambda L, x: x ** -1,
                   lambda L, x: x.exp(), lambda L, x: x.sigmoid(), lambda L, x: x.tanh(),
                   lambda L, x: x / L.zeros(6), lambda L, x: x.sign(), lambda L, x: x.abs(),
                   lambda L, x: x.relu(), lambda L, x: x.clamp(-1, 1)):
            assert_close(fn(ember, ember.tensor(a)), fn(torch, torch.tensor(a)))
    big = np.array([-100.0, -30.0, 0.0, 30.0, 100.0], np.float32)
    check_op(torch, lambda L, x: x.sigmoid(), big)
    check_op(torch, lambda L, x: x.exp(), big[:4])


def test_gradients_at_kinks_match_torch(torch):
    a = np.array([-1.0, 0.0, 0.5, 1.0, 2.0], np.float32)
    check_op(torch, lambda L, x: x.relu(), a)
    check_op(torch, lambda L, x: x.abs(), a)
    check_op(torch, lambda L, x: x.clamp(0.0, 1.0), a)
    check_op(torch, lambda L, x: x.clamp(min=0.5), a)
    check_op(torch, lambda L, x: x.clamp(max=0.5), a)
    check_op(torch, lambda L, x: x.sign(), a)
    check_op(torch, lambda L, x: x ** 2, a)
    check_op(torch, lambda L, x: x ** 0.5, a[1:])
    check_op(torch, lambda L, x: x ** 1.5, a[1:])
    check_op(torch, lambda L, x: x.sqrt(), a[2:])


BINARY = {
    "add": lambda L, a, b: a + b,
    "add_fn": lambda L, a, b: L.add(a, b),
    "add_alpha": lambda L, a, b: L.add(a, b, alpha=2.5),
    "add_method_alpha": lambda L, a, b: a.add(b, alpha=-2),
    "sub": lambda L, a, b: a - b,
    "sub_fn": lambda L, a, b: L.sub(a, b),
    "sub_alpha": lambda L, a, b: a.sub(b, alpha=3),
    "mul": lambda L, a, b: a * b,
    "mul_fn": lambda L, a, b: L.mul(a, b),
    "div": lambda L, a, b: a / b,
    "div_fn": lambda L, a, b: L.div(a, b),
    "true_divide": lambda L, a, b: L.true_divide(a, b),
    "pow": lambda L, a, b: a.abs() ** b,
    "pow_fn": lambda L, a, b: L.pow(a.abs() + 0.5, b),
    "maximum": lambda L, a, b: L.maximum(a, b),
    "minimum": lambda L, a, b: L.minimum(a, b),
    "max_pair": lambda L, a, b: L.max(a, b),
    "min_pair": lambda L, a, b: L.min(a, b),
    "where": lambda L, a, b: L.where(a > b, a, b),
    "where_method": lambda L, a, b: a.where(a > 0, b),
    "clamp_tensors": lambda L, a, b: L.clamp(a, b - 0.5, b + 0.5),
    "clamp_tensor_min": lambda L, a, b: a.clamp(min=b),
    "clamp_tensor_max": lambda L, a, b: a.clamp(max=b),
}

SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
          ((4,), (2, 3, 4)), ((), (3,)), ((3, 4), ()), ((1,), (5,)), ((2, 1, 3), (4, 1))]


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shapes", SHAPES, ids=[f"{a}-{b}" for a, b in SHAPES])
def test_binary_broadcasting(torch, name, shapes):
    sa, sb = shapes
    b = randn(*sb)
    if name.startswith("div") or name == "true_divide":
        b = np.where(np.abs(b) < 0.3, 1.0, b).astype(np.float32)
    check_op(torch, BINARY[name], randn(*sa), b)


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_float64_and_non_contiguous(torch, name):
    check_op(torch, lambda L, a, b: BINARY[name](L, a.t(), b[::2]),
             positive(4, 3, dtype=np.float64), positive(6, 4, dtype=np.float64))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "maximum", "minimum"])
def test_binary_one_side_requires_grad(torch, name):
    fn = BINARY[name]
    for lib in (torch, ember):
        pass
    a, b = randn(3, 4), positive(4)

    def f(L, x):
        return fn(L, x, L.tensor(b))

    def g(L, y):
        return fn(L, L.tensor(a), y)

    check_op(torch, f, a)
    check_op(torch, g, b)


SCALAR_OPS = {
    "add": lambda x, s: x + s, "radd": lambda x, s: s + x,
    "sub": lambda x, s: x - s, "rsub": lambda x, s: s - x,
    "mul": lambda x, s: x * s, "rmul": lambda x, s: s * x,
    "div": lambda x, s: x / s, "rdiv": lambda x, s: s / x,
    "pow": lambda x, s: x ** s, "rpow": lambda x, s: s ** x,
    "floordiv": lambda x, s: x // s, "mod": lambda x, s: x % s,
    "eq": lambda x, s: x == s, "req": lambda x, s: s == x,
    "ne": lambda x, s: x != s, "lt": lambda x, s: x < s, "rlt": lambda x, s: s < x,
    "le": lambda x, s: x <= s, "gt": lambda x, s: x > s, "rgt": lambda x, s: s > x,
    "ge": lambda x, s: x >= s, "rge": lambda x, s: s >= x,
}


@pytest.mark.parametrize("name", list(SCALAR_OPS))
@pytest.mark.parametrize("scalar", [2, 2.5, -1.5])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32"])
def test_python_scalar_operands(torch, name, scalar, dtype):
    fn = SCALAR_OPS[name]
    if dtype.startswith("int"):
        a = np.array([[1, 2, 3], [4, 5, 6]], dtype)
        if name in ("pow",) and isinstance(scalar, float) or name == "rpow" and scalar < 0:
            a = a.astype(np.float32)
    else:
        a = positive(2, 3).astype(dtype)
    if name in ("floordiv", "mod"):
        check_op(torch, lambda L, x: fn(x, scalar), a, grad=False, names=False)
    else:
        check_op(torch, lambda L, x: fn(x, scalar), a)


def test_scalar_op_grad_fn_names(torch):
    """Variants torch names differently: Rsub for number - tensor, Pow 0/1/2, Mul for r-div."""
    x = randn(3)
    for fn in (lambda L, t: 2 - t, lambda L, t: t - 2, lambda L, t: 2 / t, lambda L, t: t / 2,
               lambda L, t: 2 ** t, lambda L, t: t ** 2, lambda L, t: t ** t,
               lambda L, t: L.rsub(t, 1.0), lambda L, t: t.add(1, alpha=2),
               lambda L, t: L.sub(L.tensor(1.0), t, alpha=3), lambda L, t: L.add(t, t, alpha=2),
               lambda L, t: t.sub(t[0], alpha=-1)):
        check_op(torch, fn, np.abs(x) + 0.5)


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparisons(torch, op):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], np.float32)
    b = np.array([2.0, 2.0, 2.0], np.float32)
    for fn in (lambda L, x, y: getattr(L, op)(x, y), lambda L, x, y: getattr(x, op)(y),
               lambda L, x, y: getattr(L, op)(x, 2), lambda L, x, y: getattr(x, op)(y.double()),
               lambda L, x, y: getattr(x.long(), op)(y), lambda L, x, y: getattr(x, op)(2.5)):
        e, t = check_op(torch, fn, a, b)
        assert e[0].dtype is ember.bool


def test_comparison_operators_broadcast_and_reflect(torch):
    a, b = randn(3, 1), randn(1, 4)
    for fn in (lambda L, x, y: x < y, lambda L, x, y: x >= y, lambda L, x, y: x == y,
               lambda L, x, y: 0 < x, lambda L, x, y: 0.5 >= y, lambda L, x, y: 1 == x,
               lambda L, x, y: x.t() != y.t()):
        check_op(torch, fn, a, b)


def test_logical_and_bitwise(torch):
    a = np.array([True, False, True, False])
    b = np.array([True, True, False, False])
    for fn in (lambda L, x, y: x & y, lambda L, x, y: x | y, lambda L, x, y: x ^ y,
               lambda L, x, y: ~x, lambda L, x, y: L.logical_and(x, y),
               lambda L, x, y: L.logical_or(x, y), lambda L, x, y: L.logical_not(x),
               lambda L, x, y: L.logical_xor(x, y)):
        check_op(torch, fn, a, b)
    i = np.array([1, 6, 3, 12])
    j = np.array([3, 5, 6, 10])
    for fn in (lambda L, x, y: x & y, lambda L, x, y: x | y, lambda L, x, y: x ^ y,
               lambda L, x, y: ~x, lambda L, x, y: x // y, lambda L, x, y: x % y):
        check_op(torch, fn, i, j)


def test_where_forms(torch):
    a, b = randn(3, 4), randn(4)
    check_op(torch, lambda L, x, y: L.where(x > 0, x, y), a, b)
    check_op(torch, lambda L, x, y: L.where(x > 0, x, 0.0), a, b)
    check_op(torch, lambda L, x, y: L.where(y > 0, 1.0, x), a, b)
    check_op(torch, lambda L, x, y: L.where(x > 0, x, y.double()), a, b)
    check_op(torch, lambda L, x, y: L.where(x > 0, x.long(), 2), a, b, grad=False)
    e, t = ember.tensor(a), torch.tensor(a)
    same_error(torch, lambda: ember.where(e, e, e), lambda: torch.where(t, t, t))


def test_maximum_minimum_ties_split_gradient(torch):
    a = np.array([1.0, 2.0, 3.0, 2.0], np.float32)
    b = np.array([1.0, 1.0, 3.0, 5.0], np.float32)
    check_op(torch, lambda L, x, y: L.maximum(x, y), a, b)
    check_op(torch, lambda L, x, y: L.minimum(x, y), a, b)
    check_op(torch, lambda L, x, y: L.clamp(x, y, y), a, b)


def test_mixed_dtype_binary_grads_are_cast_back(torch):
    a = randn(3, 4)
    b = randn(4).astype(np.float64)
    for fn in (lambda L, x, y: x * y, lambda L, x, y: x + y, lambda L, x, y: x / (y.abs() + 1),
               lambda L, x, y: x - y, lambda L, x, y: L.maximum(x, y)):
        check_op(torch, fn, a, b)
    check_op(torch, lambda L, x, y: x * y.to(L.float64), a, b)


@pytest.mark.parametrize("requires_grad", [False, True])  # True: the recording fast path
def test_broadcast_error_message(torch, requires_grad):
    e1 = ember.ones(2, 3, requires_grad=requires_grad)
    t1 = torch.ones(2, 3, requires_grad=requires_grad)
    e2, t2 = ember.ones(2, 4), torch.ones(2, 4)
    for op in ("__add__", "__sub__", "__mul__", "__truediv__", "__pow__", "__lt__", "__eq__"):
        ee, et = same_error(torch, lambda: getattr(e1, op)(e2), lambda: getattr(t1, op)(t2))
        assert str(ee) == str(et) == ("The size of tensor a (3) must match the size of tensor b "
                                      "(4) at non-singleton dimension 1")
    for fn in ("maximum", "minimum"):
        ee, et = same_error(torch, lambda: getattr(ember, fn)(e1, e2),
                            lambda: getattr(torch, fn)(t1, t2))
        assert str(ee) == str(et)
    ee, et = same_error(torch, lambda: ember.ones(3, 1, 5) + ember.ones(2, 4, 1),
                        lambda: torch.ones(3, 1, 5) + torch.ones(2, 4, 1))
    assert str(ee) == str(et)


def test_bad_operand_types(torch):
    e, t = ember.ones(3), torch.ones(3)
    for fn in (lambda x: x + "a", lambda x: x * None, lambda x: x - object(), lambda x: "a" * x):
        same_error(torch, lambda: fn(e), lambda: fn(t))
    same_error(torch, lambda: ember.tensor([True]) - ember.tensor([True]),
               lambda: torch.tensor([True]) - torch.tensor([True]))
    same_error(torch, lambda: -ember.tensor([True]), lambda: -torch.tensor([True]))
    same_error(torch, lambda: ember.tensor([2]) ** -1, lambda: torch.tensor([2]) ** -1)
    same_error(torch, lambda: ember.clamp(e), lambda: torch.clamp(t))
    same_error(torch, lambda: e.clamp(min="a"), lambda: t.clamp(min="a"))
    same_error(torch, lambda: ember.maximum(e, 1.0), lambda: torch.maximum(t, 1.0))
    ee, et = same_error(torch, lambda: ember.where(e > 0, e, ember.ones(4)),
                        lambda: torch.where(t > 0, t, torch.ones(4)))
    assert str(ee) == str(et)


def test_out_of_place_ops_do_not_modify_inputs(torch):
    a = randn(3, 4)
    e = ember.tensor(a)
    for fn in (lambda x: x + 1, lambda x: x.exp(), lambda x: x.clamp(0, 1), lambda x: x.relu(),
               lambda x: x * x, lambda x: -x, lambda x: x.abs(), lambda x: x.sigmoid()):
        fn(e)
        np.testing.assert_array_equal(e.numpy(), a)


ROUNDING = {
    "floor": lambda L, x, y: x.floor(), "ceil": lambda L, x, y: L.ceil(x),
    "trunc": lambda L, x, y: x.trunc(), "round": lambda L, x, y: L.round(x),
    "round_decimals": lambda L, x, y: x.round(decimals=1),
    "remainder_scalar": lambda L, x, y: x % 0.7, "remainder_neg": lambda L, x, y: x % -0.7,
    "remainder": lambda L, x, y: x.remainder(y), "fmod_scalar": lambda L, x, y: L.fmod(x, 0.7),
    "fmod": lambda L, x, y: x.fmod(y), "div_floor": lambda L, x, y: x.div(y, rounding_mode="floor"),
    "div_trunc": lambda L, x, y: L.div(x, y, rounding_mode="trunc"),
    "div_floor_scalar": lambda L, x, y: x.div(0.3, rounding_mode="floor"),
}


@pytest.mark.parametrize("name", list(ROUNDING))
def test_rounding_and_remainders(torch, name):
    """Values (negative operands included), zero gradients of the step functions, and the
    remainder/fmod gradients with respect to the divisor."""
    a = np.array([[-2.5, -1.3, -0.5, 0.4], [0.5, 1.5, 2.5, 3.7]], np.float32)
    b = np.array([0.6, -0.7, 1.1, -2.0], np.float32)
    check_op(torch, ROUNDING[name], a, b)


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_integer_rounding_division(torch, dtype):
    a = np.array([-7, -3, 0, 3, 7]).astype(dtype)
    b = np.array([2, -2, 3, -4, 5]).astype(dtype)
    for fn in (lambda L, x, y: x // y, lambda L, x, y: x % y, lambda L, x, y: L.fmod(x, y),
               lambda L, x, y: x.div(y, rounding_mode="trunc"), lambda L, x, y: x.floor(),
               lambda L, x, y: x.div(y, rounding_mode="floor"), lambda L, x, y: -7 // y,
               lambda L, x, y: x % 3):
        check_op(torch, fn, a, b, names=False)


def test_floor_divide_records_a_node_that_refuses_backward(torch):
    for lib in (ember, torch):
        x = lib.tensor([1.5, -2.5], requires_grad=True)
        y = x // 0.7
        assert y.requires_grad and type(y.grad_fn).__name__ == "NotImplemented"
    ee, et = same_error(torch, lambda: (ember.tensor([1.5], requires_grad=True) // 2).backward(),
                        lambda: (torch.tensor([1.5], requires_grad=True) // 2).backward())
    assert str(ee) == str(et)


def test_clamp_with_tensor_bounds_edges_and_grads(torch):
    # torch lists an absent bound as a (None, 0) edge: three edges whichever bounds are given
    xv = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    res = []
    for L in (torch, ember):
        x = L.tensor(xv, requires_grad=True)
        lo = L.zeros(3, requires_grad=True)
        hi = L.ones(3, requires_grad=True)
        names = []
        for y in (x.clamp(min=lo), x.clamp(max=lo), x.clamp(lo, hi), x.clamp(min=L.zeros(3), max=hi)):
            names.append([type(f).__name__ if f else None for f, _ in y.grad_fn.next_functions])
            (y * L.arange(3.0)).sum().backward()
        res.append((names, x.grad.tolist(), lo.grad.tolist(), hi.grad.tolist()))
    assert res[0] == res[1]
