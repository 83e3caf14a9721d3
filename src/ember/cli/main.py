"""Entry point of the `ember` command."""
from __future__ import annotations

import argparse
import sys


class _OneLineParser(argparse.ArgumentParser):
    """Bad options give one line (`ember train: error: ...`, exit 2), not a usage dump."""

    def error(self, message):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


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
    if argv and argv[0] in ("--version", "-V"):
        from .. import __version__
        print(f"ember {__version__}")
        return 0
    if argv and argv[0] == "report":
        from .report import report_command
        return report_command(argv[1:])
    if argv and argv[0] == "summary":
        from .summary import summary_command
        return summary_command(argv[1:])
    if argv and argv[0] == "launch":
        from .launch import launch_command
        return launch_command(argv[1:])

    parser = argparse.ArgumentParser(prog="ember", description="ember: PyTorch's API on NumPy.")
    parser.add_argument("--version", action="store_true", help="print ember's version")
    sub = parser.add_subparsers(dest="command", metavar="{run,train,launch,report,summary}",
                                parser_class=_OneLineParser)
    sub.add_parser("run", help="run an unmodified PyTorch script on ember")
    sub.add_parser("launch", help="run a script as a data-parallel job on MPI (mpiexec)")
    sub.add_parser("report", help="rebuild a run's report.html, or compare runs")
    sub.add_parser("summary", help="print a model's layers, output shapes and parameters")
    from .train import add_arguments
    add_arguments(sub.add_parser("train", help="train a model (the seed recipes, or your own)",
                                 description="Train a model on a CPU: the seed recipes on "
                                             "(Fashion-)MNIST, or your own model and data."))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from .train import train_command
    return train_command(args, argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
