"""Property test: random nested state (dtypes, views, shared storages, 0-dim, empty,
non-contiguous) saved by ember reads back identically in torch and in ember, and saved by torch
reads back identically in ember — values, dtypes, shapes, strides, storage offsets and which
tensors share a storage."""
from __future__ import annotations

import collections
import io

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import ember

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


@st.composite
def views(draw, ndim):
    """A chain of view operations valid for a tensor of `ndim` dimensions."""
    ops = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["slice", "select", "t", "unsqueeze"]))
        if kind in ("slice", "select") and ndim == 0:
            continue
        if kind == "t" and ndim != 2:
            continue
        if kind == "slice":
            ops.append(("slice", draw(st.integers(0, ndim - 1)), draw(st.integers(0, 2)),
                        draw(st.integers(1, 3))))
        elif kind == "select":
            ops.append(("select", draw(st.integers(0, ndim - 1)), draw(st.integers(0, 3))))
            ndim -= 1
        elif kind == "t":
            ops.append(("t",))
        else:
            ops.append(("unsqueeze", draw(st.integers(0, ndim))))
            ndim += 1
    return ops


@st.composite
def bases(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    seed = draw(st.integers(0, 2**16))
    return dtype, shape, seed


@st.composite
def states(draw):
    """(bases, tree): bases are arrays; leaves refer to a base and a view chain into it."""
    base_list = draw(st.lists(bases(), min_size=1, max_size=3))

    def leaf():
        return st.integers(0, len(base_list) - 1).flatmap(
            lambda b: views(len(base_list[b][1])).map(lambda v: ("tensor", b, v)))

    prim = st.one_of(st.integers(-2**40, 2**40), st.floats(allow_nan=False), st.text(max_size=5),
                     st.none(), st.booleans())
    tree = st.recursive(
        st.one_of(leaf(), prim.map(lambda p: ("prim", p))),
        lambda kids: st.one_of(
            st.dictionaries(st.text(min_size=1, max_size=4), kids, max_size=4).map(
                lambda d: ("dict", d)),
            st.dictionaries(st.text(min_size=1, max_size=4), kids, max_size=4).map(
                lambda d: ("odict", d)),
            st.lists(kids, max_size=4).map(lambda xs: ("list", xs)),
            st.lists(kids, max_size=3).map(lambda xs: ("tuple", xs))),
        max_leaves=8)
    return base_list, draw(tree)


def _array(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.startswith("float"):
        return (rng.standard_normal(shape) * 10).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def _apply(t, ops):
    for op in ops:
        if op[0] == "slice":
            _, dim, start, step = op
            index = [slice(None)] * t.dim()
            index[dim] = slice(min(start, t.shape[dim]), None, step)
            t = t[tuple(index)]
        elif op[0] == "select":
            _, dim, i = op
            if t.shape[dim] == 0:
                continue
            index = [slice(None)] * t.dim()
            index[dim] = i % t.shape[dim]
            t = t[tuple(index)]
        elif op[0] == "t":
            if t.dim() == 2:  # a select skipped above on an empty dim keeps a dimension
                t = t.t()
        else:
            t = t.unsqueeze(op[1])
    return t


def build(lib, plan):
    base_list, tree = plan
    if lib is ember:
        bases_ = [ember.from_numpy(np.asarray(_array(*b))) for b in base_list]
    else:
        bases_ = [lib.from_numpy(np.asarray(_array(*b))) for b in base_list]
    leaves = []

    def make(node):
        kind, value = node[0], node[1:]
        if kind == "tensor":
            t = _apply(bases_[value[0]], value[1])
            leaves.append((value[0], t))
            return t
        if kind == "prim":
            return value[0]
        if kind == "dict":
            return {k: make(v) for k, v in value[0].items()}
        if kind == "odict":
            return collections.OrderedDict((k, make(v)) for k, v in value[0].items())
        if kind == "list":
            return [make(v) for v in value[0]]
        return tuple(make(v) for v in value[0])

    return make(tree)


def _leaves(obj, out):
    if hasattr(obj, "stride") and hasattr(obj, "dtype"):
        out.append(obj)
    elif isinstance(obj, dict):
        for k in obj:
            _leaves(obj[k], out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _leaves(v, out)
    return out


def _same_structure(a, b):
    if hasattr(a, "stride") and hasattr(a, "dtype"):
        assert hasattr(b, "stride") and str(a.dtype).split(".")[1] == str(b.dtype).split(".")[1]
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(np.asarray(a.numpy()), np.asarray(b.numpy()))
        if a.numel() > 0:
            assert tuple(a.stride()) == tuple(b.stride())
            assert a.storage_offset() == b.storage_offset()
        return
    assert type(a).__name__ == type(b).__name__ or (isinstance(a, dict) and isinstance(b, dict))
    if isinstance(a, dict):
        assert list(a) == list(b) and type(a) is type(b)
        for k in a:
            _same_structure(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same_structure(x, y)
    else:
        assert a == b or (a != a and b != b)


def _storage_groups(tensors, key):
    """Partition of the non-empty tensors by the storage they live in."""
    groups = collections.defaultdict(list)
    for i, t in enumerate(tensors):
        if t.numel():
            groups[key(t)].append(i)
    return sorted(groups.values())


def _ember_root(t):
    a = t._data
    while isinstance(a.base, np.ndarray):
        a = a.base
    return id(a)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=states())
def test_random_state_roundtrips_between_ember_and_torch(torch, plan):
    original = build(ember, plan)
    buf = io.BytesIO()
    ember.save(original, buf)
    from_torch = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
    from_ember = ember.load(io.BytesIO(buf.getvalue()))
    _same_structure(original, from_ember)
    _same_structure(original, from_torch)
    groups = _storage_groups(_leaves(original, []), _ember_root)
    assert _storage_groups(_leaves(from_ember, []), _ember_root) == groups
    assert _storage_groups(_leaves(from_torch, []),
                           lambda t: t.untyped_storage().data_ptr()) == groups

    # and the other way: torch writes, ember reads (then re-saves for torch once more)
    tstate = build(torch, plan)
    tbuf = io.BytesIO()
    torch.save(tstate, tbuf)
    back = ember.load(io.BytesIO(tbuf.getvalue()))
    _same_structure(tstate, back)
    tgroups = _storage_groups(_leaves(tstate, []), lambda t: t.untyped_storage().data_ptr())
    assert _storage_groups(_leaves(back, []), _ember_root) == tgroups
    again = io.BytesIO()
    ember.save(back, again)
    final = torch.load(io.BytesIO(again.getvalue()), weights_only=True)
    _same_structure(tstate, final)
    assert _storage_groups(_leaves(final, []),
                           lambda t: t.untyped_storage().data_ptr()) == tgroups
