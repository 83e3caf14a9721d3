"""torch.autograd.functional (vjp, jvp, jacobian, hessian, hvp, vhp) and anomaly detection
(detect_anomaly, set_detect_anomaly, is_anomaly_enabled) against torch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from helpers import assert_close

RNG = np.random.default_rng(43)
A = RNG.standard_normal((3,))
B = RNG.standard_normal((2, 3))
V3 = RNG.standard_normal((3,))
V2 = RNG.standard_normal((2,))


def f_single(x):
    return (x.sin() * x).sum()


def f_vec(x):
    return x.exp() * x[0]


def f_two(x, w):
    return (w @ x).tanh(), (x * x).sum()


CASES = {
    "jacobian_vec": lambda fw, F, a, b: F.jacobian(f_vec, a),
    "jacobian_tuple": lambda fw, F, a, b: F.jacobian(f_two, (a, b)),
    "jacobian_indep": lambda fw, F, a, b: F.jacobian(lambda x, y: x * 2, (a, b)),
    "hessian": lambda fw, F, a, b: F.hessian(f_single, a),
    "hessian_tuple": lambda fw, F, a, b: F.hessian(lambda x, w: (w @ x).pow(3).sum(), (a, b)),
    "vjp": lambda fw, F, a, b: F.vjp(f_vec, a, fw.tensor(V3)),
    "vjp_scalar": lambda fw, F, a, b: F.vjp(f_single, a),
    "jvp": lambda fw, F, a, b: F.jvp(f_vec, a, fw.tensor(V3)),
    "jvp_tuple": lambda fw, F, a, b: F.jvp(f_two, (a, b), (fw.tensor(V3), fw.tensor(B) * 0.5)),
    "hvp": lambda fw, F, a, b: F.hvp(f_single, a, fw.tensor(V3)),
    "vhp": lambda fw, F, a, b: F.vhp(f_single, a, fw.tensor(V3)),
}


def _flatten(x):
    if isinstance(x, (tuple, list)):
        return [y for e in x for y in _flatten(e)]
    return [x]


@pytest.mark.parametrize("name", list(CASES))
def test_functional_matches_torch(torch, name):
    import torch.autograd.functional  # noqa: F401
    got = CASES[name](ember, ember.autograd.functional, ember.tensor(A), ember.tensor(B))
    want = CASES[name](torch, torch.autograd.functional, torch.tensor(A), torch.tensor(B))
    ge, gt = _flatten(got), _flatten(want)
    assert len(ge) == len(gt)
    for e, t in zip(ge, gt):
        assert not e.requires_grad
        assert_close(e, t, rtol=1e-10, atol=1e-12)


def test_create_graph_and_strict(torch):
    res = []
    for fw in (ember, torch):
        import importlib
        F = importlib.import_module(fw.__name__ + ".autograd.functional")
        a = fw.tensor(A, requires_grad=True)
        h = F.hessian(f_single, a, create_graph=True)
        h.sum().backward()
        res.append((h, a.grad))
        with pytest.raises(RuntimeError, match="independent of input 1"):
            F.jacobian(lambda x, y: x * 2, (fw.tensor(A), fw.tensor(B)), strict=True)
    for e, t in zip(*res):
        assert_close(e, t, rtol=1e-10, atol=1e-12)


def test_anomaly_detection_like_torch(torch):
    for fw in (ember, torch):
        msgs = []
        assert not fw.is_anomaly_enabled() and fw.is_anomaly_check_nan_enabled()
        x = fw.tensor([-1.0, 1.0], requires_grad=True)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            with fw.autograd.detect_anomaly():
                assert fw.is_anomaly_enabled()
                with pytest.raises(RuntimeError) as e:
                    x.sqrt().sum().backward()
                msgs.append(str(e.value))
        assert any("Anomaly Detection has been enabled" in str(m.message) for m in w)
        assert not fw.is_anomaly_enabled()
        fw.autograd.set_detect_anomaly(True)
        assert fw.is_anomaly_enabled()
        y = fw.tensor([0.0], requires_grad=True)
        with pytest.raises(RuntimeError) as e:
            ((y * 0).log() * 0).sum().backward()
        msgs.append(str(e.value))
        fw.autograd.set_detect_anomaly(False)
        with fw.autograd.set_detect_anomaly(True, check_nan=False):
            (x.sqrt() * 2).sum().backward()  # no check: passes
        assert not fw.is_anomaly_enabled()
        x.sqrt().sum().backward()  # off again: NaN gradients pass silently
        assert msgs == ["Function 'SqrtBackward0' returned nan values in its 0th output.",
                        "Function 'LogBackward0' returned nan values in its 0th output."]


def test_bad_input_errors_like_torch(torch):
    from helpers import same_error
    import torch.autograd.functional  # noqa: F401
    for call in (lambda m: m.autograd.functional.vjp(f_vec, m.tensor(A)),  # v needed
                 lambda m: m.autograd.functional.jvp(f_vec, m.tensor(A)),
                 lambda m: m.autograd.functional.hessian(f_vec, m.tensor(A)),  # not scalar
                 lambda m: m.autograd.functional.jacobian(f_vec, m.tensor(A), strategy="x"),
                 lambda m: m.autograd.functional.jacobian(f_vec, [1.0])):
        same_error(torch, lambda: call(ember), lambda: call(torch))
