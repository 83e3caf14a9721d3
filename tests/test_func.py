"""ember.func.functional_call / nn.utils.stateless.functional_call, func.grad /
grad_and_value against torch.func: MAML through functional_call, tied weights, buffers, strict
key checks, restoring the module after an exception, nested grad, argnums, has_aux."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from helpers import assert_close

X = np.random.default_rng(31).standard_normal((5, 3)).astype(np.float32)


def _net(fw):
    fw.manual_seed(0)
    return fw.nn.Sequential(fw.nn.Linear(3, 4), fw.nn.BatchNorm1d(4), fw.nn.Tanh(),
                            fw.nn.Linear(4, 2))


def _maml(fw, call):
    m = _net(fw)
    x = fw.tensor(X)
    params = dict(m.named_parameters())
    loss = lambda p: call(m, p, (x,)).pow(2).mean()  # noqa: E731
    g = fw.autograd.grad(loss(params), list(params.values()), create_graph=True)
    fast = {k: v - 0.3 * gi for (k, v), gi in zip(params.items(), g)}
    outer = loss(fast)
    outer.backward()
    return [outer] + [p.grad for p in m.parameters()] + [m[1].running_mean]


@pytest.mark.parametrize("where", ["func", "stateless"])
def test_maml_through_functional_call_matches_torch(torch, where):
    def call(fw):
        return fw.func.functional_call if where == "func" else \
            fw.nn.utils.stateless.functional_call
    for e, t in zip(_maml(ember, call(ember)), _maml(torch, call(torch))):
        assert_close(e, t, rtol=1e-5, atol=1e-6)


def test_module_is_restored_buffers_swap_and_tied_weights(torch):
    for fw in (ember, torch):
        m = _net(fw)
        w0 = m[0].weight
        rm = fw.zeros(4) + 5
        out = fw.func.functional_call(m, ({"0.weight": fw.ones(4, 3)}, {"1.running_mean": rm}),
                                      fw.tensor(X[:2]))
        assert m[0].weight is w0 and not isinstance(out, tuple)
        m.eval()
        fw.func.functional_call(m, {"1.running_mean": rm}, (fw.tensor(X[:2]),))
        assert m[1].running_mean is not rm
        with pytest.raises(RuntimeError):
            fw.func.functional_call(m, {"0.weight": fw.ones(7, 7)}, (fw.tensor(X),))
        assert m[0].weight is w0  # put back after the error
        tied = fw.nn.Sequential(fw.nn.Linear(3, 3, bias=False), fw.nn.Linear(3, 3, bias=False))
        tied[1].weight = tied[0].weight
        a = fw.func.functional_call(tied, {"0.weight": fw.eye(3) * 2}, (fw.ones(1, 3),))
        b = fw.func.functional_call(tied, {"0.weight": fw.eye(3) * 2}, (fw.ones(1, 3),),
                                    tie_weights=False)
        assert float(a.sum()) == 12.0 and float(b.sum()) != 12.0


def test_strict_keys_raise_like_torch(torch):
    msgs = []
    for fw in (ember, torch):
        m = fw.nn.Linear(2, 3)
        with pytest.raises(RuntimeError) as e:
            fw.func.functional_call(m, {"weight": fw.ones(3, 2)}, (fw.ones(1, 2),), strict=True)
        msgs.append(str(e.value))
        with pytest.raises(ValueError):
            fw.func.functional_call(m, ({"weight": fw.ones(3, 2)}, {"weight": fw.ones(3, 2)}),
                                    (fw.ones(1, 2),))
    assert msgs[0] == msgs[1]


def test_grad_transforms_match_torch(torch):
    res = []
    for fw in (ember, torch):
        f = lambda t, s: (t.sin() * t * s).sum()  # noqa: E731
        t, s = fw.tensor([0.5, 1.0, -2.0]), fw.tensor(1.5)
        g0 = fw.func.grad(f)(t, s)
        g1 = fw.func.grad(f, argnums=(0, 1))(t, s)
        gg = fw.func.grad(lambda u: fw.func.grad(f)(u, s).sum())(t)
        gv = fw.func.grad_and_value(lambda u: (f(u, s), u.cos()), has_aux=True)(t)
        res.append([g0, g1[0], g1[1], gg, gv[0], gv[1][0], gv[1][1]])
        assert not g0.requires_grad
    for e, t in zip(*res):
        assert_close(e, t)
    with pytest.raises(RuntimeError):
        ember.func.grad(lambda t: t * 2)(ember.ones(3))
