"""The nn ops torch also exposes at top level (`torch.conv2d`, `torch.softmax`, `torch.dropout`...),
with torch's top-level signatures, which differ from `nn.functional`'s in places: `dim` is
required for softmax, dropout's `p` and `train` are required, max pooling never returns indices
while adaptive max pooling always does, and batch_norm / embedding order their arguments as the
underlying ATen ops do. `ember/__init__.py` loads this module on first use of one of its names.
"""
from __future__ import annotations

from ._tensor import Tensor
from .nn import functional as F

__all__ = ["softmax", "log_softmax", "conv1d", "conv2d", "max_pool1d", "max_pool2d",
           "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d", "dropout", "alpha_dropout",
           "selu", "celu", "threshold", "relu_", "cosine_similarity", "pairwise_distance", "prelu",
           "bilinear", "layer_norm", "batch_norm", "embedding"]

conv1d = F.conv1d
conv2d = F.conv2d
avg_pool1d = F.avg_pool1d
adaptive_avg_pool1d = F.adaptive_avg_pool1d
cosine_similarity = F.cosine_similarity
pairwise_distance = F.pairwise_distance
prelu = F.prelu
bilinear = F.bilinear
relu_ = F.relu_


def _dim_arg(fn: str, dim, pos: int) -> None:
    if dim is None or isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{fn}(): argument 'dim' (position {pos}) must be int, not "
                        f"{type(dim).__name__}")


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """torch.softmax: nn.functional.softmax with a required dim."""
    _dim_arg("softmax", dim, 2)
    return F.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """torch.log_softmax: nn.functional.log_softmax with a required dim."""
    _dim_arg("log_softmax", dim, 2)
    return F.log_softmax(input, dim, dtype=dtype)


def max_pool1d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """torch.max_pool1d: the pooled values only."""
    return F.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """torch.max_pool2d: the pooled values only."""
    return F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)


def adaptive_max_pool1d(input: Tensor, output_size):
    """torch.adaptive_max_pool1d: (values, indices), always."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def _check_p(p: float) -> None:
    # nn.functional raises ValueError for these; the ATen ops behind torch.dropout RuntimeError
    if p < 0.0 or p > 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    _check_p(p)
    return F.dropout(input, p, train)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    _check_p(p)
    return F.alpha_dropout(input, p, train)


def selu(input: Tensor) -> Tensor:
    return F.selu(input)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    return F.celu(input, alpha)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    return F.threshold(input, threshold, value)


def layer_norm(input: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5,
               cudnn_enable: bool = True) -> Tensor:
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def batch_norm(input: Tensor, weight, bias, running_mean, running_var, training: bool,
               momentum: float, eps: float, cudnn_enabled: bool) -> Tensor:
    """torch.batch_norm: ATen's argument order (weight and bias before the running stats)."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """torch.embedding: weight first; a negative padding_idx means no padding row."""
    return F.embedding(indices, weight, None if padding_idx < 0 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)

# ---- breadth: top-level names whose signatures are nn.functional's ----
pdist = F.pdist
channel_shuffle = F.channel_shuffle
threshold_ = F.threshold_
celu_ = F.celu_
selu_ = F.selu_
__all__ += ["pdist", "channel_shuffle", "threshold_", "celu_", "selu_"]
