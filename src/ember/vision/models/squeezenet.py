"""SqueezeNet 1.0 and 1.1 (Iandola et al., 2016) as torchvision builds them: Fire modules
(1x1 squeeze, then 1x1 and 3x3 expands concatenated) and a convolutional classifier.

Shape: (N, 3, H, W) -> (N, num_classes).
"""
from __future__ import annotations

from functools import partial

from ... import nn
from ...ops.shape import cat, flatten
from ..transforms._presets import ImageClassification
from ._api import Weights, WeightsEnum, register_model
from ._utils import _load_weights, _resolve_weights

__all__ = ["SqueezeNet", "SqueezeNet1_0_Weights", "SqueezeNet1_1_Weights", "squeezenet1_0",
           "squeezenet1_1"]


class Fire(nn.Module):
    """squeeze (1x1) -> ReLU -> [expand1x1 -> ReLU, expand3x3 -> ReLU] concatenated on
    channels."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int,
                 expand3x3_planes: int) -> None:
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return cat([self.expand1x1_activation(self.expand1x1(x)),
                    self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """`features` (a strided stem, Fire modules and ceil-mode max-pools) and `classifier`
    (Dropout, a 1x1 conv to num_classes, ReLU, global average pooling).

    Convolutions are initialised kaiming_uniform_ (the final one N(0, 0.01)), biases zero.
    """

    def __init__(self, version: str = "1_0", num_classes: int = 1000,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.num_classes = num_classes
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(512, 64, 256, 256))
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2), nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(64, 16, 64, 64), Fire(128, 16, 64, 64),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
                Fire(512, 64, 256, 256))
        else:
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")
        final_conv = nn.Conv2d(512, self.num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return flatten(self.classifier(self.features(x)), 1)


_BASE = "https://download.pytorch.org/models/"


class SqueezeNet1_0_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(_BASE + "squeezenet1_0-b66bff10.pth",
                            partial(ImageClassification, crop_size=224),
                            {"num_params": 1248424, "min_size": (21, 21)})
    DEFAULT = IMAGENET1K_V1


class SqueezeNet1_1_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(_BASE + "squeezenet1_1-b8a52dc0.pth",
                            partial(ImageClassification, crop_size=224),
                            {"num_params": 1235496, "min_size": (17, 17)})
    DEFAULT = IMAGENET1K_V1


@register_model(weights_enum=SqueezeNet1_0_Weights)
def squeezenet1_0(*, weights=None, progress: bool = True, **kwargs) -> SqueezeNet:
    """SqueezeNet 1.0."""
    weights = _resolve_weights(SqueezeNet1_0_Weights, weights, kwargs)
    return _load_weights(SqueezeNet("1_0", **kwargs), weights, progress)


@register_model(weights_enum=SqueezeNet1_1_Weights)
def squeezenet1_1(*, weights=None, progress: bool = True, **kwargs) -> SqueezeNet:
    """SqueezeNet 1.1 (2.4x less computation than 1.0 at the same accuracy)."""
    weights = _resolve_weights(SqueezeNet1_1_Weights, weights, kwargs)
    return _load_weights(SqueezeNet("1_1", **kwargs), weights, progress)
