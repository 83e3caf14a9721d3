"""ember: a NumPy deep-learning framework with PyTorch's API and semantics.

    import ember as torch
    x = torch.randn(2, 2, requires_grad=True)
    (x ** 2).mean().backward()
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import _malloc
_malloc.tune()  # reuse freed array memory instead of page-faulting fresh pages every step
from . import _dtype
from ._dtype import (bool_ as bool, dtype, double, float, float16, float32, float64, get_default_dtype,
                     half, int, int8, int16, int32, int64, long, set_default_dtype, short, uint8,
                     promote_types)
from ._device import device
from ._size import Size
from ._tensor import Tensor
from ._printing import set_printoptions
from . import _tensor_methods  # noqa: F401  (binds ops as Tensor methods)
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled,
                                 is_inference_mode_enabled, no_grad, set_grad_enabled)
from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled
from .ops.creation import (arange, as_tensor, asarray, bernoulli, empty, empty_like, eye,
                           from_numpy, full, full_like, linspace, logspace, multinomial, normal,
                           ones, ones_like, rand, rand_like, randint, randint_like, randn,
                           randn_like, randperm, scalar_tensor, tensor, zeros, zeros_like)
from .ops.elementwise import (abs, absolute, add, allclose, bitwise_and, bitwise_not, bitwise_or,
                              bitwise_xor, ceil, clamp, clamp_max, clamp_min, clip, cos, div,
                              divide, eq, equal, exp, floor, floor_divide, fmod, ge, greater,
                              greater_equal, gt, isclose, isfinite, isinf, isnan, le, less,
                              less_equal, log, log1p, log2, logical_and, logical_not, logical_or,
                              logical_xor, lt, maximum, minimum, mul, multiply, ne, neg, negative,
                              not_equal, pow, reciprocal, relu, remainder, round, rsqrt, rsub,
                              sigmoid, sign, sin, sqrt, square, sub, subtract, tanh, true_divide,
                              trunc, where)
from .ops.elementwise import dist, erfinv
from .ops.indexing import argwhere, nonzero
from .ops.index_put import index_put
from .ops.masked import masked_fill, masked_scatter, masked_select
from .ops.scatter_gather import (gather, index_add, index_copy, index_fill, index_select, scatter,
                                 scatter_add, scatter_reduce, take, take_along_dim)
from .ops.sorting import argsort, msort, sort, topk
from .ops.linalg import addmm, bmm, dot, ger, inner, matmul, mm, mv, outer
from .ops.reduce import (all, amax, amin, any, argmax, argmin, count_nonzero, cumprod, cumsum,
                         logsumexp, max, mean, min, norm, prod, std, sum, var)
from .ops.shape import (broadcast_to, cat, chunk, clone, concat, concatenate, flatten, flip, hstack,
                        movedim, narrow, permute, reshape, roll, split, squeeze, stack, swapaxes,
                        swapdims, t, tile, transpose, unbind, unflatten, unsqueeze, vstack)
from .random import (Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed,
                     set_rng_state)
# sequence-model helpers (issue 10, attention part)
from .ops.einsum import einsum
from . import autograd
from ._legacy_tensors import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor,
                              HalfTensor, IntTensor, LongTensor, ShortTensor)

# ---- math API (issue 12, mathapi): torch.special, torch.linalg and their torch.* aliases ----
from .ops.special import (digamma, erf, erfc, i0, lgamma, logit, mvlgamma, polygamma, sinc,
                          xlogy)
from .ops.special import exp2, expm1
from .ops.trig import (acos, acosh, addcdiv, addcmul, arccos, arccosh, arcsin, arcsinh, arctan,
                       arctan2, arctanh, asin, asinh, atan, atan2, atanh, cosh, deg2rad, frac,
                       hypot, lerp, log10, rad2deg, sinh, tan)
from .ops.matrix_construct import (diag, diag_embed, diagonal, trace, tril, tril_indices, triu,
                                   triu_indices)
from .ops.linalg_aliases import (cholesky, cross, det, inverse, logdet, matrix_exp, matrix_power,
                                 norm, pinverse, qr, slogdet, svd)
from .ops.products import addbmm, addmv, addr, baddbmm
from .ops.cumulative import cummax, cummin, diff, logcumsumexp
from .ops.stats import (aminmax, bincount, bucketize, histc, kthvalue, median, mode, nan_to_num,
                        nanmean, nanmedian, nanquantile, nansum, quantile, searchsorted, std_mean,
                        unique, unique_consecutive, var_mean)
from .ops.shape_more import (as_strided, block_diag, cartesian_prod, cdist, combinations, dsplit,
                             fliplr, flipud, heaviside, hsplit, kron, meshgrid, moveaxis,
                             repeat_interleave, rot90, tensor_split, vsplit)
from . import linalg, special

# ---- safety/fidelity (issue #9): default device, legacy spellings, out= ----------------------
from ._device import get_default_device, set_default_device  # noqa: E402
from ._legacy_tensors import is_storage, set_default_tensor_type, typename  # noqa: E402
from .ops import out as _out  # noqa: E402
from . import _deprecated  # noqa: E402
from ._deprecated import range  # noqa: E402,A001  (torch.range; builtins' is unused below)
_out.install(globals())  # (after every block that defines a function it wraps)
_deprecated.bind(globals())

_dtype_names = ("float32 float64 float16 int8 int16 int32 int64 uint8 bool")


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input) -> int:
    return input.numel()


def is_floating_point(input) -> bool:
    return input.is_floating_point()


def result_type(tensor1, tensor2):
    from .ops.util import result_dtype
    return result_dtype(tensor1, tensor2)


def broadcast_shapes(*shapes):
    from .ops.util import broadcast_shapes as _b
    return Size(_b(*shapes))


def set_num_threads(n: int) -> None:
    from ._threads import set_num_threads as _s
    _s(n)


def get_num_threads() -> int:
    from ._threads import get_num_threads as _g
    return _g()


_NN_FUNCTIONS = {"softmax", "log_softmax", "conv1d", "conv2d", "max_pool1d", "max_pool2d",
                 "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d", "dropout",
                 "alpha_dropout", "selu", "celu", "threshold", "relu_", "cosine_similarity",
                 "pairwise_distance", "prelu", "bilinear", "layer_norm", "batch_norm",
                 "embedding"}
_SUBMODULES = {"nn", "optim", "utils", "cuda", "backends", "accelerator", "vision",
               "serialization", "random"}
# vision models (vmodels): torch.hub's offline weight cache
_SUBMODULES |= {"hub"}
# ---- distributions: torch.distributions loads on first use ----
_SUBMODULES.add("distributions")
# ---- torch.testing, torch.func: load on first use ----
_SUBMODULES |= {"testing", "func", "mps"}


def __getattr__(name):
    # submodules load on first use, so `import ember` stays fast
    if name in _SUBMODULES:
        import importlib
        return importlib.import_module("ember." + name)
    if name in ("save", "load"):
        from . import serialization
        return getattr(serialization, name)
    if name in _NN_FUNCTIONS:  # torch.conv2d, torch.softmax...: they need ember.nn loaded
        from . import _nn_functions
        return getattr(_nn_functions, name)
    raise AttributeError(f"module 'ember' has no attribute '{name}'")


# ---- amp, devices, multiprocessing, onnx (issue 12, mpx) ----
from ._dtype import bfloat16
from .amp.autocast_mode import autocast
from ._compile import compile
from ._matmul_precision import get_float32_matmul_precision, set_float32_matmul_precision
_SUBMODULES |= {"amp", "multiprocessing", "onnx"}
from .amp.autocast_mode import (get_autocast_dtype, get_autocast_cpu_dtype,
                                is_autocast_available, is_autocast_cpu_enabled,
                                is_autocast_enabled)
_SUBMODULES |= {"cpu"}

# ---- complex dtypes (issue 12, onnxseq: linalg.eig) ----
from ._dtype import cdouble, cfloat, complex64, complex128  # noqa: E402
from ._complex import (angle, complex, conj, conj_physical, is_complex, is_conj,  # noqa: E402
                       polar, resolve_conj, view_as_complex, view_as_real)

# ---- breadth: statistics, shape helpers, numeric limits, determinism switches ----
from .ops.stats_more import (corrcoef, cov, cumulative_trapezoid, poisson, renorm,  # noqa: E402
                             trapezoid, trapz, vander)
from .ops.shape_helpers import atleast_1d, atleast_2d, atleast_3d, broadcast_tensors  # noqa: E402
from .ops.tensordot import tensordot  # noqa: E402
from ._finfo import finfo, iinfo  # noqa: E402
from ._deterministic import (are_deterministic_algorithms_enabled,  # noqa: E402
                             get_deterministic_debug_mode, get_num_interop_threads,
                             is_deterministic_algorithms_warn_only_enabled,
                             set_deterministic_debug_mode, set_num_interop_threads,
                             use_deterministic_algorithms)
from .ops.elementwise_more import (bartlett_window, blackman_window, column_stack,  # noqa: E402
                                   copysign, diagflat, dstack, fix, float_power, fmax, fmin,
                                   hamming_window, hann_window, is_nonzero, is_same_size,
                                   is_signed, isin, isneginf, isposinf, logaddexp, logaddexp2,
                                   positive, ravel, row_stack, select, sgn, signbit,
                                   unravel_index, vdot)
_NN_FUNCTIONS |= {"pdist", "channel_shuffle", "threshold_", "celu_", "selu_"}

# ---- breadth: shifts, gcd/lcm, ldexp, frexp, *_scatter, cholesky_solve, histogram, ... ----
from .ops.tensor_ops_more import (adjoint, bitwise_left_shift, bitwise_right_shift,  # noqa: E402
                                  cholesky_inverse, cholesky_solve, diagonal_scatter, frexp, gcd,
                                  histogram, isreal, lcm, ldexp, narrow_copy, nextafter, put,
                                  select_scatter, slice_scatter, split_with_sizes)
