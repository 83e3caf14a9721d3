"""ember.nn.functional: the stateless functions behind the layers and losses (torch.nn.functional).

Each function validates its arguments the way torch does (same exception types and wording)
and dispatches to one op of `ember.ops.nn_ops` where torch has a fused kernel (linear,
softmax, cross_entropy, the losses), or composes ember ops where torch composes too (so the
`grad_fn` chain prints the same).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._tensor import Tensor
from ..ops import elementwise as _ew
from ..ops import nn_ops as _nn
from ..ops import reduce as _reduce
from ..ops import shape as _shape
from ..ops import double_recompute as _recompute, loss_double as _loss_double
from ..ops._gemm import gemm as _gemm
from ..autograd.grad_mode import state as _grad_state
from ..ops.util import check_broadcast as _check_broadcast
from ..ops.util import result_dtype as _result_dtype
from ..random import gen as _gen
# convolution, pooling, normalization and embedding live beside their ops
from ..ops.conv import conv1d, conv2d  # noqa: E402,F401
from ..ops.embedding import embedding  # noqa: F401
from ..ops.normalization import batch_norm, layer_norm  # noqa: F401
from ..ops.pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d,  # noqa: F401
                           adaptive_max_pool1d, adaptive_max_pool2d, avg_pool1d, avg_pool2d,
                           max_pool1d, max_pool2d)

_Tensor_new = Tensor._new

__all__ = [
    "linear", "bilinear", "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_",
    "selu", "celu", "gelu", "silu", "mish", "sigmoid", "tanh", "hardtanh", "hardtanh_",
    "hardsigmoid", "hardswish", "logsigmoid", "softsign", "tanhshrink", "softplus", "threshold",
    "softmax", "softmin", "log_softmax", "glu", "prelu", "dropout", "dropout1d", "dropout2d",
    "dropout3d", "alpha_dropout", "one_hot", "normalize", "pad", "cross_entropy", "nll_loss",
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "cosine_similarity", "pairwise_distance",
    "conv1d", "conv2d", "embedding", "batch_norm", "layer_norm", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool1d",
    "avg_pool2d", "max_pool1d", "max_pool2d",
]

_DTYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def _tname(t: Tensor) -> str:
    return _DTYPE_NAMES[t._data.dtype.name]


def _check_tensor(fn: str, name: str, x, pos: int = 1) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


# ---- linear -----------------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight.T + bias, as one fused GEMM (AddmmBackward0) for 2-D input.

    Shape: input (*, in), weight (out, in), bias (out,) -> (*, out)."""
    _check_tensor("linear", "input", input)
    _check_tensor("linear", "weight", weight, 2)
    if _amp.on:  # autocast (issue 12): linear runs in the lower precision
        input, weight, bias = _amp_low(input, weight, bias)
    x = input._data
    w = weight._data
    if x.ndim == 0 or w.ndim == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{x.ndim}D and {w.ndim}D")
    if x.dtype != w.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_tname(input)} and "
                           f"{_tname(weight)}")
    if w.ndim == 2 and x.shape[-1] != w.shape[1]:
        rows = x.size // x.shape[-1] if x.shape[-1] else int(np.prod(x.shape[:-1]))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1]} "
                           f"and {w.shape[1]}x{w.shape[0]})")
    if w.ndim == 2 and not (_grad_state.enabled and (input._rg or weight._rg or (
            bias is not None and bias._rg))):
        # nothing to record (inference, generation loops): the GEMM without the reshape/view
        # ops around it, whose Python cost is a third of a small linear's
        x2 = x.reshape(-1, x.shape[-1])
        out = _nn._linear(x2, w, None if bias is None else bias._data)  # (ops/_linear_blas.py)
        if out is None:
            out = _gemm(x2, w.T)
            if bias is not None:
                out += bias._data
        return Tensor._new(out.reshape(x.shape[:-1] + (w.shape[0],)))
    if bias is None:
        if x.ndim > 2 and w.ndim == 2 and x.shape[-1]:
            # torch's chain (UnsafeViewBackward0 <- MmBackward0 <- the input's reshape and
            # TBackward0): one (rows, in) x (in, out) product each way, where a batched matmul
            # would take one per leading index and sum the weight's gradients after
            out = input.reshape(-1, x.shape[-1]).mm(weight.t())
            return _shape.UnsafeViewBackward0.apply(out, x.shape[:-1] + (w.shape[0],))
        return input.matmul(weight.t())
    if x.ndim == 2 and w.ndim == 2:
        return _nn.AddmmBackward0.apply(bias, input, weight)
    if w.ndim == 2:
        out = _nn.AddmmBackward0.apply(bias, input.reshape(-1, x.shape[-1]), weight)
        return out.view(*x.shape[:-1], w.shape[0])
    return input.matmul(weight.t()) + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None):
    """y_k = x1 W_k x2 + b_k.  Shape: (N, in1), (N, in2), (out, in1, in2) -> (N, out)."""
    out = ((input1.unsqueeze(1).unsqueeze(-2)).matmul(weight.unsqueeze(0))
           .matmul(input2.unsqueeze(1).unsqueeze(-1))).squeeze(-1).squeeze(-1)
    return out if bias is None else out + bias


# ---- activations ------------------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0)."""
    return input.relu_() if inplace else _ew.relu(input)


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def _inplace(input: Tensor, fn) -> Tensor:
    """Run an activation in place (torch's `inplace=True`): the result is written back."""
    from ..ops.inplace import apply_inplace
    return apply_inplace(input, fn)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """clamp(input, min_val, max_val); the gradient is 1 strictly inside the interval."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return _inplace(input, lambda x: _nn.HardtanhBackward0.apply(x, min_val, max_val))
    return _nn.HardtanhBackward0.apply(input, min_val, max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(input, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """input if input > 0 else negative_slope * input."""
    if inplace:
        return _inplace(input, lambda x: _nn.LeakyReluBackward1.apply(x, negative_slope))
    return _nn.LeakyReluBackward0.apply(input, negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """input if input > 0 else alpha * (exp(input) - 1)."""
    if inplace:
        return _inplace(input, lambda x: _nn.EluBackward1.apply(x, alpha))
    return _nn.EluBackward0.apply(input, alpha)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(input, alpha) with the self-normalising constants."""
    if inplace:
        return _inplace(input, lambda x: _nn.EluBackward1.apply(x, _SELU_ALPHA, _SELU_SCALE))
    return _nn.EluBackward0.apply(input, _SELU_ALPHA, _SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if inplace:
        return _inplace(input, lambda x: _nn.CeluBackward1.apply(x, alpha, 1.0, 1.0 / alpha))
    return _nn.CeluBackward0.apply(input, alpha, 1.0, 1.0 / alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """input * Phi(input) (Phi the standard normal CDF); 'tanh' uses the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh.")
    return _nn.GeluBackward0.apply(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """input * sigmoid(input)."""
    if inplace:
        return _inplace(input, _nn.SiluBackward0.apply)
    return _nn.SiluBackward0.apply(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """input * tanh(softplus(input))."""
    return _inplace(input, _nn.MishBackward0.apply) if inplace else \
        _nn.MishBackward0.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    return _ew.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return _ew.tanh(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    return _inplace(input, _nn.HardsigmoidBackward0.apply) if inplace else \
        _nn.HardsigmoidBackward0.apply(input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6."""
    return _inplace(input, _nn.HardswishBackward0.apply) if inplace else \
        _nn.HardswishBackward0.apply(input)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), computed without overflow."""
    return _nn.LogSigmoidBackward0.apply(input)


def softsign(input: Tensor) -> Tensor:
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    return input - input.tanh()


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold."""
    return _nn.SoftplusBackward0.apply(input, beta, threshold)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """input where input > threshold, else value."""
    if inplace:
        return _inplace(input, lambda x: _nn.ThresholdBackward1.apply(x, threshold, value))
    return _nn.ThresholdBackward0.apply(input, threshold, value)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) where a, b are the halves of input along dim."""
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.dim()} "
                           f"is size {input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


class PreluKernelBackward0(_nn.Op):
    """out = x if x > 0 else w * x (w broadcast against x);
    dx = g if x > 0 else g * w, dw = 0 if x > 0 else g * x (the engine sums it to w's shape)"""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        a = x._data
        return np.where(a > 0, a, w._data * a)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        pos = _Tensor_new(x._data > 0)
        gx = _ew.where(pos, g, g * w) if ctx.needs_input_grad[0] else None
        gw = _ew.where(pos, g * 0.0, g * x) if ctx.needs_input_grad[1] else None
        return gx, gw


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """input if input > 0 else weight * input (one weight, or one per channel: dim 1)."""
    _check_tensor("prelu", "input", input)
    _check_tensor("prelu", "weight", weight, 2)
    if _amp.on:
        input, weight = _amp_low(input, weight)
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.dim()}")
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got "
                           f"{_tname(input)} and {_tname(weight)}")
    n, nd = weight.numel(), input.dim()
    if n == 1:
        w = weight.reshape(())
    else:
        if nd == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if nd >= 2 else 1
        if n != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {n} and channel size = {channels}.")
        w = weight.reshape(-1, *([1] * (nd - 2)))  # a view, as torch's (the channel dim 1)
    return PreluKernelBackward0.apply(input, w)


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_input(input: Tensor, dim, name: str, dtype):
    _check_tensor(name, "input", input)
    if dim is None:
        dim = _softmax_dim(name, input.dim(), 4)
    if dtype is not None:
        input = input.to(dtype)
    x = input._data
    if x.dtype.kind != "f":
        raise NotImplementedError(f'"{name}_lastdim_kernel_impl" not implemented for '
                                  f"'{_DTYPE_NAMES[x.dtype.name]}'")
    from .._tensor import _wrap_dim
    return input, _wrap_dim(dim, x.ndim)


class _Softmax0d(_nn.SoftmaxBackward0):
    """softmax of a 0-dim tensor (its one element);  dx = out * (g - g * out)"""

    @staticmethod
    def forward(ctx, x, dim):
        return _nn.SoftmaxBackward0.forward(ctx, _Tensor_new(x._data.reshape(1)), 0).reshape(())

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return out * (g - g * out), None


class _LogSoftmax0d(_nn.LogSoftmaxBackward0):
    """log_softmax of a 0-dim tensor (its one element);  dx = g - exp(out) * g"""

    @staticmethod
    def forward(ctx, x, dim):
        return _nn.LogSoftmaxBackward0.forward(ctx, _Tensor_new(x._data.reshape(1)),
                                               0).reshape(())

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g - out.exp() * g, None


# 0-dim inputs get their own node classes, named as torch names the node for any input
_Softmax0d.__name__ = _Softmax0d.__qualname__ = "SoftmaxBackward0"
_LogSoftmax0d.__name__ = _LogSoftmax0d.__qualname__ = "LogSoftmaxBackward0"


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """exp(x) / sum(exp(x), dim), computed stably (max subtracted)."""
    input, dim = _softmax_input(input, dim, "softmax", dtype)
    if input._data.ndim == 0:
        return _Softmax0d.apply(input, 0)
    return _nn.SoftmaxBackward0.apply(input, dim)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """softmax(-x)."""
    if dim is None:
        dim = _softmax_dim("softmin", input.dim(), 3)
    return softmax(-input if dtype is None else -(input.to(dtype)), dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """x - logsumexp(x, dim), computed stably."""
    input, dim = _softmax_input(input, dim, "log_softmax", dtype)
    if input._data.ndim == 0:
        return _LogSoftmax0d.apply(input, 0)
    return _nn.LogSoftmaxBackward0.apply(input, dim)


# ---- dropout ----------------------------------------------------------------------------------
def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_mask(shape, p: float, np_dtype, like: np.ndarray | None = None) -> Tensor:
    """Bernoulli(1 - p) draws scaled by 1 / (1 - p) (all zeros when p == 1); laid out in the
    memory order of array `like` when given, as torch fills its empty_like(input) noise."""
    g = _gen(None)
    if like is None:
        keep = g.bernoulli(shape, 1.0 - p, np_dtype)
    else:
        from ..random import in_memory_order
        keep = in_memory_order(like, lambda s: g.bernoulli(s, 1.0 - p, np_dtype))
    if p < 1.0:
        keep *= np_dtype.type(1.0 / (1.0 - p))
    return Tensor._new(keep)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (training only)."""
    _check_p(p)
    if not training or p == 0.0 or input._data.size == 0:
        return input
    mask = _dropout_mask(input._data.shape, p, input._data.dtype, input._data)
    return input.mul_(mask) if inplace else input * mask


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool,
                     batched: bool) -> Tensor:
    _check_p(p)
    if not training or p == 0.0 or input._data.size == 0:
        return input
    shape = input._data.shape
    keep = 2 if batched else 1
    mask_shape = shape[:keep] + (1,) * (len(shape) - keep)
    mask = _dropout_mask(mask_shape, p, input._data.dtype)
    return input.mul_(mask) if inplace else input * mask


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels: input (N, C, L) or (C, L)."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D "
                           "input. Note that dropout1d exists to provide channel-wise dropout on "
                           "inputs with 1 spatial dimension, a channel dimension, and an optional "
                           "batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, inplace, input.dim() == 3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels: input (N, C, H, W) or (C, H, W); 3-D input is treated as (N, C, L)
    with a warning, as torch does."""
    nd = input.dim()
    if nd not in (3, 4):
        warnings.warn(f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated and "
                      "will result in an error in a future release. To retain the behavior and "
                      "silence this warning, please use dropout instead. Note that dropout2d "
                      "exists to provide channel-wise dropout on inputs with 2 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. "
                      "3D or 4D inputs).", stacklevel=2)
    if nd == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape "
                      "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch "
                      "to using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, nd >= 3 or nd == 2)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels: input (N, C, D, H, W) or (C, D, H, W)."""
    nd = input.dim()
    return _feature_dropout(input, p, training, inplace, nd == 5)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU's self-normalising mean and variance."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    alpha = _SELU_ALPHA * _SELU_SCALE  # dropped units go to -alpha*a*(1-p), SELU's saturation side
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    keep = Tensor._new(_gen(None).bernoulli(input._data.shape, 1.0 - p, input._data.dtype))
    b = (keep - 1.0) * (alpha * a) + alpha * a * p
    out = input * keep * a + b
    return input.copy_(out) if inplace else out


# ---- misc -------------------------------------------------------------------------------------
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding along a new last dim.  Shape: (*) -> (*, num_classes)."""
    t = tensor._data
    if t.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if t.size and t.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if t.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(t.max()) + 1
    elif t.size and t.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(t.shape + (num_classes,), np.int64)
    np.put_along_axis(out, t[..., None], 1, axis=-1)
    return Tensor._new(out)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """input / max(||input||_p along dim, eps)."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    return input / denom


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along dim."""
    n1 = x1.norm(2, dim, keepdim=True).clamp_min(eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp_min(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last dim."""
    d = x1 - x2 + eps
    return NormBackward1.apply(d, float(p), (d.dim() - 1,) if d.dim() else (), keepdim)


class NormBackward1(_reduce.LinalgVectorNormBackward0):
    """The vector norm over given dims under the node name torch gives pairwise_distance's."""


class PadBackward0(_nn.Op):
    """out = input padded by reflection / replication / wrap-around along the last dims;
    dinput = the gradient of every padded position added back into its source position."""

    @staticmethod
    def forward(ctx, x, widths, mode):
        a = x._data
        ctx.maps = [None if w == (0, 0) else
                    np.pad(np.arange(n), w, mode=mode) for n, w in zip(a.shape, widths)]
        ctx.sizes, ctx.widths = a.shape, widths
        return np.pad(a, widths, mode=mode)

    @staticmethod
    def backward(ctx, g):
        if _grad_state.enabled:  # create_graph: the same sums as recorded ops (linear in g)
            from ..ops.creation import zeros
            for d, m in enumerate(ctx.maps):
                if m is not None:
                    shape = list(g.shape)
                    shape[d] = ctx.sizes[d]
                    g = zeros(shape, dtype=g.dtype).index_add(d, Tensor._new(m), g)
            return g, None, None
        gd = g._data
        for d, m in enumerate(ctx.maps):
            if m is None:
                continue
            # the centre copies straight back; each padded slice (a few per side) adds onto
            # its source slice: one slice-add per padded position, none per element
            n, lo = ctx.sizes[d], ctx.widths[d][0]
            moved = np.moveaxis(gd, d, 0)
            out = moved[lo:lo + n].copy()
            for k in list(range(lo)) + list(range(lo + n, m.size)):
                out[m[k]] += moved[k]
            gd = np.moveaxis(out, 0, d)
        return Tensor._new(np.ascontiguousarray(gd)), None, None


_PAD_NAMES = {"reflect": "ReflectionPad{}DBackward0", "replicate": "ReplicationPad{}DBackward0"}
_NP_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
_PAD_CLASSES: dict = {}


def _pad_class(mode: str, k: int):
    name = _PAD_NAMES.get(mode, "PadBackward0").format(k)
    cls = _PAD_CLASSES.get(name)
    if cls is None:
        cls = _PAD_CLASSES[name] = type(name, (PadBackward0,), {"__module__": __name__})
    return cls


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad)//2 dims: pad = (left_last, right_last, left_prev, right_prev, ...).
    Negative constant padding crops."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    nd = input.dim()
    k = len(pad) // 2
    if k > nd:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{nd}")
    widths = [(0, 0)] * nd
    for i in range(k):
        widths[nd - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if mode == "constant":
        if any(lo < 0 or hi < 0 for lo, hi in widths):
            idx = tuple(slice(max(-lo, 0), input.shape[d] - max(-hi, 0))
                        for d, (lo, hi) in enumerate(widths))
            input = input[idx]
            widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
        return _shape.ConstantPadNdBackward0.apply(input, tuple(widths),
                                                   0.0 if value is None else value)
    if mode not in _NP_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if k not in (1, 2, 3) or nd not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {nd}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    if mode == "reflect":
        for d in range(nd - k, nd):
            lo, hi = widths[d]
            if lo >= input.shape[d] or hi >= input.shape[d]:
                raise RuntimeError(f"Argument #4: Padding size should be less than the "
                                   f"corresponding input dimension, but got: padding ({lo}, "
                                   f"{hi}) at dimension {d} of input {list(input.shape)}")
    return _pad_class(mode, k).apply(input, tuple(widths), _NP_MODES[mode])


# ---- losses -----------------------------------------------------------------------------------
def _reduction(size_average, reduce, reduction: str) -> str:
    """torch's legacy size_average/reduce flags folded into a reduction string."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else ("sum" if reduce else "none")
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", stacklevel=3)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _check_class_target(input: Tensor, target: Tensor, weight: Tensor | None) -> None:
    """torch's argument checks for nll_loss / cross_entropy with class-index targets."""
    x, t = input._data, target._data
    if x.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {x.ndim})")
    if x.ndim != 1 and x.shape[0] != (t.shape[0] if t.ndim else 1):
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target batch_size "
                         f"({t.shape[0] if t.ndim else 1}).")
    if x.ndim <= 2:
        if t.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if x.ndim == 1 and t.ndim != 0:
            raise RuntimeError(f"Expected target size [], got {list(t.shape)}")
    else:
        want = (x.shape[0],) + x.shape[2:]
        if t.shape != want:
            raise RuntimeError(f"Expected target size {list(want)}, got {list(t.shape)}")
    if t.dtype not in (np.int64, np.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_tname(target)}")
    c = x.shape[1] if x.ndim > 1 else x.shape[0]
    if weight is not None and (weight._data.ndim != 1 or weight._data.shape[0] != c):
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {list(weight._data.shape)}")


def _rows(input: Tensor, target: Tensor):
    """(input, target) as (M, C) and (M,) for the 2-D kernels, and how to undo it."""
    x = input._data
    if x.ndim == 1:
        return input.reshape(1, -1), target.reshape(1), ()
    if x.ndim == 2:
        return input, target, None
    perm = (0,) + tuple(range(2, x.ndim)) + (1,)
    return input.permute(*perm).reshape(-1, x.shape[1]), target.reshape(-1), target._data.shape


def _class_loss(kind: str, input: Tensor, target: Tensor, weight, reduction: str,
                ignore_index: int) -> Tensor:
    x = input._data
    if kind == "ce":
        cls = _nn.CrossEntropyLossBackward0 if x.ndim <= 2 else _nn.CrossEntropyLoss2DBackward0
    else:
        cls = _nn.NllLossBackward0 if x.ndim <= 2 else _nn.NllLoss2DBackward0
    w = None if weight is None else weight._data  # (arrays: not inputs of the node, as torch)
    if x.ndim == 2:
        rows, t = input, target._data
    else:
        rows, trows, tshape = _rows(input, target)
        t = trows._data
    out = cls.apply(rows, t, w, reduction, ignore_index)
    if out.grad_fn is not None:  # what a double backward recomputes (ops/loss_double.py)
        _recompute.record(out, (_loss_double.ClassLoss, (kind == "ce", t, w, reduction,
                                                          ignore_index)), rows)
    if x.ndim == 2:
        return out
    if reduction == "none":
        out = out.reshape(tshape)
    return out


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """-input[i, target_i] * weight[target_i], reduced; mean divides by the summed weights.

    Shape: input (N, C) or (C,) or (N, C, d1, ...); target (N,) or () or (N, d1, ...)."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_class_target(input, target, weight)
    return _class_loss("nll", input, target, weight, reduction, ignore_index)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """nll_loss(log_softmax(input, 1), target): one fused op for class-index targets; class
    probabilities when target has input's shape.

    Shape: input (N, C) or (C,) or (N, C, d1, ...); target of class indices (N,) / () /
    (N, d1, ...), or of probabilities with input's shape."""
    if weight is None and label_smoothing == 0.0 and size_average is None and reduce is None \
            and type(input) is Tensor and type(target) is Tensor and \
            (reduction == "mean" or reduction == "sum"):
        # a classifier's call ((N, C) float logits, (N,) int64 targets): the checks below all
        # pass, so the fused op straight away (a training step's largest op at batch 1)
        x, t = input._data, target._data
        if x.ndim == 2 and t.ndim == 1 and x.dtype.kind == "f" and t.dtype == np.int64 and \
                x.shape[0] == t.shape[0] and x.shape[0]:
            return _class_loss("ce", input, target, None, reduction, ignore_index)
    _check_tensor("cross_entropy", "input", input)
    _check_tensor("cross_entropy", "target", target, 2)
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    x, t = input._data, target._data
    if x.shape == t.shape:
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    if x.dtype.kind != "f":
        raise NotImplementedError('"log_softmax_lastdim_kernel_impl" not implemented for '
                                  f"'{_tname(input)}'")
    _check_class_target(input, target, weight)
    if label_smoothing > 0.0:
        return _cross_entropy_smoothed(input, target, weight, reduction, ignore_index,
                                       label_smoothing)
    return _class_loss("ce", input, target, weight, reduction, ignore_index)


def _class_dim(input: Tensor) -> int:
    return 0 if input.dim() == 1 else 1


def _weight_view(weight: Tensor, input: Tensor) -> Tensor:
    """weight (C,) shaped to broadcast along the class dim of input."""
    if input.dim() <= 2:
        return weight
    return weight.reshape(-1, *([1] * (input.dim() - 2)))


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing):
    if target._data.dtype.kind != "f":
        raise RuntimeError(f"Expected floating point type for target with class probabilities, "
                           f"got {_tname(target)}")
    cdim = _class_dim(input)
    c = input.shape[cdim]
    logp = log_softmax(input, cdim)
    if label_smoothing > 0.0:
        target = target * (1 - label_smoothing) + label_smoothing / c
    prod = logp * target
    if weight is not None:
        prod = prod * _weight_view(weight, input)
    if reduction == "none":
        return -prod.sum(cdim)
    if reduction == "sum":
        return -prod.sum()
    return -prod.sum() / (input.numel() / c)


def _cross_entropy_smoothed(input, target, weight, reduction, ignore_index, label_smoothing):
    cdim = _class_dim(input)
    c = input.shape[cdim]
    logp = log_softmax(input, cdim)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if weight is not None:
        smooth = -(logp * _weight_view(weight, input)).sum(cdim)
    else:
        smooth = -logp.sum(cdim)
    t = target._data
    valid = t != ignore_index
    smooth = smooth * Tensor._new(valid.astype(smooth._data.dtype))
    if reduction == "mean":
        if weight is not None:
            denom = float(weight._data[t[valid]].sum())
        else:
            denom = float(valid.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            ret = smooth.sum() / Tensor._new(np.asarray(denom, smooth._data.dtype))
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return (1 - label_smoothing) * nll + ret * (label_smoothing / c)


def _size_warning(input: Tensor, target: Tensor) -> None:
    if target._data.shape != input._data.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)
        _check_broadcast(input._data, target._data)


def _same_dtype(input: Tensor, target: Tensor):
    if input._data.dtype == target._data.dtype:
        return input, target
    dt = _result_dtype(input, target)
    return input.to(dt), target.to(dt)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight=None) -> Tensor:
    """(input - target)^2, reduced."""
    reduction = _reduction(size_average, reduce, reduction)
    _size_warning(input, target)
    input, target = _same_dtype(input, target)
    if weight is not None:
        return _reduce((input - target) ** 2 * weight, reduction)
    return _nn.MseLossBackward0.apply(input, target, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight=None) -> Tensor:
    """|input - target|, reduced."""
    reduction = _reduction(size_average, reduce, reduction)
    _size_warning(input, target)
    loss = (input - target).abs()
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""
    reduction = _reduction(size_average, reduce, reduction)
    _size_warning(input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    input, target = _same_dtype(input, target)
    return _nn.SmoothL1LossBackward0.apply(input, target, reduction, float(beta))


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target)."""
    reduction = _reduction(None, None, reduction)
    _size_warning(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    input, target = _same_dtype(input, target)
    return _nn.HuberLossBackward0.apply(input, target, reduction, float(delta))


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """-weight (target log(input) + (1 - target) log(1 - input)), logs clamped at -100."""
    reduction = _reduction(size_average, reduce, reduction)
    if target._data.shape != input._data.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         "size.")
    if weight is not None:
        _check_broadcast(input._data, weight._data)
        weight = weight.expand(*np.broadcast_shapes(target._data.shape, weight._data.shape))
    return _nn.BinaryCrossEntropyBackward0.apply(input, target, weight, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """binary_cross_entropy(sigmoid(input), target) computed stably from the logits;
    pos_weight (per class, broadcast along the last dim) weighs the positive term."""
    reduction = _reduction(size_average, reduce, reduction)
    if target._data.shape != input._data.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    return _nn.BinaryCrossEntropyWithLogitsBackward0.apply(input, target, weight, pos_weight,
                                                           reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """target * (log(target) - input) pointwise (input holds log-probabilities); 'batchmean'
    divides the sum by the batch size (the KL divergence proper)."""
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        t = target._data
        if target.requires_grad:
            tlogt = target * target.clamp_min(np.finfo(t.dtype).tiny).log()
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                tl = np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0).astype(t.dtype)
            tlogt = Tensor._new(tl)
        loss = tlogt - target * input
    if reduction == "batchmean":
        if input.dim() == 0:
            return loss.sum()
        return loss.sum() / Tensor._new(np.asarray(input.shape[0], loss._data.dtype))
    return _reduce(loss, reduction)


# ---- attention and transformer helpers (issue 10, attention part) -----------------------------
from ..ops.attention import scaled_dot_product_attention  # noqa: E402,F401
from ._attention_functional import multi_head_attention_forward, rms_norm  # noqa: E402,F401

__all__ += ["scaled_dot_product_attention", "multi_head_attention_forward", "rms_norm"]
# ---- vision layers (vlayers): transposed conv, interpolation, padding, norms, losses ----------
from ..ops.conv_transpose import conv_transpose1d, conv_transpose2d  # noqa: E402,F401
from ..ops.upsample import interpolate, pixel_shuffle, pixel_unshuffle  # noqa: E402,F401
from ..ops.group_norm import group_norm, instance_norm, local_response_norm  # noqa: E402,F401
from ..ops.fold import (fold, lp_pool1d, lp_pool2d, max_unpool1d, max_unpool2d,  # noqa: E402,F401
                        unfold)
from ..ops.shrink import hardshrink, rrelu, rrelu_, softshrink  # noqa: E402,F401
from ._loss_functions import (cosine_embedding_loss, ctc_loss,  # noqa: E402,F401
                              gaussian_nll_loss, hinge_embedding_loss, margin_ranking_loss,
                              multi_margin_loss, multilabel_soft_margin_loss, poisson_nll_loss,
                              soft_margin_loss, triplet_margin_loss,
                              triplet_margin_with_distance_loss)


def upsample(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
    """Deprecated alias of interpolate (warns, as torch)."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: interpolate(mode='nearest')."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: interpolate(mode='bilinear', align_corners=True)."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


__all__ += [
    "conv_transpose1d", "conv_transpose2d", "interpolate", "upsample", "upsample_nearest",
    "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle", "group_norm", "instance_norm",
    "local_response_norm", "fold", "unfold", "max_unpool1d", "max_unpool2d", "lp_pool1d",
    "lp_pool2d", "hardshrink", "softshrink", "rrelu", "rrelu_", "cosine_embedding_loss",
    "ctc_loss", "gaussian_nll_loss", "hinge_embedding_loss", "margin_ranking_loss",
    "multi_margin_loss", "multilabel_soft_margin_loss", "poisson_nll_loss", "soft_margin_loss",
    "triplet_margin_loss", "triplet_margin_with_distance_loss"]

# ---- 3-d convolution and pooling (apigaps) ---------------------------------------------------
from ..ops.conv import conv3d  # noqa: E402,F401
from ..ops.conv_transpose import conv_transpose3d  # noqa: E402,F401
from ..ops.pooling3d import avg_pool3d, max_pool3d  # noqa: E402,F401

__all__ += ["conv3d", "conv_transpose3d", "avg_pool3d", "max_pool3d"]

# ---- breadth: spatial transformer sampling, embedding bags, more activations and losses -------
from ..ops.grid_sample import affine_grid, grid_sample  # noqa: E402,F401
from ..ops.embedding_bag import embedding_bag  # noqa: E402,F401
from ..ops.pdist import pdist  # noqa: E402,F401
from ..ops.channel_shuffle import channel_shuffle  # noqa: E402,F401
from ..ops.multilabel_margin import multilabel_margin_loss  # noqa: E402,F401
from ._functional_more import (adaptive_max_pool1d_with_indices,  # noqa: E402,F401
                               adaptive_max_pool2d_with_indices, celu_, gumbel_softmax,
                               max_pool1d_with_indices, max_pool2d_with_indices, selu_,
                               threshold_)

__all__ += ["affine_grid", "grid_sample", "embedding_bag", "pdist", "channel_shuffle",
            "multilabel_margin_loss", "gumbel_softmax", "max_pool1d_with_indices",
            "max_pool2d_with_indices", "adaptive_max_pool1d_with_indices",
            "adaptive_max_pool2d_with_indices", "threshold_", "celu_", "selu_"]

# ---- autocast (issue 12, mpx): the losses on torch's CPU float32 list take float32 inputs ----
from ..amp.autocast_mode import cast_low as _amp_low, state as _amp  # noqa: E402
from ..amp.autocast_mode import fp32_wrap as _amp_fp32, low_wrap as _amp_low_wrap  # noqa: E402

for _name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
              "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
              "cosine_embedding_loss", "hinge_embedding_loss", "poisson_nll_loss",
              "margin_ranking_loss", "soft_margin_loss", "triplet_margin_loss",
              "multi_margin_loss", "multilabel_margin_loss"):
    if _name in globals():
        globals()[_name] = _amp_fp32(globals()[_name])
for _name in ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "conv3d"):
    if _name in globals():  # on torch's CPU lower-precision list
        globals()[_name] = _amp_low_wrap(globals()[_name])
del _name
