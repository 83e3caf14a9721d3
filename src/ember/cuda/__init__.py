"""`ember.cuda`: ember has no GPU backend; these answer as torch's CPU-only build does on a
machine without a GPU (queries answer False/0, the calls that need a device raise torch's
AssertionError, seeding and cache calls do nothing)."""
from __future__ import annotations

from . import amp  # noqa: F401

_NOT_COMPILED = "Torch not compiled with CUDA enabled"


def _lazy_init():
    raise AssertionError(_NOT_COMPILED)


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def manual_seed(seed: int) -> None:
    """No CUDA generator to seed (torch also ignores this without a GPU)."""


manual_seed_all = manual_seed


def seed() -> None:
    pass


seed_all = seed


def empty_cache() -> None:
    pass


def memory_allocated(device=None) -> int:
    return 0


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


def synchronize(device=None) -> None:
    _lazy_init()


def current_device() -> int:
    _lazy_init()


def get_device_name(device=None) -> str:
    _lazy_init()


def get_device_capability(device=None):
    _lazy_init()


def get_device_properties(device=None):
    _lazy_init()


def mem_get_info(device=None):
    _lazy_init()


def initial_seed() -> int:
    _lazy_init()


def get_rng_state(device="cuda"):
    _lazy_init()


# safety/fidelity (issue #9): torch.cuda.FloatTensor & co. (isinstance is False; calls raise)
def __getattr__(name):
    from .._legacy_tensors import CUDA_TYPES
    if name in CUDA_TYPES:
        return CUDA_TYPES[name]
    raise AttributeError(f"module 'ember.cuda' has no attribute '{name}'")
