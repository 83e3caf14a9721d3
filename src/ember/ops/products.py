"""The fused multiply-adds beside addmm: addmv, addr, baddbmm, addbmm.
out = beta * input + alpha * product; torch ignores input (nan included) when beta = 0. The
engine sums input's gradient back to its (broadcast) shape."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .base import Op
from .linalg import _check_dtypes
from ._gemm import gemm  # bfloat16/float16 products stay in their dtype

_new = Tensor._new


def _combine(ctx, inp, prod, beta, alpha):
    ctx.beta, ctx.alpha = beta, alpha
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        return np.broadcast_to(prod, np.broadcast_shapes(prod.shape, inp._data.shape)).copy() \
            if inp._data.ndim > prod.ndim else prod
    x = inp._data
    try:
        out = prod + (x if beta == 1 else x * beta)
    except ValueError:
        raise RuntimeError(f"The expanded size of the tensor ({prod.shape[-1]}) must match the "
                           f"existing size ({x.shape[-1]}) at non-singleton dimension "
                           f"{x.ndim - 1}.  Target sizes: {list(prod.shape)}.  Tensor sizes: "
                           f"{list(x.shape)}") from None
    if out.shape != prod.shape:
        raise RuntimeError(f"The expanded size of the tensor ({prod.shape[0]}) must match the "
                           f"existing size ({x.shape[0]}) at non-singleton dimension 0.  Target "
                           f"sizes: {list(prod.shape)}.  Tensor sizes: {list(x.shape)}")
    return out


def _gin(ctx, g):
    return g if ctx.beta == 1 else g * ctx.beta


def _ga(ctx, g):
    return g if ctx.alpha == 1 else g * ctx.alpha


class AddmvBackward0(Op):
    """out = beta in + alpha (M @ v);  din = beta g, dM = alpha g v^T, dv = alpha M^T g"""

    @staticmethod
    def forward(ctx, inp, m, v, beta, alpha):
        a, b = m._data, v._data
        if a.ndim != 2 or b.ndim != 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got {inp._data.ndim}, "
                               f"{a.ndim}, {b.ndim}")
        if a.shape[1] != b.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({inp._data.shape[0] if inp._data.ndim else 1}), "
                               f"mat ({a.shape[0]}x{a.shape[1]}), vec ({b.shape[0]})")
        _check_dtypes(m, v, "mv")
        ctx.save_for_backward(m, v)
        return _combine(ctx, inp, a @ b, beta, alpha)

    @staticmethod
    def backward(ctx, g):
        m, v = ctx.saved_tensors
        ga = _ga(ctx, g)
        nig = ctx.needs_input_grad
        return (_gin(ctx, g) if nig[0] else None, ga.unsqueeze(1) * v if nig[1] else None,
                m.t().mv(ga) if nig[2] else None, None, None)


class AddrBackward0(Op):
    """out = beta in + alpha outer(u, v);  din = beta g, du = alpha g v, dv = alpha g^T u"""

    @staticmethod
    def forward(ctx, inp, u, v, beta, alpha):
        a, b = u._data, v._data
        if a.ndim != 1 or b.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {a.ndim}-D" if
                               a.ndim != 1 else
                               f"addr: Expected 1-D argument vec2, but got {b.ndim}-D")
        ctx.save_for_backward(u, v)
        return _combine(ctx, inp, np.multiply.outer(a, b), beta, alpha)

    @staticmethod
    def backward(ctx, g):
        u, v = ctx.saved_tensors
        ga = _ga(ctx, g)
        nig = ctx.needs_input_grad
        return (_gin(ctx, g) if nig[0] else None, ga.mv(v) if nig[1] else None,
                ga.t().mv(u) if nig[2] else None, None, None)


def _check_bmm(name, a, b):
    if a.ndim != 3 or b.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor" if a.ndim != 3 else
                           "batch2 must be a 3D tensor")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got "
                           f"{a.shape[0]} and {b.shape[0]}")
    if a.shape[2] != b.shape[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({a.shape[1]}x{a.shape[2]} and "
                           f"{b.shape[1]}x{b.shape[2]})")


class BaddbmmBackward0(Op):
    """out = beta in + alpha bmm(A, B);  din = beta g, dA = alpha g B^T, dB = alpha A^T g"""

    @staticmethod
    def forward(ctx, inp, a, b, beta, alpha):
        _check_bmm("baddbmm", a._data, b._data)
        _check_dtypes(a, b, "bmm")
        ctx.save_for_backward(a, b)
        return _combine(ctx, inp, gemm(a._data, b._data), beta, alpha)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = _ga(ctx, g)
        nig = ctx.needs_input_grad
        return (_gin(ctx, g) if nig[0] else None, ga.bmm(b.mT) if nig[1] else None,
                a.mT.bmm(ga) if nig[2] else None, None, None)


class AddbmmBackward0(Op):
    """out = beta in + alpha sum_b A_b @ B_b;  din = beta g, dA_b = alpha g B_b^T,
    dB_b = alpha A_b^T g"""

    @staticmethod
    def forward(ctx, inp, a, b, beta, alpha):
        _check_bmm("addbmm", a._data, b._data)
        _check_dtypes(a, b, "bmm")
        ctx.save_for_backward(a, b)
        return _combine(ctx, inp, gemm(a._data, b._data).sum(0), beta, alpha)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = _ga(ctx, g).unsqueeze(0)
        nig = ctx.needs_input_grad
        return (_gin(ctx, g) if nig[0] else None, ga.matmul(b.mT) if nig[1] else None,
                a.mT.matmul(ga) if nig[2] else None, None, None)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    return AddmvBackward0.apply(input, mat, vec, beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    return AddrBackward0.apply(input, vec1, vec2, beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    from ..amp.autocast_mode import cast_low, state
    if state.on:
        input, batch1, batch2 = cast_low(input, batch1, batch2)
    return BaddbmmBackward0.apply(input, batch1, batch2, beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    from ..amp.autocast_mode import cast_low, state
    if state.on:
        input, batch1, batch2 = cast_low(input, batch1, batch2)
    return AddbmmBackward0.apply(input, batch1, batch2, beta, alpha)


TENSOR_METHODS = {"addmv": addmv, "addr": addr, "baddbmm": baddbmm, "addbmm": addbmm}
