"""The autograd core's fast paths against torch: leaves accumulated straight from the edge that
reaches them (and the hooks that keep them on the queued path), ops of one tensor with options
and of three tensors recorded without the general loop, cross entropy's direct call, small ReLU
and small products, identity hashing."""
import numpy as np
import pytest

import ember
from ember.ops import _gemm


def _acc_node(lib, y):
    return y.grad_fn.next_functions[0][0].next_functions[0][0]


def test_accumulate_grad_node_hooks_match_torch(torch):
    """register_prehook / register_hook on a leaf's AccumulateGrad node run (they were ignored),
    in torch's order, the pre hook's gradient is the one accumulated."""
    seen = {}
    for lib in (torch, ember):
        w = lib.ones(3, requires_grad=True)
        y = (w * 2).sum()
        acc = _acc_node(lib, y)
        log = []
        acc.register_prehook(lambda go: (log.append(("pre", go[0].tolist())), (go[0] * 10,))[1])
        acc.register_hook(lambda gi, go: log.append(("post", len(gi), go[0].tolist(),
                                                      w.grad.tolist())))
        y.backward()
        seen[lib.__name__] = (log, w.grad.tolist())
    assert seen["ember"] == seen["torch"]
    assert seen["ember"][1] == [20.0, 20.0, 20.0]


@pytest.mark.parametrize("case", ["once", "twice", "two_ops", "retain", "post_acc", "root"])
def test_leaf_accumulation_paths_match_torch(torch, case):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 3)).astype(np.float32)
    out = {}
    for lib in (torch, ember):
        w = lib.tensor(a, requires_grad=True)
        calls = []
        if case == "once":
            y = (w * 3).sum()
        elif case == "twice":  # one op uses the leaf twice: one edge per use
            y = (w * w).sum()
        elif case == "two_ops":  # two nodes reach the leaf: the second edge finds a buffer
            y = (w.exp() + w.sin()).sum()
        elif case == "retain":
            h = w * 2
            h.retain_grad()
            y = (h * h).sum()
        elif case == "post_acc":
            w.register_post_accumulate_grad_hook(lambda p: calls.append(p.grad.sum().item()))
            y = (w * 3).sum()
        else:  # the leaf itself is the root
            y = w
        y.backward(lib.ones_like(y) if case == "root" else None)
        y2 = (w * 5).sum()  # a second backward adds into the kept .grad
        y2.backward()
        out[lib.__name__] = (w.grad.numpy().copy(), calls)
    np.testing.assert_allclose(out["ember"][0], out["torch"][0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out["ember"][1], out["torch"][1], rtol=1e-6)


def test_same_tensor_twice_in_three_tensor_and_option_ops_matches_torch(torch):
    rng = np.random.default_rng(1)
    m = rng.standard_normal((3, 3)).astype(np.float32)
    out = {}
    for lib in (torch, ember):
        x = lib.tensor(m, requires_grad=True)
        y = lib.addmm(x, x, x)  # three edges to one leaf
        z = lib.nn.functional.softmax(y, 1)  # one tensor and an option
        (z * lib.arange(3.0)).sum().backward()
        out[lib.__name__] = (y.detach().numpy(), x.grad.numpy())
    for e, t in zip(out["ember"], out["torch"]):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [1, 4])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("ignore", [-100, 2])
def test_cross_entropy_direct_call_matches_torch(torch, n, reduction, ignore):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, 5)).astype(np.float32) * 3
    t = rng.integers(0, 5, n)
    t[0] = 2
    res = {}
    for lib in (torch, ember):
        xi = lib.tensor(x, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(xi, lib.tensor(t), reduction=reduction,
                                               ignore_index=ignore)
        g, = lib.autograd.grad(loss, xi, create_graph=True)
        (g * g).sum().backward()  # the double backward's recomputation
        res[lib.__name__] = (loss.detach().numpy(), g.detach().numpy(), xi.grad.numpy(),
                             loss.grad_fn.name() if hasattr(loss.grad_fn, "name") else
                             type(loss.grad_fn).__name__)
    for e, tt in zip(res["ember"][:3], res["torch"][:3]):
        np.testing.assert_allclose(e, tt, rtol=1e-5, atol=1e-6, equal_nan=True)
    assert res["ember"][3] == res["torch"][3]


@pytest.mark.parametrize("bad", [7, -1])
def test_cross_entropy_direct_call_bad_targets_raise_as_torch(torch, bad):
    x = np.zeros((3, 5), np.float32)
    t = np.array([0, bad, 1])
    errors = {}
    for lib in (torch, ember):
        with pytest.raises(Exception) as e:
            lib.nn.functional.cross_entropy(lib.tensor(x, requires_grad=True), lib.tensor(t))
        errors[lib.__name__] = type(e.value)
    assert errors["ember"] is errors["torch"] is IndexError
    with pytest.raises(ValueError, match="batch_size"):
        ember.nn.functional.cross_entropy(ember.zeros(3, 5), ember.tensor([0, 1]))


@pytest.mark.parametrize("size", [6, 5000])  # the small path and the row-loop path
def test_relu_small_and_large_match_torch(torch, size):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(size).astype(np.float32)
    x[:4] = [-0.0, 0.0, np.nan, -np.inf]
    g = rng.standard_normal(size).astype(np.float32)
    res = {}
    for lib in (torch, ember):
        xi = lib.tensor(x, requires_grad=True)
        y = lib.nn.ReLU()(xi)
        y.backward(lib.tensor(g))
        res[lib.__name__] = (y.detach().numpy(), xi.grad.numpy())
    np.testing.assert_array_equal(res["ember"][0], res["torch"][0])
    np.testing.assert_array_equal(np.signbit(res["ember"][0][:2]), [True, False])
    np.testing.assert_array_equal(res["ember"][1][4:], res["torch"][1][4:])


@pytest.mark.parametrize("m,k,n", [(1, 784, 128), (1, 64, 10), (4, 32, 32), (10, 64, 1)])
def test_small_products_equal_matmul_bit_for_bit(m, k, n):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    np.testing.assert_array_equal(_gemm.gemm(a, w.T), np.matmul(a, w.T))


def test_tensors_hash_by_identity():
    a, b = ember.zeros(2), ember.zeros(2)
    d = {a: 1, b: 2}
    assert d[a] == 1 and d[b] == 2 and hash(a) == hash(a) and len({a, b, a}) == 2
