"""Matrix products: mm, bmm, mv, dot, outer, matmul, addmm (the fused linear layer's GEMM)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .base import Op
from .util import promote

_new = Tensor._new


def _check_dtypes(a, b, what="mat1 and mat2"):
    if a._data.dtype != b._data.dtype:
        names = {"float32": "float", "float64": "double", "int64": "long int", "float16": "c10::Half",
                 "int32": "int", "uint8": "unsigned char", "bool": "bool"}
        raise RuntimeError(f"expected {what.replace(' and ', ' and ')} to have the same dtype, but "
                           f"got: {names.get(a._data.dtype.name, a._data.dtype.name)} != "
                           f"{names.get(b._data.dtype.name, b._data.dtype.name)}")


class MmBackward0(Op):
    """out = a @ b (2-D);  da = g @ b.T, db = a.T @ g"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        return np.matmul(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g.mm(b.t()) if ctx.needs_input_grad[0] else None,
                a.t().mm(g) if ctx.needs_input_grad[1] else None)


def mm(input, mat2):
    a, b = input._data, mat2._data
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
    """out = bias + a @ b;  dbias = g (summed by the engine), da = g @ b.T, db = a.T @ g"""

    @staticmethod
    def forward(ctx, bias, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[2] else None,
                              b if ctx.needs_input_grad[1] else None)
        out = np.matmul(a._data, b._data)
        out += bias._data
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g if ctx.needs_input_grad[0] else None,
                g.mm(b.t()) if ctx.needs_input_grad[1] else None,
                a.t().mm(g) if ctx.needs_input_grad[2] else None)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    if beta != 1 or alpha != 1:
        return input * beta + mm(mat1, mat2) * alpha
    a, b = mat1._data, mat2._data
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        return input + mm(mat1, mat2)  # mm raises torch's message
    _check_dtypes(mat1, mat2)
    return AddmmBackward0.apply(input, mat1, mat2)


class BmmBackward0(Op):
    """out = a @ b (batched 3-D);  da = g @ b^T, db = a^T @ g"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g.bmm(b.transpose(1, 2)) if ctx.needs_input_grad[0] else None,
                a.transpose(1, 2).bmm(g) if ctx.needs_input_grad[1] else None)


def bmm(input, mat2):
    a, b = input._data, mat2._data
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")
    _check_dtypes(input, mat2, "batch1 and batch2")
    return BmmBackward0.apply(input, mat2)


class MvBackward0(Op):
    """out = A @ v;  dA = outer(g, v), dv = A.T @ g"""

    @staticmethod
    def forward(ctx, a, v):
        ctx.save_for_backward(a, v)
        return np.matmul(a._data, v._data)

    @staticmethod
    def backward(ctx, g):
        a, v = ctx.saved_tensors
        return (g.unsqueeze(1) * v.unsqueeze(0) if ctx.needs_input_grad[0] else None,
                a.t().mv(g) if ctx.needs_input_grad[1] else None)


def mv(input, vec):
    a, v = input._data, vec._data
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {a.ndim}, {v.ndim}, {v.ndim}")
    if a.shape[1] != v.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat ({a.shape[0]}x"
                           f"{a.shape[1]}), vec ({v.shape[0]})")
    _check_dtypes(input, vec, "self and vec")
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
    _check_dtypes(input, other, "self and other")
    return DotBackward0.apply(input, other)


inner = dot


def outer(input, vec2):
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


class UnsafeViewBackward0(Op):
    """out = a @ b with broadcast batch dims;  da = g @ b^T, db = a^T @ g (summed to shape)"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = g.matmul(b.transpose(-1, -2)) if b.ndim > 1 else g.unsqueeze(-1) * b
        if ctx.needs_input_grad[1]:
            gb = a.transpose(-1, -2).matmul(g) if a.ndim > 1 else a.unsqueeze(-1) * g.unsqueeze(-2)
        return ga, gb


def matmul(input, other):
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
        return mm(input.unsqueeze(0), other).squeeze(0)
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        sa = "x".join(str(d) for d in (a.shape if a.ndim <= 2 else (int(np.prod(a.shape[:-1])),
                                                                    a.shape[-1])))
        sb = "x".join(str(d) for d in b.shape[-2:])
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})")
    _check_dtypes(input, other)
    if b.ndim == 1:
        return UnsafeViewBackward0.apply(input, other.unsqueeze(-1)).squeeze(-1)
    if a.ndim == 1:
        return UnsafeViewBackward0.apply(input.unsqueeze(0), other).squeeze(-2)
    return UnsafeViewBackward0.apply(input, other)
