"""Packed sequences (torch.nn.utils.rnn): variable-length batches for the recurrent layers.

A PackedSequence holds the rows of all sequences time step by time step: `data` (N, *) with the
batch_sizes[t] sequences still running at step t, longest first, so the running sequences are
always a prefix of the batch. sorted_indices / unsorted_indices map between the caller's batch
order and that longest-first order.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Iterable

import numpy as np

from ..._tensor import Tensor
from ...autograd.function import once_differentiable
from ...ops import creation
from ...ops.base import Op

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]

_new = Tensor._new
PackedSequence_ = namedtuple("PackedSequence_",
                             ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


def _long(a) -> Tensor:
    return _new(np.asarray(a, dtype=np.int64))


class PackedSequence(PackedSequence_):
    """data (N, *), batch_sizes (T,) int64 on the CPU, sorted_indices / unsorted_indices (B,)
    int64 or None. Build it with pack_padded_sequence / pack_sequence, not by hand."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is not None:
            if batch_sizes.device.type != "cpu":
                raise ValueError(
                    "batch_sizes should always be on CPU. Instances of PackedSequence should "
                    "never be created manually. They should be instantiated by functions like "
                    "pack_sequence and pack_padded_sequences in nn.utils.rnn. "
                    "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
            return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)
        data, batch_sizes = data  # (data, batch_sizes) as one tuple
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data):
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def pin_memory(self):
        return self._with_data(self.data.pin_memory())

    def to(self, *args, **kwargs):
        """data.to(*args, **kwargs); the index tensors follow data's device."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        dev = data.device
        si = None if self.sorted_indices is None else self.sorted_indices.to(dev)
        ui = None if self.unsorted_indices is None else self.unsorted_indices.to(dev)
        return type(self)(data, self.batch_sizes, si, ui)

    def cuda(self, *args, **kwargs):
        return self._with_data(self.data.cuda(*args, **kwargs))

    def cpu(self, *args, **kwargs):
        return self._with_data(self.data.cpu(*args, **kwargs))

    def double(self):
        return self.to(dtype=_dt("float64"))

    def float(self):
        return self.to(dtype=_dt("float32"))

    def half(self):
        return self.to(dtype=_dt("float16"))

    def long(self):
        return self.to(dtype=_dt("int64"))

    def int(self):
        return self.to(dtype=_dt("int32"))

    def short(self):
        return self.to(dtype=_dt("int16"))

    def char(self):
        return self.to(dtype=_dt("int8"))

    def byte(self):
        return self.to(dtype=_dt("uint8"))

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return self.data.is_pinned()


def _dt(name):
    from ... import _dtype
    return getattr(_dtype, name)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation q with q[p[i]] = i (None for None)."""
    if permutation is None:
        return None
    p = permutation._data
    out = np.empty_like(p)
    out[p] = np.arange(p.shape[0], dtype=p.dtype)
    return _new(out)


def _lengths_array(lengths) -> np.ndarray:
    """lengths as torch takes them: any list or tensor, converted to int64, which must be 1-D."""
    if isinstance(lengths, Tensor):
        if lengths.device.type != "cpu" or lengths.dim() != 1:
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{lengths.dim()}D {lengths.device.type} Long tensor")
        return lengths._data.astype(np.int64)
    a = np.asarray(creation.as_tensor(lengths)._data).astype(np.int64)
    if a.ndim != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{a.ndim}D cpu Long tensor")
    return a


class PackPaddedSequenceBackward0(Op):
    """data = input[t, b] over the (t, b) with t < lengths[b], time-major; the gradient puts g
    back at those positions (zero at the padding)."""

    @staticmethod
    def forward(ctx, input, t_idx, b_idx, batch_first):
        x = input._data
        ctx.shape, ctx.idx = x.shape, ((b_idx, t_idx) if batch_first else (t_idx, b_idx))
        return x[ctx.idx]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        g = grad._data
        out = np.zeros(ctx.shape, g.dtype)
        out[ctx.idx] = g
        return _new(out), None, None, None


class PadPackedSequenceBackward0(Op):
    """padded[t, b] = data[row of (t, b)] for t < length b, padding_value elsewhere; the
    gradient picks the rows back out."""

    @staticmethod
    def forward(ctx, data, t_idx, b_idx, shape, padding_value, batch_first):
        x = data._data
        out = np.full(shape, padding_value, x.dtype)
        idx = (b_idx, t_idx) if batch_first else (t_idx, b_idx)
        out[idx] = x
        ctx.idx = idx
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return _new(np.ascontiguousarray(grad._data[ctx.idx])), None, None, None, None, None


def _packed_positions(batch_sizes: np.ndarray):
    """(t, b) of each packed row: step t holds b = 0..batch_sizes[t]-1."""
    T = batch_sizes.shape[0]
    B = int(batch_sizes[0]) if T else 0
    mask = np.arange(B)[None, :] < batch_sizes[:, None]
    return np.nonzero(mask)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with batch_first) of sequences of the given
    lengths. With enforce_sorted the lengths must be non-increasing; otherwise the batch is
    sorted here and the permutation kept in the result."""
    lengths = _lengths_array(lengths)
    batch_dim = 0 if batch_first else 1
    sorted_indices = None
    if not enforce_sorted:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = _long(order)
        input = input.index_select(batch_dim, sorted_indices)
    x = input._data
    if x.size == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    B = x.shape[batch_dim]
    if lengths.shape[0] != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lengths.shape[0]} (batch_size={B})")
    if lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if B > 1 and (lengths[:-1] < lengths[1:]).any():
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
            "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
            "sidestep this requirement if you do not need ONNX exportability.")
    T = x.shape[1 - batch_dim]
    if lengths[0] > T:
        raise RuntimeError(f"the longest length {int(lengths[0])} in 'lengths' exceeds the "
                           f"input's sequence length {T}")
    batch_sizes = (np.arange(int(lengths[0]))[:, None] < lengths[None, :]).sum(1)
    t_idx, b_idx = _packed_positions(batch_sizes)
    data = PackPaddedSequenceBackward0.apply(input, t_idx, b_idx, bool(batch_first))
    return PackedSequence(data, _long(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """The inverse of pack_padded_sequence: (padded (T, B, *) or (B, T, *), lengths (B,) int64),
    in the caller's original batch order. total_length pads T up to that length."""
    bs = sequence.batch_sizes._data
    max_len = bs.shape[0]
    if total_length is not None:
        if total_length < max_len:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_len}")
        max_len = total_length
    data = sequence.data
    B = int(bs[0])
    shape = ((B, max_len) if batch_first else (max_len, B)) + tuple(data._data.shape[1:])
    t_idx, b_idx = _packed_positions(bs)
    padded = PadPackedSequenceBackward0.apply(data, t_idx, b_idx, shape, padding_value,
                                              bool(batch_first))
    lengths = (bs[None, :] > np.arange(B)[:, None]).sum(1).astype(np.int64)
    ui = sequence.unsorted_indices
    if ui is not None:
        return padded.index_select(0 if batch_first else 1, ui), _long(lengths[ui._data])
    return padded, _long(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (L_i, *) into (max L, B, *) (or (B, max L, *)), padded with
    padding_value on the right (or the left)."""
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    first = sequences[0]
    max_len = max(s.shape[0] for s in sequences)
    trailing = tuple(first.shape[1:])
    for s in sequences[1:]:  # each is copied into a (len, *trailing) slot, broadcasting
        slot = (s.shape[0],) + trailing
        src = tuple(s.shape)
        nd = max(len(slot), len(src))
        for k in range(1, nd + 1):
            m = slot[-k] if k <= len(slot) else 1
            n = src[-k] if k <= len(src) else 1
            if m != n and n != 1:
                raise RuntimeError(f"The size of tensor a ({m}) must match the size of tensor b "
                                   f"({n}) at non-singleton dimension {nd - k}")
    B = len(sequences)
    shape = (B, max_len) + trailing if batch_first else (max_len, B) + trailing
    out = creation.full(shape, padding_value, dtype=first.dtype)
    for i, s in enumerate(sequences):
        n = s.shape[0]
        rows = slice(0, n) if padding_side == "right" else slice(max_len - n, max_len)
        if batch_first:
            out[i, rows] = s
        else:
            out[rows, i] = s
    return out


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor, batch_first: bool = False):
    """The list of sequences padded_sequences[:lengths[i], i] (the inverse of pad_sequence)."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[i, :int(n)] for i, n in enumerate(_lengths_array(lengths))]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """pack_padded_sequence(pad_sequence(sequences), their lengths)."""
    lengths = _long([s.shape[0] for s in sequences])
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence):
    """The list of sequences of a PackedSequence (the inverse of pack_sequence)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
