"""topk by k arg-max passes (ops/sorting.py, k <= _FEW): torch's values and gradients, indices
that point at those values, ties, infinities and NaN (which fall back to the partition where
passes could go wrong), any dim, float64."""
import numpy as np
import pytest

import ember
from ember.ops import sorting


def _data(shape, seed, special=True):
    x = np.round(np.random.default_rng(seed).standard_normal(shape) * 3)  # many ties
    if special:
        x.flat[:5] = [np.nan, np.inf, -np.inf, 2.0, -np.inf]
    return x


@pytest.mark.parametrize("shape,k,dim", [((64, 300), 5, 1), ((50, 7), 3, 0), ((4, 20), 12, -1),
                                         ((3, 30), 2, 1), ((6, 5, 40), 4, 2), ((9, 13), 1, 1)])
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("special", [True, False])
def test_values_indices_gradients(torch, shape, k, dim, largest, dtype, special):
    x = _data(shape, k + len(shape), special).astype(dtype)
    g = np.random.default_rng(0).standard_normal(
        tuple(k if d == dim % len(shape) else s for d, s in enumerate(shape))).astype(dtype)
    res = []
    for m in (ember, torch):
        t = m.tensor(x, requires_grad=True)
        v, i = t.topk(k, dim=dim, largest=largest)
        v.backward(m.tensor(g))
        res.append((v.detach().numpy(), i.numpy(), t.grad.numpy()))
    (ve, ie, ge), (vt, it, gt) = res
    np.testing.assert_array_equal(ve, vt)  # NaN equal to NaN
    assert ie.dtype == np.int64
    np.testing.assert_array_equal(np.take_along_axis(x, ie, axis=dim), ve)
    if not special:  # without ties among infinities the gradients land where torch's do
        np.testing.assert_array_equal(np.sort(ge, axis=None), np.sort(gt, axis=None))


def test_rows_of_infinities_fall_back(torch):
    x = np.full((3, 10), -np.inf, np.float32)
    x[1, 4] = 1.0
    assert sorting._topk_by_passes(x, 3, 1, True) is None  # a set -inf could be picked again
    v, i = ember.tensor(x).topk(3, dim=1)
    np.testing.assert_array_equal(v.numpy(), torch.tensor(x).topk(3, dim=1)[0].numpy())
    assert all(len(set(r)) == 3 for r in i.numpy().tolist())  # three distinct positions a row
    y = np.array([[1.0, np.nan, 0.5, -2.0]], np.float32)
    assert sorting._topk_by_passes(y, 2, 1, False) is None  # smallest with a NaN: fall back
    np.testing.assert_array_equal(ember.tensor(y).topk(2, largest=False)[0].numpy(),
                                  torch.tensor(y).topk(2, largest=False)[0].numpy())
