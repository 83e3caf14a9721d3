"""torch.linalg (and torch.det/inverse/svd/cholesky/..., Tensor.norm): values, dtypes, shapes,
grad_fn names and gradients against torch on batched inputs, float64 gradcheck, and torch's
errors for singular, non-positive-definite, non-square and mis-shaped inputs."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck

from helpers import assert_close, check_op, same_error

RNG = np.random.default_rng(1)
SQ = RNG.standard_normal((2, 3, 4, 4)).astype(np.float32) + 3 * np.eye(4, dtype=np.float32)
TALL = RNG.standard_normal((2, 5, 3)).astype(np.float32)
WIDE = RNG.standard_normal((3, 5)).astype(np.float32)
RHS = RNG.standard_normal((2, 3, 4, 2)).astype(np.float32)


def _spd(L, a):
    return a @ a.mT + L.eye(a.shape[-1], dtype=a.dtype)


def _sym(L, a):
    return a + a.mT


# name -> (function of (lib, *tensors), inputs, torch's node name or None for composites)
CASES = {
    "inv": (lambda L, a: L.linalg.inv(a), (SQ,), "LinalgInvExBackward0"),
    "inv_ex": (lambda L, a: L.linalg.inv_ex(a).inverse, (SQ,), "LinalgInvExBackward0"),
    "det": (lambda L, a: L.linalg.det(a), (SQ,), "LinalgDetBackward0"),
    "slogdet": (lambda L, a: L.linalg.slogdet(a), (SQ - 3 * np.eye(4, dtype=np.float32),),
                "LinalgSlogdetBackward0"),
    "solve": (lambda L, a, b: L.linalg.solve(a, b), (SQ, RHS), "LinalgSolveExBackward0"),
    "solve_vec": (lambda L, a, b: L.linalg.solve(a, b), (SQ, RHS[..., 0]),
                  "LinalgSolveExBackward0"),
    "solve_right": (lambda L, a, b: L.linalg.solve(a, b, left=False),
                    (SQ, RHS.swapaxes(-1, -2)), "LinalgSolveExBackward0"),
    "solve_triangular": (lambda L, a, b: L.linalg.solve_triangular(a.triu(), b, upper=True),
                         (SQ, RHS), "LinalgSolveTriangularBackward0"),
    "solve_triangular_lower_right": (
        lambda L, a, b: L.linalg.solve_triangular(a.tril(), b, upper=False, left=False),
        (SQ, RHS.swapaxes(-1, -2)), "LinalgSolveTriangularBackward0"),
    "solve_triangular_unit": (
        lambda L, a, b: L.linalg.solve_triangular(a, b, upper=False, unitriangular=True),
        (SQ, RHS), "LinalgSolveTriangularBackward0"),
    "cholesky": (lambda L, a: L.linalg.cholesky(_spd(L, a)), (SQ,), "LinalgCholeskyExBackward0"),
    "cholesky_upper": (lambda L, a: L.linalg.cholesky(_spd(L, a), upper=True), (SQ,),
                       "LinalgCholeskyExBackward0"),
    "cholesky_ex": (lambda L, a: L.linalg.cholesky_ex(_spd(L, a)).L, (SQ,),
                    "LinalgCholeskyExBackward0"),
    "eigvalsh": (lambda L, a: L.linalg.eigvalsh(_sym(L, a)), (SQ,), "LinalgEighBackward0"),
    # eigenvectors up to sign: a function of V V^T-type products
    "eigh": (lambda L, a: (lambda r: (r.eigenvalues, (r.eigenvectors ** 2 * r.eigenvalues.unsqueeze(-2)).sum(-1)))(
        L.linalg.eigh(_sym(L, a))), (SQ,), None),
    "svdvals": (lambda L, a: L.linalg.svdvals(a), (TALL,), "LinalgSvdBackward0"),
    "svd_tall": (lambda L, a: (lambda r: (r.U @ r.Vh, r.S))(L.linalg.svd(a, full_matrices=False)),
                 (TALL,), None),
    "svd_wide": (lambda L, a: (lambda r: (r.U @ r.Vh, r.S))(L.linalg.svd(a, full_matrices=False)),
                 (WIDE,), None),
    "qr": (lambda L, a: L.linalg.qr(a), (TALL,), "LinalgQrBackward0"),
    "qr_square": (lambda L, a: L.linalg.qr(a), (SQ,), "LinalgQrBackward0"),
    "matrix_exp": (lambda L, a: L.linalg.matrix_exp(a * 0.3), (SQ,), "LinalgMatrixExpBackward0"),
    "pinv": (lambda L, a: L.linalg.pinv(a), (TALL,), None),
    "lstsq": (lambda L, a, b: L.linalg.lstsq(a, b).solution, (TALL, TALL[..., :2] * 2 + 1), None),
    "matrix_power3": (lambda L, a: L.linalg.matrix_power(a, 3), (SQ,), "MmBackward0"
                      if False else None),
    "matrix_power_neg": (lambda L, a: L.linalg.matrix_power(a, -2), (SQ,), None),
    "matrix_power0": (lambda L, a: L.linalg.matrix_power(a, 0), (SQ,), None),
    "multi_dot": (lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), (WIDE[0], TALL[0], WIDE),
                  None),
    "vecdot": (lambda L, a, b: L.linalg.vecdot(a, b), (TALL, TALL[::-1]), None),
    "cross": (lambda L, a, b: L.linalg.cross(a, b), (TALL, TALL[::-1] * 2),
              "LinalgCrossBackward0"),
    "cross_dim": (lambda L, a, b: L.linalg.cross(a, b, dim=1), (TALL.swapaxes(1, 2)[:, :, :3],
                                                                 TALL.swapaxes(1, 2)[:, :, 1:4]),
                  "LinalgCrossBackward0"),
    "vector_norm": (lambda L, a: L.linalg.vector_norm(a), (TALL,), "LinalgVectorNormBackward0"),
    "vector_norm_dim": (lambda L, a: L.linalg.vector_norm(a, 3, dim=(0, 2), keepdim=True),
                        (TALL,), "LinalgVectorNormBackward0"),
    "vector_norm_inf": (lambda L, a: L.linalg.vector_norm(a, math.inf, dim=-1), (TALL,),
                        "LinalgVectorNormBackward0"),
    "matrix_norm_fro": (lambda L, a: L.linalg.matrix_norm(a), (TALL,), None),
    "matrix_norm_nuc": (lambda L, a: L.linalg.matrix_norm(a, "nuc"), (TALL,), None),
    "matrix_norm_2": (lambda L, a: L.linalg.matrix_norm(a, 2, keepdim=True), (TALL,), None),
    "matrix_norm_-2": (lambda L, a: L.linalg.matrix_norm(a, -2), (TALL,), None),
    "matrix_norm_1": (lambda L, a: L.linalg.matrix_norm(a, 1), (TALL,), None),
    "matrix_norm_-inf": (lambda L, a: L.linalg.matrix_norm(a, -math.inf, dim=(0, 2)), (TALL,),
                         None),
    "norm_default": (lambda L, a: L.linalg.norm(a), (TALL,), None),
    "norm_matrix": (lambda L, a: L.linalg.norm(a[0], "nuc"), (TALL,), None),
    "norm_vec_ord": (lambda L, a: L.linalg.norm(a[0, 0], 3), (TALL,), None),
    "norm_dim2": (lambda L, a: L.linalg.norm(a, 1, dim=(1, 2)), (TALL,), None),
    # torch.* and Tensor spellings
    "torch.det": (lambda L, a: L.det(a) + a.det(), (SQ,), None),
    "torch.logdet": (lambda L, a: L.logdet(a) + a.logdet(), (SQ,), None),
    "torch.slogdet": (lambda L, a: a.slogdet()[1] + L.slogdet(a)[1], (SQ,), None),
    "torch.inverse": (lambda L, a: L.inverse(a) + a.inverse(), (SQ,), None),
    "torch.svd": (lambda L, a: (lambda r: (r.U @ r.V.mT, r.S))(L.svd(a)), (TALL,), None),
    "Tensor.svd_some_false": (lambda L, a: (lambda r: (r.S, r.U.shape[-1], r.V.shape[-1]))(
        a.svd(some=False)), (TALL,), None),
    "torch.cholesky": (lambda L, a: L.cholesky(_spd(L, a)) + _spd(L, a).cholesky(upper=True),
                       (SQ,), None),
    "torch.qr": (lambda L, a: L.qr(a), (TALL,), None),
    "torch.matrix_exp": (lambda L, a: L.matrix_exp(a * 0.1) + (a * 0.1).matrix_exp(), (SQ,),
                         None),
    "torch.matrix_power": (lambda L, a: L.matrix_power(a, 2) + a.matrix_power(2), (SQ,), None),
    "torch.pinverse": (lambda L, a: L.pinverse(a) + a.pinverse(), (TALL,), None),
    "torch.cross": (lambda L, a, b: L.cross(a, b, dim=-1) + a.cross(b, dim=-1),
                    (TALL, TALL[::-1]), None),
    "Tensor.norm_fro": (lambda L, a: a.norm(p="fro", dim=(1, 2)), (TALL,), None),
    "Tensor.norm_nuc": (lambda L, a: a[1].norm(p="nuc"), (TALL,), None),
    "Tensor.norm_num": (lambda L, a: a.norm(3, dim=1, keepdim=True), (TALL,), None),
    "torch.norm_nuc_dim": (lambda L, a: L.norm(a, "nuc", dim=(0, 2)), (TALL,), None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(torch, name):
    fn, inputs, node = CASES[name]
    check_op(torch, fn, *inputs, names=False, rtol=1e-4, atol=1e-4)
    if node is not None:
        e = [ember.tensor(a, requires_grad=True) for a in inputs]
        out = fn(ember, *e)
        out = out[0] if isinstance(out, tuple) else out
        assert type(out.grad_fn).__name__ == node


@pytest.mark.parametrize("name", [n for n in CASES if not n.startswith(("Tensor.svd_some",))])
def test_gradcheck_float64(name):
    fn, inputs, _ = CASES[name]
    # small, well-conditioned float64 versions of the same inputs
    args = [ember.tensor(a[..., :3, :3] if a.ndim > 1 and a.shape[-1] == a.shape[-2] else a,
                         dtype=ember.float64, requires_grad=True) for a in inputs]
    if name.startswith(("solve", "solve_triangular")):
        args[1] = ember.tensor(inputs[1][..., :3, :] if not name.endswith(("right",
                               "lower_right")) else inputs[1][..., :, :3],
                               dtype=ember.float64, requires_grad=True) \
            if name != "solve_vec" else ember.tensor(inputs[1][..., :3], dtype=ember.float64,
                                                     requires_grad=True)
    args = [a[:1] if a.ndim > 3 else a for a in args]  # one batch row keeps gradcheck quick
    if name.startswith("solve"):
        args[1] = args[1][:1] if args[1].ndim > 2 else args[1]

    def f(*xs):
        out = fn(ember, *xs)
        return tuple(o for o in out if isinstance(o, ember.Tensor) and o.is_floating_point()) \
            if isinstance(out, tuple) else out
    if name == "slogdet":
        f = lambda a: ember.linalg.slogdet(a)[1]  # noqa: E731 (the sign has no gradient)
    assert gradcheck(f, tuple(args))


def test_float64_values_tight(torch):
    a = RNG.standard_normal((3, 5, 5)) + 2 * np.eye(5)
    for fn in (lambda L, x: L.linalg.inv(x), lambda L, x: L.linalg.det(x),
               lambda L, x: L.linalg.matrix_exp(x), lambda L, x: L.linalg.svdvals(x),
               lambda L, x: L.linalg.eigvalsh(x + x.mT),
               lambda L, x: L.linalg.cholesky(x @ x.mT)):
        assert_close(fn(ember, ember.tensor(a)), fn(torch, torch.tensor(a)), rtol=1e-11,
                     atol=1e-11)


def test_return_types(torch):
    a = SQ[0, 0]
    for name, args in [("slogdet", ()), ("eigh", ()), ("svd", ()), ("qr", ()), ("inv_ex", ()),
                       ("cholesky_ex", ())]:
        x = a @ a.T if name == "cholesky_ex" else a
        e = getattr(ember.linalg, name)(ember.tensor(x), *args)
        t = getattr(torch.linalg, name)(torch.tensor(x), *args)
        assert len(e) == len(t)
        for field in type(e)._fields:
            assert hasattr(t, field)
    r = ember.linalg.lstsq(ember.tensor(TALL[0]), ember.tensor(TALL[0][:, :1]))
    rt = torch.linalg.lstsq(torch.tensor(TALL[0]), torch.tensor(TALL[0][:, :1]))
    assert_close(r.solution, rt.solution, rtol=1e-4, atol=1e-5)
    assert int(r.rank) == int(rt.rank) and tuple(r.residuals.shape) == tuple(rt.residuals.shape)
    assert_close(ember.linalg.matrix_rank(ember.tensor(TALL)),
                 torch.linalg.matrix_rank(torch.tensor(TALL)))
    low = np.outer(np.arange(4.0), np.arange(3.0)).astype(np.float32)
    assert_close(ember.linalg.matrix_rank(ember.tensor(low)),
                 torch.linalg.matrix_rank(torch.tensor(low)))
    assert_close(ember.linalg.matrix_rank(ember.tensor(low), atol=1.0, rtol=0.0),
                 torch.linalg.matrix_rank(torch.tensor(low), atol=1.0, rtol=0.0))


def test_inv_ex_and_cholesky_ex_report_info(torch):
    sing = np.array([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.0], [0.0, 1.0]]], np.float32)
    e, t = ember.linalg.inv_ex(ember.tensor(sing)), torch.linalg.inv_ex(torch.tensor(sing))
    assert e.info.tolist() == t.info.tolist()
    npd = np.array([np.eye(3), -np.eye(3), np.diag([1.0, -1.0, 1.0])], np.float32)
    e, t = ember.linalg.cholesky_ex(ember.tensor(npd)), torch.linalg.cholesky_ex(torch.tensor(npd))
    assert e.info.tolist() == t.info.tolist()
    assert_close(e.L[0], t.L[0])


ERRORS = [
    ("singular inv", lambda L: L.linalg.inv(L.tensor([[1.0, 2.0], [2.0, 4.0]]))),
    ("singular inverse", lambda L: L.inverse(L.tensor([[1.0, 2.0], [2.0, 4.0]]))),
    ("batched singular", lambda L: L.linalg.inv(L.stack([L.eye(2), L.tensor([[1.0, 2.0],
                                                                            [2.0, 4.0]])]))),
    ("non-square inv", lambda L: L.linalg.inv(L.ones(2, 3))),
    ("non-square det", lambda L: L.linalg.det(L.ones(2, 3))),
    ("non-square cholesky", lambda L: L.linalg.cholesky(L.ones(2, 3))),
    ("non-square eigh", lambda L: L.linalg.eigh(L.ones(2, 3))),
    ("1-D svd", lambda L: L.linalg.svd(L.ones(3))),
    ("not pd", lambda L: L.linalg.cholesky(-L.eye(3))),
    ("batched not pd", lambda L: L.linalg.cholesky(L.stack([L.eye(3), L.diag(L.tensor(
        [1.0, -1.0, 1.0]))]))),
    ("singular solve", lambda L: L.linalg.solve(L.tensor([[1.0, 2.0], [2.0, 4.0]]), L.ones(2))),
    ("solve shapes", lambda L: L.linalg.solve(L.eye(2), L.ones(3))),
    ("integer inv", lambda L: L.linalg.inv(L.ones(3, 3, dtype=L.int64))),
    ("matrix_power non-square", lambda L: L.linalg.matrix_power(L.ones(2, 3), 2)),
    ("cross length", lambda L: L.linalg.cross(L.ones(2), L.ones(2))),
    ("solve_triangular 1-D B", lambda L: L.linalg.solve_triangular(L.eye(2), L.ones(2),
                                                                   upper=True)),
    ("multi_dot one", lambda L: L.linalg.multi_dot([L.ones(2, 2)])),
    ("matrix_norm ord", lambda L: L.linalg.matrix_norm(L.ones(2, 2), 3)),
    ("qr mode", lambda L: L.linalg.qr(L.ones(2, 2), mode="bad")),
    ("nuc of 3-D", lambda L: L.ones(2, 2, 2).norm(p="nuc")),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(torch, case):
    _, fn = case
    with pytest.raises(Exception) as te:
        fn(torch)
    with pytest.raises(Exception) as ee:
        fn(ember)
    e, t = ee.value, te.value
    # torch.linalg.LinAlgError (a RuntimeError) maps to ember.linalg.LinAlgError
    want = ember.linalg.LinAlgError if isinstance(t, torch.linalg.LinAlgError) else type(t)
    assert type(e) is want or type(e).__name__ == type(t).__name__, (e, t)
    assert str(e) == str(t), (str(e), str(t))


def test_linalg_error_is_a_runtime_error(torch):
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)
    with pytest.raises(ember.linalg.LinAlgError):
        ember.linalg.cholesky(-ember.eye(2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_eig_eigenvalue_gradients_match_torch(torch, dtype):  # forward: tests/test_complex.py
    """The eigenvalues' gradient (real input: the real part of V^{-H} diag(gL) V^H) through the
    complex ops after it (real, imag, abs, powers), as torch's; float64 gradcheck."""
    a = np.random.default_rng(7).standard_normal((2, 4, 4)).astype(dtype)
    losses = (lambda L: L.real.sum(), lambda L: L.abs().sum(), lambda L: (L.imag ** 2).sum(),
              lambda L: (L.real * L.imag).sum())
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for loss in losses:
        for name in ("eigvals", "eig"):
            grads = []
            for lib in (ember, torch):
                x = lib.tensor(a, requires_grad=True)
                out = getattr(lib.linalg, name)(x)
                loss(out[0] if name == "eig" else out).backward()
                grads.append(x.grad.numpy())
            np.testing.assert_allclose(grads[0], grads[1], rtol=tol, atol=tol)
    x = ember.tensor(a[0].astype(np.float64), requires_grad=True)
    assert gradcheck(lambda m: ember.linalg.eigvals(m).abs(), (x,))
    assert gradcheck(lambda m: ember.linalg.eig(m)[0].imag, (x,))


def test_eig_eigenvector_gradient_raises_clearly():
    a = ember.tensor(np.random.default_rng(8).standard_normal((3, 3)), requires_grad=True)
    with pytest.raises(NotImplementedError, match="eigenvectors"):
        ember.linalg.eig(a)[1].abs().sum().backward()


def test_qr_mode_r_backward_raises(torch):
    a = RNG.standard_normal((3, 3)).astype(np.float32)
    e = ember.linalg.qr(ember.tensor(a, requires_grad=True), mode="r").R
    t = torch.linalg.qr(torch.tensor(a, requires_grad=True), mode="r").R
    same_error(torch, lambda: e.sum().backward(), lambda: t.sum().backward())


def test_torch_cross_without_dim_warns(torch):
    a = TALL[0]
    with pytest.warns(UserWarning):
        e = ember.cross(ember.tensor(a), ember.tensor(a[::-1].copy()))
    with pytest.warns(UserWarning):
        t = torch.cross(torch.tensor(a), torch.tensor(a[::-1].copy()))
    assert_close(e, t)
