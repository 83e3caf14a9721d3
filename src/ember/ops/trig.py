"""More elementwise math: the trigonometric, hyperbolic and inverse set (with torch's arc*
aliases), log10, deg2rad/rad2deg, frac, and the binary/ternary atan2, hypot, lerp, addcmul,
addcdiv. Each op's docstring gives forward and backward."""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from .base import Op
from .elementwise import _binary, _unary
from .quiet import quietly
from .util import check_broadcast, promote

_new = Tensor._new

TanBackward0 = _unary("TanBackward0", np.tan, lambda g, a, r: g * (r * r + 1.0),
                      save_output=True, doc="out = tan(a);  da = g (1 + out^2)")
SinhBackward0 = _unary("SinhBackward0", np.sinh, lambda g, a, r: g * a.cosh(), save_input=True,
                       quiet=True, doc="out = sinh(a);  da = g cosh(a)")
CoshBackward0 = _unary("CoshBackward0", np.cosh, lambda g, a, r: g * a.sinh(), save_input=True,
                       quiet=True, doc="out = cosh(a);  da = g sinh(a)")
AsinBackward0 = _unary("AsinBackward0", np.arcsin, lambda g, a, r: g * (1.0 - a * a).rsqrt(),
                       save_input=True, quiet=True, doc="out = asin(a);  da = g / sqrt(1 - a^2)")
AcosBackward0 = _unary("AcosBackward0", np.arccos, lambda g, a, r: -g * (1.0 - a * a).rsqrt(),
                       save_input=True, quiet=True, doc="out = acos(a);  da = -g / sqrt(1 - a^2)")
AtanBackward0 = _unary("AtanBackward0", np.arctan, lambda g, a, r: g / (a * a + 1.0),
                       save_input=True, doc="out = atan(a);  da = g / (1 + a^2)")
AsinhBackward0 = _unary("AsinhBackward0", np.arcsinh, lambda g, a, r: g * (a * a + 1.0).rsqrt(),
                        save_input=True, doc="out = asinh(a);  da = g / sqrt(a^2 + 1)")
AcoshBackward0 = _unary("AcoshBackward0", np.arccosh,
                        lambda g, a, r: g * (a * a - 1.0).rsqrt(), save_input=True, quiet=True,
                        doc="out = acosh(a);  da = g / sqrt(a^2 - 1)")
AtanhBackward0 = _unary("AtanhBackward0", np.arctanh, lambda g, a, r: g / (1.0 - a * a),
                        save_input=True, quiet=True, doc="out = atanh(a);  da = g / (1 - a^2)")
Log10Backward0 = _unary("Log10Backward0", np.log10,
                        lambda g, a, r: g / (a * math.log(10.0)), save_input=True, quiet=True,
                        doc="out = log10(a);  da = g / (a ln 10)")
Deg2RadBackward0 = _unary("Deg2RadBackward0", lambda x: x * x.dtype.type(math.pi / 180),
                          lambda g, a, r: g * (math.pi / 180), doc="out = a pi/180;  da = g pi/180")
Rad2DegBackward0 = _unary("Rad2DegBackward0", lambda x: x * x.dtype.type(180 / math.pi),
                          lambda g, a, r: g * (180 / math.pi), doc="out = a 180/pi;  da = g 180/pi")


class FracBackward0(Op):
    """out = a - trunc(a);  da = g"""

    @staticmethod
    def forward(ctx, a):
        x = a._data
        if x.dtype.kind != "f":
            raise NotImplementedError(f'"frac_cpu" not implemented for \'{_type_name(x)}\'')
        return x - np.trunc(x)

    @staticmethod
    def backward(ctx, g):
        return g


def _type_name(x):
    from .inplace import TYPE_NAMES
    return TYPE_NAMES.get(x.dtype.name, x.dtype.name)


def _float_binary(a, b):
    x, y = promote(a, b)
    if np.asarray(x).dtype.kind != "f":
        from .. import _dtype
        dt = _dtype._default.dtype.np
        x = np.asarray(x).astype(dt)
        y = np.asarray(y).astype(dt)
    return x, y


class Atan2Backward0(Op):
    """out = atan2(a, b);  da = g b / (a^2 + b^2), db = -g a / (a^2 + b^2)"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        x, y = _float_binary(a, b)
        try:
            return np.arctan2(x, y)
        except ValueError:
            check_broadcast(x, y)
            raise

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r = g / (a * a + b * b)
        return r * b, r * -a


class HypotBackward0(Op):
    """out = sqrt(a^2 + b^2);  da = g a / out, db = g b / out"""
    _save_output = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        x, y = promote(a, b)
        if np.asarray(x).dtype.kind != "f":
            raise RuntimeError(f'"hypot_cpu" not implemented for \'{_type_name(np.asarray(x))}\'')
        try:
            return np.hypot(x, y)
        except ValueError:
            check_broadcast(x, y)
            raise

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        r = g / out
        return r * a, r * b


class LerpBackward0(Op):
    """out = a + w (b - a), w a number;  da = g (1 - w), db = g w"""

    @staticmethod
    def forward(ctx, a, b, w):
        ctx.w = w
        x, y = _lerp_operands(a, b)
        try:
            return (x + w * (y - x)).astype(x.dtype, copy=False)
        except ValueError:
            check_broadcast(x, y)
            raise

    @staticmethod
    def backward(ctx, g):
        return g * (1.0 - ctx.w), g * ctx.w, None


class LerpBackward1(Op):
    """out = a + w (b - a), w a tensor;  da = g (1 - w), db = g w, dw = g (b - a)"""

    @staticmethod
    def forward(ctx, a, b, w):
        ctx.save_for_backward(a, b, w)
        x, y = _lerp_operands(a, b)
        wd = w._data
        if wd.dtype != x.dtype:
            raise RuntimeError(f"expected dtype {_dt(x)} for `weight` but got dtype {_dt(wd)}")
        try:
            return x + wd * (y - x)
        except ValueError:
            check_broadcast(np.broadcast_to(x, np.broadcast_shapes(x.shape, y.shape)), wd)
            raise

    @staticmethod
    def backward(ctx, g):
        a, b, w = ctx.saved_tensors
        return g * (1.0 - w), g * w, g * (b - a)


def _dt(x):
    return "torch." + x.dtype.name if x.dtype.name != "float32" else "float"


def _lerp_operands(a, b):
    x, y = a._data, b._data
    if x.dtype != y.dtype:
        raise RuntimeError(f"expected dtype {_dt(x)} for `end` but got dtype {_dt(y)}")
    if x.dtype.kind != "f":
        raise NotImplementedError(f'"lerp_kernel_scalar" not implemented for '
                                  f'\'{_type_name(x)}\'')
    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        check_broadcast(x, y)
        raise
    return x, y


class AddcmulBackward0(Op):
    """out = a + v t1 t2;  da = g, dt1 = g v t2, dt2 = g v t1"""

    @staticmethod
    def forward(ctx, a, t1, t2, v):
        ctx.save_for_backward(t1, t2)
        ctx.v = v
        p = _binary(np.multiply, t1, t2)
        x, q = promote(a, _new(p))
        try:  # value in the result's dtype, as torch (0.5 is 0 for integer tensors)
            return x + (q * q.dtype.type(v) if v != 1 else q)
        except ValueError:
            check_broadcast(x, q)
            raise

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        gv = g * ctx.v if ctx.v != 1 else g
        nig = ctx.needs_input_grad
        return g, gv * t2 if nig[1] else None, gv * t1 if nig[2] else None, None


class AddcdivBackward0(Op):
    """out = a + v t1 / t2;  da = g, dt1 = g v / t2, dt2 = -g v t1 / t2^2"""

    @staticmethod
    def forward(ctx, a, t1, t2, v):
        ctx.save_for_backward(t1, t2)
        ctx.v = v
        if t1._data.dtype.kind in "biu" and t2._data.dtype.kind in "biu":
            raise RuntimeError("Integer division with addcdiv is no longer supported, and in a "
                               "future release addcdiv will perform a true division of tensor1 "
                               "and tensor2. The historic addcdiv behavior can be implemented as "
                               "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) "
                               "for integer inputs and as (input + value * tensor1 / tensor2) for "
                               "float inputs. The future addcdiv behavior is just the latter "
                               "implementation: (input + value * tensor1 / tensor2), for all "
                               "dtypes.")
        p = quietly(lambda u, w: _binary(np.true_divide, u, w), t1, t2)
        x, q = promote(a, _new(p))
        try:  # value in the result's dtype, as torch (0.5 is 0 for integer tensors)
            return x + (q * q.dtype.type(v) if v != 1 else q)
        except ValueError:
            check_broadcast(x, q)
            raise

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        gv = g * ctx.v if ctx.v != 1 else g
        nig = ctx.needs_input_grad
        return (g, gv / t2 if nig[1] else None,
                -gv * t1 / (t2 * t2) if nig[2] else None, None)


def _u(cls):
    def f(input):
        return cls.apply(input)
    return f


tan, sinh, cosh = _u(TanBackward0), _u(SinhBackward0), _u(CoshBackward0)
asin, acos, atan = _u(AsinBackward0), _u(AcosBackward0), _u(AtanBackward0)
asinh, acosh, atanh = _u(AsinhBackward0), _u(AcoshBackward0), _u(AtanhBackward0)
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
log10, deg2rad, rad2deg = _u(Log10Backward0), _u(Deg2RadBackward0), _u(Rad2DegBackward0)
frac = _u(FracBackward0)


def _tensor_arg(v, like):
    if isinstance(v, Tensor):
        return v
    from .creation import tensor
    return tensor(v, dtype=like.dtype if like.is_floating_point() else None)


def atan2(input, other):
    return Atan2Backward0.apply(input, _tensor_arg(other, input))


arctan2 = atan2


def hypot(input, other):
    return HypotBackward0.apply(input, _tensor_arg(other, input))


def lerp(input, end, weight):
    if isinstance(weight, Tensor):
        return LerpBackward1.apply(input, end, weight)
    return LerpBackward0.apply(input, end, weight)


def addcmul(input, tensor1, tensor2, *, value=1):
    return AddcmulBackward0.apply(input, tensor1, tensor2, value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    return AddcdivBackward0.apply(input, tensor1, tensor2, value)


TENSOR_METHODS = {
    "tan": tan, "sinh": sinh, "cosh": cosh, "asin": asin, "acos": acos, "atan": atan,
    "asinh": asinh, "acosh": acosh, "atanh": atanh, "arcsin": asin, "arccos": acos,
    "arctan": atan, "arcsinh": asinh, "arccosh": acosh, "arctanh": atanh, "log10": log10,
    "deg2rad": deg2rad, "rad2deg": rad2deg, "frac": frac, "atan2": atan2, "arctan2": atan2,
    "hypot": hypot, "lerp": lerp, "addcmul": addcmul, "addcdiv": addcdiv,
}
