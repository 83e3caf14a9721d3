"""`out=`: torch's output-tensor argument, for the functions that take it in torch.

One wrapper per public function (`ember.add`, `ember.matmul`, `ember.sum`, ...) computes the
result as usual, then writes it into `out` with torch's rules:

* autograd: with grad mode on, no argument (nor `out`) may require grad (torch's RuntimeError);
* dtype, by family: most ops cast the result to `out`'s dtype when torch's `can_cast` allows it
  (no float -> integer, no number -> bool); linear algebra, indexing and value/index pairs need
  `out` of the result's dtype exactly; sums and products accumulate in `out`'s dtype; factories
  (`zeros`, `arange`, ...) make `out`'s dtype; `all`/`any` write bool only;
* shape: an `out` of another shape is resized (warning, as torch does, unless it was empty);
* `out` itself is returned (a tuple of them for `max(dim)`, `sort`, `topk`), its version bumped.

Without `out` the wrapper only forwards the call.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.grad_mode import state as _grad_state

__all__ = ["install"]

# the C++ names torch's "Expected out tensor to have dtype ..." messages use
_CPP = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
        "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
        "bool": "bool"}

# name -> how `out`'s dtype is treated (see the module docstring)
CAST = ("add sub subtract mul multiply div divide true_divide floor_divide remainder fmod pow "
        "maximum minimum eq ne lt le gt ge greater less greater_equal less_equal not_equal "
        "logical_and logical_or logical_xor logical_not bitwise_and bitwise_or bitwise_xor "
        "exp log log1p log2 sqrt rsqrt sin cos tanh sigmoid reciprocal erfinv square outer ger "
        "std var logsumexp addcmul addcdiv lerp "
        # the math API's (ops/special.py, trig.py, products.py, ...)
        "digamma erf erfc i0 lgamma logit mvlgamma polygamma sinc xlogy exp2 expm1 acos acosh "
        "asin asinh atan atan2 atanh cosh deg2rad hypot log10 rad2deg sinh tan addr diff "
        "kron").split()
CAT = "cat concat concatenate stack hstack vstack".split()
SAME = ("matmul mm bmm mv dot inner addmm index_select gather take take_along_dim "
        "masked_select index_add scatter amax amin argmax argmin nonzero norm msort neg "
        "negative sign abs absolute ceil floor round trunc clamp clip clamp_min clamp_max where "
        "bitwise_not max min sort topk "
        "frac diag tril triu cross inverse matrix_power addbmm addmv baddbmm logcumsumexp histc "
        "nan_to_num quantile nanquantile bucketize searchsorted heaviside cummax cummin aminmax "
        "kthvalue median mode nanmedian").split()
ACCUMULATE = "sum prod cumsum cumprod mean".split()
BOOL = "all any".split()
FACTORY = "zeros ones empty full arange linspace logspace eye rand randn randint randperm " \
          "normal".split()


_TYPE = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
         "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _type_name(dt: np.dtype) -> str:
    return _TYPE[dt.name]


def _can_cast(src: np.dtype, dst: np.dtype) -> bool:
    """torch's canCast: no floating -> integral, no non-bool -> bool."""
    if src.kind == "f" and dst.kind in "iub":
        return False
    return not (src.kind != "b" and dst.kind == "b")


def _requires_grad(args, kwargs) -> bool:
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            if a._rg:
                return True
        elif isinstance(a, (list, tuple)):
            if any(isinstance(t, Tensor) and t._rg for t in a):
                return True
    return False


def _check_out(out, name: str) -> None:
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")


def _write(out: Tensor, src: np.ndarray, name: str, policy: str) -> None:
    _check_out(out, name)
    dst = out._data
    if policy == "same" and src.dtype != dst.dtype:
        raise RuntimeError(f"Expected out tensor to have dtype {_CPP[src.dtype.name]}, but got "
                           f"{_CPP[dst.dtype.name]} instead")
    if policy == "bool" and dst.dtype != np.bool_:
        raise RuntimeError(f"{name} only supports bool tensor for result, got: "
                           f"{_type_name(dst.dtype)}")
    if policy in ("cast", "cat") and not _can_cast(src.dtype, dst.dtype):
        if policy == "cat":
            raise TypeError(f"torch.cat(): input types can't be cast to the desired output "
                            f"type {_type_name(dst.dtype)}")
        raise RuntimeError(f"result type {_type_name(src.dtype)} can't be cast to the desired "
                           f"output type {_type_name(dst.dtype)}")
    if dst.shape != src.shape:
        if dst.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(dst.shape)}, which does not match the required output shape "
                f"{list(src.shape)}. This behavior is deprecated, and in a future PyTorch "
                "release outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                "with t.resize_(0).", UserWarning, stacklevel=4)
        out._data = dst = np.empty(src.shape, dst.dtype)
    elif not dst.flags.writeable:
        raise RuntimeError(f"{name}(): unsupported operation: the out tensor is a read-only "
                           "view (expanded or broadcast); clone it first")
    np.copyto(dst, src, casting="unsafe")
    out._vc[0] += 1


def _with_out(fn, name: str, policy: str):
    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if _grad_state.enabled and (_requires_grad(args, kwargs) or
                                    any(isinstance(o, Tensor) and o._rg for o in
                                        (out if isinstance(out, (tuple, list)) else (out,)))):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                               "automatic differentiation, but one of the arguments requires "
                               "grad.")
        if policy in ("accumulate", "factory"):
            _check_out(out, name)
            want = kwargs.get("dtype")
            if want is not None and policy == "factory" and \
                    _dtype.to_dtype(want).np != out._data.dtype:
                raise RuntimeError(f"dtype {_type_name(_dtype.to_dtype(want).np)} does not "
                                   f"match dtype of out parameter "
                                   f"({_type_name(out._data.dtype)})")
            if want is None:
                kwargs["dtype"] = _dtype._FROM_NP[out._data.dtype]
        if policy == "accumulate" and name.startswith("cum") and kwargs["dtype"] is \
                _dtype.bool_:
            raise NotImplementedError(f'"{name}_out_cpu" not implemented for \'Bool\'')
        r = fn(*args, **kwargs)
        if isinstance(r, Tensor):
            # max/min of two tensors is elementwise: cast like maximum/minimum
            _write(out, r._data, name, "cast" if name in ("max", "min") else policy)
            return out
        # a (values, indices) result: out is a sequence of as many tensors
        if not isinstance(out, (tuple, list)) or len(out) != len(r):
            raise TypeError(f"{name}(): argument 'out' must be tuple of {len(r)} Tensors, not "
                            f"{type(out).__name__}")
        for o, t in zip(out, r):
            _write(o, t._data, name, "same")
        return _out_type(type(r))(*out)  # torch.return_types.max_out & co.
    return wrapper


@functools.lru_cache(maxsize=None)
def _out_type(kind: type) -> type:
    """The `out=` twin of a result type (max -> max_out), with the same fields."""
    from .reduce import _named
    if kind._fields == ("values", "indices"):
        return _named(kind.__name__ + "_out")
    import collections
    t = collections.namedtuple(kind.__name__ + "_out", kind._fields)
    t.__module__ = kind.__module__
    return t


def install(namespace: dict) -> None:
    """Replace the functions of `namespace` (ember's) that torch gives an `out=` by wrappers."""
    for policy, names in (("cast", CAST), ("cat", CAT), ("same", SAME),
                          ("accumulate", ACCUMULATE), ("bool", BOOL), ("factory", FACTORY)):
        for name in names:
            namespace[name] = _with_out(namespace[name], name, policy)
