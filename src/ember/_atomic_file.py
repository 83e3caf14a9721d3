"""Crash-safe replacement of a file, as `ember.save(obj, path)` uses it.

The new content goes to a temporary file beside the target and is renamed over it at the end, so
readers see the old file or the new one, never half of one. Three details make this behave like
torch's plain `open(path, "wb")` from the user's side:

* a symlink is written through: the temporary goes beside the link's target and replaces it, so
  the link stays a link;
* an existing file keeps its permission bits; a new one gets `0o666 & ~umask` (the kernel applies
  the umask to the mode we create the temporary with, exactly as for `open()`);
* a process killed mid-write leaves one temporary (it never writes a second). Its name says whose
  it is — `.<target>.<hash>.<host>.<pid>.<random>.ember-save.tmp` — and the next save of the
  same target removes such leftovers once the writer is known to be gone (same host and the pid
  is dead) or the file is a day old. Files of any other name are never touched.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
import stat
import time

_SUFFIX = ".ember-save.tmp"
_STALE_AGE_S = 24 * 3600


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:32] or "host"


def _prefix(target: str) -> str:
    base = os.path.basename(target)
    digest = hashlib.sha1(base.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f".{base[:60]}.{digest}."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(target: str) -> list[str]:
    """Delete leftovers of earlier killed saves of `target` (only ours, only dead or old ones)."""
    folder = os.path.dirname(target) or "."
    prefix = _prefix(target)
    host, now, removed = _host(), time.time(), []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(prefix) and name.endswith(_SUFFIX)):
            continue
        parts = name[len(prefix):-len(_SUFFIX)].split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        their_host, pid = parts[0], int(parts[1])
        path = os.path.join(folder, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        dead = their_host == host and pid != os.getpid() and not _pid_alive(pid)
        if dead or now - st.st_mtime > _STALE_AGE_S:
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed.append(path)
    return removed


def resolve_target(path: str) -> str:
    """The file a write to `path` lands in: the end of its symlink chain, if it is one."""
    return os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)


def write_atomically(path: str, write) -> None:
    """Call `write(fileobj)` on a temporary beside `path`'s target, then rename it over it."""
    target = resolve_target(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise RuntimeError(f"Parent directory {folder} does not exist.")
    if os.path.isdir(target):
        raise RuntimeError(f"cannot save to {path}: it is a directory (Is a directory)")
    remove_stale_temporaries(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    tmp = os.path.join(folder, f"{_prefix(target)}{_host()}.{os.getpid()}."
                               f"{secrets.token_hex(4)}{_SUFFIX}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                     0o666)
    except PermissionError as e:
        if mode is None or not os.access(target, os.W_OK):
            raise PermissionError(e.errno, e.strerror, path) from None
        # a writable file in a folder we may not create files in: write it in place, as
        # torch's open() would (not atomic, but the only way the user's request can succeed)
        with open(target, "r+b") as fh:
            fh.truncate(0)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # make the rename itself durable
    with contextlib.suppress(OSError):
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
