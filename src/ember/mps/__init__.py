"""torch.mps: Apple's Metal backend. ember runs on the CPU only: no MPS device is available."""
from __future__ import annotations

__all__ = ["is_available", "device_count", "synchronize", "empty_cache"]


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def synchronize() -> None:
    raise RuntimeError("ember: the MPS backend is not available (ember runs on the CPU)")


def empty_cache() -> None:
    raise RuntimeError("ember: the MPS backend is not available (ember runs on the CPU)")
