"""ember.optim.lr_scheduler against torch's: learning-rate (and momentum) sequences, get_last_lr,
state_dict contents and round trip, argument errors and the step-order warning."""
from __future__ import annotations

import copy
import math
import warnings

import pytest

import ember
import ember.optim as eoptim

STEPS = 30


def _optimizer(lib, opt_name="SGD"):
    """Two parameter groups with different lrs (both frameworks build the same)."""
    mod = ember if lib == "ember" else __import__("torch")
    optim = eoptim if lib == "ember" else mod.optim
    p1, p2 = mod.zeros(3, requires_grad=True), mod.zeros(2, requires_grad=True)
    extra = dict(momentum=0.9) if opt_name == "SGD" else {}
    return getattr(optim, opt_name)([{"params": [p1]}, {"params": [p2], "lr": 0.05}], lr=0.1,
                                    **extra)


def _sched_module(lib):
    return eoptim.lr_scheduler if lib == "ember" else __import__("torch").optim.lr_scheduler


class Scale:
    """A callable object: LambdaLR saves its __dict__ in state_dict."""

    def __init__(self, base):
        self.base = base

    def __call__(self, epoch):
        return self.base ** epoch


SCHEDULERS = {
    "StepLR": (lambda L, o: L.StepLR(o, step_size=4, gamma=0.5)),
    "MultiStepLR": (lambda L, o: L.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3)),
    "ExponentialLR": (lambda L, o: L.ExponentialLR(o, gamma=0.9)),
    "CosineAnnealingLR": (lambda L, o: L.CosineAnnealingLR(o, T_max=10)),
    "CosineAnnealingLR-eta_min": (lambda L, o: L.CosineAnnealingLR(o, T_max=7, eta_min=0.01)),
    "LambdaLR": (lambda L, o: L.LambdaLR(o, lr_lambda=lambda e: 1.0 / (e + 1))),
    "LambdaLR-list": (lambda L, o: L.LambdaLR(o, [lambda e: 0.9 ** e, Scale(0.8)])),
    "MultiplicativeLR": (lambda L, o: L.MultiplicativeLR(o, lambda e: 0.95)),
    "LinearLR": (lambda L, o: L.LinearLR(o)),
    "LinearLR-args": (lambda L, o: L.LinearLR(o, start_factor=0.1, end_factor=0.7,
                                              total_iters=12)),
    "ConstantLR": (lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=4)),
    "PolynomialLR": (lambda L, o: L.PolynomialLR(o, total_iters=20, power=2.0)),
    "OneCycleLR": (lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=STEPS + 1)),
    "OneCycleLR-linear-3phase": (lambda L, o: L.OneCycleLR(
        o, max_lr=[0.5, 2.0], epochs=4, steps_per_epoch=8, anneal_strategy="linear",
        three_phase=True, pct_start=0.25, div_factor=10.0, final_div_factor=100.0)),
    "OneCycleLR-no-momentum": (lambda L, o: L.OneCycleLR(o, max_lr=0.3, total_steps=STEPS,
                                                         cycle_momentum=False)),
    "CyclicLR": (lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4)),
    "CyclicLR-triangular2": (lambda L, o: L.CyclicLR(o, 0.01, [0.1, 0.2], step_size_up=3,
                                                     step_size_down=5, mode="triangular2")),
    "CyclicLR-exp_range": (lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=5,
                                                   mode="exp_range", gamma=0.95)),
    "CosineAnnealingWarmRestarts": (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5,
                                                                               T_mult=2)),
    "SequentialLR": (lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.2, total_iters=5), L.ExponentialLR(o, gamma=0.8)],
        milestones=[6])),
    "ChainedScheduler": (lambda L, o: L.ChainedScheduler(
        [L.ConstantLR(o, factor=0.5, total_iters=3), L.ExponentialLR(o, gamma=0.9)])),
}

ADAM_OK = {"OneCycleLR", "OneCycleLR-linear-3phase", "CyclicLR", "StepLR", "CosineAnnealingLR"}


def _trace(lib, name, opt_name="SGD", steps=STEPS, resume_at=None):
    """Learning rates, momenta and get_last_lr after construction and every step. With
    `resume_at`, the optimizer and scheduler are rebuilt from their state_dicts at that step."""
    opt = _optimizer(lib, opt_name)
    L = _sched_module(lib)
    sched = SCHEDULERS[name](L, opt)
    out = []

    def record():
        groups = opt.param_groups
        out.append((list(sched.get_last_lr()), [g["lr"] for g in groups],
                    [g.get("momentum", g.get("betas")) for g in groups]))

    record()
    for k in range(steps):
        opt.step()
        sched.step()
        record()
        if resume_at == k:
            opt_sd = copy.deepcopy(opt.state_dict())
            sched_sd = copy.deepcopy(sched.state_dict())
            opt = _optimizer(lib, opt_name)
            sched = SCHEDULERS[name](L, opt)
            opt.load_state_dict(opt_sd)
            sched.load_state_dict(sched_sd)
    return out, sched


def _same(a, b) -> bool:
    """Recursive equality, floats to 1e-12 relative (the sequences are computed identically)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
    return a == b


def _assert_same_trace(a, b):
    assert len(a) == len(b)
    for k, (x, y) in enumerate(zip(a, b)):
        assert _same(x, y), (k, x, y)


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_sequence_matches_torch(torch, name):
    e, _ = _trace("ember", name)
    t, _ = _trace("torch", name)
    _assert_same_trace(e, t)


@pytest.mark.parametrize("name", sorted(ADAM_OK))
def test_sequence_matches_torch_adam(torch, name):
    """With Adam, momentum cycling drives betas[0]."""
    e, _ = _trace("ember", name, "Adam")
    t, _ = _trace("torch", name, "Adam")
    _assert_same_trace(e, t)


def _plain(value):
    """State-dict values made comparable across frameworks (functions and classes dropped)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if callable(value):
        return "<callable>"
    return value


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_state_dict_and_round_trip(torch, name):
    e_full, e_sched = _trace("ember", name)
    t_full, t_sched = _trace("torch", name)
    e_sd, t_sd = _plain(e_sched.state_dict()), _plain(t_sched.state_dict())
    assert _same(e_sd, t_sd), (e_sd, t_sd)
    resumed, _ = _trace("ember", name, resume_at=STEPS // 2)
    _assert_same_trace(resumed, e_full)


def test_state_dict_values(torch):
    for name in ("StepLR", "MultiStepLR", "CosineAnnealingLR", "LinearLR", "OneCycleLR",
                 "LambdaLR-list"):
        _, e_sched = _trace("ember", name, steps=5)
        _, t_sched = _trace("torch", name, steps=5)
        assert _same(_plain(e_sched.state_dict()), _plain(t_sched.state_dict())), name


def test_initial_lr_and_base_lrs(torch):
    for lib in ("ember", "torch"):
        opt = _optimizer(lib)
        sched = _sched_module(lib).StepLR(opt, 3)
        assert sched.base_lrs == [0.1, 0.05]
        assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
        assert sched.last_epoch == 0 and sched.get_last_lr() == [0.1, 0.05]


def _plateau_trace(lib, metrics, **kw):
    opt = _optimizer(lib)
    sched = _sched_module(lib).ReduceLROnPlateau(opt, **kw)
    out = []
    for m in metrics:
        opt.step()
        sched.step(m)
        out.append((sched.get_last_lr(), sched.num_bad_epochs, sched.cooldown_counter,
                    sched.best, sched.last_epoch))
    return out, sched


PLATEAU_CASES = [
    dict(),
    dict(patience=2),
    dict(mode="max", patience=1, factor=0.5),
    dict(patience=1, threshold=0.1, threshold_mode="abs", cooldown=2),
    dict(mode="max", patience=0, threshold=0.05, threshold_mode="abs", min_lr=[0.01, 0.02]),
    dict(patience=0, factor=0.5, min_lr=0.02, eps=1e-3),
    dict(patience=1, cooldown=1, threshold=0.0),
]


@pytest.mark.parametrize("kw", PLATEAU_CASES, ids=[str(k) for k in PLATEAU_CASES])
def test_reduce_lr_on_plateau(torch, kw):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.97, 0.8, 0.81, 0.80, 0.82, 0.9, 0.7, 0.7, 0.7, 0.71,
               0.72, 0.73, 0.5, 0.6, 0.6, 0.6, 0.61, 0.62, 0.4, 0.45, 0.45, 0.45, 0.45, 0.45,
               0.45, 0.45]
    e, e_sched = _plateau_trace("ember", metrics, **kw)
    t, t_sched = _plateau_trace("torch", metrics, **kw)
    assert e == t
    assert e_sched.state_dict() == t_sched.state_dict()
    # round trip: a fresh scheduler loaded halfway continues identically
    opt = _optimizer("ember")
    sched = eoptim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    for m in metrics[:15]:
        sched.step(m)
    sd = copy.deepcopy(sched.state_dict())
    opt_sd = copy.deepcopy(opt.state_dict())
    opt2 = _optimizer("ember")
    opt2.load_state_dict(opt_sd)
    sched2 = eoptim.lr_scheduler.ReduceLROnPlateau(opt2)
    sched2.load_state_dict(sd)
    for m in metrics[15:]:
        sched.step(m)
        sched2.step(m)
        assert sched2.get_last_lr() == sched.get_last_lr()


def test_reduce_lr_on_plateau_tensor_metric(torch):
    opt = _optimizer("ember")
    sched = eoptim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    sched.step(ember.tensor(1.0))
    sched.step(ember.tensor(2.0))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.005])


def test_epoch_argument_closed_form(torch):
    """The deprecated `step(epoch)` uses the closed form, warning as torch does."""
    for name, build in (("StepLR", lambda L, o: L.StepLR(o, 3, 0.5)),
                        ("CosineAnnealingLR", lambda L, o: L.CosineAnnealingLR(o, 10)),
                        ("MultiStepLR", lambda L, o: L.MultiStepLR(o, [2, 5], 0.5))):
        seqs = []
        for lib in ("ember", "torch"):
            opt = _optimizer(lib)
            sched = build(_sched_module(lib), opt)
            seq = []
            for epoch in (3, 7, 1, 12):
                opt.step()
                with pytest.warns(UserWarning, match="epoch parameter"):
                    sched.step(epoch)
                seq.append(sched.get_last_lr())
            seqs.append(seq)
        assert _same(seqs[0], seqs[1]), name


def test_step_order_warning(torch):
    opt = _optimizer("ember")
    sched = eoptim.lr_scheduler.StepLR(opt, 3)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt = _optimizer("ember")
    sched = eoptim.lr_scheduler.StepLR(opt, 3)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


def _same_error(torch, fe, ft):
    with pytest.raises(Exception) as te:
        ft()
    with pytest.raises(Exception) as ee:
        fe()
    assert type(ee.value) is type(te.value), (ee.value, te.value)
    assert str(ee.value) == str(te.value)


BAD = {
    "not-optimizer": lambda L, o: L.StepLR(3, 3),
    "resume-without-initial_lr": lambda L, o: L.StepLR(o, 3, last_epoch=3),
    "linear-start": lambda L, o: L.LinearLR(o, start_factor=0),
    "linear-end": lambda L, o: L.LinearLR(o, end_factor=2),
    "constant-factor": lambda L, o: L.ConstantLR(o, factor=2),
    "plateau-factor": lambda L, o: L.ReduceLROnPlateau(o, factor=1.0),
    "plateau-mode": lambda L, o: L.ReduceLROnPlateau(o, mode="avg"),
    "plateau-threshold-mode": lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="x"),
    "plateau-min_lr": lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0, 1, 2]),
    "onecycle-no-steps": lambda L, o: L.OneCycleLR(o, 0.1),
    "onecycle-total": lambda L, o: L.OneCycleLR(o, 0.1, total_steps=0),
    "onecycle-epochs": lambda L, o: L.OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=3),
    "onecycle-pct": lambda L, o: L.OneCycleLR(o, 0.1, total_steps=10, pct_start=1),
    "onecycle-anneal": lambda L, o: L.OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="x"),
    "onecycle-max_lr": lambda L, o: L.OneCycleLR(o, [0.1, 0.2, 0.3], total_steps=10),
    "lambda-count": lambda L, o: L.LambdaLR(o, [lambda e: 1]),
    "multiplicative-callable": lambda L, o: L.MultiplicativeLR(o, 3),
    "cyclic-mode": lambda L, o: L.CyclicLR(o, 0.1, 1.0, mode="x"),
    "warm-T0": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0),
    "sequential-milestones": lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2)], milestones=[3]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_argument_errors(torch, case):
    _same_error(torch, lambda: BAD[case](_sched_module("ember"), _optimizer("ember")),
                lambda: BAD[case](_sched_module("torch"), _optimizer("torch")))


def test_cycle_momentum_needs_momentum(torch):
    _same_error(torch,
                lambda: eoptim.lr_scheduler.OneCycleLR(
                    eoptim.Adagrad([ember.zeros(2, requires_grad=True)]), 0.1, total_steps=5),
                lambda: torch.optim.lr_scheduler.OneCycleLR(
                    torch.optim.Adagrad([torch.zeros(2, requires_grad=True)]), 0.1,
                    total_steps=5))


def test_onecycle_too_many_steps(torch):
    for lib in ("ember", "torch"):
        opt = _optimizer(lib)
        sched = _sched_module(lib).OneCycleLR(opt, 0.1, total_steps=3)
        for _ in range(3):
            opt.step()
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            sched.step()


def test_cosine_annealing_passes_t_max_like_torch(torch):
    """Beyond T_max the recursive formula climbs back up, as torch's does."""
    seqs = []
    for lib in ("ember", "torch"):
        opt = _optimizer(lib)
        sched = _sched_module(lib).CosineAnnealingLR(opt, T_max=4, eta_min=0.001)
        seq = []
        for _ in range(20):
            opt.step()
            sched.step()
            seq.append(opt.param_groups[0]["lr"])
        seqs.append(seq)
    assert seqs[0] == pytest.approx(seqs[1], rel=1e-12)
    assert min(seqs[0]) == pytest.approx(0.001) and seqs[0][7] > 0.05


def test_scheduler_drives_optimizer_updates(torch):
    """The lr a scheduler writes is the one the next optimizer step uses."""
    import numpy as np
    results = []
    for lib in ("ember", "torch"):
        mod = ember if lib == "ember" else torch
        optim = eoptim if lib == "ember" else torch.optim
        p = mod.ones(3, requires_grad=True)
        opt = optim.SGD([p], lr=1.0)
        sched = _sched_module(lib).StepLR(opt, step_size=2, gamma=0.1)
        for _ in range(5):
            p.grad = mod.ones(3)
            opt.step()
            sched.step()
        results.append(p.detach().numpy().copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)
