"""Run folders of `ember train`: where each run's files go, written atomically.

A run lives in `runs/<timestamp>-<name>/` with `runs/latest` pointing at it (or in the folder
`--out` names). Every file is written to a temporary name in the same folder and renamed over
the old one, so a crash never leaves a half-written file.
"""
from __future__ import annotations

import csv
import datetime
import json
import os
import tempfile


def atomic_write_text(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path) + "-", dir=folder)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)  # as open() would make it; mkstemp's 0600 is for secrets
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json(path: str, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_csv(path: str, rows: list[dict], fields: list[str]) -> None:
    import io
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def read_csv(path: str) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def new_run_path(runs_dir: str, name: str) -> str:
    """runs/<YYYYmmdd-HHMMSS>-<name>, made unique (the folder itself is created later, once the
    data has loaded, so a failed start writes nothing)."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.abspath(os.path.join(runs_dir, f"{stamp}-{name}"))
    path, i = base, 1
    while os.path.exists(path):
        i += 1
        path = f"{base}-{i}"
    return path


def point_latest(runs_dir: str, run: str) -> None:
    """Atomically (re)point runs/latest at `run` (a relative symlink)."""
    link = os.path.join(runs_dir, "latest")
    if os.path.exists(link) and not os.path.islink(link):
        return  # a real folder named latest (an older ember's --out default): leave it alone
    tmp = os.path.join(runs_dir, f".latest-{os.getpid()}")
    try:
        os.symlink(os.path.relpath(run, runs_dir), tmp)
        os.replace(tmp, link)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def resolve_run(spec: str, runs_dir: str) -> str:
    """`--resume last` or a run folder."""
    if spec == "last":
        spec = os.path.join(runs_dir, "latest")
    return os.path.realpath(spec)
