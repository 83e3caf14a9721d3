"""`ember.multiprocessing` (torch.multiprocessing): Python's multiprocessing, with ember tensors
sent between processes through shared memory instead of pickled copies, and `spawn`.

Importing it registers the tensor reductions with multiprocessing's pickler, so a tensor put on
a Queue, passed to a Pool or to a spawned Process is rebuilt in the receiver over the same
memory (reductions.py). `Tensor.share_memory_()` and `Module.share_memory()` move arrays into
that memory up front, which is how Hogwild training shares one model between processes.
"""
from __future__ import annotations

import multiprocessing as _mp
from multiprocessing import *  # noqa: F401,F403  (torch.multiprocessing re-exports it all)

from .reductions import init_reductions
from .spawn import (ProcessContext, ProcessExitedException, ProcessRaisedException,  # noqa
                    SpawnContext, spawn, start_processes)

__all__ = list(_mp.__all__) + ["spawn", "start_processes", "ProcessContext", "SpawnContext",
                               "ProcessRaisedException", "ProcessExitedException",
                               "set_sharing_strategy", "get_sharing_strategy",
                               "get_all_sharing_strategies"]

init_reductions()

_sharing_strategy = ["file_descriptor"]


def get_all_sharing_strategies():
    """Only descriptor passing: memory files have no names, so none can leak (torch's
    "file_system" strategy leaves files behind when a process dies)."""
    return {"file_descriptor"}


def get_sharing_strategy() -> str:
    return _sharing_strategy[0]


def set_sharing_strategy(new_strategy: str) -> None:
    if new_strategy not in get_all_sharing_strategies():
        raise AssertionError(f"ember shares tensors by file descriptor only; got "
                             f"{new_strategy!r} (torch's 'file_system' is not implemented)")
    _sharing_strategy[0] = new_strategy
