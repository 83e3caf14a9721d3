"""Binds the functions of `ember.ops` as Tensor methods and operators (one table, one place)."""
from __future__ import annotations

import numpy as np

from . import _dtype
from ._tensor import Tensor
from .ops import creation, elementwise as ew, index_put, indexing, inplace, linalg, reduce, shape
from .ops import masked, scatter_gather, sorting
from .random import gen
from .autograd.grad_mode import state as _grad_state
from .ops.base import record_binary
from .autograd.engine import tensor_backward

_new = Tensor._new


def _r(fn):
    """Reflected operator: `2 - t` calls fn(2, t)."""
    return lambda self, other: fn(other, self)


def _rtruediv(self, other):
    return ew.reciprocal(self) * other


def _rpow(self, other):
    return ew.pow(other, self)


def _matmul_r(self, other):
    if isinstance(other, (int, float, bool, np.number, np.bool_)):
        return NotImplemented  # Python raises torch's TypeError for `2 @ t`
    return linalg.matmul(creation.as_tensor(other), self)


def _ne_op(fn):
    """An operator that declines what torch's operators decline (lists, tuples, strings, None):
    Python then raises torch's TypeError (`t + [1]`), falls back to identity for `==` / `!=`, or
    lets a sequence repeat itself (`[1] * t` with an integer 0-dim t). NumPy arrays are taken
    as tensors."""
    def op(self, other):
        if not isinstance(other, (Tensor, int, float, bool, complex, np.number, np.bool_)):
            if isinstance(other, np.ndarray):
                other = creation.as_tensor(other)
            else:
                return NotImplemented
        return fn(self, other)
    return op


_OPERATORS = {
    "__add__": ew.add, "__radd__": ew.add, "__sub__": ew.sub, "__rsub__": _r(ew.sub),
    "__mul__": ew.mul, "__rmul__": ew.mul, "__truediv__": ew.div, "__rtruediv__": _rtruediv,
    "__floordiv__": ew.floor_divide, "__rfloordiv__": _r(ew.floor_divide),
    "__mod__": ew.remainder, "__rmod__": _r(ew.remainder),
    "__pow__": ew.pow, "__rpow__": _rpow, "__matmul__": linalg.matmul, "__rmatmul__": _matmul_r,
    "__eq__": ew.eq, "__ne__": ew.ne, "__lt__": ew.lt, "__le__": ew.le, "__gt__": ew.gt,
    "__ge__": ew.ge, "__and__": ew.bitwise_and, "__or__": ew.bitwise_or,
    "__xor__": ew.bitwise_xor, "__rand__": ew.bitwise_and, "__ror__": ew.bitwise_or,
    "__rxor__": ew.bitwise_xor,
}
for _name, _fn in _OPERATORS.items():
    setattr(Tensor, _name, _ne_op(_fn))

_FAST_OPERAND = {Tensor, float, int}


def _fast_binary(op_cls, slow):
    """Operators on a Tensor or Python number skip argument parsing (the per-op overhead that
    dominates small tensors); anything else takes the general path."""
    apply = op_cls.apply  # (bound once: a classmethod looked up per call is a new object)

    def op(self, other):
        if other.__class__ is Tensor:
            if (self._rg or other._rg) and _grad_state.enabled:
                return record_binary(op_cls, self, other)
            return apply(self, other)
        if other.__class__ in _FAST_OPERAND:
            return apply(self, other)
        return slow(self, other)
    return op


Tensor.__add__ = Tensor.__radd__ = _fast_binary(ew.AddBackward0, Tensor.__add__)
Tensor.__mul__ = Tensor.__rmul__ = _fast_binary(ew.MulBackward0, Tensor.__mul__)
Tensor.__sub__ = _fast_binary(ew.SubBackward0, Tensor.__sub__)
Tensor.__truediv__ = _fast_binary(ew.DivBackward0, Tensor.__truediv__)

Tensor.__neg__ = ew.neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = ew.abs
Tensor.__invert__ = lambda self: ew.logical_not(self) if self._data.dtype == np.bool_ else \
    ew.bitwise_not(self)
Tensor.__getitem__ = indexing.getitem
Tensor.backward = tensor_backward
tensor_backward.__name__, tensor_backward.__qualname__ = "backward", "Tensor.backward"


def _iter(self):
    if self._data.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return iter(shape.unbind(self, 0))


Tensor.__iter__ = _iter


def _contains(self, item):
    return bool((self == item).any())


Tensor.__contains__ = _contains


def _whole_reduction(fn, op_cls):
    """`t.sum()` with no arguments goes straight to its op (the argument handling of `fn`
    costs as much as a small sum)."""
    apply = op_cls.apply

    def method(self, *args, **kwargs):
        if args or kwargs:
            return fn(self, *args, **kwargs)
        return apply(self)
    method.__name__ = method.__qualname__ = fn.__name__
    return method


_METHODS = {
    # elementwise
    "add": ew.add, "sub": ew.sub, "subtract": ew.sub, "mul": ew.mul, "multiply": ew.mul,
    "div": ew.div, "divide": ew.div, "true_divide": ew.div, "floor_divide": ew.floor_divide,
    "remainder": ew.remainder, "fmod": ew.fmod, "pow": ew.pow, "neg": ew.neg,
    "negative": ew.neg, "exp": ew.exp, "log": ew.log, "log1p": ew.log1p, "log2": ew.log2,
    "sqrt": ew.sqrt, "rsqrt": ew.rsqrt, "sin": ew.sin, "cos": ew.cos, "tanh": ew.tanh,
    "sigmoid": ew.sigmoid, "reciprocal": ew.reciprocal, "erfinv": ew.erfinv, "abs": ew.abs,
    "absolute": ew.abs,
    "relu": ew.relu, "sign": ew.sign, "clamp": ew.clamp, "clip": ew.clamp,
    "clamp_min": ew.clamp_min, "clamp_max": ew.clamp_max, "maximum": ew.maximum,
    "minimum": ew.minimum, "square": ew.square, "floor": ew.floor, "ceil": ew.ceil,
    "round": ew.round, "trunc": ew.trunc,
    "eq": ew.eq, "ne": ew.ne, "lt": ew.lt, "le": ew.le, "gt": ew.gt, "ge": ew.ge,
    "not_equal": ew.ne, "greater": ew.gt, "less": ew.lt, "greater_equal": ew.ge,
    "less_equal": ew.le, "equal": ew.equal, "allclose": ew.allclose, "isclose": ew.isclose,
    "logical_and": ew.logical_and, "logical_or": ew.logical_or, "logical_xor": ew.logical_xor,
    "logical_not": ew.logical_not, "isnan": ew.isnan, "isinf": ew.isinf,
    "isfinite": ew.isfinite, "bitwise_not": ew.bitwise_not,
    "where": lambda self, condition, other: ew.where(condition, self, other),
    # reductions
    "sum": _whole_reduction(reduce.sum, reduce.SumBackward0),
    "mean": _whole_reduction(reduce.mean, reduce.MeanBackward0), "prod": reduce.prod,
    "var": reduce.var,
    "std": reduce.std, "max": reduce.max, "min": reduce.min, "amax": reduce.amax,
    "amin": reduce.amin, "argmax": reduce.argmax, "argmin": reduce.argmin,
    "logsumexp": reduce.logsumexp, "all": reduce.all, "any": reduce.any,
    "cumsum": reduce.cumsum, "cumprod": reduce.cumprod, "norm": reduce.norm,
    "count_nonzero": reduce.count_nonzero,
    # linear algebra
    "mm": linalg.mm, "bmm": linalg.bmm, "mv": linalg.mv, "dot": linalg.dot,
    "outer": linalg.outer, "matmul": linalg.matmul, "addmm": linalg.addmm, "inner": linalg.inner,
    # shape
    "view": shape.view, "reshape": shape.reshape, "flatten": shape.flatten,
    "unflatten": shape.unflatten, "squeeze": shape.squeeze, "unsqueeze": shape.unsqueeze,
    "transpose": shape.transpose, "swapaxes": shape.transpose, "swapdims": shape.transpose,
    "t": shape.t, "permute": shape.permute, "movedim": shape.movedim, "expand": shape.expand,
    "expand_as": shape.expand_as, "broadcast_to": shape.broadcast_to, "repeat": shape.repeat,
    "tile": shape.tile, "split": shape.split, "chunk": shape.chunk, "unbind": shape.unbind,
    "narrow": shape.narrow, "flip": shape.flip, "roll": shape.roll, "clone": shape.clone,
    "contiguous": shape.contiguous,
    # indexing
    "nonzero": indexing.nonzero, "argwhere": indexing.argwhere,
    "gather": scatter_gather.gather, "scatter": scatter_gather.scatter,
    "scatter_": scatter_gather.scatter_, "scatter_add": scatter_gather.scatter_add,
    "scatter_add_": scatter_gather.scatter_add_, "index_select": scatter_gather.index_select,
    "index_add": scatter_gather.index_add, "index_add_": scatter_gather.index_add_,
    "index_fill": scatter_gather.index_fill, "index_fill_": scatter_gather.index_fill_,
    "take_along_dim": scatter_gather.take_along_dim, "masked_fill": masked.masked_fill,
    "masked_fill_": masked.masked_fill_, "masked_select": masked.masked_select,
    "sort": sorting.sort, "argsort": sorting.argsort, "msort": sorting.msort,
    "topk": sorting.topk, "take": scatter_gather.take,
    "scatter_reduce": scatter_gather.scatter_reduce,
    "scatter_reduce_": scatter_gather.scatter_reduce_, "index_copy": scatter_gather.index_copy,
    "index_copy_": scatter_gather.index_copy_, "masked_scatter": masked.masked_scatter,
    "masked_scatter_": masked.masked_scatter_,
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)

Tensor.dist = ew._tensor_dist


def _softmax_method(name):
    def method(self, dim, dtype=None):
        if dim is None or isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f"{name}(): argument 'dim' (position 1) must be int, not "
                            f"{type(dim).__name__}")
        from .nn import functional as F
        return getattr(F, name)(self, dim, dtype=dtype)
    method.__name__ = name
    return method


Tensor.softmax = _softmax_method("softmax")
Tensor.log_softmax = _softmax_method("log_softmax")


def _view_as(self, other):
    return shape.view(self, other._data.shape)


def _reshape_as(self, other):
    return shape.reshape(self, other._data.shape)


for _n in ("new_zeros", "new_ones", "new_empty", "new_full", "new_tensor"):
    setattr(Tensor, _n, getattr(creation, _n))
Tensor.view_as = _view_as
Tensor.reshape_as = _reshape_as
def _T(self):
    nd = self._data.ndim
    if nd != 2:
        import warnings
        warnings.warn("Tensor.T is deprecated on 0-D tensors. This function is the identity in "
                      "these cases." if nd == 0 else
                      "The use of `x.T` on tensors of dimension other than 2 to reverse their "
                      "shape is deprecated and it will throw an error in a future release. "
                      "Consider `x.mT` to transpose batches of matrices or "
                      "`x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions "
                      "of a tensor.", UserWarning, stacklevel=2)
    return shape.permute(self, tuple(range(nd - 1, -1, -1)))


Tensor.T = property(_T)
Tensor.mT = property(lambda self: shape.transpose(self, -2, -1))


# ---- dtype and device conversions ------------------------------------------------------------
def _parse_to(args, kwargs):
    dtype = kwargs.get("dtype")
    device = kwargs.get("device")
    for a in args:
        if isinstance(a, _dtype.dtype) or a is float or a is int or a is bool:
            dtype = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
        elif a is not None:
            device = a
    return dtype, device


def _to(self, *args, **kwargs):
    from ._device import check_device
    dtype, device = _parse_to(args, kwargs)
    check_device(device)
    if dtype is None:
        return shape.clone(self) if kwargs.get("copy") else self
    return shape.to_dtype(self, dtype, copy=kwargs.get("copy", False))


Tensor.to = _to


def _caster(dt):
    def f(self, memory_format=None):
        return shape.to_dtype(self, dt)
    return f


Tensor.float = _caster(_dtype.float32)
Tensor.double = _caster(_dtype.float64)
Tensor.half = _caster(_dtype.float16)
Tensor.long = _caster(_dtype.int64)
Tensor.int = _caster(_dtype.int32)
Tensor.short = _caster(_dtype.int16)
Tensor.char = _caster(_dtype.int8)
Tensor.byte = _caster(_dtype.uint8)
Tensor.bool = _caster(_dtype.bool_)

_TYPE_STRINGS = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor",
                 "float16": "torch.HalfTensor", "int64": "torch.LongTensor",
                 "int32": "torch.IntTensor", "int16": "torch.ShortTensor",
                 "int8": "torch.CharTensor", "uint8": "torch.ByteTensor",
                 "bool": "torch.BoolTensor"}
_FROM_TYPE_STRING = {v: k for k, v in _TYPE_STRINGS.items()}


def _type(self, dtype=None, non_blocking=False):
    if dtype is None:
        return _TYPE_STRINGS[self._data.dtype.name]
    if isinstance(dtype, type) and isinstance(getattr(dtype, "dtype", None), _dtype.dtype):
        dtype = dtype.dtype  # a legacy class: t.type(ember.FloatTensor)
    if isinstance(dtype, str):
        name = _FROM_TYPE_STRING.get(dtype.replace("ember.", "torch."))
        if name is None:
            raise ValueError(f"invalid type: '{dtype}'")
        dtype = _dtype._BY_NAME[name]
    return shape.to_dtype(self, dtype)


Tensor.type = _type
Tensor.type_as = lambda self, other: shape.to_dtype(self, other.dtype)


# ---- in-place ops and index assignment (ops/inplace.py, ops/index_put.py) -------------------
Tensor.add_ = inplace.inplace_binary(ew.add, np.add)
Tensor.sub_ = inplace.inplace_binary(ew.sub, np.subtract)
Tensor.mul_ = inplace.inplace_plain(ew.mul, np.multiply)
Tensor.div_ = inplace.inplace_plain(ew.div)
Tensor.pow_ = inplace.inplace_plain(ew.pow)
for _n in ("neg", "exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid",
           "reciprocal", "erfinv", "abs", "relu", "sign", "clamp", "clamp_min", "clamp_max",
           "floor",
           "ceil", "round", "trunc", "square"):
    setattr(Tensor, _n + "_", inplace.inplace_plain(getattr(Tensor, _n)))
Tensor.clip_ = Tensor.clamp_
# ---- gan4: relu_ computes straight into the overwritten array (ops/elementwise.py) ----
Tensor.relu_ = inplace.inplace_plain(ew.relu_inplace_op)
# augmented assignment works in place, as in torch (`w -= lr * w.grad` keeps `w` the same leaf)
Tensor.__iadd__ = lambda self, other: self.add_(other)
Tensor.__isub__ = lambda self, other: self.sub_(other)
Tensor.__imul__ = lambda self, other: self.mul_(other)
Tensor.__itruediv__ = lambda self, other: self.div_(other)
Tensor.__ipow__ = lambda self, other: self.pow_(other)
Tensor.zero_ = inplace.zero_
Tensor.fill_ = inplace.fill_
Tensor.copy_ = inplace.copy_
Tensor.uniform_ = inplace.uniform_
Tensor.normal_ = inplace.normal_
Tensor.random_ = inplace.random_
Tensor.bernoulli_ = inplace.bernoulli_


class ExponentialBackward0(inplace._RandomFill):
    """out = Exponential(lambd) draws;  da = 0"""


def _exponential_(self, lambd=1.0, *, generator=None):
    from .random import in_memory_order
    x = self._data
    if x.dtype.kind != "f":
        raise RuntimeError("Exponential distribution is a continuous probability distribution. "
                           f"dtype must be a floating point but you specified "
                           f"{inplace.TYPE_NAMES.get(x.dtype.name, x.dtype.name)}")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    inplace.check_inplace(self)
    g = gen(generator)
    return inplace._random_fill(self, ExponentialBackward0, in_memory_order(
        x, lambda shape: g.exponential(shape, lambd, x.dtype)))


Tensor.exponential_ = _exponential_
Tensor.bernoulli = lambda self, p=None, *, generator=None: creation.bernoulli(self, p,
                                                                               generator=generator)
Tensor.__setitem__ = index_put.setitem
Tensor.index_put_ = index_put.index_put_
Tensor.index_put = index_put.index_put
inplace.bind_methods(Tensor)

# ---- math API (issue 12, mathapi): special functions, more elementwise/reduction ops, linalg ----
from . import _tensor_methods_math  # noqa: E402,F401

# ---- sequence-model helpers (issue 10, attention part) ----------------------------------------
from .ops.unfold import unfold as _unfold  # noqa: E402


def _multinomial(self, num_samples, replacement=False, *, generator=None):
    return creation.multinomial(self, num_samples, replacement, generator=generator)


Tensor.unfold = _unfold
Tensor.multinomial = _multinomial

# ---- safety/fidelity (issue #9): legacy `t.new(...)`, `t.type(cuda type)`, resize_ ----------
from ._legacy_tensors import new as _legacy_new  # noqa: E402
from ._legacy_tensors import type_method as _type_method  # noqa: E402
from .ops import resize as _resize  # noqa: E402
Tensor.new = _legacy_new
Tensor.type = _type_method(Tensor.type)
Tensor.resize_ = _resize.resize_
Tensor.resize_as_ = _resize.resize_as_


# ---- devices and bfloat16 (issue 12, mpx) ----
Tensor.bfloat16 = _caster(_dtype.bfloat16)
_TYPE_STRINGS["bfloat16"] = "torch.BFloat16Tensor"
_FROM_TYPE_STRING["torch.BFloat16Tensor"] = "bfloat16"
Tensor.is_xpu = Tensor.is_mps = Tensor.is_mkldnn = Tensor.is_nested = Tensor.is_ipu = False
Tensor.is_vulkan = Tensor.is_mtia = Tensor.is_maia = False
Tensor.is_cpu = True


# ---- in-place as_strided_ (issue 12, onnxseq) ----
from .ops.as_strided_inplace import as_strided_ as _as_strided_  # noqa: E402
Tensor.as_strided_ = _as_strided_

# ---- complex tensors: .real/.imag, angle, conj (issue 12, onnxseq) ----
from . import _complex  # noqa: E402
_complex.bind(Tensor)

# ---- breadth: cov, corrcoef, renorm, renorm_ (ops/stats_more.py); select, ravel, logaddexp,
# fmax, copysign, ... (ops/elementwise_more.py) ----
from .ops import elementwise_more as _elementwise_more, stats_more as _stats_more  # noqa: E402
for _name, _fn in _stats_more.TENSOR_METHODS.items():
    setattr(Tensor, _name, _fn)
for _name in _elementwise_more.TENSOR_METHODS:
    setattr(Tensor, _name, getattr(_elementwise_more, _name))
del _name, _fn

# ---- breadth: bitwise methods, fill_diagonal_, H / mH, scatters into copies, ...
# (ops/tensor_ops_more.py) ----
from .ops import tensor_ops_more as _tensor_ops_more  # noqa: E402
_tensor_ops_more.bind(Tensor)
