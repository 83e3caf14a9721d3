"""ember.utils.checkpoint against torch.utils.checkpoint: outputs and every gradient equal to
an unchecked run (dropout masks repeat in the recomputation), both use_reentrant modes, inputs
with and without requires_grad, several outputs and non-tensor arguments, checkpoint_sequential,
the warnings, and no activation graph kept in forward."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.utils.checkpoint  # noqa: F401
from helpers import assert_close

X = np.random.default_rng(37).standard_normal((3, 4)).astype(np.float32)


def _net(fw):
    fw.manual_seed(0)
    return fw.nn.Sequential(fw.nn.Linear(4, 8), fw.nn.Dropout(0.5), fw.nn.Tanh(),
                            fw.nn.Linear(8, 8), fw.nn.ReLU(), fw.nn.Linear(8, 2))


def _run(fw, reentrant, x_grad, how):
    import importlib
    importlib.import_module(fw.__name__ + ".utils.checkpoint")
    net = _net(fw)
    x = fw.tensor(X, requires_grad=x_grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if how == "checkpoint":
            y = fw.utils.checkpoint.checkpoint(net, x, use_reentrant=reentrant)
        else:
            y = fw.utils.checkpoint.checkpoint_sequential(net, 3, x, use_reentrant=reentrant)
    (y * y).sum().backward()
    return [y, x.grad] + [p.grad for p in net.parameters()]


@pytest.mark.parametrize("how", ["checkpoint", "sequential"])
@pytest.mark.parametrize("reentrant,x_grad", [(False, True), (False, False), (True, True),
                                              (True, False)])
def test_matches_torch(torch, how, reentrant, x_grad):
    if reentrant and not x_grad and how == "checkpoint":
        # the reentrant variant's output does not require grad then: backward raises in both
        for fw in (ember, torch):
            with pytest.raises(RuntimeError, match="does not require grad"):
                _run(fw, reentrant, x_grad, how)
        return
    for e, t in zip(_run(ember, reentrant, x_grad, how), _run(torch, reentrant, x_grad, how)):
        assert_close(e, t, rtol=1e-5, atol=1e-6)


def test_same_as_unchecked_and_no_graph_kept():
    net = _net(ember)
    x = ember.tensor(X, requires_grad=True)
    kept = []

    def fn(t, scale, *, shift=0.0):  # several outputs, non-tensor arguments
        h = net[0](t)
        kept.append(h.grad_fn)
        return h * scale + shift, h.sum()

    a, b = ember.utils.checkpoint.checkpoint(fn, x, 2.0, use_reentrant=False, shift=1.0)
    assert kept[0] is None  # the forward recorded nothing inside fn
    (a.sum() + b).backward()
    ga, gw = x.grad.clone(), net[0].weight.grad.clone()
    x.grad = None
    net.zero_grad()
    a2, b2 = fn(x, 2.0, shift=1.0)
    (a2.sum() + b2).backward()
    np.testing.assert_allclose(ga.numpy(), x.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(gw.numpy(), net[0].weight.grad.numpy(), rtol=1e-6)


def test_warnings_like_torch(torch):
    import torch.utils.checkpoint  # noqa: F401
    for fw in (ember, torch):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            fw.utils.checkpoint.checkpoint(lambda t: t * 2, fw.ones(2))
        msgs = [str(m.message) for m in w]
        assert any("use_reentrant parameter should be passed explicitly" in m for m in msgs)
        assert any("None of the inputs have requires_grad=True" in m for m in msgs)
    with pytest.raises(ValueError):
        ember.utils.checkpoint.checkpoint(lambda t, k=1: t, ember.ones(1), use_reentrant=True, k=2)


def test_context_fn_is_refused_naming_it():
    with pytest.raises(NotImplementedError, match="context_fn"):
        ember.utils.checkpoint.checkpoint(lambda t: t * 2, ember.ones(2, requires_grad=True),
                                          use_reentrant=False, context_fn=lambda: (None, None))
