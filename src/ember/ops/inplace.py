"""In-place ops (`add_`, `mul_`, `zero_`, `fill_`, `copy_`, `uniform_`, ...) with torch's rules.

Without recording, the result is written straight into the tensor's array. When autograd records
(grad mode on and a tensor involved requires grad) the op runs out of place on an alias of the
old value, the result is written into the tensor and the tensor takes over the result's node, as
torch "rebases" history. The alias is copied only when the op saved it for backward. A node that
saved its own output is pointed at the tensor, so a later in-place write is detected by the
version counter, which every write bumps. Writes through a view of a tracked tensor go to
`view_inplace.rebase_view` (torch's CopySlices).
"""
from __future__ import annotations

import sys

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state
from . import shape as _shape
from .base import Op
from .creation import scalar_as

_new = Tensor._new
_refcount = sys.getrefcount

_LEAF_MSG = "a leaf Variable that requires grad is being used in an in-place operation."
_VIEW_LEAF_MSG = ("a view of a leaf Variable that requires grad is being used in an in-place "
                  "operation.")
_NO_GRAD_VIEW_MSG = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
    "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your "
    "code by moving both the view and the inplace either both inside the no_grad block (if you "
    "don't want the inplace to be tracked) or both outside (if you want the inplace to be "
    "tracked).")
_MULTI_VIEW_MSG = (
    "Output {} of {} is a view and is being modified inplace. This view is the output of a "
    "function that returns multiple views. Such functions do not allow the output views to be "
    "modified inplace. You should replace the inplace operation by an out-of-place one.")
_OVERLAP_MSG = ("unsupported operation: more than one element of the written-to tensor refers to a "
                "single memory location. Please clone() the tensor before performing the "
                "operation.")

_MULTI_VIEW_NODES = frozenset(("SplitBackward0", "SplitWithSizesBackward0", "UnbindBackward0"))

# torch's scalar type names, as its messages print them
TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
              "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def node_short_name(node) -> str:
    """`MulBackward0` -> `Mul`, as torch names a node in its in-place messages."""
    name = type(node).__name__
    k = name.rfind("Backward")
    return name[:k] if k > 0 else name


# ---- checks ---------------------------------------------------------------------------------
def check_inplace(self: Tensor) -> None:
    """torch's refusals of in-place writes under grad mode: leaves that require grad, views of
    them, views made in no_grad mode of tracked tensors, outputs of multi-view functions."""
    if not _grad_state.enabled:
        return
    if self._rg and self.grad_fn is None:
        raise RuntimeError(_LEAF_MSG)
    base = self._base
    if base is not None and base._rg:
        fn = self.grad_fn
        if base.grad_fn is None:
            raise RuntimeError(_VIEW_LEAF_MSG if self._rg else _NO_GRAD_VIEW_MSG)
        if fn is None:
            raise RuntimeError(_NO_GRAD_VIEW_MSG)
        if fn._n_out > 1 or type(fn).__name__ in _MULTI_VIEW_NODES:
            raise RuntimeError(_MULTI_VIEW_MSG.format(self._output_nr, node_short_name(fn)))


def can_cast(src: np.dtype, dst: np.dtype) -> bool:
    """torch's canCast: no float -> integral and no non-bool -> bool."""
    if src == dst:
        return True
    if src.kind == "f" and dst.kind in "iub":
        return False
    if dst.kind == "b" and src.kind != "b":
        return False
    return True


def check_cast(src: np.dtype, dst: np.dtype) -> None:
    if not can_cast(src, dst):
        raise RuntimeError(f"result type {TYPE_NAMES.get(src.name, src.name)} can't be cast to "
                           f"the desired output type {TYPE_NAMES.get(dst.name, dst.name)}")


def _bc_into(src, dst) -> bool:
    if len(src) > len(dst):
        return False
    for s, d in zip(reversed(src), reversed(dst)):
        if s != d and s != 1:
            return False
    return True


def _raise_shape(got, want):
    try:
        bshape = list(np.broadcast_shapes(got, want))
    except ValueError:
        for i in range(1, min(len(got), len(want)) + 1):
            a, b = want[-i], got[-i]
            if a != b and a != 1 and b != 1:
                raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b "
                                   f"({b}) at non-singleton dimension "
                                   f"{max(len(want), len(got)) - i}") from None
        raise
    raise RuntimeError(f"output with shape {list(want)} doesn't match the broadcast shape {bshape}")


def check_writable(dst: np.ndarray) -> None:
    if not dst.flags.writeable or (dst.size > 1 and 0 in dst.strides and
                                   any(s == 0 and n > 1 for s, n in zip(dst.strides, dst.shape))):
        raise RuntimeError(_OVERLAP_MSG)


def write(self: Tensor, values: np.ndarray) -> None:
    """Copy `values` (broadcast, cast by torch's rules) into self's array; bump the version."""
    dst = self._data
    if values.dtype != dst.dtype:
        check_cast(values.dtype, dst.dtype)
    if values.shape != dst.shape and not _bc_into(values.shape, dst.shape):
        _raise_shape(values.shape, dst.shape)
    check_writable(dst)
    np.copyto(dst, values, casting="unsafe")
    self._vc[0] += 1



def _records(self: Tensor, others) -> bool:
    if self._rg:
        return True
    for o in others:
        if isinstance(o, Tensor) and o._rg:
            return True
    base = self._base
    return base is not None and base._rg


def apply_inplace(self: Tensor, fn, *others) -> Tensor:
    """Run out-of-place `fn(self, *others)` and write its result into self (see module doc)."""
    if _grad_state.enabled and _records(self, others):
        check_inplace(self)
        if self._base is not None:
            from .view_inplace import rebase_view
            return rebase_view(self, fn, others)
        return record_inplace(self, fn, others)
    _grad_state.enabled, prev = False, _grad_state.enabled
    try:
        r = fn(self, *others)
    finally:
        _grad_state.enabled = prev
    write(self, r._data)
    return self


def record_inplace(self: Tensor, fn, others) -> Tensor:
    """The recorded in-place op on a tensor that is not a view (or whose view is untracked)."""
    old = _new(self._data, self._rg)
    old.grad_fn, old._output_nr = self.grad_fn, self._output_nr
    r = fn(old, *others)
    if _refcount(old) > 2:  # the op saved the old value for backward: keep a copy of it
        old._data = old._data.copy()
    write(self, r._data)
    adopt(self, r)
    return self


def adopt(self: Tensor, r: Tensor) -> None:
    """Give self the history of `r` (just written into it); the node's saved output becomes
    self, so a later write to self fails its backward as in torch."""
    node = r.grad_fn
    if self._retains_grad and self.grad_fn is not None:  # .grad follows the new value
        if self.grad_fn._retained:
            self.grad_fn._retained.pop(self._output_nr, None)
        if node is not None:
            self._output_nr = r._output_nr
            node._add_retain(self)
    self.grad_fn = node
    self._output_nr = r._output_nr
    self._rg = r._rg
    if node is not None and node._saved:
        for s in node._saved:
            if s is not None and s.__class__ is not tuple:  # a saved output
                s.data, s.vc, s.version = self._data, self._vc, self._vc[0]


def fast_ufunc_inplace(self: Tensor, ufunc, other) -> bool:
    """Write `ufunc(self, other)` straight into self's array when nothing is recorded and the
    result dtype is self's; returns False when the general path is needed."""
    if _grad_state.enabled and (self._rg or (isinstance(other, Tensor) and other._rg) or
                                (self._base is not None and self._base._rg)):
        return False
    dst = self._data
    if not dst.flags.writeable or dst.dtype.kind == "b":
        return False
    if isinstance(other, Tensor):
        o = other._data
        if o.dtype != dst.dtype or (o.ndim > dst.ndim) or not _bc_into(o.shape, dst.shape):
            return False
    elif isinstance(other, float):
        if dst.dtype.kind != "f":
            return False
        o = other
    elif isinstance(other, int) and not isinstance(other, bool):
        if dst.dtype.kind == "u":
            return False
        o = other
    else:
        return False
    check_writable(dst)
    ufunc(dst, o, out=dst)
    self._vc[0] += 1
    return True


# ---- nodes of the in-place-only ops -------------------------------------------------------
class ZeroBackward0(Op):
    """out = zeros like a;  da = 0"""

    @staticmethod
    def forward(ctx, a):
        return np.zeros_like(a._data)

    @staticmethod
    def backward(ctx, g):
        return g * 0.0


class FillBackward2(Op):
    """out = a filled with a number;  da = 0"""

    @staticmethod
    def forward(ctx, a, value):
        return np.full_like(a._data, value)

    @staticmethod
    def backward(ctx, g):
        return g * 0.0, None


class FillBackward3(Op):
    """out = a filled with a 0-dim tensor v;  da = 0, dv = sum(g)"""

    @staticmethod
    def forward(ctx, a, v):
        return np.full_like(a._data, v._data)

    @staticmethod
    def backward(ctx, g):
        return g * 0.0, g.sum()


class CopyBackwards(Op):
    """out = src broadcast and cast to a's shape and dtype;  da = 0, dsrc = g (summed, cast)"""

    @staticmethod
    def forward(ctx, a, src):
        x, s = a._data, src._data
        if s.shape != x.shape and not _bc_into(s.shape, x.shape):
            _raise_shape(s.shape, x.shape)
        out = np.empty_like(x)
        np.copyto(out, s, casting="unsafe")
        return out

    @staticmethod
    def backward(ctx, g):
        return g * 0.0, g

    def name(self):
        return "ember::autograd::CopyBackwards"


class _RandomFill(Op):
    """out = random values (drawn before the call);  da = 0"""

    @staticmethod
    def forward(ctx, a, values):
        return values

    @staticmethod
    def backward(ctx, g):
        return g * 0.0, None


class UniformBackward0(_RandomFill):
    pass


class NormalBackward0(_RandomFill):
    pass


class RandomBackward1(_RandomFill):
    pass


class BernoulliBackward2(_RandomFill):
    pass


# ---- the Tensor methods ---------------------------------------------------------------------
def _fill_target(x: np.ndarray) -> np.ndarray:
    """A writable alias of x for fill_/zero_, which torch allows on expanded tensors too."""
    if x.flags.writeable:
        return x
    root = x
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (root.flags.writeable and root.flags.c_contiguous):
        raise RuntimeError(_OVERLAP_MSG)
    off = x.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return np.ndarray(x.shape, x.dtype, buffer=root, offset=off, strides=x.strides)


def zero_(self: Tensor) -> Tensor:
    if _grad_state.enabled and _records(self, ()):
        return apply_inplace(self, ZeroBackward0.apply)
    _fill_target(self._data)[...] = 0
    self._vc[0] += 1
    return self


def fill_(self: Tensor, value) -> Tensor:
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value._data.ndim} dimensions.")
        if _grad_state.enabled and _records(self, (value,)):
            return apply_inplace(self, FillBackward3.apply, value)
        value = value._data
    elif isinstance(value, complex):
        raise RuntimeError("value cannot be converted to type float without overflow")
    elif isinstance(value, (int, float, bool, np.number, np.bool_)):
        value = scalar_as(value, self._data.dtype)
    else:
        t = type(value).__name__
        raise TypeError(f"fill_() received an invalid combination of arguments - got ({t}), but "
                        f"expected one of:\n * (Tensor value)\n      didn't match because some "
                        f"of the arguments have invalid types: (!{t}!)\n * (Number value)\n"
                        f"      didn't match because some of the arguments have invalid types: "
                        f"(!{t}!)\n")
    if _grad_state.enabled and _records(self, ()):
        return apply_inplace(self, lambda s: FillBackward2.apply(s, value))
    _fill_target(self._data)[...] = value
    self._vc[0] += 1
    return self


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'other' (position 1) must be Tensor, not "
                        f"{type(src).__name__}")
    if _grad_state.enabled and _records(self, (src,)):
        return apply_inplace(self, CopyBackwards.apply, src)
    x, s = self._data, src._data
    if s.shape != x.shape and not _bc_into(s.shape, x.shape):
        _raise_shape(s.shape, x.shape)
    check_writable(x)
    np.copyto(x, s, casting="unsafe")
    self._vc[0] += 1
    return self


def _random_fill(self: Tensor, node, values: np.ndarray) -> Tensor:
    if _grad_state.enabled and _records(self, ()):
        return apply_inplace(self, lambda s: node.apply(s, values))
    check_writable(self._data)
    self._data[...] = values
    self._vc[0] += 1
    return self


def _float_only(self: Tensor, kernel: str) -> None:
    dt = self._data.dtype
    if dt.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{TYPE_NAMES.get(dt.name, dt.name)}'")


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    from ..random import gen, in_memory_order
    _float_only(self, "check_uniform_bounds")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a:g} > "
                           f"to={b:g}")
    check_inplace(self)
    x, g = self._data, gen(generator)
    return _random_fill(self, UniformBackward0,
                        in_memory_order(x, lambda shape: g.uniform(shape, a, b, x.dtype)))


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    from ..random import gen, in_memory_order
    _float_only(self, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    check_inplace(self)
    x, g = self._data, gen(generator)
    return _random_fill(self, NormalBackward0, in_memory_order(x, lambda shape: g.normal(
        shape, mean, std, x.dtype, contiguous=x.flags.c_contiguous)))


def random_(self: Tensor, *args, generator=None, **kwargs) -> Tensor:
    """random_() (the dtype's non-negative range), random_(to) or random_(from, to)."""
    from ..random import gen, in_memory_order
    check_inplace(self)
    x, g = self._data, gen(generator)
    if not args and not kwargs:
        return _random_fill(self, RandomBackward1,
                            in_memory_order(x, lambda shape: g.random_bits(shape, x.dtype)))
    if len(args) == 1 and not kwargs:
        low, high = 0, args[0]
    else:
        bounds = dict(zip(("from", "to"), args), **kwargs)
        low, high = bounds.get("from", 0), bounds.get("to")
        if high is None:  # random_(from, None): up to the dtype's largest value
            high = int(np.iinfo(x.dtype).max) + 1 if x.dtype.kind in "iu" else \
                2 ** (np.finfo(x.dtype).nmant + 1) + 1
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    return _random_fill(self, RandomBackward1,
                        in_memory_order(x, lambda shape: g.integers(low, high, shape, x.dtype)))


def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    from ..random import gen, in_memory_order
    check_inplace(self)
    x, g = self._data, gen(generator)
    if isinstance(p, Tensor):  # one uniform per element, of p's float type
        return _random_fill(self, BernoulliBackward2, in_memory_order(
            x, lambda shape, pa: g.bernoulli_tensor(np.ascontiguousarray(pa), x.dtype), p._data))
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
    return _random_fill(self, BernoulliBackward2,
                        in_memory_order(x, lambda shape: g.bernoulli(shape, p, x.dtype)))


def inplace_binary(fn, ufunc):
    """`add_`-style method: a NumPy ufunc into self when nothing records, else apply_inplace."""
    def op(self, other, *, alpha=1):
        if alpha == 1:
            if ufunc is not None and fast_ufunc_inplace(self, ufunc, other):
                return self
            return apply_inplace(self, fn, other)
        return apply_inplace(self, lambda s, o: fn(s, o, alpha=alpha), other)
    return op


def inplace_plain(fn, ufunc=None):
    """`mul_`/`exp_`-style method from the out-of-place function `fn`."""
    def op(self, *args, **kwargs):
        if ufunc is not None and len(args) == 1 and not kwargs and \
                fast_ufunc_inplace(self, ufunc, args[0]):
            return self
        if kwargs:
            return apply_inplace(self, lambda s, *a: fn(s, *a, **kwargs), *args)
        return apply_inplace(self, fn, *args)
    return op


# ---- in-place shape changes (unsqueeze_, squeeze_, t_, transpose_) -------------------------------
class UnsqueezeBackward1(_shape.UnsqueezeBackward0):
    """self.unsqueeze_(dim): unsqueeze's math, its result written back into self (no view)."""
    _view = False


class SqueezeBackward3(_shape.SqueezeBackward0):
    """self.squeeze_() (SqueezeBackward4: one dim, SqueezeBackward5: dims): squeeze's math, its
    result written back into self (no view)."""
    _view = False


class SqueezeBackward4(SqueezeBackward3):
    pass


class SqueezeBackward5(SqueezeBackward3):
    pass


class TransposeBackward1(Op):
    """self.transpose_(d0, d1);  da = g.transpose(d0, d1)"""

    @staticmethod
    def forward(ctx, a, d0, d1):
        ctx.d0, ctx.d1 = d0, d1
        return np.swapaxes(a._data, d0, d1)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.d0, ctx.d1), None, None


class TBackward1(TransposeBackward1):
    """self.t_();  da = g.t()"""


def _reshape_inplace(self: Tensor, node, *args) -> Tensor:
    """Give self a new shape over the same storage, recording `node` when self is tracked."""
    check_inplace(self)
    if _grad_state.enabled and self._rg:
        old = _new(self._data, True)
        old.grad_fn, old._output_nr = self.grad_fn, self._output_nr
        r = node.apply(old, *args)
        self._data = r._data
        self.grad_fn, self._output_nr = r.grad_fn, 0
        self._vc[0] += 1
        if self._base is not None:
            r.grad_fn._vv = self._vc[0]
        return self
    self._data = node.forward(node(), self, *args)
    self._vc[0] += 1
    return self


def unsqueeze_(self: Tensor, dim: int) -> Tensor:
    from .util import wrap_dim
    return _reshape_inplace(self, UnsqueezeBackward1, wrap_dim(dim, self._data.ndim + 1))


def squeeze_(self: Tensor, dim=None) -> Tensor:
    from .util import wrap_dim
    nd = self._data.ndim
    if dim is None:
        return _reshape_inplace(self, SqueezeBackward3, None)
    if isinstance(dim, (tuple, list)):
        return _reshape_inplace(self, SqueezeBackward5, tuple(wrap_dim(d, nd) for d in dim))
    return _reshape_inplace(self, SqueezeBackward4, (wrap_dim(dim, nd),))


def transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    from .util import wrap_dim
    nd = self._data.ndim
    return _reshape_inplace(self, TransposeBackward1, wrap_dim(dim0, nd), wrap_dim(dim1, nd))


def t_(self: Tensor) -> Tensor:
    nd = self._data.ndim
    if nd > 2:
        raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return _reshape_inplace(self, TBackward1, 0, nd - 1 if nd else 0)


# in-place variants of out-of-place methods, bound where ember has the out-of-place one
INPLACE_VARIANTS = (
    "absolute_", "acos_", "acosh_", "addbmm_", "addcdiv_", "addcmul_", "addmm_", "addmv_",
    "addr_", "baddbmm_", "arccos_", "arccosh_", "arcsin_",
    "arcsinh_", "arctan_", "arctan2_", "arctanh_", "asin_", "asinh_", "atan_", "atan2_", "atanh_",
    "bitwise_and_", "bitwise_not_", "bitwise_or_", "bitwise_xor_", "copysign_", "cosh_",
    "cumprod_", "cumsum_", "deg2rad_", "digamma_", "divide_", "eq_", "erf_", "erfc_", "erfinv_",
    "exp2_", "expm1_", "fix_", "float_power_", "floor_divide_", "fmod_", "frac_", "ge_",
    "greater_", "greater_equal_", "gt_", "hypot_", "le_", "lerp_", "less_", "less_equal_",
    "lgamma_", "log10_", "log2_", "logical_and_", "logical_not_", "logical_or_", "logical_xor_",
    "logit_", "lt_", "multiply_", "nan_to_num_", "ne_", "negative_", "not_equal_", "rad2deg_",
    "remainder_", "sgn_", "sinc_", "sinh_", "subtract_", "tan_", "tril_", "triu_",
    "true_divide_", "xlogy_", "hardtanh_", "leaky_relu_", "elu_", "selu_", "celu_", "silu_",
    "mish_", "hardsigmoid_", "hardswish_", "softplus_", "gelu_", "threshold_", "relu6_")


def bind_methods(tensor_cls) -> None:
    """Bind the in-place shape changes and every in-place variant whose out-of-place method
    exists on the Tensor class."""
    tensor_cls.unsqueeze_ = unsqueeze_
    tensor_cls.squeeze_ = squeeze_
    tensor_cls.transpose_ = transpose_
    tensor_cls.swapaxes_ = transpose_
    tensor_cls.swapdims_ = transpose_
    tensor_cls.t_ = t_
    for name in INPLACE_VARIANTS:
        base = getattr(tensor_cls, name[:-1], None)
        if base is not None and name not in tensor_cls.__dict__:
            setattr(tensor_cls, name, inplace_plain(base))
