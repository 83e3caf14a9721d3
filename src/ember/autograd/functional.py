"""torch.autograd.functional: vjp, jvp, jacobian, hessian, hvp and vhp of a function of tensors,
by ember's reverse-mode autograd (a jacobian takes one backward per output element; jvp uses the
double-vjp identity). Inputs and outputs may be a tensor or a tuple of tensors, as in torch; the
results carry no graph unless create_graph=True. Gradients of outputs independent of an input are
zeros (strict=True raises instead)."""
from __future__ import annotations

from .._tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(x, arg_name: str, fn_name: str):
    if isinstance(x, Tensor):
        return False, (x,)
    if isinstance(x, (tuple, list)) and all(isinstance(t, Tensor) for t in x):
        return True, tuple(x)
    raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                    f"Tensors but the value at index 0 has type {type(x).__name__}.")


def _prepare(inputs, create_graph: bool):
    """Fresh differentiable versions of the inputs (connected to their graph under
    create_graph, so the result can be differentiated further)."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t.view_as(t))
        else:
            out.append(t.detach().requires_grad_(True))
    return tuple(out)


def _finish(ts, create_graph: bool):
    return tuple(t if t is None or create_graph else t.detach() for t in ts)


def _grads(outputs, inputs, grad_outputs, create_graph, strict, retain=True, what="output"):
    from .engine import grad as _grad
    from .grad_mode import enable_grad
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not pairs:
        res = (None,) * len(inputs)
    else:
        with enable_grad():
            res = _grad([o for o, _ in pairs], inputs, [g for _, g in pairs],
                        retain_graph=retain, create_graph=create_graph, allow_unused=True)
    out = []
    for i, (r, x) in enumerate(zip(res, inputs)):
        if r is None:
            if strict:
                raise RuntimeError(f"The {what} of the user-provided function is independent of "
                                   f"input {i}. This is not allowed in strict mode.")
            r = x.detach() * 0
        out.append(r)
    return tuple(out)


def _call(func, inputs, fn_name):
    from .grad_mode import enable_grad
    with enable_grad():
        outs = func(*inputs)
    is_tuple, outs = _as_tuple(outs, "outputs of the user-provided function", fn_name)
    return is_tuple, outs


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T J): the vector-Jacobian product at inputs."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    inputs = _prepare(inputs, create_graph)
    out_tuple, outs = _call(func, inputs, "vjp")
    if v is None:
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function "
                               "returns a single Tensor with a single element.")
        v = (outs[0].detach() * 0 + 1,)
    else:
        _, v = _as_tuple(v, "v", "vjp")
    res = _grads(outs, inputs, v, create_graph, strict)
    outs, res = _finish(outs, create_graph), _finish(res, create_graph)
    return (outs if out_tuple else outs[0]), (res if in_tuple else res[0])


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J v): the Jacobian-vector product, by differentiating a vjp with respect
    to its vector (the double-vjp identity)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    inputs = _prepare(inputs, True)
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        v = (inputs[0].detach() * 0 + 1,)
    else:
        _, v = _as_tuple(v, "v", "jvp")
    out_tuple, outs = _call(func, inputs, "jvp")
    dummies = tuple((o.detach() * 0).requires_grad_(True) for o in outs)
    g = _grads(outs, inputs, dummies, True, strict)  # u -> J^T u, linear in u
    res = _grads(g, dummies, v, create_graph, strict, what="jvp")
    outs, res = _finish(outs, create_graph), _finish(res, create_graph)
    return (outs if out_tuple else outs[0]), (res if out_tuple else res[0])


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """d func(inputs) / d inputs: shape output.shape + input.shape, nested as torch nests it
    for tuples of outputs and inputs."""
    if strategy not in ("reverse-mode", "forward-mode"):  # (torch's assertion)
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: '
                         'If your function has more outputs than inputs, "forward-mode" tends '
                         'to be more performant. Otherwise, prefer to use "reverse-mode".')
    from ..ops.shape import stack as _stack
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    inputs = _prepare(inputs, create_graph)
    out_tuple, outs = _call(func, inputs, "jacobian")
    blocks = []  # blocks[i][j]: d out_i / d in_j
    for o in outs:
        flat = o.reshape(-1)
        rows = [[] for _ in inputs]
        for k in range(flat.numel()):
            g = _grads((flat[k],), inputs, (flat[k].detach() * 0 + 1,), create_graph, strict)
            for j, gj in enumerate(g):
                rows[j].append(gj)
        row = []
        for j, x in enumerate(inputs):
            if rows[j]:
                jac = _stack(rows[j], 0).reshape(tuple(o.shape) + tuple(x.shape))
            else:
                from ..ops.creation import zeros
                jac = zeros(tuple(o.shape) + tuple(x.shape), dtype=x.dtype)
            row.append(jac if create_graph else jac.detach())
        blocks.append(tuple(row))
    if not out_tuple and not in_tuple:
        return blocks[0][0]
    if not out_tuple:
        return blocks[0]
    if not in_tuple:
        return tuple(b[0] for b in blocks)
    return tuple(blocks)


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar function: the jacobian of its gradient."""
    in_tuple, tup = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        _, outs = _call(func, xs, "hessian")
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor "
                               "with a single element.")
        return _grads(outs, xs, (outs[0].detach() * 0 + 1,), True, strict)

    return jacobian(gradient if in_tuple else (lambda x: gradient(x)[0]),
                    tup if in_tuple else tup[0], create_graph, strict)


def _second(func, inputs, v, create_graph, strict, name):
    in_tuple, inputs = _as_tuple(inputs, "inputs", name)
    _, v = _as_tuple(v, "v", name)
    inputs = _prepare(inputs, True)
    _, outs = _call(func, inputs, name)
    if len(outs) != 1 or outs[0].numel() != 1:
        raise RuntimeError(f"The function given to {name} should return a single Tensor with a "
                           "single element.")
    g = _grads(outs, inputs, (outs[0].detach() * 0 + 1,), True, strict)
    # g . v differentiated: H v (H symmetric for twice-differentiable functions: vhp = hvp)
    res = _grads(g, inputs, v, create_graph, strict, what="gradient")
    outs, res = _finish(outs, create_graph), _finish(res, create_graph)
    return outs[0], (res if in_tuple else res[0])


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T H)."""
    return _second(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H v)."""
    return _second(func, inputs, v, create_graph, strict, "hvp")
