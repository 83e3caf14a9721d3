"""AlexNet (Krizhevsky, "One weird trick", 2014) as torchvision builds it.

Shape: (N, 3, H, W) -> (N, num_classes) for H, W >= 63.
"""
from __future__ import annotations

from functools import partial

from ... import nn
from ...ops.shape import flatten
from ..transforms._presets import ImageClassification
from ._api import Weights, WeightsEnum, register_model
from ._utils import _load_weights, _resolve_weights

__all__ = ["AlexNet", "AlexNet_Weights", "alexnet"]


class AlexNet(nn.Module):
    """Five convolutions (11x11/4, 5x5, 3x3 x3) with three 3x3/2 max-pools, a 6x6 adaptive
    average pool and a classifier with two 4096-wide hidden layers. Default layer init."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes))

    def forward(self, x):
        x = flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


class AlexNet_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
                            partial(ImageClassification, crop_size=224),
                            {"num_params": 61100840, "min_size": (63, 63)})
    DEFAULT = IMAGENET1K_V1


@register_model(weights_enum=AlexNet_Weights)
def alexnet(*, weights=None, progress: bool = True, **kwargs) -> AlexNet:
    """AlexNet."""
    weights = _resolve_weights(AlexNet_Weights, weights, kwargs)
    return _load_weights(AlexNet(**kwargs), weights, progress)
