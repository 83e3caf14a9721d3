"""dtypes and type promotion against torch: names, aliases, attributes, promote_types, and the
full grid of operand kinds (dimensioned tensor, zero-dim tensor, Python number) for every pair of
dtypes under + - * / and comparisons."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember

NAMES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
           "int": "int32", "short": "int16"}


def _ename(d):
    return str(d).replace("ember.", "")


def _tname(d):
    return str(d).replace("torch.", "")


def test_dtype_objects_match_torch(torch):
    for name in NAMES:
        e, t = getattr(ember, name), getattr(torch, name)
        assert repr(e) == repr(t).replace("torch.", "ember.")
        assert str(e) == str(t).replace("torch.", "ember.")
        assert e.is_floating_point == t.is_floating_point, name
        assert e.is_signed == t.is_signed, name
        assert e.itemsize == t.itemsize, name
        assert e.is_complex == t.is_complex, name
    for alias, name in ALIASES.items():
        assert getattr(ember, alias) is getattr(ember, name)
        assert getattr(torch, alias) is getattr(torch, name)


def test_default_dtype_is_float32(torch):
    assert ember.get_default_dtype() is ember.float32
    assert ember.tensor([1.5]).dtype is ember.float32
    assert ember.tensor([1, 2]).dtype is ember.int64
    assert ember.tensor([True]).dtype is ember.bool
    assert ember.zeros(2).dtype is ember.float32
    assert ember.arange(3).dtype is ember.int64
    assert ember.arange(3.0).dtype is ember.float32


def test_set_default_dtype_changes_float_inference(torch):
    try:
        ember.set_default_dtype(ember.float64)
        torch.set_default_dtype(torch.float64)
        for fn in (lambda L: L.tensor([1.5]), lambda L: L.zeros(2), lambda L: L.arange(2.0),
                   lambda L: L.tensor([1, 2]) / 2, lambda L: L.tensor([1, 2]) * 2.5,
                   lambda L: L.tensor([1.0], dtype=L.float32) * 2.5):
            assert _ename(fn(ember).dtype) == _tname(fn(torch).dtype)
    finally:
        ember.set_default_dtype(ember.float32)
        torch.set_default_dtype(torch.float32)
    assert ember.get_default_dtype() is ember.float32


def test_set_default_dtype_rejects_integers(torch):
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int64)
    with pytest.raises(TypeError):
        ember.set_default_dtype(ember.int64)


def test_python_types_as_dtype_arguments(torch):
    for py in (float, int, bool):
        assert _ename(ember.zeros(2, dtype=py).dtype) == _tname(torch.zeros(2, dtype=py).dtype)
        assert _ename(ember.tensor([1, 0]).to(py).dtype) == \
            _tname(torch.tensor([1, 0]).to(py).dtype)


def test_promote_types_grid(torch):
    for a, b in itertools.product(NAMES, NAMES):
        e = ember.promote_types(getattr(ember, a), getattr(ember, b))
        t = torch.promote_types(getattr(torch, a), getattr(torch, b))
        assert _ename(e) == _tname(t), (a, b)


def _operands(L):
    """(label, factory) for every operand kind: 1-D tensor, 0-dim tensor, Python number."""
    out = []
    for name in NAMES:
        d = getattr(L, name)
        vals = [True, True, True] if name == "bool" else [1, 2, 3]
        out.append((f"tensor[{name}]", lambda d=d, v=vals: L.tensor(v, dtype=d)))
        out.append((f"0dim[{name}]", lambda d=d, v=vals: L.tensor(v[1], dtype=d)))
    for s in (True, 2, 2.5):
        out.append((f"py[{type(s).__name__}]", lambda s=s: s))
    return out


BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
          "/": lambda a, b: a / b, "==": lambda a, b: a == b, "<": lambda a, b: a < b,
          ">=": lambda a, b: a >= b}


def _run(fn, *args):
    try:
        return fn(*args), None
    except Exception as ex:  # noqa: BLE001  (the exception type is what is compared)
        return None, ex


@pytest.mark.parametrize("op", list(BINARY))
def test_binary_promotion_grid(torch, op):
    """Every pair of operand kinds and dtypes: same result dtype, values, or exception type."""
    fn = BINARY[op]
    bad = []
    ops_e, ops_t = _operands(ember), _operands(torch)
    n = 0
    for (la, ea), (_, ta) in zip(ops_e, ops_t):
        for (lb, eb), (_, tb) in zip(ops_e, ops_t):
            if la.startswith("py") and lb.startswith("py"):
                continue
            n += 1
            rt, et = _run(fn, ta(), tb())
            re, ee = _run(fn, ea(), eb())
            case = f"{la} {op} {lb}"
            if et is not None or ee is not None:
                if et is None or ee is None or type(ee).__name__ != type(et).__name__:
                    bad.append(f"{case}: torch {et!r} vs ember {ee!r}")
                continue
            if _ename(re.dtype) != _tname(rt.dtype):
                bad.append(f"{case}: torch {rt.dtype} vs ember {re.dtype}")
            elif tuple(re.shape) != tuple(rt.shape):
                bad.append(f"{case}: shape {tuple(rt.shape)} vs {tuple(re.shape)}")
            elif not np.allclose(re.numpy().astype(np.float64), rt.numpy().astype(np.float64),
                                 rtol=1e-3):
                bad.append(f"{case}: values {rt.tolist()} vs {re.tolist()}")
    assert n == 21 * 21 - 9
    assert not bad, "\n".join(bad[:40])


def test_result_type_grid(torch):
    bad = []
    for (la, ea), (_, ta) in zip(_operands(ember), _operands(torch)):
        for (lb, eb), (_, tb) in zip(_operands(ember), _operands(torch)):
            e = ember.result_type(ea(), eb())
            t = torch.result_type(ta(), tb())
            if _ename(e) != _tname(t):
                bad.append(f"{la}, {lb}: torch {t} vs ember {e}")
    assert not bad, "\n".join(bad[:40])


def test_python_float_keeps_float32_and_float16(torch):
    for name in ("float32", "float16"):
        e = ember.ones(3, dtype=getattr(ember, name))
        assert (e * 0.1).dtype is getattr(ember, name)
        assert (0.1 + e).dtype is getattr(ember, name)
        assert (e / 3.0).dtype is getattr(ember, name)


def test_integer_literals_and_int_division(torch):
    assert ember.tensor(3).dtype is ember.int64
    assert ember.tensor([1, 2], dtype=ember.int32).__add__(5).dtype is ember.int32
    assert (ember.tensor([1, 2]) / ember.tensor([2, 4])).dtype is ember.float32
    assert (ember.tensor([1, 2], dtype=ember.uint8) / 2).tolist() == [0.5, 1.0]
    # a zero-dim tensor of a higher category decides the dtype; of the same category it does not
    e = ember.tensor([1, 2], dtype=ember.int32) + ember.tensor(1.5, dtype=ember.float64)
    t = torch.tensor([1, 2], dtype=torch.int32) + torch.tensor(1.5, dtype=torch.float64)
    assert _ename(e.dtype) == _tname(t.dtype)
    e = ember.tensor([1, 2], dtype=ember.int32) + ember.tensor(1, dtype=ember.int64)
    assert e.dtype is ember.int32
    e = ember.tensor([1.0], dtype=ember.float32) + ember.tensor(1.5, dtype=ember.float64)
    assert e.dtype is ember.float32


def test_integer_overflow_wraps_like_torch(torch):
    for name in ("uint8", "int8", "int16"):
        e = ember.tensor([1, 100], dtype=getattr(ember, name))
        t = torch.tensor([1, 100], dtype=getattr(torch, name))
        for fn in (lambda a: a - 2, lambda a: a * 3, lambda a: a + 300):
            re, rt = fn(e), fn(t)
            assert _ename(re.dtype) == _tname(rt.dtype)
            assert re.tolist() == rt.tolist(), (name, re.tolist(), rt.tolist())


def test_casts_between_all_dtypes(torch):
    vals = [-2.5, -1.0, 0.0, 0.5, 1.0, 3.75, 100.0]
    for src, dst in itertools.product(NAMES, NAMES):
        if src in ("uint8", "bool") or dst in ("uint8",):
            v = [abs(x) for x in vals]
        else:
            v = vals
        e = ember.tensor(v).to(getattr(ember, src)).to(getattr(ember, dst))
        t = torch.tensor(v).to(getattr(torch, src)).to(getattr(torch, dst))
        assert _ename(e.dtype) == _tname(t.dtype)
        assert e.tolist() == t.tolist(), (src, dst, e.tolist(), t.tolist())


def test_bfloat16_loads_ml_dtypes_on_first_use_only():
    # ml_dtypes' extension costs ~0.6 s at import (issue 15: `import ember` <= 0.25 s), so ember
    # loads it when bfloat16 is first used; everything about bfloat16 must still work after that.
    import subprocess
    import sys
    code = ("import sys, ember\n"
            "assert 'ml_dtypes' not in sys.modules, 'import ember loaded ml_dtypes'\n"
            "x = ember.ones(3).sum()\n"
            "assert ember.bfloat16.is_floating_point and 'ml_dtypes' not in sys.modules\n"
            "y = ember.tensor([1.5, 2.0]).to(ember.bfloat16)\n"
            "assert 'ml_dtypes' in sys.modules and y.dtype is ember.bfloat16\n"
            "assert y.is_floating_point() and (y * 2).dtype is ember.bfloat16\n"
            "print(repr(y))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "tensor([1.5000, 2.0000], dtype=ember.bfloat16)"
