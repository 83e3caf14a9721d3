"""ember.func (torch.func): functional_call, grad and grad_and_value.

functional_call runs a module with some of its parameters and buffers replaced by the given
tensors for the duration of one call (the way MAML-style code evaluates a model at adapted
weights); the module's own tensors are put back afterwards, even if the call raises.
grad / grad_and_value turn a function returning a scalar tensor into one returning its gradient
with respect to chosen arguments, computed by ember's autograd (composable: grad(grad(f))).
vmap and the forward-mode transforms are not provided (no batching rule machinery).
"""
from __future__ import annotations

from .._tensor import Tensor

__all__ = ["functional_call", "grad", "grad_and_value"]


def _owner(module, name: str):
    """(submodule, attribute) that the dotted name refers to."""
    *path, leaf = name.split(".")
    m = module
    for p in path:
        m = getattr(m, p)
    return m, leaf


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """module(*args, **kwargs) with the named parameters / buffers replaced by the given
    tensors during the call. Tied tensors (one tensor under several names) are replaced under
    all their names when one of them is given (tie_weights)."""
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        given = dict(dicts)
    else:
        given = {}
        for d in dicts:
            clash = set(given) & set(d)
            if clash:
                raise ValueError(f"{', '.join(sorted(clash))} appeared in multiple dictionaries; "
                                 "behavior of functional call is ambiguous")
            given.update(d)
    if tie_weights:
        names_of = {}
        for name, t in list(module.named_parameters(remove_duplicate=False)) + \
                list(module.named_buffers(remove_duplicate=False)):
            names_of.setdefault(id(t), []).append(name)
        for names in names_of.values():
            have = [n for n in names if n in given]
            if have and len(names) > 1:
                first = given[have[0]]
                for n in have[1:]:
                    if given[n] is not first:
                        raise ValueError(f"functional_call got multiple values for keys "
                                         f"{names}, which are tied. Consider using "
                                         f"tie_weights=False")
                for n in names:
                    given.setdefault(n, first)
    if strict:
        known = {n for n, _ in module.named_parameters(remove_duplicate=False)} | \
            {n for n, _ in module.named_buffers(remove_duplicate=False)}
        missing = sorted(known - set(given))
        unexpected = sorted(set(given) - known)
        if missing or unexpected:
            parts = []
            if unexpected:
                parts.append("Unexpected key(s): " + ", ".join(f"'{k}'" for k in unexpected)
                             + ".")
            if missing:
                parts.append("Missing key(s): " + ", ".join(f"'{k}'" for k in missing) + ".")
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t"
                               + "\n\t".join(parts))
    swapped = []  # (owner, dict or None, attribute, old value)
    try:
        for name, value in given.items():
            owner, leaf = _owner(module, name)
            for table in (owner._parameters, owner._buffers):
                if leaf in table:
                    swapped.append((owner, table, leaf, table[leaf]))
                    table[leaf] = value
                    break
            else:  # not a registered tensor: a plain attribute for the call
                swapped.append((owner, None, leaf, owner.__dict__.get(leaf, _ABSENT)))
                object.__setattr__(owner, leaf, value)
        if args is None:
            args = ()
        elif not isinstance(args, tuple):
            args = (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for owner, table, leaf, old in reversed(swapped):
            if table is not None:
                table[leaf] = old
            elif old is _ABSENT:
                owner.__dict__.pop(leaf, None)
            else:
                object.__setattr__(owner, leaf, old)


_ABSENT = object()


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """A function returning (gradient of func's scalar output w.r.t. args[argnums], output)."""
    from ..autograd import grad as _grad
    from ..autograd.grad_mode import enable_grad

    def wrapper(*args, **kwargs):
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        args = list(args)
        originals = {}
        for i in nums:
            a = args[i]
            if not isinstance(a, Tensor):
                raise RuntimeError(f"grad(f)(*args): Expected args[{i}] to be a Tensor, got "
                                   f"{type(a).__name__}")
            originals[i] = a
            # a fresh node on the argument: differentiable in itself, and still connected to
            # an outer transform's variable when it requires grad (grad(grad(f)))
            args[i] = a.view_as(a) if a.requires_grad else a.detach().requires_grad_(True)
        with enable_grad():
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError("grad_and_value(f)(*args): output of function f should be "
                                       "a tuple: (output, aux) if has_aux is True")
                out, aux = out
            if not isinstance(out, Tensor) or out.numel() != 1:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   "scalar Tensor, got tensor with "
                                   f"{out.dim() if isinstance(out, Tensor) else 'no'} dims. "
                                   "Maybe you wanted to use the vjp or jacrev APIs instead?")
            outer = any(originals[i].requires_grad for i in nums)
            grads = _grad(out, [args[i] for i in nums], create_graph=True, allow_unused=True)
        grads = tuple(g if g is not None else args[i].detach() * 0
                      for g, i in zip(grads, nums))
        if not outer:  # nothing outside differentiates these: plain values
            grads = tuple(g.detach() for g in grads)
            out = out.detach()
        g = grads[0] if isinstance(argnums, int) else grads
        return (g, (out, aux)) if has_aux else (g, out)
    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """A function returning the gradient of func's scalar output w.r.t. args[argnums] (and
    func's aux output with has_aux)."""
    gv = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper
