"""Helpers for differential tests: run the same code on torch and ember and compare."""
from __future__ import annotations

import numpy as np

import ember


def to_np(t):
    """A NumPy array from a torch or ember tensor (detached)."""
    if isinstance(t, ember.Tensor):
        return t.detach().numpy()
    return t.detach().cpu().numpy()


def assert_close(e, t, rtol=1e-5, atol=1e-6, check_dtype=True):
    """Compare an ember result with a torch result: shape, dtype name and values."""
    if isinstance(e, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            assert_close(a, b, rtol, atol, check_dtype)
        return
    if e is None or t is None:
        assert e is None and t is None, (e, t)
        return
    if not isinstance(e, ember.Tensor):
        assert np.allclose(e, t, rtol=rtol, atol=atol), (e, t)
        return
    assert tuple(e.shape) == tuple(t.shape), (tuple(e.shape), tuple(t.shape))
    if check_dtype:
        assert str(e.dtype).replace("ember.", "") == str(t.dtype).replace("torch.", ""), \
            (e.dtype, t.dtype)
    np.testing.assert_allclose(to_np(e).astype(np.float64), to_np(t).astype(np.float64),
                               rtol=rtol, atol=atol, equal_nan=True)


def pair(torch, array, requires_grad=False):
    """The same values as an ember tensor and a torch tensor."""
    a = np.array(array)
    e = ember.tensor(a.copy(), requires_grad=requires_grad)
    t = torch.tensor(a.copy(), requires_grad=requires_grad)
    return e, t


def same_error(torch, fn_e, fn_t):
    """Both calls raise, with the same exception type; returns the two exceptions."""
    import pytest
    with pytest.raises(Exception) as te:
        fn_t()
    with pytest.raises(Exception) as ee:
        fn_e()
    assert type(ee.value).__name__ == type(te.value).__name__ or \
        isinstance(ee.value, type(te.value)), (ee.value, te.value)
    return ee.value, te.value


def _flat_outputs(out):
    if isinstance(out, (tuple, list)):
        r = []
        for o in out:
            r.extend(_flat_outputs(o))
        return r
    return [out]


def check_op(torch, fn, *inputs, grad=True, rtol=1e-5, atol=1e-6, names=True, seed=0):
    """Run `fn(lib, *tensors)` with lib = torch and lib = ember on the same inputs and compare.

    `inputs` are NumPy arrays (made tensors; floating ones require grad when `grad`) or other
    values passed through unchanged. Compared: every output's shape, dtype and values, the
    grad_fn class names, and, after backward with the same random grad_outputs, every input's
    gradient. Returns (ember outputs, torch outputs)."""
    rng = np.random.default_rng(seed)
    results = []
    for lib in (torch, ember):
        args = []
        for a in inputs:
            if isinstance(a, np.ndarray):
                rg = grad and a.dtype.kind == "f"
                args.append(lib.tensor(a.copy(), requires_grad=rg))
            else:
                args.append(a)
        outs = _flat_outputs(fn(lib, *args))
        results.append((args, outs))
    (targs, touts), (eargs, eouts) = results
    assert len(eouts) == len(touts), (len(eouts), len(touts))
    for e, t in zip(eouts, touts):
        assert_close(e, t, rtol, atol)
        if names and isinstance(t, torch.Tensor):
            tn = type(t.grad_fn).__name__ if t.grad_fn is not None else None
            en = type(e.grad_fn).__name__ if e.grad_fn is not None else None
            assert en == tn, (en, tn)
        if isinstance(t, torch.Tensor):
            assert e.requires_grad == t.requires_grad, (e.requires_grad, t.requires_grad)
    diff = [(e, t) for e, t in zip(eouts, touts) if isinstance(t, torch.Tensor)
            and t.requires_grad]
    if grad and diff:
        gos = [rng.standard_normal(t.shape).astype(to_np(t).dtype) for _, t in diff]
        torch.autograd.backward([t for _, t in diff], [torch.tensor(g) for g in gos])
        ember.autograd.backward([e for e, _ in diff], [ember.tensor(g) for g in gos])
        for e, t in zip(eargs, targs):
            if isinstance(t, torch.Tensor) and t.requires_grad:
                assert_close(e.grad, t.grad, rtol * 10, atol * 10)
    return eouts, touts


def backward_and_compare_grads(torch, te, tt, oe, ot, tol, rng):
    """Backpropagate one random output gradient through both frameworks' results and compare
    every input gradient; a gradient sums over batch and pixels, so the absolute tolerance
    grows with the square root of that count. Inputs not requiring grad must get none."""
    g = rng.standard_normal(ot.shape).astype(ot.detach().numpy().dtype)
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    scale = dict(tol, atol=tol["atol"] * max(1, g.size // g.shape[1]) ** 0.5)
    for e, t in zip(te, tt):
        if e is None:
            continue
        if e.requires_grad:
            assert_close(e.grad, t.grad, **scale)
        else:
            assert e.grad is None
