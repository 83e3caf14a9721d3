"""ember.testing.assert_close against torch.testing.assert_close: which pairs pass, and the
AssertionError messages (ember's dtype names in place of torch's)."""
from __future__ import annotations

import numpy as np
import pytest

import ember

PAIRS = [
    lambda m: (m.tensor([1., 2., 3.]), m.tensor([1., 2., 3.1])),
    lambda m: (m.tensor([1., 2., 3.]), m.tensor([1., 2., 3. + 1e-6])),
    lambda m: (m.tensor([1., 2., 3.]), m.tensor([1., 2., 3.], dtype=m.float64)),
    lambda m: (m.tensor([1., 2.]), m.tensor([1., 2., 3.])),
    lambda m: (1.0, 1.1),
    lambda m: (1.0, 1.0 + 1e-9),
    lambda m: (m.tensor([[1, 2], [3, 4]]), m.tensor([[1, 2], [3, 5]])),
    lambda m: ([m.tensor(1.)], [m.tensor(2.)]),
    lambda m: ({"a": m.tensor(1.)}, {"a": m.tensor(2.)}),
    lambda m: (m.tensor([float("nan"), 1.]), m.tensor([float("nan"), 1.])),
    lambda m: (m.tensor([float("inf"), 1.]), m.tensor([float("inf"), 1.])),
    lambda m: (m.tensor([1., 2.], dtype=m.float64), m.tensor([1., 2. + 1e-8], dtype=m.float64)),
    lambda m: (m.tensor([1., 2.], dtype=m.float64), m.tensor([1., 2. + 1e-5], dtype=m.float64)),
    lambda m: (m.tensor([True, False]), m.tensor([True, True])),
    lambda m: ((m.tensor([1.]), 2), (m.tensor([1.]), 2)),
    lambda m: (m.tensor(3), m.tensor(4)),  # 0-d integers: exact
]


def _outcome(mod, pair, **kw):
    a, b = pair(mod)
    try:
        mod.testing.assert_close(a, b, **kw)
        return None
    except AssertionError as e:
        return str(e).replace("torch.", "").replace("ember.", "")


@pytest.mark.parametrize("i", range(len(PAIRS)))
def test_outcome_and_message_match_torch(torch, i):
    assert _outcome(ember, PAIRS[i]) == _outcome(torch, PAIRS[i])


def test_tolerances_nan_and_custom_message(torch):
    for kw in (dict(rtol=0.1, atol=0.0), dict(rtol=0.0, atol=0.5), dict(equal_nan=True),
               dict(check_dtype=False), dict(msg="custom")):
        for pair in (PAIRS[0], PAIRS[2], PAIRS[7], PAIRS[9], PAIRS[-1]):
            assert _outcome(ember, pair, **kw) == _outcome(torch, pair, **kw)
    with pytest.raises(ValueError):
        ember.testing.assert_close(ember.ones(1), ember.ones(1), rtol=0.1)


def test_make_tensor_ranges():
    t = ember.testing.make_tensor(3, 4, dtype=ember.float32, low=-1, high=1)
    assert t.shape == (3, 4) and t.dtype == ember.float32
    assert float(t.min()) >= -1 and float(t.max()) < 1
    i = ember.testing.make_tensor((50,), dtype=ember.int64)
    assert i.dtype == ember.int64 and int(i.min()) >= -9 and int(i.max()) < 10
