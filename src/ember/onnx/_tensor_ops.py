"""Tensor methods sequence models use between their layers, recorded as ONNX nodes: basic
indexing (out[:, -1], x[..., :k], x[None]), permute / transpose, squeeze / unsqueeze, mean over
dims, and torch.cat / torch.stack.

Indexing with tensors or lists (advanced indexing) is not recorded: the result then reaches the
next recorded op as a tensor from an unrecorded operator, and export names it.
"""
from __future__ import annotations

import numpy as np

from .errors import UnsupportedOperatorError

_END = np.iinfo(np.int64).max


def _i64(*v):
    return np.array(v, np.int64)


def _dims(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return [int(d) for d in args[0]]
    return [int(d) for d in args]


def _getitem(g, out, x, index):
    items = index if isinstance(index, tuple) else (index,)
    if any(not (i is None or i is Ellipsis or isinstance(i, (int, slice)))
           or isinstance(i, bool) for i in items):
        raise UnsupportedOperatorError("ember.onnx.export: indexing with tensors, lists or bools "
                                       "(advanced indexing) cannot be exported")
    n_real = sum(1 for i in items if i is not None and i is not Ellipsis)
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items = items[:k] + (slice(None),) * (x.dim() - n_real) + items[k + 1:]
    v = g.value(x, "indexing")
    axis = 0
    for i in items:
        if i is None:
            v = g.node("Unsqueeze", [v, g.const(_i64(axis))], None)
            axis += 1
        elif isinstance(i, int):  # a 0-d index drops the axis
            v = g.node("Gather", [v, g.const(np.array(i, np.int64))], None, axis=axis)
        else:
            start, stop, step = i.start, i.stop, i.step
            if step is not None and step <= 0:
                raise ValueError("step must be greater than zero")
            if (start, stop, step) != (None, None, None):
                v = g.node("Slice", [v, g.const(_i64(start or 0)),
                                     g.const(_i64(_END if stop is None else stop)),
                                     g.const(_i64(axis)), g.const(_i64(step or 1))], None)
            axis += 1
    g.node("Identity", [v], out)


def _permute(g, out, x, *dims):
    g.node("Transpose", [g.value(x, "permute")], out, perm=[d % x.dim() for d in _dims(dims)])


def _transpose(g, out, x, dim0, dim1):
    perm = list(range(x.dim()))
    a, b = dim0 % x.dim(), dim1 % x.dim()
    perm[a], perm[b] = perm[b], perm[a]
    g.node("Transpose", [g.value(x, "transpose")], out, perm=perm)


def _squeeze(g, out, x, dim=None):
    ins = [g.value(x, "squeeze")]
    if dim is not None:
        dims = [dim] if isinstance(dim, int) else list(dim)
        # torch leaves a dim that is not 1 alone; ONNX would fail on it
        dims = [d % max(x.dim(), 1) for d in dims if x.shape[d] == 1]
        if not dims:
            return g.node("Identity", ins, out)
        ins.append(g.const(_i64(*dims)))
    g.node("Squeeze", ins, out)


def _unsqueeze(g, out, x, dim):
    g.node("Unsqueeze", [g.value(x, "unsqueeze"), g.const(_i64(dim % (x.dim() + 1)))], out)


def _mean(g, out, x, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        raise UnsupportedOperatorError("ember.onnx.export: mean with dtype= cannot be exported")
    name = g.value(x, "mean")
    dims = list(range(x.dim())) if dim is None else \
        [dim] if isinstance(dim, int) else list(dim)
    if g.opset >= 18:
        g.node("ReduceMean", [name, g.const(_i64(*dims))], out, keepdims=int(bool(keepdim)))
    else:
        g.node("ReduceMean", [name], out, axes=dims, keepdims=int(bool(keepdim)))


def _cat(g, out, tensors, dim=0, **kw):
    if kw.get("out") is not None:
        raise UnsupportedOperatorError("ember.onnx.export: cat with out= cannot be exported")
    g.node("Concat", [g.value(t, "cat") for t in tensors], out, axis=int(dim))


def _stack(g, out, tensors, dim=0, **kw):
    if kw.get("out") is not None:
        raise UnsupportedOperatorError("ember.onnx.export: stack with out= cannot be exported")
    d = dim % (tensors[0].dim() + 1)
    parts = [g.node("Unsqueeze", [g.value(t, "stack"), g.const(_i64(d))], None)
             for t in tensors]
    g.node("Concat", parts, out, axis=d)


METHODS = {"__getitem__": _getitem, "permute": _permute, "transpose": _transpose,
           "squeeze": _squeeze, "unsqueeze": _unsqueeze, "mean": _mean}
TORCH = {"cat": _cat, "stack": _stack, "permute": _permute, "transpose": _transpose,
         "squeeze": _squeeze, "unsqueeze": _unsqueeze, "mean": _mean}
