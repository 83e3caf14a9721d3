"""A linear layer's forward through cblas (ops/_linear_blas.py): the NN product on an
omatcopy'd W.T and the NT product, both with the bias accumulated by the GEMM (beta = 1),
against NumPy and against torch's nn.Linear / F.linear (values and gradients), over the row
counts that pick each route, and the inputs that must fall back to NumPy."""
import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from ember.ops import _gemm, _linear_blas
from ember.autograd import gradcheck

ROUTE_ROWS = [1, 8, 16, 23, 24, 40, 64, 200, 700, 2047, 2048]  # NumPy / WSF, NN, NT


@pytest.mark.parametrize("layout", ["nn", "nt"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("m,k,n", [(64, 128, 384), (24, 512, 128), (3, 7, 5), (600, 64, 65)])
def test_forced_layouts_equal_numpy(layout, dtype, bias, m, k, n):
    rng = np.random.default_rng(m * k + n)
    x = rng.standard_normal((m, k)).astype(dtype)
    w = rng.standard_normal((n, k)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype) if bias else None
    w0 = w.copy()
    out = _linear_blas.linear(x, w, b, layout)
    ref = x @ w.T + (b if bias else 0)
    assert out.shape == (m, n) and out.dtype == dtype and out.flags.c_contiguous
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol)
    np.testing.assert_array_equal(w, w0)  # (the transpose goes to a scratch buffer)


def test_route_choice_by_rows():
    def route(m, k=128, n=384):
        x = np.zeros((m, k), np.float32)
        w = np.zeros((n, k), np.float32)
        return _linear_blas.linear(x, w, None) is not None
    assert not route(1) and not route(23)
    assert route(24, 64, 256) and route(64)
    old = ember.get_num_threads()
    try:
        ember.set_num_threads(1)  # products past _gemm.SERIAL_MACS: on one thread only
        assert route(200) and route(700)
        ember.set_num_threads(2)  # (else _gemm times thread counts for them)
        assert not route(700)
    finally:
        ember.set_num_threads(old)
    # where _gemm's weight-side-first form is faster, it is left to it
    # (with K < 512: deeper inputs take row pieces, tests/test_linear_row_pieces.py)
    assert _gemm._weight_side_first(np.zeros((32, 384), np.float32),
                                    np.zeros((128, 384), np.float32).T)
    assert not route(32, 384, 128)
    # a layer of few outputs runs NT (no transpose), as many rows do: the layout is an
    # internal choice, so this checks the values through both
    rng = np.random.default_rng(1)
    for m, k, n in ((64, 64, 10), (2100, 64, 10), (64, 64, 17)):
        x = rng.standard_normal((m, k)).astype(np.float32)
        w = rng.standard_normal((n, k)).astype(np.float32)
        np.testing.assert_allclose(_linear_blas.linear(x, w, None), x @ w.T, rtol=1e-5,
                                   atol=1e-4)
        r = _linear_blas.transposed_product(x, w.T)
        assert (r is None) == (m >= _linear_blas.NT_MIN_ROWS)
        if r is not None:
            np.testing.assert_allclose(r, x @ w.T, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("m", ROUTE_ROWS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_module_values_and_gradients_match_torch(torch, m, dtype):
    rng = np.random.default_rng(m)
    k, n = 128, 96
    x = rng.standard_normal((m, k)).astype(dtype)
    w = (rng.standard_normal((n, k)) * 0.1).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal((m, n)).astype(dtype)
    res = {}
    for name, lib in (("torch", torch), ("ember", ember)):
        lin = lib.nn.Linear(k, n, dtype=getattr(lib, dtype))
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(w))
            lin.bias.copy_(lib.tensor(b))
        xt = lib.tensor(x, requires_grad=True)
        y = lin(xt)
        y.backward(lib.tensor(g))
        with lib.no_grad():
            y0 = lin(lib.tensor(x))
        res[name] = [t.detach().numpy() for t in (y, y0, xt.grad, lin.weight.grad, lin.bias.grad)]
        res[name + "_fn"] = type(y.grad_fn).__name__
    tol = 1e-5 if dtype == "float32" else 1e-11
    for e, t in zip(res["ember"], res["torch"]):
        assert e.dtype == t.dtype and e.shape == t.shape
        # (the weight's gradient sums m rows: float32 rounding grows with its magnitude)
        np.testing.assert_allclose(e, t, rtol=tol, atol=tol * max(1.0, np.abs(t).max()))
    assert res["ember_fn"] == res["torch_fn"] == "AddmmBackward0"


@pytest.mark.parametrize("shape", [(2, 32, 128), (1, 64, 128), (4, 3, 128)])
@pytest.mark.parametrize("bias", [True, False])
def test_functional_linear_batched_input_no_grad_and_grad(torch, shape, bias):
    """F.linear on (B, T, in): the no-grad GEMM path and the recorded one, with and without
    bias (a tied lm_head), values and gradients as torch's."""
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((65, 128)).astype(np.float32) * 0.1
    b = rng.standard_normal(65).astype(np.float32) if bias else None
    g = rng.standard_normal(shape[:-1] + (65,)).astype(np.float32)
    res = {}
    for name, lib in (("torch", torch), ("ember", ember)):
        F = lib.nn.functional
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        bt = lib.tensor(b, requires_grad=True) if bias else None
        with lib.no_grad():
            y0 = F.linear(lib.tensor(x), lib.tensor(w), lib.tensor(b) if bias else None)
        y = F.linear(xt, wt, bt)
        y.backward(lib.tensor(g))
        out = [y0, y, xt.grad, wt.grad] + ([bt.grad] if bias else [])
        res[name] = [t.detach().numpy() for t in out]
    for e, t in zip(res["ember"], res["torch"]):
        assert e.shape == t.shape
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-5)


def test_mm_with_transposed_weight_takes_nn_and_matches_torch(torch):
    """_gemm.gemm(x, W.T) from 24 rows (mm, matmul, bias-free linear) goes through the NN
    product on W.T: torch's values, a C-contiguous result."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 128)).astype(np.float32)
    w = rng.standard_normal((200, 128)).astype(np.float32)
    r = _linear_blas.transposed_product(x, w.T)
    assert r is not None and r.flags.c_contiguous
    out = _gemm.gemm(x, w.T)
    np.testing.assert_allclose(out, x @ w.T, rtol=1e-5, atol=1e-4)
    e = ember.tensor(x).mm(ember.tensor(w).t()).numpy()
    t = torch.tensor(x).mm(torch.tensor(w).t()).numpy()
    np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-4)


def test_fallbacks_keep_numpy_route():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 128)).astype(np.float32)
    w = rng.standard_normal((96, 128)).astype(np.float32)
    b = rng.standard_normal(96).astype(np.float32)
    assert _linear_blas.linear(np.asfortranarray(x), w, b) is None  # strided x
    assert _linear_blas.linear(x, np.asfortranarray(w), b) is None  # transposed weight
    assert _linear_blas.linear(x, w, b.astype(np.float64)) is None  # bias of another dtype
    assert _linear_blas.linear(x.astype(np.float16), w.astype(np.float16), None) is None
    assert _linear_blas.linear(x.astype(np.int64), w.astype(np.int64), None) is None
    assert _linear_blas.linear(x[:, :0].copy(), w[:, :0].copy(), None) is None  # k = 0
    assert _linear_blas.linear(x, w[:0], None) is None  # no outputs
    # read-only operands (a NumPy array shared with the caller) still take the BLAS route
    xr, wr, br = x.copy(), w.copy(), b.copy()
    for a in (xr, wr, br):
        a.flags.writeable = False
    np.testing.assert_allclose(_linear_blas.linear(xr, wr, br), x @ w.T + b, rtol=1e-5,
                               atol=1e-4)


@pytest.mark.parametrize("shape", [(2, 0, 128), (0, 128)])
def test_empty_batches_match_torch(torch, shape):
    x = np.zeros(shape, np.float32)
    w = np.ones((30, 128), np.float32)
    b = np.ones(30, np.float32)
    with ember.no_grad():
        e = EF.linear(ember.tensor(x), ember.tensor(w), ember.tensor(b))
    t = torch.nn.functional.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    assert tuple(e.shape) == tuple(t.shape)


def test_gradcheck_float64_through_nn_route():
    rng = np.random.default_rng(6)
    x = ember.tensor(rng.standard_normal((30, 6)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((5, 6)), requires_grad=True)
    b = ember.tensor(rng.standard_normal(5), requires_grad=True)
    assert _linear_blas.linear(x._data, w._data, b._data) is not None
    assert gradcheck(lambda x, w, b: EF.linear(x, w, b), (x, w, b))


@pytest.mark.parametrize("shape,transposed", [((1, 64, 128), False), ((2, 3, 40, 128), False),
                                              ((2, 30, 128), True), ((4, 5, 128), False)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_module_batched_no_grad_matches_torch(torch, shape, transposed, bias, dtype):
    """nn.Linear on (*, in) input under no_grad (a generation step): the module's direct cblas
    route, with torch's values, shape and dtype; strided input included."""
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape).astype(dtype)
    w = (rng.standard_normal((96, 128)) * 0.1).astype(dtype)
    b = rng.standard_normal(96).astype(dtype)
    outs = {}
    for name, lib in (("torch", torch), ("ember", ember)):
        lin = lib.nn.Linear(128, 96, bias=bias, dtype=getattr(lib, dtype))
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(w))
            if bias:
                lin.bias.copy_(lib.tensor(b))
            xt = lib.tensor(x)
            if transposed:
                xt = xt.transpose(0, 1).contiguous().transpose(0, 1)  # (strided view)
            y = lin(xt)
        assert not y.requires_grad and y.grad_fn is None
        outs[name] = y
    e, t = outs["ember"], outs["torch"]
    assert tuple(e.shape) == tuple(t.shape) and str(e.dtype)[6:] == str(t.dtype)[6:]
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=tol, atol=tol)
