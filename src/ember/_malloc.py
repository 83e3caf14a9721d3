"""Keep freed array memory inside the process (glibc malloc tuning, applied once at import).

NumPy allocates every array with malloc. By default glibc serves large blocks with fresh mmap'd
pages and trims freed heap memory back to the OS, so a training step whose temporaries are a few
MB each touches thousands of never-used pages per step: about 2000 page faults per step of the
seed CNN, a quarter to a third of its time. Raising the mmap and trim thresholds lets freed
blocks be reused, much as torch's caching allocator reuses its own. A user who set glibc's
MALLOC_*_ environment variables keeps their choice.
"""
from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 64 << 20   # blocks below this come from the reusable heap
_TRIM_THRESHOLD = 256 << 20  # free memory kept at the top of the heap before giving it back


def tune() -> None:
    if not sys.platform.startswith("linux"):
        return
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (or no symbol table): leave malloc alone
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
