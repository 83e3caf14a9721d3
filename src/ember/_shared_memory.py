"""Tensor storage in shared memory: anonymous memory files (Linux memfd_create).

A shared tensor's array lives in a `Segment`, a MAP_SHARED mapping of an anonymous memory file
whose descriptor the segment keeps open. Forked children inherit the mapping; other processes
receive the descriptor itself through multiprocessing's descriptor passing (reductions.py) and
map the same pages. The file has no name, so nothing is ever left behind in /dev/shm: the
memory is freed when the last mapping and descriptor of it, in any process, are closed.
"""
from __future__ import annotations

import mmap
import os
import weakref

import numpy as np


class Segment(mmap.mmap):
    """A shared mapping that remembers its memory file's descriptor (closed with the mapping)."""

    def __new__(cls, fd: int, size: int):
        self = super().__new__(cls, fd, size, flags=mmap.MAP_SHARED,
                               prot=mmap.PROT_READ | mmap.PROT_WRITE)
        self.fd = fd
        self.size = size
        weakref.finalize(self, os.close, fd)
        return self


def _raise_fd_limit() -> None:
    """Each shared array holds two descriptors (ours, and the duplicate Python's mmap keeps):
    lift the soft limit on open files to the hard one, once."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
    _raise_fd_limit.done = True


def new_segment(nbytes: int) -> Segment:
    if not getattr(_raise_fd_limit, "done", False):
        _raise_fd_limit()
    fd = os.memfd_create("ember-shared", os.MFD_CLOEXEC)
    try:
        size = max(nbytes, 1)  # a mapping cannot be empty
        os.ftruncate(fd, size)
        return Segment(fd, size)
    except BaseException:
        os.close(fd)
        raise


def segment_of(a: np.ndarray):
    """The Segment an array's memory belongs to, or None."""
    base = a
    while base is not None:
        if isinstance(base, Segment):
            return base
        base = getattr(base, "base", None) if isinstance(base, np.ndarray) else \
            getattr(base, "obj", None)  # memoryview -> its exporter
    return None


def shared_copy(a: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of `a` in a new segment."""
    seg = new_segment(a.nbytes)
    out = np.ndarray(a.shape, a.dtype, buffer=seg)
    out[...] = a
    return out


def share_memory_(self):
    """Tensor.share_memory_(): move the tensor's array into shared memory (a no-op when it is
    already there). The tensor keeps its identity, autograd metadata and version counter."""
    if segment_of(self._data) is not None:
        return self
    base = self._base
    if base is not None and base._data.flags.c_contiguous:
        # a view: move its base (torch moves the whole storage) and view the same bytes of it
        old = base._data
        if segment_of(old) is None:
            base._data = shared_copy(old)
        offset = _addr(self._data) - _addr(old)
        self._data = np.ndarray(self._data.shape, self._data.dtype, buffer=segment_of(base._data),
                                offset=offset + _addr(base._data) - _seg_addr(base._data),
                                strides=self._data.strides)
    else:
        self._data = shared_copy(self._data)
    return self


def _addr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _seg_addr(a: np.ndarray) -> int:
    """The address of the start of the segment holding `a`."""
    return _addr(np.frombuffer(segment_of(a), np.uint8, count=1))


def is_shared(self) -> bool:
    return segment_of(self._data) is not None
