"""`ember.cuda`: ember has no GPU backend; these answer beginner device checks truthfully."""
from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """No CUDA generator to seed (torch also ignores this without a GPU)."""


manual_seed_all = manual_seed


def synchronize(device=None) -> None:
    pass


def empty_cache() -> None:
    pass


def current_device() -> int:
    raise RuntimeError("ember runs on the CPU only: no CUDA device is available")


def get_device_name(device=None) -> str:
    raise RuntimeError("ember runs on the CPU only: no CUDA device is available")


# safety/fidelity (issue #9): torch.cuda.FloatTensor & co. (isinstance is False; calls raise)
def __getattr__(name):
    from ._legacy_tensors import CUDA_TYPES
    if name in CUDA_TYPES:
        return CUDA_TYPES[name]
    raise AttributeError(f"module 'ember.cuda' has no attribute '{name}'")
