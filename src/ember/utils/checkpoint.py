"""torch.utils.checkpoint: activation checkpointing, trading compute for memory.

checkpoint(fn, *args) runs fn without recording a graph (none of its intermediate activations
are kept); the backward runs fn again with recording on, from the saved inputs and with the
random number generator put back to its state at the forward (dropout masks repeat), and
backpropagates through that recomputation: the parameters used inside fn get their gradients
then, the inputs' gradients flow on. Both use_reentrant modes compute the same; as in torch,
use_reentrant=True gives no gradients when no input requires grad (the output does not), and
use_reentrant=False also trains fn's parameters then. Either way the recomputation's backward
accumulates into the parameters' .grad, so autograd.grad through a checkpoint sees only the
inputs' gradients.
"""
from __future__ import annotations

import warnings

from .._tensor import Tensor
from ..autograd.function import Function

__all__ = ["checkpoint", "checkpoint_sequential"]

_NEEDS_FLAG = ("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
               "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
               "exception. use_reentrant=False is recommended, but if you need to preserve the "
               "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
               "details on the differences between the two variants.")


class CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run, preserve_rng_state, kwargs, anchor, *args):
        from .. import random as _random
        from ..autograd.grad_mode import no_grad
        ctx.run, ctx.kwargs = run, kwargs
        ctx.rng = _random.get_rng_state() if preserve_rng_state else None
        ctx.tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.others = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        with no_grad():
            out = run(*args, **kwargs)
        ctx.single = isinstance(out, Tensor)
        return out

    @staticmethod
    def backward(ctx, *grads):
        from .. import random as _random
        from ..autograd import backward as _backward
        from ..autograd.grad_mode import enable_grad
        saved = ctx.saved_tensors
        args = list(ctx.others)
        inputs = []
        for i, t in zip(ctx.tensor_pos, saved):
            d = t.detach()
            d.requires_grad_(t.requires_grad)
            args[i] = d
            inputs.append(d)
        now = None
        if ctx.rng is not None:
            now = _random.get_rng_state()
            _random.set_rng_state(ctx.rng)
        try:
            with enable_grad():
                out = ctx.run(*args, **ctx.kwargs)
        finally:
            if now is not None:
                _random.set_rng_state(now)
        outs = (out,) if ctx.single else tuple(out)
        pairs = [(o, g) for o, g in zip(outs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if pairs:
            _backward([o for o, _ in pairs], [g for _, g in pairs])
        grads_in = [None] * len(args)
        for i, d in zip(ctx.tensor_pos, inputs):
            grads_in[i] = d.grad if d.requires_grad else None
        return (None, None, None, None) + tuple(grads_in)


def _call(function, args, use_reentrant, preserve_rng_state, kwargs):
    from .. import empty
    anchor = None
    if use_reentrant:
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None")
    else:  # the output must require grad for fn's parameters to train
        anchor = empty(0, requires_grad=True)
    return CheckpointFunction.apply(function, preserve_rng_state, kwargs, anchor, *args)


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, preserve_rng_state: bool = True, **kwargs):
    """function(*args, **kwargs), its activations recomputed in backward instead of kept."""
    if use_reentrant is None:
        warnings.warn(_NEEDS_FLAG)
        use_reentrant = True
    if use_reentrant and kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if context_fn is not None:
        raise NotImplementedError("checkpoint: context_fn is not supported by ember")
    return _call(function, args, use_reentrant, preserve_rng_state, kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run a Sequential (or list of modules) in `segments` checkpointed chunks; the last chunk
    runs normally, as torch does."""
    if use_reentrant is None:
        warnings.warn(_NEEDS_FLAG)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    fns = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = len(fns) // segments

    def run(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = fns[j](x)
            return x
        return forward

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = _call(run(start, end), (input,), use_reentrant, preserve, {})
    return run(end + 1, len(fns) - 1)(input)
