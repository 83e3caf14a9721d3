"""ops/conv_layout.py: the batch-first <-> batch-last transposes (OpenBLAS ?omatcopy, with
NumPy's copy as the fallback) give exactly NumPy's transposes, for float32/float64, other
dtypes, non-contiguous inputs, crops, a bias and empty arrays."""
from __future__ import annotations

import numpy as np
import pytest

from ember.ops import conv_layout as cl

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.float16])
@pytest.mark.parametrize("shape", [(64, 8, 7, 5), (1, 3, 2, 2), (5, 1, 1, 1), (3, 4, 9)])
def test_batch_last_is_moveaxis(dtype, shape):
    a = (RNG.standard_normal(shape) * 100).astype(dtype)
    got = cl.batch_last(a)
    assert got.flags.c_contiguous and got.dtype == a.dtype
    np.testing.assert_array_equal(got, np.moveaxis(a, 0, -1))


def test_batch_last_non_contiguous_and_empty():
    a = RNG.standard_normal((6, 10, 5, 4)).astype(np.float32)
    for v in (a[:, ::2], a.transpose(0, 1, 3, 2), np.broadcast_to(a[:1], a.shape)):
        np.testing.assert_array_equal(cl.batch_last(v), np.moveaxis(v, 0, -1))
    e = np.zeros((0, 3, 2, 2), np.float32)
    assert cl.batch_last(e).shape == (3, 2, 2, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_batch_first_is_transpose(dtype):
    full = (RNG.standard_normal((6, 9, 8, 16)) * 100).astype(dtype)
    for a in (full, full[:, 1:8, :7], full[::2, :, ::3], full.transpose(0, 2, 1, 3)):
        got = cl.batch_first(a)
        assert got.flags.c_contiguous and got.dtype == a.dtype
        np.testing.assert_array_equal(got, a.transpose(3, 0, 1, 2))


def test_batch_first_bias_and_promotion():
    a = RNG.standard_normal((5, 4, 3, 7)).astype(np.float32)
    b32 = RNG.standard_normal(5).astype(np.float32)
    np.testing.assert_allclose(cl.batch_first(a, b32),
                               a.transpose(3, 0, 1, 2) + b32.reshape(-1, 1, 1), rtol=1e-6)
    b64 = b32.astype(np.float64)
    got = cl.batch_first(a, b64)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, a.transpose(3, 0, 1, 2) + b64.reshape(-1, 1, 1))
    assert cl.batch_first(np.zeros((3, 2, 2, 0), np.float32)).shape == (0, 3, 2, 2)


def test_omatcopy_is_used_for_float32():
    """The fast route is the one taken (not only the fallback) where NumPy's BLAS is OpenBLAS."""
    from threadpoolctl import threadpool_info
    assert any(i.get("internal_api") == "openblas" for i in threadpool_info())
    assert cl._omatcopy(np.dtype(np.float32)) is not None
    assert cl._omatcopy(np.dtype(np.float64)) is not None
