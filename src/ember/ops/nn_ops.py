"""Differentiable primitives of ember.nn: fused linear, softmax family, activations, losses.

Each class is named after the backward node torch records for the same call, so `grad_fn`
prints as in torch. Backward passes of the hot ops (linear, relu, softmax, log_softmax, the
losses) compute on NumPy arrays when no graph of the backward is being built (create_graph
off: grad mode is off inside backward) and fall back to ember ops otherwise, so double backward
still works. The fused cross-entropy is once-differentiable, as the brief allows.
"""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from ..autograd.grad_mode import state as _grad_state
from .base import Op
from . import double_recompute as _recompute
from ._gemm import gemm
from ._linear_blas import linear as _linear, MIN_ROWS as _LINEAR_MIN_ROWS
from .quiet import quietly
from .row_loops import bound as _bound, rows as _rows
from .normalization import _ones
from .elementwise import _sigmoid_np

_new = Tensor._new


# ---- linear ---------------------------------------------------------------------------------
def _column_sums(g: np.ndarray) -> np.ndarray:
    """g.sum(0) of a 2-D gradient (a bias's): as a GEMV with ones from 16K elements, which BLAS
    runs 2-4x faster than NumPy's reduction over the leading axis (1024x128: 37 -> 8 us)."""
    if g.shape[0] == 1:  # one sample: its row (a copy: the bias's own gradient array)
        return g[0].copy()
    if g.size < 16384 or g.dtype.kind != "f" or not g.flags.c_contiguous:
        return g.sum(0)
    return _ones(g.shape[0], g.dtype) @ g


class AddmmBackward0(Op):
    """The fused linear layer on 2-D input: out = x @ W.T + b (one GEMM, bias added in place).

    dx = g @ W,  dW = g.T @ x,  db = g.sum(0).  Arguments in torch's addmm order (b, x, W).
    Shape: b (out,), x (N, in), W (out, in) -> (N, out)."""
    _fresh_grads = True

    @staticmethod
    def forward(ctx, bias, x, weight):
        nig = ctx.needs_input_grad
        if nig[1] or nig[2]:
            ctx.save_for_backward(x if nig[2] else None, weight if nig[1] else None)
        xd = x._data
        if xd.shape[0] >= _LINEAR_MIN_ROWS:  # (fewer rows: NumPy's route, without the call)
            out = _linear(xd, weight._data, bias._data)  # the bias accumulated by the GEMM
            if out is not None:
                return out
        out = gemm(xd, weight._data.T)
        if out.size < 65536:  # (rows' regrouping starts there)
            return np.add(out, bias._data, out=out)
        return _rows(np.add, out, bias._data, out=out)

    @staticmethod
    def backward(ctx, g):
        nig = ctx.needs_input_grad
        if not _grad_state.enabled:
            x, w = ctx._saved_arrays()
            gd = g._data
            return (_new(_column_sums(gd)) if nig[0] else None,
                    _new(gemm(gd, w)) if nig[1] else None,
                    _new(gemm(gd.T, x)) if nig[2] else None)
        x, w = ctx.saved_tensors
        return (g.sum(0) if nig[0] else None,
                g.mm(w) if nig[1] else None,
                g.t().mm(x) if nig[2] else None)


# ---- softmax family -------------------------------------------------------------------------
def _reduce_keepdim(ufunc, x: np.ndarray, dim: int) -> np.ndarray:
    """ufunc.reduce(x, dim, keepdims=True), fast for short last axes too.

    NumPy reduces a short contiguous last axis (10 classes) one row at a time, ~10x slower
    than reducing the leading axis of the transposed copy, so short rows take that route."""
    if dim == x.ndim - 1 and x.ndim >= 2 and x.shape[-1] <= 32 and x.size >= 256:
        c = x.shape[-1]
        r = ufunc.reduce(np.ascontiguousarray(x.reshape(-1, c).T), axis=0)
        return r.reshape(x.shape[:-1] + (1,))
    return ufunc.reduce(x, axis=dim, keepdims=True)


def _shifted(x: np.ndarray, dim: int) -> np.ndarray:
    """x - max(x, dim): exp of it never overflows (stable for logits of any magnitude)."""
    return x - _reduce_keepdim(np.maximum, x, dim)


class SoftmaxBackward0(Op):
    """out = exp(x - max) / sum(exp(x - max));  dx = out * (g - sum(g * out, dim))"""
    _save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        z = _shifted(x._data, dim)
        np.exp(z, out=z)
        z /= _reduce_keepdim(np.add, z, dim)
        return z

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        dim = ctx.dim
        if not _grad_state.enabled:
            y = out._data
            gy = g._data * y
            gy -= y * _reduce_keepdim(np.add, gy, dim)
            return _new(gy), None
        return out * (g - (g * out).sum(dim, keepdim=True)), None


class LogSoftmaxBackward0(Op):
    """out = x - max - log(sum(exp(x - max)));  dx = g - exp(out) * sum(g, dim)"""
    _save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        z = _shifted(x._data, dim)
        s = _reduce_keepdim(np.add, np.exp(z), dim)
        z -= np.log(s, out=s)
        return z

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        dim = ctx.dim
        if not _grad_state.enabled:
            gd = g._data
            gx = np.exp(out._data)
            gx *= -_reduce_keepdim(np.add, gd, dim)
            gx += gd
            return _new(gx), None
        return g - out.exp() * g.sum(dim, keepdim=True), None


# ---- activations ----------------------------------------------------------------------------
def _float_check(x: np.ndarray, kernel: str) -> None:
    if x.dtype.kind != "f":
        names = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                 "uint8": "Byte", "bool": "Bool"}
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{names.get(x.dtype.name, x.dtype.name)}'")


def _save_float(ctx, x: Tensor, kernel: str) -> np.ndarray:
    """Save x for backward and return its array, which must be floating point."""
    ctx.save_for_backward(x)
    a = x._data
    _float_check(a, kernel)
    return a


def _leaky_relu(a: np.ndarray, slope: float) -> np.ndarray:
    """a if a > 0 else slope * a. For 0 < slope <= 1 that is max(a, slope * a) (min for
    slope > 1): two branch-free passes, where np.where on a random sign pattern is ~15x slower.
    (slope 0 makes 0 * inf = nan, which max would return for +inf: that case selects.)"""
    s = a.dtype.type(slope)
    if slope > 0:
        r = np.multiply(a, s, out=np.empty_like(a))  # (an array also for 0-dim a)
        return (np.maximum if slope <= 1 else np.minimum)(a, r, out=r)
    return np.where(a > 0, a, quietly(np.multiply, a, s))


def _leaky_relu_grad(g: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
    """g * (1 if a > 0 else slope), as g * ((a > 0) * (1 - slope) + slope): arithmetic on the
    mask instead of a select (see _leaky_relu)."""
    t = g.dtype.type
    f = np.empty(np.broadcast_shapes(g.shape, a.shape), g.dtype)
    np.greater(a, t(0), out=f)
    f *= t(1 - slope)
    f += t(slope)
    f *= g
    return f


class LeakyReluBackward0(Op):
    """out = x if x > 0 else slope * x;  dx = g * (1 if x > 0 else slope)"""

    @staticmethod
    def forward(ctx, x, slope):
        ctx.slope = slope
        a = _save_float(ctx, x, "leaky_relu_cpu")
        return _leaky_relu(a, slope)

    @staticmethod
    def backward(ctx, g):
        if not _grad_state.enabled:
            a, = ctx._saved_arrays()
            return _new(_leaky_relu_grad(g._data, a, ctx.slope)), None
        x, = ctx.saved_tensors
        return g * _new(np.where(x._data > 0, 1.0, ctx.slope).astype(x._data.dtype)), None


class EluBackward0(Op):
    """out = scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1));
    dx = g * scale * (1 if x > 0 else alpha * input_scale * exp(x * input_scale))"""

    @staticmethod
    def forward(ctx, x, alpha, scale=1.0, input_scale=1.0):
        ctx.alpha, ctx.scale, ctx.input_scale = alpha, scale, input_scale
        a = _save_float(ctx, x, "elu_cpu")
        t = a.dtype.type
        neg = _bound(np.minimum, a, 0)
        neg *= t(input_scale)
        np.expm1(neg, out=neg)
        neg *= t(alpha)
        # x where x > 0, else neg: max(x, 0) + neg (neg is 0 where x > 0), no np.where
        out = _bound(np.maximum, a, 0)
        out += neg
        if scale != 1.0:
            out *= t(scale)
        return out

    @staticmethod
    def backward(ctx, g):
        if not _grad_state.enabled:  # no graph of the backward: on arrays
            a, = ctx._saved_arrays()
            gd = g._data
            if gd.dtype == a.dtype and gd.shape == a.shape:
                t = a.dtype.type
                # d = 1 where x > 0, else alpha * input_scale * exp(x * input_scale); NaN
                # takes the x > 0 side, as in torch (fmin drops it, and x <= 0 is false)
                d = _bound(np.fmin, a, 0)
                d *= t(ctx.input_scale)
                np.exp(d, out=d)
                d *= t(ctx.alpha * ctx.input_scale)
                neg = np.less_equal(a, t(0), out=np.empty_like(d))
                d *= neg
                np.subtract(t(1), neg, out=neg)  # the mask of x > 0 (NaN: x <= 0 is false)
                d += neg
                d *= gd
                if ctx.scale != 1.0:
                    d *= t(ctx.scale)
                return _new(d), None, None, None
        x, = ctx.saved_tensors
        neg = (x.clamp_max(0.0) * ctx.input_scale).exp() * (ctx.alpha * ctx.input_scale)
        d = (x > 0).to(x.dtype) + neg * (x <= 0).to(x.dtype)
        return g * d * ctx.scale, None, None, None


_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _erf_np(x: np.ndarray) -> np.ndarray:
    """erf in x's dtype: float64 through math.erf (exact), others through the Numerical
    Recipes erfc approximation (fractional error below 1.2e-7, under float32 resolution)."""
    if x.dtype == np.float64:
        return np.asarray(np.frompyfunc(math.erf, 1, 1)(x), np.float64)  # (0-dim x: a float)
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    erfc = t * np.exp(-z * z - 1.26551223 + poly)
    out = 1.0 - erfc
    return np.copysign(out, x).astype(x.dtype, copy=False)


class ErfBackward0(Op):
    """out = erf(x);  dx = g * 2/sqrt(pi) * exp(-x^2)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf_np(x._data)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (-(x * x)).exp() * (2.0 / math.sqrt(math.pi))


# Phi(x) = 1/2 + tanh(x P(x^2)) / 2 with P fitted (weighted least squares, by the sensitivity
# of Phi to the tanh's argument) to atanh(erf(x / sqrt 2)) / x on |x| <= 6, beyond which Phi is
# 0 or 1 in float32: |error| < 1e-7 in Phi, as torch's float32 1 + erf(x / sqrt 2) (torch's
# GELU is 1.2e-6 from the exact one at worst; this one 1.4e-6). Coefficients of x^0, x^2, ...
# x P(x^2) rises monotonically past |x| = 4 (to 5.2 there, past tanh's float32 saturation at
# 9 by |x| = 4.6), so no clip of x is needed: large |x| saturate the tanh (an overflow to inf
# in the polynomial included), as the exact Phi does in float32.
_PHI_TANH_COEFS = (0.7978849411010742, 0.03633308410644531, -3.259398363297805e-05,
                   -5.530670750886202e-05, 3.9648507481615525e-06, -1.32273100916791e-07,
                   1.7564927290436572e-09)
_PHI_T32 = tuple(np.float32(c) for c in _PHI_TANH_COEFS)
_HALF32 = np.float32(0.5)


def _phi_arg32(x: np.ndarray, c: tuple):
    """(x^2, x P(x^2)) for float32 x, P's coefficients c: Horner in place (NumPy has no
    fused multiply-add, so each coefficient costs two passes)."""
    u = x * x
    p = u * c[-1]
    for k in range(len(c) - 2, 0, -1):
        p += c[k]
        p *= u
    p += c[0]
    p *= x
    return u, p


def _phi_np(a: np.ndarray, keep_square: bool = False):
    """The standard normal CDF Phi(a) = (1 + erf(a / sqrt 2)) / 2 in a's dtype: float64 exactly
    (math.erf), others as a tanh of an odd polynomial evaluated in place in float32 (NumPy's
    tanh is vectorised: 17 passes over the data where the erfc route took 30; GELU's forward is
    a hot op of transformer MLPs). keep_square: return (Phi, a^2 in float32 or None) (GELU's
    backward reuses the square for its exp(-a^2 / 2))."""
    if a.dtype == np.float64:
        r = 0.5 * (1.0 + _erf_np(a * _SQRT1_2))
        return (r, None) if keep_square else r
    x = (a if a.dtype == np.float32 else a.astype(np.float32)).reshape(-1)  # (0-dim: 1-D)
    with np.errstate(over="ignore"):  # |x| > 1.8e19 (or x^12 past 3e38): tanh saturates
        u, p = _phi_arg32(x, _PHI_T32)
    np.tanh(p, out=p)
    p *= _HALF32
    p += _HALF32
    out = p.reshape(a.shape)
    if out.dtype != a.dtype:
        out = out.astype(a.dtype)
    if keep_square:
        return out, (u if a.dtype == np.float32 else None)
    return out


class GeluBackward0(Op):
    """none: out = x * Phi(x);  dx = g * (Phi(x) + x * phi(x))
    tanh: out = x/2 (1 + tanh(k (x + 0.044715 x^3))), k = sqrt(2/pi);  dx from the product rule"""

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.approximate = approximate
        a = _save_float(ctx, x, "GeluKernelImpl")
        if approximate == "tanh":
            inner = a * (1.0 + 0.044715 * a * a) * _SQRT_2_OVER_PI
            return (0.5 * a * (1.0 + np.tanh(inner))).astype(a.dtype, copy=False)
        if ctx.needs_input_grad[0]:
            cdf, ctx.square = _phi_np(a, keep_square=True)
            ctx.cdf = cdf  # reused by the backward
            return a * cdf
        cdf = _phi_np(a)
        if type(cdf) is np.ndarray and cdf.shape == a.shape and cdf.dtype == a.dtype:
            return np.multiply(a, cdf, out=cdf)  # (a fresh array: written in place)
        return a * cdf

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if ctx.approximate == "tanh":
            x2 = x * x
            th = (x * (1.0 + 0.044715 * x2) * _SQRT_2_OVER_PI).tanh()
            d_inner = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x2)
            d = 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * d_inner
        elif not _grad_state.enabled:  # NumPy: d = Phi(x) + x exp(-x^2/2) / sqrt(2 pi)
            a = x._data.reshape(-1)
            t = a.dtype.type
            d = ctx.square  # a * a from the forward (float32), consumed here
            ctx.square = None
            if d is None or d.shape != a.shape:
                d = a * a
            d *= t(-0.5)
            np.exp(d, out=d)
            d *= a
            d *= t(_INV_SQRT_2PI)
            d += ctx.cdf.reshape(-1)
            d *= g._data.reshape(-1)
            return _new(d.reshape(x._data.shape)), None
        else:
            cdf = 0.5 * (1.0 + ErfBackward0.apply(x * _SQRT1_2))
            d = cdf + x * (-0.5 * x * x).exp() * _INV_SQRT_2PI
        return g * d, None


class SiluBackward0(Op):
    """out = x * sigmoid(x);  dx = g * s * (1 + x (1 - s))"""

    @staticmethod
    def forward(ctx, x):
        a = _save_float(ctx, x, "silu_cpu")
        return a * _sigmoid_np(a)

    @staticmethod
    def backward(ctx, g):
        if not _grad_state.enabled:  # no graph of the backward: on arrays, in place
            a, = ctx._saved_arrays()
            gd = g._data
            if gd.dtype == a.dtype and gd.shape == a.shape:
                one = a.dtype.type(1)
                s = _sigmoid_np(a)
                d = np.subtract(one, s)
                d *= a
                d += one
                d *= s
                d *= gd
                return _new(d)
        x, = ctx.saved_tensors
        s = x.sigmoid()
        return g * (s * (1.0 + x * (1.0 - s)))


class SoftplusBackward0(Op):
    """out = log(1 + exp(beta x)) / beta, or x where beta x > threshold;
    dx = g * sigmoid(beta x) (1 where beta x > threshold)"""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        a = _save_float(ctx, x, "softplus_cpu")
        bx = a * a.dtype.type(beta)
        # log1p(exp(bx)) = max(bx, 0) + log1p(exp(-|bx|)): no overflow
        sp = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / a.dtype.type(beta)
        return np.where(bx > threshold, a, sp).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        bx = x * ctx.beta
        lin = (bx > ctx.threshold).to(x.dtype)
        return g * (bx.sigmoid() * (1.0 - lin) + lin), None, None


class HardtanhBackward0(Op):
    """out = clamp(x, min_val, max_val);  dx = g where min_val < x < max_val else 0"""

    @staticmethod
    def forward(ctx, x, min_val, max_val):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = min_val, max_val
        a = x._data
        if a.dtype == np.bool_:
            raise RuntimeError("\"hardtanh_cpu\" not implemented for 'Bool'")
        if a.dtype.kind == "f" and min_val.__class__ in (int, float) and \
                max_val.__class__ in (int, float):
            r = _bound(np.maximum, a, min_val)
            return _bound(np.minimum, r, max_val, out=r)
        return np.clip(a, min_val, max_val).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        a = x._data
        mask = (a > ctx.lo) & (a < ctx.hi)
        return g * _new(mask.astype(a.dtype)), None, None


class LeakyReluBackward1(Op):
    """leaky_relu in place (torch names the node of the in-place variant ...Backward1). As
    torch, the backward reads the result, not the overwritten input (for slope >= 0, result >
    0 exactly where input > 0), so the in-place write needs no copy of the old values; a
    negative slope makes the backward raise torch's error. Only the in-place functions apply
    it, to the tensor being overwritten (or a copy of its values): for 0 < slope <= 1 the
    result goes straight into x's array (the caller's write of it then finds it in place), one
    pass less than a new array copied back."""
    _save_output = True

    @staticmethod
    def forward(ctx, x, slope):
        ctx.slope = slope
        a = x._data
        _float_check(a, "leaky_relu_cpu")
        if 0 < slope <= 1 and a.ndim and a.flags.writeable and a.flags.c_contiguous:
            return np.maximum(a, np.multiply(a, a.dtype.type(slope)), out=a)
        return _leaky_relu(a, slope)

    @staticmethod
    def backward(ctx, g):
        if ctx.slope < 0:
            raise RuntimeError(
                "In-place leakyReLu backward calculation is triggered with a negative slope "
                "which is not supported. This is caused by calling in-place forward function "
                "with a negative slope, please call out-of-place version instead.")
        if not _grad_state.enabled:
            out, = ctx._saved_arrays()
            return _new(_leaky_relu_grad(g._data, out, ctx.slope)), None
        out, = ctx.saved_tensors
        return g * _new(np.where(out._data > 0, 1.0, ctx.slope).astype(out._data.dtype)), None


class EluBackward1(EluBackward0):
    """elu / selu in place."""


class CeluBackward0(EluBackward0):
    """celu: elu with input_scale 1/alpha."""


class CeluBackward1(EluBackward0):
    """celu in place."""


def _mask(cond: np.ndarray, dtype) -> Tensor:
    return _new(cond.astype(dtype))


class ThresholdBackward0(Op):
    """out = x where x > threshold else value;  dx = g where x > threshold else 0"""

    @staticmethod
    def forward(ctx, x, threshold, value):
        ctx.save_for_backward(x)
        ctx.threshold = threshold
        a = x._data
        return np.where(a > threshold, a, a.dtype.type(value))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * _mask(x._data > ctx.threshold, g._data.dtype), None, None


class ThresholdBackward1(ThresholdBackward0):
    """threshold in place."""


class LogSigmoidBackward0(Op):
    """out = log(sigmoid(x)) = -(max(-x, 0) + log1p(exp(-|x|)));  dx = g * sigmoid(-x)"""

    @staticmethod
    def forward(ctx, x):
        a = _save_float(ctx, x, "log_sigmoid_forward")
        return -(np.maximum(-a, 0) + np.log1p(np.exp(-np.abs(a))))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (-x).sigmoid()


class HardsigmoidBackward0(Op):
    """out = clamp(x / 6 + 1/2, 0, 1);  dx = g / 6 where -3 < x < 3 else 0"""

    @staticmethod
    def forward(ctx, x):
        a = _save_float(ctx, x, "hardsigmoid_cpu")
        t = a.dtype.type
        return np.clip(a / t(6) + t(0.5), 0, 1).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        a = x._data
        return g * _mask((a > -3) & (a < 3), a.dtype) * (1.0 / 6.0)


class HardswishBackward0(Op):
    """out = x * clamp(x + 3, 0, 6) / 6;  dx = g * (0 if x <= -3, x/3 + 1/2 if x < 3, 1 else)"""

    @staticmethod
    def forward(ctx, x):
        a = _save_float(ctx, x, "hardswish_cpu")
        t = a.dtype.type
        return (a * np.clip(a + t(3), 0, 6) / t(6)).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        a = x._data
        mid = _mask((a > -3) & (a < 3), a.dtype)
        return g * (mid * (x / 3.0 + 0.5) + _mask(a >= 3, a.dtype))


class MishBackward0(Op):
    """out = x * tanh(softplus(x));  dx = g * (t + x * sigmoid(x) * (1 - t^2)), t = tanh(sp)"""

    @staticmethod
    def forward(ctx, x):
        a = _save_float(ctx, x, "mish_cpu")
        sp = np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))
        return (a * np.tanh(sp)).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        t = SoftplusBackward0.apply(x, 1.0, 20.0).tanh()
        return g * (t + x * x.sigmoid() * (1.0 - t * t))


class BackwardHookFunctionBackward(Op):
    """Identity on a module's inputs or outputs; its backward calls the module's full backward
    hooks (`register_full_backward_hook`) with grad_input and grad_output."""

    @staticmethod
    def forward(ctx, module, state, stage, *tensors):
        ctx.module, ctx.state, ctx.stage = module, state, stage
        if len(tensors) == 1:
            return tensors[0]._data.view()
        return tuple(t._data.view() for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        module, state = ctx.module, ctx.state
        if ctx.stage == "output":
            state["grad_output"] = grads
            if state["n_in"] == 0:
                for hook in module._backward_hooks.values():
                    hook(module, (None,), grads)
            return (None, None, None) + tuple(grads)
        grad_input = tuple(grads)
        for hook in module._backward_hooks.values():
            res = hook(module, grad_input, state["grad_output"])
            if res is not None:
                grad_input = tuple(res)
        return (None, None, None) + grad_input


# ---- losses ---------------------------------------------------------------------------------
def _reduce_np(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        return np.asarray(loss.mean(), loss.dtype)
    if reduction == "sum":
        return np.asarray(loss.sum(), loss.dtype)
    return loss


def _grad_scale(g: Tensor, reduction: str, n: int) -> np.ndarray:
    """The upstream gradient broadcast over the elements: g/n for mean, g for sum/none."""
    gd = g._data
    if reduction == "mean":
        return gd / gd.dtype.type(n) if n else gd
    return gd


def _grad_scale_t(g: Tensor, reduction: str, n: int) -> Tensor:
    """`_grad_scale` with ember ops (differentiable, for backwards that build a graph)."""
    return g / n if reduction == "mean" else g


_OFFSETS: dict = {}


def _row_offsets(n: int, c: int) -> np.ndarray:
    """arange(n) * c, cached: row i's element j of an (n, c) array is at flat index i*c + j."""
    off = _OFFSETS.get((n, c))
    if off is None:
        if len(_OFFSETS) > 64:
            _OFFSETS.clear()
        off = _OFFSETS[(n, c)] = np.arange(n, dtype=np.int64) * c
    return off


def _class_targets(t: np.ndarray, n: int, c: int, ignore_index: int, weight, dtype):
    """Validate class-index targets (IndexError as torch) and return the flat indices of the
    target entries in an (n, c) array and each row's weight (None when every row weighs 1;
    ignored rows weigh 0)."""
    if t.dtype != np.int64:
        t = t.astype(np.int64)
    valid = None
    # viewed as unsigned, negative targets are huge: one reduction checks both bounds
    if n and (t.view(np.uint64).max() >= c or 0 <= ignore_index < c):
        ignored = t == ignore_index
        bad = ~ignored & ((t < 0) | (t >= c))
        if bad.any():
            raise IndexError(f"Target {int(t[bad][0])} is out of bounds.")
        if ignored.any():
            valid = ~ignored
            t = np.where(valid, t, 0)
    idx = _row_offsets(n, c) + t
    if weight is not None:
        w = weight[t].astype(dtype, copy=False)
        return idx, (w * valid if valid is not None else w)
    return idx, (valid.astype(dtype) if valid is not None else None)


def _mean_denominator(n: int, w, dtype):
    return dtype.type(n) if w is None else w.sum(dtype=dtype)


def _mean(loss: np.ndarray, denom) -> np.ndarray:
    """sum(loss) / denom as a 0-d array; nan without a warning when nothing counts (as torch)."""
    total = loss.sum(dtype=loss.dtype)
    if denom == 0:
        return np.asarray(np.nan, loss.dtype)
    return np.asarray(total / denom, loss.dtype)


def _reduce_rows(ctx, loss: np.ndarray, reduction: str, n: int, w) -> np.ndarray:
    """Reduce the per-row losses of a class-target loss; mean divides by the summed row weights.
    ctx.denom keeps that divisor (None unless mean) for `_row_scale`."""
    if reduction == "mean":
        denom = ctx.denom = _mean_denominator(n, w, loss.dtype)
        if n == 1 and w is None:  # one row: its loss / 1 (exact), no reduction call
            return loss.reshape(())
        return _mean(loss, denom)
    ctx.denom = None
    return _reduce_np(loss, reduction)


def _row_scale(g: np.ndarray, reduction: str, denom, w):
    """d loss_total / d loss_i: a scalar (0-d array) or one value per row."""
    if reduction == "none":
        return g if w is None else g * w
    if reduction == "mean":
        # nothing counted (every target ignored): torch's gradient is zero, not nan
        k = g / denom if denom != 0 else g * 0
    else:
        k = g
    return k if w is None else w * k


class NllLossBackward0(Op):
    """loss_i = -w[t_i] * x[i, t_i] (0 where t_i == ignore_index); mean divides by sum w[t_i].
    dx[i, t_i] = -w[t_i] * g / denominator.  Shape: x (N, C), t (N,).
    The target and weight come as arrays: as in torch, they are not inputs of the node."""

    @staticmethod
    def forward(ctx, x, target, weight, reduction, ignore_index):
        a = x._data
        n, c = a.shape
        idx, w = _class_targets(target, n, c, ignore_index, weight, a.dtype)
        loss = -a.take(idx)
        if w is not None:
            loss *= w
        ctx.shape, ctx.idx, ctx.w, ctx.reduction = a.shape, idx, w, reduction
        return _reduce_rows(ctx, loss, reduction, n, w)

    _free_attrs = ("recompute",)  # ops/double_recompute.record: dropped with the graph

    @staticmethod
    def backward(ctx, g):
        if _grad_state.enabled:  # create_graph: the loss recomputed as recorded ops
            return _recompute.backward(ctx, g, 5)
        gd = g._data
        gx = np.zeros(ctx.shape, gd.dtype)
        # 0 - x rather than -x: ignored rows get +0 like torch's, not -0
        gx.ravel()[ctx.idx] = 0 - _row_scale(gd, ctx.reduction, ctx.denom, ctx.w)
        return _new(gx), None, None, None, None


class NllLoss2DBackward0(NllLossBackward0):
    """nll_loss over (N, C, d1, ...) inputs: the same formula per position."""


class CrossEntropyLossBackward0(Op):
    """Fused cross entropy with class-index targets: log-softmax and NLL in one pass.

    loss_i = w[t_i] * (log sum_c exp(x_ic - m_i) - (x_{i,t_i} - m_i)), m_i = max_c x_ic;
    dx = w[t_i] * (softmax(x)_i - onehot(t_i)) * g / denominator.  Shape: x (N, C), t (N,).
    Its node prints as torch's `NllLossBackward0`."""
    _fresh_grads = True  # (one gradient: the input's)

    @staticmethod
    def forward(ctx, x, target, weight, reduction, ignore_index):
        a = x._data
        n, c = a.shape
        idx, w = _class_targets(target, n, c, ignore_index, weight, a.dtype)
        if 0 < a.size < 256:  # a few rows: NumPy's own row reductions, no helper layers
            z = a - np.maximum.reduce(a, axis=1, keepdims=True)
            e = np.exp(z)
            s = np.add.reduce(e, axis=1)
            loss = np.log(s)
            loss -= z.take(idx)
        elif a.size:
            z = _shifted(a, 1)
            e = np.exp(z)
            s = _reduce_keepdim(np.add, e, 1).reshape(n)
            loss = np.log(s)
            loss -= z.take(idx)
        else:
            e = a
            s = loss = np.zeros(n, a.dtype)
        if w is not None:
            loss *= w
        if ctx.needs_input_grad[0]:
            ctx.e, ctx.s, ctx.idx, ctx.w, ctx.reduction = e, s, idx, w, reduction
        return _reduce_rows(ctx, loss, reduction, n, w)

    _free_attrs = ("recompute",)  # ops/double_recompute.record: dropped with the graph

    @staticmethod
    def backward(ctx, g):
        if _grad_state.enabled:  # create_graph: the loss recomputed as recorded ops
            return _recompute.backward(ctx, g, 5)
        k = _row_scale(g._data, ctx.reduction, ctx.denom, ctx.w)
        p = ctx.e * (k / ctx.s)[:, None]
        p.ravel()[ctx.idx] -= k
        return _new(p), None, None, None, None


CrossEntropyLossBackward0.__name__ = CrossEntropyLossBackward0.__qualname__ = "NllLossBackward0"


class CrossEntropyLoss2DBackward0(CrossEntropyLossBackward0):
    """The fused cross entropy over (N, C, d1, ...) inputs (prints `NllLoss2DBackward0`)."""


CrossEntropyLoss2DBackward0.__name__ = CrossEntropyLoss2DBackward0.__qualname__ = \
    "NllLoss2DBackward0"


class MseLossBackward0(Op):
    """loss = (x - y)^2 reduced;  dx = 2 (x - y) g / n,  dy = -dx"""

    @staticmethod
    def forward(ctx, x, y, reduction):
        ctx.save_for_backward(x, y)
        ctx.reduction = reduction
        d = x._data - y._data
        ctx.n = d.size  # the broadcast size: mean divides by it
        np.multiply(d, d, out=d)
        return _reduce_np(d, reduction)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        n = ctx.n
        if not _grad_state.enabled:
            d = x._data - y._data
            d *= _grad_scale(g, ctx.reduction, n) * 2
            nig = ctx.needs_input_grad
            return (_new(d) if nig[0] else None, _new(-d) if nig[1] else None, None)
        gx = (x - y) * _grad_scale_t(g, ctx.reduction, n) * 2.0
        return gx, -gx, None


class _PiecewiseLoss(Op):
    """A loss of d = x - y that is quadratic for |d| below a threshold and linear above it
    (smooth_l1's beta, huber's delta). Both are written with c = min(|d|, threshold), which
    is |d| on the quadratic side and the threshold on the linear one, so no select (np.where on
    a random pattern is ~10x slower than arithmetic); their slopes are d clipped. Subclasses
    give the elementwise loss and slope on arrays and the slope in ember ops (create_graph).
    dx = g * slope(d),  dy = -dx"""

    @staticmethod
    def forward(ctx, x, y, reduction, threshold):
        ctx.save_for_backward(x, y)
        ctx.reduction, ctx.threshold = reduction, threshold
        d = x._data - y._data
        ctx.n = d.size
        loss = type(ctx)._loss(d, threshold, d.dtype.type)
        return _reduce_np(loss.astype(d.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        if not _grad_state.enabled:  # no graph of the backward: on arrays
            d = x._data - y._data
            if d.dtype.kind == "f":
                gx = type(ctx)._slope_np(d, ctx.threshold, d.dtype.type)
                gx *= _grad_scale(g, ctx.reduction, ctx.n)
                return _new(gx), _new(np.negative(gx)), None, None
        d = x - y
        small = (d.abs() < ctx.threshold).to(d.dtype)
        gx = type(ctx)._slope(d, small, ctx.threshold) * _grad_scale_t(g, ctx.reduction, ctx.n)
        return gx, -gx, None, None


class SmoothL1LossBackward0(_PiecewiseLoss):
    """loss = 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta (d = x - y);
    dx = g * (d / beta if |d| < beta else sign(d)),  dy = -dx"""

    @staticmethod
    def _loss(d, beta, t):
        ad = np.abs(d)
        if not beta > 0:  # beta 0: l1
            return ad
        c = _bound(np.minimum, ad, beta)  # |d| < beta: 0.5 d^2/beta + 0; else 0.5 beta + |d| - beta
        ad -= c
        c *= c
        c *= t(0.5 / beta)
        c += ad
        return c

    @staticmethod
    def _slope_np(d, beta, t):
        if not beta > 0:
            return np.sign(d)
        s = np.multiply(d, t(1 / beta))  # d / beta inside, +-1 (sign d) outside
        s = _bound(np.maximum, s, -1, out=s)
        return _bound(np.minimum, s, 1, out=s)

    @staticmethod
    def _slope(d, small, beta):
        return d * (small / beta if beta > 0 else small * 0.0) + d.sign() * (1.0 - small)


class HuberLossBackward0(_PiecewiseLoss):
    """loss = 0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta) (d = x - y);
    dx = g * (d if |d| < delta else delta sign(d)),  dy = -dx"""

    @staticmethod
    def _loss(d, delta, t):
        ad = np.abs(d)
        # |d| < delta: 0.5 d^2; else 0.5 delta^2 + delta (|d| - delta)
        c = _bound(np.minimum, ad, delta)
        ad -= c
        ad *= t(delta)
        c *= c
        c *= t(0.5)
        c += ad
        return c

    @staticmethod
    def _slope_np(d, delta, t):
        s = _bound(np.maximum, d, -delta)  # d clipped to [-delta, delta]
        return _bound(np.minimum, s, delta, out=s)

    @staticmethod
    def _slope(d, small, delta):
        return d * small + d.sign() * (1.0 - small) * delta


class BinaryCrossEntropyBackward0(Op):
    """loss = -w (y log(x) + (1 - y) log(1 - x)), each log clamped at -100;
    dx = g w (x - y) / max((1 - x) x, 1e-12)"""

    @staticmethod
    def forward(ctx, x, y, weight, reduction):
        a = x._data
        if ((a < 0) | (a > 1)).any():
            raise RuntimeError("all elements of input should be between 0 and 1")
        ctx.save_for_backward(x, y, weight)
        ctx.reduction = reduction
        yt = y._data
        with np.errstate(divide="ignore"):
            log_x = np.log(a)
            log_x = _bound(np.maximum, log_x, -100, out=log_x)
            log_1mx = np.log1p(-a)
            log_1mx = _bound(np.maximum, log_1mx, -100, out=log_1mx)
        loss = -(yt * log_x + (1 - yt) * log_1mx)
        if weight is not None:
            loss = loss * weight._data
        return _reduce_np(loss.astype(a.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, g):
        x, y, w = ctx.saved_tensors
        k = _grad_scale_t(g, ctx.reduction, x._data.size)
        gx = (x - y) / ((1.0 - x) * x).clamp_min(1e-12) * k
        if w is not None:
            gx = gx * w
        gy = None
        if ctx.needs_input_grad[1]:
            gy = ((1.0 - x).clamp_min(math.exp(-100)).log() - x.clamp_min(
                math.exp(-100)).log()) * k
            if w is not None:
                gy = gy * w
        return gx, gy, None, None


class BinaryCrossEntropyWithLogitsBackward0(Op):
    """loss = w ((1 - y) x + (1 + (pw - 1) y) log(1 + exp(-x)))  (stable form);
    dx = g w ((pw y + 1 - y) sigmoid(x) - pw y),  dy = -g w (pw log sigmoid(x) ... )"""

    @staticmethod
    def forward(ctx, x, y, weight, pos_weight, reduction):
        ctx.save_for_backward(x, y, weight, pos_weight)
        ctx.reduction = reduction
        a = x._data
        yt = y._data
        # log(1 + exp(-x)) = log1p(exp(-|x|)) + max(-x, 0)
        sp = np.log1p(np.exp(-np.abs(a))) + np.maximum(-a, 0)
        if pos_weight is not None:
            lw = 1 + (pos_weight._data - 1) * yt
            loss = (1 - yt) * a + lw * sp
        else:
            loss = (1 - yt) * a + sp
        if weight is not None:
            loss = loss * weight._data
        return _reduce_np(loss.astype(a.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, g):
        x, y, w, pw = ctx.saved_tensors
        k = _grad_scale_t(g, ctx.reduction, x._data.size)
        s = x.sigmoid()
        if pw is not None:
            gx = ((pw * y + 1.0 - y) * s - pw * y) * k
        else:
            gx = (s - y) * k
        if w is not None:
            gx = gx * w
        gy = None
        if ctx.needs_input_grad[1]:
            # d/dy: -x + (pw - 1) * log(1 + exp(-x))  (without pos_weight: -x)
            if pw is not None:
                sp = (-x).clamp_min(0.0) + (-(x.abs())).exp().log1p()
                gy = (-x + (pw - 1.0) * sp) * k
            else:
                gy = -x * k
            if w is not None:
                gy = gy * w
        return gx, gy, None, None, None
