"""`ember train`: train a model on a CPU, with runs that can be resumed, compared and looked at.

Defaults reproduce seed 000: an MLP 784-128-64-10 with CrossEntropyLoss and SGD (lr 0.01),
batch 64, 5 epochs, MNIST normalised with Normalize((0.5,), (0.5,)). `--model FILE.py:Net` and
`--dataset npz:FILE | folder:DIR | module:FILE.py:make_datasets` train your own network on your
own data. Each run writes its folder (see `_runs.py`): config.json, metrics.csv, steps.csv,
checkpoint.pth after every epoch, best.pth, model.pth and report.html.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
BUILTIN_MODELS = ("mlp", "cnn")
# options that may differ when a run is resumed (they change no number of the run)
RESUME_FREE = {"resume", "quiet", "json", "no_progress", "num_workers", "tensorboard",
               "epochs", "max_steps"}


class TrainError(Exception):
    """A problem reported to the user as one line, without a traceback (exit 2)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    p.add_argument("--dataset", default="mnist",
                   help="mnist | fashion-mnist | npz:FILE (arrays x, y; x_test, y_test "
                        "optional) | folder:DIR (an ImageFolder tree) | "
                        "module:FILE.py:FUNCTION (returns the train and test Datasets)")
    p.add_argument("--model", default="mlp",
                   help="mlp | cnn | FILE.py:CLASS | MODULE:FACTORY (any nn.Module)")
    p.add_argument("--model-args", default="{}", type=_json_object,
                   help="keyword arguments for --model, as JSON")
    p.add_argument("--loss", default="cross-entropy",
                   help="cross-entropy | nll | mse | the name of any nn loss (e.g. "
                        "BCEWithLogitsLoss)")
    p.add_argument("--optimizer", default="sgd",
                   help="any optimizer of ember.optim by name (sgd, adam, adamw, rmsprop, ...)")
    p.add_argument("--optimizer-args", default="{}", type=_json_object,
                   help="more optimizer options, as JSON (e.g. '{\"betas\": [0.9, 0.99]}')")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default 0.01 for sgd, 0.001 otherwise)")
    p.add_argument("--momentum", type=float, default=0.0, help="SGD momentum")
    p.add_argument("--weight-decay", type=float, default=0.0, help="the optimizer's weight decay")
    p.add_argument("--scheduler", default=None,
                   help="any lr_scheduler by name (StepLR, CosineAnnealingLR, OneCycleLR, "
                        "ReduceLROnPlateau, ...), stepped per epoch (OneCycleLR and CyclicLR "
                        "per batch)")
    p.add_argument("--scheduler-args", default="{}", type=_json_object,
                   help="scheduler options, as JSON (e.g. '{\"step_size\": 2}')")
    p.add_argument("--clip-grad-norm", type=_positive_float, default=None, metavar="MAX",
                   help="clip the gradients' total norm to MAX")
    p.add_argument("--epochs", type=_positive_int, default=5, help="passes over the training set")
    p.add_argument("--max-steps", type=_positive_int, default=None,
                   help="stop after this many optimizer steps")
    p.add_argument("--batch-size", type=_positive_int, default=64,
                   help="samples per step (per process with --nproc)")
    p.add_argument("--val-split", type=_fraction, default=0.0,
                   help="fraction of the training set held out for validation")
    p.add_argument("--eval-every", type=_positive_int, default=None, metavar="STEPS",
                   help="also validate every STEPS steps (into steps.csv)")
    p.add_argument("--early-stop", type=_positive_int, default=None, metavar="PATIENCE",
                   help="stop when the validation loss has not improved for PATIENCE epochs, "
                        "and keep the best weights")
    p.add_argument("--min-delta", type=float, default=0.0,
                   help="the smallest decrease of the validation loss that counts")
    p.add_argument("--find-lr", action="store_true",
                   help="run a learning-rate range test instead of training (as fastai's "
                        "lr_find): writes lr_find.csv and a plot, prints a suggested rate")
    p.add_argument("--num-workers", type=_nonneg_int, default=0, help="DataLoader workers")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the weights, the batch order and dropout")
    p.add_argument("--data", default=None,
                   help="folder holding <Name>/raw/*.gz (default: $EMBER_DATA, else ./data)")
    p.add_argument("--out", default=None,
                   help="the run's folder (default: runs/<timestamp>-<name>, with runs/latest "
                        "pointing at it)")
    p.add_argument("--runs-dir", default="runs", help="where new runs go")
    p.add_argument("--name", default=None, help="the run's name (default: dataset-model)")
    p.add_argument("--resume", default=None, metavar="RUN",
                   help="continue the run in folder RUN ('last': runs/latest) exactly where it "
                        "stopped")
    p.add_argument("--tensorboard", action="store_true",
                   help="also log to TensorBoard event files in the run folder")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="BLAS threads (default: chosen per operation)")
    p.add_argument("--nproc", type=_positive_int, default=1,
                   help="data-parallel processes on MPI (global batch = nproc x batch-size; "
                        "1 BLAS thread each unless --threads)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--json", action="store_true",
                   help="print the final metrics as one JSON object on stdout")


def _positive_int(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {s}")
    return v


def _nonneg_int(s: str) -> int:
    v = int(s)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {s}")
    return v


def _positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {s!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {s}")
    return v


def _fraction(s: str) -> float:
    v = float(s)
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {s}")
    return v


def _json_object(s: str) -> dict:
    try:
        v = json.loads(s)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON ({e.msg}): {s}") from None
    if not isinstance(v, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object, got {s}")
    return v


def train_command(args, argv=None) -> int:
    if args.nproc > 1 and not _in_mpi_job():
        return _relaunch(args, argv or [])
    from ._user_code import SpecError
    try:
        from .trainer import run
        result = run(args)
    except (TrainError, SpecError) as e:
        print(f"ember train: error: {e}", file=sys.stderr)
        return 2
    return result


def _in_mpi_job() -> bool:
    from ..distributed._mpi import launcher_world
    return launcher_world() is not None


def _relaunch(args, argv: list[str]) -> int:
    """Start `--nproc` copies of this command through mpiexec; each trains one shard."""
    import subprocess
    from .launch import find_mpiexec
    mpiexec = find_mpiexec(None)
    if mpiexec is None:
        print("ember train: error: --nproc needs MPI: pip install 'ember[distributed]'",
              file=sys.stderr)
        return 2
    threads = str(args.threads or 1)
    env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads)
    cmd = [mpiexec, "-n", str(args.nproc), sys.executable, "-m", "ember.cli._rank", "-m",
           "ember", "train", *argv]
    return subprocess.run(cmd, env=env).returncode


def data_root(arg: str | None) -> str:
    root = arg or os.environ.get("EMBER_DATA") or "data"
    return os.path.expanduser(root)
