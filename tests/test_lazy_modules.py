"""Lazy modules against torch: UninitializedParameter placeholders, shapes inferred at the first
forward (with torch's initial values for the same seed), the switch to the eager class, repr,
state_dict before and after, load_state_dict materialisation, errors."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
from helpers import assert_close, same_error

CASES = [
    ("LazyLinear", (3,), {}, (4, 5)),
    ("LazyLinear", (3,), {"bias": False}, (2, 4, 5)),
    ("LazyConv1d", (4, 3), {"groups": 2, "padding": 1}, (2, 6, 9)),
    ("LazyConv1d", (4, 3), {}, (6, 9)),  # unbatched
    ("LazyConv2d", (4, 3), {"stride": 2, "bias": False}, (2, 3, 8, 8)),
    ("LazyConv2d", (6, (3, 2)), {"dilation": 2, "padding_mode": "reflect", "padding": 2},
     (1, 2, 9, 7)),
    ("LazyConvTranspose1d", (4, 3), {"stride": 2, "output_padding": 1}, (2, 3, 5)),
    ("LazyConvTranspose2d", (4, 3), {"stride": 2, "groups": 2}, (2, 4, 5, 5)),
    ("LazyConv3d", (4, 3), {"padding": 1}, (2, 3, 4, 5, 5)),
    ("LazyConvTranspose3d", (4, 2), {"stride": 2}, (2, 3, 3, 3, 3)),
    ("LazyBatchNorm1d", (), {}, (8, 5)),
    ("LazyBatchNorm1d", (), {"affine": False, "momentum": None}, (8, 5, 3)),
    ("LazyBatchNorm2d", (), {"track_running_stats": False}, (4, 3, 5, 5)),
    ("LazyInstanceNorm1d", (), {}, (4, 3, 6)),
    ("LazyInstanceNorm2d", (), {"affine": False, "track_running_stats": False}, (2, 3, 5, 5)),
    ("LazyBatchNorm3d", (), {"eps": 1e-3}, (2, 3, 2, 3, 4)),
    ("LazyInstanceNorm3d", (), {}, (2, 3, 2, 3, 4)),
]


def _state(m):
    return {k: (type(v).__name__, None if "Uninitialized" in type(v).__name__ else
                v.detach().numpy().copy()) for k, v in m.state_dict().items()}


@pytest.mark.parametrize("name,args,kw,shape", CASES)
def test_lazy_module_matches_torch(torch, name, args, kw, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    runs = []
    for lib in (torch, ember):
        lib.manual_seed(7)
        m = getattr(lib.nn, name)(*args, **kw)
        before = (repr(m), type(m).__name__, _state(m), m.has_uninitialized_params(),
                  [(n, repr(p)) for n, p in m.named_parameters()])
        out = m(lib.tensor(x))
        after = (repr(m), type(m).__name__, _state(m), hasattr(m, "has_uninitialized_params"))
        runs.append((before, after, out, m))
    (tb, ta, to, tm), (eb, ea, eo, em) = runs
    assert eb[0] == tb[0] and eb[1] == tb[1] and eb[3] == tb[3] and eb[4] == tb[4]
    assert {k: v[0] for k, v in eb[2].items()} == {k: v[0] for k, v in tb[2].items()}
    assert ea[0] == ta[0] and ea[1] == ta[1] and ea[3] == ta[3]
    assert list(ea[2]) == list(ta[2])
    for k in ta[2]:  # the initial values torch draws for the same seed
        assert ea[2][k][0] == ta[2][k][0]
        np.testing.assert_allclose(ea[2][k][1], ta[2][k][1], rtol=1e-5, atol=1e-6)
    assert_close(eo, to, rtol=1e-4, atol=1e-5)
    assert type(em).__name__ == type(tm).__name__ == name[4:]


def test_uninitialized_parameter_surface(torch):
    for lib in (torch, ember):
        p = lib.nn.UninitializedParameter()
        assert repr(p) == "<UninitializedParameter>" and p.requires_grad
        assert isinstance(p, lib.nn.Parameter)
        assert lib.nn.parameter.is_lazy(p)
        b = lib.nn.UninitializedBuffer()
        assert repr(b) == "<UninitializedBuffer>" and not b.requires_grad
        p.materialize((2, 3))
        assert type(p) is lib.nn.Parameter and tuple(p.shape) == (2, 3) and p.requires_grad
        b.materialize((4,), dtype=lib.float64)
        assert type(b) is lib.Tensor and b.dtype == lib.float64
    ee, te = same_error(torch, lambda: ember.nn.UninitializedParameter().shape,
                        lambda: torch.nn.UninitializedParameter().shape)
    assert str(ee) == str(te)


def test_load_state_dict_materialises(torch):
    sd = ember.nn.Conv2d(3, 4, 3).state_dict()
    m = ember.nn.LazyConv2d(4, 3)
    m.load_state_dict(sd)
    tm = torch.nn.LazyConv2d(4, 3)
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.items()})
    assert type(m).__name__ == type(tm).__name__ == "LazyConv2d"
    assert repr(m) == repr(tm) and not m.has_uninitialized_params()
    np.testing.assert_array_equal(m.weight.detach().numpy(), sd["weight"].numpy())
    x = np.random.default_rng(1).standard_normal((1, 3, 6, 6)).astype(np.float32)
    assert_close(m(ember.tensor(x)), tm(torch.tensor(x)), rtol=1e-4, atol=1e-5)
    assert type(m).__name__ == type(tm).__name__ == "Conv2d"
    assert repr(m) == repr(tm)  # in_channels stays 0, as torch's


def test_lazy_model_trains_like_torch(torch):
    """A lazy CNN (the usual use): first batch infers the shapes, then SGD steps."""
    x = np.random.default_rng(2).standard_normal((4, 3, 8, 8)).astype(np.float32)
    y = np.array([0, 1, 2, 1])
    losses = []
    for lib in (torch, ember):
        lib.manual_seed(3)
        nn = lib.nn
        model = nn.Sequential(nn.LazyConv2d(6, 3), nn.LazyBatchNorm2d(), nn.ReLU(),
                              nn.Flatten(), nn.LazyLinear(3))
        model(lib.tensor(x))
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        run = []
        for _ in range(3):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses.append((run, repr(model), list(model.state_dict())))
    np.testing.assert_allclose(losses[1][0], losses[0][0], rtol=1e-4)
    assert losses[1][1] == losses[0][1] and losses[1][2] == losses[0][2]


@pytest.mark.parametrize("optim", ["SGD", "Adam", "RMSprop"])
def test_optimizer_made_before_the_first_forward(torch, optim):
    """The optimizer holds the placeholders; materialising keeps them the same objects."""
    x = np.random.default_rng(2).standard_normal((4, 5)).astype(np.float32)
    y = np.array([0, 1, 2, 1])
    runs = []
    for lib in (torch, ember):
        lib.manual_seed(3)
        model = lib.nn.Sequential(lib.nn.LazyLinear(8), lib.nn.ReLU(), lib.nn.LazyLinear(3))
        opt = getattr(lib.optim, optim)(model.parameters(), lr=0.01)
        run = []
        for _ in range(3):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
            run.append(loss.item())
        runs.append(run)
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-5)


def test_deepcopy_before_init_and_errors(torch):
    m = ember.nn.LazyLinear(3)
    c = copy.deepcopy(m)
    assert c.has_uninitialized_params() and repr(c.weight) == "<UninitializedParameter>"
    c(ember.ones(2, 4))
    assert type(c).__name__ == "Linear" and m.has_uninitialized_params()
    for fn in [lambda lib: lib.nn.LazyConv2d(4, 3, groups=2)(lib.ones(1, 3, 5, 5)),
               lambda lib: lib.nn.LazyConv2d(4, 3)(lib.ones(5, 5)),
               lambda lib: lib.nn.LazyInstanceNorm1d()(lib.ones(3, 5))]:
        ee, te = same_error(torch, lambda: fn(ember), lambda: fn(torch))
        assert str(ee).replace("ember", "torch") == str(te)


def test_computing_with_an_uninitialized_parameter_raises_as_torch(torch):
    """An op reached before the first forward raises torch's ValueError (not an empty result)."""
    for make in (lambda lib: lib.nn.parameter.UninitializedParameter() + 1,
                 lambda lib: lib.relu(lib.nn.parameter.UninitializedParameter()),
                 lambda lib: lib.nn.LazyLinear(3).weight.sum(),
                 lambda lib: lib.nn.LazyConv2d(4, 3).weight * 2):
        with pytest.raises(ValueError) as e:
            make(ember)
        with pytest.raises(ValueError) as t:
            make(torch)
        assert str(e.value).split(" in ")[0] == str(t.value).split(" in ")[0]
        assert str(e.value).split(". ", 1)[1] == str(t.value).split(". ", 1)[1]
