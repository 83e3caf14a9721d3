"""Mixed precision and device idioms (issue 12, item 7), differential against torch: autocast on
the CPU, GradScaler, bfloat16, torch.cuda/cpu/backends answers without a GPU, compile (eager),
float32 matmul precision, Tensor.is_* flags."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from helpers import same_error


def _np(t):
    """float64 values of a torch or ember tensor of any floating dtype (bfloat16 included)."""
    return t.detach().double().numpy()


def _dt(t):
    return str(t.dtype).split(".")[-1]


def _both(torch, fn, seed=0):
    """fn(lib) run on ember and on torch from the same seed."""
    ember.manual_seed(seed)
    e = fn(ember)
    torch.manual_seed(seed)
    return e, fn(torch)


def _warns(fn):
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        out = fn()
    return out, [(w.category.__name__, str(w.message)) for w in ws]


# ---- bfloat16 ------------------------------------------------------------------------------
def test_bfloat16_rounds_like_torch(torch):
    vals = np.random.default_rng(0).standard_normal(1000).astype(np.float32) * 100
    vals[:4] = [1.00390625, 1.01171875, 65504.0, -3e38]  # ties to even, large values
    e = ember.tensor(vals).to(ember.bfloat16)
    t = torch.tensor(vals).to(torch.bfloat16)
    assert e.dtype is ember.bfloat16 and _dt(e) == _dt(t)
    np.testing.assert_array_equal(e.float().numpy(), t.float().numpy())
    assert e.element_size() == t.element_size() == 2
    assert e.is_floating_point() and ember.bfloat16.is_floating_point
    assert e.type() == t.type() == "torch.BFloat16Tensor"


def test_bfloat16_repr_arithmetic_and_promotion(torch):
    def prog(lib):
        a = lib.tensor([1.5, -2.25, 3.0]).bfloat16()
        return [a, a + 1.5, a * 2, a + a, a.exp(), a.sum(), a.mean(), lib.relu(a),
                a + lib.ones(3), a + lib.ones(3, dtype=lib.float16),
                a + lib.ones(3, dtype=lib.float64), a * lib.ones(3, dtype=lib.int64),
                lib.zeros(2, dtype=lib.bfloat16), lib.ones(2, 2, dtype=lib.bfloat16) @
                lib.ones(2, 2, dtype=lib.bfloat16)]
    es, ts = _both(torch, prog)
    for e, t in zip(es, ts):
        assert _dt(e) == _dt(t), (e, t)
        np.testing.assert_allclose(_np(e), _np(t), rtol=1e-2)
        assert repr(e) == repr(t).replace("torch.", "ember."), (repr(e), repr(t))
    assert ember.promote_types(ember.bfloat16, ember.float16) is ember.float32


def test_bfloat16_autograd_and_module_cast(torch):
    def prog(lib):
        lin = lib.nn.Linear(4, 3).bfloat16()
        x = lib.randn(5, 4).bfloat16().requires_grad_()
        y = lin(x).relu().sum()
        y.backward()
        return lin.weight, lin.weight.grad, x.grad, y
    es, ts = _both(torch, prog)
    for e, t in zip(es, ts):
        assert _dt(e) == _dt(t) == "bfloat16"
        np.testing.assert_allclose(_np(e), _np(t), rtol=2e-2, atol=2e-2)


# ---- autocast ------------------------------------------------------------------------------
_x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
_w = np.random.default_rng(2).standard_normal((2, 3)).astype(np.float32)
_img = np.random.default_rng(3).standard_normal((1, 2, 5, 5)).astype(np.float32)
_cw = np.random.default_rng(4).standard_normal((3, 2, 3, 3)).astype(np.float32)
_tgt = np.array([0, 1, 0, 1])

_OPS = {
    "linear": lambda L, F, x, w: F.linear(x, w, w[:, 0]),
    "matmul": lambda L, F, x, w: x @ w.t(),
    "matmul_batched": lambda L, F, x, w: x[None] @ w.t(),
    "mm": lambda L, F, x, w: L.mm(x, w.t()),
    "bmm": lambda L, F, x, w: L.bmm(x[None], w.t()[None]),
    "addmm": lambda L, F, x, w: L.addmm(w[:, 0], x, w.t()),
    "baddbmm": lambda L, F, x, w: L.baddbmm(w[None, None, :, 0], x[None], w.t()[None]),
    "addbmm": lambda L, F, x, w: L.addbmm(w[:, 0], x[None], w.t()[None]),
    "conv2d": lambda L, F, x, w: F.conv2d(L.tensor(_img), L.tensor(_cw)),
    "conv1d": lambda L, F, x, w: F.conv1d(L.tensor(_img[:, :, 0]), L.tensor(_cw[..., 0])),
    "prelu": lambda L, F, x, w: F.prelu(x, L.tensor([0.2])),
    "conv_transpose2d": lambda L, F, x, w: F.conv_transpose2d(L.tensor(_img),
                                                              L.tensor(_cw).transpose(0, 1)),
    "margin_ranking_to_fp32": lambda L, F, x, w: F.margin_ranking_loss(
        x.bfloat16(), x.bfloat16() * 2, L.ones(4, 3)),
    "mv_stays_fp32": lambda L, F, x, w: L.mv(x, w[0]),
    "dot_stays_fp32": lambda L, F, x, w: L.dot(x[0], x[1]),
    "relu_stays": lambda L, F, x, w: F.relu(x),
    "softmax_stays": lambda L, F, x, w: F.softmax(x, 1),
    "linear_float64_stays": lambda L, F, x, w: F.linear(x.double(), w.double()),
    "matmul_int_stays": lambda L, F, x, w: L.ones(2, 2, dtype=L.long) @ L.ones(2, 2, dtype=L.long),
    "mse_to_fp32": lambda L, F, x, w: F.mse_loss(x.bfloat16(), x.bfloat16() * 2),
    "l1_to_fp32": lambda L, F, x, w: F.l1_loss(x.bfloat16(), x),
    "smooth_l1_to_fp32": lambda L, F, x, w: F.smooth_l1_loss(x.bfloat16(), x * 3),
    "huber_to_fp32": lambda L, F, x, w: F.huber_loss(x.bfloat16(), x * 3),
    "ce_to_fp32": lambda L, F, x, w: F.cross_entropy(x.bfloat16(), L.tensor(_tgt)),
    "nll_to_fp32": lambda L, F, x, w: F.nll_loss(x.bfloat16(), L.tensor(_tgt)),
    "bce_logits_to_fp32": lambda L, F, x, w: F.binary_cross_entropy_with_logits(
        x.bfloat16(), x.sigmoid().bfloat16()),
    "bf16_elementwise_stays": lambda L, F, x, w: x.bfloat16().exp(),
    "mixed_add_promotes": lambda L, F, x, w: x.bfloat16() + x,
}


@pytest.mark.parametrize("low", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", list(_OPS))
def test_autocast_cpu_op_lists(torch, name, low):
    outs = []
    for lib in (ember, torch):
        x, w = lib.tensor(_x), lib.tensor(_w)
        with lib.autocast("cpu", dtype=getattr(lib, low)):
            outs.append(_OPS[name](lib, lib.nn.functional, x, w))
    e, t = outs
    assert _dt(e) == _dt(t), (name, e.dtype, t.dtype)
    np.testing.assert_allclose(_np(e), _np(t), rtol=1e-2, atol=1e-2)


def test_autocast_state_context_decorator_nesting(torch):
    def prog(lib):
        F = lib.nn.functional
        x, w = lib.tensor(_x), lib.tensor(_w)
        r = [lib.is_autocast_enabled("cpu"), lib.get_autocast_dtype("cpu")]
        with lib.autocast("cpu", dtype=lib.float16):
            r += [lib.is_autocast_enabled("cpu"), lib.is_autocast_enabled(),
                  lib.get_autocast_dtype("cpu"), F.linear(x, w).dtype]
            with lib.autocast("cpu", enabled=False):
                r += [lib.is_autocast_enabled("cpu"), F.linear(x, w).dtype]
            with lib.amp.autocast("cpu"):
                r += [lib.get_autocast_dtype("cpu"), F.linear(x, w).dtype]
            r.append(F.linear(x, w).dtype)
        r += [lib.is_autocast_enabled("cpu"), lib.get_autocast_dtype("cpu"), F.linear(x, w).dtype]

        @lib.autocast("cpu")
        def f(a):
            return F.linear(a, w)
        r += [f(x).dtype, F.linear(x, w).dtype, f.__name__]
        return [str(v).split(".")[-1] for v in r]
    e, t = _both(torch, prog)
    assert e == t


def test_autocast_restores_state_after_exception():
    with pytest.raises(ValueError):
        with ember.autocast("cpu"):
            raise ValueError("boom")
    assert not ember.is_autocast_enabled("cpu")
    assert ember.nn.functional.linear(ember.tensor(_x), ember.tensor(_w)).dtype is ember.float32


@pytest.mark.parametrize("args", [("cuda",), ("cpu", "float32"), ("cpu", "float64"), ("mps",),
                                  ("xpu",)])
def test_autocast_disabled_with_torchs_warning(torch, args):
    def prog(lib):
        a = (args[0], getattr(lib, args[1])) if len(args) > 1 else args
        ac, ws = _warns(lambda: lib.autocast(*a))
        with ac:
            y = lib.nn.functional.linear(lib.tensor(_x), lib.tensor(_w))
        return _dt(y), ws, str(ac.fast_dtype).split(".")[-1], \
            ac._enabled, lib.is_autocast_enabled("cpu")
    e, t = _both(torch, prog)
    assert e == t


def test_autocast_bad_device(torch):
    same_error(torch, lambda: ember.autocast("foo"), lambda: torch.autocast("foo"))
    same_error(torch, lambda: ember.autocast(1), lambda: torch.autocast(1))


def test_autocast_training_step_matches_torch(torch):
    """An MLP and a CNN step under autocast: bfloat16 activations, float32 loss and gradients."""
    def prog(lib):
        F = lib.nn.functional
        mlp = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3))
        cnn = lib.nn.Sequential(lib.nn.Conv2d(1, 2, 3), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
                                lib.nn.Flatten(), lib.nn.Linear(18, 3))
        x, img = lib.randn(8, 4), lib.randn(2, 1, 8, 8)
        with lib.autocast("cpu", dtype=lib.bfloat16):
            o1 = mlp(x)
            l1 = F.cross_entropy(o1, lib.tensor([0, 1, 2, 0, 1, 2, 0, 1]))
            o2 = cnn(img)
            l2 = F.mse_loss(o2, lib.zeros(2, 3))
        (l1 + l2).backward()
        return [o1, l1, o2, l2] + [p.grad for p in mlp.parameters()] + \
            [p.grad for p in cnn.parameters()]
    es, ts = _both(torch, prog)
    for e, t in zip(es, ts):
        assert _dt(e) == _dt(t), (e.dtype, t.dtype)
        np.testing.assert_allclose(_np(e), _np(t), rtol=3e-2, atol=3e-2)
    assert _dt(es[0]) == "bfloat16" and _dt(es[1]) == "float32" and _dt(es[4]) == "float32"


def test_autocast_grad_fn_is_cast_of_the_parameter(torch):
    w = ember.tensor(_w, requires_grad=True)
    with ember.autocast("cpu"):
        y = ember.nn.functional.linear(ember.tensor(_x), w)
    assert type(y.grad_fn).__name__ == "MmBackward0"
    y.float().sum().backward()
    assert w.grad.dtype is ember.float32


# ---- GradScaler ----------------------------------------------------------------------------
def _scaler_prog(lib, make, inf_at=(), steps=4):
    """A few scaled steps; `inf_at` steps get an inf gradient (the step is skipped)."""
    m = lib.nn.Linear(3, 2)
    opt = lib.optim.SGD(m.parameters(), lr=0.1)
    scaler, ws = _warns(make)
    log = [ws, scaler.is_enabled(), scaler.get_scale(), scaler.state_dict()]
    x = lib.tensor(_x)
    for i in range(steps):
        opt.zero_grad()
        loss = m(x).pow(2).mean()
        scaled = scaler.scale(loss)
        log.append(round(scaled.item(), 2))
        scaled.backward()
        if i in inf_at:
            m.weight.grad[0, 0] = float("inf")
        scaler.unscale_(opt)
        log.append(_np(m.weight.grad).round(4).tolist() if i not in inf_at else "inf")
        log.append(scaler.step(opt))
        scaler.update()
        log += [scaler.get_scale(), scaler.state_dict()]
    log += [_np(m.weight).round(5).tolist(), _np(m.bias).round(5).tolist()]
    return log


@pytest.mark.parametrize("kind", ["cpu", "cpu_growth", "cuda_default", "cuda", "cpu_disabled"])
def test_grad_scaler_matches_torch(torch, kind):
    def prog(lib):
        make = {"cpu": lambda: lib.amp.GradScaler("cpu", init_scale=1024.0),
                "cpu_growth": lambda: lib.amp.GradScaler("cpu", init_scale=8.0,
                                                         growth_interval=2),
                "cuda_default": lambda: lib.amp.GradScaler(),
                "cuda": lambda: lib.amp.GradScaler("cuda"),
                "cpu_disabled": lambda: lib.amp.GradScaler("cpu", enabled=False)}[kind]
        return _scaler_prog(lib, make, inf_at=(1,) if kind == "cpu" else ())
    e, t = _both(torch, prog)
    assert e == t


def test_cuda_amp_grad_scaler_deprecated_and_disabled(torch):
    e, t = _both(torch, lambda lib: _scaler_prog(lib, lambda: lib.cuda.amp.GradScaler(), steps=1))
    assert e == t
    assert e[0][0][0] == "FutureWarning" and e[1] is False
    with pytest.warns(FutureWarning):
        assert isinstance(ember.cuda.amp.GradScaler(enabled=False), ember.amp.GradScaler)


def test_deprecated_autocast_spellings(torch):
    def prog(lib):
        out = []
        for make in (lambda: lib.cpu.amp.autocast(), lambda: lib.cuda.amp.autocast()):
            ac, ws = _warns(make)
            with ac:
                out.append((ws, _dt(lib.nn.functional.linear(lib.tensor(_x), lib.tensor(_w)))))
        return out
    e, t = _both(torch, prog)
    assert e == t


def test_grad_scaler_errors(torch):
    def setup(lib):
        m = lib.nn.Linear(3, 2)
        opt = lib.optim.SGD(m.parameters(), lr=0.1)
        s = lib.amp.GradScaler("cpu")
        s.scale(m(lib.tensor(_x)).sum()).backward()
        return s, opt

    def twice(lib):
        s, opt = setup(lib)
        s.unscale_(opt)
        s.unscale_(opt)

    def closure(lib):
        s, opt = setup(lib)
        s.step(opt, closure=lambda: 0)

    def after_step(lib):
        s, opt = setup(lib)
        s.step(opt)
        s.unscale_(opt)

    def no_checks(lib):
        s, _ = setup(lib)
        s.update()

    def empty_state(lib):
        lib.amp.GradScaler("cpu").load_state_dict({})
    for f in (twice, closure, after_step, no_checks, empty_state):
        ee, te = same_error(torch, lambda: f(ember), lambda: f(torch))
        assert str(ee) == str(te)


def test_grad_scaler_state_dict_roundtrip(torch):
    def prog(lib):
        a = lib.amp.GradScaler("cpu", init_scale=64.0, growth_factor=3.0, growth_interval=7)
        b = lib.amp.GradScaler("cpu")
        b.load_state_dict(a.state_dict())
        return b.state_dict(), b.get_scale(), b.get_growth_factor(), b.get_backoff_factor(), \
            b.get_growth_interval()
    e, t = _both(torch, prog)
    assert e == t


# ---- torch.cuda, torch.cpu, torch.backends, Tensor flags ---------------------------------------
_CUDA_CALLS = ["is_available()", "device_count()", "is_bf16_supported()",
               "is_bf16_supported(including_emulation=False)", "is_initialized()",
               "manual_seed_all(0)", "manual_seed(0)", "empty_cache()", "memory_allocated()",
               "max_memory_allocated()", "memory_reserved()", "seed()", "synchronize()",
               "current_device()", "get_device_name()", "get_device_capability()",
               "get_device_properties(0)", "mem_get_info()", "initial_seed()",
               "get_rng_state()"]


@pytest.mark.parametrize("call", _CUDA_CALLS)
def test_cuda_queries_answer_as_cpu_only_torch(torch, call):
    def run(lib):
        try:
            return ("ok", eval("lib.cuda." + call))
        except Exception as e:  # noqa: BLE001 - the type and message are compared
            return (type(e).__name__, str(e))
    assert run(ember) == run(torch)


_BACKEND_FLAGS = ["cuda.matmul.allow_tf32", "cuda.matmul.allow_fp16_reduced_precision_reduction",
                  "cuda.matmul.allow_bf16_reduced_precision_reduction", "cuda.is_built()",
                  "cuda.flash_sdp_enabled()", "cuda.math_sdp_enabled()",
                  "cuda.mem_efficient_sdp_enabled()", "cudnn.enabled", "cudnn.benchmark",
                  "cudnn.deterministic", "cudnn.allow_tf32", "cudnn.is_available()",
                  "cudnn.version()", "mps.is_available()", "mps.is_built()",
                  "mkldnn.is_available()", "mkldnn.enabled", "mkl.is_available()",
                  "openmp.is_available()"]


def test_backends_flags_match_torch(torch):
    import torch.backends  # noqa: F401  (loads torch's backends submodules)
    for flag in _BACKEND_FLAGS:
        assert eval("ember.backends." + flag) == eval("torch.backends." + flag), flag


def test_backends_flags_settable_and_scoped(torch):
    def prog(lib):
        m = lib.backends.cuda.matmul
        old = m.allow_tf32
        m.allow_tf32 = True
        r = [m.allow_tf32]
        m.allow_tf32 = old
        with lib.backends.cudnn.flags(enabled=False, deterministic=True):
            r += [lib.backends.cudnn.enabled, lib.backends.cudnn.deterministic]
        r += [lib.backends.cudnn.enabled, lib.backends.cudnn.deterministic]
        try:
            m.not_a_flag
        except AttributeError as e:
            r.append(str(e))
        return r
    assert prog(ember) == prog(torch)


def test_tensor_device_flags(torch):
    names = ["is_cuda", "is_xpu", "is_mps", "is_meta", "is_sparse", "is_quantized",
             "is_mkldnn", "is_nested", "is_cpu"]
    e, t = ember.ones(2), torch.ones(2)
    assert [getattr(e, n) for n in names] == [getattr(t, n) for n in names]
    assert ember.cpu.is_available() == torch.cpu.is_available()
    assert ember.cpu.device_count() == torch.cpu.device_count()


def test_float32_matmul_precision(torch):
    def prog(lib):
        r = [lib.get_float32_matmul_precision()]
        for p in ("high", "medium", "nope", "highest"):
            _, ws = _warns(lambda: lib.set_float32_matmul_precision(p))
            r += [lib.get_float32_matmul_precision(), len(ws)]
        return r
    assert prog(ember) == prog(torch)


# ---- compile -------------------------------------------------------------------------------
def test_compile_runs_eagerly():
    calls = []

    def f(x, k=1):
        calls.append(1)
        return x * 2 + k
    g = ember.compile(f, fullgraph=True, dynamic=False, mode="max-autotune", backend="inductor")
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = g(x, k=3)
    assert y.tolist() == [5.0, 7.0] and calls == [1] and g.__name__ == "f"
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]

    @ember.compile
    def h(x):
        return x + 1

    @ember.compile(mode="reduce-overhead")
    def k(x):
        return x - 1
    assert h(ember.ones(1)).item() == 2.0 and k(ember.ones(1)).item() == 0.0


@pytest.fixture
def torch_compile_state(torch):
    """torch.compile turns torch.distributions' argument validation off for the whole process
    (dynamo's setting): put it back for the tests that follow."""
    old = torch.distributions.Distribution._validate_args
    yield
    torch.distributions.Distribution.set_default_validate_args(old)


def test_compile_module_matches_torch(torch, torch_compile_state):
    def prog(lib):
        m = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 1))
        c = lib.compile(m, backend="eager")
        y = c(lib.tensor(_x)).sum()
        y.backward()
        return (type(c).__name__, list(c.state_dict()), c._orig_mod is m, y.item(),
                _np(m[0].weight.grad).round(5).tolist(), isinstance(c, lib.nn.Module))
    e, t = _both(torch, prog)
    assert e[:3] == t[:3] and e[5:] == t[5:]
    np.testing.assert_allclose(e[3], t[3], rtol=1e-5)
    np.testing.assert_allclose(e[4], t[4], rtol=1e-4)
    ee, te = same_error(torch, lambda: ember.compile(3), lambda: torch.compile(3))
    assert str(ee) == str(te)


def test_bfloat16_checkpoints_round_trip_with_torch(torch, tmp_path):
    t = torch.randn(3, 4).bfloat16()
    torch.save({"w": t, "f": torch.ones(2)}, tmp_path / "t.pt")
    e = ember.load(tmp_path / "t.pt")
    assert e["w"].dtype is ember.bfloat16
    np.testing.assert_array_equal(e["w"].float().numpy(), t.float().numpy())
    ember.save({"w": e["w"], "v": e["w"][1:]}, tmp_path / "e.pt")
    r = torch.load(tmp_path / "e.pt")
    assert r["w"].dtype == torch.bfloat16 and torch.equal(r["w"], t)
    assert torch.equal(r["v"], t[1:])
