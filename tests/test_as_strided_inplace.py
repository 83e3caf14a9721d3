"""Tensor.as_strided_ (in-place as_strided over the storage), np.array on a tensor that
requires grad, and .cuda() on a CPU-only build: differential against torch (issue 12)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck


def _pair(torch, make):
    return make(torch), make(ember)


@pytest.mark.parametrize("size,stride,offset", [((2, 2), (1, 2), 1), ((3,), (2,), 0),
                                                ((2, 3), (3, 1), None), ((4, 1), (1, 5), 2),
                                                ((0, 3), (1, 1), 0)])
def test_as_strided_inplace_matches_torch(torch, size, stride, offset):
    t, e = _pair(torch, lambda m: m.arange(12.).reshape(3, 4))
    args = (size, stride) if offset is None else (size, stride, offset)
    rt, re = t.as_strided_(*args), e.as_strided_(*args)
    assert re is e and rt is t
    assert tuple(e.shape) == tuple(t.shape) and e.stride() == t.stride()
    assert e.storage_offset() == t.storage_offset()
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    assert e._version == t._version


def test_as_strided_inplace_shares_storage(torch):
    for m in (torch, ember):
        base = m.arange(6.)
        x = base.view(2, 3)
        x.as_strided_((2,), (2,), 1)
        x[1] = 100.0  # storage element 3
        assert base.tolist() == [0.0, 1.0, 2.0, 100.0, 4.0, 5.0]


def test_as_strided_inplace_offset_counts_the_storage(torch):
    t, e = _pair(torch, lambda m: m.arange(6.)[2:])
    assert e.storage_offset() == t.storage_offset() == 2
    t.as_strided_((2,), (1,), 0), e.as_strided_((2,), (1,), 0)
    assert e.tolist() == t.tolist() == [0.0, 1.0]
    t, e = _pair(torch, lambda m: m.arange(6.)[2:])
    t.as_strided_((2,), (2,)), e.as_strided_((2,), (2,))  # default: the tensor's own offset
    assert e.tolist() == t.tolist() == [2.0, 4.0]


def test_as_strided_inplace_autograd(torch):
    src = np.random.default_rng(0).standard_normal(6).astype(np.float32)
    grads = []
    for m in (torch, ember):
        a = m.tensor(src, requires_grad=True)
        c = a * 2
        c.as_strided_((2, 2), (1, 2), 1)
        assert type(c.grad_fn).__name__ == "AsStridedBackward1"
        (c * m.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
        grads.append(a.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0])


def test_as_strided_inplace_gradcheck():
    a = ember.randn(7, dtype=ember.float64, requires_grad=True)

    def f(a):
        c = a.clone()
        c.as_strided_((3, 2), (2, 1), 1)  # overlapping windows: gradients add up
        return c * c

    assert gradcheck(f, (a,))


def test_as_strided_inplace_errors(torch):
    for m in (torch, ember):
        with pytest.raises(RuntimeError, match="out of bounds for storage of size 24"):
            m.arange(6.).as_strided_((3,), (2,), 2)
        with pytest.raises(RuntimeError, match="mismatch in length of strides and shape"):
            m.arange(6.).as_strided_((3,), (1, 2))
        leaf = m.ones(4, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            leaf.as_strided_((2,), (1,))
        with m.no_grad():  # allowed without grad mode, as torch
            assert leaf.as_strided_((2,), (2,)).shape == (2,)


def test_np_array_of_a_tensor_requiring_grad_raises(torch):
    msg = "Can't call numpy\\(\\) on Tensor that requires grad. Use tensor.detach\\(\\).numpy"
    for m in (torch, ember):
        t = m.ones(3, requires_grad=True)
        for conv in (np.array, np.asarray):
            with pytest.raises(RuntimeError, match=msg):
                conv(t)
        np.testing.assert_array_equal(np.array(t.detach()), np.ones(3, np.float32))


def test_np_array_copies_and_asarray_shares(torch):
    for m in (torch, ember):
        t = m.zeros(2)
        np.array(t)[0] = 5
        np.asarray(t)[1] = 3
        assert t.tolist() == [0.0, 3.0]
        assert np.array(t, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("call", [lambda m: m.ones(2).cuda(), lambda m: m.ones(2).to("cuda"),
                                  lambda m: m.ones(2, device="cuda"),
                                  lambda m: m.nn.Linear(2, 2).cuda(),
                                  lambda m: m.ones(2).to("cuda:1")])
def test_cuda_on_a_cpu_build_raises_torchs_assertion(torch, call):
    for m in (torch, ember):
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            call(m)
