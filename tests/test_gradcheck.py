"""ember.autograd.gradcheck / gradgradcheck: the checker itself (it catches wrong gradients,
raises torch's error type with the jacobians in the message, agrees with torch's checker) and
float64 gradchecks of every differentiable core op, plus gradgradcheck of the higher-order set."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck
from ember.autograd.gradcheck import GradcheckError

RNG = np.random.default_rng(2024)


def t64(*shape, low=None, high=None):
    """A float64 leaf requiring grad: standard normal, or uniform in [low, high]."""
    if low is None:
        a = RNG.standard_normal(shape)
    else:
        a = RNG.uniform(low, high, shape)
    return ember.tensor(a, dtype=ember.float64, requires_grad=True)


def pos(*shape):
    return t64(*shape, low=0.3, high=2.0)


# ---- the checker ---------------------------------------------------------------------------
def _wrong_square(lib):
    class WrongSquare(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 3 * x  # should be 2 x

    return WrongSquare


def _first_order_only_cube(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 3 * x.detach() ** 2  # right value, but not differentiable again

    return Cube


def test_gradcheck_error_is_a_runtime_error():
    assert issubclass(GradcheckError, RuntimeError)


def test_gradcheck_passes_and_fails_like_torch(torch):
    a = RNG.standard_normal((2, 3))
    for lib in (ember, torch):
        x = lib.tensor(a, dtype=lib.float64, requires_grad=True)
        assert lib.autograd.gradcheck(lambda t: (t * t).sum(1), (x,))
        assert lib.autograd.gradcheck(lambda t: t.exp(), x)  # a single tensor is accepted
        with pytest.raises(RuntimeError, match="Jacobian mismatch for output 0 with respect to "
                                               "input 0"):
            lib.autograd.gradcheck(_wrong_square(lib).apply, (x,))
        assert lib.autograd.gradcheck(_wrong_square(lib).apply, (x,),
                                      raise_exception=False) is False
        assert lib.autograd.gradcheck(_first_order_only_cube(lib).apply, (x,))
        with pytest.raises(RuntimeError, match="Jacobian mismatch"):
            lib.autograd.gradgradcheck(_first_order_only_cube(lib).apply, (x,))


def test_error_message_names_input_and_both_jacobians():
    x = t64(3)
    y = t64(2)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: (b * 2, _wrong_square(ember).apply(a)), (x, y))
    msg = str(info.value)
    assert msg.startswith("Jacobian mismatch for output 1 with respect to input 0,\n")
    assert "numerical:tensor(" in msg and "analytical:tensor(" in msg
    num = 2 * x.detach().numpy()
    ana = 3 * x.detach().numpy()
    # the diagonal entries of both jacobians are printed
    assert f"{num[0]:.4f}" in msg and f"{ana[0]:.4f}" in msg


def test_multiple_inputs_and_outputs_and_non_tensor_arguments():
    x, w = t64(3, 2), t64(2, 4)
    assert gradcheck(lambda a, b, k: (a @ b * k, (a * k).sum()), (x, w, 2.5))
    idx = ember.tensor([0, 1, 1])
    assert gradcheck(lambda a, i: (a * 2, i + 1), (x, idx))  # integer outputs are skipped
    assert gradcheck(lambda a, b: a * 2, (x, t64(3, 2)))  # an unused input: zero jacobian


def test_inputs_without_requires_grad_and_float32_warning(torch):
    x = ember.tensor([1.0, 2.0], dtype=ember.float64)
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda t: t * 2, (x,))
    x32 = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="not a double precision floating point"):
        gradcheck(lambda t: t * 2, (x32,), eps=1e-2, atol=1e-2, rtol=1e-2)


def test_stride_zero_input_is_refused(torch):
    x = ember.tensor([[1.0, 2.0]], dtype=ember.float64).expand(3, 2).requires_grad_()
    tx = torch.tensor([[1.0, 2.0]], dtype=torch.float64).expand(3, 2).requires_grad_()
    with pytest.raises(RuntimeError, match="has a dimension with stride 0") as e:
        gradcheck(lambda t: t * 2, (x,))
    with pytest.raises(RuntimeError) as t:
        torch.autograd.gradcheck(lambda v: v * 2, (tx,))
    assert str(e.value) == str(t.value)


def test_inputs_are_restored_after_the_check():
    x = t64(3, 3)
    before = x.detach().numpy().copy()
    gradcheck(lambda t: t.sin(), (x,))
    np.testing.assert_array_equal(x.detach().numpy(), before)
    assert x.grad is None


def test_random_projections_for_large_inputs():
    """Large inputs are checked through random projections v^T J u (fast), and still catch
    wrong gradients; fast_mode=True forces projections on small inputs."""
    big = t64(80, 60)
    assert gradcheck(lambda t: (t * t).tanh().sum(0), (big,))
    with pytest.raises(GradcheckError, match="fast mode"):
        gradcheck(_wrong_square(ember).apply, (big,))
    small = t64(3)
    assert gradcheck(lambda t: t.exp(), (small,), fast_mode=True)
    with pytest.raises(GradcheckError, match=r"(?s)fast mode.*Numerical:.*Analytical:"):
        gradcheck(_wrong_square(ember).apply, (small,), fast_mode=True)


def test_projections_leave_the_global_generator_alone():
    ember.manual_seed(5)
    expected = ember.rand(3).tolist()
    ember.manual_seed(5)
    gradcheck(lambda t: t.exp(), (t64(50, 50),))
    gradgradcheck(lambda t: t.exp(), (t64(3),))
    assert ember.rand(3).tolist() == expected


def test_gradgradcheck_with_given_grad_outputs():
    x = t64(2, 3)
    go = t64(2, 3)
    assert gradgradcheck(lambda t: t.sin() * t, (x,), (go,))
    assert gradgradcheck(lambda t: t ** 3, (x,), gen_non_contig_grad_outputs=True)


def test_unsupported_modes_are_refused():
    with pytest.raises(NotImplementedError, match="check_forward_ad"):
        gradcheck(lambda t: t * 2, (t64(2),), check_forward_ad=True)


# ---- every differentiable core op ------------------------------------------------------------
OPS = {
    # elementwise unary
    "neg": (lambda a: -a, [lambda: t64(3, 4)]),
    "abs": (lambda a: a.abs(), [lambda: t64(3, 4)]),
    "exp": (lambda a: a.exp(), [lambda: t64(3, 4)]),
    "log": (lambda a: a.log(), [lambda: pos(3, 4)]),
    "log1p": (lambda a: a.log1p(), [lambda: pos(3, 4)]),
    "log2": (lambda a: ember.log2(a), [lambda: pos(3, 4)]),
    "sqrt": (lambda a: a.sqrt(), [lambda: pos(3, 4)]),
    "rsqrt": (lambda a: a.rsqrt(), [lambda: pos(3, 4)]),
    "sin": (lambda a: a.sin(), [lambda: t64(3, 4)]),
    "cos": (lambda a: a.cos(), [lambda: t64(3, 4)]),
    "tanh": (lambda a: a.tanh(), [lambda: t64(3, 4)]),
    "sigmoid": (lambda a: a.sigmoid(), [lambda: t64(3, 4)]),
    "relu": (lambda a: a.relu(), [lambda: t64(3, 4)]),
    "sign": (lambda a: a.sign(), [lambda: t64(3, 4)]),
    "square": (lambda a: a.square(), [lambda: t64(3, 4)]),
    "reciprocal": (lambda a: a.reciprocal(), [lambda: pos(3, 4)]),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [lambda: t64(3, 4)]),
    "clamp_min": (lambda a: a.clamp_min(0.2), [lambda: t64(3, 4)]),
    "clamp_max": (lambda a: a.clamp(max=0.2), [lambda: t64(3, 4)]),
    "clamp_tensors": (lambda a, lo, hi: ember.clamp(a, lo, lo + hi.abs()),
                      [lambda: t64(3, 4), lambda: t64(4), lambda: t64(3, 1)]),
    "clamp_min_tensor": (lambda a, lo: a.clamp_min(lo), [lambda: t64(3, 4), lambda: t64(4)]),
    "clamp_max_tensor": (lambda a, hi: a.clamp_max(hi), [lambda: t64(3, 4), lambda: t64(3, 1)]),
    "pow_scalar": (lambda a: a ** 3, [lambda: t64(3, 4)]),
    "pow_fractional": (lambda a: a ** 1.7, [lambda: pos(3, 4)]),
    "pow_tensor": (lambda a, b: a ** b, [lambda: pos(3, 4), lambda: t64(4)]),
    "rpow": (lambda a: 1.5 ** a, [lambda: t64(3, 4)]),
    # elementwise binary, broadcasting
    "add": (lambda a, b: a + b, [lambda: t64(3, 4), lambda: t64(4)]),
    "add_alpha": (lambda a, b: ember.add(a, b, alpha=-2.5), [lambda: t64(3, 1), lambda: t64(4)]),
    "add_scalar": (lambda a: 2.0 + a, [lambda: t64(3, 4)]),
    "sub": (lambda a, b: a - b, [lambda: t64(2, 3, 4), lambda: t64(3, 1)]),
    "sub_alpha": (lambda a, b: a.sub(b, alpha=3), [lambda: t64(3, 4), lambda: t64(3, 4)]),
    "rsub": (lambda a: 1.0 - a, [lambda: t64(3, 4)]),
    "mul": (lambda a, b: a * b, [lambda: t64(3, 4), lambda: t64(1, 4)]),
    "div": (lambda a, b: a / b, [lambda: t64(3, 4), lambda: pos(4)]),
    "rdiv": (lambda a: 2.0 / a, [lambda: pos(3, 4)]),
    "maximum": (lambda a, b: ember.maximum(a, b), [lambda: t64(3, 4), lambda: t64(4)]),
    "minimum": (lambda a, b: ember.minimum(a, b), [lambda: t64(3, 4), lambda: t64(3, 1)]),
    "where": (lambda a, b: ember.where(a > 0, a, b), [lambda: t64(3, 4), lambda: t64(4)]),
    "remainder": (lambda a, b: a % b, [lambda: t64(3, 4), lambda: pos(4)]),
    "remainder_scalar": (lambda a: a % 0.7, [lambda: t64(3, 4)]),
    "fmod": (lambda a, b: ember.fmod(a, b), [lambda: t64(3, 4), lambda: pos(4)]),
    "floor_ceil_round_trunc": (lambda a: a.floor() + a.ceil() + a.round() + a.trunc() + a,
                               [lambda: t64(3, 4)]),
    "div_rounded": (lambda a, b: a.div(b, rounding_mode="floor") + a * b,
                    [lambda: t64(3, 4), lambda: pos(4)]),
    # reductions
    "sum": (lambda a: a.sum(), [lambda: t64(3, 4)]),
    "sum_dims": (lambda a: a.sum((0, 2), keepdim=True), [lambda: t64(2, 3, 4)]),
    "mean": (lambda a: a.mean(), [lambda: t64(3, 4)]),
    "mean_dim": (lambda a: a.mean(-1), [lambda: t64(3, 4)]),
    "prod": (lambda a: a.prod(), [lambda: t64(2, 3)]),
    "prod_dim": (lambda a: a.prod(1, keepdim=True), [lambda: t64(3, 4)]),
    "var": (lambda a: a.var(), [lambda: t64(3, 4)]),
    "var_dim": (lambda a: a.var(0, unbiased=False), [lambda: t64(3, 4)]),
    "std": (lambda a: a.std(), [lambda: t64(3, 4)]),
    "std_dim": (lambda a: a.std(1, keepdim=True), [lambda: t64(3, 4)]),
    "max": (lambda a: a.max(), [lambda: t64(3, 4)]),
    "max_dim": (lambda a: a.max(1)[0], [lambda: t64(3, 4)]),
    "min": (lambda a: a.min(), [lambda: t64(3, 4)]),
    "min_dim": (lambda a: a.min(0, keepdim=True).values, [lambda: t64(3, 4)]),
    "amax": (lambda a: a.amax((0, 1)), [lambda: t64(3, 4, 2)]),
    "amin": (lambda a: a.amin(-1), [lambda: t64(3, 4)]),
    "logsumexp": (lambda a: a.logsumexp(1), [lambda: t64(3, 4)]),
    "cumsum": (lambda a: a.cumsum(1), [lambda: t64(3, 4)]),
    "cumprod": (lambda a: a.cumprod(0), [lambda: t64(3, 4)]),
    "norm": (lambda a: a.norm(), [lambda: t64(3, 4)]),
    "norm_p": (lambda a: a.norm(3, dim=1), [lambda: t64(3, 4)]),
    "norm_1": (lambda a: a.norm(1, dim=0, keepdim=True), [lambda: t64(3, 4)]),
    "norm_inf": (lambda a: a.norm(float("inf"), dim=1), [lambda: t64(3, 4)]),
    # matrix products
    "matmul": (lambda a, b: a @ b, [lambda: t64(3, 4), lambda: t64(4, 2)]),
    "matmul_batched": (lambda a, b: a @ b, [lambda: t64(2, 3, 4), lambda: t64(4, 2)]),
    "matmul_broadcast": (lambda a, b: a @ b, [lambda: t64(2, 1, 3, 4), lambda: t64(3, 4, 2)]),
    "matmul_vec": (lambda a, b: a @ b, [lambda: t64(2, 3, 4), lambda: t64(4)]),
    "vec_matmul": (lambda a, b: a @ b, [lambda: t64(3), lambda: t64(2, 3, 4)]),
    "mm": (lambda a, b: ember.mm(a, b), [lambda: t64(3, 4), lambda: t64(4, 2)]),
    "bmm": (lambda a, b: ember.bmm(a, b), [lambda: t64(2, 3, 4), lambda: t64(2, 4, 2)]),
    "mv": (lambda a, b: ember.mv(a, b), [lambda: t64(3, 4), lambda: t64(4)]),
    "dot": (lambda a, b: ember.dot(a, b), [lambda: t64(4), lambda: t64(4)]),
    "outer": (lambda a, b: ember.outer(a, b), [lambda: t64(3), lambda: t64(4)]),
    "inner": (lambda a, b: ember.inner(a, b), [lambda: t64(2, 4), lambda: t64(3, 4)]),
    "addmm": (lambda c, a, b: ember.addmm(c, a, b, beta=0.5, alpha=2.0),
              [lambda: t64(2), lambda: t64(3, 4), lambda: t64(4, 2)]),
    # shape
    "view": (lambda a: a.view(4, 3), [lambda: t64(3, 4)]),
    "reshape_noncontig": (lambda a: a.t().reshape(-1), [lambda: t64(3, 4)]),
    "flatten": (lambda a: a.flatten(1), [lambda: t64(2, 3, 4)]),
    "unflatten": (lambda a: a.unflatten(1, (2, 2)), [lambda: t64(3, 4)]),
    "squeeze": (lambda a: a.squeeze(), [lambda: t64(3, 1, 4)]),
    "squeeze_dims": (lambda a: a.squeeze((1, 3)), [lambda: t64(3, 1, 4, 1)]),
    "unsqueeze": (lambda a: a.unsqueeze(1), [lambda: t64(3, 4)]),
    "transpose": (lambda a: a.transpose(0, 2), [lambda: t64(2, 3, 4)]),
    "t": (lambda a: a.t(), [lambda: t64(3, 4)]),
    "T": (lambda a: a.T, [lambda: t64(3, 4)]),
    "permute": (lambda a: a.permute(2, 0, 1), [lambda: t64(2, 3, 4)]),
    "movedim": (lambda a: a.movedim(0, -1), [lambda: t64(2, 3, 4)]),
    "expand": (lambda a: a.expand(2, 3, 4), [lambda: t64(3, 1)]),
    "expand_as": (lambda a, b: a.expand_as(b) * b, [lambda: t64(4), lambda: t64(3, 4)]),
    "repeat": (lambda a: a.repeat(2, 1, 3), [lambda: t64(3, 2)]),
    "tile": (lambda a: a.tile((2,)), [lambda: t64(3, 2)]),
    "cat": (lambda a, b: ember.cat([a, b, a], 1), [lambda: t64(3, 2), lambda: t64(3, 1)]),
    "stack": (lambda a, b: ember.stack([a, b], -1), [lambda: t64(3, 2), lambda: t64(3, 2)]),
    "split": (lambda a: a.split(2)[1] * 2, [lambda: t64(5, 2)]),
    "split_sizes": (lambda a: a.split([1, 3], 1), [lambda: t64(3, 4)]),
    "chunk": (lambda a: a.chunk(3, 1), [lambda: t64(2, 5)]),
    "unbind": (lambda a: a.unbind(1), [lambda: t64(2, 3)]),
    "narrow": (lambda a: a.narrow(1, 1, 2), [lambda: t64(3, 4)]),
    "flip": (lambda a: a.flip(0, 1), [lambda: t64(3, 4)]),
    "roll": (lambda a: a.roll(1, 0), [lambda: t64(3, 4)]),
    "clone": (lambda a: a.clone(), [lambda: t64(3, 4)]),
    "contiguous": (lambda a: a.t().contiguous(), [lambda: t64(3, 4)]),
}

# ops whose second derivatives torch defines (gradgradcheck); piecewise-linear ones have zero
# second derivatives and are covered too.
HIGHER_ORDER = [
    "neg", "abs", "exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid",
    "relu", "square", "reciprocal", "clamp", "pow_scalar", "pow_fractional", "pow_tensor",
    "rpow", "add", "add_alpha", "sub", "mul", "div", "rdiv", "maximum", "where", "sum_dims",
    "mean_dim", "prod_dim", "var_dim", "std", "max_dim", "amax", "logsumexp", "cumsum", "norm",
    "matmul", "matmul_batched", "matmul_vec", "vec_matmul", "mm", "bmm", "mv", "dot", "outer",
    "addmm", "reshape_noncontig", "permute", "expand", "repeat", "cat", "stack", "split_sizes",
    "unbind", "flip",
]


@pytest.mark.parametrize("name", list(OPS))
def test_gradcheck_every_op(name):
    fn, makers = OPS[name]
    assert gradcheck(fn, tuple(m() for m in makers))


@pytest.mark.parametrize("name", HIGHER_ORDER)
def test_gradgradcheck_higher_order_set(name):
    fn, makers = OPS[name]
    assert gradgradcheck(fn, tuple(m() for m in makers))


def test_gradcheck_non_contiguous_inputs():
    base = t64(4, 3).detach()
    x = base.t().requires_grad_()  # a transposed (strided) leaf
    assert not x.is_contiguous()
    for fn in (lambda a: a.exp() * a, lambda a: a @ a.t(), lambda a: a.sum(0),
               lambda a: a.reshape(-1), lambda a: a.var(1)):
        assert gradcheck(fn, (x,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradgradcheck(lambda a: (a * a).sum(1), (x,))
