"""ResNet (He et al., 2015) as torchvision builds it: same module names, shapes and init, so
torchvision's checkpoints load with strict=True.

Shape: (N, 3, H, W) -> (N, num_classes) for any H, W >= 32 (global average pooling).
"""
from __future__ import annotations

from functools import partial

from ... import nn
from ...ops.shape import flatten
from ..transforms._presets import ImageClassification
from ._api import Weights, WeightsEnum, register_model
from ._utils import _load_weights, _resolve_weights

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50",
           "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",
           "wide_resnet50_2", "wide_resnet101_2", "ResNet18_Weights", "ResNet34_Weights",
           "ResNet50_Weights", "ResNet101_Weights", "ResNet152_Weights"]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1,
            dilation: int = 1) -> nn.Conv2d:
    """3x3 convolution, "same" padding, no bias (a norm layer follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def _add_residual(block, x, out):
    """A block's tail: out plus x (through block.downsample when it has one), then ReLU."""
    out += x if block.downsample is None else block.downsample(x)
    return block.relu(out)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34)."""
    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer=None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return _add_residual(self, x, out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided, grouped), 1x1 expand by 4, with a residual connection
    (ResNet-50 and up; the stride sits on the 3x3 convolution, "ResNet v1.5")."""
    expansion: int = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer=None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return _add_residual(self, x, out)


def _norm_types() -> tuple:
    """The norm layers set to (1, 0): BatchNorm2d and GroupNorm (when ember.nn has it)."""
    return (nn.BatchNorm2d,) + ((nn.GroupNorm,) if hasattr(nn, "GroupNorm") else ())


class ResNet(nn.Module):
    """Stem (7x7/2 conv, BN, ReLU, 3x3/2 max-pool), four stages of `layers` blocks (64, 128,
    256, 512 planes), global average pooling and a linear classifier.

    Convolutions are initialised kaiming_normal_(fan_out, relu), norm layers to (1, 0);
    zero_init_residual zeroes each block's last BN weight.
    """

    def __init__(self, block, layers, num_classes: int = 1000, zero_init_residual: bool = False,
                 groups: int = 1, width_per_group: int = 64,
                 replace_stride_with_dilation=None, norm_layer=None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None or a 3-element tuple, "
                             f"got {replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2,
                                       dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2,
                                       dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2,
                                       dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, _norm_types()):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1,
                    dilate: bool = False) -> nn.Sequential:
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:  # keep the resolution: dilate the following convolutions instead
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        previous_dilation, norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, dilation=self.dilation,
                                norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def _forward_impl(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = flatten(self.avgpool(x), 1)
        return self.fc(x)

    def forward(self, x):
        return self._forward_impl(x)


def _resnet(weights_enum, block, layers, weights, progress: bool, kwargs: dict) -> ResNet:
    """A builder's body: resolve `weights` against its enum, build, load the checkpoint."""
    weights = _resolve_weights(weights_enum, weights, kwargs)
    model = ResNet(block, layers, **kwargs)
    return _load_weights(model, weights, progress)


_ImageNet = partial(ImageClassification, crop_size=224)
_V2 = partial(ImageClassification, crop_size=224, resize_size=232)
_BASE = "https://download.pytorch.org/models/"


def _imagenet(file: str, transforms, num_params: int) -> Weights:
    return Weights(_BASE + file, transforms, {"num_params": num_params, "min_size": (1, 1)})


class ResNet18_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet("resnet18-f37072fd.pth", _ImageNet, 11689512)
    DEFAULT = IMAGENET1K_V1


class ResNet34_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet("resnet34-b627a593.pth", _ImageNet, 21797672)
    DEFAULT = IMAGENET1K_V1


class ResNet50_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet("resnet50-0676ba61.pth", _ImageNet, 25557032)
    IMAGENET1K_V2 = _imagenet("resnet50-11ad3fa6.pth", _V2, 25557032)
    DEFAULT = IMAGENET1K_V2


class ResNet101_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet("resnet101-63fe2227.pth", _ImageNet, 44549160)
    IMAGENET1K_V2 = _imagenet("resnet101-cd907fc2.pth", _V2, 44549160)
    DEFAULT = IMAGENET1K_V2


class ResNet152_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet("resnet152-394f9c45.pth", _ImageNet, 60192808)
    IMAGENET1K_V2 = _imagenet("resnet152-f82ba261.pth", _V2, 60192808)
    DEFAULT = IMAGENET1K_V2


@register_model(weights_enum=ResNet18_Weights)
def resnet18(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-18 (BasicBlock, [2, 2, 2, 2])."""
    return _resnet(ResNet18_Weights, BasicBlock, [2, 2, 2, 2], weights, progress, kwargs)


@register_model(weights_enum=ResNet34_Weights)
def resnet34(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-34 (BasicBlock, [3, 4, 6, 3])."""
    return _resnet(ResNet34_Weights, BasicBlock, [3, 4, 6, 3], weights, progress, kwargs)


@register_model(weights_enum=ResNet50_Weights)
def resnet50(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-50 (Bottleneck, [3, 4, 6, 3])."""
    return _resnet(ResNet50_Weights, Bottleneck, [3, 4, 6, 3], weights, progress, kwargs)


@register_model(weights_enum=ResNet101_Weights)
def resnet101(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-101 (Bottleneck, [3, 4, 23, 3])."""
    return _resnet(ResNet101_Weights, Bottleneck, [3, 4, 23, 3], weights, progress, kwargs)


@register_model(weights_enum=ResNet152_Weights)
def resnet152(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-152 (Bottleneck, [3, 8, 36, 3])."""
    return _resnet(ResNet152_Weights, Bottleneck, [3, 8, 36, 3], weights, progress, kwargs)


def _unlisted(name: str, weights, layers, kwargs: dict, **widths) -> ResNet:
    """A Bottleneck ResNet whose pretrained weights ember does not list (weights=None only)."""
    if weights is not None:
        raise NotImplementedError(f"ember does not list the pretrained weights of {name}; "
                                  "build it with weights=None and load a state_dict")
    return ResNet(Bottleneck, layers, **widths, **kwargs)


@register_model()
def resnext50_32x4d(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNeXt-50 32x4d (weights=None only)."""
    return _unlisted("resnext50_32x4d", weights, [3, 4, 6, 3], kwargs, groups=32, width_per_group=4)


@register_model()
def resnext101_32x8d(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNeXt-101 32x8d (weights=None only)."""
    return _unlisted("resnext101_32x8d", weights, [3, 4, 23, 3], kwargs,
                     groups=32, width_per_group=8)


@register_model()
def resnext101_64x4d(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNeXt-101 64x4d (weights=None only)."""
    return _unlisted("resnext101_64x4d", weights, [3, 4, 23, 3], kwargs,
                     groups=64, width_per_group=4)


@register_model()
def wide_resnet50_2(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """Wide ResNet-50-2 (bottlenecks twice as wide; weights=None only)."""
    return _unlisted("wide_resnet50_2", weights, [3, 4, 6, 3], kwargs, width_per_group=128)


@register_model()
def wide_resnet101_2(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """Wide ResNet-101-2 (weights=None only)."""
    return _unlisted("wide_resnet101_2", weights, [3, 4, 23, 3], kwargs, width_per_group=128)
