"""Shape ops against torch: values, shapes, grad_fn names (ViewBackward0 vs UnsafeViewBackward0,
SqueezeBackward0/1/2, SplitWithSizesBackward0 ...), gradients, storage sharing of views, and
the exceptions (type and message) for bad shapes and dims."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from helpers import assert_close, check_op, same_error

RNG = np.random.default_rng(7)


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


SHAPE_OPS = {
    "view": (lambda L, x: x.view(4, 6), (2, 3, 4)),
    "view_infer": (lambda L, x: x.view(-1, 4), (2, 3, 4)),
    "view_tuple": (lambda L, x: x.view((3, 8)), (2, 3, 4)),
    "view_size": (lambda L, x: x.view(L.Size([24])), (2, 3, 4)),
    "view_as": (lambda L, x: x.view_as(x.reshape(6, 4)), (2, 3, 4)),
    "reshape": (lambda L, x: x.reshape(6, -1), (2, 3, 4)),
    "reshape_fn": (lambda L, x: L.reshape(x, (4, 3, 2)), (2, 3, 4)),
    "reshape_noncontig": (lambda L, x: x.transpose(0, 2).reshape(-1), (2, 3, 4)),
    "reshape_same": (lambda L, x: x.reshape(2, 3, 4), (2, 3, 4)),
    "reshape_as": (lambda L, x: x.reshape_as(L.ones(4, 6)), (2, 3, 4)),
    "flatten": (lambda L, x: x.flatten(), (2, 3, 4)),
    "flatten_1": (lambda L, x: x.flatten(1), (2, 3, 4)),
    "flatten_range": (lambda L, x: L.flatten(x, 0, 1), (2, 3, 4)),
    "flatten_noncontig": (lambda L, x: x.transpose(0, 1).flatten(1), (2, 3, 4)),
    "flatten_0d": (lambda L, x: x.sum().flatten(), (2, 3)),
    "unflatten": (lambda L, x: x.unflatten(1, (3, 1)), (2, 3, 4)),
    "unflatten_infer": (lambda L, x: L.unflatten(x, -1, (2, -1)), (2, 3, 4)),
    "squeeze_all": (lambda L, x: x.squeeze(), (2, 1, 3, 1)),
    "squeeze_dim": (lambda L, x: x.squeeze(1), (2, 1, 3, 1)),
    "squeeze_neg": (lambda L, x: L.squeeze(x, -1), (2, 1, 3, 1)),
    "squeeze_noop": (lambda L, x: x.squeeze(0), (2, 1, 3, 1)),
    "squeeze_dims": (lambda L, x: x.squeeze((1, 3)), (2, 1, 3, 1)),
    "unsqueeze": (lambda L, x: x.unsqueeze(0), (2, 3)),
    "unsqueeze_end": (lambda L, x: L.unsqueeze(x, 2), (2, 3)),
    "unsqueeze_neg": (lambda L, x: x.unsqueeze(-1), (2, 3)),
    "unsqueeze_mid_neg": (lambda L, x: x.unsqueeze(-2), (2, 3)),
    "transpose": (lambda L, x: x.transpose(0, 2), (2, 3, 4)),
    "transpose_neg": (lambda L, x: L.transpose(x, -1, -2), (2, 3, 4)),
    "swapaxes": (lambda L, x: x.swapaxes(0, 1), (2, 3, 4)),
    "t": (lambda L, x: x.t(), (2, 3)),
    "t_fn": (lambda L, x: L.t(x), (3,)),
    "T": (lambda L, x: x.T, (2, 3)),
    "mT": (lambda L, x: x.mT, (2, 3, 4)),
    "permute": (lambda L, x: x.permute(2, 0, 1), (2, 3, 4)),
    "permute_tuple": (lambda L, x: L.permute(x, (1, 2, 0)), (2, 3, 4)),
    "permute_neg": (lambda L, x: x.permute(-1, 0, -2), (2, 3, 4)),
    "expand": (lambda L, x: x.expand(3, 4), (1, 4)),
    "expand_new_dims": (lambda L, x: x.expand(2, 3, 4), (3, 1)),
    "expand_minus1": (lambda L, x: x.expand(-1, 5), (3, 1)),
    "expand_tuple": (lambda L, x: x.expand((2, 3, 1)), (3, 1)),
    "expand_as": (lambda L, x: x.expand_as(L.ones(2, 3, 4)), (3, 1)),
    "broadcast_to": (lambda L, x: L.broadcast_to(x, (2, 3, 4)), (4,)),
    "repeat": (lambda L, x: x.repeat(2, 3), (2, 3)),
    "repeat_new_dims": (lambda L, x: x.repeat(2, 1, 3), (2, 3)),
    "repeat_tuple": (lambda L, x: x.repeat((1, 2)), (2, 3)),
    "tile": (lambda L, x: x.tile((2,)), (2, 3)),
    "cat": (lambda L, x: L.cat([x, x * 2, x[:1]]), (2, 3)),
    "cat_dim1": (lambda L, x: L.cat((x, x[:, :1]), dim=1), (2, 3)),
    "cat_neg": (lambda L, x: L.cat([x, x], -1), (2, 3)),
    "concat": (lambda L, x: L.concat([x, x], 0), (2, 3)),
    "stack": (lambda L, x: L.stack([x, x * 2]), (2, 3)),
    "stack_dim": (lambda L, x: L.stack([x, x, x], dim=2), (2, 3)),
    "stack_neg": (lambda L, x: L.stack([x, x], -1), (2, 3)),
    "split_int": (lambda L, x: x.split(2), (5, 3)),
    "split_dim": (lambda L, x: L.split(x, 2, dim=1), (5, 3)),
    "split_sizes": (lambda L, x: x.split([1, 4]), (5, 3)),
    "split_sizes_dim": (lambda L, x: x.split([2, 1], 1), (5, 3)),
    "chunk": (lambda L, x: x.chunk(2), (5, 3)),
    "chunk_dim": (lambda L, x: L.chunk(x, 3, 1), (5, 3)),
    "chunk_more_than_size": (lambda L, x: x.chunk(8), (5, 3)),
    "unbind": (lambda L, x: x.unbind(1), (5, 3)),
    "narrow": (lambda L, x: x.narrow(1, 1, 2), (5, 3)),
    "movedim": (lambda L, x: x.movedim(0, 2), (2, 3, 4)),
    "flip": (lambda L, x: x.flip(0), (2, 3)),
    "clone": (lambda L, x: x.clone(), (2, 3)),
    "contiguous": (lambda L, x: x.contiguous(), (2, 3)),
    "contiguous_t": (lambda L, x: x.t().contiguous(), (2, 3)),
    "chain": (lambda L, x: x.unsqueeze(1).expand(2, 3, 4).permute(2, 0, 1).reshape(8, 3), (2, 4)),
}


@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_op(torch, name):
    fn, shape = SHAPE_OPS[name]
    check_op(torch, fn, randn(*shape))


@pytest.mark.parametrize("name", [n for n in SHAPE_OPS if not n.startswith("view")])
def test_shape_op_float64_non_contiguous(torch, name):
    fn, shape = SHAPE_OPS[name]
    rev = tuple(reversed(shape))
    perm = tuple(range(len(shape) - 1, -1, -1))
    check_op(torch, lambda L, x: fn(L, x.permute(*perm) if len(shape) > 1 else x),
             randn(*rev, dtype=np.float64))


@pytest.mark.parametrize("name", ["view", "reshape", "flatten", "squeeze_all", "unsqueeze",
                                  "transpose", "permute", "expand", "narrow", "split_int",
                                  "chunk", "unbind", "t", "T", "unflatten"])
def test_views_share_storage(torch, name):
    fn, shape = SHAPE_OPS[name]
    x = ember.tensor(randn(*shape))
    out = fn(ember, x)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    x.numpy()[...] = 7.0
    for o in outs:
        assert (o.numpy() == 7.0).all(), name
        assert o._vc is x._vc  # views share the version counter


def test_copies_do_not_share_storage(torch):
    x = ember.tensor(randn(2, 3))
    for fn in (lambda t: t.clone(), lambda t: t.repeat(1, 1), lambda t: ember.cat([t]),
               lambda t: ember.stack([t]), lambda t: t.t().contiguous(),
               lambda t: t.t().reshape(-1), lambda t: t.flip(0)):
        out = fn(x)
        x.numpy()[...] = 5.0
        assert not (out.numpy() == 5.0).all()
        x.numpy()[...] = 0.0


def test_contiguity_flags_and_strides(torch):
    for fn in (lambda L, x: x, lambda L, x: x.t(), lambda L, x: x.t().contiguous(),
               lambda L, x: x[:, ::2] if L is torch else x[:, ::2],
               lambda L, x: x.unsqueeze(1), lambda L, x: x.expand(2, 2, 4)[0],
               lambda L, x: x.permute(1, 0)):
        a = randn(2, 4)
        e, t = fn(ember, ember.tensor(a)), fn(torch, torch.tensor(a))
        assert e.is_contiguous() == t.is_contiguous()
        assert tuple(e.stride()) == tuple(t.stride())
        assert e.shape == tuple(t.shape)


def test_size_type_and_repr(torch):
    e = ember.zeros(6, 1, 5, 5)
    t = torch.zeros(6, 1, 5, 5)
    assert repr(e.shape) == repr(t.shape).replace("torch.", "ember.") == \
        "ember.Size([6, 1, 5, 5])"
    assert str(e.size()) == "ember.Size([6, 1, 5, 5])"
    assert isinstance(e.shape, ember.Size) and isinstance(e.shape, tuple)
    assert e.shape == (6, 1, 5, 5) and e.shape[1:] == t.shape[1:]
    assert isinstance(e.shape[1:], ember.Size)
    assert e.size(0) == 6 and e.size(-1) == 5
    assert e.shape.numel() == t.shape.numel() == 150
    assert repr(ember.zeros(()).shape) == "ember.Size([])"
    assert ember.Size([2, 3]) == torch.Size([2, 3])


def test_cat_and_stack_promote_dtypes(torch):
    a, b = randn(2, 3), np.arange(6).reshape(2, 3)
    for fn in (lambda L, x, y: L.cat([x, y]), lambda L, x, y: L.stack([x, y]),
               lambda L, x, y: L.cat([x.double(), x])):
        check_op(torch, fn, a, b)


def test_cat_skips_legacy_empty_tensors(torch):
    a = randn(2, 3)
    check_op(torch, lambda L, x: L.cat([x, L.tensor([]), x]), a)


def test_split_and_chunk_edge_sizes(torch):
    for n, k in ((6, 3), (7, 3), (2, 5), (0, 2), (5, 5)):
        a = randn(n, 2)
        check_op(torch, lambda L, x: x.chunk(k), a)
        if n:
            check_op(torch, lambda L, x: x.split(k), a)


def _raises_same(torch, fn, match_message=True):
    e, t = ember.tensor(randn(2, 3)), torch.tensor(randn(2, 3))
    ee, et = same_error(torch, lambda: fn(ember, e), lambda: fn(torch, t))
    if match_message:
        assert str(ee) == str(et), (str(ee), str(et))


@pytest.mark.parametrize("fn", [
    lambda L, x: x.view(4, 2), lambda L, x: x.reshape(5, -1), lambda L, x: x.view(-1, -1),
    lambda L, x: x.reshape(4, 4), lambda L, x: x.t().view(6),
    lambda L, x: x.expand(2, 4), lambda L, x: x.expand(3), lambda L, x: x.expand(-1, 2, 3),
    lambda L, x: L.cat([x, x.t()]), lambda L, x: L.cat([x, x.sum(0)]),
    lambda L, x: L.stack([x, x.t()]), lambda L, x: x.split([1, 2]),
    lambda L, x: x.unflatten(1, (2, 2)), lambda L, x: x.flatten(1, 0),
    lambda L, x: x.permute(0, 0), lambda L, x: x.permute(1, 0, 2),
    lambda L, x: x.repeat(2), lambda L, x: x.unsqueeze(0).t(),
    lambda L, x: x.narrow(1, 2, 2), lambda L, x: x.chunk(0), lambda L, x: L.cat([]),
    lambda L, x: L.stack([]), lambda L, x: L.cat([x.sum(), x.sum()]),
    lambda L, x: x.repeat(-1, 1), lambda L, x: x.squeeze((0, 0)),
])
def test_bad_shapes_raise_like_torch(torch, fn):
    _raises_same(torch, fn)


@pytest.mark.parametrize("fn", [
    lambda L, x: x.view(2.5), lambda L, x: x.view(-1, 2.0), lambda L, x: x.reshape("a"),
    lambda L, x: x.sum("a"), lambda L, x: L.stack([x, 3]), lambda L, x: L.cat([x, 3]),
    lambda L, x: L.cat(x), lambda L, x: L.stack(x), lambda L, x: x.narrow(0, -5, 1),
    lambda L, x: x.expand(2.0, 3), lambda L, x: x.permute(0, 1.0),
])
def test_bad_argument_types_raise_like_torch(torch, fn):
    _raises_same(torch, fn, match_message=False)


@pytest.mark.parametrize("fn", [
    lambda L, x: x.transpose(0, 2), lambda L, x: x.transpose(-3, 1), lambda L, x: x.squeeze(2),
    lambda L, x: x.unsqueeze(3), lambda L, x: x.unsqueeze(-4), lambda L, x: x.flatten(0, 2),
    lambda L, x: x.permute(0, 2), lambda L, x: L.cat([x, x], 2), lambda L, x: L.stack([x], 3),
    lambda L, x: x.split(1, 2), lambda L, x: x.chunk(2, -3), lambda L, x: x.unbind(2),
    lambda L, x: x.narrow(2, 0, 1), lambda L, x: x.size(2), lambda L, x: x.movedim(0, 2),
    lambda L, x: x.flip(2), lambda L, x: x.unflatten(2, (1, 3)), lambda L, x: x.squeeze((0, 2)),
])
def test_bad_dims_raise_index_error(torch, fn):
    _raises_same(torch, fn)


def test_dim_out_of_range_message_names_the_range(torch):
    ee, et = same_error(torch, lambda: ember.ones(2, 3).transpose(0, 2),
                        lambda: torch.ones(2, 3).transpose(0, 2))
    assert isinstance(ee, IndexError)
    assert str(ee) == "Dimension out of range (expected to be in range of [-2, 1], but got 2)"
    ee, et = same_error(torch, lambda: ember.ones(2, 3).unsqueeze(3),
                        lambda: torch.ones(2, 3).unsqueeze(3))
    assert str(ee) == str(et)


def test_expand_error_message(torch):
    ee, et = same_error(torch, lambda: ember.ones(2, 3).expand(2, 4),
                        lambda: torch.ones(2, 3).expand(2, 4))
    assert str(ee) == str(et)


def test_expanded_gradient_sums_back(torch):
    check_op(torch, lambda L, x: (x.expand(3, 4) * L.arange(12.0).view(3, 4)).sum(0), randn(1, 4))
    check_op(torch, lambda L, x: x.expand(2, 3, 4).transpose(0, 2), randn(3, 1))


@pytest.mark.parametrize("args", [(1, 0), (-2, 1), ((1, 2), (0, 1)), (3, None), (7, -1),
                                  ((1, -1), (1, 0))], ids=str)
def test_roll(torch, args):
    shifts, dims = args
    check_op(torch, lambda L, x: x.roll(shifts, dims), randn(3, 4))
    check_op(torch, lambda L, x: L.roll(x.t(), shifts, dims), randn(4, 3))
