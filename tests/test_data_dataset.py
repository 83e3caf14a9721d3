"""ember.utils.data datasets, samplers, random_split and collate against torch.utils.data."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import ember
import ember.utils.data as ED
from helpers import same_error


def both(torch, fn):
    """fn(module, data_module) on torch and on ember from the same seed."""
    import torch.utils.data as TD
    torch.manual_seed(0)
    ember.manual_seed(0)
    return fn(torch, TD), fn(ember, ED)


def as_lists(x):
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, (list, tuple)):
        return [as_lists(v) for v in x]
    return x


# ---- datasets --------------------------------------------------------------------------------
def test_tensor_dataset(torch):
    t, e = both(torch, lambda m, D: D.TensorDataset(m.arange(6).reshape(3, 2), m.arange(3)))
    assert len(t) == len(e) == 3
    assert as_lists(e[1]) == as_lists(t[1]) == [[2, 3], 1]
    same_error(torch, lambda: ED.TensorDataset(ember.zeros(2), ember.zeros(3)),
               lambda: torch.utils.data.TensorDataset(torch.zeros(2), torch.zeros(3)))


def test_concat_and_subset(torch):
    def make(m, D):
        a = D.TensorDataset(m.arange(3))
        b = D.TensorDataset(m.arange(10, 15))
        c = a + b
        s = D.Subset(c, [7, 0, 3])
        return (len(c), c.cumulative_sizes, [int(c[i][0]) for i in range(-8, 8)],
                len(s), [int(s[i][0]) for i in range(3)])
    t, e = both(torch, make)
    assert t == e
    same_error(torch, lambda: ED.ConcatDataset([ED.TensorDataset(ember.arange(3))])[-4],
               lambda: torch.utils.data.ConcatDataset(
                   [torch.utils.data.TensorDataset(torch.arange(3))])[-4])
    with pytest.raises(AssertionError, match="empty iterable"):
        ED.ConcatDataset([])


def test_subset_getitems_forwards_batches():
    class Batched(ED.Dataset):
        calls = []

        def __getitem__(self, i):
            return i

        def __getitems__(self, idx):
            self.calls.append(list(idx))
            return [i * 10 for i in idx]

        def __len__(self):
            return 10
    s = ED.Subset(Batched(), [9, 8, 7, 6])
    assert s.__getitems__([0, 2]) == [90, 70]
    assert Batched.calls == [[9, 7]]
    assert ED.Subset(list(range(5)), [4, 1]).__getitems__([0, 1]) == [4, 1]


def test_dataset_base_errors(torch):
    same_error(torch, lambda: ED.Dataset()[0], lambda: torch.utils.data.Dataset()[0])
    with pytest.raises(TypeError):
        ED.IterableDataset()  # abstract: __iter__ is required, as in torch


def test_random_split(torch):
    t, e = both(torch, lambda m, D: [s.indices for s in D.random_split(range(10), [0.3, 0.7])])
    assert t == e
    t, e = both(torch, lambda m, D: [s.indices for s in D.random_split(
        range(11), [0.5, 0.25, 0.25], generator=m.Generator().manual_seed(42))])
    assert t == e and [len(s) for s in e] == [6, 3, 2]
    t, e = both(torch, lambda m, D: [s.indices for s in D.random_split(range(10), [4, 6])])
    assert t == e
    same_error(torch, lambda: ED.random_split(range(10), [3, 3]),
               lambda: torch.utils.data.random_split(range(10), [3, 3]))


# ---- samplers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"replacement": True}, {"num_samples": 25},
                                {"replacement": True, "num_samples": 70}])
def test_random_sampler_matches_torch(torch, kw):
    t, e = both(torch, lambda m, D: [list(D.RandomSampler(range(10), **kw)) for _ in range(2)])
    assert t == e
    assert len(ED.RandomSampler(range(10), **kw)) == len(
        torch.utils.data.RandomSampler(range(10), **kw))


def test_random_sampler_with_generator(torch):
    t, e = both(torch, lambda m, D: list(D.RandomSampler(
        range(20), generator=m.Generator().manual_seed(7))))
    assert t == e and sorted(e) == list(range(20))


def test_random_sampler_consumes_default_generator_like_torch(torch):
    # after iterating, the default generator is in the same state as torch's
    t, e = both(torch, lambda m, D: (list(D.RandomSampler(range(5))), m.rand(3).tolist()))
    assert t == e


def test_sampler_argument_errors(torch):
    import torch.utils.data as TD
    for args in [dict(replacement=1), dict(num_samples=0)]:
        same_error(torch, lambda: ED.RandomSampler(range(3), **args),
                   lambda: TD.RandomSampler(range(3), **args))
    for args in [(range(3), 0, False), (range(3), 2, 1), (range(3), True, False)]:
        te, tt = same_error(torch, lambda: ED.BatchSampler(*args), lambda: TD.BatchSampler(*args))
        assert str(te) == str(tt)
    same_error(torch, lambda: ED.WeightedRandomSampler([1.0, 2.0], 0),
               lambda: TD.WeightedRandomSampler([1.0, 2.0], 0))
    same_error(torch, lambda: ED.WeightedRandomSampler([[1.0, 2.0]], 2),
               lambda: TD.WeightedRandomSampler([[1.0, 2.0]], 2))


def test_sequential_subset_and_batch_samplers(torch):
    t, e = both(torch, lambda m, D: (
        list(D.SequentialSampler(range(4))),
        list(D.SubsetRandomSampler([5, 7, 9, 11])),
        list(D.BatchSampler(D.SequentialSampler(range(10)), 3, False)),
        list(D.BatchSampler(range(10), 3, True)),
        len(D.BatchSampler(range(10), 3, False)), len(D.BatchSampler(range(10), 3, True))))
    assert t == e


def test_weighted_random_sampler(torch):
    t, e = both(torch, lambda m, D: (list(D.WeightedRandomSampler([0.1, 0.5, 0.2, 0.2], 20)),
                                     list(D.WeightedRandomSampler([1, 2, 3], 2, False))))
    assert t == e
    e = list(ED.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 400))
    counts = np.bincount(e, minlength=4)
    assert counts[0] == counts[2] == 0 and 60 < counts[1] < 140
    e = list(ED.WeightedRandomSampler([1.0, 1.0, 1.0, 1.0], 4, replacement=False))
    assert sorted(e) == [0, 1, 2, 3]
    assert len(ED.WeightedRandomSampler([1.0, 2.0], 7)) == 7


# ---- collate -----------------------------------------------------------------------------------
Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize("make", [
    lambda m: [(m.zeros(2), 1), (m.ones(2), 2)],
    lambda m: [1, 2, 3],
    lambda m: [1.5, 2.0],
    lambda m: [True, False],
    lambda m: ["a", "b"],
    lambda m: [("a", 1), ("b", 2)],
    lambda m: [{"a": 1, "b": m.ones(1)}, {"a": 2, "b": m.zeros(1)}],
    lambda m: [Point(1, 2.0), Point(3, 4.0)],
    lambda m: [[1, 2], [3, 4]],
    lambda m: [np.array([1, 2], dtype=np.int32), np.array([3, 4], dtype=np.int32)],
    lambda m: [np.float32(1.5), np.float32(2.5)],
    lambda m: [np.arange(4.0).reshape(2, 2)] * 3,
], ids=["tensor_int", "ints", "floats", "bools", "strings", "str_in_tuple", "dict", "namedtuple",
        "lists", "np_int32", "np_scalar", "np_float64"])
def test_default_collate_matches_torch(torch, make):
    t = torch.utils.data.default_collate(make(torch))
    e = ED.default_collate(make(ember))
    check_same_structure(t, e)


def check_same_structure(t, e):
    if isinstance(t, torch_tensor_type()):
        assert isinstance(e, ember.Tensor)
        assert str(e.dtype).replace("ember.", "") == str(t.dtype).replace("torch.", "")
        assert e.tolist() == t.tolist()
        return
    assert type(e) is type(t), (type(e), type(t))
    if isinstance(t, dict):
        assert t.keys() == e.keys()
        for k in t:
            check_same_structure(t[k], e[k])
    elif isinstance(t, (list, tuple)):
        assert len(t) == len(e)
        for a, b in zip(t, e):
            check_same_structure(a, b)
    else:
        assert t == e


def torch_tensor_type():
    import torch
    return torch.Tensor


def test_default_collate_errors(torch):
    import torch.utils.data as TD
    te, tt = same_error(torch, lambda: ED.default_collate([object()]),
                        lambda: TD.default_collate([object()]))
    assert str(te).split(";")[0] == str(tt).split(";")[0]
    same_error(torch, lambda: ED.default_collate([[1, 2], [1]]),
               lambda: TD.default_collate([[1, 2], [1]]))
    same_error(torch, lambda: ED.default_collate([np.array(["a"]), np.array(["b"])]),
               lambda: TD.default_collate([np.array(["a"]), np.array(["b"])]))


def test_default_convert_matches_torch(torch):
    data = (np.zeros(2), 1, "a", [np.float32(1)], {"k": np.ones(3, dtype=np.int16)})
    t = torch.utils.data.default_convert(data)
    e = ED.default_convert(data)
    check_same_structure(t, e)


def test_precollated_batch_behaves_as_the_sample_list():
    images = ember.arange(6).reshape(3, 2)
    labels = ember.tensor([7, 8, 9])
    batch = ED._collate.PrecollatedBatch(
        [images, labels], lambda i: (images[i], int(labels[i])))
    assert ED.default_collate(batch) == [images, labels]
    assert len(batch) == 3
    assert batch[-1][1] == 9 and batch[0][0].tolist() == [0, 1]
    assert [s[1] for s in batch] == [7, 8, 9]
    assert [s[1] for s in batch[1:]] == [8, 9]
    with pytest.raises(IndexError):
        batch[3]
