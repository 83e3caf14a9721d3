"""DataLoader in the main process against torch.utils.data.DataLoader."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.utils.data as ED
from helpers import same_error


def run_both(torch, make_loader, epochs=1):
    """Iterate the same loader on torch and ember from the same seed; batches as lists."""
    import torch.utils.data as TD
    out = []
    for mod, D in ((torch, TD), (ember, ED)):
        mod.manual_seed(0)
        loader = make_loader(mod, D)
        out.append([[to_list(b) for b in loader] for _ in range(epochs)])
        out[-1].append(mod.rand(2).tolist())  # the generator state after the epochs
    return out


def to_list(b):
    if isinstance(b, (list, tuple)):
        return [to_list(x) for x in b]
    if isinstance(b, dict):
        return {k: to_list(v) for k, v in b.items()}
    return (str(b.dtype).split(".")[-1], b.tolist()) if hasattr(b, "tolist") else b


def tensor_ds(m, D, n=23):
    return D.TensorDataset(m.arange(n), m.arange(n).float() / 2)


@pytest.mark.parametrize("kw", [
    dict(batch_size=5), dict(batch_size=5, drop_last=True), dict(batch_size=5, shuffle=True),
    dict(batch_size=1), dict(batch_size=None), dict(batch_size=4, shuffle=True, drop_last=True),
])
def test_batches_match_torch(torch, kw):
    t, e = run_both(torch, lambda m, D: D.DataLoader(tensor_ds(m, D), **kw), epochs=2)
    assert t == e


def test_len(torch):
    import torch.utils.data as TD
    for kw in [dict(batch_size=5), dict(batch_size=5, drop_last=True), dict(batch_size=None),
               dict(batch_size=23), dict(batch_size=24, drop_last=True)]:
        assert len(ED.DataLoader(tensor_ds(ember, ED), **kw)) == \
            len(TD.DataLoader(tensor_ds(torch, TD), **kw))


def test_generator_argument(torch):
    t, e = run_both(torch, lambda m, D: D.DataLoader(
        tensor_ds(m, D), batch_size=6, shuffle=True, generator=m.Generator().manual_seed(5)),
        epochs=2)
    assert t == e


def test_sampler_and_batch_sampler_arguments(torch):
    t, e = run_both(torch, lambda m, D: D.DataLoader(
        tensor_ds(m, D), batch_size=3, sampler=D.SubsetRandomSampler([1, 5, 7, 9, 11])))
    assert t == e
    t, e = run_both(torch, lambda m, D: D.DataLoader(
        tensor_ds(m, D), batch_sampler=[[0, 1], [5, 2, 3], [22]]))
    assert t == e


def test_collate_fn_and_dict_samples(torch):
    class Dicts:
        def __init__(self, m):
            self.m = m

        def __getitem__(self, i):
            return {"x": self.m.full((2,), float(i)), "name": f"s{i}", "i": i}

        def __len__(self):
            return 5
    t, e = run_both(torch, lambda m, D: D.DataLoader(Dicts(m), batch_size=2))
    assert t == e
    t, e = run_both(torch, lambda m, D: D.DataLoader(tensor_ds(m, D), batch_size=4,
                                                     collate_fn=lambda b: len(b)))
    assert t == e


class Count(ED.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_iterable_dataset(torch):
    import torch.utils.data as TD

    class TCount(TD.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n
    for kw in [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)]:
        t = [to_list(b) for b in TD.DataLoader(TCount(10), **kw)]
        e = [to_list(b) for b in ED.DataLoader(Count(10), **kw)]
        assert t == e
        assert len(ED.DataLoader(Count(10), **kw)) == len(TD.DataLoader(TCount(10), **kw))


@pytest.mark.parametrize("kw", [
    dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2),
    dict(persistent_workers=True), dict(sampler=[1], shuffle=True),
    dict(batch_sampler=[[1]], batch_size=2), dict(batch_sampler=[[1]], shuffle=True),
    dict(batch_sampler=[[1]], drop_last=True), dict(batch_size=None, drop_last=True),
    dict(batch_size=0), dict(num_workers=1, prefetch_factor=-1),
])
def test_argument_errors_match_torch(torch, kw):
    te, tt = same_error(torch, lambda: ED.DataLoader(tensor_ds(ember, ED), **kw),
                        lambda: torch.utils.data.DataLoader(tensor_ds(torch, torch.utils.data),
                                                            **kw))
    assert str(te) == str(tt)


def test_iterable_dataset_argument_errors(torch):
    import torch.utils.data as TD

    class TCount(TD.IterableDataset):
        def __iter__(self):
            return iter(range(3))
    for kw in [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])]:
        te, tt = same_error(torch, lambda: ED.DataLoader(Count(3), **kw),
                            lambda: TD.DataLoader(TCount(), **kw))
        assert str(te).split(",")[0] == str(tt).split(",")[0]


def test_attributes_cannot_be_set_after_init(torch):
    loader = ED.DataLoader(tensor_ds(ember, ED), batch_size=2)
    for attr in ["batch_size", "sampler", "batch_sampler", "drop_last", "dataset",
                 "persistent_workers"]:
        with pytest.raises(ValueError, match=f"{attr} attribute should not be set after "
                                             "DataLoader is initialized"):
            setattr(loader, attr, None)
    loader.num_workers = 0  # allowed, as in torch
    assert isinstance(loader.sampler, ED.SequentialSampler)
    assert isinstance(ED.DataLoader(tensor_ds(ember, ED), shuffle=True).sampler,
                      ED.RandomSampler)


def test_pin_memory_is_accepted():
    loader = ED.DataLoader(tensor_ds(ember, ED), batch_size=4, pin_memory=True)
    assert len(list(loader)) == 6


def test_default_collate_stacks_numpy_samples():
    class Arrays:
        def __getitem__(self, i):
            return np.full((2, 2), i, dtype=np.float32), np.int64(i)

        def __len__(self):
            return 4
    x, y = next(iter(ED.DataLoader(Arrays(), batch_size=4)))
    assert x.shape == (4, 2, 2) and x.dtype == ember.float32
    assert y.dtype == ember.int64 and y.tolist() == [0, 1, 2, 3]
