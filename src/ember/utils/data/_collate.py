"""default_collate / default_convert: turn lists of samples into batches, as torch does.

Rules of default_collate (by the type of the first sample): Tensor -> stacked on a new dim 0;
NumPy array -> tensors, stacked; NumPy scalar -> 1-D tensor of its dtype; int -> int64 tensor
(bool -> bool tensor); float -> float64 tensor; str/bytes -> the list unchanged; dict -> dict of
collated values; namedtuple -> namedtuple of collated fields; tuple -> *list* of collated
fields; other sequences -> same type when possible. Anything else is a TypeError.
"""
from __future__ import annotations

import collections.abc
import copy
from collections.abc import Sequence

import numpy as np

from ..._tensor import Tensor

__all__ = ["default_collate", "default_convert", "PrecollatedBatch"]

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        "found {}")


class PrecollatedBatch(Sequence):
    """The samples of a batch, built by a dataset's vectorised `__getitems__`.

    It behaves as the list of samples (len, indexing, iteration), so any collate_fn works on it;
    `default_collate` returns the ready batch (`collated`) without touching single samples.
    """

    __slots__ = ("collated", "_sample")

    def __init__(self, collated, sample) -> None:
        self.collated = collated   # what default_collate would make of the samples
        self._sample = sample      # sample(i) -> the i-th sample, built on demand

    def __len__(self) -> int:
        return len(self.collated[0])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._sample(j) for j in range(len(self))[i]]
        n = len(self)
        if i < -n or i >= n:
            raise IndexError("list index out of range")
        return self._sample(i % n)


def _string_array(a: np.ndarray) -> bool:
    return a.dtype.char in "SaUO"


def _like_mapping(proto, values: dict):
    """`values` in the container type of the mapping `proto`: a copy of proto updated with them
    when it is mutable, else type(proto)(values), else the plain dict."""
    if isinstance(proto, collections.abc.MutableMapping):
        clone = copy.copy(proto)
        clone.update(values)
        return clone
    try:
        return type(proto)(values)
    except TypeError:
        return values


def _like_sequence(proto, values: list):
    """`values` in the container type of the sequence `proto`: a copy of proto with its items
    replaced when it is mutable, else type(proto)(values), else the plain list."""
    if isinstance(proto, collections.abc.MutableSequence):
        clone = copy.copy(proto)
        for i, v in enumerate(values):
            clone[i] = v
        return clone
    try:
        return type(proto)(values)
    except TypeError:
        return values


def default_collate(batch):
    """Collate a list of samples into a batch (see the module docstring for the rules)."""
    if type(batch) is PrecollatedBatch:
        return batch.collated
    from ...ops.creation import tensor
    from ...ops.shape import stack
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        if _string_array(elem):
            raise TypeError(_ERR.format(elem.dtype))
        return stack([Tensor._new(np.asarray(b)) for b in batch], 0)
    if isinstance(elem, np.generic):
        if _string_array(np.asarray(elem)):
            raise TypeError(_ERR.format(elem.dtype))
        return Tensor._new(np.array(batch))
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, int):
        return Tensor._new(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor._new(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _like_mapping(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        collated = [default_collate(samples) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return collated
        return _like_sequence(elem, collated)
    raise TypeError(_ERR.format(type(elem)))


def default_convert(data):
    """Convert NumPy arrays/scalars in `data` to tensors, recursing into containers (used when
    automatic batching is off)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        if _string_array(np.asarray(data)):
            return data
        return Tensor._new(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _like_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        return _like_sequence(data, [default_convert(d) for d in data])
    return data
