"""`ember train`: the seed lessons' recipes as a command.

Defaults reproduce seed 000: an MLP 784-128-64-10 with CrossEntropyLoss and SGD (lr 0.01),
batch 64, 5 epochs, MNIST normalised with Normalize((0.5,), (0.5,)). Each epoch shows a tqdm bar
(running loss, samples/s), then the test-set loss and accuracy; metrics go to metrics.csv and the
final weights to model.pth (PyTorch's file format, readable by torch.load).
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time

DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=sorted(DATASETS), default="mnist")
    p.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    p.add_argument("--loss", choices=["cross-entropy", "nll", "mse"], default="cross-entropy")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default 0.01 for sgd, 0.001 for adam)")
    p.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (default 0)")
    p.add_argument("--epochs", type=_positive_int, default=5)
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None,
                   help="folder holding <Name>/raw/*.gz (default: $EMBER_DATA, else ./data)")
    p.add_argument("--out", default="runs/latest", help="folder for metrics.csv and model.pth")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="BLAS threads (default: NumPy's default)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--nproc", type=_positive_int, default=1,
                   help="data-parallel processes on MPI (global batch = nproc x batch-size; "
                        "1 BLAS thread each unless --threads)")


def _positive_int(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {s}")
    return v


class TrainError(Exception):
    """A problem reported to the user as one line, without a traceback."""


def train_command(args, argv=None) -> int:
    if args.nproc > 1 and not _in_mpi_job():
        return _relaunch(args, argv or [])
    try:
        train(args)
    except TrainError as e:
        print(f"ember train: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ember train: interrupted", file=sys.stderr)
        return 130
    return 0


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


def build_model(kind: str, loss: str):
    from . import models
    if kind == "mlp":
        return models.seed_mlp(log_softmax=(loss == "nll"))
    return models.SeedCNN(log_softmax=(loss == "nll"))


def _loss_fn(kind: str):
    from .. import nn
    from ..nn import functional as F
    if kind == "cross-entropy":
        return nn.CrossEntropyLoss()
    if kind == "nll":
        return nn.NLLLoss()

    def mse(logits, labels):  # squared error between class probabilities and one-hot labels
        return F.mse_loss(F.softmax(logits, dim=1), F.one_hot(labels, 10).to(logits.dtype))
    return mse


def data_root(arg: str | None) -> str:
    root = arg or os.environ.get("EMBER_DATA") or "data"
    return os.path.expanduser(root)


def load_datasets(name: str, root: str):
    from ..vision import datasets, transforms
    steps = [transforms.ToTensor()]
    if name == "mnist":
        steps.append(transforms.Normalize((0.5,), (0.5,)))
    tf = transforms.Compose(steps)
    cls = getattr(datasets, DATASETS[name])
    try:
        train = cls(root, train=True, download=True, transform=tf)
        test = cls(root, train=False, download=True, transform=tf)
    except (RuntimeError, OSError) as e:
        msg = " ".join(str(e).split())
        raise TrainError(f"cannot load {DATASETS[name]} from {os.path.abspath(root)}: {msg} "
                         f"(point --data or EMBER_DATA at a folder holding "
                         f"{DATASETS[name]}/raw/*.gz)") from None
    return train, test


def train(args) -> dict:
    import ember
    from .. import optim
    from ..utils.data import DataLoader

    if args.threads:
        ember.set_num_threads(args.threads)
    lr = args.lr if args.lr is not None else (0.01 if args.optimizer == "sgd" else 0.001)
    if lr <= 0:
        raise TrainError(f"--lr must be positive, got {lr}")
    if args.momentum and args.optimizer != "sgd":
        raise TrainError("--momentum applies to --optimizer sgd only")
    root = data_root(args.data)
    train_set, test_set = load_datasets(args.dataset, root)
    rank, world = 0, 1
    if getattr(args, "nproc", 1) > 1:
        from .. import distributed as dist
        dist.init_process_group("mpi")
        rank, world = dist.get_rank(), dist.get_world_size()
        args.no_progress = args.no_progress or rank != 0

    ember.manual_seed(args.seed)
    model = build_model(args.model, args.loss)
    net = model
    if world > 1:
        from ..nn.parallel import DistributedDataParallel
        net = DistributedDataParallel(model)
    criterion = _loss_fn(args.loss)
    if args.optimizer == "sgd":
        opt = optim.SGD(model.parameters(), lr=lr, momentum=args.momentum)
    else:
        opt = optim.Adam(model.parameters(), lr=lr)
    if world > 1:
        from ..utils.data import DistributedSampler
        sampler = DistributedSampler(train_set, shuffle=True, seed=args.seed)
        train_loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
    else:
        sampler = None
        gen = ember.Generator().manual_seed(args.seed)
        train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                                  generator=gen)
    test_loader = DataLoader(test_set, batch_size=1000)
    flatten = args.model == "mlp"
    if rank != 0:  # the other ranks train their shards; rank 0 evaluates and writes
        for epoch in range(1, args.epochs + 1):
            sampler.set_epoch(epoch)
            _train_epoch(net, train_loader, criterion, opt, flatten, epoch, args)
            dist.barrier()
        return {"rows": [], "model": model}

    os.makedirs(args.out, exist_ok=True)
    metrics_path = os.path.join(args.out, "metrics.csv")
    rows = []
    print(f"ember train: {DATASETS[args.dataset]} {args.model} {args.loss} {args.optimizer} "
          f"lr={lr} batch={args.batch_size} epochs={args.epochs} seed={args.seed}"
          + (f" processes={world}" if world > 1 else ""))
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        if sampler is not None:
            sampler.set_epoch(epoch)
        train_loss = _train_epoch(net, train_loader, criterion, opt, flatten, epoch, args)
        seconds = time.perf_counter() - t0
        test_loss, acc = evaluate(model, test_loader, criterion, flatten)
        if world > 1:
            dist.barrier()
        rows.append({"epoch": epoch, "train_loss": f"{train_loss:.6f}",
                     "test_loss": f"{test_loss:.6f}", "test_accuracy": f"{acc:.4f}",
                     "seconds": f"{seconds:.2f}"})
        print(f"epoch {epoch}: train loss {train_loss:.4f}  test loss {test_loss:.4f}  "
              f"test accuracy {acc:.4f}  ({seconds:.1f} s)")
        _write_csv(metrics_path, rows)
    model_path = os.path.join(args.out, "model.pth")
    ember.save(model.state_dict(), model_path)
    print(f"saved {metrics_path} and {model_path}")
    return {"rows": rows, "model": model}


def _train_epoch(model, loader, criterion, opt, flatten, epoch, args) -> float:
    from tqdm import tqdm
    model.train()
    running = 0.0
    # tqdm's rate is the samples/s figure; the postfix shows the running loss
    bar = tqdm(total=len(loader.sampler), desc=f"epoch {epoch}", unit="samples",
               disable=args.no_progress, leave=False, dynamic_ncols=True)
    for i, (images, labels) in enumerate(loader, 1):
        if flatten:
            images = images.view(images.shape[0], -1)
        opt.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        opt.step()
        running += loss.item()
        bar.update(labels.shape[0])
        if i % 20 == 0:
            bar.set_postfix(loss=f"{running / i:.4f}")
    bar.close()
    return running / max(1, len(loader))


def evaluate(model, loader, criterion, flatten):
    import ember
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    with ember.no_grad():
        for images, labels in loader:
            if flatten:
                images = images.view(images.shape[0], -1)
            out = model(images)
            total_loss += criterion(out, labels).item() * labels.shape[0]
            correct += int((out.argmax(dim=1) == labels).sum().item())
            n += labels.shape[0]
    return total_loss / n, correct / n


def _write_csv(path: str, rows) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["epoch", "train_loss", "test_loss", "test_accuracy",
                                          "seconds"])
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)
