"""torch.onnx.export for ember: trace by running the model once on the example input and
recording each operator as it runs.

Layers are recorded at their module (Linear -> Gemm, Conv2d -> Conv, BatchNorm -> BatchNormalization
...: _modules.py), and the functional calls and Tensor methods a forward uses directly
(F.relu, F.max_pool2d, t.reshape, +, ...: _functions.py) at the call. Every tensor the trace
meets must be an input, a parameter/buffer (written as an initializer), a constant made without
the input, or the output of a recorded operator; anything else came from an operator ember
cannot export, and export raises UnsupportedOperatorError naming it (from its grad_fn).
The model is exported in eval mode (Dropout is the identity, BatchNorm uses its running
statistics), as torch's default TrainingMode.EVAL does.
"""
from __future__ import annotations

import contextlib
import io
import os

import numpy as np

from .errors import UnsupportedOperatorError

_DEFAULT_OPSET = 18


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("ember.onnx.export needs the onnx package: pip install 'ember[onnx]' "
                          "(or pip install onnx)") from None
    return onnx


class Graph:
    """The ONNX graph being recorded: nodes, initializers and the names of traced tensors."""

    def __init__(self, onnx, opset: int):
        self.onnx = onnx
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self.names = {}      # id(tensor) -> value name
        self.keep = []       # the traced tensors, alive so their ids stay unique
        self.param_names = {}  # id(parameter or buffer) -> its state_dict name
        self.depth = 0       # > 0 inside a recorded layer: its inner ops are not recorded
        self._n = 0

    def fresh(self, base: str) -> str:
        self._n += 1
        return f"/{base}_{self._n}"

    def bind(self, t, name: str) -> None:
        self.names[id(t)] = name
        self.keep.append(t)

    def const(self, array, base: str = "const") -> str:
        name = self.fresh(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def value(self, t, user: str) -> str:
        """The value name of a tensor an operator reads."""
        from .._tensor import Tensor
        if not isinstance(t, Tensor):
            return self.const(np.asarray(t, np.float32))
        name = self.names.get(id(t))
        if name is not None:
            return name
        pname = self.param_names.get(id(t))
        if pname is not None:
            self.initializers.append(self.onnx.numpy_helper.from_array(
                np.ascontiguousarray(t._data), pname))
            self.bind(t, pname)
            return pname
        if t.grad_fn is not None:  # computed from the input by an operator that was not recorded
            raise UnsupportedOperatorError(
                f"ember.onnx.export: the operator behind {type(t.grad_fn).__name__} (an input of "
                f"{user}) cannot be exported to ONNX by ember")
        name = self.const(t._data)
        self.bind(t, name)
        return name

    def node(self, op: str, inputs, out_tensor, **attrs) -> str:
        out = self.fresh(op)
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [out], name=out,
                                                     **attrs))
        if out_tensor is not None:
            self.bind(out_tensor, out)
        return out


class _Active:
    graph = None


active = _Active()


def _shape_proto(onnx, name, t, dyn):
    dims = []
    for i, d in enumerate(t.shape):
        dims.append(dyn[i] if i in dyn else int(d))
    elem = onnx.helper.np_dtype_to_tensor_dtype(t._data.dtype)
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def _dynamic(dynamic_axes, name):
    if not dynamic_axes or name not in dynamic_axes:
        return {}
    spec = dynamic_axes[name]
    if isinstance(spec, dict):
        return {int(k): str(v) for k, v in spec.items()}
    return {int(a): f"{name}_dynamic_axes_{j + 1}" for j, a in enumerate(spec)}


def export(model, args, f, export_params: bool = True, verbose: bool = False, training=None,
           input_names=None, output_names=None, operator_export_type=None,
           opset_version: int | None = None, do_constant_folding: bool = True,
           dynamic_axes=None, keep_initializers_as_inputs=None, custom_opsets=None,
           export_modules_as_functions: bool = False, autograd_inlining: bool = True,
           dynamo: bool = False, **kwargs):
    """Write `model` run on `args` as an ONNX model to `f` (a path or a binary file object).

    input_names / output_names name the graph's inputs and outputs, dynamic_axes marks axes
    (e.g. {"input": {0: "batch"}}) whose size is free, opset_version picks the ONNX opset
    (default 18; at least 13)."""
    onnx = _onnx()
    from .._tensor import Tensor
    from ..autograd.grad_mode import enable_grad
    from ..nn.modules.module import Module
    from . import _functions, _modules

    opset = _DEFAULT_OPSET if opset_version is None else int(opset_version)
    if opset < 13:
        raise ValueError(f"ember.onnx.export supports opset_version 13 and above, got {opset}")
    if not export_params:
        raise NotImplementedError("ember.onnx.export: export_params=False is not supported")
    if isinstance(args, Tensor):
        args = (args,)
    if isinstance(args, tuple) and args and isinstance(args[-1], dict):
        raise NotImplementedError("ember.onnx.export: keyword inputs are not supported")
    args = tuple(args)
    g = Graph(onnx, opset)
    if isinstance(model, Module):
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            g.param_names[id(t)] = name
    # traced copies of the inputs that require grad, so that whatever is computed from them by
    # an operator not recorded carries a grad_fn naming it
    traced = []
    in_names = list(input_names or [])
    n_flat = sum(len(a) if isinstance(a, (tuple, list)) else a is not None for a in args)

    def trace(a, where):  # a traced copy bound to the next input name
        if a is None:  # an optional input left out (no graph input), as torch
            return None
        if not isinstance(a, Tensor):
            raise NotImplementedError(f"ember.onnx.export: input {where} is a "
                                      f"{type(a).__name__}; only Tensor inputs are supported")
        t = a.detach().clone()
        if t.is_floating_point():
            t.requires_grad_(True)
        i = len(traced)
        if i >= len(in_names):
            in_names.append(f"input" if i == 0 and n_flat == 1 else f"input.{i}")
        g.bind(t, in_names[i])
        traced.append(t)
        return t

    # a tuple of tensors (an LSTM's (h_0, c_0)) is passed on as a tuple, its tensors being
    # graph inputs in order, as torch flattens them
    call_args = [type(a)(trace(t, f"{i}.{j}") for j, t in enumerate(a))
                 if isinstance(a, (tuple, list)) else trace(a, i) for i, a in enumerate(args)]

    was_training = model.training if isinstance(model, Module) else None
    if isinstance(model, Module):
        model.eval()
    active.graph = g
    try:
        with enable_grad(), _modules.recording(), _functions.recording():
            out = model(*call_args)
    finally:
        active.graph = None
        if was_training:
            model.train()
    def flat(o):  # nested outputs, e.g. an LSTM's (output, (h_n, c_n)), in order; None dropped
        if o is None:
            return []
        return [t for x in o for t in flat(x)] if isinstance(o, (tuple, list)) else [o]
    outs = flat(out)
    out_names = list(output_names or [])
    final = []
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise NotImplementedError(f"ember.onnx.export: output {i} is a {type(o).__name__}")
        src = g.value(o, "the graph output")
        if i >= len(out_names):
            out_names.append("output" if len(outs) == 1 else f"output.{i}")
        g.nodes.append(onnx.helper.make_node("Identity", [src], [out_names[i]],
                                             name=f"/output_{i}"))
        final.append(o)
    graph = onnx.helper.make_graph(
        g.nodes, "main_graph",
        [_shape_proto(onnx, n, t, _dynamic(dynamic_axes, n)) for n, t in zip(in_names, traced)],
        [_shape_proto(onnx, n, t, _dynamic(dynamic_axes, n)) for n, t in zip(out_names, final)],
        initializer=g.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="ember")
    onnx.checker.check_model(proto)
    if isinstance(f, (str, os.PathLike)):
        onnx.save(proto, os.fspath(f))
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(proto.SerializeToString())
    else:
        raise TypeError(f"ember.onnx.export: f must be a path or a binary file, not "
                        f"{type(f).__name__}")
    if verbose:
        print(onnx.helper.printable_graph(graph))
    return None


@contextlib.contextmanager
def _no_record():
    g = active.graph
    g.depth += 1
    try:
        yield
    finally:
        g.depth -= 1
