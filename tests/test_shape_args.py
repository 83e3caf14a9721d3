"""view/reshape size arguments (ops/shape.py _shape_arg/_infer_shape, whose plain-int calls
skip the conversions): the shapes torch gives and its exception types, for plain ints, -1, NumPy
ints, 0-dim integer tensors, lists, floats and bad sizes."""
import numpy as np
import pytest

import ember

ARGS = [(2, 6), (3, -1), (-1,), (12,), ((4, 3),), ([2, 2, 3],), (np.int64(4), 3),
        ("T", 3), (0, 5), (2, 2, 3, 1), (-2, -6), (-1, -1), (5, 3), (5, -1),
        (2.0, 6), (-3, -4), (12, 0)]  # (a bool size: torch reads True as 1, ember refuses)


def _conv(lib, args):
    return tuple(lib.tensor(4) if a == "T" else a for a in args)


@pytest.mark.parametrize("args", ARGS, ids=str)
@pytest.mark.parametrize("method", ["view", "reshape"])
def test_size_arguments_as_torch(torch, args, method):
    res = {}
    for name, lib in (("torch", torch), ("ember", ember)):
        x = lib.tensor(np.arange(12, dtype=np.float32))
        try:
            res[name] = tuple(getattr(x, method)(*_conv(lib, args)).shape)
        except Exception as e:  # noqa: BLE001 - compared below
            res[name] = type(e).__name__
    assert res["ember"] == res["torch"]
