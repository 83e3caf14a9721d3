"""ember.optim's Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop and LBFGS against torch.optim:
trajectories step for step over option grids, state_dict layout and round trip, argument
validation, defaults and repr, LR schedulers, and LBFGS (both line searches) on least squares."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
import ember.optim as eoptim

import test_optim
from helpers import assert_close
from test_optim import (STEPS, _compare_state_dicts, _feed, _grads, _grid, _ids, _params, _run,
                        _same_error, _start)


def _step_both(torch, e, t, e_opt, t_opt, k):
    """Step k on both with the same gradients; the parameters must agree after it."""
    _feed(e, t, _grads(k, t), torch)
    e_opt.step()
    t_opt.step()
    for pe, pt in zip(e, t):
        assert_close(pe, pt)


def _both(torch, name, **kw):
    """Builders of ember's and torch's optimizer `name` with the same options."""
    return (lambda p: getattr(eoptim, name)(p, **kw),
            lambda p: getattr(torch.optim, name)(p, **kw))


# ---- trajectories over option grids ----------------------------------------------------------
GRIDS = {
    "Adadelta": _grid(lr=[0.5], rho=[0.9, 0.5], weight_decay=[0, 0.1], maximize=[False, True]),
    "Adamax": _grid(lr=[0.05], betas=[(0.9, 0.999), (0.5, 0.8)], weight_decay=[0, 0.1],
                    maximize=[False, True]),
    "NAdam": _grid(lr=[0.05], weight_decay=[0, 0.1], decoupled_weight_decay=[False, True],
                   momentum_decay=[4e-3, 0.5], maximize=[False, True]),
    # beta2 = 0.99 makes rho_t cross 5 after a few steps: both of RAdam's branches run
    "RAdam": _grid(lr=[0.05], betas=[(0.9, 0.99)], weight_decay=[0, 0.1],
                   decoupled_weight_decay=[False, True], maximize=[False, True]),
    # t0=3 starts the averaging (mu < 1) within the run
    "ASGD": _grid(lr=[0.05], lambd=[1e-4, 0.5], t0=[1e6, 3], weight_decay=[0, 0.1],
                  maximize=[False, True]),
    # step_sizes=(1e-3, 0.02) makes both clamps bite
    "Rprop": _grid(lr=[0.01], etas=[(0.5, 1.2), (0.3, 1.5)],
                   step_sizes=[(1e-6, 50), (1e-3, 0.02)], maximize=[False, True]),
}
TRAJECTORIES = [(name, kw) for name, grid in GRIDS.items() for kw in grid]


@pytest.mark.parametrize("name,kw", TRAJECTORIES,
                         ids=[f"{n}-{i}" for n, i in
                              zip([n for n, _ in TRAJECTORIES],
                                  sum((_ids(g) for g in GRIDS.values()), []))])
def test_trajectory(torch, name, kw):
    """Parameters after every step, state_dict before/after a reload halfway, and at the end."""
    _run(torch, *_both(torch, name, **kw))


SIMPLE = {
    "Adadelta": dict(lr=0.5, foreach=None), "Adamax": dict(lr=0.05), "NAdam": dict(lr=0.05),
    "RAdam": dict(lr=0.05, betas=(0.9, 0.99)), "ASGD": dict(lr=0.05, t0=4),
    "Rprop": dict(lr=0.01),
}


@pytest.mark.parametrize("name", list(SIMPLE))
def test_skips_params_without_grad(torch, name):
    _run(torch, *_both(torch, name, **SIMPLE[name]), none_grad_last=True)


def _reloads_like_run(t_opt):
    """torch's optimizer reloads its own state_dict after the step where `_run` reloads
    ember's: loading casts scalar states (mu_product, eta, mu) to the parameter's dtype."""
    steps = []

    def hook(opt, args, kwargs):
        steps.append(1)
        if len(steps) == STEPS // 2 + 1:
            opt.load_state_dict(copy.deepcopy(opt.state_dict()))
    t_opt.register_step_post_hook(hook)
    return t_opt


@pytest.mark.parametrize("name", list(SIMPLE))
def test_float64_params(torch, name):
    make_e, make_t = _both(torch, name, **SIMPLE[name])
    _run(torch, make_e, lambda p: _reloads_like_run(make_t(p)), dtype=np.float64)


@pytest.mark.parametrize("name", list(SIMPLE))
def test_tensor_lr(torch, name):
    kw = dict(SIMPLE[name])
    lr = kw.pop("lr")
    e, t = _params(torch, _start())
    e_opt = getattr(eoptim, name)(e, lr=ember.tensor(lr), **kw)
    t_opt = getattr(torch.optim, name)(t, lr=torch.tensor(lr), **kw)
    for k in range(4):
        _step_both(torch, e, t, e_opt, t_opt, k)


@pytest.mark.parametrize("name", list(SIMPLE))
def test_defaults_and_repr(torch, name):
    """Default options, `defaults` (in order), group keys and repr equal torch's (two groups)."""
    test_optim.test_defaults_and_repr(torch, name)


def test_lbfgs_defaults_and_repr(torch):
    e_params, t_params = _params(torch, _start())
    e_opt, t_opt = eoptim.LBFGS(e_params), torch.optim.LBFGS(t_params)
    assert e_opt.defaults == t_opt.defaults and list(e_opt.defaults) == list(t_opt.defaults)
    assert repr(e_opt) == repr(t_opt)
    _compare_state_dicts(e_opt.state_dict(), t_opt.state_dict())


def test_state_names_and_scalar_state(torch):
    """The state names torch uses, and its 0-dim scalar tensors (step, mu_product, eta, mu)."""
    names = {"Adadelta": ["step", "square_avg", "acc_delta"],
             "Adamax": ["step", "exp_avg", "exp_inf"],
             "NAdam": ["step", "mu_product", "exp_avg", "exp_avg_sq"],
             "RAdam": ["step", "exp_avg", "exp_avg_sq"],
             "ASGD": ["step", "eta", "mu", "ax"],
             "Rprop": ["step", "prev", "step_size"]}
    for name, keys in names.items():
        p = ember.ones(3, requires_grad=True)
        opt = getattr(eoptim, name)([p])
        p.grad = ember.ones(3)
        opt.step()
        state = opt.state[p]
        assert list(state) == keys, name
        for key in keys:
            assert isinstance(state[key], ember.Tensor)
            assert state[key].dtype == ember.float32
            assert state[key].shape == (() if key in ("step", "mu_product", "eta", "mu")
                                        else (3,))
        assert float(state["step"]) == 1.0


def test_betas_kept_as_given(torch):
    """torch stores `betas`/`etas` as passed (a list stays a list)."""
    for name, key in (("Adamax", "betas"), ("NAdam", "betas"), ("RAdam", "betas"),
                      ("Rprop", "etas")):
        value = [0.6, 0.99] if key == "betas" else [0.4, 1.3]
        e = getattr(eoptim, name)([ember.zeros(2, requires_grad=True)], **{key: value})
        t = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **{key: value})
        assert e.param_groups[0][key] == t.param_groups[0][key]
        assert type(e.param_groups[0][key]) is type(t.param_groups[0][key])


def test_legacy_scalar_state_loads():
    """Old checkpoints kept NAdam's mu_product and ASGD's eta/mu as Python numbers."""
    for name, keys in (("NAdam", ("mu_product",)), ("ASGD", ("eta", "mu"))):
        p = ember.ones(2, requires_grad=True)
        opt = getattr(eoptim, name)([p])
        p.grad = ember.ones(2)
        opt.step()
        sd = copy.deepcopy(opt.state_dict())
        for key in keys:
            sd["state"][0][key] = float(sd["state"][0][key])
        other = getattr(eoptim, name)([p])
        other.load_state_dict(sd)
        for key in keys:
            value = other.state[p][key]
            assert isinstance(value, ember.Tensor) and value.shape == ()
            assert float(value) == float(opt.state[p][key])
        other.step()


BAD_ARGS = [
    ("Adadelta", dict(lr=-1)), ("Adadelta", dict(rho=-0.1)), ("Adadelta", dict(rho=1.1)),
    ("Adadelta", dict(eps=-1)), ("Adadelta", dict(weight_decay=-1)),
    ("Adadelta", dict(lr=-1, rho=2)), ("Adadelta", dict(rho=2, eps=-1)),
    ("Adamax", dict(lr=-1)), ("Adamax", dict(eps=-1)), ("Adamax", dict(betas=(1.0, 0.9))),
    ("Adamax", dict(betas=(0.9, 1.0))), ("Adamax", dict(betas=(-0.1, 0.9))),
    ("Adamax", dict(weight_decay=-1)), ("Adamax", dict(eps=-1, betas=(1.0, 1.0))),
    ("NAdam", dict(lr=-1)), ("NAdam", dict(eps=-1)), ("NAdam", dict(betas=(1.0, 0.9))),
    ("NAdam", dict(betas=(0.9, 1.5))), ("NAdam", dict(weight_decay=-1)),
    ("NAdam", dict(momentum_decay=-1)), ("NAdam", dict(weight_decay=-1, momentum_decay=-1)),
    ("RAdam", dict(lr=-1)), ("RAdam", dict(eps=-1)), ("RAdam", dict(betas=(1.0, 0.9))),
    ("RAdam", dict(betas=(0.9, 1.0))), ("RAdam", dict(weight_decay=-1)),
    ("RAdam", dict(lr=-1, eps=-1)),
    ("ASGD", dict(lr=-1)), ("ASGD", dict(weight_decay=-1)),
    ("Rprop", dict(lr=-1)), ("Rprop", dict(etas=(1.0, 1.2))), ("Rprop", dict(etas=(0.5, 1.0))),
    ("Rprop", dict(etas=(0, 1.2))), ("Rprop", dict(etas=(0.5, 0.9))),
    ("LBFGS", dict(lr=-1)),
]


@pytest.mark.parametrize("name,kw", BAD_ARGS, ids=[f"{n}-{kw}" for n, kw in BAD_ARGS])
def test_argument_validation(torch, name, kw):
    _same_error(torch, lambda: getattr(eoptim, name)([ember.zeros(2, requires_grad=True)], **kw),
                lambda: getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw))


@pytest.mark.parametrize("name", list(SIMPLE) + ["LBFGS"])
def test_tensor_lr_must_be_one_element(torch, name):
    _same_error(torch, lambda: getattr(eoptim, name)([ember.zeros(2, requires_grad=True)],
                                                     lr=ember.tensor([0.1, 0.2])),
                lambda: getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)],
                                                   lr=torch.tensor([0.1, 0.2])))


@pytest.mark.parametrize("name", list(SIMPLE))
def test_step_lr_scheduler(torch, name):
    """StepLR drives the new optimizers' lr as torch's does, and the steps follow it."""
    e, t = _params(torch, _start())
    make_e, make_t = _both(torch, name, **SIMPLE[name])
    e_opt, t_opt = make_e(e), make_t(t)
    e_sched = eoptim.lr_scheduler.StepLR(e_opt, step_size=2, gamma=0.5)
    t_sched = torch.optim.lr_scheduler.StepLR(t_opt, step_size=2, gamma=0.5)
    for k in range(6):
        _step_both(torch, e, t, e_opt, t_opt, k)
        e_sched.step()
        t_sched.step()
        assert e_sched.get_last_lr() == pytest.approx(t_sched.get_last_lr())
        assert e_opt.param_groups[0]["lr"] == pytest.approx(t_opt.param_groups[0]["lr"])


def test_rprop_update_is_in_place_and_grad_untouched(torch):
    p = ember.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    array = p._data
    opt = eoptim.Rprop([p], lr=0.1, maximize=True)
    p.grad = ember.ones(2, 3)
    v0 = p._version
    opt.step()
    opt.step()
    assert p._data is array and p._version == v0 + 2
    np.testing.assert_array_equal(p.grad.numpy(), np.ones((2, 3), np.float32))
    np.testing.assert_allclose(p.detach().numpy(), 1 + 0.1 + 0.12, rtol=1e-6)


# ---- LBFGS -----------------------------------------------------------------------------------
def _least_squares(torch, dtype=np.float32):
    """A small over-determined least-squares fit y ~ x @ w + b on both frameworks."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((24, 5)).astype(dtype)
    y = (x @ rng.standard_normal(5) + 0.3 + 0.1 * rng.standard_normal(24)).astype(dtype)
    start = [np.zeros(5, dtype), np.zeros(1, dtype)]
    (ew, eb), (tw, tb) = _params(torch, start)
    data = {ember: (ember.tensor(x), ember.tensor(y)), torch: (torch.tensor(x), torch.tensor(y))}
    return [ew, eb], [tw, tb], data


def _closure(mod, opt, params, data, calls=None):
    def closure():
        if calls is not None:
            calls.append(mod.is_grad_enabled())
        opt.zero_grad()
        x, y = data[mod]
        loss = ((x.matmul(params[0]) + params[1] - y) ** 2).mean()
        loss.backward()
        return loss
    return closure


def _compare_lbfgs_state(e_state, t_state, rtol=1e-4, atol=1e-6):
    assert list(e_state) == list(t_state)
    for key, t_val in t_state.items():
        e_val = e_state[key]
        if isinstance(t_val, list):
            assert isinstance(e_val, list) and len(e_val) == len(t_val), key
            for a, b in zip(e_val, t_val):
                if b is None:
                    assert a is None, key
                else:
                    assert isinstance(a, ember.Tensor), key
                    assert_close(a, b, rtol=rtol, atol=atol)
        elif hasattr(t_val, "detach"):
            assert isinstance(e_val, ember.Tensor), key
            assert_close(e_val, t_val, rtol=rtol, atol=atol)
        elif key in ("func_evals", "n_iter"):
            assert e_val == t_val and type(e_val) is type(t_val), (key, e_val, t_val)
        else:
            assert float(e_val) == pytest.approx(float(t_val), rel=rtol, abs=atol), key


LBFGS_GRID = _grid(line_search_fn=[None, "strong_wolfe"], history_size=[100, 3])


@pytest.mark.parametrize("kw", LBFGS_GRID, ids=_ids(LBFGS_GRID))
def test_lbfgs_least_squares(torch, kw):
    """Each step (up to 20 inner iterations) lands where torch's does; both converge."""
    e, t, data = _least_squares(torch)
    e_opt, t_opt = eoptim.LBFGS(e, **kw), torch.optim.LBFGS(t, **kw)
    for _ in range(3):
        e_loss = e_opt.step(_closure(ember, e_opt, e, data))
        t_loss = t_opt.step(_closure(torch, t_opt, t, data))
        assert isinstance(e_loss, ember.Tensor)
        assert float(e_loss) == pytest.approx(float(t_loss), rel=1e-4, abs=1e-6)
        for pe, pt in zip(e, t):
            assert_close(pe, pt, rtol=1e-4, atol=1e-5)
    # the fit is at the normal equations' solution
    x, y = data[torch][0].numpy(), data[torch][1].numpy()
    design = np.concatenate([x, np.ones((len(x), 1), x.dtype)], 1).astype(np.float64)
    solution = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(np.concatenate([p.detach().numpy() for p in e]), solution,
                               rtol=1e-4, atol=1e-4)
    # near the optimum the stopping tests see rounding noise: the iteration counts and the
    # history may differ, the state's layout does not
    e_sd, t_sd = e_opt.state_dict(), t_opt.state_dict()
    assert list(e_sd["state"]) == list(t_sd["state"]) == [0]
    assert e_sd["param_groups"] == t_sd["param_groups"]
    e_state, t_state = e_sd["state"][0], t_sd["state"][0]
    assert list(e_state) == list(t_state)
    for key, t_val in t_state.items():
        assert isinstance(e_state[key], ember.Tensor) == hasattr(t_val, "detach"), key


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_trajectory_float64(torch, line_search_fn):
    """In float64, few inner iterations per step: the iterates and state agree closely."""
    e, t, data = _least_squares(torch, np.float64)
    kw = dict(lr=0.5, max_iter=3, history_size=2, line_search_fn=line_search_fn)
    e_opt, t_opt = eoptim.LBFGS(e, **kw), torch.optim.LBFGS(t, **kw)
    for k in range(4):
        e_opt.step(_closure(ember, e_opt, e, data))
        t_opt.step(_closure(torch, t_opt, t, data))
        for pe, pt in zip(e, t):
            assert_close(pe, pt, rtol=1e-9, atol=1e-10)
        _compare_lbfgs_state(e_opt.state_dict()["state"][0], t_opt.state_dict()["state"][0],
                             rtol=1e-9, atol=1e-10)
        if k == 1:   # reload halfway: the continuation is unchanged
            saved = copy.deepcopy(e_opt.state_dict())
            e_opt = eoptim.LBFGS(e, lr=0.1)
            e_opt.load_state_dict(saved)


def test_lbfgs_max_iter_one_state_order(torch):
    """With max_iter=1 the 'al' buffer appears on the second step, after the rest (as torch)."""
    e, t, data = _least_squares(torch)
    e_opt, t_opt = eoptim.LBFGS(e, max_iter=1), torch.optim.LBFGS(t, max_iter=1)
    for _ in range(3):
        e_opt.step(_closure(ember, e_opt, e, data))
        t_opt.step(_closure(torch, t_opt, t, data))
        _compare_lbfgs_state(e_opt.state[e[0]], t_opt.state[t[0]])
        for pe, pt in zip(e, t):
            assert_close(pe, pt, rtol=1e-5, atol=1e-6)


def test_lbfgs_closure_runs_with_grad_and_early_exit(torch):
    e, t, data = _least_squares(torch)
    calls = []
    e_opt = eoptim.LBFGS(e, max_iter=4)
    with ember.no_grad():
        e_opt.step(_closure(ember, e_opt, e, data, calls))
    assert calls and all(calls)
    assert e_opt.state[e[0]]["func_evals"] == len(calls) == 4
    # already optimal: one evaluation, nothing but the counters in the state (as torch)
    for params, opt_cls, mod in ((e, eoptim.LBFGS, ember), (t, torch.optim.LBFGS, torch)):
        with mod.no_grad():
            for p in params:
                p.zero_()
        opt = opt_cls(params, tolerance_grad=1e6)
        opt.step(_closure(mod, opt, params, data))
        assert dict(opt.state[params[0]]) == {"func_evals": 1, "n_iter": 0}


def test_lbfgs_errors(torch):
    pe, pt = ember.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    _same_error(torch, lambda: eoptim.LBFGS([{"params": [pe]},
                                             {"params": [ember.ones(1, requires_grad=True)]}]),
                lambda: torch.optim.LBFGS([{"params": [pt]},
                                           {"params": [torch.ones(1, requires_grad=True)]}]))
    _same_error(torch, lambda: eoptim.LBFGS([pe]).step(), lambda: torch.optim.LBFGS([pt]).step())

    def bad_search(params, opt_cls, mod):
        opt = opt_cls(params, line_search_fn="foo")

        def closure():
            opt.zero_grad()
            loss = ((params[0] - 1) ** 2).sum()
            loss.backward()
            return loss
        return opt, closure

    e_opt, e_cl = bad_search([pe], eoptim.LBFGS, ember)
    t_opt, t_cl = bad_search([pt], torch.optim.LBFGS, torch)
    _same_error(torch, lambda: e_opt.step(e_cl), lambda: t_opt.step(t_cl))
    assert dict(e_opt.state[pe]) == dict(t_opt.state[pt]) == {"func_evals": 1, "n_iter": 1}


def test_lbfgs_with_step_lr(torch):
    e, t, data = _least_squares(torch)
    e_opt = eoptim.LBFGS(e, lr=0.5, max_iter=2)
    t_opt = torch.optim.LBFGS(t, lr=0.5, max_iter=2)
    e_sched = eoptim.lr_scheduler.StepLR(e_opt, step_size=1, gamma=0.5)
    t_sched = torch.optim.lr_scheduler.StepLR(t_opt, step_size=1, gamma=0.5)
    for _ in range(3):
        e_opt.step(_closure(ember, e_opt, e, data))
        t_opt.step(_closure(torch, t_opt, t, data))
        e_sched.step()
        t_sched.step()
        assert e_sched.get_last_lr() == t_sched.get_last_lr()
        for pe, pt in zip(e, t):
            assert_close(pe, pt, rtol=1e-5, atol=1e-6)
