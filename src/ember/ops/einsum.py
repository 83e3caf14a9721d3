"""torch.einsum: NumPy's einsum (BLAS contraction paths for two or more operands) as one op
with a hand-written backward.

The equation is first made canonical: spaces dropped, '...' replaced by letters the equation
does not use, the implicit output (no '->') spelled out. Size-1 dims broadcast against a letter's
size, as torch allows.
"""
from __future__ import annotations

import string

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from .base import Op

_new = Tensor._new
_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # torch's implicit output order
_PARSED: dict = {}
_PATHS: dict = {}


def _terms(equation: str):
    """The input terms and output term (None when implicit) of an equation, each a list of
    letters and '...', with torch's errors for invalid characters."""
    lhs, arrow, rhs = equation.partition("->")
    terms = []
    for part, offset in ((lhs, 0), (rhs, len(lhs) + 2)):
        if part is rhs and not arrow:
            continue
        for raw in part.split(",") if part is lhs else [part]:
            term, i = [], 0
            while i < len(raw):
                c = raw[i]
                if c == ".":
                    if raw[i:i + 3] != "..." or "..." in term:
                        raise RuntimeError(f"einsum(): found '.' for operand {len(terms)} that "
                                           f"is not part of any ellipsis")
                    term.append("...")
                    i += 3
                    continue
                if c != " ":
                    if c not in _LETTERS:
                        raise RuntimeError(f"einsum(): invalid subscript given at index "
                                           f"{offset + i} in the equation string, subscripts "
                                           f"must be in [a-zA-Z]")
                    term.append(c)
                i += 1
            terms.append(term)
            offset += len(raw) + 1
    return (terms[:-1], terms[-1]) if arrow else (terms, None)


def _parse(equation: str, shapes):
    """(canonical equation, per-operand letter strings, output letters, letter sizes)."""
    key = (equation, shapes)
    hit = _PARSED.get(key)
    if hit is not None:
        return hit
    ins, out = _terms(equation)
    if len(ins) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    if len(ins) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    used = {c for t in ins for c in t} | set(out or ())
    spare = [c for c in _LETTERS if c not in used]
    n_ell = 0
    for i, (t, shp) in enumerate(zip(ins, shapes)):
        n = len(t) - ("..." in t)
        if "..." in t:
            if n > len(shp):
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) is "
                                   f"more than the number of dimensions ({len(shp)}) for "
                                   f"operand {i}")
            n_ell = max(n_ell, len(shp) - n)
        elif n != len(shp):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) does "
                               f"not match the number of dimensions ({len(shp)}) for operand {i} "
                               f"and no ellipsis was given")
    ell = "".join(spare[:n_ell])
    subs = []
    for t, shp in zip(ins, shapes):
        k = len(shp) - (len(t) - ("..." in t))
        subs.append("".join(ell[n_ell - k:] if c == "..." else c for c in t))
    if out is None:
        counts = {}
        for s in subs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        has_ell = any("..." in t for t in ins)
        outs = (ell if has_ell else "") + "".join(
            c for c in _LETTERS if counts.get(c) == 1 and c not in ell)
    else:
        outs = ""
        for c in out:
            c = ell if c == "..." else c
            for ch in c:
                if ch in outs:
                    raise RuntimeError(f"einsum(): output subscript {ch} appears more than once "
                                       f"in the output")
                if not any(ch in s for s in subs):
                    raise RuntimeError(f"einsum(): output subscript {ch} does not appear in the "
                                       f"equation for any input operand")
                outs += ch
    sizes = {}
    for i, (s, shp) in enumerate(zip(subs, shapes)):
        seen = {}
        for c, n in zip(s, shp):
            if c in seen and seen[c] != n:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {i} but the "
                                   f"sizes don't match, {n} != {seen[c]}")
            seen[c] = n
            m = sizes.get(c, 1)
            if m != n and m != 1 and n != 1:
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes "
                                   f"(original->remapped): subscript {c} has sizes {m} and {n}")
            if c not in sizes or m == 1:
                sizes[c] = n
    hit = (",".join(subs) + "->" + outs, tuple(subs), outs, sizes)
    if len(_PARSED) > 256:
        _PARSED.clear()
    _PARSED[key] = hit
    return hit


def _einsum(eq: str, *arrays) -> np.ndarray:
    """np.einsum with the contraction path cached per equation and shapes."""
    if len(arrays) < 2:
        return np.einsum(eq, *arrays)
    key = (eq,) + tuple(a.shape for a in arrays)
    path = _PATHS.get(key)
    if path is None:
        if len(_PATHS) > 256:
            _PATHS.clear()
        path = _PATHS[key] = np.einsum_path(eq, *arrays, optimize="greedy")[0]
    return np.einsum(eq, *arrays, optimize=path)


def _broadcast(a: np.ndarray, sub: str, sizes) -> np.ndarray:
    """a with its size-1 dims stretched to their letter's size (a view)."""
    want = tuple(sizes[c] for c in sub)
    return a if a.shape == want else np.broadcast_to(a, want)


class EinsumBackward0(Op):
    """out = einsum(equation, *operands).  d operand_i = einsum(out, others -> i's letters)
    of the incoming gradient, broadcast over the letters only operand i has, summed over the
    dims it broadcast, and placed on the diagonal where a letter repeats within operand i."""

    @staticmethod
    def forward(ctx, parsed, *operands):
        eq, subs, outs, sizes = parsed
        arrays = [_broadcast(t._data, s, sizes) for t, s in zip(operands, subs)]
        out = _einsum(eq, *arrays)
        if len(arrays) == 1 and np.may_share_memory(out, arrays[0]):
            out = out.copy()  # einsum returns views for transposes and diagonals
        if any(ctx.needs_input_grad):
            ctx.parsed, ctx.arrays = parsed, arrays
            ctx.shapes = [t._data.shape for t in operands]
            ctx.save_for_backward(*operands)  # read only by a backward that builds a graph
        return np.asarray(out)

    @staticmethod
    def backward(ctx, g):
        if _grad_state.enabled:  # create_graph: the gradients as einsums, differentiable again
            return _backward_graph(ctx, g)
        eq, subs, outs, sizes = ctx.parsed
        arrays = ctx.arrays
        gd = g._data
        grads = [None]
        for i, s in enumerate(subs):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            others = [a for j, a in enumerate(arrays) if j != i]
            other_subs = [t for j, t in enumerate(subs) if j != i]
            uniq = "".join(dict.fromkeys(s))
            avail = set(outs).union(*other_subs)
            keep = "".join(c for c in uniq if c in avail)
            miss = "".join(c for c in uniq if c not in avail)
            gi = _einsum(",".join([outs] + other_subs) + "->" + keep, gd, *others)
            if miss:
                gi = gi.reshape(gi.shape + (1,) * len(miss))
            order = keep + miss
            if order != uniq:
                gi = gi.transpose([order.index(c) for c in uniq])
            shape = ctx.shapes[i]
            first = {c: shape[s.index(c)] for c in uniq}  # operand i's own size per letter
            red = tuple(k for k, c in enumerate(uniq) if first[c] == 1 and sizes[c] != 1)
            if red:
                gi = gi.sum(red, keepdims=True)
            if miss:
                gi = np.broadcast_to(gi, tuple(first[c] for c in uniq))
            if len(uniq) != len(s):  # a repeated letter: the gradient lives on the diagonal
                z = np.zeros(shape, gd.dtype)
                np.einsum(f"{s}->{uniq}", z)[...] = gi
                gi = z
            elif not gi.flags.writeable or np.may_share_memory(gi, gd) or any(
                    np.may_share_memory(gi, a) for a in others):
                gi = gi.copy()
            grads.append(_new(np.ascontiguousarray(gi)))
        return tuple(grads)


def _backward_graph(ctx, g: Tensor):
    """EinsumBackward0's gradients as ember einsums of g and the other operands (recorded, so
    they can be differentiated again). A letter repeated within operand i gets a fresh letter
    tied to it by an identity matrix (the gradient lives on the diagonal); a letter that only
    operand i has gets a ones vector (the gradient is constant along it); a dim operand i
    broadcast (size 1) is summed by leaving its letter out of the result."""
    _, subs, outs, sizes = ctx.parsed
    ops = ctx.saved_tensors
    dt = g._data.dtype
    spare = iter(c for c in _LETTERS if c not in set("".join(subs) + outs))
    grads = [None]
    for i, s in enumerate(subs):
        if not ctx.needs_input_grad[i + 1]:
            grads.append(None)
            continue
        terms = [outs] + [t for j, t in enumerate(subs) if j != i]
        tensors = [g] + [o for j, o in enumerate(ops) if j != i]
        shape = ops[i]._data.shape
        res, seen = "", set()
        for c, n in zip(s, shape):
            if n == 1 and sizes[c] != 1:
                continue  # broadcast by the forward: its gradient is summed
            if c in seen:
                p = next(spare)
                terms.append(c + p)
                tensors.append(_new(np.eye(sizes[c], dtype=dt)))
                res += p
            else:
                seen.add(c)
                res += c
        for c in res:
            if not any(c in t for t in terms):
                terms.append(c)
                tensors.append(_new(np.ones(sizes[c], dt)))
        grads.append(einsum(",".join(terms) + "->" + res, *tensors).reshape(shape))
    return tuple(grads)


_DTYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _subscript(n) -> str:
    """One sublist entry as an equation letter: 0-25 -> 'A'-'Z', 26-51 -> 'a'-'z', Ellipsis ->
    '...' (torch's mapping, so the implicit output order is the integers' order)."""
    if n is Ellipsis:
        return "..."
    if isinstance(n, Tensor):  # torch compares the tensor with Ellipsis first
        if n._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        n = n.item()
    if isinstance(n, str):
        raise TypeError(f"'>=' not supported between instances of 'str' and 'int'")
    if not 0 <= n < 52:
        raise ValueError("einsum(): subscript in subscript list is not within the valid range "
                         "[0, 52)")
    if not isinstance(n, (int, np.integer)):
        raise TypeError(f"'{type(n).__name__}' object cannot be interpreted as an integer")
    return _LETTERS[int(n)]


def _from_sublists(args):
    """The sublist form einsum(op1, sub1, op2, sub2, ..., [sub_out]) as (equation, operands):
    an odd number of arguments ends with the output sublist."""
    subs = args[1::2]
    if len(args) % 2:
        out, operands, subs = args[-1], args[:-1:2], args[1:-1:2]
    else:
        out, operands = None, args[::2]
    for i, o in enumerate(operands):
        if not isinstance(o, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 1, but got "
                            f"{type(o).__name__}")
    eq = ",".join("".join(_subscript(n) for n in s) for s in subs)
    if out is not None:
        eq += "->" + "".join(_subscript(n) for n in out)
    return eq, operands


def einsum(*args) -> Tensor:
    """Sum of products over the subscripts of `equation` ('ij,jk->ik'; '...' for broadcast
    dims; implicit output: the letters used once, in alphabetical order, after the ellipsis).
    Operands may also be given as one list, or in the sublist form einsum(op1, [0, 1], op2,
    [1, 2], [0, 2]) (integers 0-51 and Ellipsis as subscripts, the output sublist optional).
    Shape: as the output subscripts."""
    if len(args) < 2:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    if isinstance(args[0], Tensor):
        equation, operands = _from_sublists(args)
    else:
        equation, operands = args[0], args[1:]
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for o in operands:
        if not isinstance(o, Tensor):
            raise TypeError(f"einsum(): argument 'operands' must be tuple of Tensors, not "
                            f"{type(o).__name__}")
    if operands:
        dt = operands[0]._data.dtype
        for o in operands[1:]:
            if o._data.dtype != dt:
                raise RuntimeError(f"expected scalar type {_DTYPE_NAMES.get(dt.name, dt.name)} "
                                   f"but found "
                                   f"{_DTYPE_NAMES.get(o._data.dtype.name, o._data.dtype.name)}")
    parsed = _parse(equation, tuple(o._data.shape for o in operands))
    return EinsumBackward0.apply(parsed, *operands)
