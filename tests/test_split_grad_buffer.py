"""Attention's q/k/v gradients written into one buffer laid out as the projection they were split
from (ops/attention.py _shared_grads), which split's backward passes on whole instead of
concatenating (ops/shape.py _tiled_base): a GPT block's chain against torch (values and every
gradient) with no cat run, and the cases that must keep the cat: self-attention on one tensor,
a piece used twice, a retained piece gradient, and a user's gradient that is views of one array."""
import numpy as np
import pytest

import ember
from ember.ops import shape as shape_ops
from ember.ops.attention import _shared_grads

B, T, C, H = 2, 8, 16, 4


def _chain(lib, x, w, b, wp, *, retain=False, extra=False, dropout=False):
    F = lib.nn.functional
    qkv = F.linear(x, w, b)
    q, k, v = qkv.split(C, dim=2)
    if retain:
        q.retain_grad()
    heads = [t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v)]
    y = F.scaled_dot_product_attention(*heads, is_causal=True)
    y = y.transpose(1, 2).contiguous().view(B, T, C)
    out = F.linear(y, wp)
    if extra:
        out = out + k.sum() * 0.5
    return out, q


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((B, T, C)).astype(np.float32),
            (rng.standard_normal((3 * C, C)) * 0.3).astype(np.float32),
            rng.standard_normal(3 * C).astype(np.float32),
            (rng.standard_normal((C, C)) * 0.3).astype(np.float32),
            rng.standard_normal((B, T, C)).astype(np.float32))


@pytest.mark.parametrize("variant", ["plain", "retain", "extra"])
def test_gpt_attention_chain_gradients_match_torch(torch, monkeypatch, variant):
    arrays = _data()
    res = {}
    for name, lib in (("torch", torch), ("ember", ember)):
        x, w, b, wp = (lib.tensor(a, requires_grad=True) for a in arrays[:4])
        out, q = _chain(lib, x, w, b, wp, retain=variant == "retain", extra=variant == "extra")
        if name == "ember" and variant == "plain":
            def no_cat(*a, **k):
                raise AssertionError("split's backward concatenated")
            monkeypatch.setattr(shape_ops, "cat", no_cat)
        out.backward(lib.tensor(arrays[4]))
        monkeypatch.undo()
        res[name] = [out.detach().numpy()] + [t.grad.numpy() for t in (x, w, b, wp)] + (
            [q.grad.numpy()] if variant == "retain" else [])
    for e, t in zip(res["ember"], res["torch"]):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-5)


def test_shared_grads_views_and_refusals():
    own = np.zeros((B, T, 3 * C), np.float32)
    q, k, v = (own[..., i * C:(i + 1) * C].reshape(B, T, H, C // H).transpose(0, 2, 1, 3)
               for i in range(3))
    views = _shared_grads(q, k, v)
    assert views is not None
    buf = views[0].base
    assert buf.shape == own.shape and all(g.base is buf for g in views)
    for g, a in zip(views, (q, k, v)):
        assert g.strides == a.strides and g.shape == a.shape
    buf[...] = 0.0  # (np.empty's memory: whatever an earlier test left there)
    views[1][...] = 1.0  # k's view is the middle third of the buffer
    assert np.all(buf[..., C:2 * C] == 1.0) and not np.any(buf[..., :C] == 1.0)
    assert _shared_grads(q, q, v) is None  # one tensor twice (self-attention)
    assert _shared_grads(q, k, v.copy()) is None  # not views of one array
    assert _shared_grads(q.astype(np.float64), k, v) is None


def test_self_attention_on_one_tensor_matches_torch(torch):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((B, H, T, C // H)).astype(np.float32)
    g = rng.standard_normal((B, H, T, C // H)).astype(np.float32)
    grads = {}
    for name, lib in (("torch", torch), ("ember", ember)):
        x = lib.tensor(a, requires_grad=True)
        y = lib.nn.functional.scaled_dot_product_attention(x, x, x, is_causal=True)
        y.backward(lib.tensor(g))
        grads[name] = x.grad.numpy()
    np.testing.assert_allclose(grads["ember"], grads["torch"], rtol=1e-4, atol=1e-5)


def test_user_gradient_views_still_concatenated(torch):
    """cat's backward hands split's backward views of the caller's gradient: the leaf gets a
    copy of it, never the caller's array."""
    g = np.arange(12, dtype=np.float32).reshape(4, 3)
    x = ember.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    a, b = x.split(2, dim=0)
    gt = ember.tensor(g)
    ember.cat([a, b], 0).backward(gt)
    np.testing.assert_array_equal(x.grad.numpy(), g)
    assert not np.shares_memory(x.grad.numpy(), gt.numpy())
    xt = torch.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    torch.cat(list(xt.split(2, dim=0)), 0).backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_tiled_base_only_for_its_own_buffers():
    own = np.zeros((2, 6), np.float32)
    pieces = [ember.tensor(0) for _ in range(2)]
    pieces[0]._data, pieces[1]._data = own[:, :3], own[:, 3:]
    assert shape_ops._tiled_base(pieces, 1, own.shape) is None  # a caller's array
    buf = shape_ops.split_grad_buffer((2, 6), np.float32)
    pieces[0]._data, pieces[1]._data = buf[:, :3], buf[:, 3:]
    whole = shape_ops._tiled_base(pieces, 1, (2, 6))
    assert whole.base is buf and np.shares_memory(whole, buf)
    pieces[0]._data, pieces[1]._data = buf[:, 3:], buf[:, :3]  # out of order
    assert shape_ops._tiled_base(pieces, 1, (2, 6)) is None
    pieces[1]._data = buf[:, 4:]  # not all of it
    pieces[0]._data = buf[:, :3]
    assert shape_ops._tiled_base(pieces, 1, (2, 6)) is None
