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
