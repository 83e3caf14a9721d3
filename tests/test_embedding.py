"""Embedding and F.embedding against torch: lookup, weight gradient (repeated indices,
padding_idx, scale_grad_by_freq), max_norm renormalisation, reprs, errors, gradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck
from helpers import assert_close, same_error

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("max_norm", [None, 1.0])
def test_functional_embedding(torch, padding_idx, scale, max_norm):
    w = RNG.standard_normal((6, 4)).astype(np.float32)
    idx = np.array([[1, 3, 3], [0, 5, 1]])
    we, wt = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    oe = F.embedding(ember.tensor(idx), we, padding_idx, max_norm, 2.0, scale)
    ot = torch.nn.functional.embedding(torch.tensor(idx), wt, padding_idx, max_norm, 2.0, scale)
    assert_close(oe, ot)
    assert type(oe.grad_fn).__name__ == "EmbeddingBackward0"
    g = RNG.standard_normal(tuple(ot.shape)).astype(np.float32)
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    assert_close(we.grad, wt.grad)
    assert_close(we.detach(), wt.detach())  # max_norm rescales rows in place


def test_module_padding_idx_and_training_step(torch):
    tm = torch.nn.Embedding(10, 3, padding_idx=2)
    em = nn.Embedding(10, 3, padding_idx=2)
    assert np.all(em.weight.detach().numpy()[2] == 0)
    em.weight._data[...] = tm.weight.detach().numpy()
    idx = np.array([[2, 4, 4, 9], [1, 2, 0, 4]])
    for ie, it in ((ember.tensor(idx), torch.tensor(idx)),
                   (ember.tensor(idx.astype(np.int32)), torch.tensor(idx.astype(np.int32)))):
        oe, ot = em(ie), tm(it)
        assert_close(oe, ot)
        oe.sum().backward()
        ot.sum().backward()
        assert_close(em.weight.grad, tm.weight.grad)
        assert np.all(em.weight.grad.numpy()[2] == 0)


def test_embedding_unbatched_and_scalar_index(torch):
    w = RNG.standard_normal((5, 3)).astype(np.float32)
    for idx in (np.array(3), np.array([4, 0, 4])):
        assert_close(F.embedding(ember.tensor(idx), ember.tensor(w)),
                     torch.nn.functional.embedding(torch.tensor(idx), torch.tensor(w)))


def test_from_pretrained(torch):
    w = RNG.standard_normal((4, 2)).astype(np.float32)
    e = nn.Embedding.from_pretrained(ember.tensor(w))
    t = torch.nn.Embedding.from_pretrained(torch.tensor(w))
    assert repr(e) == repr(t)
    assert e.weight.requires_grad is t.weight.requires_grad is False
    assert_close(e(ember.tensor([1, 3])), t(torch.tensor([1, 3])))
    e2 = nn.Embedding.from_pretrained(ember.tensor(w), freeze=False, padding_idx=1)
    assert e2.weight.requires_grad and e2.padding_idx == 1


def test_reprs_and_state_dict(torch):
    makers = [
        lambda nn: nn.Embedding(10, 3),
        lambda nn: nn.Embedding(10, 3, padding_idx=0, max_norm=2.0, norm_type=3.0,
                                scale_grad_by_freq=True),
        lambda nn: nn.Embedding(10, 3, padding_idx=-1),
    ]
    for make in makers:
        e, t = make(nn), make(torch.nn)
        assert repr(e) == repr(t)
        assert e.padding_idx == t.padding_idx
        assert list(e.state_dict()) == list(t.state_dict()) == ["weight"]


def test_default_init_is_standard_normal():
    ember.manual_seed(0)
    w = nn.Embedding(1000, 20).weight.detach().numpy()
    assert w.dtype == np.float32
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02


@pytest.mark.parametrize("call", [
    lambda F, T: F.embedding(T.tensor([1.0]), T.zeros(5, 3)),
    lambda F, T: F.embedding(T.tensor([5]), T.zeros(5, 3)),
    lambda F, T: F.embedding(T.tensor([-1]), T.zeros(5, 3)),
    lambda F, T: F.embedding(T.tensor([1]), T.zeros(5, 3), padding_idx=7),
    lambda F, T: F.embedding(T.tensor([1]), T.zeros(5)),
])
def test_errors(torch, call):
    ee, et = same_error(torch, lambda: call(F, ember), lambda: call(torch.nn.functional, torch))
    assert str(ee).replace("ember.", "torch.") == str(et)


@pytest.mark.parametrize("padding_idx", [10, -11])
def test_padding_idx_out_of_range(torch, padding_idx):
    ee, et = same_error(torch, lambda: nn.Embedding(10, 3, padding_idx=padding_idx),
                        lambda: torch.nn.Embedding(10, 3, padding_idx=padding_idx))
    assert str(ee) == str(et)


def test_gradcheck():
    w = ember.tensor(RNG.standard_normal((5, 3)), requires_grad=True)
    idx = ember.tensor([[0, 4, 4], [2, 0, 1]])
    # (padding_idx and scale_grad_by_freq change the gradient on purpose: compared with torch above)
    assert gradcheck(lambda w: F.embedding(idx, w), (w,))
