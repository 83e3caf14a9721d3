"""`ember run SCRIPT [ARGS...]`: run an unmodified PyTorch program on ember."""
from __future__ import annotations

import os
import runpy
import sys
import traceback

from . import torch_alias


def run_script(script: str, args: list[str]) -> int:
    if not os.path.isfile(script):
        print(f"ember run: error: no such file: {script}", file=sys.stderr)
        return 2
    torch_alias.install()
    from ..distributed._mpi import fill_torchrun_env
    fill_torchrun_env()  # under mpiexec/srun, the script reads torchrun's RANK/WORLD_SIZE/...
    # behave as `python SCRIPT ARGS`: argv, __main__, the script's folder first on sys.path
    path = os.path.abspath(script)
    sys.argv = [script] + list(args)
    sys.path.insert(0, os.path.dirname(path))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        code = e.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    except BaseException as e:  # noqa: B902 - report like the interpreter would
        c10d = sys.modules.get("ember.distributed.distributed_c10d")
        if c10d is not None:  # first, so the launcher sees it even if mpiexec cuts the rest
            c10d._announce_failure(e)
        _print_from_script(e, path)
        _abort_distributed_job(e)
        return 130 if isinstance(e, KeyboardInterrupt) else 1
    return 0


def _print_from_script(exc: BaseException, path: str) -> None:
    """Print the traceback starting at the script's first frame, as `python SCRIPT` shows it
    (ember's own runner frames would only be noise)."""
    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != path:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb if tb is not None else exc.__traceback__)


def _abort_distributed_job(exc: BaseException) -> None:
    """A rank of a distributed job that fails takes the job down, so no other rank waits
    forever in a collective (the launcher then names this rank)."""
    c10d = sys.modules.get("ember.distributed.distributed_c10d")
    if c10d is not None:
        c10d._abort_job(exc)
