"""In-place ops against torch: values, dtypes, version counters, grad_fn names and gradients
of recorded in-place ops, torch's refusals (leaves, views of leaves, no_grad views, multi-view
outputs, dtype casts), detection of modified saved tensors, and in-place writes through views
of tracked tensors (CopySlices) including regeneration of stale views and double backward."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from helpers import assert_close

RNG = np.random.default_rng(11)
X = RNG.standard_normal((3, 4))
W = RNG.standard_normal((3, 4))


def _node(t):
    return type(t.grad_fn).__name__ if t.grad_fn is not None else None


def _both(torch, fn, layout="plain", x=X, extra_rg=True):
    """Run fn(lib, y, w) on y = a tracked non-leaf (or a transposed view of one) and compare
    the result, y's node, its version and the gradients of x and w -- or the errors."""
    res = {}
    for lib in (torch, ember):
        xl = lib.tensor(x.copy(), requires_grad=True)
        wl = lib.tensor(W.copy(), requires_grad=extra_rg)
        if layout == "t":
            y = (xl.t() * 1).t()  # non-contiguous, not a view
        elif layout == "view":  # a strided view of a tracked base
            y = (xl.repeat(1, 2) * 1)[:, ::2]
        else:
            y = xl * 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = fn(lib, y, wl)
        except Exception as e:  # noqa: BLE001  (compared below)
            res[lib] = e
            continue
        res[lib] = (xl, wl, y, out)
    t, e = res[torch], res[ember]
    if isinstance(t, Exception):
        assert isinstance(e, Exception), f"ember succeeded where torch raised {t!r}"
        assert type(e) is type(t) and str(e) == str(t), (e, t)
        return None
    assert not isinstance(e, Exception), f"ember raised {e!r}"
    (tx, tw, ty, to), (ex, ew, ey, eo) = t, e
    assert eo is ey and to is ty
    assert_close(ey, ty)
    assert _node(ey) == _node(ty), (_node(ey), _node(ty))
    assert ey.requires_grad == ty.requires_grad
    assert ey._version == ty._version, (ey._version, ty._version)
    if ty.requires_grad:
        g = RNG.standard_normal(tuple(ty.shape))
        ty.backward(torch.tensor(g))
        ey.backward(ember.tensor(g))
        assert_close(ex.grad, tx.grad)
        assert_close(ew.grad, tw.grad)
    return ey, ty


OPS = {
    "add_": lambda L, y, w: y.add_(1.5), "add_w": lambda L, y, w: y.add_(w),
    "add_alpha": lambda L, y, w: y.add_(w, alpha=-2), "sub_": lambda L, y, w: y.sub_(w),
    "sub_alpha": lambda L, y, w: y.sub_(w[0], alpha=3), "mul_": lambda L, y, w: y.mul_(2),
    "mul_w": lambda L, y, w: y.mul_(w), "mul_bc": lambda L, y, w: y.mul_(w[:, :1]),
    "div_": lambda L, y, w: y.div_(4), "div_w": lambda L, y, w: y.div_(w),
    "pow_": lambda L, y, w: y.pow_(2), "pow_w": lambda L, y, w: y.abs_().pow_(w),
    "zero_": lambda L, y, w: y.zero_(), "fill_": lambda L, y, w: y.fill_(1.5),
    "fill_t": lambda L, y, w: y.fill_(L.tensor(2.0, dtype=L.float64)),
    "fill_trg": lambda L, y, w: y.fill_(w[0, 0]), "copy_": lambda L, y, w: y.copy_(w),
    "copy_bc": lambda L, y, w: y.copy_(w[1]), "copy_f32": lambda L, y, w: y.copy_(w.float()),
    "copy_nog": lambda L, y, w: y.copy_(L.ones(4)), "clamp_": lambda L, y, w: y.clamp_(-0.5, 0.5),
    "clamp_min_": lambda L, y, w: y.clamp_(min=0), "clamp_min_fn": lambda L, y, w: y.clamp_min_(0),
    "clamp_max_": lambda L, y, w: y.clamp_max_(0.1), "clip_": lambda L, y, w: y.clip_(-1, 1),
    "exp_": lambda L, y, w: y.exp_(), "relu_": lambda L, y, w: y.relu_(),
    "sigmoid_": lambda L, y, w: y.sigmoid_(), "tanh_": lambda L, y, w: y.tanh_(),
    "neg_": lambda L, y, w: y.neg_(), "abs_": lambda L, y, w: y.abs_(),
    "sqrt_": lambda L, y, w: y.abs_().sqrt_(), "log_": lambda L, y, w: y.abs_().log_(),
    "sin_": lambda L, y, w: y.sin_(), "cos_": lambda L, y, w: y.cos_(),
    "square_": lambda L, y, w: y.square_(), "reciprocal_": lambda L, y, w: y.reciprocal_(),
    "sign_": lambda L, y, w: y.sign_(), "floor_": lambda L, y, w: y.floor_(),
    "round_": lambda L, y, w: y.round_(), "trunc_": lambda L, y, w: y.trunc_(),
    "ceil_": lambda L, y, w: y.ceil_(),
    "masked_fill_": lambda L, y, w: y.masked_fill_(y > 0, 0.0),
    "masked_fill_t": lambda L, y, w: y.masked_fill_(w > 0, w[0, 1]),
    "scatter_": lambda L, y, w: y.scatter_(1, L.tensor([[0], [1], [2]]), w[:, :1]),
    "scatter_v": lambda L, y, w: y.scatter_(1, L.tensor([[0, 3], [1, 1], [2, 0]]), 3.0),
    "scatter_add_": lambda L, y, w: y.scatter_add_(1, L.tensor([[0, 0], [1, 3], [2, 2]]),
                                                  w[:, :2]),
    "index_add_": lambda L, y, w: y.index_add_(0, L.tensor([0, 0]), w[:2]),
    "index_add_alpha": lambda L, y, w: y.index_add_(1, L.tensor([3, 1, 3, 0]), w, alpha=0.5),
    "index_fill_": lambda L, y, w: y.index_fill_(1, L.tensor([0, 2]), -1.0),
    "index_fill_t": lambda L, y, w: y.index_fill_(0, L.tensor([1]), w[2, 2]),
    "setitem": lambda L, y, w: y.__setitem__((slice(None), 1), w[:, 0]) or y,
    "chain": lambda L, y, w: y.mul_(w).add_(w).mul_(2).sub_(1),
    "self_add": lambda L, y, w: y.add_(y), "uniform_": lambda L, y, w: y.uniform_().zero_(),
    "normal_": lambda L, y, w: y.normal_().zero_(),
}


@pytest.mark.parametrize("name", list(OPS))
@pytest.mark.parametrize("layout", ["plain", "t", "view"])
def test_inplace_ops_record_like_torch(torch, name, layout):
    _both(torch, OPS[name], layout)


def test_inplace_op_nodes(torch):
    names = {"uniform_": "UniformBackward0", "normal_": "NormalBackward0",
             "random_": "RandomBackward1", "bernoulli_": "BernoulliBackward2",
             "zero_": "ZeroBackward0", "fill_": "FillBackward2", "copy_": "CopyBackwards"}
    for name, node in names.items():
        for lib in (torch, ember):
            y = lib.ones(3, requires_grad=True) * 1
            arg = {"random_": (3,), "bernoulli_": (0.5,), "fill_": (2.0,),
                   "copy_": (lib.zeros(3),)}.get(name, ())
            getattr(y, name)(*arg)
            assert _node(y) == node, (lib.__name__, name, _node(y))


# ---- refusals ------------------------------------------------------------------------------
LEAF_OPS = {
    "add_": lambda L, x: x.add_(1), "mul_": lambda L, x: x.mul_(2), "zero_": lambda L, x: x.zero_(),
    "fill_": lambda L, x: x.fill_(1), "copy_": lambda L, x: x.copy_(L.ones(3)),
    "uniform_": lambda L, x: x.uniform_(), "normal_": lambda L, x: x.normal_(),
    "exp_": lambda L, x: x.exp_(), "clamp_": lambda L, x: x.clamp_(0, 1),
    "masked_fill_": lambda L, x: x.masked_fill_(x > 0, 0.0),
    "scatter_": lambda L, x: x.scatter_(0, L.tensor([0]), 1.0),
    "index_add_": lambda L, x: x.index_add_(0, L.tensor([0]), L.ones(1)),
    "setitem": lambda L, x: x.__setitem__(0, 1.0), "setitem_all": lambda L, x: x.__setitem__(
        Ellipsis, 1.0), "view_mul_": lambda L, x: x[:2].mul_(2),
    "index_put_": lambda L, x: x.index_put_((L.tensor([0]),), L.tensor(1.0)),
}


@pytest.mark.parametrize("name", list(LEAF_OPS))
def test_inplace_on_leaf_requiring_grad_raises(torch, name):
    msgs = []
    for lib in (torch, ember):
        x = lib.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError) as e:
            LEAF_OPS[name](lib, x)
        msgs.append(str(e.value))
        assert x._version == 0
        with lib.no_grad():  # allowed without grad mode (what optimizers and init do)
            LEAF_OPS[name](lib, x)
        assert x._version >= 1 and x.grad_fn is None and x.requires_grad
    assert msgs[0] == msgs[1]


def test_view_refusals(torch):
    def no_grad_view(L):
        x = L.zeros(3, 4, requires_grad=True) * 1
        with L.no_grad():
            v = x[0]
        v.mul_(2)

    def multi_view(L, how):
        x = L.zeros(3, 4, requires_grad=True) * 1
        getattr(x, how)(1)[0].mul_(2) if how != "unbind" else x.unbind(0)[0].mul_(2)

    def leaf_view(L):
        x = L.zeros(3, 4, requires_grad=True)
        with L.no_grad():
            v = x[0]
        v.mul_(2)

    for fn in (no_grad_view, leaf_view, lambda L: multi_view(L, "unbind"),
               lambda L: multi_view(L, "split"), lambda L: multi_view(L, "chunk")):
        msgs = []
        for lib in (torch, ember):
            with pytest.raises(RuntimeError) as e:
                fn(lib)
            msgs.append(str(e.value))
        assert msgs[0] == msgs[1]


DTYPE_CASES = [
    lambda L: L.zeros(3, dtype=L.int64).add_(1.5), lambda L: L.zeros(3, dtype=L.int64).add_(
        L.ones(3)), lambda L: L.zeros(3, dtype=L.int64).mul_(L.tensor(1.5)),
    lambda L: L.zeros(3, dtype=L.int64).div_(2), lambda L: L.zeros(3, dtype=L.bool).add_(1),
    lambda L: L.zeros(3, dtype=L.bool).add_(True), lambda L: L.zeros(3, dtype=L.uint8).add_(
        L.ones(3, dtype=L.int64)), lambda L: L.zeros(3, dtype=L.int32).add_(
        L.ones(3, dtype=L.int64)), lambda L: L.zeros(3).add_(L.ones(3, dtype=L.float64)),
    lambda L: L.zeros(3).add_(L.ones(2, 3)), lambda L: L.zeros(3).add_(L.ones(4)),
    lambda L: L.zeros(3).copy_(L.ones(4)), lambda L: L.zeros(3).copy_(L.arange(3)),
    lambda L: L.zeros(3, dtype=L.int64).copy_(L.tensor([1.7, -1.7, 2.5])),
    lambda L: L.zeros(3, dtype=L.int64).fill_(2.7), lambda L: L.zeros(3).fill_(L.ones(1)),
    lambda L: L.arange(3).exp_(), lambda L: L.arange(3).pow_(2), lambda L: L.arange(3).neg_(),
    lambda L: L.arange(3).sqrt_(), lambda L: L.arange(3).sub_(True),
    lambda L: L.ones(3, dtype=L.bool).sub_(True), lambda L: L.arange(3).uniform_(),
    lambda L: L.arange(3).normal_(), lambda L: L.arange(3).zero_(),
    lambda L: L.zeros(3).expand(2, 3).add_(1), lambda L: L.zeros(1, 3).expand(2, 3).mul_(1),
    lambda L: L.zeros(1, 3).expand(2, 3).zero_(), lambda L: L.zeros(3, 4).t().add_(1),
    lambda L: L.arange(6).view(2, 3)[:, 1:].mul_(3), lambda L: L.zeros(2, 3)[0].fill_(2),
]


@pytest.mark.parametrize("k", range(len(DTYPE_CASES)))
def test_inplace_dtypes_and_shapes(torch, k):
    res = []
    for lib in (torch, ember):
        try:
            res.append(DTYPE_CASES[k](lib))
        except Exception as e:  # noqa: BLE001
            res.append(e)
    t, e = res
    if isinstance(t, Exception):
        assert type(e) is type(t) and str(e) == str(t), (e, t)
    else:
        assert not isinstance(e, Exception), e
        assert_close(e, t)


def test_fast_path_bumps_version_and_shares_storage():
    x = ember.zeros(2, 3)
    v = x[1]
    d = x.detach()
    x.add_(1)
    x.mul_(ember.full((3,), 2.0))
    v.sub_(1)
    d.div_(2)
    assert x.tolist() == [[1.0] * 3, [0.5] * 3]
    assert x._version == v._version == d._version == 4


# ---- saved tensors modified in place -------------------------------------------------------
def _no_grad_mul(L, y):
    with L.no_grad():
        y.mul_(2)
    return y


SAVED = {
    "exp add_": lambda L, x: (lambda y: (y.add_(1), y)[1])(x.exp()),
    "exp_ add_": lambda L, x: x.clone().exp_().add_(1),
    "relu mul_": lambda L, x: (lambda y: (y.mul_(2), y)[1])(x.relu()),
    "relu_ mul_": lambda L, x: x.clone().relu_().mul_(2),
    "sigmoid_ add_": lambda L, x: x.clone().sigmoid_().add_(1),
    "tanh view": lambda L, x: (lambda y: (y[0].mul_(2), y)[1])(x.tanh()),
    "exp t mul_": lambda L, x: x.exp().t().mul_(2),
    "saved input": lambda L, x: (lambda y: (lambda z: (y.add_(1), z)[1])(y * x))(x.clone()),
    "mul_ self": lambda L, x: (lambda y: y.mul_(y))(x.clone()),
    "detach shares": lambda L, x: (lambda y: (y.detach().mul_(2), y)[1])(x.exp()),
    "data not seen": lambda L, x: (lambda y: (y.data.mul_(2), y)[1])(x.exp()),
    "no_grad seen": lambda L, x: _no_grad_mul(L, x.exp()),
    "exp_ then view": lambda L, x: (lambda y: (y[1:].zero_(), y)[1])(x.clone().exp_()),
    "mul_w ok": lambda L, x: x.clone().mul_(x).mul_(x),
    "pow_ add_ ok": lambda L, x: x.clone().pow_(2).add_(1),
    "sqrt_ mul_": lambda L, x: x.abs().sqrt_().mul_(2),
    "saved view": lambda L, x: (lambda y: (lambda z: (y.mul_(2), z)[1])(y[0] * x[0]))(x.clone()),
}


@pytest.mark.parametrize("name", list(SAVED))
def test_modified_saved_tensor_detected(torch, name):
    res = []
    for lib in (torch, ember):
        x = lib.tensor(X.copy(), requires_grad=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = SAVED[name](lib, x)
                out.sum().backward()
            res.append((out, x.grad))
        except RuntimeError as e:
            res.append(e)
    t, e = res
    if isinstance(t, Exception):
        assert isinstance(e, Exception), f"ember missed: {t}"
        assert str(e) == str(t), (str(e), str(t))
    else:
        assert not isinstance(e, Exception), e
        assert_close(e[0], t[0])
        assert_close(e[1], t[1])


# ---- in-place through views of tracked tensors (CopySlices) --------------------------------
def _p1(L, x, w):
    y = x.clone()
    y[:, 0].mul_(2)
    return y


def _p2(L, x, w):
    y = x * 1
    y[0] = 0
    return y


def _p3(L, x, w):
    y = x * 1
    v = y[1]
    y.mul_(3)
    return v * 1  # v was made before y changed: it reads y's new history


def _p4(L, x, w):
    y = x * 1
    v = y[1]
    y[:, 1].mul_(3)
    return v * 1


def _p5(L, x, w):
    y = x * 1
    v = y[0]
    v.mul_(2)
    return v


def _p6(L, x, w):
    b = L.zeros(3, 4)
    b[1] = w[0] * 2
    return b


def _p7(L, x, w):
    y = x * 1
    y.t()[0].mul_(w[:, 0])
    return y


def _p8(L, x, w):
    y = x * 1
    y[:, 1:3] += w[:, :2]
    return y


def _p9(L, x, w):
    y = x * 1
    y.view(-1)[3:5].exp_()
    return y


def _p10(L, x, w):
    y = x * 1
    y[0, [1, 2]] = w[0, :2]
    return y


def _p11(L, x, w):
    y = x * 1
    v = y[1:]
    v[:, ::2].zero_()
    v.mul_(w[1:])
    return y + v.sum()


def _p12(L, x, w):
    y = x.exp()
    y[0].mul_(2)  # exp saved its output: modifying it must fail on backward
    return y


def _p13(L, x, w):
    b = L.zeros(3, 4)
    b[:, 0].copy_(w[:, 1])
    b[1].add_(x[1])
    return b * b


def _p14(L, x, w):
    y = x * 1
    y[1].exp_()
    y[1].add_(1)  # exp_ saved its output (y[1]): torch refuses this on backward
    return y


def _p15(L, x, w):
    y = x * 1
    y.t()[1:3, ::2].clamp_(-0.2, 0.2)
    y[y > 0.5] = 0.5
    return y


def _p16(L, x, w):
    y = (x * 1).t()
    y[1].sigmoid_()
    return y.sum(0)


def _p17(L, x, w):
    y = x * 1
    y[[0, 0]] += 1
    return y


def _p18(L, x, w):
    y = x * 1
    v = y[:, 2]
    v2 = v[1:]
    v2.mul_(w[1:, 0])
    return y * v.sum()


PATTERNS = [_p1, _p2, _p3, _p4, _p5, _p6, _p7, _p8, _p9, _p10, _p11, _p12, _p13, _p14, _p15,
            _p16, _p17, _p18]


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda f: f.__name__)
def test_view_inplace_rebases_base(torch, pattern):
    res = []
    for lib in (torch, ember):
        x = lib.tensor(X.copy(), requires_grad=True)
        w = lib.tensor(W.copy(), requires_grad=True)
        try:
            out = pattern(lib, x, w)
            g = np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape))
            out.backward(lib.tensor(g, dtype=out.dtype))
            res.append((out, _node(out), x.grad, w.grad))
        except RuntimeError as e:
            res.append(e)
    t, e = res
    if isinstance(t, Exception):
        assert isinstance(e, Exception) and str(e) == str(t), (e, t)
        return
    assert not isinstance(e, Exception), e
    assert_close(e[0], t[0])
    assert e[1] == t[1], (e[1], t[1])
    assert_close(e[2], t[2])
    assert_close(e[3], t[3])


def test_copyslices_names(torch):
    for lib in (torch, ember):
        x = lib.ones(3, 4, requires_grad=True)
        y = x * 1
        v = y[:, 0]
        v.mul_(2)
        assert type(y.grad_fn).__name__ == "CopySlices"
        assert type(v.grad_fn).__name__ == "AsStridedBackward0"
        assert y.grad_fn.name().endswith("::autograd::CopySlices")
        assert v._version == y._version == 1
        assert v.requires_grad and not v.is_leaf


def test_copyslices_double_backward(torch):
    res = []
    for lib in (torch, ember):
        x = lib.tensor(X.copy(), requires_grad=True)
        w = lib.tensor(W.copy(), requires_grad=True)
        y = x * x
        y[1:, 1].mul_(w[1:, 0])
        y[0] = w[0] ** 2
        (gx, gw) = lib.autograd.grad((y ** 2).sum(), (x, w), create_graph=True)
        ((gx ** 2).sum() + gw.sum()).backward()
        res.append((gx, gw, x.grad, w.grad))
    for e, t in zip(res[1], res[0]):
        assert_close(e, t, rtol=1e-5, atol=1e-5)


def test_inplace_under_no_grad_keeps_history(torch):
    for lib in (torch, ember):
        x = lib.tensor(X.copy(), requires_grad=True)
        y = x * 2
        with lib.no_grad():
            y.add_(1)
            y[0] = 0.0
        assert _node(y) == "MulBackward0" and y._version == 2
        y.sum().backward()
        if lib is torch:
            tg = x.grad
    assert_close(x.grad, tg)


def test_inplace_on_untracked_base_with_tracked_value(torch):
    res = []
    for lib in (torch, ember):
        w = lib.tensor(W.copy(), requires_grad=True)
        b = lib.zeros(3, 4)
        v = b[0]
        b.mul_(w)  # b becomes tracked
        b[1].add_(w[1])
        assert b.requires_grad and _node(b) == "CopySlices"
        (b * 3).sum().backward()
        res.append(w.grad)
        assert v._version == b._version == 2
    assert_close(res[1], res[0])


def test_retain_and_version_counter_through_setitem():
    x = ember.ones(2, 2, requires_grad=True)
    y = x * 1
    v = y.view(4)
    y[0, 0] = 5.0
    assert v._version == 1 and v.tolist()[0] == 5.0
    (v * ember.arange(4.0)).sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0], [2.0, 3.0]]


def test_retain_grad_follows_inplace(torch):
    res = []
    for lib in (torch, ember):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        y.retain_grad()
        y.mul_(3)
        (y * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        res.append((y.grad, x.grad, y.retains_grad))
    assert_close(res[1][0], res[0][0])
    assert_close(res[1][1], res[0][1])
    assert res[1][2] and res[0][2]


SHAPE_OPS = {
    "unsqueeze_": lambda L, y: y.unsqueeze_(1), "unsqueeze_neg": lambda L, y: y.unsqueeze_(-1),
    "squeeze_": lambda L, y: y.unsqueeze_(0).squeeze_(), "squeeze_dim": lambda L, y:
    y.unsqueeze_(2).squeeze_(2), "squeeze_dims": lambda L, y: y.unsqueeze_(0).squeeze_((0, 1)),
    "t_": lambda L, y: y.t_(), "transpose_": lambda L, y: y.transpose_(0, 1),
    "swapaxes_": lambda L, y: y.swapaxes_(1, 0), "swapdims_": lambda L, y: y.swapdims_(-1, 0),
}


@pytest.mark.parametrize("name", list(SHAPE_OPS))
@pytest.mark.parametrize("layout", ["plain", "view"])
def test_inplace_shape_changes(torch, name, layout):
    _both(torch, lambda L, y, w: SHAPE_OPS[name](L, y), layout)
    res = []
    for lib in (torch, ember):  # untracked: a new shape over the same storage, version bumped
        x = lib.tensor(X.copy())
        d = x.detach()
        r = SHAPE_OPS[name](lib, x)
        res.append((r is x, tuple(x.shape), x._version, d._version, x.tolist(),
                    x.is_contiguous()))
        x.zero_()
        assert d.abs().sum().item() == 0.0  # still the same storage
    assert res[0] == res[1]


def test_inplace_shape_change_on_leaf_raises(torch):
    msgs = []
    for lib in (torch, ember):
        w = lib.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError) as e:
            w.unsqueeze_(0)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


VARIANTS = ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "logical_not_", "negative_", "absolute_",
            "cumsum_", "multiply_", "subtract_", "divide_", "remainder_", "fmod_", "log2_",
            "true_divide_", "floor_divide_", "logical_and_"]


@pytest.mark.parametrize("name", VARIANTS)
def test_inplace_variants(torch, name):
    arg = {"cumsum_": (1,), "logical_not_": (), "negative_": (), "absolute_": (),
           "log2_": ()}.get(name)
    for dtype in ("float32", "int64"):
        res = []
        for lib in (torch, ember):
            x = lib.tensor((X * 3).astype(dtype) if dtype == "int64" else X.astype(dtype))
            a = arg if arg is not None else (lib.tensor(np.full(4, 2).astype(dtype)),)
            try:
                r = getattr(x, name)(*a)
                res.append((r is x, str(x.dtype).split(".")[-1], x._version))
                res.append(x)
            except Exception as e:  # noqa: BLE001
                res.append((type(e), str(e)))
        assert res[0] == res[len(res) // 2], (dtype, res)
        if len(res) == 4:
            assert_close(res[3], res[1])


# ---- hypothesis: random in-place ops through random views ----------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def _view_index(draw, shape):
    parts = []
    for n in shape[:draw(st.integers(0, len(shape)))]:
        if draw(st.integers(0, 3)) == 0:
            parts.append(None)  # (consumes no dim)
        kind = draw(st.sampled_from(["int", "slice", "full"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.integers(0, n - 1))
            parts.append(slice(start, None, draw(st.sampled_from([1, 2]))))
        else:
            parts.append(slice(None))
    return tuple(parts)


_VIEW_OPS = ["mul_", "add_w", "zero_", "fill_", "copy_w", "exp_", "clamp_", "relu_", "setitem",
             "div_w", "sigmoid_"]


@st.composite
def view_cases(draw):
    shape = tuple(draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 3))))
    idx1 = draw(_view_index(shape))
    idx2 = draw(st.one_of(st.none(), st.just(0), st.just(slice(None, None, 2))))
    ops = draw(st.lists(st.sampled_from(_VIEW_OPS), min_size=1, max_size=3))
    return shape, idx1, idx2, ops, draw(st.booleans()), draw(st.booleans())


def _apply_view_op(L, v, op, w):
    wv = w.expand(tuple(v.shape)) if v.dim() else w.sum()
    if op == "mul_":
        v.mul_(2.0)
    elif op == "add_w":
        v.add_(wv)
    elif op == "zero_":
        v.zero_()
    elif op == "fill_":
        v.fill_(1.5)
    elif op == "copy_w":
        v.copy_(wv * 3)
    elif op == "exp_":
        v.exp_()
    elif op == "clamp_":
        v.clamp_(-0.5, 0.5)
    elif op == "relu_":
        v.relu_()
    elif op == "div_w":
        v.div_(wv.abs() + 1)
    elif op == "sigmoid_":
        v.sigmoid_() if v.dim() else v.tanh_()  # (ember's sigmoid of a 0-dim tensor: see report)
    elif v.dim():
        v[0] = wv[0] * 2
    else:
        v[...] = wv * 2


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=view_cases())
def test_random_inplace_through_views(torch, case):
    shape, idx1, idx2, ops, transposed, use_view = case
    arr = np.linspace(-2, 2, int(np.prod(shape))).reshape(shape)
    res = []
    for lib in (torch, ember):
        x = lib.tensor(arr, requires_grad=True)
        w = lib.tensor(0.7, dtype=lib.float64, requires_grad=True)
        # a non-C-contiguous base when transposed
        y = (x.transpose(0, -1) * 1).transpose(0, -1) if transposed else x * 1
        v = y[idx1]
        if idx2 is not None and v.dim():
            v = v[idx2]
        try:
            for op in ops:
                _apply_view_op(lib, v, op, w)
            out = (y * lib.tensor(np.cos(arr))).sum()
            if use_view:
                out = out + (v * v).sum()
            out.backward()
            res.append((y, v, x.grad, w.grad, type(y.grad_fn).__name__))
        except RuntimeError as e:
            res.append(str(e))
    t, e = res
    if isinstance(t, str):
        # (torch names an in-place-on-view op's saved output after the view's node,
        # AsStrided; ember after the op's node)
        assert isinstance(e, str) and e.split("which is")[0] == t.split("which is")[0], (e, t)
        return
    assert not isinstance(e, str), e
    for a, b in zip(e[:4], t[:4]):
        assert_close(a, b)
    assert e[4] == t[4]
