"""ops/gemm_pieces.few_rows: a few-row GEMM cut into column pieces equals one GEMM, and the
convolutions that use it (stride-1 batch-last rows with few output channels) equal torch's."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import gemm_pieces
from helpers import assert_close

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("m,k,n,lead", [
    (12, 151, 6400, ()), (6, 26, 57600, ()), (16, 576, 3136, ()), (4, 300, 5000, (1,)),
    (12, 151, 3200, (2,)), (17, 151, 6400, ()), (12, 10, 100, ()), (3, 400, 1237, ())])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pieces_equal_one_product(m, k, n, lead, dtype):
    a = RNG.standard_normal(lead + (m, k)).astype(dtype)
    b = RNG.standard_normal(lead + (k, n)).astype(dtype)
    out = np.full(lead + (m, n), np.nan, dtype)
    r = gemm_pieces.few_rows(a, b, out)
    assert r is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-10)


def test_pieces_are_taken_only_for_few_rows(monkeypatch):
    calls = []
    real = gemm_pieces.gemm
    monkeypatch.setattr(gemm_pieces, "gemm", lambda a, b, out=None: calls.append(b.shape[-1])
                        or real(a, b, out=out))
    a, b = np.ones((12, 151), np.float32), np.ones((151, 3200), np.float32)
    gemm_pieces.few_rows(a, b, np.empty((12, 3200), np.float32))
    assert len(calls) > 1 and sum(calls) == 3200 and max(calls) * 12 * 151 <= 1_000_000
    for rows, cols in ((64, 3200), (12, 6400), (12, 400)):  # many rows; BLAS threads; small
        calls.clear()
        bb = np.ones((151, cols), np.float32)
        gemm_pieces.few_rows(np.ones((rows, 151), np.float32), bb,
                             np.empty((rows, cols), np.float32))
        assert calls == [cols]


@pytest.mark.parametrize("n,c,h,o,k,p", [(100, 6, 12, 12, 5, 0), (64, 16, 12, 16, 3, 0),
                                         (20, 8, 14, 4, 5, 2), (9, 32, 9, 2, 3, 1)])
def test_few_channel_convolutions_match_torch(torch, n, c, h, o, k, p):
    x = RNG.standard_normal((n, c, h, h)).astype(np.float32)
    w = RNG.standard_normal((o, c, k, k)).astype(np.float32) * 0.1
    b = RNG.standard_normal(o).astype(np.float32)
    g = None
    res = {}
    for fw in (torch, ember):
        X, W, B = (fw.tensor(v, requires_grad=True) for v in (x, w, b))
        y = fw.nn.functional.conv2d(X, W, B, padding=p)
        if g is None:
            g = RNG.standard_normal(tuple(y.shape)).astype(np.float32)
        y.backward(fw.tensor(g))
        res[fw.__name__] = (y, X.grad, W.grad, B.grad)
    for e, t in zip(res["ember"], res["torch"]):
        assert_close(e, t, rtol=1e-4, atol=1e-3)  # sums of up to 10^4 products
