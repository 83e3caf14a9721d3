"""Functional calls and Tensor methods recorded as ONNX nodes when a forward uses them
directly (F.relu(x), F.max_pool2d(x, 2), x.reshape(-1, n), x + y...)."""
from __future__ import annotations

import contextlib

import numpy as np

from .errors import UnsupportedOperatorError
from .utils import _no_record, active


def emit_flatten(g, x, out, start_dim=0, end_dim=-1):
    nd = x.dim()
    s = start_dim % nd if nd else 0
    e = end_dim % nd if nd else 0
    if s == 1 and e == nd - 1:  # ONNX Flatten makes exactly this 2-D shape
        return g.node("Flatten", [g.value(x, "Flatten")], out, axis=1)
    shape = [0] * s + [-1] + [0] * (nd - 1 - e)  # 0: copy that dim (the batch stays free)
    return g.node("Reshape", [g.value(x, "Reshape"), g.const(np.array(shape, np.int64))], out)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return [int(s) for s in shape]


def _reshape(g, out, x, *shape):
    return g.node("Reshape", [g.value(x, "Reshape"),
                              g.const(np.array(_shape_arg(shape), np.int64))], out)


def _unary(op, **attrs):
    def h(g, out, x, *a, **k):
        return g.node(op, [g.value(x, op)], out, **attrs)
    return h


def _binary(op, reverse=False):
    def h(g, out, a, b, *rest, **k):
        if rest or k:
            raise UnsupportedOperatorError(f"ember.onnx.export: {op} with alpha cannot be "
                                           f"exported")
        x, y = (b, a) if reverse else (a, b)
        if not hasattr(y, "_data"):
            y = np.asarray(y, a._data.dtype if hasattr(a, "_data") else np.float32)
        if not hasattr(x, "_data"):
            x = np.asarray(x, b._data.dtype)
        return g.node(op, [g.value(x, op), g.value(y, op)], out)
    return h


def _softmax(op):
    def h(g, out, x, dim=None, *a, **k):
        if dim is None:
            dim = 0 if x.dim() in (0, 1, 3) else 1
        return g.node(op, [g.value(x, op)], out, axis=int(dim))
    return h


def _max_pool(nd):
    def h(g, out, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
          return_indices=False):
        if return_indices:
            raise UnsupportedOperatorError("ember.onnx.export: max_pool with "
                                           "return_indices=True cannot be exported")
        from ._modules import _emit_max_pool
        return _emit_max_pool(g, x, out, nd, kernel_size, stride, padding, dilation, ceil_mode)
    return h


def _avg_pool(nd):
    def h(g, out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
          count_include_pad=True, divisor_override=None):
        if divisor_override:
            raise UnsupportedOperatorError("ember.onnx.export: avg_pool with divisor_override "
                                           "cannot be exported")
        from ._modules import _emit_avg_pool
        return _emit_avg_pool(g, x, out, nd, kernel_size, stride, padding, ceil_mode,
                              count_include_pad)
    return h


def _linear(g, out, x, w, b=None):
    if x.dim() == 2:
        ins = [g.value(x, "linear"), g.value(w, "linear")] + \
            ([g.value(b, "linear")] if b is not None else [])
        return g.node("Gemm", ins, out, transB=1)
    wt = g.node("Transpose", [g.value(w, "linear")], None, perm=[1, 0])
    y = g.node("MatMul", [g.value(x, "linear"), wt], None if b is not None else out)
    if b is not None:
        return g.node("Add", [y, g.value(b, "linear")], out)


def _conv(nd):
    def h(g, out, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        if isinstance(padding, str):
            raise UnsupportedOperatorError(f"ember.onnx.export: conv{nd}d with padding="
                                           f"'{padding}' cannot be exported (use a Conv module)")
        p = _pair(padding, nd)
        ins = [g.value(x, "conv"), g.value(w, "conv")] + ([g.value(b, "conv")] if b is not None
                                                            else [])
        return g.node("Conv", ins, out, kernel_shape=list(w.shape[2:]), strides=_pair(stride, nd),
                      pads=p + p, dilations=_pair(dilation, nd), group=int(groups))
    return h


def _pair(v, n):
    return list(v) if isinstance(v, (tuple, list)) else [int(v)] * n


def _dropout(g, out, x, p=0.5, training=True, inplace=False):
    return g.node("Identity", [g.value(x, "dropout")], out)


def _flatten(g, out, x, start_dim=0, end_dim=-1):
    return emit_flatten(g, x, out, start_dim, end_dim)


def _tensor_flatten(g, out, x, start_dim=0, end_dim=-1):
    return emit_flatten(g, x, out, start_dim, end_dim)


_F = {"relu": _unary("Relu"), "sigmoid": _unary("Sigmoid"), "tanh": _unary("Tanh"),
      "softmax": _softmax("Softmax"), "log_softmax": _softmax("LogSoftmax"),
      "max_pool1d": _max_pool(1), "max_pool2d": _max_pool(2), "avg_pool1d": _avg_pool(1),
      "avg_pool2d": _avg_pool(2), "linear": _linear, "conv1d": _conv(1), "conv2d": _conv(2),
      "dropout": _dropout}
_TORCH = {"relu": _unary("Relu"), "sigmoid": _unary("Sigmoid"), "tanh": _unary("Tanh"),
          "flatten": _flatten, "reshape": _reshape, "add": _binary("Add"),
          "mul": _binary("Mul")}
_METHODS = {"relu": _unary("Relu"), "sigmoid": _unary("Sigmoid"), "tanh": _unary("Tanh"),
            "reshape": _reshape, "view": _reshape, "flatten": _tensor_flatten,
            "softmax": _softmax("Softmax"), "log_softmax": _softmax("LogSoftmax"),
            "__add__": _binary("Add"), "__radd__": _binary("Add", True),
            "__sub__": _binary("Sub"), "__rsub__": _binary("Sub", True),
            "__mul__": _binary("Mul"), "__rmul__": _binary("Mul", True),
            "__truediv__": _binary("Div"), "add": _binary("Add"), "mul": _binary("Mul")}


def _wrap(original, handler):
    def recorded(*args, **kwargs):
        g = active.graph
        if g is None or g.depth:
            return original(*args, **kwargs)
        if args and hasattr(args[0], "_data"):
            g.value(args[0], getattr(original, "__name__", "op"))
        with _no_record():
            out = original(*args, **kwargs)
        handler(g, out, *args, **kwargs)
        return out
    recorded.__name__ = getattr(original, "__name__", "recorded")
    return recorded


@contextlib.contextmanager
def recording():
    import ember
    from .._tensor import Tensor
    from ..nn import functional as F
    saved = []
    from . import _tensor_ops  # issue 12, onnxseq: sequence models' functions and methods
    from ._attention import FUNCTIONAL as _seq_functional
    for target, table in ((F, {**_F, **_seq_functional}), (ember, {**_TORCH, **_tensor_ops.TORCH}),
                          (Tensor, {**_METHODS, **_tensor_ops.METHODS})):
        for name, handler in table.items():
            original = target.__dict__.get(name) if target is Tensor else getattr(target, name,
                                                                                  None)
            if original is None:
                continue
            saved.append((target, name, original))
            setattr(target, name, _wrap(original, handler))
    try:
        yield
    finally:
        for target, name, original in reversed(saved):
            setattr(target, name, original)
