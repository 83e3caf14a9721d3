"""ember.testing (torch.testing): assert_close with torch's default tolerances and messages."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["assert_close", "make_tensor"]

# torch's defaults by dtype: (rtol, atol)
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5),
               "complex128": (1e-7, 1e-7)}


def _is_tensor(x) -> bool:
    from .._tensor import Tensor
    return isinstance(x, Tensor)


def _fail(msg, default: str, path: str):
    text = default + (f"\n\nThe failure occurred for item {path}" if path else "")
    if msg is not None:
        text = msg(text) if callable(msg) else msg
    raise AssertionError(text)


def _tolerances(dtype_name: str, rtol, atol):
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {'rtol' if rtol is None else 'atol'}.")
    if rtol is None:
        rtol, atol = _TOLERANCES.get(dtype_name, (0.0, 0.0))
    return rtol, atol


def _fmt(v) -> str:
    return repr(v.item() if hasattr(v, "item") else v)


def _compare_scalars(actual, expected, rtol, atol, equal_nan, msg, path):
    if isinstance(actual, bool) or isinstance(expected, bool):
        kind = "bool"
    elif isinstance(actual, complex) or isinstance(expected, complex):
        kind = "complex128"
    elif isinstance(actual, float) or isinstance(expected, float):
        kind = "float64"
    else:
        kind = "int64"
    rtol, atol = _tolerances(kind, rtol, atol)
    if actual == expected or (equal_nan and actual != actual and expected != expected):
        return
    diff = abs(actual - expected)
    if kind in ("bool", "int64") and rtol == 0 and atol == 0:
        _fail(msg, f"Scalars are not equal!\n\nExpected {expected} but got {actual}.\n"
                   f"Absolute difference: {diff}\nRelative difference: "
                   f"{diff / abs(expected) if expected else math.inf}", path)
    if diff <= atol + rtol * abs(expected):
        return
    rel = diff / abs(expected) if expected else math.inf
    _fail(msg, f"Scalars are not close!\n\nExpected {expected} but got {actual}.\n"
               f"Absolute difference: {diff} (up to {atol} allowed)\n"
               f"Relative difference: {rel} (up to {rtol} allowed)", path)


def _index(flat_i: int, shape) -> str:
    return str(tuple(int(i) for i in np.unravel_index(flat_i, shape))) if shape else "()"


def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_dtype, msg, path):
    if actual.shape != expected.shape:
        _fail(msg, f"The values for attribute 'shape' do not match: {actual.shape} != "
                   f"{expected.shape}.", path)
    if check_dtype and actual.dtype != expected.dtype:
        _fail(msg, f"The values for attribute 'dtype' do not match: {actual.dtype} != "
                   f"{expected.dtype}.", path)
    a = actual.detach().numpy()
    e = expected.detach().numpy()
    name = str(actual.dtype).split(".")[-1]
    if not check_dtype and actual.dtype != expected.dtype:
        name = str(np.result_type(a, e))
    rtol, atol = _tolerances(name, rtol, atol)
    a64 = a.astype(np.complex128 if np.iscomplexobj(a) or np.iscomplexobj(e) else np.float64)
    e64 = e.astype(a64.dtype)
    with np.errstate(all="ignore"):
        close = np.isclose(a64, e64, rtol=rtol, atol=atol, equal_nan=equal_nan)
        close |= a64 == e64  # equal infinities
    if close.all():
        return
    n_bad, n = int((~close).sum()), close.size
    # differences in the compared dtype, as torch takes them (float32 for float32 and integers)
    work = np.result_type(a, e)
    if work.kind in "biu":
        ad = np.abs(a.astype(np.int64) - e.astype(np.int64))
        fd = np.float32
    else:
        ad = np.abs(a.astype(work) - e.astype(work))
        fd = work
    with np.errstate(all="ignore"):
        reld = ad.astype(fd) / np.abs(e.astype(fd))
    absd = np.where(close, 0, ad)
    reld = np.where(close, 0, reld)

    def worst(d):  # torch's max: a NaN wins, at its first position
        flat = d.reshape(-1)
        nan = np.flatnonzero(np.isnan(flat)) if flat.dtype.kind == "f" else []
        i = int(nan[0]) if len(nan) else int(np.argmax(flat))
        return flat[i], i
    amax, ia = worst(absd)
    rmax, ir = worst(reld)
    exact = rtol == 0 and atol == 0
    integral = a.dtype.kind in "biu" and e.dtype.kind in "biu"
    amax = int(amax) if integral else float(amax)
    head = "Tensor-likes are not equal!" if exact else "Tensor-likes are not close!"
    text = (f"{head}\n\nMismatched elements: {n_bad} / {n} ({100 * n_bad / n:.1f}%)\n"
            f"Greatest absolute difference: {amax} at index {_index(ia, a.shape)}"
            + ("" if exact else f" (up to {atol} allowed)") +
            f"\nGreatest relative difference: {float(rmax)} at index "
            f"{_index(ir, a.shape)}" + ("" if exact else f" (up to {rtol} allowed)"))
    _fail(msg, text, path)


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol=None, atol=None,
                 equal_nan: bool = False, check_device: bool = True, check_dtype: bool = True,
                 check_layout: bool = True, check_stride: bool = False, msg=None, _path=""):
    """Assert that actual and expected (tensors, Python numbers, or sequences / mappings of
    them) are close: |actual - expected| <= atol + rtol * |expected| elementwise, with torch's
    default tolerances for the dtype (0 for integers and bools) and torch's messages."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            _fail(msg, f"The keys of the mappings do not match:\nactual: {sorted(map(str, actual))}"
                       f"\nexpected: {sorted(map(str, expected))}" if isinstance(actual, dict)
                  else f"The types do not match: {type(actual)} != {type(expected)}.", _path)
        for k in expected:
            assert_close(actual[k], expected[k], rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_dtype=check_dtype, msg=msg, _path=f"{_path}[{k!r}]")
        return
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)):
            _fail(msg, f"The types do not match: {type(actual)} != {type(expected)}.", _path)
        if len(actual) != len(expected):
            _fail(msg, f"The length of the sequences mismatch: {len(actual)} != "
                       f"{len(expected)}", _path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_dtype=check_dtype, msg=msg, _path=f"{_path}[{i}]")
        return
    if _is_tensor(expected) or _is_tensor(actual):
        if not (_is_tensor(expected) and _is_tensor(actual)):
            _fail(msg, f"The types do not match: {type(actual)} != {type(expected)}.", _path)
        if expected.dim() == 0 and actual.dim() == 0:
            if check_dtype and actual.dtype != expected.dtype:
                _fail(msg, f"The values for attribute 'dtype' do not match: {actual.dtype} != "
                           f"{expected.dtype}.", _path)
            # 0-d tensors compare as scalars, with their dtype's tolerances (0 for integers)
            r, a_ = _tolerances(str(expected.dtype).split(".")[-1], rtol, atol)
            _compare_scalars(actual.item(), expected.item(), r, a_, equal_nan, msg, _path)
            return
        _compare_tensors(actual, expected, rtol, atol, equal_nan, check_dtype, msg, _path)
        return
    if isinstance(expected, (int, float, complex, bool)):
        if not isinstance(actual, (int, float, complex, bool)):
            _fail(msg, f"The types do not match: {type(actual)} != {type(expected)}.", _path)
        _compare_scalars(actual, expected, rtol, atol, equal_nan, msg, _path)
        return
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and "
                    f"{type(expected)}.")


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad: bool = False,
                noncontiguous: bool = False, exclude_zero: bool = False, memory_format=None):
    """A tensor of `shape` with values drawn uniformly from [low, high) (torch's defaults:
    [-9, 9) for floating and signed types, [0, 10) for unsigned, {False, True} for bool)."""
    from .. import tensor as _tensor
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    np_dt = dtype.np if hasattr(dtype, "np") else np.dtype(dtype)
    rng = np.random.default_rng()
    if np_dt == np.bool_:
        a = rng.integers(0, 2, shape).astype(bool)
    elif np_dt.kind in "iu":
        lo = (0 if np_dt.kind == "u" else -9) if low is None else int(math.ceil(low))
        hi = 10 if high is None else int(math.ceil(high))
        a = rng.integers(lo, hi, shape).astype(np_dt)
    else:
        lo = -9.0 if low is None else low
        hi = 9.0 if high is None else high
        a = rng.uniform(lo, hi, shape).astype(np_dt)
    if exclude_zero:
        a[a == 0] = 1 if np_dt.kind != "f" else np.finfo(np_dt).eps
    t = _tensor(a, dtype=dtype)
    if requires_grad:
        t.requires_grad_(True)
    return t
