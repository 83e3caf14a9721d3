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
