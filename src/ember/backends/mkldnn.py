"""`ember.backends.mkldnn`: torch's oneDNN switch; ember's NumPy kernels ignore it."""
from __future__ import annotations

enabled = True
deterministic = False


def is_available() -> bool:
    return True
