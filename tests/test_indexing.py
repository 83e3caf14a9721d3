"""Indexing reads and writes against torch: `x[idx]` (views, grad_fn names, gradients with
repeated indices, torch's errors and messages) and `x[idx] = v` (fill, copy, index_put with
autograd), including hypothesis property tests over random index combinations."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ember
from helpers import assert_close

RNG = np.random.default_rng(7)


def _node(t):
    return type(t.grad_fn).__name__ if t.grad_fn is not None else None


def _conv(lib, idx):
    """An index spec (("T", array, dtype) marks a tensor) made concrete for torch or ember."""
    if isinstance(idx, tuple) and idx and idx[0] == "T":
        return lib.tensor(idx[1], dtype=getattr(lib, idx[2]) if len(idx) > 2 else None)
    if isinstance(idx, tuple):
        return tuple(_conv(lib, i) for i in idx)
    return idx


def _make(lib, arr, layout, rg=True):
    """A leaf holding arr, and the tensor to index: arr itself, or a non-contiguous view of it."""
    if layout == "t":
        leaf = lib.tensor(np.ascontiguousarray(np.swapaxes(arr, 0, -1)), requires_grad=rg)
        return leaf, leaf.transpose(0, -1)
    if layout == "step":
        big = np.zeros((arr.shape[0] * 2,) + arr.shape[1:], arr.dtype)
        big[::2] = arr
        leaf = lib.tensor(big, requires_grad=rg)
        return leaf, leaf[::2]
    leaf = lib.tensor(arr.copy(), requires_grad=rg)
    return leaf, leaf * 1 if rg else leaf


def _getitem_both(torch, arr, idx, layout="plain"):
    """Compare torch and ember on x[idx]: result, node, view-ness, gradient, or the error."""
    res = {}
    for lib in (torch, ember):
        leaf, x = _make(lib, arr, layout)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = x[_conv(lib, idx)]
        except Exception as e:  # noqa: BLE001  (the error itself is compared)
            res[lib] = e
            continue
        res[lib] = (leaf, x, r)
    t, e = res[torch], res[ember]
    if isinstance(t, Exception):
        assert isinstance(e, Exception), f"ember returned {e[2].shape} where torch raised {t!r}"
        assert type(e) is type(t), (e, t)
        assert str(e) == str(t), (str(e), str(t))
        return None
    assert not isinstance(e, Exception), f"ember raised {e!r}, torch gave {t[2].shape}"
    (tl, tx, tr), (el, ex, er) = t, e
    assert_close(er, tr)
    assert _node(er) == _node(tr), (_node(er), _node(tr))
    assert (er._base is not None) == (tr._base is not None)
    if tr._base is not None:  # a view: same storage and the same version counter
        assert np.shares_memory(er._data, ex._data) or er.numel() == 0
        assert er._vc is ex._vc
    w = RNG.standard_normal(tuple(tr.shape))
    (tr * torch.tensor(w, dtype=tr.dtype)).sum().backward()
    (er * ember.tensor(w, dtype=er.dtype)).sum().backward()
    assert_close(el.grad, tl.grad)
    return er, tr


ARR = RNG.standard_normal((3, 4, 5))

BASIC = [0, -1, 2, slice(1, 3), slice(None, None, 2), slice(-2, None), slice(-100, 100),
         slice(3, 1), None, Ellipsis, (), (slice(None),), (0, slice(1, 3)), (Ellipsis, 0),
         (Ellipsis, None), (None, 0, None, slice(1, None), None), (slice(None), None, 0),
         (0, 0, 0), (Ellipsis, 1, slice(None, None, 3)), (slice(None), slice(0, 10)),
         (1, Ellipsis, None), slice(None), (slice(0, 3),), ("T", np.array(1)),
         ("T", np.array(2), "int16"), (0, ("T", np.array(-1)))]


@pytest.mark.parametrize("idx", BASIC, ids=repr)
@pytest.mark.parametrize("layout", ["plain", "t"])
def test_basic_indexing_views(torch, idx, layout):
    _getitem_both(torch, ARR, idx, layout)


ADVANCED = [[0, 2], [[0, 1], [2, 2]], [0, 0, 0], [-1, -3], [], range(2), range(0, 3, 2),
            [True, False, True], (slice(None), [1, 3]), (0, [1, 2]), ([0, 2], [1, 3]),
            ([0, 2], slice(None), [1, 3]), ([0], slice(None), [[1], [3]]),
            (slice(None), [0, 1], [2, 3]), (Ellipsis, [0, 4]), ([[0, 1]], [[0], [2]]),
            (1, slice(None), [0, 0, 4]), (None, [0, 1], None, [2, 3]), (True, [0, 1]),
            ([0, 1], True, [0, 1]), (Ellipsis, True), True, False, (0, False),
            ("T", np.array([0, 2, 2])), ("T", np.array([-1, 0]), "int32"),
            ("T", np.array([[1], [2]])), ("T", np.array([True, False, True])),
            ("T", np.array([[True, False, True, False]] * 3)),
            (slice(None), ("T", np.array([True, False, True, True]))),
            ("T", np.array([0, 1, 1]), "uint8"), ("T", np.array(True)),
            (("T", np.array([[True, False, True, False]] * 3)), 1),
            (slice(1, None), [0, 1]), (slice(None, None, 2), [1], slice(1, 4)),
            ([0, 1, 2], [0, 1, 2], [0, 1, 2]), [0, [1, 2]], [[0, 1], [1, 2]],
            [0, slice(None)], (np.array([0, 2]),), np.array([1, 1])]


@pytest.mark.parametrize("idx", ADVANCED, ids=repr)
@pytest.mark.parametrize("layout", ["plain", "step"])
def test_advanced_indexing(torch, idx, layout):
    _getitem_both(torch, ARR, idx, layout)


ERRORS = [3, -4, (0, 4), (0, 0, 5), (Ellipsis, 5), (None, 3), (0, 0, 0, 0), [3], [0, -4],
          (slice(None), [4]), (slice(None), slice(None), [0, 5]), ([0, 1], [0, 1, 2]),
          ([True, False],), ("T", np.array([[True, False]] * 3)), ("T", np.array([0.5])),
          ("T", np.array([1]), "int8"), ("T", np.array([1]), "int16"),
          (("T", np.array([0, 9])), ("T", np.array([4, 0]))), 1.5, [0.5],
          slice(None, None, -1), slice(None, None, 0), (0, slice(None, None, -2)), {},
          ("T", np.array(1.0)), (Ellipsis, ("T", np.array([[True, False]] * 4)))]


@pytest.mark.parametrize("idx", ERRORS, ids=repr)
def test_index_errors_match_torch(torch, idx):
    _getitem_both(torch, ARR, idx)


def test_out_of_range_message():
    x = ember.zeros(3)
    with pytest.raises(IndexError, match=r"^index 5 is out of bounds for dimension 0 with size 3$"):
        x[5]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool"):
        x[ember.tensor([1.0])]


def test_zero_dim_tensor_indexing(torch):
    arr = np.array(2.5)
    for idx in [None, Ellipsis, (), True, False, 0, [0], slice(None), ("T", np.array(0))]:
        _getitem_both(torch, arr, idx)


def test_slice_with_tensor_bounds(torch):
    for lib in (torch, ember):
        x = lib.arange(10)
        r = x[lib.tensor(2):lib.tensor(8):lib.tensor(3)]
        assert r.tolist() == [2, 5]


def test_repeated_indices_accumulate_gradient(torch):
    for idx in ([0, 0, 2, 0], ("T", np.array([[1, 1], [1, 2]]))):
        e, t = _getitem_both(torch, ARR, idx)
    x = ember.ones(3, requires_grad=True)
    x[[0, 0, 0, 1]].sum().backward()
    assert x.grad.tolist() == [3.0, 1.0, 0.0]


def test_indexing_double_backward(torch):
    for lib in (torch, ember):
        x = lib.tensor(ARR, requires_grad=True)
        y = (x[[0, 0, 2], 1:3] ** 2).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (g * g).sum().backward()
        if lib is torch:
            tg, tgrad = g, x.grad
        else:
            assert_close(g, tg)
            assert_close(x.grad, tgrad)


def test_int_dtypes_of_index_tensors(torch):
    for dt in ("int64", "int32", "uint8", "bool"):
        idx = ("T", np.array([1, 0, 1]).astype(dt == "bool" and bool or dt), dt)
        _getitem_both(torch, ARR, idx)


# ---- hypothesis: random index combinations -------------------------------------------------
@st.composite
def index_cases(draw):
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    k = draw(st.integers(0, ndim))
    parts = []
    for n in shape[:k]:
        kind = draw(st.sampled_from(["int", "slice", "slice", "full", "list", "tensor", "mask",
                                     "int0d", "int32"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            b = st.one_of(st.none(), st.integers(-n - 1, n + 1))
            parts.append(slice(draw(b), draw(b), draw(st.sampled_from([None, 1, 2, 3]))))
        elif kind == "full":
            parts.append(slice(None))
        elif kind == "list":
            parts.append(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=3)))
        elif kind in ("tensor", "int32"):
            rows = draw(st.integers(1, 2))
            vals = draw(st.lists(st.integers(-n, n - 1), min_size=rows, max_size=rows))
            a = np.array(vals).reshape((rows,) if draw(st.booleans()) else (rows, 1))
            parts.append(("T", a, "int64" if kind == "tensor" else "int32"))
        elif kind == "mask":
            parts.append(("T", np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))))
        else:
            parts.append(("T", np.array(draw(st.integers(-n, n - 1)))))
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), draw(st.sampled_from([None, True])))
    if k < ndim and draw(st.booleans()):
        p = draw(st.integers(0, len(parts)))
        tail = []
        for n in shape[len(shape) - draw(st.integers(0, ndim - k)):]:
            tail.append(draw(st.integers(-n, n - 1)) if draw(st.booleans()) else slice(None, 2))
        parts = parts[:p] + [Ellipsis] + tail
    layout = draw(st.sampled_from(["plain", "t", "step"]))
    return shape, tuple(parts), layout


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=index_cases())
def test_random_getitem_matches_torch(torch, case):
    shape, idx, layout = case
    arr = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) + 0.5
    _getitem_both(torch, arr, idx, layout)


# ---- x[idx] = v --------------------------------------------------------------------------------
def _setitem_both(torch, arr, idx, value, value_rg=False, layout="plain"):
    """Compare y[idx] = value on a tracked non-leaf y: values, y's node, gradients."""
    res = {}
    for lib in (torch, ember):
        leaf, x = _make(lib, arr, layout)
        y = x * 1
        v = value
        if isinstance(value, np.ndarray):
            v = lib.tensor(value, requires_grad=value_rg)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y[_conv(lib, idx)] = v
        except Exception as e:  # noqa: BLE001
            res[lib] = e
            continue
        res[lib] = (leaf, y, v)
    t, e = res[torch], res[ember]
    if isinstance(t, Exception):
        assert isinstance(e, Exception), f"ember accepted what torch refused: {t!r}"
        assert type(e) is type(t), (e, t)
        assert str(e).replace("ember.", "torch.") == str(t), (str(e), str(t))
        return
    assert not isinstance(e, Exception), f"ember raised {e!r}"
    (tl, ty, tv), (el, ey, ev) = t, e
    assert_close(ey, ty)
    assert _node(ey) == _node(ty), (_node(ey), _node(ty))
    assert ey._version == ty._version
    w = RNG.standard_normal(tuple(ty.shape))
    (ty * torch.tensor(w, dtype=ty.dtype)).sum().backward()
    (ey * ember.tensor(w, dtype=ey.dtype)).sum().backward()
    assert_close(el.grad, tl.grad)
    if value_rg:
        assert_close(ev.grad, tv.grad)


SETS = [
    (0, 1.5), (Ellipsis, 2.0), (slice(None), 0.0), ((), 1.0), (None, 3.0), ((0, 1), -1.0),
    (slice(1, 3), np.ones(5)), ((slice(None), 0), np.arange(3.0).reshape(3, 1)),
    (0, np.ones((1, 4, 5))), (0, np.ones((1, 1, 5))), ([0, 2], 7.0), ([0, 0], np.ones((2, 4, 5))),
    ((slice(None), [1, 3]), np.ones((3, 2, 5))), ((0, [1, 2]), np.ones(5)),
    (("T", np.array([True, False, True])), 0.0), (("T", np.array(True)), 4.0),
    ((Ellipsis, [0, 4]), np.array(9.0)), (([0, 2], slice(None), [1, 3]), np.ones((2, 4))),
    (("T", np.array(1)), 2.0), ((slice(None, None, 2), 1), np.array([5.0, 6.0])),
    ([0, 1], np.ones(3)), (0, np.ones((2, 4, 5))), (0, np.ones((2, 1, 4, 5))),
    ([0], np.ones((2, 1, 1, 5))), (5, 1.0), ([5], 1.0), (0, 1 + 2j), (0, "a"),
    (0, [1.0, 2.0]), (0, (1.0,)), (0, np.float64(2.5)), ([0], np.array([1.0], np.float32)),
]


@pytest.mark.parametrize("idx,value", SETS, ids=repr)
def test_setitem_matches_torch(torch, idx, value):
    _setitem_both(torch, ARR, idx, value)


@pytest.mark.parametrize("idx,value", [(0, np.ones(5)), ([0, 0, 1], np.ones((3, 4, 5))),
                                       ((slice(None), 2), np.ones((3, 5))),
                                       (("T", np.array([True, False, True])), np.array(2.0)),
                                       ((1, [0, 3]), np.ones((1, 5)))], ids=repr)
@pytest.mark.parametrize("layout", ["plain", "t"])
def test_setitem_value_gradient(torch, idx, value, layout):
    _setitem_both(torch, ARR, idx, value, value_rg=True, layout=layout)


def test_setitem_dtypes(torch):
    for lib in (torch, ember):
        y = lib.zeros(4, dtype=lib.int64)
        y[0] = 2.7
        y[1] = lib.tensor(-1.7)
        y[[2]] = 3.9
        y[lib.tensor([False, False, False, True])] = lib.tensor(5.5)
        b = lib.zeros(3, dtype=lib.bool)
        b[0] = 5
        f = lib.zeros(3)
        f[...] = lib.arange(3)
        out = (y.tolist(), b.tolist(), f.tolist())
        if lib is torch:
            expect = out
    assert out == expect
    for lib in (torch, ember):
        y = lib.zeros(3)
        with pytest.raises(RuntimeError) as ex:
            y[[0]] = lib.tensor([1.0], dtype=lib.float64)
        assert "Index put requires the source and destination dtypes match, got Float for the " \
               "destination and Double for the source." == str(ex.value)


def test_setitem_untracked_is_plain_write(torch):
    x = ember.zeros(3, 4)
    v = x[1]
    x[1, 2] = 5.0
    assert v.tolist() == [0.0, 0.0, 5.0, 0.0] and x._version == 1 and v._version == 1
    x[x > 1] = -1.0
    assert x[1, 2].item() == -1.0 and x._version == 2
    assert x.grad_fn is None and not x.requires_grad


def test_setitem_on_leaf_requiring_grad(torch):
    for lib in (torch, ember):
        x = lib.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError) as e1:
            x[0] = 1.0
        with pytest.raises(RuntimeError) as e2:
            x[[0]] = 1.0
        with lib.no_grad():
            x[1] = 2.0
        if lib is torch:
            msgs = (str(e1.value), str(e2.value))
        else:
            assert (str(e1.value), str(e2.value)) == msgs
            assert x.tolist() == [0.0, 2.0, 0.0] and x.grad_fn is None


@st.composite
def set_cases(draw):
    shape, idx, layout = draw(index_cases())
    kind = draw(st.sampled_from(["scalar", "tensor", "tensor_rg"]))
    return shape, idx, layout, kind, draw(st.booleans())


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=set_cases())
def test_random_setitem_matches_torch(torch, case):
    shape, idx, layout, kind, drop_dim = case
    arr = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rshape = tuple(torch.zeros(shape)[_conv(torch, idx)].shape)
    except Exception:  # noqa: BLE001  (an invalid index: compare the errors)
        rshape = ()
    if kind == "scalar":
        _setitem_both(torch, arr, idx, -3.0, layout=layout)
    else:
        value = np.linspace(-1, 1, int(np.prod(rshape))).reshape(rshape)
        if drop_dim and rshape and rshape[0]:  # a value that broadcasts along the first dim
            value = np.asarray(value[0])
        _setitem_both(torch, arr, idx, value, value_rg=kind == "tensor_rg", layout=layout)


# ---- index_put ---------------------------------------------------------------------------------
def test_index_put(torch):
    for acc in (False, True):
        outs = []
        for lib in (torch, ember):
            x = lib.tensor(ARR[0], requires_grad=True)
            v = lib.tensor(np.arange(3.0), requires_grad=True)
            idx = (lib.tensor([0, 0, 2]), lib.tensor([1, 1, 4]))
            y = x.index_put(idx, v, accumulate=acc)
            z = (x * 1).index_put_(idx, v, accumulate=acc)
            ((y * y).sum() + (z * 2).sum()).backward()
            outs.append((y, z, x.grad, v.grad, _node(y), _node(z)))
        (ty, tz, tgx, tgv, tn1, tn2), (ey, ez, egx, egv, en1, en2) = outs
        assert (en1, en2) == (tn1, tn2) == ("IndexPutBackward0", "IndexPutBackward0")
        for e, t in zip((ey, ez, egx), (ty, tz, tgx)):
            assert_close(e, t)
        if acc:  # without accumulate, which of the repeated writes lands is unspecified
            assert_close(egv, tgv)


def test_index_put_double_backward(torch):
    res = []
    for lib in (torch, ember):
        x = lib.tensor(ARR[0], requires_grad=True)
        v = lib.tensor(np.arange(2.0), requires_grad=True)
        y = x.index_put((lib.tensor([0, 2]), lib.tensor([1, 3])), v * v)
        gx, gv = lib.autograd.grad((y ** 2).sum(), (x, v), create_graph=True)
        ((gx ** 2).sum() + (gv ** 3).sum()).backward()
        res.append((gx, gv, x.grad, v.grad))
    for e, t in zip(res[1], res[0]):
        assert_close(e, t)


def test_index_put_errors(torch):
    for lib in (torch, ember):
        x = lib.zeros(3)
        with pytest.raises(TypeError):
            x.index_put_((lib.tensor([0]),), 5.0)
        with pytest.raises(IndexError,
                           match="index 5 is out of bounds for dimension 0 with size 3"):
            x.index_put_((lib.tensor([5]),), lib.tensor(1.0))
        with pytest.raises(RuntimeError, match="Index put requires the source and destination"):
            x.index_put_((lib.tensor([0]),), lib.tensor(1))


def test_nonzero_argwhere(torch):
    a = (RNG.standard_normal((3, 4)) > 0)
    for fn in (lambda L, t: L.nonzero(t), lambda L, t: t.nonzero(as_tuple=True),
               lambda L, t: L.argwhere(t), lambda L, t: L.where(t),
               lambda L, t: L.nonzero(t[0, 0]), lambda L, t: L.nonzero(t[0, 0], as_tuple=True)):
        e = fn(ember, ember.tensor(a))
        t = fn(torch, torch.tensor(a))
        assert_close(list(e) if isinstance(e, tuple) else e, list(t) if isinstance(t, tuple)
                     else t)
