"""Conv1d and Conv2d (torch.nn.Conv1d / Conv2d): weights, torch's initialisation and repr."""
from __future__ import annotations

import math

from ..._tensor import Tensor
from ...ops import creation
from ...ops.conv import convolution
from ...ops.conv_transpose import conv_transpose
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "Conv3d", "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v, n: int) -> tuple:
    if isinstance(v, (tuple, list)):
        return tuple(v)
    return (v,) * n


class _ConvNd(Module):
    """Shared state of the convolution layers: weight (out, in/groups, *kernel), bias (out,)."""

    __constants__ = ["stride", "padding", "dilation", "groups", "padding_mode", "output_padding",
                     "in_channels", "out_channels", "kernel_size"]
    _nd = 2
    _transposed = False  # a transposed convolution's weight is (in, out/groups, *kernel)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None) -> None:
        super().__init__()
        nd = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'same', 'valid'}")
            if padding == "same" and any(s != 1 for s in _ntuple(stride, nd)):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in _PADDING_MODES:
            raise ValueError("padding_mode must be one of {'zeros', 'reflect', 'circular', "
                             f"'replicate'}}, but got padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, nd)
        self.stride = _ntuple(stride, nd)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, nd)
        self.dilation = _ntuple(dilation, nd)
        self.transposed = False
        self.output_padding = (0,) * nd
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's order: last dim first, (left, right) per dim
        if isinstance(self.padding, str):
            rev = [0, 0] * nd
            if self.padding == "same":
                for d, k, i in zip(self.dilation, self.kernel_size, range(nd - 1, -1, -1)):
                    total = d * (k - 1)
                    left = total // 2
                    rev[2 * i] = left
                    rev[2 * i + 1] = total - left
            self._reversed_padding_repeated_twice = rev
        else:
            self._reversed_padding_repeated_twice = tuple(
                p for p in reversed(self.padding) for _ in range(2))
        channels = ((in_channels, out_channels // groups) if self._transposed else
                    (out_channels, in_channels // groups))
        self.weight = Parameter(creation.empty(channels + self.kernel_size, dtype=dtype,
                                               device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's default: weight ~ kaiming_uniform_(a=sqrt(5)), bias ~ U(+-1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        nd = self._nd
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def __setstate__(self, state):
        super().__setstate__(state)
        if not hasattr(self, "padding_mode"):
            self.padding_mode = "zeros"

    def _conv_forward(self, input: Tensor, weight: Tensor, bias) -> Tensor:
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return convolution(input, weight, bias, self.stride, 0, self.dilation, self.groups,
                               self._nd)
        return convolution(input, weight, bias, self.stride, self.padding, self.dilation,
                           self.groups, self._nd)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_ConvNd):
    """1-d convolution over (N, C_in, L) or (C_in, L) input.

    Shape: (N, C_in, L) -> (N, C_out, (L + 2p - d(k-1) - 1) // s + 1)."""
    _nd = 1


class Conv2d(_ConvNd):
    """2-d convolution over (N, C_in, H, W) or (C_in, H, W) input.

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out), H_out = (H + 2p - d(k-1) - 1) // s + 1."""
    _nd = 2


# ---- transposed convolutions (vision layers) --------------------------------------------------
class _ConvTransposeNd(_ConvNd):
    """weight (in, out/groups, *kernel); forward(input, output_size=None) picks output_padding
    from a requested output size, as torch's."""
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{self.__class__.__name__}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)
        self.transposed = True
        self.output_padding = _ntuple(output_padding, self._nd)

    def _output_padding(self, input: Tensor, output_size, stride, padding, kernel_size,
                        num_spatial_dims: int, dilation=None) -> tuple:
        if output_size is None:
            return tuple(self.output_padding)
        nd = num_spatial_dims
        output_size = list(output_size)
        has_batch = input.dim() == nd + 2
        if len(output_size) == nd + 2 or (len(output_size) == nd + 1 and not has_batch):
            output_size = output_size[-nd:]
        if len(output_size) != nd:
            raise ValueError(f"ConvTranspose{nd}D: for {input.dim()}D input, output_size must "
                             f"have {nd} or {nd + 2} elements (got {len(output_size)})")
        dilation = self.dilation if dilation is None else dilation
        spatial = input.shape[-nd:]
        lo = [(spatial[d] - 1) * stride[d] - 2 * padding[d] +
              (dilation[d] if dilation is not None else 1) * (kernel_size[d] - 1) + 1
              for d in range(nd)]
        hi = [lo[d] + stride[d] - 1 for d in range(nd)]
        for d in range(nd):
            if not lo[d] <= output_size[d] <= hi[d]:
                raise ValueError(f"requested an output size of {list(output_size)}, but valid "
                                 f"sizes range from {lo} to {hi} (for an input of "
                                 f"{input.shape[-nd:]})")
        return tuple(output_size[d] - lo[d] for d in range(nd))

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        op = self._output_padding(input, output_size, self.stride, self.padding,
                                  self.kernel_size, self._nd, self.dilation)
        return conv_transpose(input, self.weight, self.bias, self.stride, self.padding, op,
                              self.groups, self.dilation, self._nd)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-d convolution.  Shape: (N, C_in, L) -> (N, C_out, L_out),
    L_out = (L - 1) s - 2 p + d (k - 1) + output_padding + 1."""
    _nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-d convolution.  Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out),
    H_out = (H - 1) s - 2 p + d (k - 1) + output_padding + 1."""
    _nd = 2


# ---- 3-d (apigaps: ops/conv3d.py) --------------------------------------------------------------
class Conv3d(_ConvNd):
    """3-d convolution over (N, C_in, D, H, W) or (C_in, D, H, W) input.

    Shape: (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out),
    D_out = (D + 2p - d(k-1) - 1) // s + 1."""
    _nd = 3


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-d convolution.  Shape: (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out),
    D_out = (D - 1) s - 2 p + d (k - 1) + output_padding + 1."""
    _nd = 3
