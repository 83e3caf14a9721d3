"""relu_ / F.relu(inplace=True) / nn.ReLU(True) computing straight into the overwritten array
(ops/elementwise.py _ReluInplace) against torch: values, the node's name, gradients, special
values, views, no-grad tensors, integer tensors, float64, and the errors torch raises (a saved
tensor overwritten, an expanded tensor, a leaf that requires grad)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from helpers import assert_close

RNG = np.random.default_rng(31)
# (NaN left out: relu's backward, in place or not, gives NaN inputs a zero gradient where
# torch passes the gradient through; a known difference of ReluBackward0, not of relu_)
SPECIAL = [0.0, -0.0, 1.5, -1.5, np.inf, -np.inf, 1e-30, -1e-30]


def _values(dtype, n=48):
    a = RNG.standard_normal(n) * 3
    a[:len(SPECIAL)] = SPECIAL
    return a.astype(dtype)


@pytest.mark.parametrize("how", ["method", "functional", "module"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_inplace_matches_torch(torch, how, dtype):
    a = _values(dtype).reshape(6, 8)
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    he, ht = xe * 2, xt * 2
    if how == "method":
        re, rt = he.relu_(), ht.relu_()
    elif how == "functional":
        re, rt = EF.relu(he, inplace=True), torch.nn.functional.relu(ht, inplace=True)
    else:
        re, rt = ember.nn.ReLU(True)(he), torch.nn.ReLU(True)(ht)
    assert re is he
    assert type(he.grad_fn).__name__ == type(ht.grad_fn).__name__ == "ReluBackward0"
    assert_close(he, ht, rtol=0, atol=0)
    assert (np.signbit(he.detach().numpy()) == np.signbit(ht.detach().numpy())).all()
    g = RNG.standard_normal(a.shape).astype(dtype)
    he.backward(ember.tensor(g))
    ht.backward(torch.tensor(g))
    assert_close(xe.grad, xt.grad, rtol=0, atol=0)


def test_relu_inplace_view_no_grad_and_integers(torch):
    a = RNG.standard_normal((4, 6)).astype(np.float32)
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    be, bt = xe * 1, xt * 1
    be[1:3].relu_()
    bt[1:3].relu_()
    assert_close(be, bt, rtol=0, atol=0)
    (be * be).sum().backward()
    (bt * bt).sum().backward()
    assert_close(xe.grad, xt.grad, rtol=1e-6, atol=0)
    ne, nt = ember.tensor(a.copy()), torch.tensor(a.copy())
    ne.relu_()
    nt.relu_()
    assert_close(ne, nt, rtol=0, atol=0)
    ie = ember.tensor(np.array([-3, 0, 5], np.int64))
    it = torch.tensor(np.array([-3, 0, 5], np.int64))
    ie.relu_()
    it.relu_()
    assert ie.dtype == ember.int64
    np.testing.assert_array_equal(ie.numpy(), it.numpy())


def test_relu_inplace_errors(torch):
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    # overwriting a tensor another node saved: backward fails in both
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ye, yt = xe * 1, xt * 1
    ze, zt = ye * ye, yt * yt
    ye.relu_()
    yt.relu_()
    with pytest.raises(RuntimeError) as te:
        zt.sum().backward()
    with pytest.raises(type(te.value), match="modified by an inplace operation"):
        ze.sum().backward()
    # a leaf that requires grad
    with pytest.raises(RuntimeError) as te:
        torch.tensor(a, requires_grad=True).relu_()
    with pytest.raises(type(te.value), match="leaf Variable"):
        ember.tensor(a, requires_grad=True).relu_()
    # an expanded tensor: untouched
    ee = ember.tensor(a[:1]).expand(3, 4)
    with pytest.raises(RuntimeError):
        torch.tensor(a[:1]).expand(3, 4).relu_()
    with pytest.raises(RuntimeError):
        ee.relu_()
    np.testing.assert_array_equal(ee.numpy(), np.broadcast_to(a[:1], (3, 4)))


def test_relu_inplace_nan_values(torch):
    a = np.array([np.nan, -1.0, 2.0, -0.0], np.float32)
    ne, nt = ember.tensor(a.copy()), torch.tensor(a.copy())
    ne.relu_()
    nt.relu_()
    np.testing.assert_array_equal(ne.numpy(), nt.numpy())
    assert (np.signbit(ne.numpy()) == np.signbit(nt.numpy())).all()
