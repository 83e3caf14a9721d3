"""Backward nodes and `Function`, with PyTorch's `ctx` API.

A node (what `tensor.grad_fn` holds) is also the `ctx` its op's forward saw: `save_for_backward`,
`saved_tensors`, `needs_input_grad`, `mark_non_differentiable`. Built-in ops are `Function`
subclasses named after torch's nodes (`PowBackward0`), so their node class *is* the op class;
a user's `class Exp(Function)` gets a node class `ExpBackward`, as in torch.
"""
from __future__ import annotations

import weakref

from .._tensor import Tensor
from .grad_mode import state as _grad_state

__all__ = ["Function", "FunctionCtx", "Node", "AccumulateGrad", "once_differentiable",
           "RemovableHandle"]

_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
          "after they have already been freed). Saved intermediate values of the graph are freed "
          "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
          "backward through the graph a second time or if you need to access saved tensors after "
          "calling backward.")

_NO_GRAD_TUPLES = [tuple([False] * n) for n in range(16)]


class _NoneRequireGrad(tuple):
    """`needs_input_grad` of a node that records nothing: False at every index."""

    def __getitem__(self, i):
        return False


_NONE_REQUIRE_GRAD = _NoneRequireGrad()


class RemovableHandle:
    """Returned by register_*hook; `remove()` unregisters the hook."""
    _next_id = 0

    def __init__(self, hooks_dict, hook):
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1
        self._dict = weakref.ref(hooks_dict) if hasattr(hooks_dict, "__weakref__") else \
            (lambda d=hooks_dict: d)
        hooks_dict[self.id] = hook

    def remove(self) -> None:
        d = self._dict()
        if d is not None:
            d.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _HookDict(dict):
    """A dict that can be weakly referenced by RemovableHandle."""
    __slots__ = ("__weakref__",)


class _Saved:
    """An op's output saved for its own backward, kept without its grad_fn (a node holding its
    own output would be a reference cycle). Saved inputs are plain `(tensor, version)` tuples:
    they are the common case and a tuple is the cheapest record."""
    __slots__ = ("data", "vc", "version", "rg", "is_output", "output_nr")

    def __init__(self, t: Tensor, is_output: bool = True):
        self.is_output = True
        self.vc = t._vc
        self.version = t._vc[0]
        self.data = t._data
        self.rg = t._rg
        self.output_nr = t._output_nr

    def unpack(self, node) -> Tensor:
        if self.vc[0] != self.version:
            _raise_modified(node, None, self.data, self.vc, self.version, self.output_nr)
        t = Tensor._new(self.data, self.rg)
        t._vc = self.vc
        if self.rg:
            t.grad_fn = node
            t._output_nr = self.output_nr
        return t


def _raise_modified(node, t, data, vc, version, output_nr):
    """torch's error for a saved tensor written in place after it was saved."""
    shape = ", ".join(str(d) for d in data.shape)
    dt = data.dtype.name
    tname = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
             "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
             "bool": "Bool"}.get(dt, dt)
    src = ""
    if t is None:
        src = f", which is output {output_nr} of {_op_name(node)},"
    elif t.grad_fn is not None:
        fn = t.grad_fn
        if t._base is not None and fn._vv is not None:  # a view: its regenerated node
            from ..ops.view_inplace import refresh_view
            fn = refresh_view(t)
        src = f", which is output {t._output_nr} of {_op_name(fn)},"
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [torch.{tname}Tensor [{shape}]]{src} is "
        f"at version {vc[0]}; expected version {version} instead. Hint: enable "
        "anomaly detection to find the operation that failed to compute its gradient, "
        "with torch.autograd.set_detect_anomaly(True, check_nan=False).")


def _unpack(node, s):
    """A saved entry as a Tensor (version-checked)."""
    if s.__class__ is tuple:
        t, version = s
        if t._vc[0] != version:
            _raise_modified(node, t, t._data, t._vc, version, t._output_nr)
        return t
    return s.unpack(node)


def _op_name(node) -> str:
    """torch's name of the op behind a node in messages: `ExpBackward0` -> `Exp`."""
    name = type(node).__name__
    k = name.rfind("Backward")
    return name[:k] if k > 0 and name[k + 8:].isdigit() else name


class Node:
    """A node of the backward graph. Attributes set by `Function.apply` when it records:
    next_functions, _in_meta ((shape, dtype) per tensor input), _tensor_pos, _n_out."""

    _saved = None
    _freed = False
    _pre_hooks = None      # {output_nr: {id: hook}} from tensor.register_hook on outputs
    _retained = None       # {output_nr: weakref(tensor)} from retain_grad()
    _hooks = None          # post hooks: hook(grad_inputs, grad_outputs)
    _node_pre_hooks = None  # hook(grad_outputs)
    _non_diff = None
    _materialize = True
    _once_differentiable = False
    next_functions = ()
    _n_out = 1
    _out_meta = None
    _vv = None             # view nodes: the version of the base they were made at
    _user = False          # a node of a user's Function (its gradients are not ours to reuse)
    _tensor_pos = None     # positions of the args in next_functions, when not all args are
    # the engine may call a plain node's backward directly: one output, all its edges first
    # among the args (no _tensor_pos), no hooks or retained outputs, not a user's Function,
    # not once_differentiable. Set per class by _FunctionMeta; registering a hook or
    # retain_grad, or a node with _tensor_pos or several outputs, clears it per node
    _plain = False
    # ctx attributes besides the saved tensors that hold a node's saved arrays (a recurrent
    # layer's activations): dropped with them when the graph is freed, kept with retain_graph
    _free_attrs = ()
    _n_args = 0
    metadata = None
    needs_input_grad = _NONE_REQUIRE_GRAD

    # ---- ctx API -----------------------------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        if self.needs_input_grad is _NONE_REQUIRE_GRAD:
            return  # a built-in op running without recording: nothing will be read back
        if len(tensors) == 1:  # (the common cases spelled out: a comprehension costs a call)
            t = tensors[0]
            self._saved = [None if t is None else (t, t._vc[0])]
        elif len(tensors) == 2:
            t, u = tensors
            self._saved = [None if t is None else (t, t._vc[0]),
                           None if u is None else (u, u._vc[0])]
        else:
            self._saved = [None if t is None else (t, t._vc[0]) for t in tensors]

    @property
    def saved_tensors(self):
        saved = self._saved
        if saved is None:
            if self._freed:
                raise RuntimeError(_FREED)
            return ()
        return tuple(None if s is None else _unpack(self, s) for s in saved)

    def _saved_arrays(self):
        """The saved tensors' arrays, version-checked, without building Tensors: for built-in
        backward formulas that compute in NumPy when no graph of the backward is recorded."""
        saved = self._saved
        if saved is None:
            if self._freed:
                raise RuntimeError(_FREED)
            return ()
        out = []
        for s in saved:
            if s is None:
                out.append(None)
            elif s.__class__ is tuple:
                t, version = s
                if t._vc[0] != version:
                    _raise_modified(self, t, t._data, t._vc, version, t._output_nr)
                out.append(t._data)
            else:
                if s.vc[0] != s.version:
                    s.unpack(self)  # raises torch's in-place modification error
                out.append(s.data)
        return out

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff = set(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize = bool(value)

    # ---- node API ----------------------------------------------------------------------
    def __repr__(self):
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def name(self) -> str:
        return type(self).__name__

    def register_hook(self, fn):
        self._plain = False
        if self._hooks is None:
            self._hooks = _HookDict()
        return RemovableHandle(self._hooks, fn)

    def register_prehook(self, fn):
        self._plain = False
        if self._node_pre_hooks is None:
            self._node_pre_hooks = _HookDict()
        return RemovableHandle(self._node_pre_hooks, fn)

    def _add_tensor_hook(self, output_nr, hook):
        self._plain = False
        if self._pre_hooks is None:
            self._pre_hooks = {}
        d = self._pre_hooks.get(output_nr)
        if d is None:
            d = self._pre_hooks[output_nr] = _HookDict()
        return RemovableHandle(d, hook)

    def _add_retain(self, tensor):
        self._plain = False
        if self._retained is None:
            self._retained = {}
        self._retained[tensor._output_nr] = weakref.ref(tensor)

    def _free(self) -> None:
        if self._saved is not None:
            self._saved = None
            self._freed = True
        for name in self._free_attrs:
            setattr(self, name, None)

    def _run_backward(self, grads):
        """Call the op's backward with one gradient per output; returns one per tensor input."""
        if self._once_differentiable and _grad_state.enabled:
            # torch lets the first backward run and fails only when the result is differentiated;
            # running it with grad mode off gives the same values with no graph.
            _grad_state.enabled = False
            try:
                out = self._backward_impl(*grads)
            finally:
                _grad_state.enabled = True
            if any(g is not None and g._rg for g in grads):
                # the gradients depend on something that requires grad: as torch, they require
                # grad through a node that raises when reached, rather than silently dropping
                # this op's second-order terms
                from ..ops.delayed_error import delay_error
                out = delay_error(out if type(out) is tuple else (out,), self)
        else:
            out = self._fwd.backward(self, *grads)
        if type(out) is not tuple:
            out = (out,)
        pos = self._tensor_pos
        n_args = self._n_args if pos is not None else len(self.next_functions)
        if len(out) != n_args:
            if len(out) > n_args and (self._fwd is type(self) or
                                      all(g is None for g in out[n_args:])):
                # built-in ops return None for their trailing optional arguments
                out = out[:n_args]
            else:
                raise RuntimeError(f"function {type(self).__name__} returned an incorrect number "
                                   f"of gradients (expected {n_args}, got {len(out)})")
        if pos is None or len(pos) == len(out):
            return out
        return [out[i] for i in pos]

    def _backward_impl(self, *grads):
        return self._fwd.backward(self, *grads)

    def __call__(self, *grads):
        return self._run_backward(grads)


class AccumulateGrad(Node):
    """The node of a leaf: adds the incoming gradient into `variable.grad`."""
    _n_args = 1
    _tensor_pos = (0,)

    _post_acc_hooks = None  # {id: hook(variable)} run after the gradient is accumulated

    def __init__(self, variable: Tensor):
        self._var_ref = variable  # leaves own their accumulator; the accumulator owns the leaf
        self.next_functions = ()

    @property
    def variable(self) -> Tensor:
        return self._var_ref

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"


class FunctionCtx(Node):
    """The type of `ctx` for users who annotate their Functions."""


def once_differentiable(fn):
    """Mark a backward as not differentiable again (torch.autograd.function.once_differentiable)."""
    fn._once_differentiable = True
    return fn


class _FunctionMeta(type):
    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)
        if ns.get("_is_node_base"):
            return
        if issubclass(cls, Node):
            # a built-in op: the class is its own node
            cls._backward_cls = cls
            cls._fwd = cls
        else:
            cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"_fwd": cls})
        bw = ns.get("backward")
        if bw is not None:
            f = bw.__func__ if isinstance(bw, staticmethod) else bw
            cls._backward_cls._once_differentiable = getattr(f, "_once_differentiable", False)
        node = cls._backward_cls
        node._plain = issubclass(cls, Node) and not node._once_differentiable


class Function(metaclass=_FunctionMeta):
    """Base class of differentiable operations, with torch's static forward/backward protocol:

        class Exp(Function):
            @staticmethod
            def forward(ctx, x):
                y = x.exp(); ctx.save_for_backward(y); return y
            @staticmethod
            def backward(ctx, g):
                y, = ctx.saved_tensors; return g * y

    Exp.apply(x) runs forward with grad recording off and, when an input requires grad, wires a
    node whose backward the engine calls.
    """
    _is_node_base = True
    _view = False         # output shares storage and version counter with the first input
    _save_output = False  # built-in ops: append the output to the saved tensors

    def __init__(self, *args, **kwargs):
        pass

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        return None

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your "
                                  "custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = cls._backward_cls()
        record = False
        if _grad_state.enabled:
            for a in args:
                if isinstance(a, Tensor) and a._rg:
                    record = True
                    break
        if record:
            ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._rg for a in args)
        else:
            ctx.needs_input_grad = _NO_GRAD_TUPLES[len(args)] if len(args) < 16 else \
                tuple([False] * len(args))
        prev = _grad_state.enabled
        _grad_state.enabled = False
        try:
            if cls.setup_context is not Function.setup_context:
                # torch's newer style: forward(*args) without ctx, then setup_context
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        finally:
            _grad_state.enabled = prev
        return _wrap_outputs(cls, ctx, args, out, record)


class BackwardCFunction(Node):
    """Node class base for user Functions (torch.autograd.function.BackwardCFunction)."""

    _user = True

    def __repr__(self):
        return f"<ember.autograd.function.{type(self).__name__} object at {hex(id(self))}>"

    def apply(self, *grads):
        return self._fwd.backward(self, *grads)


def _wrap_outputs(cls, ctx, args, out, record):
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    wrapped = []
    for o in outs:
        if o is None or not (isinstance(o, Tensor) or hasattr(o, "__array__")):
            wrapped.append(o)
            continue
        if not isinstance(o, Tensor):
            o = Tensor._new(o)
        elif o.grad_fn is not None or any(o is a for a in args):
            # a returned input (or a tensor with history) becomes a fresh alias of its storage
            t = Tensor._new(o._data)
            t._vc = o._vc
            o = t
        wrapped.append(o)
    if cls._view and isinstance(args[0], Tensor):
        base = args[0]
        w = wrapped[0]
        w._vc = base._vc
        w._base = base._base if base._base is not None else base
        ctx._vv = base._vc[0]  # the version this view's node reads (see ops/view_inplace.py)
    if record:
        non_diff = ctx._non_diff
        next_fns = []
        meta = []
        pos = []
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                pos.append(i)
                fn = a.grad_fn
                if fn is not None:
                    if a._base is not None and fn._vv is not None and fn._vv != a._vc[0]:
                        from ..ops.view_inplace import refresh_view
                        fn = refresh_view(a)  # its base was written since this node was made
                    next_fns.append((fn, a._output_nr))
                elif a._rg:
                    next_fns.append((a._get_accumulator(), 0))
                else:
                    next_fns.append((None, 0))
                meta.append((a._data.shape, a._data.dtype))
        ctx.next_functions = tuple(next_fns)
        ctx._in_meta = meta
        ctx._tensor_pos = tuple(pos)
        ctx._n_args = len(args)
        ctx._plain = False
        n = 0
        for o in wrapped:
            if isinstance(o, Tensor):
                if (((k := o._data.dtype.kind) == "f" or k == "V" or k == "c")  # bfloat16: "V"
                        and (non_diff is None or id(o) not in non_diff)):
                    o.grad_fn = ctx
                    o._rg = True
                    o._output_nr = n
                n += 1
        ctx._n_out = n
        if n > 1:
            ctx._out_meta = [(o._data.shape, o._data.dtype) for o in wrapped
                             if isinstance(o, Tensor)]
        if cls._save_output:
            if ctx._saved is None:
                ctx._saved = []
            ctx._saved.append(_Saved(wrapped[0], True))
        elif ctx._saved is not None and not issubclass(cls, Node):
            # a user Function saved one of its outputs: keep it without the cycle
            for k, s in enumerate(ctx._saved):
                if s.__class__ is tuple:
                    for o in outs:
                        if s[0] is o:
                            idx = outs.index(o)
                            ctx._saved[k] = _Saved(wrapped[idx], True)
    else:
        ctx._saved = None
    return wrapped[0] if single else tuple(wrapped)
