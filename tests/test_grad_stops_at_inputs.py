"""autograd.grad(outputs, inputs) with non-leaf inputs: the gradient flowing into each input is
captured and the input's own node (and what lies below it) is not run (torch's engine does not
execute a node nothing needs), unless a deeper input or a hook needs it. Values against torch."""
from __future__ import annotations

import numpy as np

import ember
from helpers import assert_close

RNG = np.random.default_rng(3)
X = RNG.standard_normal((4, 5))  # float64: the comparison is about the flow, not rounding


def _counting(fw, calls):
    class Twice(fw.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            return g * 2
    return Twice


def _graph(fw, calls):
    x = fw.tensor(X, requires_grad=True)
    a = (x.tanh() * 3).relu()
    h = _counting(fw, calls).apply(a)  # the hidden input: its own node must not run
    out = (h.sin() * h).sum()
    return x, a, h, out


def test_grad_of_hidden_does_not_run_its_own_node(torch):
    results = {}
    for fw in (torch, ember):
        calls = []
        x, a, h, out = _graph(fw, calls)
        gh, = fw.autograd.grad(out, h)
        results[fw.__name__] = gh
        assert calls == []  # h's own node never ran
        assert x.grad is None
    assert_close(results["ember"], results["torch"])


def test_a_deeper_input_still_runs_the_nodes_between(torch):
    results = {}
    for fw in (torch, ember):
        calls = []
        x, a, h, out = _graph(fw, calls)
        gh, gx = fw.autograd.grad(out, (h, x))
        results[fw.__name__] = (gh, gx)
        assert calls == [1]
    assert_close(results["ember"][0], results["torch"][0])
    assert_close(results["ember"][1], results["torch"][1])


def test_hooks_on_the_captured_tensor_still_run_and_backward_after_is_whole(torch):
    for fw in (torch, ember):
        calls, seen = [], []
        x, a, h, out = _graph(fw, calls)
        h.register_hook(lambda g: seen.append(g.shape) or g * 10)
        gh, = fw.autograd.grad(out, h, retain_graph=True)
        assert seen == [h.shape] and calls == []
        out.backward()  # the graph is intact: the whole backward now runs
        assert calls == [1] and x.grad is not None
    # the hook's x10 reached the captured gradient in both
    xe, _, he, oe = _graph(ember, [])
    ge, = ember.autograd.grad(oe, he)
    assert float(ge.abs().sum()) > 0


def test_intermediate_of_a_network_matches_torch(torch):
    x_np = RNG.standard_normal((8, 6)).astype(np.float32)
    grads = {}
    for fw in (torch, ember):
        fw.manual_seed(0)
        net = fw.nn.Sequential(fw.nn.Linear(6, 7), fw.nn.ReLU(), fw.nn.Linear(7, 3))
        hidden = net[1](net[0](fw.tensor(x_np)))
        loss = net[2](hidden).pow(2).mean()
        grads[fw.__name__] = fw.autograd.grad(loss, hidden)[0]
        assert net[0].weight.grad is None
    assert_close(grads["ember"], grads["torch"])
