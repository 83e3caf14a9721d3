"""Helpers shared by the model builders: weights arguments and channel rounding."""
from __future__ import annotations

import warnings
from typing import Any

_IMAGENET_CLASSES = 1000  # every checkpoint here is an ImageNet-1k classifier


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """v rounded to the nearest multiple of `divisor` (at least min_value), never more than
    10% below v (MobileNet's channel rounding)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _ovewrite_named_param(kwargs: dict, param: str, new_value: Any) -> None:
    """Set kwargs[param] to what the weights need, refusing a conflicting user value."""
    if param in kwargs:
        if kwargs[param] != new_value:
            raise ValueError(f"The parameter '{param}' expected value {new_value} but got "
                             f"{kwargs[param]} instead.")
    else:
        kwargs[param] = new_value


def _resolve_weights(enum, weights, kwargs: dict):
    """The weights member for a builder call, accepting the legacy `pretrained=` flag (True ->
    the enum's IMAGENET1K_V1, as torchvision) and fixing num_classes for a checkpoint."""
    if "pretrained" in kwargs:
        pretrained = kwargs.pop("pretrained")
        warnings.warn("The parameter 'pretrained' is deprecated, please use 'weights' instead.")
        if weights is None and pretrained:
            weights = enum.IMAGENET1K_V1
    weights = enum.verify(weights)
    # a checkpoint without categories (a backbone) leaves num_classes free
    if weights is not None and weights.meta.get("categories", True) is not None:
        _ovewrite_named_param(kwargs, "num_classes", _IMAGENET_CLASSES)
    return weights


def _load_weights(model, weights, progress: bool):
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    return model
