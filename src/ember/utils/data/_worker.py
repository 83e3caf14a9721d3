"""What runs inside a DataLoader worker process, and the pieces both sides share.

Protocol: the main process puts `(epoch, task_id, index)` on a worker's index queue (None means
exit, `_Resume(epoch)` restarts an iterable dataset for a new epoch of persistent workers); the
worker replies `(epoch, task_id, payload)` on the shared result queue, where payload is the
pickled batch, an `ExceptionWrapper`, or `_IterableEnd(worker_id)`. Payloads are pickled in the
worker itself, so an unpicklable batch becomes an error message instead of a lost reply.
"""
from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass

import numpy as np

__all__ = ["get_worker_info", "WorkerInfo", "ExceptionWrapper"]

# How often an idle worker checks that its parent is still alive (seconds).
_STATUS_CHECK_INTERVAL = 1.0

_worker_info = None


class WorkerInfo:
    """What a worker knows about itself: id, num_workers, seed, dataset (read-only)."""

    __initialized = False

    def __init__(self, **kwargs) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({items})"


def get_worker_info():
    """Inside a DataLoader worker: its WorkerInfo; in the main process: None."""
    return _worker_info


class _KeyErrorMessage(str):
    """KeyError prints the repr of its message; this keeps a multi-line message readable."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process with its traceback text."""

    def __init__(self, exc_info=None, where: str = "in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exception


@dataclass(frozen=True)
class _IterableEnd:
    """A worker's iterable dataset is exhausted for this epoch."""
    worker_id: int


@dataclass(frozen=True)
class _Resume:
    """Persistent workers: a new epoch starts (iterable datasets restart their iterator)."""
    epoch: int


def _dumps(obj) -> bytes:
    from multiprocessing.reduction import ForkingPickler
    return bytes(ForkingPickler.dumps(obj))


def _rebuild_tensor(array, requires_grad):
    from ..._tensor import Tensor
    return Tensor._new(array, requires_grad)


def _reduce_tensor(t):
    return _rebuild_tensor, (t._data, t._rg)


def register_tensor_pickling(replace: bool = True) -> None:
    """Send plain Tensors between processes as (array, requires_grad) (no autograd history).
    replace=False keeps a reduction already registered (ember.multiprocessing's shared memory
    in the main process: a DataLoader must not turn it off for the program's own queues)."""
    from multiprocessing.reduction import ForkingPickler
    from ..._tensor import Tensor
    if not replace and Tensor in ForkingPickler._extra_reducers:
        return
    ForkingPickler.register(Tensor, _reduce_tensor)


def _safe_payload(obj, worker_id: int) -> bytes:
    try:
        return _dumps(obj)
    except Exception:
        where = f"in DataLoader worker process {worker_id}"
        wrapper = ExceptionWrapper(sys.exc_info(), where=where)
        try:
            return _dumps(wrapper)
        except Exception:  # the exception type itself does not pickle
            wrapper.exc_type = RuntimeError
            return _dumps(wrapper)


def _seed_worker(base_seed: int, worker_id: int) -> int:
    from ... import random as _random
    seed = base_seed + worker_id
    random.seed(seed)
    _random.manual_seed(seed)
    # Code in datasets often draws from NumPy's global RNG: give each worker its own stream.
    np.random.seed(np.random.SeedSequence([worker_id, base_seed & 0xFFFFFFFFFFFFFFFF])
                   .generate_state(4))
    return seed


def worker_loop(kind, dataset, index_queue, result_queue, auto_collation, collate_fn,
                drop_last, base_seed, init_fn, worker_id, num_workers, parent_pid) -> None:
    """The body of a worker process: fetch the batches it is asked for until told to stop."""
    global _worker_info
    import signal
    from .dataloader import _create_fetcher

    # Ctrl-C goes to the whole process group: the main process handles it and ends workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Never block exit on flushing results nobody will read (the main process may be gone).
    result_queue.cancel_join_thread()
    where = f"in DataLoader worker process {worker_id}"
    init_error = None
    fetcher = None
    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        register_tensor_pickling()
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = _create_fetcher(kind, dataset, auto_collation, collate_fn, drop_last)
    except Exception:
        init_error = ExceptionWrapper(where=where)

    iteration_end = False
    while True:
        try:
            task = index_queue.get(timeout=_STATUS_CHECK_INTERVAL)
        except queue.Empty:
            if os.getppid() != parent_pid:  # orphaned: the main process died
                return
            continue
        except (EOFError, OSError):
            return
        if task is None:
            return
        if isinstance(task, _Resume):
            iteration_end = False
            if init_error is None:
                try:
                    fetcher = _create_fetcher(kind, dataset, auto_collation, collate_fn,
                                              drop_last)
                except Exception:
                    init_error = ExceptionWrapper(where=where)
            continue
        epoch, task_id, index = task
        if init_error is not None:
            data = init_error
        elif iteration_end:
            data = _IterableEnd(worker_id)
        else:
            try:
                data = fetcher.fetch(index)
            except StopIteration:
                iteration_end = True
                data = _IterableEnd(worker_id)
            except Exception:
                data = ExceptionWrapper(where=where)
        result_queue.put((epoch, task_id, _safe_payload(data, worker_id)))
        del data


def loads(payload: bytes):
    return pickle.loads(payload)
