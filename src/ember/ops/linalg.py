"""Matrix products: mm, bmm, mv, dot, outer, matmul, addmm (the fused linear layer's GEMM)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .base import Op
from .util import promote
from ._gemm import gemm
from ..amp.autocast_mode import cast_low as _amp_low, state as _amp

_new = Tensor._new


_C_NAMES = {"float32": "float", "float64": "double", "int64": "long int", "float16": "c10::Half",
            "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool"}
_T_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _check_dtypes(a, b, kind="mm"):
    """torch's dtype-mismatch message of each product (they differ from op to op)."""
    da, db = a._data.dtype, b._data.dtype
    if da == db:
        return
    if kind == "mm":
        msg = (f"expected m1 and m2 to have the same dtype, but got: {_C_NAMES[da.name]} != "
               f"{_C_NAMES[db.name]}")
    elif kind == "bmm":
        msg = f"expected scalar type {_T_NAMES[da.name]} but found {_T_NAMES[db.name]}"
    elif kind == "mv":
        from .util import result_dtype
        out = result_dtype(a, b).np
        msg = (f"addmv input tensors must have the same dtype, but got {_T_NAMES[out.name]}, "
               f"{_T_NAMES[da.name]}, and {_T_NAMES[db.name]}")
    else:
        msg = (f"dot : expected both vectors to have same dtype, but found {_T_NAMES[da.name]} "
               f"and {_T_NAMES[db.name]}")
    raise RuntimeError(msg)


class MmBackward0(Op):
    """out = a @ b (2-D);  da = g @ b.T, db = a.T @ g"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        return gemm(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g.mm(b.t()) if ctx.needs_input_grad[0] else None,
                a.t().mm(g) if ctx.needs_input_grad[1] else None)


def mm(input, mat2):
    if _amp.on:  # autocast: mm runs in the lower precision
        input, mat2 = _amp_low(input, mat2)
    a, b = input._data, mat2._data
    if a.dtype == np.bool_ or b.dtype == np.bool_:
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    if a.ndim != 2:
        raise RuntimeError(f"self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} "
                           f"and {b.shape[0]}x{b.shape[1]})")
    _check_dtypes(input, mat2)
    return MmBackward0.apply(input, mat2)


class AddmmBackward0(Op):
    """out = beta * bias + alpha * (a @ b);  dbias = beta g (summed by the engine),
    da = alpha g @ b.T, db = alpha a.T @ g.  Shape: bias broadcastable to (n, m), a (n, k),
    b (k, m) -> (n, m)"""

    @staticmethod
    def forward(ctx, bias, a, b, beta=1, alpha=1):
        ctx.save_for_backward(a if ctx.needs_input_grad[2] else None,
                              b if ctx.needs_input_grad[1] else None)
        ctx.beta, ctx.alpha = beta, alpha
        out = gemm(a._data, b._data)
        if alpha != 1:
            out *= alpha
        if beta == 0:  # torch ignores the bias (nan and inf included) when beta is 0
            return out
        out += bias._data if beta == 1 else bias._data * beta
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g if ctx.alpha == 1 else g * ctx.alpha
        return ((g if ctx.beta == 1 else g * ctx.beta) if ctx.needs_input_grad[0] else None,
                ga.mm(b.t()) if ctx.needs_input_grad[1] else None,
                a.t().mm(ga) if ctx.needs_input_grad[2] else None, None, None)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    if _amp.on:
        input, mat1, mat2 = _amp_low(input, mat1, mat2)
    a, b = mat1._data, mat2._data
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        return mm(mat1, mat2)  # raises torch's message
    _check_dtypes(mat1, mat2)
    out_shape = (a.shape[0], b.shape[1])
    from .util import is_expandable_to
    if not is_expandable_to(input._data.shape, out_shape):
        input.expand(out_shape)  # raises torch's expand message
    if beta != 1 or alpha != 1:
        return AddmmBackward0.apply(input, mat1, mat2, beta, alpha)
    return AddmmBackward0.apply(input, mat1, mat2)


class _Matmul(Op):
    """The forward of the products whose backward reads both operands: out = a @ b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return gemm(a._data, b._data)


class BmmBackward0(_Matmul):
    """out = a @ b (batched 3-D);  da = g @ b^T, db = a^T @ g"""

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g.bmm(b.transpose(1, 2)) if ctx.needs_input_grad[0] else None,
                a.transpose(1, 2).bmm(g) if ctx.needs_input_grad[1] else None)


def bmm(input, mat2):
    if _amp.on:
        input, mat2 = _amp_low(input, mat2)
    a, b = input._data, mat2._data
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")
    _check_dtypes(input, mat2, "bmm")
    return BmmBackward0.apply(input, mat2)


class MvBackward0(_Matmul):
    """out = A @ v;  dA = outer(g, v), dv = A.T @ g"""

    @staticmethod
    def backward(ctx, g):
        a, v = ctx.saved_tensors
        return (g.unsqueeze(1) * v.unsqueeze(0) if ctx.needs_input_grad[0] else None,
                a.t().mv(g) if ctx.needs_input_grad[1] else None)


def mv(input, vec):
    a, v = input._data, vec._data
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    if a.shape[1] != v.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat ({a.shape[0]}x"
                           f"{a.shape[1]}), vec ({v.shape[0]})")
    _check_dtypes(input, vec, "mv")
    return MvBackward0.apply(input, vec)


class DotBackward0(Op):
    """out = sum(a * b) (1-D);  da = g * b, db = g * a"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.asarray(np.dot(a._data, b._data))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b, g * a


def dot(input, other):
    a, b = input._data, other._data
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                           f"[{b.shape[0]}] to have the same number of elements, but got "
                           f"{a.shape[0]} and {b.shape[0]} elements respectively")
    _check_dtypes(input, other, "dot")
    return DotBackward0.apply(input, other)


def inner(input, other):
    """Contraction over the last dims: out[i.., j..] = sum_k input[i.., k] * other[j.., k]."""
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        return input * other
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(a.shape)} and {list(b.shape)}")
    k = a.shape[-1]
    out = mm(input.reshape(-1, k), other.reshape(-1, k).t())
    return out.reshape(a.shape[:-1] + b.shape[:-1])


def outer(input, vec2):
    """out[i, j] = input[i] * vec2[j] (a broadcast multiply, as torch records it: MulBackward0)"""
    for name, t in (("self", input), ("vec2", vec2)):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


class UnsafeViewBackward0(_Matmul):
    """out = a @ b with at least one operand beyond 2-D (batch dims broadcast; a 1-D operand is
    a row or a column, as in torch.matmul). torch decomposes this into view/mm/bmm nodes under
    a top-level UnsafeViewBackward0; ember computes it as one node of that name.
    da = g @ b^T, db = a^T @ g, summed over broadcast batch dims by the engine."""

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        # restore the dims a 1-D operand dropped, so every product below is matrix @ matrix
        g2 = g.unsqueeze(-2) if a.ndim == 1 else g
        if b.ndim == 1:
            g2 = g2.unsqueeze(-1)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            bt = b.unsqueeze(0) if b.ndim == 1 else b.transpose(-1, -2)
            ga = g2.matmul(bt)
            if a.ndim == 1:
                ga = ga.squeeze(-2)
        if ctx.needs_input_grad[1]:
            at = a.unsqueeze(-1) if a.ndim == 1 else a.transpose(-1, -2)
            gb = at.matmul(g2)
            if b.ndim == 1:
                gb = gb.squeeze(-1)
        return ga, gb


# torch folds a 2-D first operand (or a 3-D one with a batch of 1 against a 3-D batch) into the
# batched second one by transposing, (b^T @ a^T)^T, when the first operand requires grad; the
# result's node is then the final contiguous() copy, or the transpose itself when that is
# already contiguous. Same computation, torch's names:
_FoldedCloneBackward0 = type("CloneBackward0", (UnsafeViewBackward0,), {
    "__doc__": "matmul of a 2-D tensor requiring grad by a batched one (torch's fold)",
    "__module__": __name__})
_FoldedTransposeBackward0 = type("TransposeBackward0", (UnsafeViewBackward0,), {
    "__doc__": "as _FoldedCloneBackward0, when the transposed result needs no copy",
    "__module__": __name__})


def _batched_mismatch(a, b):
    """torch's messages for matmul operands whose batch or inner dims disagree."""
    from .util import check_broadcast
    ka = a.shape[-1]
    if b.ndim <= 2:  # a is folded to 2-D: mm / mv messages
        rows = int(np.prod(a.shape[:-1]))
        if b.ndim == 1:
            raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{ka}), vec "
                               f"({b.shape[0]})")
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{ka} and "
                           f"{b.shape[0]}x{b.shape[1]})")
    batch_a = a.shape[:-2] if a.ndim > 2 else ()
    check_broadcast(np.broadcast_to(np.empty(()), batch_a),
                    np.broadcast_to(np.empty(()), b.shape[:-2]))
    nb = int(np.prod(np.broadcast_shapes(batch_a, b.shape[:-2])))
    raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                       f"[{nb}, {ka}] but got: [{nb}, {b.shape[-2]}].")


def matmul(input, other):
    for pos, (name, t) in enumerate((("input", input), ("other", other))):
        if not isinstance(t, Tensor):
            raise TypeError(f"matmul(): argument '{name}' (position {pos + 1}) must be Tensor, "
                            f"not {type(t).__name__}")
    if _amp.on and (input._data.ndim > 1 or other._data.ndim > 1):  # torch leaves dot/mv alone
        if not (input._data.ndim == 2 and other._data.ndim == 1):
            input, other = _amp_low(input, other)
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    if a.ndim == 2 and b.ndim == 2:
        return mm(input, other)
    if a.ndim == 1 and b.ndim == 1:
        return dot(input, other)
    if a.ndim == 2 and b.ndim == 1:
        return mv(input, other)
    if a.ndim == 1 and b.ndim == 2:
        from .shape import SqueezeBackward4
        return SqueezeBackward4.apply(mm(input.unsqueeze(0), other), (0,))
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != kb:
        _batched_mismatch(a, b)
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        _batched_mismatch(a, b)
    _check_dtypes(input, other, "mm" if b.ndim <= 2 else "bmm")
    if input._rg and (a.ndim == 2 and b.ndim >= 3 or
                      a.ndim == 3 == b.ndim and a.shape[0] == 1 and b.shape[0] != 1):
        if a.shape[-2] == 1 or b.shape[-1] == 1:
            return _FoldedTransposeBackward0.apply(input, other)
        return _FoldedCloneBackward0.apply(input, other)
    return UnsafeViewBackward0.apply(input, other)
