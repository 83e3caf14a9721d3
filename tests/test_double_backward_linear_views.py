"""Double backward (create_graph=True) of ops whose first backward is a fixed linear map or used
a saved constant: std_mean (the std was a constant: half the second derivative), Tensor.unfold
as_strided and max_unpool2d (the gradient had no graph: silently zero second derivatives), embedding (was
once-differentiable). Against torch in float64."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from helpers import assert_close

X = np.random.default_rng(29).standard_normal((3, 4, 5))

CASES = {
    "std_mean": lambda fw, x: fw.std_mean(x, 1)[0],
    "std_mean_keepdim": lambda fw, x: fw.std_mean(x, (0, 2), correction=0, keepdim=True)[0],
    "std_mean_both": lambda fw, x: fw.std_mean(x, 2)[0] * fw.std_mean(x, 2)[1],
    "unfold": lambda fw, x: x.unfold(2, 2, 1),
    "unfold_step": lambda fw, x: x.unfold(1, 2, 2),
    "as_strided": lambda fw, x: x.as_strided((2, 3), (1, 2), 1),
    "embedding": lambda fw, x: fw.nn.functional.embedding(fw.tensor([[0, 2, 2], [3, 2, 1]]),
                                                          x[0]),
    "embedding_pad": lambda fw, x: fw.nn.functional.embedding(
        fw.tensor([[0, 2, 2], [3, 2, 1]]), x[0], padding_idx=2),
    "max_unpool": lambda fw, x: fw.nn.functional.max_unpool2d(
        *fw.nn.functional.max_pool2d(x[None, :, :4, :4], 2, return_indices=True), 2),
}


@pytest.mark.parametrize("name", list(CASES))
def test_double_backward_matches_torch(torch, name):
    res = []
    for fw in (ember, torch):
        x = fw.tensor(X, requires_grad=True)
        y = CASES[name](fw, x)
        g, = fw.autograd.grad((y * y * y).sum(), x, create_graph=True)
        assert g.requires_grad
        (g * g).sum().backward()
        res.append((g, x.grad))
    for e, t in zip(*res):
        assert_close(e, t, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", ["std_mean", "unfold", "as_strided", "embedding"])
def test_gradgradcheck(name):
    x = ember.tensor(X, requires_grad=True)

    def f(x):
        y = CASES[name](ember, x)
        g, = ember.autograd.grad((y * y * y).sum(), x, create_graph=True)
        return (g * g).sum()

    assert gradcheck(f, (x,))
