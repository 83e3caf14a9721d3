"""ops/conv_phase.py's kernel transform: the separable two-stage U and its adjoint against the
direct (25, 4) Kronecker form, both tap orders, the index gather and the transposing copy used
for large weights, and convolutions through the copy route against torch."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import conv_phase as cp
from helpers import assert_close

RNG = np.random.default_rng(41)
# row 5b + a, column 2i + j: G[a, i] G[b, j]
GG = np.kron(cp._G, cp._G).reshape(5, 5, 4).transpose(1, 0, 2).reshape(25, 4)


def _taps_direct(w, kind):
    """(O', K, 2, 2) taps by the definition: conv [o, (c, r, s), i, j] = w[o, c, 2i + r, 2j + s];
    convt [(rq, cq, o), c, i, j] = w[c, o, rq + 2 - 2i, cq + 2 - 2j]."""
    A, B = w.shape[:2]
    t = np.empty((B * 4, A, 2, 2) if kind == "convt" else (A, B * 4, 2, 2), w.dtype)
    for i in range(2):
        for j in range(2):
            for r in range(2):
                for s in range(2):
                    if kind == "conv":
                        t[:, np.arange(B) * 4 + 2 * r + s, i, j] = w[:, :, 2 * i + r, 2 * j + s]
                    else:
                        rows = (2 * r + s) * B + np.arange(B)
                        t[rows, :, i, j] = w[:, :, r + 2 - 2 * i, s + 2 - 2 * j].T
    return t


@pytest.mark.parametrize("kind", ["conv", "convt"])
@pytest.mark.parametrize("most", [1 << 20, 0])  # the index gather, the transposing copy
def test_kernel_transform_and_adjoint(monkeypatch, kind, most):
    monkeypatch.setattr(cp, "_TAPS_MOST", most)
    w = RNG.standard_normal((6, 5, 4, 4))
    t = _taps_direct(w, kind)
    op, k = t.shape[:2]
    want = (GG @ t.reshape(op * k, 4).T).reshape(25, op, k)
    u = cp._kernel_transform(w, kind)
    assert u.shape == (25, op, k)
    np.testing.assert_allclose(u, want, rtol=1e-12, atol=1e-12)
    du = RNG.standard_normal((25, op, k))
    want_taps = (du.reshape(25, -1).T @ GG).reshape(op, k, 2, 2)
    for k_major in (False, True):
        d = np.ascontiguousarray(du.transpose(0, 2, 1)) if k_major else du
        got = cp._kernel_adjoint(d, kind, w.shape, k_major)
        assert got.shape == w.shape
        np.testing.assert_allclose(_taps_direct(got, kind), want_taps, rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("transposed", [False, True])
def test_copy_route_matches_torch(torch, monkeypatch, transposed):
    """The large-weight route (no index) end to end on a layer that takes the path."""
    monkeypatch.setattr(cp, "_TAPS_MOST", 0)
    if transposed:
        xs, ws = (3, 32, 7, 7), (32, 16, 4, 4)
    else:
        xs, ws = (3, 16, 14, 14), (32, 16, 4, 4)
    x = RNG.standard_normal(xs).astype(np.float32)
    w = (RNG.standard_normal(ws) / 8).astype(np.float32)
    xe, we = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    fe = F.conv_transpose2d if transposed else F.conv2d
    ft = torch.nn.functional.conv_transpose2d if transposed else torch.nn.functional.conv2d
    oe, ot = fe(xe, we, stride=2, padding=1), ft(xt, wt, stride=2, padding=1)
    assert type(oe.grad_fn).__module__ == "ember.ops.conv_phase"
    assert_close(oe, ot, rtol=1e-4, atol=1e-4)
    g = RNG.standard_normal(tuple(ot.shape)).astype(np.float32)
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    assert_close(xe.grad, xt.grad, rtol=1e-4, atol=1e-4)
    assert_close(we.grad, wt.grad, rtol=1e-4, atol=2e-3)


def test_index_cache_is_bounded():
    cp._TAPS.clear()
    for n in range(1, 40):
        cp._kernel_transform(np.zeros((n, 2, 4, 4), np.float32), "conv")
    assert 0 < len(cp._TAPS) <= 32


@pytest.mark.parametrize("T,U,Ho,Wo,ph,pw", [
    (2, 2, 14, 14, 1, 1), (2, 2, 15, 13, 0, 2), (1, 1, 8, 8, 0, 0), (1, 1, 2, 3, 3, 1),
    (3, 2, 20, 9, 2, 0), (2, 3, 16, 17, 0, 3), (1, 1, 1, 1, 0, 0), (4, 1, 25, 5, 1, 1),
])
def test_unphase_matches_grid_and_crop(T, U, Ho, Wo, ph, pw):
    """_unphase's block copies (partial and whole tiles per phase) against the plain route:
    the whole (o, t, i, rq, u, j, cq, n) grid, then cropped."""
    C, N = 3, 2
    yt = RNG.standard_normal((2, 2, 4, 4, C, T, U, N)).astype(np.float32)
    grid = np.ascontiguousarray(yt.transpose(4, 5, 3, 0, 6, 2, 1, 7))
    want = grid.reshape(C, 8 * T, 8 * U, N)[:, ph:ph + Ho, pw:pw + Wo]
    got = cp._unphase(yt, Ho, Wo, ph, pw)
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("T,U,Ho,Wo", [(2, 2, 7, 7), (2, 3, 8, 9), (1, 1, 1, 4), (3, 1, 10, 3)])
def test_untile_matches_grid_and_crop(T, U, Ho, Wo):
    src = RNG.standard_normal((3, T, 4, U, 4, 2)).astype(np.float32)
    want = src.reshape(3, 4 * T, 4 * U, 2)[:, :Ho, :Wo]
    np.testing.assert_array_equal(cp._untile(src, Ho, Wo), want)
