"""Layers recorded as ONNX nodes at their module call (their inner ops are not recorded)."""
from __future__ import annotations

import contextlib

import numpy as np

from .errors import UnsupportedOperatorError
from .utils import _no_record, active


def _pair(v, n):
    return list(v) if isinstance(v, (tuple, list)) else [int(v)] * n


def _linear(g, m, x, out):
    xs = g.value(x, "Linear")
    w = g.value(m.weight, "Linear")
    if x.dim() == 2:
        ins = [xs, w] + ([g.value(m.bias, "Linear")] if m.bias is not None else [])
        return g.node("Gemm", ins, out, transB=1)
    wt = g.const(np.ascontiguousarray(m.weight._data.T), "weight_t")
    y = g.node("MatMul", [xs, wt], None if m.bias is not None else out)
    if m.bias is not None:
        g.node("Add", [y, g.value(m.bias, "Linear")], out)


def _conv(g, m, x, out):
    nd = len(m.kernel_size)
    if m.padding_mode != "zeros":
        raise UnsupportedOperatorError(f"ember.onnx.export: {type(m).__name__} with "
                                       f"padding_mode='{m.padding_mode}' cannot be exported")
    if isinstance(m.padding, str):
        if m.padding == "valid":
            pads = [0] * nd
        else:  # "same": torch pads the extra cell at the end
            total = [d * (k - 1) for k, d in zip(m.kernel_size, m.dilation)]
            pads = [t // 2 for t in total] + [t - t // 2 for t in total]
    else:
        pads = list(m.padding) * 2
    if x.dim() != nd + 2:
        raise UnsupportedOperatorError(f"ember.onnx.export: unbatched input to "
                                       f"{type(m).__name__} cannot be exported")
    ins = [g.value(x, type(m).__name__), g.value(m.weight, type(m).__name__)]
    if m.bias is not None:
        ins.append(g.value(m.bias, type(m).__name__))
    if isinstance(m.padding, str):
        pass
    g.node("Conv", ins, out, kernel_shape=list(m.kernel_size), strides=list(m.stride),
           pads=pads if len(pads) == 2 * nd else pads[:nd] * 2, dilations=list(m.dilation),
           group=int(m.groups))


def _max_pool(g, m, x, out, nd):
    if m.return_indices:
        raise UnsupportedOperatorError("ember.onnx.export: MaxPool with return_indices=True "
                                       "cannot be exported")
    _emit_max_pool(g, x, out, nd, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode)


def _emit_max_pool(g, x, out, nd, kernel_size, stride, padding, dilation, ceil_mode):
    k = _pair(kernel_size, nd)
    s = _pair(stride if stride not in (None, ()) else kernel_size, nd)
    p = _pair(padding, nd)
    g.node("MaxPool", [g.value(x, "MaxPool")], out, kernel_shape=k, strides=s, pads=p + p,
           dilations=_pair(dilation, nd), ceil_mode=int(bool(ceil_mode)))


def _avg_pool(g, m, x, out, nd):
    if getattr(m, "divisor_override", None):
        raise UnsupportedOperatorError("ember.onnx.export: AvgPool with divisor_override "
                                       "cannot be exported")
    _emit_avg_pool(g, x, out, nd, m.kernel_size, m.stride, m.padding, m.ceil_mode,
                   m.count_include_pad)


def _emit_avg_pool(g, x, out, nd, kernel_size, stride, padding, ceil_mode, count_include_pad):
    k = _pair(kernel_size, nd)
    s = _pair(stride if stride not in (None, ()) else kernel_size, nd)
    p = _pair(padding, nd)
    g.node("AveragePool", [g.value(x, "AveragePool")], out, kernel_shape=k, strides=s,
           pads=p + p, ceil_mode=int(bool(ceil_mode)),
           count_include_pad=int(bool(count_include_pad)))


def _adaptive_avg(g, m, x, out):
    size = _pair(m.output_size, x.dim() - 2)
    if any(s not in (1, None) for s in size):
        raise UnsupportedOperatorError(f"ember.onnx.export: {type(m).__name__} to output size "
                                       f"{tuple(size)} cannot be exported (only 1)")
    g.node("GlobalAveragePool", [g.value(x, type(m).__name__)], out)


def _batch_norm(g, m, x, out):
    if m.running_mean is None:
        raise UnsupportedOperatorError("ember.onnx.export: BatchNorm without running statistics "
                                       "(track_running_stats=False) cannot be exported")
    c = m.num_features
    scale = m.weight if m.weight is not None else np.ones(c, np.float32)
    bias = m.bias if m.bias is not None else np.zeros(c, np.float32)
    name = type(m).__name__
    g.node("BatchNormalization", [g.value(x, name), g.value(scale, name), g.value(bias, name),
                                  g.value(m.running_mean, name), g.value(m.running_var, name)],
           out, epsilon=float(m.eps))


def _layer_norm(g, m, x, out):
    if g.opset < 17:
        raise UnsupportedOperatorError("ember.onnx.export: LayerNorm needs opset_version >= 17")
    n = len(m.normalized_shape)
    ins = [g.value(x, "LayerNorm")]
    if m.weight is not None:
        ins.append(g.value(m.weight, "LayerNorm"))
        if m.bias is not None:
            ins.append(g.value(m.bias, "LayerNorm"))
    else:
        ins.append(g.const(np.ones(tuple(m.normalized_shape), np.float32)))
    g.node("LayerNormalization", ins, out, axis=-n, epsilon=float(m.eps))


def _unary(op, **attrs):
    def h(g, m, x, out):
        g.node(op, [g.value(x, type(m).__name__)], out, **attrs)
    return h


def _softmax(op):
    def h(g, m, x, out):
        dim = m.dim if m.dim is not None else (0 if x.dim() in (0, 1, 3) else 1)
        g.node(op, [g.value(x, type(m).__name__)], out, axis=int(dim))
    return h


def _flatten(g, m, x, out):
    from ._functions import emit_flatten
    emit_flatten(g, x, out, m.start_dim, m.end_dim)


def _gelu(g, m, x, out):
    if g.opset < 20:
        raise UnsupportedOperatorError("ember.onnx.export: GELU needs opset_version >= 20")
    g.node("Gelu", [g.value(x, "GELU")], out, approximate=m.approximate)


def _handlers():
    from ..nn import modules as M
    h = {M.Linear: _linear, M.Conv1d: _conv, M.Conv2d: _conv,
         M.MaxPool1d: lambda g, m, x, o: _max_pool(g, m, x, o, 1),
         M.MaxPool2d: lambda g, m, x, o: _max_pool(g, m, x, o, 2),
         M.AvgPool1d: lambda g, m, x, o: _avg_pool(g, m, x, o, 1),
         M.AvgPool2d: lambda g, m, x, o: _avg_pool(g, m, x, o, 2),
         M.AdaptiveAvgPool1d: _adaptive_avg, M.AdaptiveAvgPool2d: _adaptive_avg,
         M.BatchNorm1d: _batch_norm, M.BatchNorm2d: _batch_norm, M.LayerNorm: _layer_norm,
         M.ReLU: _unary("Relu"), M.Sigmoid: _unary("Sigmoid"), M.Tanh: _unary("Tanh"),
         M.Dropout: _unary("Identity"), M.Identity: _unary("Identity"),
         M.Softmax: _softmax("Softmax"), M.LogSoftmax: _softmax("LogSoftmax"),
         M.Flatten: _flatten, M.GELU: _gelu}
    h[M.LeakyReLU] = lambda g, m, x, o: g.node("LeakyRelu", [g.value(x, "LeakyReLU")], o,
                                               alpha=float(m.negative_slope))
    h[M.ELU] = lambda g, m, x, o: g.node("Elu", [g.value(x, "ELU")], o, alpha=float(m.alpha))
    for name in ("Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"):
        if hasattr(M, name):
            h[getattr(M, name)] = _unary("Identity")
    # ---- sequence layers (issue 12, onnxseq): Embedding here, several-input ones below ----
    from . import _attention, _rnn
    h.update(_rnn.handlers())
    h.update(_attention.handlers())
    return h


def _multi_handlers():
    """{module class: handler(g, m, args, kwargs, out)}: layers taking several inputs
    (recurrent layers with their states, attention with key/value/masks)."""
    from . import _attention, _rnn
    return {**_rnn.multi_handlers(), **_attention.multi_handlers()}


@contextlib.contextmanager
def recording():
    """Module.__call__ records the layers above while a trace is active."""
    from ..nn.modules.module import Module
    handlers = _handlers()
    multi = _multi_handlers()
    original = Module.__call__

    def call(self, *args, **kwargs):
        g = active.graph
        h = handlers.get(type(self))
        mh = multi.get(type(self))
        if g is None or g.depth or (h is None and mh is None):
            return original(self, *args, **kwargs)
        if mh is not None:
            with _no_record():
                out = original(self, *args, **kwargs)
            mh(g, self, args, kwargs, out)
            return out
        if len(args) != 1 or kwargs:
            raise UnsupportedOperatorError(f"ember.onnx.export: {type(self).__name__} called "
                                           f"with more than one input cannot be exported")
        x = args[0]
        g.value(x, type(self).__name__)  # its producer must be recorded (raises otherwise)
        with _no_record():
            out = original(self, *args, **kwargs)
        h(g, self, x, out)
        return out

    Module.__call__ = call
    try:
        yield
    finally:
        Module.__call__ = original
