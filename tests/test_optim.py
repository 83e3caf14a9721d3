"""ember.optim against torch.optim: trajectories step for step, state_dict layout and round trip,
argument validation, repr, parameter groups, closures and zero_grad."""
from __future__ import annotations

import copy
import itertools
import warnings

import numpy as np
import pytest

import ember
import ember.optim as eoptim

from helpers import assert_close

SHAPES = [(3, 4), (5,)]
STEPS = 12


def _start(dtype=np.float32):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _params(torch, arrays):
    e = [ember.tensor(a.copy(), requires_grad=True) for a in arrays]
    t = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return e, t


def _grads(k, t_params):
    """Gradient of step k: a quadratic pull towards 0.5 plus fixed noise, from torch's params
    (both frameworks get the very same arrays, so only the update math is compared)."""
    rng = np.random.default_rng(100 + k)
    out = []
    for p in t_params:
        x = p.detach().numpy()
        out.append((2.0 * (x - 0.5) + rng.standard_normal(x.shape)).astype(x.dtype))
    return out


def _feed(e_params, t_params, grads, torch):
    for pe, pt, g in zip(e_params, t_params, grads):
        pe.grad = ember.tensor(g.copy())
        pt.grad = torch.tensor(g.copy())


def _compare_state_dicts(e_sd, t_sd):
    """Same layout and values: param indices, state keys (in order), tensors, group options."""
    assert list(e_sd) == list(t_sd) == ["state", "param_groups"]
    assert list(e_sd["state"]) == list(t_sd["state"])
    for idx, t_state in t_sd["state"].items():
        e_state = e_sd["state"][idx]
        assert list(e_state) == list(t_state), (idx, list(e_state), list(t_state))
        for key, t_val in t_state.items():
            if hasattr(t_val, "detach"):
                assert isinstance(e_state[key], ember.Tensor)
                assert_close(e_state[key], t_val)
            else:
                assert e_state[key] == t_val
    assert len(e_sd["param_groups"]) == len(t_sd["param_groups"])
    for eg, tg in zip(e_sd["param_groups"], t_sd["param_groups"]):
        assert list(eg) == list(tg)
        assert eg == tg


def _run(torch, make_e, make_t, dtype=np.float32, none_grad_last=False):
    """Step both optimizers; halfway, swap ember's for a fresh one loaded from its state_dict."""
    e_params, t_params = _params(torch, _start(dtype))
    e_opt, t_opt = make_e(e_params), make_t(t_params)
    for k in range(STEPS):
        grads = _grads(k, t_params)
        _feed(e_params, t_params, grads, torch)
        if none_grad_last and k < 3:
            e_params[-1].grad = None
            t_params[-1].grad = None
        if k == 2:
            _compare_state_dicts(e_opt.state_dict(), t_opt.state_dict())
        t_opt.step()
        e_opt.step()
        for pe, pt in zip(e_params, t_params):
            assert_close(pe, pt)
        if k == STEPS // 2:
            saved = copy.deepcopy(e_opt.state_dict())
            e_opt = make_e(e_params)
            e_opt.load_state_dict(saved)
            _compare_state_dicts(e_opt.state_dict(), t_opt.state_dict())
    _compare_state_dicts(e_opt.state_dict(), t_opt.state_dict())
    return e_opt, t_opt


def _grid(**axes):
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*axes.values())]


def _ids(grid):
    return ["-".join(f"{k}={v}" for k, v in kw.items()) for kw in grid]


SGD_GRID = _grid(momentum=[0, 0.9], dampening=[0, 0.1], nesterov=[False, True],
                 weight_decay=[0, 0.1], maximize=[False, True])


@pytest.mark.parametrize("kw", SGD_GRID, ids=_ids(SGD_GRID))
def test_sgd_trajectory(torch, kw):
    if kw["nesterov"] and (kw["momentum"] == 0 or kw["dampening"] != 0):
        for fn in (lambda: eoptim.SGD([ember.zeros(2, requires_grad=True)], lr=0.1, **kw),
                   lambda: torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1, **kw)):
            with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero "
                                                 "dampening"):
                fn()
        return
    _run(torch, lambda p: eoptim.SGD(p, lr=0.05, **kw),
         lambda p: torch.optim.SGD(p, lr=0.05, **kw))


ADAM_GRID = _grid(amsgrad=[False, True], weight_decay=[0, 0.1], maximize=[False, True])


@pytest.mark.parametrize("kw", ADAM_GRID, ids=_ids(ADAM_GRID))
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_trajectory(torch, name, kw):
    _run(torch, lambda p: getattr(eoptim, name)(p, lr=0.05, betas=(0.8, 0.99), **kw),
         lambda p: getattr(torch.optim, name)(p, lr=0.05, betas=(0.8, 0.99),
                                              **kw))


RMSPROP_GRID = _grid(centered=[False, True], momentum=[0, 0.9], weight_decay=[0, 0.1],
                     maximize=[False, True])


@pytest.mark.parametrize("kw", RMSPROP_GRID, ids=_ids(RMSPROP_GRID))
def test_rmsprop_trajectory(torch, kw):
    _run(torch, lambda p: eoptim.RMSprop(p, lr=0.01, alpha=0.9, **kw),
         lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, **kw))


ADAGRAD_GRID = _grid(lr_decay=[0, 0.1], weight_decay=[0, 0.1], initial_accumulator_value=[0, 0.5],
                     maximize=[False, True])


@pytest.mark.parametrize("kw", ADAGRAD_GRID, ids=_ids(ADAGRAD_GRID))
def test_adagrad_trajectory(torch, kw):
    _run(torch, lambda p: eoptim.Adagrad(p, lr=0.1, **kw),
         lambda p: torch.optim.Adagrad(p, lr=0.1, **kw))


OPTIMIZERS = {
    "SGD": dict(lr=0.1, momentum=0.9),
    "Adam": dict(lr=0.01),
    "AdamW": dict(lr=0.01),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
    "Adagrad": dict(lr=0.1),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_skips_params_without_grad(torch, name):
    """A parameter whose .grad is None is not updated and gets no state (until it has a grad)."""
    kw = OPTIMIZERS[name]
    _run(torch, lambda p: getattr(eoptim, name)(p, **kw),
         lambda p: getattr(torch.optim, name)(p, **kw), none_grad_last=True)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_float64_params(torch, name):
    kw = OPTIMIZERS[name]
    _run(torch, lambda p: getattr(eoptim, name)(p, **kw),
         lambda p: getattr(torch.optim, name)(p, **kw), dtype=np.float64)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_defaults_and_repr(torch, name):
    """Default options, `defaults`, group keys and repr (several groups) equal torch's."""
    e_params, t_params = _params(torch, _start())
    e_opt = getattr(eoptim, name)([{"params": [e_params[0]]},
                                   {"params": e_params[1], "lr": 0.5}])
    t_opt = getattr(torch.optim, name)([{"params": [t_params[0]]},
                                        {"params": t_params[1], "lr": 0.5}])
    assert e_opt.defaults == t_opt.defaults
    assert list(e_opt.defaults) == list(t_opt.defaults)
    assert repr(e_opt) == repr(t_opt)
    for eg, tg in zip(e_opt.param_groups, t_opt.param_groups):
        assert list(eg) == list(tg)
        assert {k: v for k, v in eg.items() if k != "params"} == \
            {k: v for k, v in tg.items() if k != "params"}
    assert e_opt.param_groups[1]["params"][0] is e_params[1]
    _compare_state_dicts(e_opt.state_dict(), t_opt.state_dict())


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_autograd_training_matches(torch, name):
    """A small least-squares fit trained with real backward passes on both frameworks."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 2)).astype(np.float32)
    w0 = rng.standard_normal((4, 2)).astype(np.float32)
    b0 = np.zeros(2, np.float32)
    (ew, eb), (tw, tb) = _params(torch, [w0, b0])
    kw = OPTIMIZERS[name]
    e_opt = getattr(eoptim, name)([ew, eb], **kw)
    t_opt = getattr(torch.optim, name)([tw, tb], **kw)
    ex, ey, tx, ty = ember.tensor(x), ember.tensor(y), torch.tensor(x), torch.tensor(y)
    for _ in range(15):
        for opt, (w, b, xx, yy) in ((e_opt, (ew, eb, ex, ey)), (t_opt, (tw, tb, tx, ty))):
            opt.zero_grad()
            loss = ((xx.matmul(w) + b - yy) ** 2).mean()
            loss.backward()
            opt.step()
        assert_close(ew, tw, rtol=1e-4, atol=1e-5)
        assert_close(eb, tb, rtol=1e-4, atol=1e-5)


def test_step_closure_and_return(torch):
    e_params, t_params = _params(torch, _start())
    e_opt = eoptim.SGD(e_params, lr=0.1)
    t_opt = torch.optim.SGD(t_params, lr=0.1)

    def closure_for(opt, params):
        def closure():
            opt.zero_grad()
            loss = sum((p * p).sum() for p in params)
            loss.backward()
            return loss
        return closure

    with ember.no_grad():   # the closure still records a graph: step runs it under enable_grad
        e_loss = e_opt.step(closure_for(e_opt, e_params))
    with torch.no_grad():
        t_loss = t_opt.step(closure_for(t_opt, t_params))
    assert_close(e_loss, t_loss)
    for pe, pt in zip(e_params, t_params):
        assert_close(pe, pt)
    assert e_opt.step() is None


def test_updates_in_place_and_bump_version(torch):
    p = ember.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    view = p.detach()[0]
    array = p._data
    opt = eoptim.Adam([p], lr=0.1)
    p.grad = ember.ones(2, 3)
    v0 = p._version
    opt.step()
    opt.step()
    assert p._data is array
    assert p._version == v0 + 2
    np.testing.assert_allclose(view.numpy(), p.detach().numpy()[0])
    assert float(p.detach()[0, 0]) < 1.0
    # the gradient itself is never modified, even with maximize / weight decay
    opt = eoptim.SGD([p], lr=0.1, weight_decay=0.5, maximize=True, momentum=0.9)
    opt.step()
    opt.step()
    np.testing.assert_array_equal(p.grad.numpy(), np.ones((2, 3), np.float32))


def test_zero_grad(torch):
    e, t = _params(torch, _start())
    for params, mod in ((e, ember), (t, torch)):
        opt = (eoptim if mod is ember else torch.optim).SGD(params, lr=0.1)
        for p in params:
            p.grad = mod.ones(p.shape)
        grad0 = params[0].grad
        opt.zero_grad(set_to_none=False)
        assert params[0].grad is grad0
        assert float(params[0].grad.abs().sum()) == 0.0
        opt.zero_grad()
        assert all(p.grad is None for p in params)


def _same_error(torch, fe, ft):
    with pytest.raises(Exception) as te:
        ft()
    with pytest.raises(Exception) as ee:
        fe()
    assert type(ee.value) is type(te.value), (ee.value, te.value)
    assert str(ee.value).replace("ember.", "torch.") == str(te.value), (ee.value, te.value)


BAD_ARGS = [
    ("SGD", dict(lr=-1)), ("SGD", dict(lr=-1.5)), ("SGD", dict(momentum=-1)),
    ("SGD", dict(weight_decay=-1)), ("SGD", dict(nesterov=True)),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1)), ("SGD", dict(lr=None)),
    ("Adam", dict(lr=-1)), ("Adam", dict(eps=-1)), ("Adam", dict(betas=(1.0, 0.9))),
    ("Adam", dict(betas=(0.9, 1.0))), ("Adam", dict(betas=(0, 0.9))),
    ("Adam", dict(weight_decay=-1)), ("AdamW", dict(weight_decay=-1)),
    ("AdamW", dict(betas=(-0.1, 0.9))),
    ("RMSprop", dict(lr=-1)), ("RMSprop", dict(alpha=-1)), ("RMSprop", dict(momentum=-1)),
    ("RMSprop", dict(eps=-1)), ("RMSprop", dict(weight_decay=-1)),
    ("Adagrad", dict(lr=-1)), ("Adagrad", dict(lr_decay=-1)),
    ("Adagrad", dict(weight_decay=-1)), ("Adagrad", dict(initial_accumulator_value=-1)),
    ("Adagrad", dict(eps=-1)),
]


@pytest.mark.parametrize("name,kw", BAD_ARGS, ids=[f"{n}-{kw}" for n, kw in BAD_ARGS])
def test_argument_validation(torch, name, kw):
    _same_error(torch, lambda: getattr(eoptim, name)([ember.zeros(2, requires_grad=True)], **kw),
                lambda: getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw))


def test_param_group_checks(torch):
    def both(build):
        pe, pt = ember.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
        _same_error(torch, lambda: build(eoptim, ember, pe), lambda: build(torch.optim, torch, pt))

    both(lambda o, m, p: o.SGD(p, lr=0.1))                                  # a bare tensor
    both(lambda o, m, p: o.SGD([], lr=0.1))                                 # empty
    both(lambda o, m, p: o.SGD([1], lr=0.1))                                # not a tensor
    both(lambda o, m, p: o.SGD([p * 2], lr=0.1))                            # non-leaf
    both(lambda o, m, p: o.SGD([{"params": {p}}], lr=0.1))                  # a set
    both(lambda o, m, p: o.SGD([{"params": [p]}, {"params": [p]}], lr=0.1))
    both(lambda o, m, p: o.SGD([p], lr=0.1).add_param_group([p]))
    both(lambda o, m, p: o.SGD([p], lr=0.1).add_param_group({"params": p}))
    both(lambda o, m, p: o.SGD([("a", p), m.zeros(1, requires_grad=True)]))
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter"):
        p = ember.zeros(2, requires_grad=True)
        eoptim.Adam([p]).add_param_group({"params": [ember.ones(1, requires_grad=True), p]})
    with pytest.warns(UserWarning, match="duplicate parameters"):
        p = ember.zeros(2, requires_grad=True)
        eoptim.SGD([p, p])


def test_add_param_group_and_generator(torch):
    e, t = _params(torch, _start())
    e_opt = eoptim.SGD((p for p in e[:1]), lr=0.1, momentum=0.9)
    t_opt = torch.optim.SGD((p for p in t[:1]), lr=0.1, momentum=0.9)
    e_opt.add_param_group({"params": e[1], "lr": 0.5, "nesterov": True})
    t_opt.add_param_group({"params": t[1], "lr": 0.5, "nesterov": True})
    assert repr(e_opt) == repr(t_opt)
    for k in range(4):
        _feed(e, t, _grads(k, t), torch)
        e_opt.step()
        t_opt.step()
        for pe, pt in zip(e, t):
            assert_close(pe, pt)
    _compare_state_dicts(e_opt.state_dict(), t_opt.state_dict())


def test_named_parameters_state_dict(torch):
    e, t = _params(torch, _start())
    e_opt = eoptim.Adam([("w", e[0]), ("b", e[1])])
    t_opt = torch.optim.Adam([("w", t[0]), ("b", t[1])])
    _feed(e, t, _grads(0, t), torch)
    e_opt.step()
    t_opt.step()
    _compare_state_dicts(e_opt.state_dict(), t_opt.state_dict())
    assert e_opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


def test_state_is_keyed_by_parameter(torch):
    e, _ = _params(torch, _start())
    opt = eoptim.Adam(e)
    assert len(opt.state) == 0
    e[0].grad = ember.ones(e[0].shape)
    opt.step()
    assert set(opt.state[e[0]]) == {"step", "exp_avg", "exp_avg_sq"}
    step = opt.state[e[0]]["step"]
    assert step.dtype == ember.float32 and step.shape == () and float(step) == 1.0
    assert e[1] not in opt.state
    # state_dict holds the live tensors, as torch's does
    sd = opt.state_dict()
    opt.step()
    assert float(sd["state"][0]["step"]) == 2.0


def test_load_state_dict_errors_and_independence(torch):
    e, t = _params(torch, _start())
    for opt_cls, params in ((eoptim.SGD, e), (torch.optim.SGD, t)):
        opt = opt_cls(params, lr=0.1)
        sd = opt.state_dict()
        sd["param_groups"].append(dict(sd["param_groups"][0]))
        with pytest.raises(ValueError, match="different number of parameter groups"):
            opt.load_state_dict(sd)
        sd = opt.state_dict()
        sd["param_groups"][0]["params"] = [0]
        with pytest.raises(ValueError, match="doesn't match the size"):
            opt.load_state_dict(sd)
    # loading copies the tensors and the group options
    opt = eoptim.SGD(e, lr=0.1, momentum=0.9)
    _feed(e, t, _grads(0, t), torch)
    opt.step()
    sd = opt.state_dict()
    other = eoptim.SGD(e, lr=0.3)
    other.load_state_dict(sd)
    assert other.param_groups[0]["lr"] == 0.1 and other.param_groups[0]["momentum"] == 0.9
    assert other.param_groups[0]["params"][0] is e[0]
    before = sd["state"][0]["momentum_buffer"].numpy().copy()
    other.step()
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"].numpy(), before)
    sd["param_groups"][0]["lr"] = 5.0
    assert other.param_groups[0]["lr"] == 0.1


def test_lr_changes_take_effect(torch):
    e, t = _params(torch, _start())
    e_opt, t_opt = eoptim.Adam(e, lr=0.1), torch.optim.Adam(t, lr=0.1)
    for k in range(5):
        for opt in (e_opt, t_opt):
            opt.param_groups[0]["lr"] = 0.1 / (k + 1)
            opt.param_groups[0]["betas"] = (0.9 - 0.05 * k, 0.999)
        _feed(e, t, _grads(k, t), torch)
        e_opt.step()
        t_opt.step()
        for pe, pt in zip(e, t):
            assert_close(pe, pt)


def test_tensor_lr(torch):
    e, t = _params(torch, _start())
    e_opt = eoptim.SGD(e, lr=ember.tensor(0.1))
    t_opt = torch.optim.SGD(t, lr=torch.tensor(0.1))
    _feed(e, t, _grads(0, t), torch)
    e_opt.step()
    t_opt.step()
    for pe, pt in zip(e, t):
        assert_close(pe, pt)
    _same_error(torch, lambda: eoptim.SGD(e, lr=ember.tensor([0.1, 0.2])),
                lambda: torch.optim.SGD(t, lr=torch.tensor([0.1, 0.2])))


def test_step_hooks_and_custom_optimizer(torch):
    calls = []

    class Plain(eoptim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.data.add_(p.grad, alpha=-group["lr"])

    p = ember.ones(2, requires_grad=True)
    opt = Plain([p])
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    p.grad = ember.ones(2)
    opt.step()
    h1.remove()
    opt.step()
    assert calls == ["pre", "post", "post"]
    np.testing.assert_allclose(p.detach().numpy(), [0.8, 0.8])
    assert "Plain (" in repr(opt) and "lr: 0.1" in repr(opt)


def test_pickle_roundtrip():
    import pickle
    p = ember.ones(2, requires_grad=True)
    opt = eoptim.Adam([p], lr=0.1)
    p.grad = ember.ones(2)
    opt.step()
    clone = pickle.loads(pickle.dumps(opt))
    assert repr(clone) == repr(opt)
    assert float(next(iter(clone.state.values()))["step"]) == 1.0


def test_step_speed_numpy_calls():
    """Adam's step keeps per-parameter work to a few ufunc calls: no allocations per step."""
    params = [ember.zeros(64, 64, requires_grad=True) for _ in range(4)]
    opt = eoptim.Adam(params, lr=0.1)
    for p in params:
        p.grad = ember.ones(64, 64)
    opt.step()
    buffers = {id(b) for bufs in opt._buffers.values() for b in bufs}
    opt.step()
    assert {id(b) for bufs in opt._buffers.values() for b in bufs} == buffers
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()


def test_nn_module_parameters(torch):
    """Optimizers take Module.parameters() / named_parameters() and train as torch's do."""
    if not hasattr(ember, "nn") or not hasattr(ember.nn, "Linear"):
        pytest.skip("ember.nn.Linear is not available")
    torch.manual_seed(0)
    t_model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    e_model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
    e_model.load_state_dict({k: ember.tensor(v.detach().numpy().copy())
                             for k, v in t_model.state_dict().items()})
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 2)).astype(np.float32)
    e_opt = eoptim.AdamW(e_model.named_parameters(), lr=0.05)
    t_opt = torch.optim.AdamW(t_model.named_parameters(), lr=0.05)
    for _ in range(10):
        for model, opt, mod in ((e_model, e_opt, ember), (t_model, t_opt, torch)):
            opt.zero_grad()
            loss = ((model(mod.tensor(x)) - mod.tensor(y)) ** 2).mean()
            loss.backward()
            opt.step()
    for (ek, ev), (tk, tv) in zip(e_model.state_dict().items(), t_model.state_dict().items()):
        assert ek == tk
        assert_close(ev, tv, rtol=1e-4, atol=1e-5)
    _compare_state_dicts(e_opt.state_dict(), t_opt.state_dict())


def test_load_legacy_float_step():
    p = ember.ones(2, requires_grad=True)
    opt = eoptim.Adam([p], lr=0.1)
    p.grad = ember.ones(2)
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][0]["step"] = 1   # as old checkpoints stored it
    other = eoptim.Adam([p], lr=0.1)
    other.load_state_dict(sd)
    step = other.state[p]["step"]
    assert isinstance(step, ember.Tensor) and step.dtype == ember.float32 and float(step) == 1.0
    other.step()
    assert float(other.state[p]["step"]) == 2.0


class _LoopAdam(eoptim.Adam):
    """Adam with the whole-group update switched off: the per-parameter loop, for reference."""

    def _step_group_flat(self, group, hyper):
        return False


@pytest.mark.parametrize("kw", [{}, {"weight_decay": 0.1, "decoupled_weight_decay": True},
                                {"weight_decay": 0.1}, {"amsgrad": True}])
def test_adam_group_update_equals_per_parameter_loop(torch, kw):
    """Adam/AdamW update a group at once (optim/_flat.py); the result must be bit-identical to
    the per-parameter loop, across a step where one parameter has no gradient (the loop runs
    that step), a load_state_dict (the flat arrays are rebuilt) and torch's own numbers."""
    rng = np.random.default_rng(5)
    shapes = [(4, 3), (3,), (2, 2, 2), ()]
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(6)]
    runs = {}
    for name, cls in (("flat", eoptim.Adam), ("loop", _LoopAdam)):
        ps = [ember.tensor(a.copy(), requires_grad=True) for a in init]
        opt = cls(ps, lr=0.05, **kw)
        for k, gs in enumerate(grads):
            for i, (p, g) in enumerate(zip(ps, gs)):
                p.grad = None if (k == 2 and i == 1) else ember.tensor(g)
            opt.step()
            if k == 3:  # a state round trip in the middle
                sd = copy.deepcopy(opt.state_dict())
                opt = cls(ps, lr=0.05, **kw)
                opt.load_state_dict(sd)
        runs[name] = ([p.detach().numpy().copy() for p in ps],
                      [{k: v.numpy().copy() for k, v in s.items()}
                       for s in opt.state_dict()["state"].values()])
    for a, b in zip(runs["flat"][0], runs["loop"][0]):
        assert np.array_equal(a, b)
    for sa, sb in zip(runs["flat"][1], runs["loop"][1]):
        assert sa.keys() == sb.keys()
        for k in sa:
            assert np.array_equal(sa[k], sb[k]), k
    tps = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    topt = torch.optim.Adam(tps, lr=0.05, **kw)
    for k, gs in enumerate(grads):
        for i, (p, g) in enumerate(zip(tps, gs)):
            p.grad = None if (k == 2 and i == 1) else torch.tensor(g)
        topt.step()
    for a, t in zip(runs["flat"][0], tps):
        np.testing.assert_allclose(a, t.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_adam_group_update_keeps_state_tensors():
    """state_dict() hands out the optimizer's own state tensors (as torch): after the group
    update they still are the ones that change."""
    ps = [ember.ones(3, requires_grad=True), ember.ones(2, 2, requires_grad=True)]
    opt = eoptim.AdamW(ps, lr=0.1)
    for p in ps:
        p.grad = ember.ones(p.shape)
    opt.step()
    held = opt.state_dict()["state"][0]["exp_avg"]
    before = held.numpy().copy()
    opt.step()
    assert held is opt.state[ps[0]]["exp_avg"]
    assert not np.array_equal(held.numpy(), before)
    assert float(opt.state[ps[1]]["step"]) == 2.0
