"""VGG (Simonyan & Zisserman, 2014) as torchvision builds it: `features` (3x3 convolutions and
2x2 max-pools), a 7x7 adaptive average pool and a three-layer `classifier`.

Shape: (N, 3, H, W) -> (N, num_classes) for H, W >= 32.
"""
from __future__ import annotations

from functools import partial

from ... import nn
from ...ops.shape import flatten
from ..transforms._presets import ImageClassification
from ._api import Weights, WeightsEnum, register_model
from ._utils import _load_weights, _resolve_weights

__all__ = ["VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
           "vgg19_bn", "VGG11_Weights", "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights",
           "VGG16_Weights", "VGG16_BN_Weights", "VGG19_Weights", "VGG19_BN_Weights"]


class VGG(nn.Module):
    """features -> AdaptiveAvgPool2d((7, 7)) -> flatten -> classifier (two 4096-wide hidden
    layers with ReLU and Dropout(dropout)).

    init_weights: convolutions kaiming_normal_(fan_out, relu) with zero bias, batch norms
    (1, 0), linear layers N(0, 0.01) with zero bias.
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def make_layers(cfg, batch_norm: bool = False) -> nn.Sequential:
    """`features` from a config: numbers are 3x3 convolution widths, "M" a 2x2 max-pool."""
    layers = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
        if batch_norm:
            layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
        else:
            layers += [conv2d, nn.ReLU(inplace=True)]
        in_channels = v
    return nn.Sequential(*layers)


cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
          "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512,
          512, 512, 512, "M"],
}


def _vgg(cfg: str, batch_norm: bool, enum, weights, progress: bool, kwargs) -> VGG:
    weights = _resolve_weights(enum, weights, kwargs)
    if weights is not None:
        kwargs["init_weights"] = False
    model = VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs)
    return _load_weights(model, weights, progress)


_ImageNet = partial(ImageClassification, crop_size=224)
_BASE = "https://download.pytorch.org/models/"


def _w(filename: str, num_params: int) -> Weights:
    return Weights(_BASE + filename, _ImageNet, {"num_params": num_params, "min_size": (32, 32)})


class VGG11_Weights(WeightsEnum):
    IMAGENET1K_V1 = _w("vgg11-8a719046.pth", 132863336)
    DEFAULT = IMAGENET1K_V1


class VGG11_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _w("vgg11_bn-6002323d.pth", 132868840)
    DEFAULT = IMAGENET1K_V1


class VGG13_Weights(WeightsEnum):
    IMAGENET1K_V1 = _w("vgg13-19584684.pth", 133047848)
    DEFAULT = IMAGENET1K_V1


class VGG13_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _w("vgg13_bn-abd245e5.pth", 133053736)
    DEFAULT = IMAGENET1K_V1


class VGG16_Weights(WeightsEnum):
    IMAGENET1K_V1 = _w("vgg16-397923af.pth", 138357544)
    # SSD's VGG-16 backbone: only `features` holds usable values; inputs in [0, 255] - mean
    IMAGENET1K_FEATURES = Weights(
        _BASE + "vgg16_features-amdegroot-88682ab5.pth",
        partial(ImageClassification, crop_size=224, mean=(0.48235, 0.45882, 0.40784),
                std=(1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0)),
        {"num_params": 138357544, "min_size": (32, 32), "categories": None})
    DEFAULT = IMAGENET1K_V1


class VGG16_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _w("vgg16_bn-6c64b313.pth", 138365992)
    DEFAULT = IMAGENET1K_V1


class VGG19_Weights(WeightsEnum):
    IMAGENET1K_V1 = _w("vgg19-dcbb9e9d.pth", 143667240)
    DEFAULT = IMAGENET1K_V1


class VGG19_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _w("vgg19_bn-c79401a0.pth", 143678248)
    DEFAULT = IMAGENET1K_V1


@register_model(weights_enum=VGG11_Weights)
def vgg11(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-11 (configuration "A")."""
    return _vgg("A", False, VGG11_Weights, weights, progress, kwargs)


@register_model(weights_enum=VGG11_BN_Weights)
def vgg11_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-11 with batch normalisation."""
    return _vgg("A", True, VGG11_BN_Weights, weights, progress, kwargs)


@register_model(weights_enum=VGG13_Weights)
def vgg13(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-13 (configuration "B")."""
    return _vgg("B", False, VGG13_Weights, weights, progress, kwargs)


@register_model(weights_enum=VGG13_BN_Weights)
def vgg13_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-13 with batch normalisation."""
    return _vgg("B", True, VGG13_BN_Weights, weights, progress, kwargs)


@register_model(weights_enum=VGG16_Weights)
def vgg16(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-16 (configuration "D")."""
    return _vgg("D", False, VGG16_Weights, weights, progress, kwargs)


@register_model(weights_enum=VGG16_BN_Weights)
def vgg16_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-16 with batch normalisation."""
    return _vgg("D", True, VGG16_BN_Weights, weights, progress, kwargs)


@register_model(weights_enum=VGG19_Weights)
def vgg19(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-19 (configuration "E")."""
    return _vgg("E", False, VGG19_Weights, weights, progress, kwargs)


@register_model(weights_enum=VGG19_BN_Weights)
def vgg19_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-19 with batch normalisation."""
    return _vgg("E", True, VGG19_BN_Weights, weights, progress, kwargs)
