"""`ember.cpu`: torch.cpu's device queries and the deprecated torch.cpu.amp.autocast."""
from __future__ import annotations

from . import amp  # noqa: F401


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def synchronize(device=None) -> None:
    pass
