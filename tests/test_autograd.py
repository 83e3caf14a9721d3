"""Autograd against torch: graph structure (grad_fn, next_functions, AccumulateGrad), backward's
arguments and errors, accumulation, .grad on leaves only, retain_grad, grad modes, autograd.grad,
custom Functions taken from PyTorch's documentation, hooks, higher-order gradients and a very
deep graph."""
from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

import ember
from helpers import assert_close, same_error

RNG = np.random.default_rng(11)


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def pair(torch, a, requires_grad=True):
    return (ember.tensor(a.copy(), requires_grad=requires_grad),
            torch.tensor(a.copy(), requires_grad=requires_grad))


def graph(fn, depth=8):
    """The backward graph below a grad_fn as nested (name, children) tuples."""
    if fn is None:
        return None
    name = type(fn).__name__
    if depth == 0 or name == "AccumulateGrad":
        return name
    return (name, tuple(graph(f, depth - 1) for f, _ in fn.next_functions))


GRAPHS = {
    "mul_add_sum": lambda L, x, w: (x * w + x).sum(),
    "linear_relu_mean": lambda L, x, w: (x @ w.t() + w.sum(0).narrow(0, 0, 2)).relu().mean(),
    "addmm": lambda L, x, w: L.addmm(w.sum(0).narrow(0, 0, 2), x, w.t()),
    "exp_log": lambda L, x, w: x.exp().log(),
    "const_operand": lambda L, x, w: x * L.ones(3),
    "no_grad_operand": lambda L, x, w: x * w.detach(),
    "reuse": lambda L, x, w: (x * x).sum() + x.mean(),
    "reshape_clone": lambda L, x, w: x.t().reshape(-1),
    "view_chain": lambda L, x, w: x.view(-1).unsqueeze(0).squeeze(0),
    "pow_div": lambda L, x, w: (x ** 2 / w.abs().exp()).sum(1),
    "scalar_ops": lambda L, x, w: L.clamp(2 ** x, 0.5, 2.0) ** 3,
    "rsub_neg": lambda L, x, w: -(1 - x),
    "max_dim": lambda L, x, w: x.max(1)[0],
    "cat_split": lambda L, x, w: L.cat(x.split(1)).sum(0),
    "dtype_cast": lambda L, x, w: x.double().sum(),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_graph_structure_matches_torch(torch, name):
    x, w = randn(2, 3), randn(2, 3)
    ex, tx = pair(torch, x)
    ew, tw = pair(torch, w)
    eo, to = GRAPHS[name](ember, ex, ew), GRAPHS[name](torch, tx, tw)
    assert graph(eo.grad_fn) == graph(to.grad_fn)
    assert_close(eo, to)


def test_accumulate_grad_nodes_point_at_leaves(torch):
    for lib in (ember, torch):
        x = lib.ones(2, requires_grad=True)
        y = x * lib.ones(2)
        acc = y.grad_fn.next_functions[0][0]
        assert type(acc).__name__ == "AccumulateGrad" and acc.variable is x
        assert y.grad_fn.next_functions[1] == (None, 0)
        assert acc.next_functions == ()
        # the same leaf reached twice goes through one accumulator
        z = x * x
        assert z.grad_fn.next_functions[0][0] is z.grad_fn.next_functions[1][0]
        assert y.grad_fn.name() == "MulBackward0"


def test_output_nr_of_multi_output_nodes(torch):
    a = randn(4, 3)
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        p, q = x.split(2)
        s = p + q
        assert [n for _, n in s.grad_fn.next_functions] == [0, 1]


def test_backward_default_and_explicit_gradient(torch):
    a = randn(3, 4)
    ex, tx = pair(torch, a)
    (ex * 3).sum().backward()
    (tx * 3).sum().backward()
    assert_close(ex.grad, tx.grad)
    g = randn(3, 4)
    ey, ty = ex.exp(), tx.exp()
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    assert_close(ex.grad, tx.grad)  # accumulated on top of the first backward
    ember.autograd.backward([ex.sin().sum(), ex.cos()], [None, ember.tensor(g)])
    torch.autograd.backward([tx.sin().sum(), tx.cos()], [None, torch.tensor(g)])
    assert_close(ex.grad, tx.grad)


def test_backward_errors(torch):
    ex, tx = pair(torch, randn(3))
    ee, et = same_error(torch, lambda: (ex * 2).backward(), lambda: (tx * 2).backward())
    assert str(ee) == str(et) == "grad can be implicitly created only for scalar outputs"
    ee, et = same_error(torch, lambda: ember.ones(2).sum().backward(),
                        lambda: torch.ones(2).sum().backward())
    assert str(ee) == str(et)
    ee, et = same_error(torch, lambda: (ex * 2).backward(ember.ones(4)),
                        lambda: (tx * 2).backward(torch.ones(4)))
    assert str(ee) == str(et).replace("torch.Size", "ember.Size")


def test_second_backward_through_freed_graph(torch):
    ex, tx = pair(torch, randn(3))
    ey, ty = (ex.exp() * ex).sum(), (tx.exp() * tx).sum()
    ey.backward()
    ty.backward()
    ee, et = same_error(torch, ey.backward, ty.backward)
    assert isinstance(ee, RuntimeError)
    assert str(ee).startswith("Trying to backward through the graph a second time")
    assert str(ee) == str(et)


def test_retain_graph_allows_repeated_backward_and_accumulates(torch):
    ex, tx = pair(torch, randn(3))
    ey, ty = (ex.sigmoid() * ex).sum(), (tx.sigmoid() * tx).sum()
    for _ in range(3):
        ey.backward(retain_graph=True)
        ty.backward(retain_graph=True)
    assert_close(ex.grad, tx.grad)
    ex.grad = None
    tx.grad = None
    ey.backward()
    ty.backward()
    assert_close(ex.grad, tx.grad)


def test_grad_only_on_leaves_and_retain_grad(torch):
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        z = y * y
        y.retain_grad()
        w = z * 1
        z.sum().backward()
        assert x.grad is not None and y.grad is not None
        assert y.retains_grad and not z.retains_grad
        with pytest.warns(UserWarning, match="is not a leaf Tensor"):
            assert w.grad is None
        assert y.grad.tolist() == [6.0, 12.0]
    e = ember.ones(2)
    same_error(torch, e.retain_grad, torch.ones(2).retain_grad)


def test_requires_grad_flags(torch):
    for lib in (ember, torch):
        x = lib.ones(2)
        assert not x.requires_grad
        assert x.requires_grad_() is x and x.requires_grad and x.is_leaf
        x.requires_grad = False
        assert not x.requires_grad
        y = lib.ones(2, requires_grad=True) * 2
        with pytest.raises(RuntimeError):
            y.requires_grad = False
        y.requires_grad_(True)  # allowed: already requires grad
        d = y.detach()
        assert not d.requires_grad and d.is_leaf
        # a result requires grad iff some floating input does
        assert (lib.ones(2) + y).requires_grad
        assert not (lib.ones(2) + lib.ones(2)).requires_grad
        assert not (y > 0).requires_grad and (y > 0).grad_fn is None
        assert not y.argmax().requires_grad


def test_grad_modes(torch):
    for lib in (ember, torch):
        x = lib.ones(2, requires_grad=True)
        assert lib.is_grad_enabled()
        with lib.no_grad():
            assert not lib.is_grad_enabled()
            y = x * 2
            with lib.enable_grad():
                assert lib.is_grad_enabled()
                z = x * 2
            assert not lib.is_grad_enabled()
        assert lib.is_grad_enabled()
        assert not y.requires_grad and y.grad_fn is None and z.requires_grad

        @lib.no_grad()
        def f(t):
            return t * 2

        @lib.no_grad
        def f2(t):
            return t * 2

        assert not f(x).requires_grad and not f2(x).requires_grad

        lib.set_grad_enabled(False)
        assert not lib.is_grad_enabled() and not (x * 2).requires_grad
        lib.set_grad_enabled(True)
        assert lib.is_grad_enabled()
        with lib.set_grad_enabled(False):
            assert not (x * 2).requires_grad
        assert lib.is_grad_enabled()

        @lib.set_grad_enabled(False)
        def g(t):
            return t * 2

        assert lib.is_grad_enabled()
        assert not g(x).requires_grad and lib.is_grad_enabled()

        with lib.inference_mode():
            assert not lib.is_grad_enabled() and not (x * 2).requires_grad
        with lib.inference_mode(False):
            assert (x * 2).requires_grad

        @lib.inference_mode()
        def h(t):
            return t * 2

        assert not h(x).requires_grad and lib.is_grad_enabled()

        @lib.no_grad()
        def gen(t):
            yield t * 2
            yield t * 3

        assert all(not v.requires_grad for v in gen(x))
        assert lib.is_grad_enabled()
        # an exception inside restores the mode
        with pytest.raises(ValueError):
            with lib.no_grad():
                raise ValueError
        assert lib.is_grad_enabled()


def test_autograd_grad(torch):
    a, b = randn(3), randn(3)
    res = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        w = lib.tensor(b, requires_grad=True)
        u = lib.tensor(b, requires_grad=True)
        y = (x * w).sum()
        gx, gw = lib.autograd.grad(y, [x, w], retain_graph=True)
        (gx2,) = lib.autograd.grad([y], x, grad_outputs=lib.tensor(2.0))
        assert x.grad is None and w.grad is None  # grad() leaves .grad alone
        z = x.exp()
        (gz,) = lib.autograd.grad(z, x, grad_outputs=lib.ones(3))
        gu = lib.autograd.grad((x * 2).sum(), [x, u], allow_unused=True)
        gm = lib.autograd.grad((x * 2).sum(), [x, u], materialize_grads=True)
        res.append([gx, gw, gx2, gz, gu[0], gu[1], gm[1]])
    for e, t in zip(*res):
        assert_close(e, t)


def test_autograd_grad_errors(torch):
    ex, tx = pair(torch, randn(3))
    eu, tu = pair(torch, randn(3))
    ee, et = same_error(torch, lambda: ember.autograd.grad((ex * 2).sum(), [ex, eu]),
                        lambda: torch.autograd.grad((tx * 2).sum(), [tx, tu]))
    assert str(ee) == str(et)
    ee, et = same_error(torch, lambda: ember.autograd.grad((ex * 2).sum(), ember.ones(2)),
                        lambda: torch.autograd.grad((tx * 2).sum(), torch.ones(2)))
    assert str(ee) == str(et)
    same_error(torch, lambda: ember.autograd.grad(ex * 2, ex), lambda: torch.autograd.grad(tx * 2,
                                                                                         tx))


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_create_graph_second_derivative(torch):
    a = randn(4)
    res = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        y = (x ** 3).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        assert g.requires_grad
        (h,) = lib.autograd.grad(g.sum(), x)
        y2 = (x.sin() * x).sum()
        y2.backward(create_graph=True)
        g2 = x.grad.clone()
        x.grad.sum().backward()
        res.append([g, h, g2, x.grad])
    for e, t in zip(*res):
        assert_close(e, t, rtol=1e-5, atol=1e-5)


HIGHER_ORDER = {
    "exp": lambda L, x, w: x.exp() * w,
    "log_sqrt": lambda L, x, w: (x.abs() + 1).log() + (x * x + 1).sqrt(),
    "tanh_sigmoid": lambda L, x, w: x.tanh() * w.sigmoid(),
    "sin_cos_pow": lambda L, x, w: x.sin() * x.cos() + x ** 3 + (w * w) ** 1.5,
    "div": lambda L, x, w: x / (w * w + 1),
    "rsqrt_recip": lambda L, x, w: (x * x + 1).rsqrt() + (w * w + 2).reciprocal(),
    "sum_mean": lambda L, x, w: (x * x).sum(0) + (x * w).mean(1, keepdim=True),
    "var_std": lambda L, x, w: x.var(1) + (x * w).std(0).sum(),
    "prod": lambda L, x, w: (x * w).prod(1),
    "logsumexp": lambda L, x, w: (x * w).logsumexp(1),
    "amax_max": lambda L, x, w: (x * w).amax(1) + (x * x).max(0)[0].sum(),
    "shape": lambda L, x, w: (x.t().reshape(-1) * w.flatten()).view(3, 2).unsqueeze(0).sum(1),
    "cat_stack": lambda L, x, w: L.cat([x * x, w]).sum(0) + L.stack([x, w]).prod(0).sum(),
    "expand_repeat": lambda L, x, w: (x[:1].expand(2, 3) * w).repeat(2, 1) ** 2,
    "matmul": lambda L, x, w: (x @ w.t()) ** 2,
    "mm_mv_dot": lambda L, x, w: L.mm(x, w.t()).sum() * L.mv(x, w[0]) * L.dot(x[0], x[1]),
    "bmm": lambda L, x, w: L.bmm(x.unsqueeze(0), (w * w).t().unsqueeze(0)),
    "addmm": lambda L, x, w: L.addmm((w[0] * w[1])[:2], x, w.t() * x.t()),
    "batched_matmul": lambda L, x, w: x.unsqueeze(0).expand(2, 2, 3) @ (w.t() * w.t()),
    "relu_clamp_abs": lambda L, x, w: (x * w).relu() * x + (x * x).clamp(0.1, 0.8) +
    (x * w).abs() * w,
    "maximum_where": lambda L, x, w: L.maximum(x * x, w) * x + L.where(x > 0, x * w, w * w),
}


@pytest.mark.parametrize("name", list(HIGHER_ORDER))
def test_higher_order_gradients_match_torch(torch, name):
    """Second derivatives: d/dx, d/dw of sum(v * grad(f, (x, w), u, create_graph=True))."""
    fn = HIGHER_ORDER[name]
    x, w = randn(2, 3, dtype=np.float64), randn(2, 3, dtype=np.float64)
    res = []
    for lib in (ember, torch):
        lx = lib.tensor(x, requires_grad=True)
        lw = lib.tensor(w, requires_grad=True)
        out = fn(lib, lx, lw)
        u = lib.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)))
        gx, gw = lib.autograd.grad(out, (lx, lw), u, create_graph=True, allow_unused=True)
        terms = [g for g in (gx, gw) if g is not None and g.requires_grad]
        s = sum((t * lib.tensor(np.cos(np.arange(6.0)).reshape(2, 3))).sum() for t in terms)
        hx, hw = lib.autograd.grad(s, (lx, lw), allow_unused=True) if terms else (None, None)
        res.append([out, gx, gw, hx, hw])
    for e, t in zip(*res):
        assert_close(e, t, rtol=1e-6, atol=1e-8)


def test_hooks_on_leaf_and_non_leaf(torch):
    a = randn(3)
    res = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        seen = []
        h1 = x.register_hook(lambda g: g * 2)
        y = x * x
        y.register_hook(lambda g: seen.append(g.clone()))
        y.register_hook(lambda g: g + 1)
        y.sum().backward()
        first = x.grad.clone()
        h1.remove()
        x.grad = None
        (x * x).sum().backward()
        res.append([first, x.grad, seen[0]])
        with pytest.raises(RuntimeError):
            lib.ones(2).register_hook(lambda g: g)
    for e, t in zip(*res):
        assert_close(e, t)


def test_hook_sees_accumulated_gradient_once(torch):
    for lib in (ember, torch):
        x = lib.ones(2, requires_grad=True)
        calls = []
        y = x * 2
        y.register_hook(lambda g: calls.append(g.tolist()))
        (y + y * 3).sum().backward()
        assert calls == [[4.0, 4.0]]


def test_deep_chain_uses_iterative_engine():
    """backward through a chain of 100,000 ops (a recursive engine hits RecursionError)."""
    x = ember.tensor([1.0], requires_grad=True)
    start = time.perf_counter()
    y = x
    for _ in range(100_000):
        y = -y
    y.sum().backward()
    assert x.grad.tolist() == [1.0]
    assert time.perf_counter() - start < 20


def test_deep_chain_double_backward_small():
    x = ember.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(2000):
        y = y * 1.0 + 0.0
    (g,) = ember.autograd.grad((y ** 2).sum(), x, create_graph=True)
    (h,) = ember.autograd.grad(g.sum(), x)
    assert abs(g.item() - 1.0) < 1e-6 and abs(h.item() - 2.0) < 1e-6


# ---- custom Functions: examples from PyTorch's documentation, run unchanged on both ---------
def exp_function(torch):
    from torch.autograd import Function  # noqa: F401  (resolved through the module we pass)

    class Exp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            result, = ctx.saved_tensors
            return grad_output * result

    return Exp


def legendre_function(torch):
    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    return LegendrePolynomial3


def mul_constant_function(torch):
    class MulConstant(torch.autograd.Function):
        @staticmethod
        def forward(tensor, constant):
            return tensor * constant

        @staticmethod
        def setup_context(ctx, inputs, output):
            # ctx is a context object that can be used to stash information
            # for backward computation
            tensor, constant = inputs
            ctx.constant = constant

        @staticmethod
        def backward(ctx, grad_output):
            # We return as many input gradients as there were arguments.
            # Gradients of non-Tensor arguments to forward must be None.
            return grad_output * ctx.constant, None

    return MulConstant


def linear_function(torch):
    class LinearFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input, weight, bias=None):
            ctx.save_for_backward(input, weight, bias)
            output = input.mm(weight.t())
            if bias is not None:
                output += bias.unsqueeze(0).expand_as(output)
            return output

        @staticmethod
        def backward(ctx, grad_output):
            input, weight, bias = ctx.saved_tensors
            grad_input = grad_weight = grad_bias = None
            if ctx.needs_input_grad[0]:
                grad_input = grad_output.mm(weight)
            if ctx.needs_input_grad[1]:
                grad_weight = grad_output.t().mm(input)
            if bias is not None and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum(0)
            return grad_input, grad_weight, grad_bias

    return LinearFunction


def simple_two_output_function(torch):
    from torch.autograd.function import once_differentiable

    class SimpleFunc(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            ctx.save_for_backward(x)
            return x.clone(), x.clone()

        @staticmethod
        @once_differentiable
        def backward(ctx, g1, g2):
            x, = ctx.saved_tensors
            grad_input = torch.zeros_like(x)
            if g1 is not None:  # We must check for None now
                grad_input += g1
            if g2 is not None:
                grad_input += g2
            return grad_input

    return SimpleFunc


def non_differentiable_output_function(torch):
    class ArgmaxWithValue(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = x.argmax(1, keepdim=True)
            values = x.amax(1, keepdim=True)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x, values)
            return values, idx

        @staticmethod
        def backward(ctx, g_values, g_idx):
            x, values = ctx.saved_tensors
            return g_values * (x == values)

    return ArgmaxWithValue


def _run_custom(torch, make, fn, *arrays):
    import sys
    outs = []
    for lib in (ember, torch):
        sys.modules.setdefault("ember.autograd.function", __import__("ember.autograd.function"))
        cls = make(lib) if lib is torch else _as_ember(make)
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = fn(cls, *ts)
        outs.append((out, ts, cls))
    return outs


def _as_ember(make):
    """Run the factory with `import torch` statements inside it resolved to ember."""
    import sys
    saved = {k: sys.modules.get(k) for k in ("torch", "torch.autograd",
                                             "torch.autograd.function")}
    try:
        sys.modules["torch"] = ember
        sys.modules["torch.autograd"] = ember.autograd
        sys.modules["torch.autograd.function"] = ember.autograd.function
        return make(ember)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


CUSTOM = {
    "exp": (exp_function, lambda C, x: C.apply(x), [(3, 4)]),
    "legendre": (legendre_function, lambda C, x: C.apply(x) * 2, [(5,)]),
    "mul_constant": (mul_constant_function, lambda C, x: C.apply(x, 2.5).sum(1), [(2, 3)]),
    "linear": (linear_function, lambda C, x, w, b: C.apply(x, w, b), [(4, 3), (2, 3), (2,)]),
    "linear_no_bias": (linear_function, lambda C, x, w: C.apply(x, w), [(4, 3), (2, 3)]),
    "two_outputs_one_used": (simple_two_output_function, lambda C, x: C.apply(x)[0], [(3,)]),
    "two_outputs_both": (simple_two_output_function,
                         lambda C, x: C.apply(x)[0] * 2 + C.apply(x)[1], [(3,)]),
    "non_differentiable": (non_differentiable_output_function, lambda C, x: C.apply(x)[0],
                           [(3, 4)]),
}


@pytest.mark.parametrize("name", list(CUSTOM))
def test_custom_functions_from_torch_docs(torch, name):
    make, fn, shapes = CUSTOM[name]
    arrays = [randn(*s, dtype=np.float64) for s in shapes]
    (eo, ets, ecls), (to, tts, tcls) = _run_custom(torch, make, fn, *arrays)
    assert_close(eo, to)
    assert type(eo.grad_fn).__name__ == type(to.grad_fn).__name__
    g = randn(*tuple(to.shape), dtype=np.float64)
    eo.backward(ember.tensor(g))
    to.backward(torch.tensor(g))
    for e, t in zip(ets, tts):
        assert_close(e.grad, t.grad)
    if name in ("exp", "legendre", "mul_constant", "linear"):
        inputs = tuple(ember.tensor(a, requires_grad=True) for a in arrays)
        assert ember.autograd.gradcheck(lambda *xs: fn(ecls, *xs), inputs)


def test_custom_function_ctx_details(torch):
    for lib in (ember, torch):
        seen = {}

        class Probe(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y, k):
                seen["needs"] = ctx.needs_input_grad
                ctx.save_for_backward(x, y)
                return x * y * k

            @staticmethod
            def backward(ctx, g):
                x, y = ctx.saved_tensors
                return g * y * 2, None, None

        x = lib.ones(2, requires_grad=True)
        y = lib.ones(2)
        out = Probe.apply(x, y, 3.0)
        assert seen["needs"] == (True, False, False)
        assert type(out.grad_fn).__name__ == "ProbeBackward"
        out.sum().backward()
        assert x.grad.tolist() == [2.0, 2.0]
        with pytest.raises(RuntimeError):
            out.grad_fn.saved_tensors  # freed after backward
        with lib.no_grad():
            r = Probe.apply(x, y, 1.0)
        assert not r.requires_grad and r.grad_fn is None


def test_custom_function_double_backward(torch):
    res = []
    a = randn(3, dtype=np.float64)
    for lib in (ember, torch):
        C = legendre_function(lib)
        x = lib.tensor(a, requires_grad=True)
        (g,) = lib.autograd.grad(C.apply(x).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        res.append([g, h])
    for e, t in zip(*res):
        assert_close(e, t)


def test_gradient_dtype_follows_input_dtype(torch):
    for lib in (ember, torch):
        x = lib.ones(3, requires_grad=True)
        (x.double() * 2).sum().backward()
        assert str(x.grad.dtype).endswith("float32")
        y = lib.ones(3, dtype=lib.float64, requires_grad=True)
        (y.float() * x).sum().backward()
        assert str(y.grad.dtype).endswith("float64")


def test_no_warnings_on_ordinary_backward(torch):
    x = ember.tensor(randn(4, 3), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = ((x @ x.t()).relu().sum(1) / 3).mean()
        loss.backward()
        assert x.grad is not None


def test_manual_sgd_with_augmented_assignment_matches_torch(torch):
    """The 'Learning PyTorch with examples' loop: 0-dim leaves, `-=` under no_grad keeps each
    parameter the same leaf, grads reset to None."""
    import math
    res = []
    for lib in (ember, torch):
        x = lib.linspace(-math.pi, math.pi, 200)
        y = lib.sin(x)
        params = [lib.tensor(v, requires_grad=True) for v in (0.1, -0.2, 0.05, 0.01)]
        a, b, c, d = params
        for _ in range(50):
            y_pred = a + b * x + c * x ** 2 + d * x ** 3
            loss = (y_pred - y).pow(2).sum()
            loss.backward()
            with lib.no_grad():
                for p in (a, b, c, d):
                    p -= 1e-5 * p.grad
                    p.grad = None
        assert all(p is q and p.is_leaf and p.requires_grad for p, q in zip((a, b, c, d), params))
        res.append([loss] + params)
    for e, t in zip(*res):
        assert_close(e, t, rtol=1e-4, atol=1e-6)
    for lib in (ember, torch):
        v = lib.ones(2)
        w = v
        w += 1
        w *= 3
        w /= 2
        w **= 2
        assert w is v and v.tolist() == [9.0, 9.0]


def test_leaf_gradients_own_their_memory():
    """The engine keeps its own gradient array as a leaf's .grad (no copy) only when nothing
    else can see it: a linear layer's three gradients, one gradient sent to two leaves, a
    user's gradient and a hook's tensor each end up in separate memory."""
    x = ember.randn(4, 3, requires_grad=True)
    lin = ember.nn.Linear(3, 5)
    g = ember.ones(4, 5)
    lin(x).backward(g)
    grads = [x.grad, lin.weight.grad, lin.bias.grad]
    for i, a in enumerate(grads):
        assert not np.shares_memory(a._data, g._data)
        for b in grads[i + 1:]:
            assert not np.shares_memory(a._data, b._data)
    before = g.clone()
    lin.bias.grad.add_(1.0)  # writing one .grad touches nothing else
    assert ember.equal(g, before)

    a = ember.ones(3, requires_grad=True)
    b = ember.ones(3, requires_grad=True)
    (a + b).sum().backward()  # AddBackward0 hands the same array to both leaves
    a.grad.add_(1.0)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]

    kept = []
    w = ember.ones(3, requires_grad=True)
    w.register_hook(lambda t: kept.append(t * 2) or kept[-1])
    (w * 3).sum().backward()
    w.grad.add_(1.0)
    assert kept[0].tolist() == [6.0, 6.0, 6.0] and w.grad.tolist() == [7.0, 7.0, 7.0]

    leaf = ember.ones(3, requires_grad=True)
    user = ember.full((3,), 2.0)
    leaf.backward(user)  # a leaf's own gradient given by the user is copied, never kept
    leaf.grad.add_(1.0)
    assert user.tolist() == [2.0, 2.0, 2.0]
