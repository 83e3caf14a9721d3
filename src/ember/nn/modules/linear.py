"""Linear, Bilinear and Identity layers."""
from __future__ import annotations

import math

from ..._tensor import Tensor
from ...ops import creation
from ...ops.nn_ops import AddmmBackward0
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear"]  # LazyLinear: lazy.py
from ...amp.autocast_mode import state as _amp  # autocast takes F.linear's path
from ...autograd.grad_mode import state as _grad_state
from ...ops._linear_blas import linear as _linear_blas


class Identity(Module):
    """Returns its input unchanged (any constructor arguments are ignored)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x W^T + b, W of shape (out_features, in_features).

    Initialisation as torch: W ~ kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)),
    b ~ U(-1/sqrt(in), 1/sqrt(in)).  Shape: (*, in_features) -> (*, out_features)."""

    __constants__ = ["in_features", "out_features"]

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(creation.empty((out_features, in_features), dtype=dtype,
                                               device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        p = self._parameters
        w = p.get("weight")
        if w is None or len(p) != 2:  # a parametrized / hook-computed weight or bias: attributes
            w, b = self.weight, self.bias
        else:
            b = p["bias"]
        # the common case (2-D float input of the weight's dtype) goes straight to the GEMM op
        if b is not None and type(input) is Tensor and input._data.ndim == 2 and not _amp.on and \
                input._data.dtype == w._data.dtype and input._data.shape[1] == w._data.shape[1]:
            return AddmmBackward0.apply(b, input, w)
        # inference (issue 10, a generation loop): any leading dims straight to the cblas
        # product with the bias (ops/_linear_blas.py), without F.linear's checks on the way
        if not _grad_state.enabled and b is not None and type(input) is Tensor and \
                not _amp.on and input._data.ndim > 2:
            x, wd = input._data, w._data
            if x.dtype == wd.dtype and x.shape[-1] == wd.shape[1]:
                out = _linear_blas(x.reshape(-1, x.shape[-1]), wd, b._data)
                if out is not None:
                    return Tensor._new(out.reshape(x.shape[:-1] + (wd.shape[0],)))
        return F.linear(input, w, b)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """y_k = x1^T W_k x2 + b_k.  Shape: (N, in1), (N, in2) -> (N, out)."""

    __constants__ = ["in1_features", "in2_features", "out_features"]

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(creation.empty((out_features, in1_features, in2_features),
                                               dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.size(1))
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
