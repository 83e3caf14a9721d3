"""nn.init against torch: gains, fans, the statistics of every initialiser, reproducibility
with manual_seed / generator=, no autograd recording, and torch's errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn as enn
from ember.nn import init
from helpers import same_error


def test_calculate_gain_matches_torch(torch):
    for args in [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",),
                 ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu",)]:
        assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))
    for args in [("foo",), ("leaky_relu", "x"), ("leaky_relu", True)]:
        ee, te = same_error(torch, lambda: init.calculate_gain(*args),
                            lambda: torch.nn.init.calculate_gain(*args))
        assert str(ee) == str(te)


def test_fan_in_fan_out_matches_torch(torch):
    for shape in [(5, 3), (6, 4, 3, 3), (2, 3, 5)]:
        assert init._calculate_fan_in_and_fan_out(ember.empty(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    ee, te = same_error(torch, lambda: init._calculate_fan_in_and_fan_out(ember.empty(3)),
                        lambda: torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(3)))
    assert str(ee) == str(te)
    ee, te = same_error(torch, lambda: init.kaiming_uniform_(ember.empty(3, 3), mode="fan"),
                        lambda: torch.nn.init.kaiming_uniform_(torch.empty(3, 3), mode="fan"))
    assert str(ee) == str(te)


def _stats(a):
    a = np.asarray(a, np.float64)
    return a.min(), a.max(), a.mean(), a.std()


@pytest.mark.parametrize("name,kwargs,lo,hi,std", [
    ("uniform_", {"a": -2.0, "b": 3.0}, -2.0, 3.0, 5 / math.sqrt(12)),
    ("normal_", {"mean": 1.0, "std": 0.5}, None, None, 0.5),
    ("xavier_uniform_", {}, -math.sqrt(6 / 700), math.sqrt(6 / 700), math.sqrt(2 / 700)),
    ("xavier_normal_", {"gain": 2.0}, None, None, 2 * math.sqrt(2 / 700)),
    ("kaiming_uniform_", {}, -math.sqrt(6 / 300), math.sqrt(6 / 300), math.sqrt(2 / 300)),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, -1 / math.sqrt(300), 1 / math.sqrt(300),
     1 / math.sqrt(900)),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, None, None,
     math.sqrt(2 / 400)),
    ("trunc_normal_", {"std": 1.0, "a": -1.0, "b": 2.0}, -1.0, 2.0, None),
])
def test_initialiser_statistics(torch, name, kwargs, lo, hi, std):
    ember.manual_seed(0)
    w = ember.empty(400, 300)
    out = getattr(init, name)(w, **kwargs)
    assert out is w
    mn, mx, mean, sd = _stats(w.numpy())
    t = torch.empty(400, 300)
    getattr(torch.nn.init, name)(t, **kwargs)
    tmn, tmx, tmean, tsd = _stats(t.numpy())
    if lo is not None:
        assert lo <= mn < lo + 0.02 * (hi - lo) and hi - 0.02 * (hi - lo) < mx <= hi
    if std is not None:
        assert sd == pytest.approx(std, rel=0.02)
    assert sd == pytest.approx(tsd, rel=0.03)
    assert abs(mean - tmean) < 0.02 * max(tsd, 1e-3) + 0.01 * abs(tmean) + 1e-3 * 3


def test_constant_ones_zeros_eye_dirac_orthogonal(torch):
    w = ember.empty(3, 4)
    assert (init.constant_(w, 2.5).numpy() == 2.5).all()
    assert (init.ones_(w).numpy() == 1).all() and (init.zeros_(w).numpy() == 0).all()
    np.testing.assert_array_equal(init.eye_(w).numpy(), np.eye(3, 4))
    t = torch.empty(4, 2, 3, 3)
    e = ember.empty(4, 2, 3, 3)
    np.testing.assert_array_equal(init.dirac_(e).numpy(), torch.nn.init.dirac_(t).numpy())
    q = init.orthogonal_(ember.empty(6, 4), gain=2.0).numpy()
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(4), atol=1e-5)
    q = init.orthogonal_(ember.empty(3, 8)).numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(3), atol=1e-5)
    ee, te = same_error(torch, lambda: init.eye_(ember.empty(2, 2, 2)),
                        lambda: torch.nn.init.eye_(torch.empty(2, 2, 2)))
    assert str(ee) == str(te)


def test_init_of_parameters_records_nothing_and_bumps_version():
    m = enn.Linear(4, 3)
    v = m.weight._version
    init.normal_(m.weight)
    init.zeros_(m.bias)
    assert m.weight.is_leaf and m.weight.grad_fn is None and m.weight.requires_grad
    assert m.weight._version > v
    assert (m.bias.numpy(force=True) == 0).all()


def test_reproducible_with_manual_seed_and_generator():
    ember.manual_seed(5)
    a = enn.Linear(10, 5).weight.detach().numpy().copy()
    ember.manual_seed(5)
    b = enn.Linear(10, 5).weight.detach().numpy().copy()
    np.testing.assert_array_equal(a, b)
    g1, g2 = ember.Generator().manual_seed(1), ember.Generator().manual_seed(1)
    x, y = ember.empty(20), ember.empty(20)
    init.uniform_(x, generator=g1)
    init.uniform_(y, generator=g2)
    assert ember.equal(x, y)
    init.kaiming_normal_(ember.empty(3, 3), generator=g1)


def test_zero_element_kaiming_warns(torch):
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(ember.empty(0, 3))


def test_deprecated_aliases_warn():
    with pytest.warns(FutureWarning, match="nn.init.normal_"):
        init.normal(ember.empty(2, 2))
