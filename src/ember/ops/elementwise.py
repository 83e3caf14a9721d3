"""Elementwise ops: arithmetic, comparisons, unary math, activations' primitives.

Each op's docstring gives forward and backward. Operands are promoted with torch's rules in
`util.promote`; the engine sums broadcast gradients back to each input's shape.
"""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from .base import Op
from .quiet import quietly
from .row_loops import bound as _bound
from .util import check_broadcast, promote, scalar_value

_new = Tensor._new


def _binary(fn, a, b):
    if b.__class__ is Tensor and a.__class__ is Tensor:
        x, y = a._data, b._data
        if x.dtype is y.dtype:  # the common case: no promotion needed
            try:
                return fn(x, y)
            except ValueError:
                check_broadcast(x, y)
                raise
    x, y = promote(a, b)
    try:
        return fn(x, y)
    except ValueError:
        check_broadcast(x, y)
        raise


# ---- arithmetic ---------------------------------------------------------------------------
def _times_alpha(x: np.ndarray, y, alpha):
    """alpha * y for add/sub, staying in the result dtype `x.dtype` (a Python number times a
    Python number stays a weak Python scalar), with torch's checks on alpha."""
    if isinstance(alpha, bool) and x.dtype != np.bool_:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if isinstance(alpha, float) and x.dtype.kind != "f":
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")
    if isinstance(y, np.ndarray):
        return np.multiply(y, alpha, dtype=x.dtype, casting="unsafe")
    return y * alpha


class AddBackward0(Op):
    """out = a + alpha*b;  da = g, db = alpha*g"""
    _number_edges = 2
    _float_ufunc = np.add

    alpha = 1

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        if alpha != 1:
            ctx.alpha = alpha
            x, y = promote(a, b)
            try:
                return np.add(x, _times_alpha(x, y, alpha))
            except ValueError:
                check_broadcast(x, y)
                raise
        return _binary(np.add, a, b)

    @staticmethod
    def backward(ctx, g):
        return g, (g if ctx.alpha == 1 else g * ctx.alpha), None


class SubBackward0(Op):
    """out = a - alpha*b;  da = g, db = -alpha*g"""
    _number_edges = 2
    _float_ufunc = np.subtract

    alpha = 1

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        if alpha != 1:
            ctx.alpha = alpha
        elif b.__class__ is Tensor and a._data.dtype is b._data.dtype and \
                a._data.dtype.kind == "f":
            return _binary(np.subtract, a, b)
        _check_sub(a, b)
        x, y = promote(a, b)
        try:
            return np.subtract(x, y if alpha == 1 else _times_alpha(x, y, alpha))
        except ValueError:
            check_broadcast(x, y)
            raise

    @staticmethod
    def backward(ctx, g):
        if not ctx.needs_input_grad[1]:
            return g, None, None
        if not _grad_state.enabled:
            return g, _new(np.negative(g._data) if ctx.alpha == 1 else g._data * -ctx.alpha), None
        return g, (-g if ctx.alpha == 1 else g * (-ctx.alpha)), None


def _is_bool(v) -> bool:
    return v._data.dtype == np.bool_ if isinstance(v, Tensor) else isinstance(v, (bool, np.bool_))


def _check_sub(a, b) -> None:
    """torch refuses subtraction with a bool operand (tensor or Python bool)."""
    ba, bb = _is_bool(a), _is_bool(b)
    if ba and bb:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if ba or bb:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")


class RsubBackward1(Op):
    """out = s - a (a Python number minus a tensor);  da = -g"""

    @staticmethod
    def forward(ctx, a, s):
        _check_sub(a, s)
        x, y = promote(a, s)
        return np.subtract(y, x)

    @staticmethod
    def backward(ctx, g):
        return -g, None


class MulBackward0(Op):
    """out = a * b;  da = g * b, db = g * a"""
    _number_edges = 2

    @staticmethod
    def forward(ctx, a, b):
        if isinstance(b, Tensor):
            nig = ctx.needs_input_grad
            ctx.save_for_backward(a if nig[1] else None, b if nig[0] else None)
        else:
            ctx.scalar = b
            ctx._saved = []  # torch saves the number: a second backward must fail as there
        return _binary(np.multiply, a, b)

    scalar = None  # b, when it is a number (nothing saved then)

    @staticmethod
    def backward(ctx, g):
        if ctx.scalar is not None:
            ctx._saved_arrays()  # (raises torch's error once the graph is freed)
            return (_new(g._data * ctx.scalar) if not _grad_state.enabled else g * ctx.scalar), None
        nig = ctx.needs_input_grad
        if not _grad_state.enabled:  # no graph of the backward: plain NumPy
            a, b = ctx._saved_arrays()
            gd = g._data
            return _new(gd * b) if nig[0] else None, _new(gd * a) if nig[1] else None
        a, b = ctx.saved_tensors
        return g * b if nig[0] else None, g * a if nig[1] else None


class DivBackward0(Op):
    """out = a / b;  da = g / b, db = -g * a / b**2"""
    _number_edges = 2

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(b, Tensor) and ctx.needs_input_grad[1] else None,
                              b if isinstance(b, Tensor) else None)
        ctx.scalar = None if isinstance(b, Tensor) else b
        x, y = promote(a, b)
        if x.dtype.kind in "biu":  # integral operands: true division gives the default float
            from .. import _dtype
            dt = _dtype._default.dtype.np
            x = x.astype(dt)
            if isinstance(y, np.ndarray):
                y = y.astype(dt)
        try:
            if isinstance(y, np.ndarray):
                return quietly(np.true_divide, x, y)  # x/0: inf, as torch
            return np.true_divide(x, y)
        except ValueError:
            check_broadcast(x, y)
            raise

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        if b is None:
            return g / ctx.scalar, None
        ga = g / b if ctx.needs_input_grad[0] else None
        gb = -g * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


def _rounded_div(a, b, rounding_mode):
    """a / b rounded down ('floor', Python's // on floats too) or toward zero ('trunc')."""
    x, y = promote(a, b)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            if rounding_mode == "floor":
                return np.floor_divide(x, y)
            if rounding_mode == "trunc":
                if x.dtype.kind in "biu":
                    q = np.floor_divide(x, y)
                    # floor and trunc differ where the exact quotient is negative and inexact
                    fix = (np.remainder(x, y) != 0) & ((x < 0) != (y < 0))
                    return (q + fix).astype(q.dtype, copy=False)
                return np.trunc(np.true_divide(x, y))
    except ValueError:
        check_broadcast(x, y)
        raise
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                       f"found '{rounding_mode}'")


class DivBackward2(Op):
    """out = a / b rounded ('floor' or 'trunc');  da = db = 0 (a step function)"""
    _number_edges = 2

    @staticmethod
    def forward(ctx, a, b, rounding_mode):
        return _rounded_div(a, b, rounding_mode)

    @staticmethod
    def backward(ctx, g):
        z = g * 0.0
        return z, (z if ctx.needs_input_grad[1] else None), None


class _FloorDivide(Op):
    """out = a // b;  backward raises: torch defines no derivative for floor_divide (and names
    the node NotImplemented)"""

    @staticmethod
    def forward(ctx, a, b):
        return _rounded_div(a, b, "floor")

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


_FloorDivide.__name__ = _FloorDivide.__qualname__ = "NotImplemented"


class _ModByNumber(Op):
    """The remainder ops with a number divisor: da = g (the floor/trunc term is constant)."""
    _np = None

    @staticmethod
    def forward(ctx, a, s):
        x, y = promote(a, s)
        with np.errstate(divide="ignore", invalid="ignore"):
            return type(ctx)._np(x, y)

    @staticmethod
    def backward(ctx, g):
        return g, None


class _ModByTensor(Op):
    """The remainder ops with a tensor divisor: da = g, db = -g * round(a / b) (floor or trunc)."""
    _np = None
    _rounding = None

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        x, y = promote(a, b)
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                return type(ctx)._np(x, y)
        except ValueError:
            check_broadcast(x, y)
            raise

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        gb = -g * _new(_rounded_div(a, b, ctx._rounding)) if ctx.needs_input_grad[1] else None
        return g, gb


class RemainderBackward0(_ModByNumber):
    """out = a - floor(a / s) * s (Python's %, s a number);  da = g"""
    _np = staticmethod(np.remainder)


class RemainderBackward1(_ModByTensor):
    """out = a - floor(a / b) * b;  da = g, db = -g * floor(a / b)"""
    _np = staticmethod(np.remainder)
    _rounding = "floor"


class FmodBackward0(_ModByNumber):
    """out = a - trunc(a / s) * s (C's fmod, s a number);  da = g"""
    _np = staticmethod(np.fmod)


class FmodBackward1(_ModByTensor):
    """out = a - trunc(a / b) * b;  da = g, db = -g * trunc(a / b)"""
    _np = staticmethod(np.fmod)
    _rounding = "trunc"


class NegBackward0(Op):
    """out = -a;  da = -g"""

    @staticmethod
    def forward(ctx, a):
        if a._data.dtype == np.bool_:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                               "you are trying to invert a mask, use the `~` or `logical_not()` "
                               "operator instead.")
        return np.negative(a._data)

    @staticmethod
    def backward(ctx, g):
        return _new(np.negative(g._data)) if not _grad_state.enabled else -g


class PowBackward0(Op):
    """out = a ** e (e a number);  da = g * e * a**(e-1)"""

    @staticmethod
    def forward(ctx, a, e):
        ctx.save_for_backward(a)
        ctx.e = e
        x, y = promote(a, e)
        if isinstance(y, int) and y < 0 and x.dtype.kind in "iu":
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return quietly(np.power, x, y)  # 0 ** -1 = inf, (-1) ** 0.5 = nan, silently as torch

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        e = ctx.e
        if e == 0:
            return g * 0.0, None
        if e == 2:
            return g * (a * 2.0), None
        return g * (e * a ** (e - 1)), None


class PowBackward1(Op):
    """out = a ** b (both tensors);  da = g * b * a**(b-1), db = g * out * log(a)"""
    _save_output = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(all="ignore"):
            return _binary(np.power, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = g * b * a ** (b - 1) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            gb = g * where_(a == 0, out * 0.0, out * a.log()) if (a._data == 0).any() else \
                g * out * a.log()
        return ga, gb


class PowBackward2(Op):
    """out = s ** b (s a number);  db = g * out * log(s)"""
    _save_output = True

    @staticmethod
    def forward(ctx, s, b):
        ctx.s = s
        y, x = promote(b, s)
        with np.errstate(all="ignore"):
            return np.power(x, y)

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        with np.errstate(all="ignore"):  # log of a negative base: nan, as torch
            log_s = float(np.log(ctx.s))
        return None, g * out * log_s


# ---- unary math ---------------------------------------------------------------------------
def _unary(name, np_fn, grad, save_input=False, save_output=False, doc="", quiet=False,
           np_grad=None):
    """Define a unary Op whose backward is `grad(g, input, output)` in ember ops, or
    `np_grad(g, input, output)` on arrays when no graph of the backward is recorded. `quiet` ops
    can leave their domain (log(-1), exp(1000)): torch returns nan/inf silently, so NumPy's
    warnings are silenced for them."""

    def forward(ctx, a):
        if save_input:
            ctx.save_for_backward(a)
        x = a._data
        if x.dtype.kind in "biu":
            from .. import _dtype
            x = x.astype(_dtype._default.dtype.np)
        if quiet:
            return quietly(np_fn, x)
        return np_fn(x)

    def backward(ctx, g):
        if np_grad is not None and not _grad_state.enabled:  # no graph of the backward
            saved = ctx._saved_arrays()
            return _new(quietly(np_grad, g._data, saved[0] if save_input else None,
                                saved[-1] if save_output else None))
        saved = ctx.saved_tensors
        a = saved[0] if save_input else None
        out = saved[-1] if save_output else None
        return grad(g, a, out)

    cls = type(name, (Op,), {"forward": staticmethod(forward), "backward": staticmethod(backward),
                             "_save_output": save_output, "__doc__": doc,
                             "__module__": __name__})
    return cls


ExpBackward0 = _unary("ExpBackward0", np.exp, lambda g, a, r: g * r, save_output=True,
                      doc="out = exp(a);  da = g * out", quiet=True,
                      np_grad=lambda g, a, r: g * r)
LogBackward0 = _unary("LogBackward0", np.log, lambda g, a, r: g / a, save_input=True,
                      doc="out = log(a);  da = g / a", quiet=True,
                      np_grad=lambda g, a, r: g / a)
Log1PBackward0 = _unary("Log1PBackward0", np.log1p, lambda g, a, r: g / (a + 1.0),
                        save_input=True, doc="out = log(1+a);  da = g / (1+a)", quiet=True)
Log2Backward0 = _unary("Log2Backward0", np.log2, lambda g, a, r: g / (a * float(np.log(2.0))),
                       save_input=True, doc="out = log2(a);  da = g / (a ln 2)", quiet=True)
SqrtBackward0 = _unary("SqrtBackward0", np.sqrt, lambda g, a, r: g / (r * 2.0), save_output=True,
                       doc="out = sqrt(a);  da = g / (2 out)", quiet=True,
                       np_grad=lambda g, a, r: g / (r * 2.0))
RsqrtBackward0 = _unary("RsqrtBackward0", lambda x: 1.0 / np.sqrt(x),
                        lambda g, a, r: g * (r ** 3) * -0.5, save_output=True,
                        doc="out = a**-0.5;  da = -g out**3 / 2", quiet=True)
SinBackward0 = _unary("SinBackward0", np.sin, lambda g, a, r: g * a.cos(), save_input=True,
                      doc="out = sin(a);  da = g cos(a)")
CosBackward0 = _unary("CosBackward0", np.cos, lambda g, a, r: g * -a.sin(), save_input=True,
                      doc="out = cos(a);  da = -g sin(a)")
TanhBackward0 = _unary("TanhBackward0", np.tanh, lambda g, a, r: g * (1.0 - r * r),
                       save_output=True, doc="out = tanh(a);  da = g (1 - out**2)",
                       np_grad=lambda g, a, r: g * (1.0 - r * r))
ReciprocalBackward0 = _unary("ReciprocalBackward0", np.reciprocal,
                             lambda g, a, r: g * -(r * r), save_output=True,
                             doc="out = 1/a;  da = -g out**2", quiet=True)


def _sigmoid_exp(e):
    np.exp(e, out=e)


def _sigmoid_np(x):
    """1 / (1 + exp(-x)), torch's formula (it equals torch's result more often than the
    overflow-free two-branch form, which also needed a select: np.where on a random sign pattern
    is ~10x slower than this whole function). exp overflows to inf below x = -88 (float32),
    giving the right limit 0; the warning is silenced as torch's."""
    e = np.negative(x)
    if e.__class__ is not np.ndarray:  # a 0-dim input gives a NumPy scalar
        e = np.asarray(e)
    quietly(_sigmoid_exp, e)
    np.add(e, e.dtype.type(1), out=e)
    np.reciprocal(e, out=e)
    return e


SigmoidBackward0 = _unary("SigmoidBackward0", _sigmoid_np, lambda g, a, r: g * (r * (1.0 - r)),
                          save_output=True, doc="out = 1/(1+exp(-a));  da = g out (1-out)",
                          np_grad=lambda g, a, r: g * (r * (1.0 - r)))


# erfinv: Giles' single-precision approximation ("Approximating the erfinv function", 2010), a
# polynomial in w = -log(1 - y^2), refined by Newton steps on erf (|y| <= 0.5) or on log(erfc)
# (the tails, where erf is flat); erf and erfc are the C library's, through `math`.
_GILES_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                  2.1858087e-04, -1.25372503e-03, -4.17768164e-03, 2.46640727e-01, 1.50140941)
_GILES_TAIL = (-2.00214257e-04, 1.00950558e-04, 1.34934322e-03, -3.67342844e-03, 5.73950773e-03,
               -7.6224613e-03, 9.43887047e-03, 1.00167406, 2.83297682)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_erf_each = np.frompyfunc(math.erf, 1, 1)
_erfc_each = np.frompyfunc(math.erfc, 1, 1)


def _horner(coefs, w: np.ndarray) -> np.ndarray:
    p = np.full_like(w, coefs[0])
    for c in coefs[1:]:
        p *= w
        p += c
    return p


def _erfinv_np(y: np.ndarray) -> np.ndarray:
    """erfinv in y's float dtype (integers: the default float). Computed in float64 to within
    1e-15 relative, then rounded: float32 results are the correctly rounded values (torch's own
    float32 kernel is within 1 ulp of them). erfinv(+-1) = +-inf, nan outside [-1, 1]."""
    dt = y.dtype
    if dt.kind != "f":
        from .. import _dtype
        dt = _dtype._default.dtype.np
    y64 = np.asarray(y, np.float64)
    ay = np.abs(y64)
    out = np.where(ay == 1, np.inf, np.nan)
    inside = ay < 1
    a = ay[inside]
    one_minus = 1.0 - a  # exact for a >= 0.5 (Sterbenz), where the tails need it
    w = -np.log(one_minus * (1.0 + a))
    x = np.empty_like(a)
    near = w < 5.0
    x[near] = _horner(_GILES_CENTRAL, w[near] - 2.5)
    x[~near] = _horner(_GILES_TAIL, np.sqrt(w[~near]) - 3.0)
    x *= a  # now within ~1e-7 relative (worse only beyond float32's reach of 1)
    central = np.flatnonzero(a <= 0.5)
    tail = np.flatnonzero(a > 0.5)
    log_target = np.log(one_minus[tail])
    for _ in range(8):
        xc = x[central]
        f = _erf_each(xc).astype(np.float64) - a[central]
        step_c = f / (_TWO_OVER_SQRT_PI * np.exp(-xc * xc))
        xt = x[tail]
        ec = _erfc_each(xt).astype(np.float64)
        step_t = (np.log(ec) - log_target) * ec / (_TWO_OVER_SQRT_PI * np.exp(-xt * xt))
        x[central] = xc - step_c
        x[tail] = xt + step_t
        # float32 needs one step; float64 until the steps stop mattering (the far tails take
        # a few, from a start fitted to float32's range)
        if dt != np.float64:
            break
        big_c = np.abs(step_c) > 1e-16 * np.abs(xc)
        big_t = np.abs(step_t) > 1e-16 * np.abs(xt)
        if not (big_c.any() or big_t.any()):
            break
        central, tail, log_target = central[big_c], tail[big_t], log_target[big_t]
    out[inside] = x
    return np.copysign(out, y64).astype(dt)


ErfinvBackward0 = _unary("ErfinvBackward0", _erfinv_np,
                         lambda g, a, r: g * ((r * r).exp() * (math.sqrt(math.pi) / 2)),
                         save_output=True, doc="out = erfinv(a);  da = g sqrt(pi)/2 exp(out**2)",
                         quiet=True)


class AbsBackward0(Op):
    """out = |a|;  da = g * sign(a)"""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a._data)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        return g * a.sign()


class ReluBackward0(Op):
    """out = max(a, 0);  da = g * (out > 0)"""
    _save_output = True

    @staticmethod
    def forward(ctx, a):
        x = a._data
        k = x.dtype.kind
        if k == "f" and 0 < x.size < 4096:  # small: max(0, x) against a cached 0-d zero
            return np.maximum(_zero(x.dtype), x)  # (the bound first: x's -0.0 survives)
        if k == "b":
            raise RuntimeError('"clamp_min_scalar_cpu" not implemented for \'Bool\'')
        return _bound(np.maximum, x, 0) if k == "f" else np.maximum(x, _zero(x.dtype))

    @staticmethod
    def backward(ctx, g):
        if not _grad_state.enabled:
            out, = ctx._saved_arrays()
            gd = g._data
            if gd.dtype == out.dtype and gd.shape == out.shape and gd.dtype.kind == "f":
                if gd.size < 4096:  # small: one call fewer beats the bool cast
                    return _new(np.multiply(gd, out > _zero(out.dtype)))
                # the mask straight as 0/1 of g's dtype: no bool array cast inside the multiply
                r = np.greater(out, _zero(out.dtype), out=np.empty_like(gd))
                r *= gd
                return _new(r)
            return _new(gd * (out > _zero(out.dtype)))
        out, = ctx.saved_tensors
        return g * (out > 0)


class _ReluInplace(ReluBackward0):
    """relu_ (Tensor.relu_, F.relu(inplace=True), nn.ReLU(True)): relu's node (torch names it
    ReluBackward0 too). The in-place machinery (ops/inplace.py) applies it to the tensor being
    overwritten (or to a copy of a view's values), so the forward writes max(x, 0) straight
    into x's array and the write that follows finds it in place: one pass, where a new array
    and a copy back took 10x torch's time on a fresh 64x64x14x14 batch-norm output."""

    @staticmethod
    def forward(ctx, a):
        x = a._data
        if x.dtype.kind == "f" and x.ndim and x.flags.writeable and x.flags.c_contiguous:
            return _bound(np.maximum, x, 0, out=x)
        return ReluBackward0.forward(ctx, a)


_ReluInplace.__name__ = _ReluInplace.__qualname__ = "ReluBackward0"


def relu_inplace_op(input):
    """relu for Tensor.relu_ only (see _ReluInplace)."""
    return _ReluInplace.apply(input)


_ZEROS = {}


def _zero(dt: np.dtype) -> np.ndarray:
    """A 0-dim zero of dtype `dt`: NumPy runs max(x, zero) ~2x faster with it than with a
    Python 0, which it must first convert (and, past ~1000 elements, in a slower loop)."""
    z = _ZEROS.get(dt)
    if z is None:
        z = _ZEROS[dt] = np.zeros((), dt)
        z.flags.writeable = False
    return z


class SignBackward0(Op):
    """out = sign(a);  da = 0"""

    @staticmethod
    def forward(ctx, a):
        x = a._data
        if x.dtype == np.bool_:
            return x.copy()
        out = np.sign(x)
        if x.dtype.kind == "f":
            nan = np.isnan(out)
            if nan.any():  # torch: sign(nan) = 0
                out = np.where(nan, np.zeros((), x.dtype), out)
        return out

    @staticmethod
    def backward(ctx, g):
        return g * 0.0


def _clamp_float(x: np.ndarray, *bounds) -> np.ndarray:
    """An integral input clamped by a float bound becomes the default float dtype, as in torch."""
    if x.dtype.kind != "f" and any(isinstance(b, float) for b in bounds):
        from .. import _dtype
        return x.astype(_dtype._default.dtype.np)
    return x


def _plain_number(v) -> bool:
    """None or a Python int/float: a bound that keeps a float input's dtype (row_loops)."""
    return v is None or (v.__class__ in (int, float))


def _zero_of(g):
    return _new(np.zeros((), g._data.dtype))


def _pick(g, mask):
    """g where `mask`, else 0, as torch selects (g * mask would turn a NaN of g into NaN)."""
    return where_(_new(mask), g, _zero_of(g))


class ClampBackward1(Op):
    """out = min(max(a, lo), hi) (number bounds);  da = g where lo <= a <= hi else 0"""

    @staticmethod
    def forward(ctx, a, lo=None, hi=None):
        if lo is None and hi is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        ctx.save_for_backward(a)
        ctx.lo, ctx.hi = lo, hi
        x = _clamp_float(a._data, lo, hi)
        if x.dtype.kind == "f" and _plain_number(lo) and _plain_number(hi):
            if lo is None:
                return _bound(np.minimum, x, hi)
            out = _bound(np.maximum, x, lo)
            return out if hi is None else _bound(np.minimum, out, hi, out=out)
        out = x
        if lo is not None:
            out = np.maximum(out, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        x = a._data
        if ctx.lo is None:
            mask = x <= ctx.hi
        elif ctx.hi is None:
            mask = x >= ctx.lo
        else:
            mask = (x >= ctx.lo) & (x <= ctx.hi)
        return _pick(g, mask), None, None


class ClampMinBackward0(Op):
    """out = max(a, lo) (number lo);  da = g where a >= lo"""

    @staticmethod
    def forward(ctx, a, lo):
        ctx.save_for_backward(a)
        ctx.lo = lo
        x = _clamp_float(a._data, lo)
        if x.dtype.kind == "f" and _plain_number(lo):
            return _bound(np.maximum, x, lo)
        return np.maximum(x, lo).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        return _pick(g, a._data >= ctx.lo), None


class ClampMaxBackward0(Op):
    """out = min(a, hi) (number hi);  da = g where a <= hi"""

    @staticmethod
    def forward(ctx, a, hi):
        ctx.save_for_backward(a)
        ctx.hi = hi
        x = _clamp_float(a._data, hi)
        if x.dtype.kind == "f" and _plain_number(hi):
            return _bound(np.minimum, x, hi)
        return np.minimum(x, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        return _pick(g, a._data <= ctx.hi), None


def _promoted_bounds(a, lo, hi):
    from .util import result_dtype
    ts = [t for t in (a, lo, hi) if t is not None]
    dt = result_dtype(*ts).np
    return [None if t is None else t._data.astype(dt, copy=False) for t in (a, lo, hi)]


class ClampBackward0(Op):
    """out = min(max(a, lo), hi) (tensor bounds, broadcast; hi wins where lo > hi);
    da = g where lo <= a <= hi, dlo = g where a < lo < hi, dhi = g where a > hi or lo > hi"""
    _number_edges = 3  # torch lists an absent bound as a (None, 0) edge

    @staticmethod
    def forward(ctx, a, lo, hi):
        if lo is None and hi is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        ctx.save_for_backward(a, lo, hi)
        x, l, h = _promoted_bounds(a, lo, hi)
        out = x
        try:
            if l is not None:
                out = np.maximum(out, l)
            if h is not None:
                out = np.minimum(out, h)
        except ValueError:
            check_broadcast(x, l if l is not None else h)
            check_broadcast(out, h)
            raise
        return out

    @staticmethod
    def backward(ctx, g):
        a, lo, hi = ctx.saved_tensors
        x, l, h = _promoted_bounds(a, lo, hi)
        if l is None:
            return _pick(g, x <= h), None, _pick(g, x > h)
        if h is None:
            return _pick(g, x >= l), _pick(g, x < l), None
        return (_pick(g, (x >= l) & (x <= h)), _pick(g, (x < l) & (l < h)),
                _pick(g, (x > h) | (l > h)))


class ClampMinBackward1(Op):
    """out = max(a, lo) (tensor lo);  da = g where a >= lo, dlo = g where a < lo"""

    @staticmethod
    def forward(ctx, a, lo):
        ctx.save_for_backward(a, lo)
        return _binary(np.maximum, a, lo)

    @staticmethod
    def backward(ctx, g):
        a, lo = ctx.saved_tensors
        x, l, _ = _promoted_bounds(a, lo, None)
        return _pick(g, x >= l), _pick(g, x < l)


class ClampMaxBackward1(Op):
    """out = min(a, hi) (tensor hi);  da = g where a <= hi, dhi = g where a > hi"""

    @staticmethod
    def forward(ctx, a, hi):
        ctx.save_for_backward(a, hi)
        return _binary(np.minimum, a, hi)

    @staticmethod
    def backward(ctx, g):
        a, hi = ctx.saved_tensors
        x, h, _ = _promoted_bounds(a, hi, None)
        return _pick(g, x <= h), _pick(g, x > h)


class MaximumBackward0(Op):
    """out = max(a, b);  gradient to the larger, split evenly on ties"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _binary(np.maximum, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        x, y = promote(a, b)
        wa = (x > y) + 0.5 * (x == y)
        return g * _new(wa.astype(g._data.dtype)), g * _new((1.0 - wa).astype(g._data.dtype))


class MinimumBackward0(Op):
    """out = min(a, b);  gradient to the smaller, split evenly on ties"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _binary(np.minimum, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        x, y = promote(a, b)
        wa = (x < y) + 0.5 * (x == y)
        return g * _new(wa.astype(g._data.dtype)), g * _new((1.0 - wa).astype(g._data.dtype))


class WhereBackward0(Op):
    """out = cond ? a : b (cond an array: torch's node has no edge for it);
    da = g * cond, db = g * ~cond"""
    _number_edges = 2

    @staticmethod
    def forward(ctx, a, b, cond):
        ctx.cond = np.asarray(cond)
        if ctx.cond.dtype != np.bool_:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                               f"tensor with dtype {Tensor._new(ctx.cond).dtype}")
        x, y = promote(a, b)
        try:
            return np.where(ctx.cond, x, y)
        except ValueError:
            for p, q in ((x, y), (ctx.cond, x), (ctx.cond, y)):
                check_broadcast(np.asarray(p), q)
            raise

    @staticmethod
    def backward(ctx, g):
        c = _new(ctx.cond)
        z = _zero_of(g)  # a real zero: g * 0 would carry a NaN of g into the other branch
        nig = ctx.needs_input_grad
        return (where_(c, g, z) if nig[0] else None), (where_(c, z, g) if nig[1] else None), None


def where_(cond, a, b):
    """ember.where(cond, a, b) (a, b tensors or numbers)."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        from .creation import tensor
        a = tensor(a)
    return WhereBackward0.apply(a, b, cond._data if isinstance(cond, Tensor) else cond)


# ---- public functions -----------------------------------------------------------------------
def _num(x):
    return not isinstance(x, Tensor)


def add(input, other, *, alpha=1, out=None):
    if _num(input):
        input, other = other, input
    r = AddBackward0.apply(input, other, alpha) if alpha != 1 else AddBackward0.apply(input, other)
    return r if out is None else _write_out(out, r)


def sub(input, other, *, alpha=1, out=None):
    if _num(input):
        r = RsubBackward1.apply(other, input) if alpha == 1 else \
            AddBackward0.apply(other * -alpha, input)
    else:
        r = SubBackward0.apply(input, other, alpha) if alpha != 1 else \
            SubBackward0.apply(input, other)
    return r if out is None else _write_out(out, r)


subtract = sub


def rsub(input, other, *, alpha=1):
    return sub(other, input, alpha=alpha)


def mul(input, other, *, out=None):
    if _num(input):
        input, other = other, input
    r = MulBackward0.apply(input, other)
    return r if out is None else _write_out(out, r)


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    if _num(input):
        from .creation import tensor
        input = tensor(input)
    if rounding_mode is not None:
        r = DivBackward2.apply(input, other, rounding_mode)
    else:
        r = DivBackward0.apply(input, other)
    return r if out is None else _write_out(out, r)


divide = true_divide = div


def floor_divide(input, other):
    if _num(input):
        from .creation import tensor
        input = tensor(input)
    return _FloorDivide.apply(input, other)


def remainder(input, other):
    if _num(input):
        from .creation import tensor
        input = tensor(input)
    if isinstance(other, Tensor):
        return RemainderBackward1.apply(input, other)
    return RemainderBackward0.apply(input, other)


def fmod(input, other):
    if isinstance(other, Tensor):
        return FmodBackward1.apply(input, other)
    return FmodBackward0.apply(input, other)


def neg(input):
    return NegBackward0.apply(input)


negative = neg


def pow(input, exponent):
    if isinstance(input, Tensor):
        if isinstance(exponent, Tensor):
            return PowBackward1.apply(input, exponent)
        return PowBackward0.apply(input, exponent)
    return PowBackward2.apply(input, exponent)


def exp(input):
    return ExpBackward0.apply(input)


def log(input):
    return LogBackward0.apply(input)


def log1p(input):
    return Log1PBackward0.apply(input)


def log2(input):
    return Log2Backward0.apply(input)


def sqrt(input):
    return SqrtBackward0.apply(input)


def rsqrt(input):
    return RsqrtBackward0.apply(input)


def sin(input):
    return SinBackward0.apply(input)


def cos(input):
    return CosBackward0.apply(input)


def tanh(input):
    return TanhBackward0.apply(input)


def sigmoid(input):
    return SigmoidBackward0.apply(input)


def reciprocal(input):
    return ReciprocalBackward0.apply(input)


def erfinv(input):
    return ErfinvBackward0.apply(input)


def abs(input):
    return AbsBackward0.apply(input)


absolute = abs


def relu(input):
    return ReluBackward0.apply(input)


def sign(input):
    return SignBackward0.apply(input)


def clamp(input, min=None, max=None):
    for name, v in (("min", min), ("max", max)):
        if v is not None and not isinstance(v, (Tensor, int, float, np.number, np.bool_)):
            raise TypeError(f"clamp() received an invalid combination of arguments - got "
                            f"({name}={type(v).__name__}, )")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if min is not None and not isinstance(min, Tensor):
            min = _bound_tensor(min, input)
        if max is not None and not isinstance(max, Tensor):
            max = _bound_tensor(max, input)
        return ClampBackward0.apply(input, min, max)
    return ClampBackward1.apply(input, scalar_value(min) if min is not None else None,
                                scalar_value(max) if max is not None else None)


def _bound_tensor(v, like):
    from .creation import tensor
    return tensor(v, dtype=like.dtype if isinstance(v, int) else None)


clip = clamp


def clamp_min(input, min):
    if isinstance(min, Tensor):
        return ClampMinBackward1.apply(input, min)
    return ClampMinBackward0.apply(input, scalar_value(min))


def clamp_max(input, max):
    if isinstance(max, Tensor):
        return ClampMaxBackward1.apply(input, max)
    return ClampMaxBackward0.apply(input, scalar_value(max))


def _check_tensors(name, input, other):
    for pos, (arg, v) in enumerate((("input", input), ("other", other))):
        if not isinstance(v, Tensor):
            raise TypeError(f"{name}(): argument '{arg}' (position {pos + 1}) must be Tensor, "
                            f"not {type(v).__name__}")


def maximum(input, other):
    _check_tensors("maximum", input, other)
    return MaximumBackward0.apply(input, other)


def minimum(input, other):
    _check_tensors("minimum", input, other)
    return MinimumBackward0.apply(input, other)


def where(condition, input=None, other=None):
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    return where_(condition, input, other)


def _write_out(out: Tensor, r: Tensor) -> Tensor:
    if out._data.shape != r._data.shape:
        out._data = np.empty(r._data.shape, out._data.dtype)
    out._data[...] = r._data
    out._vc[0] += 1
    return out


# ---- comparisons and logic (no gradient) ------------------------------------------------------
def _cmp(np_fn):
    def f(input, other):
        if not isinstance(input, Tensor):
            input, other = other, input
            return _new(_binary(_SWAPPED[np_fn], input, other))
        return _new(_binary(np_fn, input, other))
    return f


_SWAPPED = {np.less: np.greater, np.greater: np.less, np.less_equal: np.greater_equal,
            np.greater_equal: np.less_equal, np.equal: np.equal, np.not_equal: np.not_equal}
eq = _cmp(np.equal)
ne = _cmp(np.not_equal)
lt = _cmp(np.less)
le = _cmp(np.less_equal)
gt = _cmp(np.greater)
ge = _cmp(np.greater_equal)
less, less_equal, greater, greater_equal, not_equal = lt, le, gt, ge, ne


def _logical(np_fn):
    def f(input, other):
        x = input._data if isinstance(input, Tensor) else np.asarray(input)
        y = other._data if isinstance(other, Tensor) else np.asarray(other)
        return _new(np_fn(x.astype(bool, copy=False), y.astype(bool, copy=False)))
    return f


logical_and = _logical(np.logical_and)
logical_or = _logical(np.logical_or)
logical_xor = _logical(np.logical_xor)


def logical_not(input):
    return _new(np.logical_not(input._data))


def _bitwise(np_fn, name):
    def f(input, other):
        if not isinstance(input, Tensor):
            input, other = other, input
        x, y = promote(input, other)
        if x.dtype.kind == "f":
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{_float_name(x)}\'')
        return _new(np_fn(x, y))
    return f


def _float_name(a) -> str:
    """torch's scalar type name of a floating array in its kernel errors."""
    return {"float32": "Float", "float64": "Double", "float16": "Half"}.get(a.dtype.name,
                                                                           "BFloat16")


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def bitwise_not(input):
    if input._data.dtype.kind == "f":
        raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for "
                                  f"'{_float_name(input._data)}'")
    return _new(np.invert(input._data))


def isnan(input):
    return _new(np.isnan(input._data))


def isinf(input):
    return _new(np.isinf(input._data))


def isfinite(input):
    return _new(np.isfinite(input._data))


def equal(input, other) -> bool:
    return input._data.shape == other._data.shape and bool(np.array_equal(input._data,
                                                                          other._data))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(np.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _new(np.isclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def _step(name, np_fn, doc):
    """A rounding op: piecewise constant, so its gradient is zero (torch records it anyway)."""

    def forward(ctx, a, *args):
        x = a._data
        return x.copy() if x.dtype.kind in "biu" else np_fn(x, *args)

    def backward(ctx, g):
        return g * 0.0, None  # (the None, for round's decimals, is dropped when unused)

    return type(name, (Op,), {"forward": staticmethod(forward), "backward": staticmethod(backward),
                              "__doc__": doc, "__module__": __name__})


FloorBackward0 = _step("FloorBackward0", np.floor, "out = floor(a);  da = 0")
CeilBackward0 = _step("CeilBackward0", np.ceil, "out = ceil(a);  da = 0")
TruncBackward0 = _step("TruncBackward0", np.trunc, "out = trunc(a);  da = 0")
RoundBackward0 = _step("RoundBackward0", np.round, "out = round(a) (half to even);  da = 0")
RoundBackward1 = _step("RoundBackward1", np.round, "out = round(a, decimals);  da = 0")


def floor(input):
    return FloorBackward0.apply(input)


def ceil(input):
    return CeilBackward0.apply(input)


def round(input, decimals=0):
    if decimals:
        return RoundBackward1.apply(input, decimals)
    return RoundBackward0.apply(input)


def trunc(input):
    return TruncBackward0.apply(input)


def square(input):
    return PowBackward0.apply(input, 2)


# ---- distance ----------------------------------------------------------------------------------
def _vector_norm(d: np.ndarray, p) -> np.ndarray:
    """The p-norm of all of d's entries, as a 0-dim array of d's dtype."""
    if d.size == 0 and (p < 0 or p == np.inf):
        raise RuntimeError(f"linalg.vector_norm cannot compute the {p:g} norm on an empty tensor "
                           "because the operation does not have an identity")
    a = np.abs(d)
    if p == 2:
        a = a.ravel()
        v = np.sqrt(np.dot(a, a))
    elif p == 1:
        v = a.sum()
    elif p == 0:
        v = np.count_nonzero(a)
    elif p == np.inf:
        v = a.max()
    elif p == -np.inf:
        v = a.min()
    else:
        with np.errstate(divide="ignore"):  # |0| ** -p = inf, as torch
            v = np.sum(a ** d.dtype.type(p)) ** d.dtype.type(1.0 / p)
    return np.asarray(v, dtype=d.dtype)


class DistBackward0(Op):
    """out = ||a - b||_p over all entries (a, b broadcast);  with d = a - b:
    da = g sign(d) |d|**(p-1) / out**(p-1) (0 where d = 0 or out = 0); p = inf / -inf: g sign(d)
    shared evenly by the entries with |d| = out; p = 0: no gradient;  db = -da"""
    _save_output = True

    @staticmethod
    def forward(ctx, a, b, p):
        x, y = promote(a, b)
        if x.dtype.kind != "f":
            from .inplace import TYPE_NAMES
            raise RuntimeError("norm(): input dtype should be either floating point or complex. "
                               f"Got {TYPE_NAMES.get(x.dtype.name, x.dtype.name)} instead.")
        try:
            d = np.subtract(x, y)
        except ValueError:
            check_broadcast(x, y)
            raise
        ctx.save_for_backward(a, b)
        ctx.p = p
        return _vector_norm(d, p)

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        p = ctx.p
        if p == 0:
            return None, None, None
        d = a - b
        if p == np.inf or p == -np.inf:
            hit = _new(np.abs(d._data) == out._data)
            gd = d.sign() * (hit * (g / float(hit._data.sum())))
        elif float(out._data) == 0:
            gd = d * 0.0
        elif p == 2:
            gd = d * (g / out)
        elif p == 1:
            gd = d.sign() * g
        else:
            ad = d.abs()
            zero = d._data == 0
            if p < 1 and zero.any():  # |0|**(p-1) = inf: use 1 there, where sign(d) = 0 anyway
                ad = ad + _new(zero.astype(ad._data.dtype))
            gd = d.sign() * ad ** (p - 1) * (g / out ** (p - 1))
        return (gd if ctx.needs_input_grad[0] else None,
                -gd if ctx.needs_input_grad[1] else None, None)


def dist(input, other, p=2):
    """ember.dist: the p-norm of input - other (broadcast)."""
    for pos, (arg, v) in enumerate((("input", input), ("other", other))):
        if not isinstance(v, Tensor):
            raise TypeError(f"dist(): argument '{arg}' (position {pos + 1}) must be Tensor, not "
                            f"{type(v).__name__}")
    return DistBackward0.apply(input, other, p)


def _tensor_dist(self, other, p=2):
    """Tensor.dist (torch numbers the arguments from `other`)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"dist(): argument 'other' (position 1) must be Tensor, not "
                        f"{type(other).__name__}")
    return DistBackward0.apply(self, other, p)
