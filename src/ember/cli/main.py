"""Entry point of the `ember` command."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "run":
        # everything after the script belongs to the script, flags included
        if len(argv) < 2 or argv[1] in ("-h", "--help"):
            print("usage: ember run SCRIPT [ARGS...]\n\nRun an unmodified PyTorch program on ember: "
                  "`import torch` and `import torchvision` resolve to ember.")
            return 0 if len(argv) >= 2 else 2
        from .run import run_script
        return run_script(argv[1], argv[2:])
    if argv and argv[0] == "launch":
        from .launch import launch_command
        return launch_command(argv[1:])

    parser = argparse.ArgumentParser(prog="ember", description="ember: PyTorch's API on NumPy.")
    sub = parser.add_subparsers(dest="command", metavar="{run,train,launch}")
    sub.add_parser("run", help="run an unmodified PyTorch script on ember")
    sub.add_parser("launch", help="run a script as a data-parallel job on MPI (mpiexec)")
    from .train import add_arguments
    add_arguments(sub.add_parser("train", help="train the seed lessons' networks on (Fashion-)MNIST",
                                 description="Train the seed recipes on MNIST or Fashion-MNIST."))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from .train import train_command
    return train_command(args, argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
