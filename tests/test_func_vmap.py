"""ember.func.vmap against torch.func.vmap: per-sample gradients (vmap of grad over
functional_call), in_dims / out_dims (negative, None, pytrees), the errors, randomness modes."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from helpers import assert_close, same_error

RNG = np.random.default_rng(59)
X = RNG.standard_normal((6, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 6)


def _per_sample_grads(fw):
    from importlib import import_module
    func = import_module(fw.__name__ + ".func")
    fw.manual_seed(0)
    model = fw.nn.Sequential(fw.nn.Linear(4, 5), fw.nn.Tanh(), fw.nn.Linear(5, 3))
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(p, x, y):
        out = func.functional_call(model, p, (x.unsqueeze(0),))
        return fw.nn.functional.cross_entropy(out, y.unsqueeze(0))

    grads = func.vmap(func.grad(loss), in_dims=(None, 0, 0))(params, fw.tensor(X), fw.tensor(Y))
    return [grads[k] for k in sorted(grads)]


def test_per_sample_gradients_match_torch(torch):
    for e, t in zip(_per_sample_grads(ember), _per_sample_grads(torch)):
        assert tuple(e.shape)[0] == 6
        assert_close(e, t, rtol=1e-5, atol=1e-6)


CASES = {
    "basic": lambda m, f: f(lambda x: x.sin() * 2)(m.tensor(X)),
    "in_dim1": lambda m, f: f(lambda x: x.sum(), in_dims=1)(m.tensor(X)),
    "neg_in_dim": lambda m, f: f(lambda x: x * 3, in_dims=-1)(m.tensor(X)),
    "none_in_dim": lambda m, f: f(lambda x, w: x @ w, in_dims=(0, None))(m.tensor(X),
                                                                        m.tensor(X.T)),
    "out_dims": lambda m, f: f(lambda x: (x * 2, x.sum()), out_dims=(1, 0))(m.tensor(X)),
    "neg_out_dim": lambda m, f: f(lambda x: x.exp(), out_dims=-1)(m.tensor(X)),
    "dict_in": lambda m, f: f(lambda d: d["a"] * d["b"])({"a": m.tensor(X),
                                                        "b": m.tensor(X[::-1].copy())}),
    "nested": lambda m, f: f(f(lambda x: x.sum()))(m.tensor(X)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_values_match_torch(torch, name):
    import torch.func  # noqa: F401
    got, want = CASES[name](ember, ember.func.vmap), CASES[name](torch, torch.func.vmap)
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    for e, t in zip(got, want):
        assert_close(e, t)


def test_errors_and_randomness_like_torch(torch):
    import torch.func  # noqa: F401
    for call in (lambda m: m.func.vmap(lambda x: x * 2, in_dims=(None,))(m.ones(3)),
                 lambda m: m.func.vmap(lambda x, y: x + y)(m.ones(3), m.ones(4)),
                 lambda m: m.func.vmap(lambda x: x, in_dims=1)(m.ones(3)),
                 lambda m: m.func.vmap(lambda x: m.rand(2) * x)(m.ones(3))):
        same_error(torch, lambda: call(ember), lambda: call(torch))
    same = ember.func.vmap(lambda x: ember.rand(2) * x, randomness="same")(ember.ones(3))
    assert (same == same[0]).all()
    diff = ember.func.vmap(lambda x: ember.rand(2) * x, randomness="different")(ember.ones(3))
    assert not (diff == diff[0]).all()
