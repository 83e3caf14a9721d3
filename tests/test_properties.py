"""Property-based tests (hypothesis) against torch: binary ops over random broadcastable shape
pairs (values, dtypes and gradients), type promotion over random dtype pairs, reductions over
random dims, and every op family on views and non-contiguous layouts."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import ember
from helpers import assert_close

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

BINARY = {
    "add": lambda L, a, b: a + b,
    "sub": lambda L, a, b: a - b,
    "mul": lambda L, a, b: a * b,
    "div": lambda L, a, b: a / b,
    "pow": lambda L, a, b: a.abs().add(0.5) ** b,
    "maximum": lambda L, a, b: L.maximum(a, b),
    "minimum": lambda L, a, b: L.minimum(a, b),
    "where": lambda L, a, b: L.where(a > b, a, b * 2),
    "add_alpha": lambda L, a, b: L.add(a, b, alpha=-1.5),
    "matmul_like": lambda L, a, b: (a * b).sum(-1),
}
COMPARE = {"lt": lambda a, b: a < b, "ge": lambda a, b: a >= b, "eq": lambda a, b: a == b,
           "ne": lambda a, b: a != b}


def _values(seed, shape, dtype=np.float64, positive=False):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return a.astype(dtype)


def _run(torch, fn, arrays, grad=True):
    res = []
    for lib in (ember, torch):
        ts = [lib.tensor(a.copy(), requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        out = fn(lib, *ts)
        if grad and out.requires_grad:
            g = np.cos(np.arange(out.numel(), dtype=np.float64)).reshape(tuple(out.shape))
            out.backward(lib.tensor(g.astype(arrays[0].dtype)))
        res.append((out, [t.grad for t in ts]))
    (eo, eg), (to, tg) = res
    assert_close(eo, to, rtol=1e-6, atol=1e-9)
    assert type(eo.grad_fn).__name__ == type(to.grad_fn).__name__
    for e, t in zip(eg, tg):
        assert_close(e, t, rtol=1e-6, atol=1e-9)


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2 ** 16),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_binary_ops_on_broadcastable_shapes(torch, shapes, op, seed, dtype):
    sa, sb = shapes.input_shapes
    a = _values(seed, sa, dtype)
    b = _values(seed + 1, sb, dtype, positive=op in ("div", "pow"))
    if op == "pow":
        b = b - 1.0
    rt = 1e-4 if dtype == np.float32 else 1e-6
    res = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        y = lib.tensor(b, requires_grad=True)
        out = BINARY[op](lib, x, y)
        out.backward(lib.ones(tuple(out.shape), dtype=out.dtype) * 0.5)
        res.append((out, x.grad, y.grad))
    for e, t in zip(*res):
        assert_close(e, t, rtol=rt, atol=rt)
    if op != "matmul_like":
        assert tuple(res[0][0].shape) == tuple(np.broadcast_shapes(sa, sb))


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4),
       op=st.sampled_from(sorted(COMPARE)), seed=st.integers(0, 2 ** 16))
def test_comparisons_on_broadcastable_shapes(torch, shapes, op, seed):
    sa, sb = shapes.input_shapes
    a = np.round(_values(seed, sa)).astype(np.float32)
    b = np.round(_values(seed + 1, sb)).astype(np.float32)
    e = COMPARE[op](ember.tensor(a), ember.tensor(b))
    t = COMPARE[op](torch.tensor(a), torch.tensor(b))
    assert_close(e, t)


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
       kind_a=st.sampled_from(["tensor", "zero_dim", "python"]),
       kind_b=st.sampled_from(["tensor", "zero_dim"]),
       da=st.sampled_from(["float16", "float32", "float64", "int8", "int16", "int32", "int64",
                           "uint8", "bool"]),
       db=st.sampled_from(["float16", "float32", "float64", "int8", "int16", "int32", "int64",
                           "uint8", "bool"]),
       op=st.sampled_from(["+", "*", "/", "<", "max"]))
def test_mixed_dtype_promotion(torch, shapes, kind_a, kind_b, da, db, op):
    sa, sb = shapes.input_shapes

    def make(lib, kind, dname, shape, seed):
        vals = (np.abs(_values(seed, shape)) * 3 + 1).round()
        if kind == "python":
            v = vals.reshape(-1)[0] if vals.size else 1.0
            return {"bool": True, "float16": float(v) + 0.5}.get(dname, int(v))
        if kind == "zero_dim":
            vals = np.array(vals.reshape(-1)[0] if vals.size else 1.0)
        return lib.tensor(vals.astype(dname))

    fns = {"+": lambda x, y: x + y, "*": lambda x, y: x * y, "/": lambda x, y: x / y,
           "<": lambda x, y: x < y, "max": lambda x, y: x.maximum(y) if hasattr(x, "maximum")
           else y.maximum(x)}
    outs = []
    for lib in (ember, torch):
        x, y = make(lib, kind_a, da, sa, 1), make(lib, kind_b, db, sb, 2)
        try:
            outs.append(fns[op](x, y))
        except Exception as ex:  # noqa: BLE001 (the exception type is what is compared)
            outs.append(ex)
    e, t = outs
    if isinstance(t, Exception) or isinstance(e, Exception):
        assert type(e).__name__ == type(t).__name__, (e, t)
        return
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (e.dtype, t.dtype)
    assert_close(e, t, rtol=1e-3, atol=1e-3)


REDUCTIONS = ["sum", "mean", "amax", "amin", "logsumexp", "var", "std", "prod", "max", "min",
              "argmax", "all", "any"]


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data(),
       op=st.sampled_from(REDUCTIONS), keepdim=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_reductions_over_random_dims(torch, shape, data, op, keepdim, seed):
    nd = len(shape)
    if op in ("max", "min", "argmax", "prod", "all", "any"):
        dim = data.draw(st.integers(-nd, nd - 1))
    else:
        dim = tuple(data.draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd,
                                       unique=True)))
    a = _values(seed, tuple(shape))

    def fn(L, x):
        if op in ("all", "any"):
            return getattr(x > 0, op)(dim, keepdim)
        r = getattr(x, op)(dim, keepdim=keepdim)
        return r[0] if op in ("max", "min") else r

    if op in ("var", "std"):
        n = int(np.prod([shape[d] for d in dim]))
        if n < 2:
            return  # no degrees of freedom: nan, covered in test_ops_reduce
    _run(torch, fn, [a], grad=op not in ("argmax", "all", "any"))


LAYOUTS = {
    "transpose": (lambda s: s[::-1], lambda L, x: x.permute(*range(x.dim() - 1, -1, -1))),
    "step_slice": (lambda s: s[:-1] + (2 * s[-1],), lambda L, x: x[..., ::2]),
    "expand": (lambda s: s[:-1] + (1,), lambda L, x: x.expand(*x.shape[:-1], 3)),
    "unsqueeze_squeeze": (lambda s: s, lambda L, x: x.unsqueeze(0).transpose(0, -1).squeeze(-1)),
    "narrow": (lambda s: (s[0] + 2,) + s[1:], lambda L, x: x.narrow(0, 1, x.shape[0] - 2)),
    "t": (lambda s: s, lambda L, x: x.t() if x.dim() == 2 else x.transpose(0, 1)),
}
UNARY = {
    "exp": lambda L, x: x.exp(), "tanh": lambda L, x: x.tanh(), "relu": lambda L, x: x.relu(),
    "abs": lambda L, x: x.abs(), "sigmoid": lambda L, x: x.sigmoid(),
    "log": lambda L, x: (x * x + 1).log(), "sqrt": lambda L, x: (x * x + 0.5).sqrt(),
    "clamp": lambda L, x: x.clamp(-0.3, 0.4), "pow": lambda L, x: x ** 3,
    "sum": lambda L, x: x.sum(0), "mean": lambda L, x: x.mean(-1, keepdim=True),
    "var": lambda L, x: x.var(), "amax": lambda L, x: x.amax(-1), "max": lambda L, x: x.max(),
    "logsumexp": lambda L, x: x.logsumexp(0), "prod": lambda L, x: x.prod(-1),
    "reshape": lambda L, x: x.reshape(-1), "flatten": lambda L, x: x.flatten(),
    "t_matmul": lambda L, x: x.reshape(x.shape[0], -1) @ x.reshape(x.shape[0], -1).t(),
    "matmul_vec": lambda L, x: x.reshape(-1, x.shape[-1]) @ L.ones(x.shape[-1], dtype=x.dtype),
    "cat": lambda L, x: L.cat([x, x * 2], -1), "stack": lambda L, x: L.stack([x, x], 0),
    "split": lambda L, x: x.split(1, -1)[0] * 3, "repeat": lambda L, x: x.repeat(2, *[1] *
                                                                                (x.dim() - 1)),
    "contiguous": lambda L, x: x.contiguous() * 1.0, "clone": lambda L, x: x.clone(),
    "mul_self": lambda L, x: x * x.sum(), "permute": lambda L, x: x.permute(
        *range(x.dim() - 1, -1, -1)) * 2,
    "expand_again": lambda L, x: x.unsqueeze(0).expand(2, *x.shape) + 1,
    "max_dim": lambda L, x: x.max(0)[0], "std": lambda L, x: x.std(0, keepdim=True),
}


@SETTINGS
@given(shape=st.lists(st.integers(2, 4), min_size=2, max_size=3).map(tuple),
       layout=st.sampled_from(sorted(LAYOUTS)), op=st.sampled_from(sorted(UNARY)),
       seed=st.integers(0, 2 ** 16))
def test_ops_on_views_and_non_contiguous_inputs(torch, shape, layout, op, seed):
    base_shape_of, transform = LAYOUTS[layout]
    a = _values(seed, base_shape_of(shape))

    def fn(L, x):
        v = transform(L, x)
        return UNARY[op](L, v)

    _run(torch, fn, [a])


@SETTINGS
@given(batch=mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
       n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3),
       vec=st.sampled_from(["none", "left", "right"]), seed=st.integers(0, 2 ** 16))
def test_matmul_random_shapes(torch, batch, n, k, m, vec, seed):
    ba, bb = batch.input_shapes
    sa = (k,) if vec == "left" else ba + (n, k)
    sb = (k,) if vec == "right" else bb + (k, m)
    _run(torch, lambda L, x, y: x @ y, [_values(seed, sa), _values(seed + 1, sb)])


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple), data=st.data(),
       seed=st.integers(0, 2 ** 16))
def test_reshape_roundtrip_and_view_sharing(torch, shape, data, seed):
    a = _values(seed, shape)
    n = a.size
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    d = data.draw(st.sampled_from(divisors))
    e = ember.tensor(a)
    r = e.reshape(d, -1)
    assert tuple(r.shape) == (d, n // d)
    assert np.array_equal(r.reshape(shape).numpy(), a)
    _run(torch, lambda L, x: x.reshape(d, -1).t().reshape(-1).view(n), [a])
    v = e.view(-1)
    e.numpy()[...] = 3.0
    assert (v.numpy() == 3.0).all()


@pytest.mark.parametrize("n", [0, 1, 7])
def test_broadcast_error_for_random_mismatches(torch, n):
    rng = np.random.default_rng(n)
    sa = tuple(int(s) for s in rng.integers(2, 5, 3))
    sb = sa[:1] + (sa[1] + 1,) + sa[2:]
    with pytest.raises(RuntimeError) as e:
        ember.ones(sa) + ember.ones(sb)
    with pytest.raises(RuntimeError) as t:
        torch.ones(sa) + torch.ones(sb)
    assert str(e.value) == str(t.value)
