"""nn.utils.rnn against torch: pad_sequence, pack_padded_sequence (sorted and not),
pack_sequence, pad_packed_sequence (total_length), unpad/unpack, PackedSequence's fields and
methods, gradients through packing, and torch's errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.nn.utils import rnn as ernn
from helpers import assert_close, same_error

RNG = np.random.default_rng(0)


def _seqs(lengths, feat=(2,)):
    return [RNG.standard_normal((n,) + feat).astype(np.float32) for n in lengths]


def _both(torch, arrays, requires_grad=True):
    return ([ember.tensor(a, requires_grad=requires_grad) for a in arrays],
            [torch.tensor(a, requires_grad=requires_grad) for a in arrays])


def _check_packed(e, t):
    assert type(e).__name__ == "PackedSequence"
    assert e._fields == t._fields
    assert_close(e.data, t.data)
    assert_close(e.batch_sizes, t.batch_sizes)
    for a, b in ((e.sorted_indices, t.sorted_indices), (e.unsorted_indices, t.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            assert_close(a, b)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("padding_value", [0.0, -1.5])
def test_pad_sequence(torch, batch_first, padding_side, padding_value):
    arrays = _seqs([3, 5, 1], (2, 3))
    es, ts = _both(torch, arrays)
    eo = ernn.pad_sequence(es, batch_first, padding_value, padding_side)
    to = torch.nn.utils.rnn.pad_sequence(ts, batch_first, padding_value, padding_side)
    assert_close(eo, to)
    assert type(eo.grad_fn).__name__ == type(to.grad_fn).__name__ == "CopySlices"
    g = RNG.standard_normal(tuple(to.shape)).astype(np.float32)
    eo.backward(ember.tensor(g))
    to.backward(torch.tensor(g))
    for a, b in zip(es, ts):
        assert_close(a.grad, b.grad)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("lengths_kind", ["list", "tensor", "int32"])
def test_pack_pad_roundtrip(torch, batch_first, enforce_sorted, lengths_kind):
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    x = RNG.standard_normal((4, 5, 2) if batch_first else (5, 4, 2)).astype(np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if lengths_kind == "list":
        el = tl = lengths
    else:
        dt = "int64" if lengths_kind == "tensor" else "int32"
        el = ember.tensor(lengths, dtype=getattr(ember, dt))
        tl = torch.tensor(lengths, dtype=getattr(torch, dt))
    ep = ernn.pack_padded_sequence(ex, el, batch_first, enforce_sorted)
    tp = torch.nn.utils.rnn.pack_padded_sequence(tx, tl, batch_first, enforce_sorted)
    _check_packed(ep, tp)
    assert type(ep.data.grad_fn).__name__ == "PackPaddedSequenceBackward0"
    for total in (None, 7):
        eo, elen = ernn.pad_packed_sequence(ep, batch_first, -2.0, total)
        to, tlen = torch.nn.utils.rnn.pad_packed_sequence(tp, batch_first, -2.0, total)
        assert_close(eo, to)
        assert_close(elen, tlen)
    g = RNG.standard_normal(tuple(to.shape)).astype(np.float32)
    eo.backward(ember.tensor(g))
    to.backward(torch.tensor(g))
    assert_close(ex.grad, tx.grad)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_and_unpack(torch, enforce_sorted):
    lengths = [4, 2, 2, 1] if enforce_sorted else [2, 4, 1, 2]
    es, ts = _both(torch, _seqs(lengths, (3,)))
    ep = ernn.pack_sequence(es, enforce_sorted)
    tp = torch.nn.utils.rnn.pack_sequence(ts, enforce_sorted)
    _check_packed(ep, tp)
    eu = ernn.unpack_sequence(ep)
    tu = torch.nn.utils.rnn.unpack_sequence(tp)
    assert_close(eu, tu)
    sum((u * (k + 1)).sum() for k, u in enumerate(eu)).backward()
    sum((u * (k + 1)).sum() for k, u in enumerate(tu)).backward()
    for a, b in zip(es, ts):
        assert_close(a.grad, b.grad)


def test_unpad_sequence(torch):
    x = RNG.standard_normal((5, 3, 2)).astype(np.float32)
    lengths = [5, 2, 4]
    eu = ernn.unpad_sequence(ember.tensor(x), ember.tensor(lengths))
    tu = torch.nn.utils.rnn.unpad_sequence(torch.tensor(x), torch.tensor(lengths))
    assert_close(eu, tu)


def test_packed_sequence_object(torch):
    seqs = [np.array([1, 2, 3]), np.array([4, 5])]
    ep = ernn.pack_sequence([ember.tensor(s) for s in seqs])
    tp = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs])
    assert repr(ep) == repr(tp).replace("torch.", "ember.")
    data, batch_sizes, si, ui = ep  # a namedtuple: unpacks into its four fields
    assert_close(data, tp.data)
    assert isinstance(ep, tuple) and ep.is_cuda is False
    for meth in ("double", "float", "long", "int"):
        assert_close(getattr(ep, meth)().data, getattr(tp, meth)().data)
    assert ep.to("cpu") is ep and ep.cpu() is ep
    e64 = ep.to(ember.float64)
    assert e64.data.dtype == ember.float64 and e64.batch_sizes is ep.batch_sizes
    unsorted = ernn.pack_sequence([ember.tensor(s) for s in seqs[::-1]], enforce_sorted=False)
    moved = unsorted.to(dtype=ember.float32)
    assert moved.data.dtype == ember.float32
    assert moved.sorted_indices.tolist() == unsorted.sorted_indices.tolist() == [1, 0]
    # PackedSequence(data, batch_sizes) and PackedSequence((data, batch_sizes)) as torch
    p2 = ernn.PackedSequence((ep.data, ep.batch_sizes))
    assert p2.sorted_indices is None and p2.batch_sizes is ep.batch_sizes
    inv = ernn.invert_permutation(ember.tensor([2, 0, 1]))
    assert_close(inv, torch.nn.utils.rnn.invert_permutation(torch.tensor([2, 0, 1])))


def test_gradcheck_pack_pad():
    x = ember.tensor(RNG.standard_normal((4, 3, 2)), dtype=ember.float64, requires_grad=True)

    def f(x):
        p = ernn.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
        return p.data, ernn.pad_packed_sequence(p, total_length=5)[0]

    assert gradcheck(f, (x,))
    seqs = [ember.tensor(RNG.standard_normal((n, 2)), dtype=ember.float64, requires_grad=True)
            for n in (3, 1)]
    assert gradcheck(lambda a, b: ernn.pad_sequence([a, b], True, 0.5, "left"), tuple(seqs))


def _err(torch, fn):
    e, t = same_error(torch, lambda: fn(ember, ember.nn.utils.rnn),
                      lambda: fn(torch, torch.nn.utils.rnn))
    assert str(e) == str(t), (str(e), str(t))


def test_errors(torch):
    z = lambda lib, *s: lib.zeros(*s)  # noqa: E731
    _err(torch, lambda lib, R: R.pack_padded_sequence(z(lib, 5, 3, 2), [3, 4, 2]))
    _err(torch, lambda lib, R: R.pack_padded_sequence(z(lib, 5, 3, 2), [3, 4]))
    _err(torch, lambda lib, R: R.pack_padded_sequence(z(lib, 5, 3, 2), [3, 0, 0],
                                                      enforce_sorted=False))
    _err(torch, lambda lib, R: R.pack_padded_sequence(z(lib, 5, 3, 2),
                                                      lib.tensor([[3, 2, 1]])))
    _err(torch, lambda lib, R: R.pack_sequence([z(lib, 2, 2), z(lib, 3, 2)]))
    _err(torch, lambda lib, R: R.pad_packed_sequence(
        R.pack_padded_sequence(z(lib, 5, 3, 2), [5, 3, 2]), total_length=3))
    _err(torch, lambda lib, R: R.pad_sequence([z(lib, 3, 2), z(lib, 1, 2)],
                                              padding_side="up"))
    _err(torch, lambda lib, R: R.pad_sequence([z(lib, 3, 2), z(lib, 1, 3)]))
    _err(torch, lambda lib, R: R.pad_sequence([z(lib, 3, 2, 4), z(lib, 1, 2, 5)], True))
    _err(torch, lambda lib, R: R.pad_sequence([z(lib, 3, 2), z(lib, 1, 2, 3)]))


@pytest.mark.parametrize("lengths", [[3, 5, 3, 1, 5], [2, 2, 2], [1, 1, 4, 1, 4, 4, 2, 1, 3]])
def test_ties_and_length_one_through_a_gru(torch, lengths):
    """Equal lengths sort as torch sorts them, and a bidirectional 2-layer GRU over the packed
    batch gives torch's packed output and final states."""
    x = RNG.standard_normal((max(lengths), len(lengths), 2)).astype(np.float32)
    tp = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths, enforce_sorted=False)
    ep = ernn.pack_padded_sequence(ember.tensor(x), lengths, enforce_sorted=False)
    _check_packed(ep, tp)
    torch.manual_seed(0)
    tm = torch.nn.GRU(2, 3, num_layers=2, bidirectional=True)
    em = ember.nn.GRU(2, 3, num_layers=2, bidirectional=True)
    for p, q in zip(tm.parameters(), em.parameters()):
        q.data = ember.tensor(p.detach().numpy().copy())
    (to, th), (eo, eh) = tm(tp), em(ep)
    _check_packed(eo, to)
    assert_close(eh, th)
