"""`ember run SCRIPT [ARGS...]`: run an unmodified PyTorch program on ember."""
from __future__ import annotations

import os
import runpy
import sys

from . import torch_alias


def run_script(script: str, args: list[str]) -> int:
    if not os.path.isfile(script):
        print(f"ember run: error: no such file: {script}", file=sys.stderr)
        return 2
    torch_alias.install()
    # behave as `python SCRIPT ARGS`: argv, __main__, the script's folder first on sys.path
    sys.argv = [script] + list(args)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
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
    return 0
