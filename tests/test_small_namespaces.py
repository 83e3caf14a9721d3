"""Small torch names code imports: nn.modules.utils' argument normalisers and torch.mps."""
from __future__ import annotations

import pytest

import ember


def test_modules_utils_match_torch(torch):
    from torch.nn.modules import utils as tu
    from ember.nn.modules import utils as eu
    for name in ("_single", "_pair", "_triple", "_quadruple"):
        for v in (3, (1, 2), [4, 5, 6]):
            assert getattr(eu, name)(v) == getattr(tu, name)(v)
    assert eu._ntuple(5)(2) == tu._ntuple(5)(2)
    assert eu._reverse_repeat_tuple((1, 2, 3), 2) == tu._reverse_repeat_tuple((1, 2, 3), 2)
    assert eu._list_with_default([None, 4], (2, 3, 7, 9)) == \
        tu._list_with_default([None, 4], (2, 3, 7, 9))
    with pytest.raises(ValueError):
        eu._list_with_default([None, 4], (9,))


def test_mps_reports_no_device(torch):
    assert ember.mps.is_available() is False and ember.mps.device_count() == 0
    assert ember.backends.mps.is_available() is False
    # the usual device pick falls through to the CPU
    dev = "cuda" if ember.cuda.is_available() else "mps" if ember.mps.is_available() else "cpu"
    assert dev == "cpu"
    with pytest.raises(RuntimeError, match="MPS backend is not available"):
        ember.mps.synchronize()
