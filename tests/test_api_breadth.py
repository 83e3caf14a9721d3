"""torch.finfo/iinfo, the determinism and inter-op thread switches, broadcast_tensors,
atleast_1d/2d/3d, tensordot and cumulative_trapezoid against torch."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from helpers import check_op, same_error

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("name", ["float32", "float64", "float16", "bfloat16"])
def test_finfo(torch, name):
    e, t = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    assert repr(e) == repr(t)
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(e, attr) == getattr(t, attr), attr
    assert repr(ember.finfo()) == repr(torch.finfo())
    assert ember.finfo(ember.float32) == ember.finfo()


@pytest.mark.parametrize("name", ["int64", "int32", "int16", "int8", "uint8"])
def test_iinfo(torch, name):
    e, t = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
    assert repr(e) == repr(t)
    assert (e.bits, e.max, e.min, e.dtype) == (t.bits, t.max, t.min, t.dtype)


def test_info_errors(torch):
    for fn in [lambda lib: lib.finfo(lib.int64), lambda lib: lib.iinfo(lib.float32),
               lambda lib: lib.iinfo(lib.bool)]:
        ee, te = same_error(torch, lambda: fn(ember), lambda: fn(torch))
        assert str(ee) == str(te)


def test_determinism_switches(torch):
    try:
        for lib in (torch, ember):
            assert lib.are_deterministic_algorithms_enabled() is False
            assert lib.get_deterministic_debug_mode() == 0
        for args, kw in [((True,), {}), ((True,), {"warn_only": True}), ((False,), {})]:
            for lib in (torch, ember):
                lib.use_deterministic_algorithms(*args, **kw)
            for f in ("are_deterministic_algorithms_enabled",
                      "is_deterministic_algorithms_warn_only_enabled",
                      "get_deterministic_debug_mode"):
                assert getattr(ember, f)() == getattr(torch, f)(), (args, kw, f)
        for mode in ("warn", "error", 0):
            torch.set_deterministic_debug_mode(mode)
            ember.set_deterministic_debug_mode(mode)
            assert ember.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
        assert isinstance(ember.get_num_interop_threads(), int)
        assert ember.get_num_interop_threads() >= 1
    finally:
        torch.use_deterministic_algorithms(False)
        ember.use_deterministic_algorithms(False)


def test_broadcast_tensors(torch):
    a = RNG.standard_normal((3, 1)).astype(np.float32)
    b = RNG.standard_normal((4,)).astype(np.float32)
    c = RNG.standard_normal((2, 1, 1)).astype(np.float32)
    check_op(torch, lambda lib, a, b, c: lib.broadcast_tensors(a, b, c), a, b, c, names=False)
    ee, te = same_error(torch, lambda: ember.broadcast_tensors(ember.ones(3), ember.ones(4)),
                        lambda: torch.broadcast_tensors(torch.ones(3), torch.ones(4)))
    assert str(ee) == str(te)


@pytest.mark.parametrize("fn", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast(torch, fn):
    for shape in [(), (4,), (2, 4), (2, 3, 4), (1, 2, 3, 4)]:
        x = RNG.standard_normal(shape).astype(np.float32)
        check_op(torch, lambda lib, a: getattr(lib, fn)(a), x, names=False)
        check_op(torch, lambda lib, a: getattr(lib, fn)(a, a * 2), x, names=False)
        check_op(torch, lambda lib, a: getattr(lib, fn)([a, a]), x, names=False)
    t = ember.ones(2, 3, 4)
    assert ember.atleast_3d(t) is t


@pytest.mark.parametrize("dims", [2, 1, 0, ([1, 2], [0, 1]), ([2], [0]), ([0, 2], [2, 1])])
def test_tensordot(torch, dims):
    a = RNG.standard_normal((3, 4, 5)).astype(np.float32)
    shape = {2: (4, 5, 6), 1: (5, 6), 0: (2, 3)}.get(dims, None) if isinstance(dims, int) \
        else {(1, 2): (4, 5, 6), (2,): (5, 2), (0, 2): (2, 5, 3)}[tuple(dims[0])]
    b = RNG.standard_normal(shape).astype(np.float32)
    check_op(torch, lambda lib, a, b: lib.tensordot(a, b, dims=dims), a, b, names=False,
             rtol=1e-4, atol=1e-5)
    ad = ember.tensor(a.astype(np.float64), requires_grad=True)
    bd = ember.tensor(b.astype(np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, y: ember.tensordot(x, y, dims=dims), (ad, bd))


def test_tensordot_tensor_dims_and_errors(torch):
    a = RNG.standard_normal((3, 4, 5)).astype(np.float32)
    b = RNG.standard_normal((4, 5, 6)).astype(np.float32)
    check_op(torch, lambda lib, a, b: lib.tensordot(a, b, dims=lib.tensor(2)), a, b,
             names=False, rtol=1e-4, atol=1e-5)
    check_op(torch, lambda lib, a, b: lib.tensordot(a, b, dims=lib.tensor([[1, 2], [0, 1]])),
             a, b, names=False, rtol=1e-4, atol=1e-5)
    for dims in (3, ([1], [1]), -1, ([1, 2], [0])):
        ee, te = same_error(torch, lambda: ember.tensordot(ember.tensor(a), ember.tensor(b),
                                                           dims=dims),
                            lambda: torch.tensordot(torch.tensor(a), torch.tensor(b),
                                                    dims=dims))
        assert str(ee) == str(te)


@pytest.mark.parametrize("dim", [-1, 0])
def test_cumulative_trapezoid(torch, dim):
    y = RNG.standard_normal((4, 5)).astype(np.float32)
    x1 = np.sort(RNG.uniform(0, 3, y.shape[dim])).astype(np.float32)
    check_op(torch, lambda lib, y: lib.cumulative_trapezoid(y, dim=dim), y, names=False)
    check_op(torch, lambda lib, y: lib.cumulative_trapezoid(y, dx=0.5, dim=dim), y,
             names=False)
    check_op(torch, lambda lib, y, x: lib.cumulative_trapezoid(y, x, dim=dim), y, x1,
             names=False, rtol=1e-4, atol=1e-5)
    check_op(torch, lambda lib, y: lib.cumulative_trapezoid(y), np.array([1, 2, 4]),
             names=False)
    for shape in [(2, 0), (2, 1)]:
        check_op(torch, lambda lib, y: lib.cumulative_trapezoid(y), np.ones(shape, np.float32),
                 names=False)
    yd = ember.tensor(RNG.standard_normal((3, 5)), requires_grad=True)
    xd = ember.tensor(np.sort(RNG.uniform(0, 2, 5)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda y, x: ember.cumulative_trapezoid(y, x), (yd, xd))


def test_select_ravel(torch):
    x = RNG.standard_normal((3, 4, 2)).astype(np.float32)
    for dim, idx in [(0, 1), (1, -1), (-1, 0)]:
        check_op(torch, lambda lib, a: lib.select(a, dim, idx), x)
        check_op(torch, lambda lib, a: a.select(dim, idx), x)
    check_op(torch, lambda lib, a: lib.ravel(a), x, names=False)
    check_op(torch, lambda lib, a: a.transpose(0, 2).ravel(), x, names=False)
    for fn in [lambda lib: lib.select(lib.ones(3, 4), 1, 5),
               lambda lib: lib.select(lib.ones(3, 4), 2, 0)]:
        ee, te = same_error(torch, lambda: fn(ember), lambda: fn(torch))
        if isinstance(te, IndexError) and "select" in str(te):
            assert str(ee) == str(te)


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2", "fmax", "fmin", "copysign"])
def test_binary_elementwise(torch, name):
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    b = RNG.standard_normal((3, 4)).astype(np.float32)
    a[0, :3] = [np.nan, 1.0, -np.inf]
    b[0, :3] = [2.0, np.nan, -np.inf]
    a[1, 0] = b[1, 0] = np.inf
    check_op(torch, lambda lib, x, y: getattr(lib, name)(x, y), a, b, names=False, grad=False)
    a2, b2 = RNG.standard_normal((2, 5)), RNG.standard_normal((1, 5))  # finite: gradients
    check_op(torch, lambda lib, x, y: getattr(x, name)(y), a2.astype(np.float32),
             b2.astype(np.float32), names=False)
    ad = ember.tensor(a2, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: getattr(ember, name)(x, ember.tensor(b2)), (ad,))


def test_unary_and_predicates(torch):
    x = np.array([[-1.5, -0.0, 0.0, 2.7], [np.inf, -np.inf, np.nan, 3.0]], np.float32)
    for name in ["sgn", "fix", "positive", "signbit", "isneginf", "isposinf"]:
        check_op(torch, lambda lib, a: getattr(lib, name)(a), x, names=False, grad=False)
        check_op(torch, lambda lib, a: getattr(a, name)(), x, names=False, grad=False)
    check_op(torch, lambda lib, a: lib.float_power(a, 2), np.array([2, 3]), names=False)
    check_op(torch, lambda lib, a: a.float_power(0.5), np.array([2.0, 3.0], np.float32),
             names=False)
    check_op(torch, lambda lib, a: lib.isneginf(a), np.array([1, -2]), names=False)
    check_op(torch, lambda lib, a, b: lib.isin(a, b), np.array([[1, 2], [3, 4]]),
             np.array([2, 4, 9]), names=False)
    check_op(torch, lambda lib, a, b: lib.isin(a, b, invert=True), np.array([1, 2, 3]),
             np.array([2]), names=False)
    for a in (np.array([2.0]), np.array([0]), np.array(True)):
        assert ember.is_nonzero(ember.tensor(a)) == torch.is_nonzero(torch.tensor(a))
    for fn in [lambda lib: lib.is_nonzero(lib.ones(2)), lambda lib: lib.is_nonzero(lib.ones(0)),
               lambda lib: lib.positive(lib.ones(2, dtype=lib.bool))]:
        ee, te = same_error(torch, lambda: fn(ember), lambda: fn(torch))
        assert str(ee) == str(te)
    assert ember.ones(2, 3).is_same_size(ember.zeros(2, 3))
    assert not ember.is_same_size(ember.ones(2, 3), ember.ones(3, 2))
    for dt in ("float32", "int64", "uint8", "bool"):
        assert ember.ones(1, dtype=getattr(ember, dt)).is_signed() == \
            torch.ones(1, dtype=getattr(torch, dt)).is_signed()


def test_stacking_diagflat_vdot_unravel(torch):
    a = RNG.standard_normal(3).astype(np.float32)
    m = RNG.standard_normal((3, 2)).astype(np.float32)
    check_op(torch, lambda lib, a, m: lib.column_stack([a, m, a]), a, m, names=False)
    check_op(torch, lambda lib, a: lib.dstack([a, a * 2]), a, names=False)
    check_op(torch, lambda lib, m: lib.dstack((m, m)), m, names=False)
    check_op(torch, lambda lib, a, m: lib.row_stack([a, m.t()]), a, m, names=False)
    for off in (0, 1, -2):
        check_op(torch, lambda lib, m: lib.diagflat(m, off), m, names=False)
        check_op(torch, lambda lib, m: m.diagflat(off), m, names=False)
    check_op(torch, lambda lib, a, b: lib.vdot(a, b), a, a[::-1].copy(), names=False)
    for idx, shape in [(np.array([4, 7, 0]), (3, 4)), (np.array(5), (3, 4)),
                       (np.array([[1, 23]]), (2, 3, 4)), (np.array([-1]), (3, 4))]:
        e = ember.unravel_index(ember.tensor(idx), shape)
        t = torch.unravel_index(torch.tensor(idx), shape)
        assert len(e) == len(t)
        for x, y in zip(e, t):
            assert x.dtype == ember.int64 and (x.numpy() == y.numpy()).all()


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window",
                                  "bartlett_window"])
def test_windows(torch, name):
    for n in (0, 1, 2, 5, 8):
        for periodic in (True, False):
            e = getattr(ember, name)(n, periodic)
            t = getattr(torch, name)(n, periodic)
            assert e.dtype == ember.float32 and tuple(e.shape) == tuple(t.shape)
            np.testing.assert_allclose(e.numpy(), t.numpy(), atol=1e-6)
    e = getattr(ember, name)(6, dtype=ember.float64)
    assert e.dtype == ember.float64
    np.testing.assert_allclose(e.numpy(), getattr(torch, name)(6, dtype=torch.float64).numpy(),
                               atol=1e-12)
