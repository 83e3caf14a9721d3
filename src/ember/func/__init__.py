"""ember.func (torch.func): functional_call, grad, grad_and_value and vmap.

functional_call runs a module with some of its parameters and buffers replaced by the given
tensors for the duration of one call (the way MAML-style code evaluates a model at adapted
weights); the module's own tensors are put back afterwards, even if the call raises.
grad / grad_and_value turn a function returning a scalar tensor into one returning its gradient
with respect to chosen arguments, computed by ember's autograd (composable: grad(grad(f))).
vmap maps a function over a batch dimension by calling it once per batch entry and stacking the
results: the same values as torch's batching rules (composes with grad for per-sample
gradients), at a Python call per entry. Random ops inside follow `randomness` ("error" raises as
torch does; "same" gives every entry the same draws; "different" draws per entry, from ember's
generator in entry order, not torch's batched stream). The forward-mode transforms are not
provided.
"""
from __future__ import annotations

from .._tensor import Tensor

__all__ = ["functional_call", "grad", "grad_and_value", "vmap"]


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


def _flatten(tree):
    """(tensor leaves, rebuild) of a pytree of tensors in tuples / lists / dicts."""
    if isinstance(tree, Tensor):
        return [tree], lambda leaves: leaves[0]
    if isinstance(tree, (tuple, list, dict)):
        items = list(tree.items()) if isinstance(tree, dict) else list(enumerate(tree))
        parts = [_flatten(v) for _, v in items]
        counts = [len(p[0]) for p in parts]

        def rebuild(leaves):
            out, pos = [], 0
            for (_, fn), c in zip(parts, counts):
                out.append(fn(leaves[pos:pos + c]))
                pos += c
            if isinstance(tree, dict):
                return dict(zip([k for k, _ in items], out))
            return type(tree)(out) if isinstance(tree, tuple) else out
        return [leaf for p in parts for leaf in p[0]], rebuild
    raise RuntimeError(f"grad(f)(*args): Expected args to be Tensors or pytrees of Tensors, "
                       f"got {type(tree).__name__}")


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """A function returning (gradient of func's scalar output w.r.t. args[argnums], output);
    an argument may be a pytree (tuple / list / dict) of tensors, its gradient the same tree."""
    from ..autograd import grad as _grad
    from ..autograd.grad_mode import enable_grad

    def wrapper(*args, **kwargs):
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        args = list(args)
        flat, rebuilders, outer = [], [], False
        for i in nums:
            leaves, rebuild = _flatten(args[i])
            outer = outer or any(t.requires_grad for t in leaves)
            # a fresh node on each leaf: differentiable in itself, and still connected to an
            # outer transform's variable when it requires grad (grad(grad(f)))
            leaves = [t.view_as(t) if t.requires_grad else t.detach().requires_grad_(True)
                      for t in leaves]
            args[i] = rebuild(leaves)
            flat.append(leaves)
            rebuilders.append(rebuild)
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
            everything = [t for leaves in flat for t in leaves]
            got = _grad(out, everything, create_graph=True, allow_unused=True)
        got = [g if g is not None else t.detach() * 0 for g, t in zip(got, everything)]
        if not outer:  # nothing outside differentiates these: plain values
            got = [g.detach() for g in got]
            out = out.detach()
        grads, pos = [], 0
        for leaves, rebuild in zip(flat, rebuilders):
            grads.append(rebuild(got[pos:pos + len(leaves)]))
            pos += len(leaves)
        g = grads[0] if isinstance(argnums, int) else tuple(grads)
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


# ---- vmap ----------------------------------------------------------------------------------------
def _leaves(tree, dims):
    """(tensor, in_dim) pairs of a pytree (tensors in tuples / lists / dicts) and its in_dims
    (an int or None for the whole tree, or the same structure)."""
    if isinstance(tree, Tensor):
        yield tree, dims
    elif isinstance(tree, (tuple, list)):
        for i, t in enumerate(tree):
            yield from _leaves(t, dims[i] if isinstance(dims, (tuple, list)) else dims)
    elif isinstance(tree, dict):
        for k, t in tree.items():
            yield from _leaves(t, dims[k] if isinstance(dims, dict) else dims)


def _take(tree, dims, i):
    """The pytree with each batched tensor's entry i along its in_dim."""
    if isinstance(tree, Tensor):
        return tree if dims is None else tree.select(dims, i)
    if isinstance(tree, (tuple, list)):
        out = [_take(t, dims[j] if isinstance(dims, (tuple, list)) else dims, i)
               for j, t in enumerate(tree)]
        return type(tree)(out) if isinstance(tree, tuple) else out
    if isinstance(tree, dict):
        return {k: _take(t, dims[k] if isinstance(dims, dict) else dims, i)
                for k, t in tree.items()}
    return tree


def _stack(results, out_dims):
    from ..ops.shape import stack
    first = results[0]
    if isinstance(first, Tensor):
        return stack(results, out_dims if out_dims >= 0 else first.dim() + 1 + out_dims)
    if isinstance(first, (tuple, list)):
        dims = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * len(first)
        out = [_stack([r[j] for r in results], dims[j]) for j in range(len(first))]
        return type(first)(out) if isinstance(first, tuple) else out
    if isinstance(first, dict):
        return {k: _stack([r[k] for r in results], out_dims[k] if isinstance(out_dims, dict)
                          else out_dims) for k in first}
    raise ValueError(f"vmap: `{type(first).__name__}` is not a Tensor: vmap's function must "
                     "return Tensors (or tuples / lists / dicts of them)")


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """func mapped over dimension in_dims of its inputs, outputs stacked at out_dims."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    name = getattr(func, "__name__", "fn")

    def wrapped(*args, **kwargs):
        from .. import random as _random
        dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not "
                             f"compatible with the structure of `inputs`. in_dims has structure "
                             f"{len(dims)} but inputs has structure {len(args)}.")
        sizes = []
        norm = []
        for a, d in zip(args, dims):
            leaves = list(_leaves(a, d))
            for t, dd in leaves:
                if dd is None:
                    continue
                nd = t.dim()
                if not -nd <= dd < nd:
                    raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got "
                                     f"in_dim={dd} for some input, but that input is a Tensor "
                                     f"of dimensionality {nd} so expected in_dim to satisfy "
                                     f"-{nd} <= in_dim < {nd}.")
                sizes.append(t.shape[dd])
            norm.append(d)
        if not sizes:
            raise ValueError("vmap: Expected at least one Tensor to vmap over")
        if len(set(sizes)) != 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                             f"dimension, got sizes {sizes} for the mapped dimension")
        n = sizes[0]
        start = _random.get_rng_state()
        results = []
        for i in range(n):
            if randomness == "same":
                _random.set_rng_state(start)
            results.append(func(*[_take(a, d, i) for a, d in zip(args, norm)], **kwargs))
            if randomness == "error" and i == 0 and \
                    not _random.get_rng_state().equal(start):
                _random.set_rng_state(start)
                raise RuntimeError("vmap: called random operation while in randomness error "
                                   "mode. Please either use the 'same' or 'different' "
                                   "randomness flags on vmap or perform the randomness "
                                   "operation out of vmap")
        return _stack(results, out_dims)
    return wrapped
