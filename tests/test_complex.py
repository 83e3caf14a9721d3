"""Complex dtypes (complex64 / complex128) and linalg.eig / eigvals (issue 12): creation, repr,
promotion, .real/.imag, view_as_real/view_as_complex, abs/angle/conj, indexing and comparison
differential against torch; eig's values equal torch's (LAPACK geev on both sides)."""
from __future__ import annotations

import numpy as np
import pytest

import ember


def _norm(text: str, m) -> str:
    return text.replace(m.__name__ + ".", "X.")


REPRS = [
    lambda m: m.tensor([1 + 2j, 3 - 1.5j]),
    lambda m: m.tensor([[1 + 2j, -3.25 - 100j], [0j, 1e-5 + 2j]]),
    lambda m: m.tensor([1 + 2j], dtype=m.complex128),
    lambda m: m.tensor(2 + 3j),
    lambda m: m.tensor([float("nan") + 1j, float("inf") * 1j]),
    lambda m: m.tensor([1.0, -2.0]).to(m.complex64) * 1j,
    lambda m: m.arange(12.).reshape(3, 4).to(m.complex128) * (0.5 - 1.25j),
    lambda m: m.arange(2000.).to(m.complex64) * (1 + 1j),
    lambda m: m.tensor([], dtype=m.complex64),
    lambda m: m.tensor([1e10 + 1j, 1 + 1e-6j]),
    lambda m: m.zeros(2, 3, dtype=m.cfloat),
]


@pytest.mark.parametrize("make", REPRS)
def test_repr_matches_torch(torch, make):
    t, e = make(torch), make(ember)
    assert _norm(repr(e), ember) == _norm(repr(t), torch)
    assert str(e.dtype)[6:] == str(t.dtype)[6:]


def test_dtypes_and_promotion(torch):
    for name in ("complex64", "complex128", "cfloat", "cdouble"):
        d, td = getattr(ember, name), getattr(torch, name)
        assert repr(d)[6:] == repr(td)[6:]
        assert d.is_complex and not d.is_floating_point and d.itemsize == td.itemsize
        assert repr(d.to_real())[6:] == repr(td.to_real())[6:]
    assert ember.float64.to_complex() is ember.complex128
    pairs = [("complex64", "float64"), ("complex64", "int64"), ("float16", "complex64"),
             ("complex64", "complex128"), ("bool", "complex128"), ("float32", "complex64")]
    for a, b in pairs:
        got = ember.promote_types(getattr(ember, a), getattr(ember, b))
        assert repr(got)[6:] == repr(torch.promote_types(getattr(torch, a), getattr(torch, b)))[6:]
    cases = [lambda m: m.ones(2, dtype=m.complex64) + m.tensor(1.0, dtype=m.float64),
             lambda m: m.ones(2) + m.tensor(1j, dtype=m.complex128),
             lambda m: m.ones(2, dtype=m.float64) + 1j, lambda m: m.ones(2, dtype=m.int64) + 1j,
             lambda m: m.ones(2) + m.tensor([1j], dtype=m.complex128),
             lambda m: m.tensor([1 + 1j]) * m.tensor([2.0]), lambda m: 2j * m.arange(3)]
    for f in cases:
        e, t = f(ember), f(torch)
        assert repr(e.dtype)[6:] == repr(t.dtype)[6:]
        np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_parts_views_and_elementwise(torch):
    src = [[1 + 2j, 3 - 4j, -0.5j], [2.0, -1 - 1j, 0j]]
    e, t = ember.tensor(src), torch.tensor(src)
    for f in (lambda x: x.real, lambda x: x.imag, lambda x: x.abs(), lambda x: x.angle(),
              lambda x: x.conj().resolve_conj(), lambda x: x[0], lambda x: x[:, 1], lambda x: x[x.real > 0],
              lambda x: x == x.conj().resolve_conj(), lambda x: x.sum(), lambda x: x.T,
              lambda x: x * x, lambda x: x.reshape(-1), lambda m: m.is_complex()):
        a, b = f(e), f(t)
        if isinstance(b, bool):
            assert a is b
            continue
        assert repr(a.dtype)[6:] == repr(b.dtype)[6:]
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    for m, x in ((ember, e), (torch, t)):
        r = m.view_as_real(x)
        assert r.shape == (2, 3, 2)
        r[0, 0, 1] = 7.0  # a view: writes reach x
        x.real[1, 0] = 5.0
        assert complex(x[0, 0]) == 1 + 7j and complex(x[1, 0]) == 5
        c = m.view_as_complex(m.tensor([[1.0, 2.0], [3.0, -4.0]]))
        assert c.tolist() == [1 + 2j, 3 - 4j] and repr(c.dtype)[6:] == "complex64"
        assert m.complex(m.tensor([1.0]), m.tensor([2.0])).tolist() == [1 + 2j]
        assert not x.is_conj() and x.real.stride() == (6, 2)
        assert m.is_complex(x) and not m.is_complex(x.real)
    np.testing.assert_allclose(
        ember.polar(ember.tensor([2.0]), ember.tensor([0.5])).numpy(),
        torch.polar(torch.tensor([2.0]), torch.tensor([0.5])).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(ember.tensor([-1.0, 2.0, 0.0]).angle().numpy(),
                                  torch.tensor([-1.0, 2.0, 0.0]).angle().numpy())


def test_errors_match_torch(torch):
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="imag is not implemented for tensors with "
                                               "non-complex dtypes."):
            m.ones(2).imag
        with pytest.raises(RuntimeError, match="Tensor must have a last dimension of size 2"):
            m.view_as_complex(m.ones(3))
        with pytest.raises(RuntimeError, match="view_as_real is only supported for complex"):
            m.view_as_real(m.ones(3))
        assert m.ones(2).real.tolist() == [1.0, 1.0]


def _match_eig(torch, a: np.ndarray, same_order: bool = False):
    """ember's eig equals torch's: the same eigenvalues (LAPACK's geev on both sides; the order
    of a batch's eigenvalues can differ between LAPACK builds, so they are matched first unless
    same_order), and eigenvectors equal up to a unit phase."""
    L, V = ember.linalg.eig(ember.tensor(a))
    tL, tV = torch.linalg.eig(torch.tensor(a))
    assert repr(L.dtype)[6:] == repr(tL.dtype)[6:] and repr(V.dtype)[6:] == repr(tV.dtype)[6:]
    assert L.shape == tuple(tL.shape) and V.shape == tuple(tV.shape)
    tol = 1e-4 if a.dtype == np.float32 else 1e-10
    l, tl, v, tv = L.numpy(), tL.numpy(), V.numpy(), tV.numpy()
    if not same_order:  # torch's k-th eigenpair: ember's nearest eigenvalue's
        perm = np.abs(tl[..., :, None] - l[..., None, :]).argmin(-1)
        assert all(len(set(p)) == p.size for p in perm.reshape(-1, perm.shape[-1]))
        l = np.take_along_axis(l, perm, -1)
        v = np.take_along_axis(v, perm[..., None, :], -1)
    np.testing.assert_allclose(l, tl, rtol=tol, atol=tol)
    phase = (np.conj(tv) * v).sum(-2)  # <tv_k, v_k> per eigenvector: a unit complex number
    np.testing.assert_allclose(np.abs(phase), 1.0, rtol=tol, atol=tol)
    np.testing.assert_allclose(v, tv * phase[..., None, :], rtol=tol, atol=tol)
    # and the decomposition holds: A V = V diag(L)
    np.testing.assert_allclose(a.astype(v.dtype) @ v, v * l[..., None, :],
                               rtol=10 * tol, atol=10 * tol)
    ev = np.sort_complex(ember.linalg.eigvals(ember.tensor(a)).numpy().reshape(-1, a.shape[-1]))
    tev = np.sort_complex(torch.linalg.eigvals(torch.tensor(a)).numpy().reshape(-1, a.shape[-1]))
    np.testing.assert_allclose(ev, tev, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 2), (5, 5), (3, 4, 4), (1, 1)])
def test_eig_matches_torch(torch, dtype, shape):
    a = np.random.default_rng(sum(shape)).standard_normal(shape).astype(dtype)
    _match_eig(torch, a)


def test_eig_known_cases(torch):
    # conjugate pairs come positive imaginary part first; diagonal input keeps its order
    _match_eig(torch, np.array([[2.0, 1.0], [-1.0, 2.0]]), same_order=True)  # 2 +- i
    _match_eig(torch, np.array([[0.0, -1.0], [1.0, 0.0]], np.float32), same_order=True)
    _match_eig(torch, np.diag([3.0, 1.0, 2.0]), same_order=True)
    L, V = ember.linalg.eig(ember.tensor([[2.0, 1.0], [-1.0, 2.0]]))
    tL, tV = torch.linalg.eig(torch.tensor([[2.0, 1.0], [-1.0, 2.0]]))
    assert _norm(repr(L), ember) == _norm(repr(tL), torch)
    assert _norm(repr(V), ember) == _norm(repr(tV), torch)
    c = np.array([[1 + 1j, 2], [0.5j, -1]], np.complex128)  # complex input
    np.testing.assert_allclose(ember.linalg.eigvals(ember.tensor(c)).numpy(),
                               torch.linalg.eigvals(torch.tensor(c)).numpy(), rtol=1e-12)


def test_eig_empty_and_errors(torch):
    for shape in ((0, 0), (2, 0, 0)):
        L, V = ember.linalg.eig(ember.zeros(*shape))
        tL, tV = torch.linalg.eig(torch.zeros(*shape))
        assert L.shape == tuple(tL.shape) and V.shape == tuple(tV.shape)
        assert repr(L.dtype)[6:] == repr(tL.dtype)[6:]
    bad = [(lambda m: m.randn(2, 3), "A must be batches of square matrices, but they are 2 by 3"),
           (lambda m: m.randn(3), "The input tensor A must have at least 2 dimensions."),
           (lambda m: m.ones(2, 2, dtype=m.int64), "Unknown Complex ScalarType for Long")]
    for make, msg in bad:
        for m in (ember, torch):
            for fn in (m.linalg.eig, m.linalg.eigvals):
                with pytest.raises(RuntimeError, match=msg):
                    fn(make(m))
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="input tensor should not contain infs or NaNs"):
            m.linalg.eig(m.tensor([[1.0, float("nan")], [0.0, 1.0]]))


def test_eig_records_its_node_and_backward(torch):
    """eig's nodes as torch's; the eigenvalues' gradient is computed (values against torch in
    test_linalg_namespace.py), a gradient reaching the eigenvectors names the gap."""
    a = ember.randn(3, 3, requires_grad=True)
    ta = torch.randn(3, 3, requires_grad=True)
    for i, fn in enumerate((lambda m, x: m.linalg.eig(x)[0], lambda m, x: m.linalg.eig(x)[1],
                            lambda m, x: m.linalg.eigvals(x))):
        out, tout = fn(ember, a), fn(torch, ta)
        assert type(out.grad_fn).__name__ == type(tout.grad_fn).__name__ == "LinalgEigBackward0"
        assert out.requires_grad and tout.requires_grad
        assert type(out.real.grad_fn).__name__ == type(tout.real.grad_fn).__name__
        for loss in (out.real.sum(), out.abs().sum(), (out.imag * 2).sum()):
            if i == 1:  # the eigenvectors
                with pytest.raises(NotImplementedError, match="eigenvectors"):
                    loss.backward()
            else:
                a.grad = None
                loss.backward()
                assert a.grad is not None and a.grad.dtype == a.dtype
    with ember.no_grad():
        assert not ember.linalg.eigvals(a).requires_grad
    for f in (lambda: ember.complex(a, a), lambda: ember.view_as_complex(a[:, :2])):
        with pytest.raises(NotImplementedError, match="complex autograd"):
            f()


def test_complex_leaves_cannot_require_grad():
    """ember has no complex autograd: a complex leaf requiring grad would get wrong gradients,
    so it is refused with the reason (torch allows it)."""
    for f in (lambda: ember.tensor([1 + 2j], requires_grad=True),
              lambda: ember.tensor([1 + 2j]).requires_grad_(),
              lambda: ember.zeros(2, dtype=ember.complex64, requires_grad=True),
              lambda: ember.nn.Parameter(ember.tensor([1j]))):
        with pytest.raises(NotImplementedError, match="no complex autograd"):
            f()


def test_angle_of_real_input_gradient(torch):
    """angle of a real tensor is piecewise constant: zero gradient, as torch."""
    from ember.autograd import gradcheck
    src = np.array([-1.5, 0.5, 2.0, -0.25])
    grads = []
    for m in (ember, torch):
        x = m.tensor(src, requires_grad=True)
        y = x.angle()
        assert type(y.grad_fn).__name__ == "AngleBackward0"
        (y * m.arange(4.0, dtype=m.float64)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    assert gradcheck(ember.angle, (ember.tensor(src, requires_grad=True),))
