"""The wider Tensor API (issue 12 item 1): functions, Tensor methods and in-place forms against
torch (values, dtypes, shapes, grad_fn names, gradients, errors), and float64 gradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck

from helpers import assert_close, check_op, same_error

RNG = np.random.default_rng(2)
X = RNG.standard_normal((3, 4)).astype(np.float32)
Y = RNG.standard_normal((3, 4)).astype(np.float32)
U = RNG.uniform(-0.9, 0.9, (3, 4)).astype(np.float32)
G = RNG.uniform(1.1, 3.0, (3, 4)).astype(np.float32)
B = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)

# name -> (function of (lib, *tensors), inputs)
UNARY = {
    "tan": (lambda L, a: L.tan(a), (U,)), "sinh": (lambda L, a: L.sinh(a), (X,)),
    "cosh": (lambda L, a: L.cosh(a), (X,)), "asin": (lambda L, a: L.asin(a), (U,)),
    "acos": (lambda L, a: L.acos(a), (U,)), "atan": (lambda L, a: L.atan(a), (X,)),
    "asinh": (lambda L, a: L.asinh(a), (X,)), "acosh": (lambda L, a: L.acosh(a), (G,)),
    "atanh": (lambda L, a: L.atanh(a), (U,)), "arcsin": (lambda L, a: L.arcsin(a), (U,)),
    "arccos": (lambda L, a: L.arccos(a), (U,)), "arctan": (lambda L, a: L.arctan(a), (X,)),
    "arcsinh": (lambda L, a: L.arcsinh(a), (X,)), "arccosh": (lambda L, a: L.arccosh(a), (G,)),
    "arctanh": (lambda L, a: L.arctanh(a), (U,)), "log10": (lambda L, a: L.log10(a), (G,)),
    "deg2rad": (lambda L, a: L.deg2rad(a), (X,)), "rad2deg": (lambda L, a: L.rad2deg(a), (X,)),
    "frac": (lambda L, a: L.frac(a * 3), (X,)),
    "Tensor.tan": (lambda L, a: a.tan() + a.arctan() + a.arcsinh(), (U,)),
    "Tensor.sinh": (lambda L, a: a.sinh() + a.cosh() + a.asinh() + a.atan(), (X,)),
    "Tensor.acos": (lambda L, a: a.acos() + a.asin() + a.atanh() + a.arccos(), (U,)),
    "Tensor.log10": (lambda L, a: a.log10() + a.acosh() + a.frac(), (G,)),
    "atan2": (lambda L, a, b: L.atan2(a, b) + a.atan2(b) + L.arctan2(a, b), (X, Y)),
    "atan2_bcast": (lambda L, a, b: L.atan2(a, b[:1]), (X, Y)),
    "hypot": (lambda L, a, b: L.hypot(a, b) + a.hypot(b), (X, Y)),
    "lerp_scalar": (lambda L, a, b: L.lerp(a, b, 0.3) + a.lerp(b, 2.0), (X, Y)),
    "lerp_tensor": (lambda L, a, b, w: L.lerp(a, b, w), (X, Y, U)),
    "addcmul": (lambda L, a, b, c: L.addcmul(a, b, c, value=0.5) + a.addcmul(b, c), (X, Y, U)),
    "addcdiv": (lambda L, a, b, c: L.addcdiv(a, b, c, value=-2) + a.addcdiv(b, c), (X, Y, G)),
    "tril": (lambda L, a: L.tril(a) + L.tril(a, -1) + a.tril(2), (X,)),
    "triu": (lambda L, a: L.triu(a) + L.triu(a, 1) + a.triu(-1), (X,)),
    "tril_batched": (lambda L, a: L.tril(a, 1), (B,)),
    "triu_batched": (lambda L, a: a.triu(-2), (B,)),
    "diagonal": (lambda L, a: L.diagonal(a) * 2 + a.diagonal(1).sum(), (X,)),
    "diagonal_dims": (lambda L, a: L.diagonal(a, -1, 1, 3), (B,)),
    "diag_vec": (lambda L, a: L.diag(a[0]) + L.diag(a[1], 0), (X,)),
    "diag_vec_offset": (lambda L, a: L.diag(a[0], -2), (X,)),
    "diag_mat": (lambda L, a: L.diag(a) + a.diag(1)[:1].sum(), (X,)),
    "diag_embed": (lambda L, a: L.diag_embed(a), (B,)),
    "diag_embed_offset": (lambda L, a: L.diag_embed(a, 1, 0, 2), (X,)),
    "trace": (lambda L, a: L.trace(a) + a.trace(), (X,)),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_matches_torch(torch, name):
    fn, inputs = UNARY[name]
    check_op(torch, fn, *inputs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", [n for n in UNARY if not n.startswith("Tensor.")])
def test_gradcheck_float64(name):
    fn, inputs = UNARY[name]
    args = [ember.tensor(a[..., :3] if a.ndim == 4 else a, dtype=ember.float64,
                         requires_grad=True) for a in inputs]
    assert gradcheck(lambda *xs: fn(ember, *xs), tuple(args))


INPLACE = ["tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "atanh", "arcsin",
           "arccos", "arctan", "arcsinh", "arctanh", "log10", "deg2rad", "rad2deg", "frac"]


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_unary(torch, name):
    e, t = ember.tensor(U), torch.tensor(U)
    assert getattr(e, name + "_")() is e
    getattr(t, name + "_")()
    assert_close(e, t)


def test_inplace_binary_and_ternary(torch):
    for name, args in [("atan2_", (Y,)), ("hypot_", (Y,)), ("lerp_", (Y, 0.25)),
                       ("addcmul_", (Y, U)), ("addcdiv_", (Y, G)), ("tril_", (-1,)),
                       ("triu_", (1,)), ("arccosh_", ())]:
        base = G if name == "arccosh_" else X
        e, t = ember.tensor(base), torch.tensor(base)
        ea = [ember.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        ta = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        getattr(e, name)(*ea)
        getattr(t, name)(*ta)
        assert_close(e, t)
    e, t = ember.tensor(X), torch.tensor(X)
    e.addcmul_(ember.tensor(Y), ember.tensor(U), value=3)
    t.addcmul_(torch.tensor(Y), torch.tensor(U), value=3)
    assert_close(e, t)


def test_tri_indices(torch):
    for args in [(3, 3), (4, 3, 1), (3, 5, -1), (0, 0)]:
        assert_close(ember.tril_indices(*args), torch.tril_indices(*args))
        assert_close(ember.triu_indices(*args), torch.triu_indices(*args))
    assert_close(ember.tril_indices(3, 3, dtype=ember.int32),
                 torch.tril_indices(3, 3, dtype=torch.int32))


def test_integer_inputs(torch):
    i = np.array([[1, 2], [3, 4]])
    for fn in (lambda L, a: L.tan(a), lambda L, a: L.atan(a), lambda L, a: L.log10(a),
               lambda L, a: L.tril(a), lambda L, a: L.trace(a), lambda L, a: L.diag(a),
               lambda L, a: L.atan2(a, a), lambda L, a: L.deg2rad(a)):
        assert_close(fn(ember, ember.tensor(i)), fn(torch, torch.tensor(i)))


ERRORS = [
    ("tril 1-D", lambda L: L.tril(L.ones(3))),
    ("trace 3-D", lambda L: L.trace(L.ones(2, 2, 2))),
    ("diag 3-D", lambda L: L.diag(L.ones(2, 2, 2))),
    ("diagonal same dims", lambda L: L.diagonal(L.ones(2, 2), 0, 1, 1)),
    ("atan2 shapes", lambda L: L.atan2(L.ones(2, 3), L.ones(4))),
    ("lerp dtype", lambda L: L.lerp(L.ones(2), L.ones(2, dtype=L.float64), 0.5)),
    ("frac int", lambda L: L.frac(L.ones(2, dtype=L.int64))),
    ("addcdiv int", lambda L: L.addcdiv(L.ones(2), L.ones(2, dtype=L.int64),
                                        L.ones(2, dtype=L.int64))),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors(torch, case):
    same_error(torch, lambda: case[1](ember), lambda: case[1](torch))


# ---- products, cumulative, statistics, shapes ------------------------------------------------
V3, V4, V5 = (RNG.standard_normal(n).astype(np.float32) for n in (3, 4, 5))
B1 = RNG.standard_normal((2, 3, 4)).astype(np.float32)
B2 = RNG.standard_normal((2, 4, 5)).astype(np.float32)
M35 = RNG.standard_normal((3, 5)).astype(np.float32)
TIES = np.array([[1.0, 3.0, 3.0, 1.0, 2.0], [5.0, 5.0, 4.0, 4.0, 0.0], [2.0, 2.0, 2.0, 7.0, 7.0]],
                np.float32)
WITH_NAN = np.array([[1.0, np.nan, 3.0, 2.0], [np.nan, np.nan, np.nan, np.nan],
                     [4.0, 1.0, 0.5, 2.5]], np.float32)
DISTINCT = RNG.permutation(20).reshape(4, 5).astype(np.float32) / 3

MORE = {
    "addmv": (lambda L, a, m, v: L.addmv(a, m, v) + a.addmv(m, v, beta=0.5, alpha=2), (V3, X, V4)),
    "addmv_bcast": (lambda L, a, m, v: L.addmv(a[:1], m, v, alpha=-1), (V3, X, V4)),
    "addr": (lambda L, a, u, v: L.addr(a, u, v) + a.addr(u, v, beta=2, alpha=0.5), (X, V3, V4)),
    "baddbmm": (lambda L, a, b, c: L.baddbmm(a, b, c, beta=0.5) + a.baddbmm(b, c),
                (np.zeros((2, 3, 5), np.float32) + 1, B1, B2)),
    "addbmm": (lambda L, a, b, c: L.addbmm(a, b, c, alpha=3) + a.addbmm(b, c), (M35, B1, B2)),
    "cummax": (lambda L, a: L.cummax(a, 1), (TIES,)),
    "cummin": (lambda L, a: L.cummin(a, 0), (TIES,)),
    "cummax_method": (lambda L, a: a.cummax(-1).values + a.cummin(-1)[0], (X,)),
    "cummax_nan": (lambda L, a: L.cummax(a, 1), (WITH_NAN,)),
    "logcumsumexp": (lambda L, a: L.logcumsumexp(a * 30, 1) + a.logcumsumexp(0).sum(), (X,)),
    "diff": (lambda L, a: L.diff(a) + 0, (X,)),
    "diff_n2_dim0": (lambda L, a, b: L.diff(a, n=2, dim=0, prepend=b[:1], append=b), (X, Y)),
    "diff_method": (lambda L, a: a.diff(dim=0), (X,)),
    "median": (lambda L, a: L.median(a), (DISTINCT,)),
    "median_dim": (lambda L, a: L.median(a, 1), (DISTINCT,)),
    "median_dim_keep": (lambda L, a: a.median(0, keepdim=True), (DISTINCT,)),
    "median_ties": (lambda L, a: L.median(a, 1).values, (TIES,)),
    "median_nan": (lambda L, a: L.median(a), (WITH_NAN,)),
    "nanmedian": (lambda L, a: L.nanmedian(a), (WITH_NAN,)),
    "nanmedian_dim": (lambda L, a: L.nanmedian(a[[0, 2]], 1), (WITH_NAN,)),
    "mode": (lambda L, a: L.mode(a, 1), (TIES,)),
    "mode_dim0": (lambda L, a: a.mode(0, keepdim=True), (TIES,)),
    "kthvalue": (lambda L, a: L.kthvalue(a, 2, 1), (DISTINCT,)),
    "kthvalue_ties": (lambda L, a: a.kthvalue(3, 0, keepdim=True), (TIES,)),
    "quantile": (lambda L, a: L.quantile(a, 0.3), (X,)),
    "quantile_dim": (lambda L, a, q: L.quantile(a, q, dim=1, keepdim=True), (X, np.array(
        [0.1, 0.5, 0.95], np.float32))),
    "quantile_nan": (lambda L, a: L.quantile(a, 0.5, dim=1), (WITH_NAN,)),
    "nanquantile": (lambda L, a: L.nanquantile(a, 0.7, dim=1), (WITH_NAN,)),
    **{f"quantile_{m}": (lambda L, a, m=m: L.quantile(a, 0.375, dim=0, interpolation=m), (X,))
       for m in ("lower", "higher", "midpoint", "nearest")},
    "aminmax": (lambda L, a: L.aminmax(a, dim=1), (TIES,)),
    "aminmax_all": (lambda L, a: tuple(a.aminmax()), (X,)),
    "aminmax_keep": (lambda L, a: L.aminmax(a, dim=0, keepdim=True), (X,)),
    "std_mean": (lambda L, a: L.std_mean(a, 1), (X,)),
    "std_mean_all": (lambda L, a: L.std_mean(a, unbiased=False), (X,)),
    "var_mean": (lambda L, a: L.var_mean(a, (0, 1), keepdim=True, correction=0), (X,)),
    "nansum": (lambda L, a: L.nansum(a) + a.nansum(1).sum(), (WITH_NAN,)),
    "nanmean": (lambda L, a: L.nanmean(a[[0, 2]], 1), (WITH_NAN,)),
    "nan_to_num": (lambda L, a: L.nan_to_num(a) + a.nan_to_num(nan=2.0, posinf=1.0),
                   (np.array([1.0, np.nan, np.inf, -np.inf, -2.0], np.float32),)),
    "fliplr": (lambda L, a: L.fliplr(a) * 2, (X,)),
    "flipud": (lambda L, a: a.flipud() * 2, (X,)),
    **{f"rot90_{k}": (lambda L, a, k=k: L.rot90(a, k, [1, 2]), (B1,)) for k in (1, 2, 3, -1, 6)},
    "rot90_method": (lambda L, a: a.rot90(1, [1, 0]), (X,)),
    "moveaxis": (lambda L, a: L.moveaxis(a, 0, 2) + 0, (B1,)),
    "tensor_split": (lambda L, a: L.tensor_split(a, 3, 1), (X,)),
    "tensor_split_idx": (lambda L, a: a.tensor_split([1, 3, 7], dim=1), (X,)),
    "hsplit": (lambda L, a: L.hsplit(a, 2), (X,)),
    "vsplit": (lambda L, a: L.vsplit(a, [1]), (X,)),
    "dsplit": (lambda L, a: L.dsplit(a, 2), (B1,)),
    "block_diag": (lambda L, a, b, c: L.block_diag(a, b, c), (X, M35, V3)),
    "cartesian_prod": (lambda L, a, b: L.cartesian_prod(a, b), (V3, V4)),
    "combinations": (lambda L, a: L.combinations(a), (V4,)),
    "combinations_r3": (lambda L, a: L.combinations(a, 3, with_replacement=True), (V3,)),
    "repeat_interleave": (lambda L, a: L.repeat_interleave(a, 2, 0) + 0, (X,)),
    "repeat_interleave_flat": (lambda L, a: a.repeat_interleave(3), (X,)),
    "kron": (lambda L, a, b: L.kron(a, b), (X, M35)),
    "kron_mixed": (lambda L, a, b: a.kron(b), (B1, V3)),
    "cdist": (lambda L, a, b: L.cdist(a, b), (X, Y[:2] * 2)),
    "cdist_p1": (lambda L, a, b: L.cdist(a, b, p=1.0), (B1, B1[:, :2] + 1)),
    "cdist_pinf": (lambda L, a, b: L.cdist(a, b, p=float("inf")), (X, Y)),
    "as_strided": (lambda L, a: L.as_strided(a, (2, 2), (1, 2)) * 1, (X,)),
    "as_strided_offset": (lambda L, a: a.as_strided((3, 3), (4, 1), 1) * 1, (X,)),
}


@pytest.mark.parametrize("name", list(MORE))
def test_more_match_torch(torch, name):
    fn, inputs = MORE[name]
    check_op(torch, fn, *inputs, rtol=1e-5, atol=1e-5,
             names=not name.startswith(("diff", "kron", "cdist", "quantile", "nanquantile",
                                        "cartesian", "combinations", "repeat_interleave")))


GRAD_MORE = [n for n in MORE if not n.endswith("_nan") and n not in
             ("median_ties", "nanmedian", "nanquantile", "nanmedian_dim", "nansum", "nanmean", "nan_to_num",
              "mode", "mode_dim0", "kthvalue_ties", "aminmax", "cummax", "cummin")]


@pytest.mark.parametrize("name", GRAD_MORE)
def test_more_gradcheck_float64(name):
    fn, inputs = MORE[name]
    args = [ember.tensor(a, dtype=ember.float64, requires_grad=True) for a in inputs]

    def f(*xs):
        out = fn(ember, *xs)
        if isinstance(out, tuple):
            return tuple(o for o in out if isinstance(o, ember.Tensor) and o.is_floating_point())
        return out
    assert gradcheck(f, tuple(args))


def test_counting_ops(torch):
    i = np.array([3, 1, 2, 1, 3, 0, 3])
    f = np.array([1.0, 2.0, 1.0, 4.0, -1.0, 3.5], np.float32)
    for fn in (lambda L, a, b: L.bincount(a), lambda L, a, b: L.bincount(a, minlength=9),
               lambda L, a, b: L.bincount(a[:6], weights=b),
               lambda L, a, b: L.bincount(a[:6], weights=b.double()),
               lambda L, a, b: L.histc(b, bins=4, min=0, max=3), lambda L, a, b: b.histc(5),
               lambda L, a, b: L.histc(b[:1], bins=4),
               lambda L, a, b: L.unique(a), lambda L, a, b: a.unique(return_inverse=True,
                                                                     return_counts=True),
               lambda L, a, b: L.unique(a.reshape(1, 7).repeat(2, 1), dim=0),
               lambda L, a, b: L.unique_consecutive(L.tensor([1, 1, 2, 2, 3, 1, 1]),
                                                    return_inverse=True, return_counts=True),
               lambda L, a, b: L.unique_consecutive(L.tensor([[1, 1], [1, 1], [2, 3]]), dim=0,
                                                    return_counts=True),
               lambda L, a, b: L.searchsorted(L.tensor([1, 3, 5, 7]), a),
               lambda L, a, b: L.searchsorted(L.tensor([1, 3, 5, 7]), a, right=True),
               lambda L, a, b: L.searchsorted(L.tensor([[1, 3, 5], [2, 4, 6]]),
                                              L.tensor([[3, 6], [1, 7]]), side="right"),
               lambda L, a, b: L.searchsorted(L.tensor([1., 3.]), 2.0, out_int32=True),
               lambda L, a, b: L.bucketize(b, L.tensor([0.0, 1.0, 2.5])),
               lambda L, a, b: L.bucketize(a, L.tensor([1, 3]), right=True),
               lambda L, a, b: L.heaviside(b, L.tensor(0.5)),
               lambda L, a, b: b.heaviside(L.zeros(6)),
               lambda L, a, b: L.repeat_interleave(L.tensor([2, 0, 1])),
               lambda L, a, b: L.tensor([1, 2, 3]).repeat_interleave(L.tensor([1, 0, 2]))):
        assert_close(fn(ember, ember.tensor(i), ember.tensor(f)),
                     fn(torch, torch.tensor(i), torch.tensor(f)))


def test_meshgrid(torch):
    for idx in ("ij", "xy"):
        check_op(torch, lambda L, a, b, c: L.meshgrid(a, b, c, indexing=idx), V3, V4, V5,
                 names=False)
    check_op(torch, lambda L, a, b: L.meshgrid([a, b], indexing="xy"), V3, V4, names=False)
    with pytest.warns(UserWarning):
        ember.meshgrid(ember.tensor(V3), ember.tensor(V4))


def test_as_strided_is_a_view_and_share_memory(torch):
    e = ember.zeros(3, 4)
    v = e.as_strided((2, 2), (1, 4))
    v.fill_(1.0)
    t = torch.zeros(3, 4)
    t.as_strided((2, 2), (1, 4)).fill_(1.0)
    assert_close(e, t)
    e = ember.ones(2)
    assert not e.is_shared()
    assert e.share_memory_() is e and e.is_shared()
    assert not ember.ones(2).is_shared()


MORE_ERRORS = [
    ("addmv shapes", lambda L: L.addmv(L.ones(3), L.ones(3, 4), L.ones(5))),
    ("baddbmm batches", lambda L: L.baddbmm(L.ones(2, 3, 5), L.ones(2, 3, 4), L.ones(3, 4, 5))),
    ("addbmm sizes", lambda L: L.addbmm(L.ones(3, 5), L.ones(2, 3, 4), L.ones(2, 3, 5))),
    ("kthvalue k", lambda L: L.kthvalue(L.ones(3), 4)),
    ("quantile q", lambda L: L.quantile(L.ones(3), 1.5)),
    ("quantile int", lambda L: L.quantile(L.ones(3, dtype=L.int64), 0.5)),
    ("quantile mode", lambda L: L.quantile(L.ones(3), 0.5, interpolation="cubic")),
    ("bincount negative", lambda L: L.bincount(L.tensor([-1, 2]))),
    ("bincount float", lambda L: L.bincount(L.tensor([1.0]))),
    ("histc int", lambda L: L.histc(L.tensor([1, 2]))),
    ("fliplr 1-D", lambda L: L.fliplr(L.ones(3))),
    ("rot90 dims", lambda L: L.rot90(L.ones(2, 2), 1, [0, 0])),
    ("hsplit divisible", lambda L: L.hsplit(L.ones(2, 5), 2)),
    ("vsplit 1-D", lambda L: L.vsplit(L.ones(4), 2)),
    ("tensor_split 0-D", lambda L: L.tensor_split(L.tensor(1.0), 2)),
    ("block_diag 3-D", lambda L: L.block_diag(L.ones(2, 2, 2))),
    ("cdist columns", lambda L: L.cdist(L.ones(3, 4), L.ones(2, 3))),
    ("as_strided bounds", lambda L: L.as_strided(L.ones(2, 2), (3, 3), (1, 1))),
    ("searchsorted shapes", lambda L: L.searchsorted(L.ones(2, 3), L.ones(3, 2))),
    ("diff 0-D", lambda L: L.diff(L.tensor(1.0))),
    ("repeat_interleave negative", lambda L: L.repeat_interleave(L.ones(2), -1)),
    ("median dim", lambda L: L.median(L.ones(2, 0), 1)),
    ("heaviside backward", lambda L: L.heaviside(L.ones(2, requires_grad=True),
                                                 L.ones(2)).sum().backward()),
]


@pytest.mark.parametrize("case", MORE_ERRORS, ids=[c[0] for c in MORE_ERRORS])
def test_more_errors(torch, case):
    same_error(torch, lambda: case[1](ember), lambda: case[1](torch))


def test_more_inplace(torch):
    for name, base, args in [("addmv_", V3, (X, V4)), ("addr_", X, (V3, V4)),
                             ("baddbmm_", np.ones((2, 3, 5), np.float32), (B1, B2)),
                             ("addbmm_", M35, (B1, B2)),
                             ("nan_to_num_", np.array([np.nan, 1.0], np.float32), ()),
                             ("heaviside_", X, (np.float32(0.5) * np.ones(4, np.float32),))]:
        e, t = ember.tensor(base), torch.tensor(base)
        getattr(e, name)(*[ember.tensor(a) for a in args])
        getattr(t, name)(*[torch.tensor(a) for a in args])
        assert_close(e, t)


# ---- the ops of item 1 that existed before: re-checked against torch ---------------------------
ZEROS = X.copy()
ZEROS[0, 1] = ZEROS[2, 0] = ZEROS[2, 3] = 0
INTS = np.array([[1, 2, 0], [3, -1, 4]])
EXISTING = {
    "cumsum": (lambda L, a: L.cumsum(a, 1) + a.cumsum(0), (X,)),
    "cumsum_int": (lambda L, a: L.cumsum(a, 1), (INTS,)),
    "cumsum_dtype": (lambda L, a: L.cumsum(a, 1, dtype=L.float64), (X,)),
    "cumprod": (lambda L, a: L.cumprod(a, 1), (X,)),
    "cumprod_zeros": (lambda L, a: L.cumprod(a, 1) + a.cumprod(0), (ZEROS,)),
    "cumprod_int": (lambda L, a: L.cumprod(a, 0), (INTS,)),
    "flip": (lambda L, a: L.flip(a, [0, 1]) + a.flip(1), (X,)),
    "roll": (lambda L, a: L.roll(a, 1) + L.roll(a, (1, -2), (0, 1)) + a.roll(5, 1), (X,)),
    "movedim": (lambda L, a: L.movedim(a, 0, 1) + a.movedim((0, 1), (1, 0)), (X,)),
    "swapaxes": (lambda L, a: L.swapaxes(a, 0, 1) + a.swapaxes(1, 0), (X,)),
    "narrow": (lambda L, a: L.narrow(a, 1, 1, 2) + a.narrow(-1, 0, 2), (X,)),
    "tile": (lambda L, a: L.tile(a, (2,)) + 0, (X,)),
    "tile3": (lambda L, a: a.tile((2, 1, 2)), (X,)),
    "count_nonzero": (lambda L, a: (L.count_nonzero(a), a.count_nonzero(1),
                                    L.count_nonzero(a, (0, 1))), (ZEROS,)),
    "round_decimals": (lambda L, a: L.round(a * 100, decimals=1) + a.round(decimals=-1), (X,)),
    "trunc_ceil_floor": (lambda L, a: L.trunc(a * 3) + L.ceil(a) + L.floor(a), (X,)),
    "isnan_isinf_isfinite": (lambda L, a: (L.isnan(a), L.isinf(a), L.isfinite(a)),
                             (np.array([1.0, np.nan, np.inf, -np.inf], np.float32),)),
    "new_constructors": (lambda L, a: (a.new_zeros(2, 3), a.new_ones((2,)), a.new_full((2,), 3),
                                       a.new_empty(0), a.new_tensor([1, 2]),
                                       a.new_zeros(2, dtype=L.int64)), (X,)),
}


@pytest.mark.parametrize("name", list(EXISTING))
def test_existing_ops_match_torch(torch, name):
    fn, inputs = EXISTING[name]
    check_op(torch, fn, *inputs, rtol=1e-5, atol=1e-5)


def test_cumprod_gradient_with_zeros():
    x = ember.tensor([[1.0, 0.0, 2.0, 3.0], [0.0, 0.0, 1.0, 2.0], [2.0, 3.0, 4.0, 0.0]],
                     dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda t: t.cumprod(1), (x,))
    assert gradcheck(lambda t: t.cumprod(0), (x,))
