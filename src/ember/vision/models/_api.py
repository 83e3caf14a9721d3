"""The model registry and the pretrained-weights enums of torchvision.models.

A `WeightsEnum` member names one checkpoint (its url); `get_state_dict` reads it from torch
hub's cache through ember.hub (offline: a missing file raises an error saying where to put it).
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

__all__ = ["Weights", "WeightsEnum", "register_model", "list_models", "get_model",
           "get_model_builder", "get_model_weights", "get_weight"]


@dataclass
class Weights:
    """One checkpoint: where torchvision downloads it from, its preprocessing and facts."""
    url: str
    transforms: Callable
    meta: dict = field(default_factory=dict)

    def __eq__(self, other) -> bool:
        # transforms are functools.partials, which compare by identity: compare what they hold
        if not isinstance(other, Weights):
            return NotImplemented
        if self.url != other.url or self.meta != other.meta:
            return False
        a, b = self.transforms, other.transforms
        return (getattr(a, "func", a), getattr(a, "args", ()), getattr(a, "keywords", {})) == \
            (getattr(b, "func", b), getattr(b, "args", ()), getattr(b, "keywords", {}))


class WeightsEnum(Enum):
    """Base of every model's weights enum (ResNet18_Weights, ...)."""

    @classmethod
    def verify(cls, obj: Any) -> Any:
        """None, a member, or its name ("DEFAULT", "IMAGENET1K_V1", "ResNet18_Weights.DEFAULT")
        -> None or the member."""
        if obj is None:
            return None
        if type(obj) is str:
            name = obj.replace(cls.__name__ + ".", "")
            try:
                return cls[name]
            except KeyError:
                raise KeyError(f"{obj!r} is not a weights name of {cls.__name__}: use one of "
                               f"{list(cls.__members__)}") from None
        if not isinstance(obj, cls):
            raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} but "
                            f"received {obj.__class__.__name__}.")
        return obj

    def get_state_dict(self, *args: Any, **kwargs: Any) -> dict:
        from ...hub import load_state_dict_from_url
        return load_state_dict_from_url(self.url, *args, **kwargs)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}.{self._name_}"

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def transforms(self):
        return self.value.transforms

    @property
    def meta(self) -> dict:
        return self.value.meta


_MODELS: dict[str, Callable] = {}
_WEIGHTS: dict[str, type] = {}  # model name -> its weights enum


def register_model(name: str | None = None, weights_enum: type | None = None):
    """Decorator adding a model builder to get_model's registry."""
    def wrapper(fn):
        key = name if name is not None else fn.__name__
        if key in _MODELS:
            raise ValueError(f"An entry is already registered under the name '{key}'.")
        _MODELS[key] = fn
        if weights_enum is not None:
            _WEIGHTS[key] = weights_enum
        return fn
    return wrapper


def list_models(module=None, include=None, exclude=None) -> list[str]:
    """Sorted names of the registered models (`include`/`exclude`: fnmatch patterns)."""
    names = {k for k, v in _MODELS.items()
             if module is None or v.__module__.rsplit(".", 1)[0] == module.__name__}
    if include:
        include = [include] if isinstance(include, str) else include
        names = set().union(*(fnmatch.filter(names, p) for p in include))
    if exclude:
        exclude = [exclude] if isinstance(exclude, str) else exclude
        for p in exclude:
            names -= set(fnmatch.filter(names, p))
    return sorted(names)


def get_model_builder(name: str) -> Callable:
    try:
        return _MODELS[name.lower()]
    except KeyError:
        raise ValueError(f"Unknown model {name}") from None


def get_model(name: str, **config: Any):
    """The model registered as `name`, built with `config` (e.g. weights=None, num_classes=10)."""
    return get_model_builder(name)(**config)


def get_model_weights(name) -> type:
    """The weights enum of a model (by name or builder)."""
    key = name if isinstance(name, str) else name.__name__
    key = key.lower()
    if key not in _WEIGHTS:
        raise ValueError(f"Unknown model {name}")
    return _WEIGHTS[key]


def get_weight(name: str):
    """A weights member from its full name, e.g. "ResNet18_Weights.IMAGENET1K_V1"."""
    try:
        enum_name, value_name = name.split(".")
    except ValueError:
        raise ValueError(f"Invalid weight name provided: '{name}'.") from None
    for enum in _WEIGHTS.values():
        if enum.__name__ == enum_name:
            return enum.verify(value_name)
    raise ValueError(f"The weight enum '{enum_name}' for the specific method couldn't be "
                     "retrieved.")
