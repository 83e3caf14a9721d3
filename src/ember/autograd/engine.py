"""The backward pass: an iterative walk of the graph in dependency order.

Gradients flow as Tensors (so `create_graph=True` records a graph of the backward itself); with
create_graph off, backward runs with grad mode off and each node costs one NumPy call or two.
Broadcasting is undone here, once for every op: a gradient whose shape differs from its input's
is summed down with `sum_to`, and its dtype cast back to the input's (torch's validate_outputs).

Gradient buffers are accumulated in place when the engine owns them. It does not own an array
that was handed to two places (a node returning the same gradient for two inputs, a hook, a
retained or captured gradient, a user's backward); such arrays are copied before being written.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .grad_mode import state as _grad_state
from .function import AccumulateGrad
from .anomaly_mode import check as _anomaly_check, state as _anomaly

__all__ = ["backward", "grad"]


def _root(a: np.ndarray):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return id(a)


def _ones_like_output(out: Tensor) -> Tensor:
    """The implicit gradient of a scalar output: 1."""
    if out._rg and out._data.size != 1:
        raise RuntimeError("grad can be implicitly created only for scalar outputs")
    shape = out._data.shape  # (np.array is 5x faster than np.ones for a 0-dim array)
    return Tensor._new(np.array(1, out._data.dtype) if shape == () else
                       np.ones(shape, out._data.dtype))


def _make_root_grads(outputs, grad_outputs, create_graph, aliased):
    grads = []
    for i, out in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            g = _ones_like_output(out)
        else:
            if not isinstance(g, Tensor):
                from ..ops.creation import tensor as _tensor
                g = _tensor(g, dtype=out.dtype)
            if g._data.shape != out._data.shape:
                from .._size import Size
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{Size(g._data.shape)} and output[{i}] has a shape of "
                                   f"{Size(out._data.shape)}.")
            if not create_graph and g.grad_fn is not None:
                g = g.detach()
            if g._data.dtype != out._data.dtype:  # torch's engine casts it to the output's
                g = g.to(out.dtype)
            aliased.add(_root(g._data))
        grads.append(g)
    return grads


def _edge_of(t: Tensor, i: int, what="tensors"):
    fn = t.grad_fn
    if fn is not None:
        if t._base is not None and fn._vv is not None:
            from ..ops.view_inplace import refresh_view
            fn = refresh_view(t)
        return fn, t._output_nr
    if t._rg:
        return t._get_accumulator(), 0
    raise RuntimeError(f"element {i} of {what} does not require grad and does not have a grad_fn")


def _tensor_tuple(tensors) -> tuple:
    """One tensor or a sequence of them, as a tuple."""
    return (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)


def _grad_tuple(grads, n: int, mismatch: str):
    """The output gradients (None, one tensor or a sequence) as a tuple of n or None; `mismatch`
    is the error message for another length, formatted with (that length, n)."""
    if grads is None:
        return None
    grads = _tensor_tuple(grads)
    if len(grads) != n:
        raise RuntimeError(mismatch.format(len(grads), n))
    return grads


def _run(roots, outputs, grad_outputs, retain_graph, create_graph, capture, accumulate_only):
    """Seed the roots with the outputs' gradients and walk the graph (see _execute)."""
    if retain_graph is None:
        retain_graph = create_graph
    aliased = set()
    grads = _make_root_grads(outputs, grad_outputs, create_graph, aliased)
    return _execute(roots, grads, retain_graph, create_graph, aliased, capture, accumulate_only)


def tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """`Tensor.backward`: the gradient of self w.r.t. graph leaves, into their `.grad`."""
    if gradient is None and inputs is None:  # loss.backward(): one root, its gradient 1
        root = _edge_of(self, 0)
        g = _ones_like_output(self)
        _execute([root], [g], create_graph if retain_graph is None else retain_graph,
                 create_graph, set(), None, None)
        return
    backward((self,), None if gradient is None else (gradient,), retain_graph, create_graph,
             inputs=inputs)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None,
             inputs=None):
    """Compute the sum of gradients of `tensors` w.r.t. graph leaves into their `.grad`."""
    tensors = _tensor_tuple(tensors)
    grad_tensors = _grad_tuple(grad_tensors if grad_tensors is not None else grad_variables,
                               len(tensors), "grad_tensors should have the same length as tensors "
                               "({} != {})")
    roots = [_edge_of(t, i) for i, t in enumerate(tensors)]
    only = None
    if inputs is not None:
        if isinstance(inputs, Tensor):
            inputs = (inputs,)
        if len(inputs) == 0:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        only = [_edge_of(t, i, "inputs") for i, t in enumerate(inputs)]
    _run(roots, tensors, grad_tensors, retain_graph, create_graph, capture=None,
         accumulate_only=only)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return the gradients of `outputs` w.r.t. `inputs` without touching any `.grad`."""
    outputs = _tensor_tuple(outputs)
    inputs = _tensor_tuple(inputs)
    grad_outputs = _grad_tuple(grad_outputs, len(outputs),
                               "grad requires one grad_output per output ({} != {})")
    if allow_unused is None:
        allow_unused = materialize_grads
    for i, t in enumerate(inputs):
        if not t._rg:
            raise RuntimeError(f"One of the differentiated Tensors does not require grad")
    roots = [_edge_of(t, i) for i, t in enumerate(outputs)]
    capture = {}
    for i, t in enumerate(inputs):
        key = (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._get_accumulator(), 0)
        capture.setdefault(key, []).append(i)
    results = _run(roots, outputs, grad_outputs, retain_graph, create_graph, capture=capture,
                   accumulate_only=())
    out = []
    for i, r in enumerate(results[:len(inputs)] if results else [None] * len(inputs)):
        if r is None:
            if materialize_grads:
                from ..ops.creation import zeros_like
                r = zeros_like(inputs[i])
            elif not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
        out.append(r)
    return tuple(out)


def _graph(roots):
    """Dependency counts of every node reachable from the roots (iteratively: no recursion)."""
    deps = {}
    stack = []
    for node, _ in roots:
        if node not in deps:
            deps[node] = 0
            stack.append(node)
    while stack:
        node = stack.pop()
        for child, _ in node.next_functions:
            if child is None:
                continue
            if child in deps:
                deps[child] += 1
            else:
                deps[child] = 1
                stack.append(child)
    return deps


def _needed(roots, targets):
    """Nodes from which a target node can be reached (post-order, iteratively)."""
    needed = {}
    for root, _ in roots:
        if root in needed:
            continue
        stack = [(root, iter(root.next_functions))]
        pushed = {root}
        while stack:
            node, it = stack[-1]
            for child, _ in it:
                if child is not None and child not in needed and child not in pushed:
                    pushed.add(child)
                    stack.append((child, iter(child.next_functions)))
                    break
            else:
                stack.pop()
                needed[node] = node in targets or any(
                    needed.get(c, False) for c, _ in node.next_functions if c is not None)
    return needed


def _execute(roots, grads, retain_graph, create_graph, aliased, capture, accumulate_only):
    deps = _graph(roots)
    needed = None
    if capture is not None or accumulate_only is not None:
        targets = set(k[0] for k in capture) if capture else set()
        if accumulate_only:
            targets.update(n for n, _ in accumulate_only)
        needed = _needed(roots, targets)
    acc_allowed = None if accumulate_only is None else set(n for n, _ in accumulate_only)
    # capture targets below which nothing is wanted: their incoming gradient is captured and
    # their backward not run (as torch: autograd.grad(out, hidden) stops at hidden's node)
    stop = None
    if capture:
        stop = set(n for n, _ in capture if (acc_allowed is None or n not in acc_allowed)
                   and not any(needed.get(c, False) for c, _ in n.next_functions
                               if c is not None))
    results = None
    if capture:
        results = [None] * (1 + max(i for v in capture.values() for i in v))

    buffers = {}
    ready = []
    for (node, nr), g in zip(roots, grads):
        _add_to_buffer(buffers, node, nr, g, create_graph, aliased)
        if deps[node] == 0 and node not in ready:
            ready.append(node)

    plain_ok = not capture
    # a leaf reached by one edge only, without hooks: its gradient accumulated as soon as it is
    # computed, not queued as a node (nothing can observe the order: no hooks, captures, filters)
    direct_acc = not capture and acc_allowed is None
    prev = _grad_state.enabled
    _grad_state.enabled = bool(create_graph)
    try:
        while ready:
            node = ready.pop()
            buf = buffers.pop(node, None)
            if buf is None or (needed is not None and not needed.get(node, False)):
                _release(node, deps, ready)  # nothing flows: release its inputs
                continue
            if node._plain and plain_ok:
                # the common node (a built-in op, one output, no hooks): _call_node's steps
                # inline, as this loop runs once per node per training step
                outs = node._fwd.backward(node, buf[0])
                if not retain_graph:
                    if node._saved is not None:
                        node._saved = None
                        node._freed = True
                    if node._free_attrs:
                        node._free()
                if outs.__class__ is not tuple:
                    outs = (outs,)
                elif not node._fresh_grads and (len(outs) > 2 or
                                                 (len(outs) == 2 and outs[1] is not None)):
                    _mark_shared(outs, aliased, False)
                if _anomaly.enabled:
                    _anomaly_check(node, outs)
            elif node.__class__ is AccumulateGrad:
                if node._pre_hooks or node._retained or node._node_pre_hooks or capture:
                    buf = _pre_node(node, buf, create_graph, aliased, capture, results)
                if acc_allowed is None or node in acc_allowed:
                    _accumulate(node._var_ref, buf[0], create_graph, aliased)
                    if node._post_acc_hooks:  # register_post_accumulate_grad_hook (DDP's trigger)
                        for h in list(node._post_acc_hooks.values()):
                            h(node._var_ref)
                if node._hooks:  # the node's own post hooks: (no grad_inputs, its grad_outputs)
                    for h in list(node._hooks.values()):
                        h((), tuple(buf))
                continue
            else:
                if node._pre_hooks or node._retained or node._node_pre_hooks or capture:
                    buf = _pre_node(node, buf, create_graph, aliased, capture, results)
                if stop and node in stop:
                    _release(node, deps, ready)
                    continue
                outs = _call_node(node, buf, retain_graph, aliased)
                if _anomaly.enabled:
                    _anomaly_check(node, outs)
            meta = node._in_meta
            i = 0
            for child, nr in node.next_functions:
                if child is not None:
                    g = outs[i]
                    if g is not None:
                        if g.__class__ is not Tensor and not isinstance(g, Tensor):
                            _bad_gradient(node, g)
                        shape, dt = meta[i]  # the input's shape and dtype
                        gd = g._data
                        if gd.shape != shape:
                            g = _reduce_to(node, i, g, shape)
                            gd = g._data
                        if gd.dtype is not dt and gd.dtype != dt:
                            g = g.to(_dtype_of(dt)) if create_graph else Tensor._new(gd.astype(dt))
                        if direct_acc and child.__class__ is AccumulateGrad and \
                                deps[child] == 1 and not (
                                    child._pre_hooks or child._retained or child._post_acc_hooks
                                    or child._node_pre_hooks or child._hooks) and \
                                child not in buffers:  # (an earlier edge's gradient waits there)
                            deps[child] = 0
                            _accumulate(child._var_ref, g, create_graph, aliased)
                            i += 1
                            continue
                        buf = buffers.get(child)
                        if buf is None:
                            buffers[child] = [g] if child._n_out == 1 else \
                                _first_buffer(child._n_out, nr, g)
                        elif buf[nr] is None:
                            buf[nr] = g
                        else:
                            buf[nr] = _sum_grads(buf[nr], g, create_graph, aliased)
                    d = deps[child] - 1
                    deps[child] = d
                    if d == 0:
                        ready.append(child)
                i += 1
    finally:
        _grad_state.enabled = prev
    return results


def _release(node, deps, ready) -> None:
    """A node whose backward does not run: its inputs stop waiting for it."""
    for child, _ in node.next_functions:
        if child is not None:
            d = deps[child] - 1
            deps[child] = d
            if d == 0:
                ready.append(child)


def _first_buffer(n_out, nr, g):
    buf = [None] * n_out
    buf[nr] = g
    return buf


def _add_to_buffer(buffers, node, nr, g, create_graph, aliased):
    buf = buffers.get(node)
    if buf is None:
        buf = buffers[node] = [None] * node._n_out
    old = buf[nr]
    buf[nr] = g if old is None else _sum_grads(old, g, create_graph, aliased)


def _sum_grads(old, g, create_graph, aliased):
    """Two gradients for the same tensor: add in place into `old` when the engine owns it."""
    if create_graph:
        return old + g
    a = old._data
    b = g._data
    # small arrays: a new sum is cheaper than NumPy's in-place call; large ones are added into
    # `old` when the engine owns it and nothing else could see the write
    if a.size > _INPLACE_MIN and a.shape == b.shape and a.dtype == b.dtype and \
            a.flags.writeable and a.flags.c_contiguous and _root(a) not in aliased:
        np.add(a, b, a)
        return old
    return Tensor._new(a + b)


_INPLACE_MIN = 1024  # elements


def _pre_node(node, buf, create_graph, aliased, capture, results):
    """Tensor hooks, retain_grad and autograd.grad captures on the gradients entering a node."""
    if node._pre_hooks or node._retained:
        for nr in range(len(buf)):
            g = buf[nr]
            if g is None:
                continue
            hooks = node._pre_hooks.get(nr) if node._pre_hooks else None
            if hooks:
                for h in list(hooks.values()):
                    r = h(g)
                    if r is not None:
                        g = r
                aliased.add(_root(g._data))
            ref = node._retained.get(nr) if node._retained else None
            t = ref() if ref is not None else None
            if t is not None:
                if t._grad is None:
                    t._grad = g if create_graph else Tensor._new(g._data.copy())
                else:
                    t._grad = t._grad + g
            buf[nr] = g
    if node._node_pre_hooks:
        for h in list(node._node_pre_hooks.values()):
            r = h(tuple(buf))
            if r is not None:
                buf = list(r)
        for g in buf:
            if g is not None:
                aliased.add(_root(g._data))
    if capture:
        for nr, g in enumerate(buf):
            idxs = capture.get((node, nr))
            if idxs is not None:
                if g is not None:
                    aliased.add(_root(g._data))
                for i in idxs:
                    results[i] = g
    return buf


def _call_node(node, buf, retain_graph, aliased):
    if len(buf) > 1 and node._materialize:
        for i, g in enumerate(buf):
            if g is None:
                shape, dt = node._out_meta[i]
                buf[i] = Tensor._new(np.zeros(shape, dt))
    outs = node._run_backward(buf)
    if not retain_graph:
        node._free()
    if node._hooks:
        for h in list(node._hooks.values()):
            r = h(outs, tuple(buf))
            if r is not None:
                outs = tuple(r)
    user = node._user
    if len(outs) > 1 or user:
        _mark_shared(outs, aliased, user)
    for g in outs:
        if g is not None and not isinstance(g, Tensor):
            _bad_gradient(node, g)
    return outs


def _mark_shared(outs, aliased, user):
    """Record arrays a node handed to more than one input (AddBackward0 returns g twice), and
    every array from a user's backward: the engine must not add into those in place."""
    if not user:
        g0, g1 = outs[0], outs[1]
        if g0 is not None and g1 is not None and (len(outs) == 2 or outs[2] is None):
            a, b = g0._data, g1._data
            if a is b or ((a.base is not None or b.base is not None) and _root(a) == _root(b)):
                aliased.add(_root(a))
            return
    seen = set()
    for g in outs:
        if isinstance(g, Tensor):
            r = _root(g._data)
            if user or r in seen:
                aliased.add(r)
            seen.add(r)


def _bad_gradient(node, g):
    raise TypeError(f"function {type(node).__name__} returned a gradient of type "
                    f"{type(g).__name__}; expected a Tensor or None")


def _dtype_of(np_dt):
    from .._dtype import from_numpy_dtype
    return from_numpy_dtype(np_dt)


def _reduce_to(node, i, g, shape):
    from ..ops.util import sum_to, is_expandable_to
    if not is_expandable_to(shape, g._data.shape):
        from .._size import Size
        raise RuntimeError(f"Function {type(node).__name__} returned an invalid gradient at index "
                           f"{i} - got {list(g._data.shape)} but expected shape compatible with "
                           f"{list(shape)}")
    return sum_to(g, shape)


def _accumulate(var: Tensor, g: Tensor, create_graph: bool, aliased) -> None:
    if var._hooks:
        for h in list(var._hooks.values()):
            r = h(g)
            if r is not None:
                g = r
        aliased.add(_root(g._data))
    a = g._data
    if a.dtype is not var._data.dtype and a.dtype != var._data.dtype:
        g = Tensor._new(a.astype(var._data.dtype))
        a = g._data
    if create_graph:
        var._grad = g if var._grad is None else var._grad + g
        return
    old = var._grad
    if old is None:
        fl = a.flags
        if not (fl.c_contiguous and fl.writeable) or \
                (id(a) if a.base is None else _root(a)) in aliased:
            var._grad = Tensor._new(np.array(a, order="C"))
        elif g.grad_fn is None and g._base is None and g.__class__ is Tensor:
            var._grad = g  # the engine's own gradient: kept, as torch's AccumulateGrad steals it
        else:
            var._grad = Tensor._new(a)
    elif old.grad_fn is not None:
        var._grad = Tensor._new(old._data + a)
    else:
        x = old._data
        np.add(x, a, x)
        old._vc[0] += 1
