"""Tensor printing: repr/str strings compared character for character with torch's.

The same NumPy values become an ember and a torch tensor; torch's string with "torch." replaced
by "ember." must equal ember's.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ember
from ember import _printing

SHAPES = [(), (1,), (5,), (0,), (0, 3), (2, 0, 4), (3, 4), (2, 3, 4), (2, 2, 2, 3), (999,), (1000,),
          (1001,), (10, 100), (10, 101), (7, 143), (3, 4, 100), (2, 3, 4, 50), (30,), (3, 25),
          (1, 1001), (6, 6, 6, 6), (13, 1), (4, 5, 1), (40, 40)]

FLOAT_KINDS = ["normal", "integral", "mixed", "special", "tiny", "big", "zeros", "nan", "near"]
DTYPE_KINDS = {"float32": FLOAT_KINDS, "float64": FLOAT_KINDS,
               "float16": ["normal", "integral", "special", "tiny", "zeros", "near"],
               "int64": ["ints"], "int32": ["ints"], "int16": ["ints"], "int8": ["bytes"],
               "uint8": ["bytes"], "bool": ["bool"]}


def _values(rng, kind: str, shape: tuple) -> np.ndarray:
    """float64/int64/bool values of one kind: the cases torch's formatter tells apart."""
    n = math.prod(shape)
    if kind == "normal":
        v = rng.standard_normal(n)
    elif kind == "integral":  # integer mode, and past 1e8 or a ratio of 1000 scientific
        v = np.round(rng.standard_normal(n) * 10.0 ** rng.integers(0, 10))
    elif kind == "mixed":
        v = rng.standard_normal(n) * 10.0 ** rng.uniform(-9, 11, n)
    elif kind == "special":
        v = rng.standard_normal(n) * 10.0 ** rng.integers(-5, 5)
        m = rng.random(n)
        v[m < 0.1] = np.nan
        v[(m >= 0.1) & (m < 0.2)] = np.inf
        v[(m >= 0.2) & (m < 0.3)] = -np.inf
        v[(m >= 0.3) & (m < 0.4)] = 0.0
    elif kind == "tiny":
        v = rng.standard_normal(n) * 1e-5
    elif kind == "big":
        v = rng.standard_normal(n) * 1e9
    elif kind == "zeros":  # with negative zeros
        v = np.zeros(n) * rng.choice([1.0, -1.0], n)
    elif kind == "nan":
        v = np.full(n, np.nan)
    elif kind == "near":  # around the 1e-4 switch and rounding boundaries
        v = np.round(rng.standard_normal(n), 4) + rng.choice([0.0, 5e-5, -5e-5, 1e-4], n)
    elif kind == "ints":
        hi = 10 ** int(rng.integers(1, 12))
        v = rng.integers(-hi, hi, n)
    elif kind == "bytes":
        v = rng.integers(0, 256, n)
    else:
        v = rng.random(n) < 0.5
    return v.reshape(shape)


def _array(rng, dtype: str, kind: str, shape: tuple) -> np.ndarray:
    v = _values(rng, kind, shape)
    if dtype in ("int32", "int16"):
        v = np.clip(v, np.iinfo(dtype).min, np.iinfo(dtype).max)
    elif dtype == "int8":
        v = v - 128
    with np.errstate(all="ignore"):
        return v.astype(dtype)


def _torch_str(t) -> str:
    return repr(t).replace("torch.", "ember.")


def _assert_same(torch, a: np.ndarray, requires_grad: bool = False, op=None):
    """repr and str of tensors made of `a` (optionally through `op`) agree with torch."""
    e = ember.tensor(a.copy(), requires_grad=requires_grad)
    t = torch.tensor(a.copy(), requires_grad=requires_grad)
    if op is not None:
        e, t = op(e), op(t)
    expected = _torch_str(t)
    assert repr(e) == expected, f"\nember: {repr(e)}\ntorch: {expected}"
    assert str(e) == expected
    return repr(e)


def _set_both(torch, **kwargs):
    torch.set_printoptions(**kwargs)
    ember.set_printoptions(**kwargs)


@pytest.fixture(autouse=True)
def _default_printoptions(torch):
    yield
    _set_both(torch, profile="default")


# --- the seed lessons -----------------------------------------------------------------------

def test_seed_lesson_strings(torch):
    x = ember.tensor([[0.7652, -1.4550], [-1.2232, 0.1810]], requires_grad=True)
    assert repr(x) == ("tensor([[ 0.7652, -1.4550],\n"
                       "        [-1.2232,  0.1810]], requires_grad=True)")
    y = x ** 2
    assert repr(y) == ("tensor([[0.5855, 2.1170],\n"
                       "        [1.4962, 0.0328]], grad_fn=<PowBackward0>)")
    z = y.mean()
    assert repr(z) == "tensor(1.0579, grad_fn=<MeanBackward0>)"
    assert repr(ember.tensor(2.2810)) == "tensor(2.2810)"
    assert repr(ember.tensor(0.8979)) == "tensor(0.8979)"
    tx = torch.tensor([[0.7652, -1.4550], [-1.2232, 0.1810]], requires_grad=True)
    ty = tx ** 2
    assert [repr(x), repr(y), repr(z)] == [repr(tx), repr(ty), repr(ty.mean())]


def test_seed_gradient_summary(torch):
    # a 128x784 first-layer gradient: constant rows, as in the lesson's output
    rng = np.random.default_rng(0)
    rows = np.round(rng.standard_normal(128) * 0.003, 4)
    rows[:2] = [0.0028, -0.0016]
    a = np.repeat(rows[:, None], 784, axis=1).astype(np.float32)
    text = _assert_same(torch, a)
    assert text.startswith(
        "tensor([[ 0.0028,  0.0028,  0.0028,  ...,  0.0028,  0.0028,  0.0028],\n"
        "        [-0.0016, -0.0016, -0.0016,  ..., -0.0016, -0.0016, -0.0016],\n")
    assert text.count("\n") == 6 and "        ...,\n" in text


# --- differential grids ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_grid_against_torch(torch, shape):
    rng = np.random.default_rng(abs(hash(shape)) % 2 ** 32)
    for dtype, kinds in DTYPE_KINDS.items():
        for kind in kinds:
            _assert_same(torch, _array(rng, dtype, kind, shape))


@pytest.mark.parametrize("shape", [(), (8,), (3, 9), (2, 2, 5), (1001,)], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_autograd_suffixes(torch, shape, dtype):
    # requires_grad=True on leaves, grad_fn on results; both wrap after dtype= like torch
    rng = np.random.default_rng(1)
    for kind in ("normal", "integral", "mixed"):
        a = _array(rng, dtype, kind, shape)
        _assert_same(torch, a, requires_grad=True)
        _assert_same(torch, a, requires_grad=True, op=lambda x: x * 2)
        _assert_same(torch, a, requires_grad=True, op=lambda x: -x)


OPTIONS = ([dict(precision=p) for p in (0, 1, 2, 6, 8)]
           + [dict(threshold=th) for th in (5, 100, math.inf)]
           + [dict(edgeitems=ed, threshold=20) for ed in (0, 1, 2, 5)]
           + [dict(linewidth=lw) for lw in (10, 20, 40, 120)]
           + [dict(sci_mode=s) for s in (True, False)]
           + [dict(profile=p) for p in ("short", "full", "default")]
           + [dict(profile="short", precision=6, sci_mode=False), dict(edgeitems=0),
              dict(edgeitems=0, threshold=1)])


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_printoptions_against_torch(torch, options):
    _set_both(torch, **options)
    assert _printing.get_printoptions() == torch._tensor_str.get_printoptions()
    rng = np.random.default_rng(len(str(options)))
    for shape in SHAPES:
        if math.prod(shape) > 1100 and options.get("threshold") == math.inf:
            continue  # keep the full profile quick
        for dtype, kinds in DTYPE_KINDS.items():
            kind = kinds[rng.integers(len(kinds))]
            _assert_same(torch, _array(rng, dtype, kind, shape))


_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.floats(-1e3, 1e3, width=32),
    st.integers(-1000, 1000).map(float),
    st.sampled_from([0.0, -0.0, 1e-4, -1e-4, 9.99995e-5, 1e8, 1.00000001e8, 0.5, 1.5, 2.5]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=hnp.arrays(st.sampled_from([np.float32, np.float64]),
                    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
                    elements=_floats))
def test_hypothesis_floats(torch, a):
    _assert_same(torch, a)


@settings(max_examples=100, deadline=None)
@given(a=hnp.arrays(st.sampled_from([np.int64, np.int32, np.int8, np.uint8, np.bool_]),
                    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=12)))
def test_hypothesis_ints(torch, a):
    _assert_same(torch, a)


# --- particular cases -----------------------------------------------------------------------

def test_literal_strings():
    cases = [
        (ember.tensor([1., 2.]), "tensor([1., 2.])"),
        (ember.tensor([]), "tensor([])"),
        (ember.zeros(0, 3), "tensor([], size=(0, 3))"),
        (ember.tensor([1, 2, 3]), "tensor([1, 2, 3])"),
        (ember.tensor([True, False]), "tensor([ True, False])"),
        (ember.tensor(2, dtype=ember.int32), "tensor(2, dtype=ember.int32)"),
        (ember.tensor([1e-5, 1.]), "tensor([1.0000e-05, 1.0000e+00])"),
        (ember.tensor([float("nan"), 1., -float("inf")]), "tensor([nan, 1., -inf])"),
        (ember.tensor([1., 2.], dtype=ember.float64), "tensor([1., 2.], dtype=ember.float64)"),
        (ember.tensor([], dtype=ember.int64), "tensor([], dtype=ember.int64)"),
    ]
    for t, expected in cases:
        assert repr(t) == expected


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16",
                                   "int8", "uint8", "bool"])
def test_empty_and_scalar_dtypes(torch, dtype):
    for shape in [(0,), (0, 3), (3, 0), (2, 0, 1), ()]:
        _assert_same(torch, np.zeros(shape, dtype=dtype))
    _assert_same(torch, np.array(7).astype(dtype))


def test_noncontiguous_views(torch):
    a = np.random.default_rng(3).standard_normal((6, 40)).astype(np.float32)
    e, t = ember.tensor(a), torch.tensor(a)
    for f in (lambda x: x.t(), lambda x: x[:, ::3], lambda x: x[::-1] if x is a else x.flip(0),
              lambda x: x.reshape(2, 3, 40).transpose(0, 2)):
        assert repr(f(e)) == _torch_str(f(t))


def test_default_dtype_float64(torch):
    a = np.array([[1.5, 2.25], [3.0, -4.0]], dtype=np.float32)
    try:
        torch.set_default_dtype(torch.float64)
        ember.set_default_dtype(ember.float64)
        _assert_same(torch, a)
        _assert_same(torch, a.astype(np.float64))
        _assert_same(torch, np.zeros((0, 2), np.float32))
        _assert_same(torch, np.zeros((0,), np.float64))
    finally:
        torch.set_default_dtype(torch.float32)
        ember.set_default_dtype(ember.float32)


def test_parameter_repr(torch):
    a = np.random.default_rng(4).standard_normal((3, 5)).astype(np.float32)
    p = ember.nn.Parameter(ember.tensor(a))
    assert repr(p) == _torch_str(torch.nn.Parameter(torch.tensor(a)))
    assert repr(p).startswith("Parameter containing:\ntensor([[")


def test_tensor_contents_and_format(torch):
    a = np.array([[1.5, -2.0]], dtype=np.float64)
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    assert e.__repr__(tensor_contents="[...]") == t.__repr__(tensor_contents="[...]").replace("torch.", "ember.")
    s = ember.tensor(2.28104)
    assert f"{s}" == "2.2810399532318115" == f"{torch.tensor(2.28104)}"
    assert f"{s:.2f}" == "2.28"
    assert f"{e}" == str(e)


def test_grad_fn_repr():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x ** 2
    assert re.fullmatch(r"<PowBackward0 object at 0x[0-9a-f]+>", repr(y.grad_fn))
    assert re.fullmatch(r"<MeanBackward0 object at 0x[0-9a-f]+>", repr(y.mean().grad_fn))


def test_set_printoptions_state(torch):
    calls = [dict(sci_mode=True), dict(precision=2), dict(profile="short"),
             dict(profile="full", linewidth=100), dict(profile="nonexistent"),
             dict(threshold=10, edgeitems=1), dict(profile="default")]
    for kwargs in calls:
        _set_both(torch, **kwargs)
        assert _printing.get_printoptions() == torch._tensor_str.get_printoptions()
    # sci_mode is reset by any call that does not pass it, as in torch
    ember.set_printoptions(sci_mode=True)
    assert repr(ember.tensor([2.0])) == "tensor([2.0000e+00])"
    ember.set_printoptions(precision=4)
    assert repr(ember.tensor([2.0])) == "tensor([2.])"
    with _printing.printoptions(precision=2):
        assert repr(ember.tensor([1.2345])) == "tensor([1.23])"
    assert repr(ember.tensor([1.2345])) == "tensor([1.2345])"
    assert ember.set_printoptions is _printing.set_printoptions


def test_large_repr_formats_only_shown_elements(monkeypatch):
    a = np.random.default_rng(5).standard_normal((784, 128)).astype(np.float32)
    t = ember.tensor(a)
    calls = []
    original = _printing._Formatter.format
    monkeypatch.setattr(_printing._Formatter, "format",
                        lambda self, v: calls.append(v) or original(self, v))
    text = repr(t)
    assert len(calls) == 36 and text.count("...") == 7
    monkeypatch.undo()
    import time
    start = time.perf_counter()
    for _ in range(20):
        repr(t)
    assert (time.perf_counter() - start) / 20 < 0.02
