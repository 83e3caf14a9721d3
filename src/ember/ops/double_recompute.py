"""Double backward by recomputation, for ops whose fast backward records nothing.

Under create_graph an op's gradients must be recorded ops. For an op whose forward is a short
composite of differentiable ops (group / instance / batch normalization), the simplest exact
way is to run that composite again on the op's own input tensors with recording on and take
its gradients with create_graph: the result is connected to the inputs and to the incoming
gradient as torch's double-backward formulas are. It costs a recomputed forward, only when a
graph of the backward is asked for (gradient penalties, Hessian-vector products).

`record(out, composite, *inputs)` keeps the inputs and the composite (a callable, or a
(class, arguments) pair that makes one, cheaper to record on a hot path) on out's node, freed
with the graph (the node class lists "recompute" in _free_attrs); `backward(ctx, grad, n)`
answers the op's backward with one gradient per argument.
"""
from __future__ import annotations

from .._tensor import Tensor


def record(out: Tensor, composite, *inputs) -> Tensor:
    node = out.grad_fn
    if node is not None:
        node.recompute = (composite, inputs)
    return out


def backward(ctx, grad: Tensor, n_args: int):
    """Gradients of the recorded composite w.r.t. the op's tensor arguments that need them,
    followed by None for the remaining of its n_args arguments."""
    from ..autograd import grad as _grad
    entry = getattr(ctx, "recompute", None)
    if entry is None:
        ctx._saved_arrays()  # torch's error for a graph already freed
        raise RuntimeError(f"{type(ctx).__name__}: double backward needs the op's recorded "
                           "inputs (ops/double_recompute.record)")
    composite, inputs = entry
    if type(composite) is tuple:  # (class, arguments): built only when a graph is asked for
        composite = composite[0](*composite[1])
    need = ctx.needs_input_grad
    wanted = [i for i, t in enumerate(inputs)
              if isinstance(t, Tensor) and i < len(need) and need[i]]
    out = composite(*inputs)
    got = _grad(out, [inputs[i] for i in wanted], grad, create_graph=True, allow_unused=True)
    result = [None] * n_args
    for i, g in zip(wanted, got):
        result[i] = g if g is not None else inputs[i].detach() * 0  # torch: zeros, not None
    return tuple(result)


def channel_affine(out: Tensor, weight, bias) -> Tensor:
    """out * weight + bias per channel (dim 1), as recorded ops (the normalizations' tail)."""
    shape = (1, out.shape[1]) + (1,) * (out.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out
