"""The training loop behind `ember train`: data, model, optimizer, checkpoints, resume, report.

Exact resume: the order of an epoch's batches comes from a dedicated generator whose state at
the start of the epoch is saved, and every checkpoint holds the model, optimizer, scheduler and
the global RNG state. A resumed run rebuilds the epoch's order, skips the batches already done
and restores the global RNG after making its loader iterator (which draws from it, as torch's
does), so its losses and weights are bit-identical to a run that was never interrupted (at the
same thread count).
"""
from __future__ import annotations

import json
import math
import os
import signal
import sys
import time

from . import _runs
from ._user_code import SpecError, build_model as build_user_model
from .train import BUILTIN_MODELS, DATASETS, RESUME_FREE, TrainError, data_root

METRIC_FIELDS = ["epoch", "train_loss", "val_loss", "val_accuracy", "test_loss",
                 "test_accuracy", "lr", "seconds"]
STEP_FIELDS = ["step", "epoch", "loss", "lr", "val_loss", "val_accuracy"]
_PER_BATCH_SCHEDULERS = {"OneCycleLR", "CyclicLR"}


# ---- configuration --------------------------------------------------------------------------

def _config(args) -> dict:
    c = {k: v for k, v in vars(args).items() if k not in ("command",)}
    c["data"] = os.path.abspath(data_root(args.data)) if not str(args.dataset).startswith(
        ("npz:", "folder:", "module:")) else None
    return c


def _defaults() -> dict:
    import argparse
    from .train import add_arguments
    p = argparse.ArgumentParser()
    add_arguments(p)
    return vars(p.parse_args([]))


def _resume_config(args) -> tuple[str, dict]:
    """The run folder and its saved configuration; options given now must agree with it."""
    folder = _runs.resolve_run(args.resume, args.runs_dir)
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        raise TrainError(f"--resume {args.resume}: {folder} has no config.json (not an "
                         f"`ember train` run folder)")
    if not os.path.isfile(os.path.join(folder, "checkpoint.pth")):
        raise TrainError(f"--resume {args.resume}: {folder} has no checkpoint.pth to resume from")
    with open(path) as f:
        saved = json.load(f)
    defaults = _defaults()
    now = vars(args)
    for k, v in now.items():
        if k in RESUME_FREE or k in ("out", "runs_dir", "command", "name", "data"):
            continue
        if k in saved and v != defaults.get(k) and v != saved[k]:
            raise TrainError(f"--resume {args.resume}: --{k.replace('_', '-')} {v} differs from "
                             f"the run's {saved[k]!r} (see {path})")
    merged = dict(saved)
    for k in RESUME_FREE:
        if k in now and now[k] != defaults.get(k):
            merged[k] = now[k]
    merged["resume"] = folder
    return folder, merged


class _Cfg:
    def __init__(self, d: dict):
        self.__dict__.update(d)


# ---- output ---------------------------------------------------------------------------------

class _Out:
    def __init__(self, cfg, rank: int):
        self.quiet = cfg.quiet or rank != 0
        self.stream = sys.stderr if cfg.json else sys.stdout

    def __call__(self, msg: str) -> None:
        if not self.quiet:
            print(msg, file=self.stream, flush=True)


# ---- data -----------------------------------------------------------------------------------

def _load_builtin(name: str, root: str):
    from ..vision import datasets, transforms
    steps = [transforms.ToTensor()]
    if name == "mnist":
        steps.append(transforms.Normalize((0.5,), (0.5,)))
    tf = transforms.Compose(steps)
    cls = getattr(datasets, DATASETS[name])
    # the folders a failed download would leave behind, to remove again (a wrong --data
    # must create nothing)
    made = [p for p in (root, os.path.join(root, DATASETS[name]),
                        os.path.join(root, DATASETS[name], "raw")) if not os.path.exists(p)]
    try:
        return (cls(root, train=True, download=True, transform=tf),
                cls(root, train=False, download=True, transform=tf))
    except (RuntimeError, OSError) as e:
        for p in reversed(made):
            try:
                os.rmdir(p)
            except OSError:
                pass
        msg = " ".join(str(e).split())
        raise TrainError(f"cannot load {DATASETS[name]} from {os.path.abspath(root)}: {msg} "
                         f"(point --data or EMBER_DATA at a folder holding "
                         f"{DATASETS[name]}/raw/*.gz)") from None


def _load_npz(path: str):
    import numpy as np
    import ember
    from ..utils.data import TensorDataset
    if not os.path.isfile(path):
        raise TrainError(f"--dataset npz:{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise TrainError(f"--dataset npz:{path}: not a readable .npz file ({e})") from None
    for k in ("x", "y"):
        if k not in arrays:
            raise TrainError(f"--dataset npz:{path}: no array {k!r} (found {sorted(arrays)})")

    def tensors(x, y):
        if len(x) != len(y):
            raise TrainError(f"--dataset npz:{path}: x has {len(x)} rows but y has {len(y)}")
        xt = ember.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        yt = ember.from_numpy(np.ascontiguousarray(y, dtype=np.int64 if y.dtype.kind in "iub"
                                                   else np.float32))
        return TensorDataset(xt, yt)
    train = tensors(arrays["x"], arrays["y"])
    test = tensors(arrays["x_test"], arrays["y_test"]) if "x_test" in arrays and \
        "y_test" in arrays else None
    return train, test


def _load_folder(path: str):
    if not os.path.isdir(path):
        raise TrainError(f"--dataset folder:{path}: no such folder")
    from ..vision import datasets, transforms
    try:
        ds = datasets.ImageFolder(path, transform=transforms.ToTensor())
    except (FileNotFoundError, RuntimeError, OSError) as e:
        raise TrainError(f"--dataset folder:{path}: {' '.join(str(e).split())}") from None
    return ds, None


def _load_module(spec: str):
    from ._user_code import load_object
    fn = load_object(spec, "--dataset module:")
    try:
        got = fn()
    except Exception as e:  # noqa: BLE001 - the user's function failed: say which
        raise TrainError(f"--dataset module:{spec}: calling it failed: {type(e).__name__}: {e}") from None
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        raise TrainError(f"--dataset module:{spec} must return (train_dataset, test_dataset)")
    return got[0], got[1]


def load_data(cfg):
    ds = cfg.dataset
    if ds in DATASETS:
        train, test = _load_builtin(ds, cfg.data)
    elif ds.startswith("npz:"):
        train, test = _load_npz(ds[4:])
    elif ds.startswith("folder:"):
        train, test = _load_folder(ds[7:])
    elif ds.startswith("module:"):
        train, test = _load_module(ds[7:])
    else:
        raise TrainError(f"--dataset {ds!r}: expected mnist, fashion-mnist, npz:FILE, "
                         f"folder:DIR or module:FILE.py:FUNCTION")
    if len(train) == 0:
        raise TrainError(f"--dataset {ds}: the training set is empty")
    val = None
    if cfg.val_split:
        import numpy as np
        from ..utils.data import Subset
        n = len(train)
        k = int(round(n * cfg.val_split))
        if k < 1 or k >= n:
            raise TrainError(f"--val-split {cfg.val_split} leaves no validation or no training "
                             f"samples of {n}")
        order = np.random.default_rng(cfg.seed).permutation(n).tolist()  # fixed by --seed
        val, train = Subset(train, order[:k]), Subset(train, order[k:])
    return train, val, test


# ---- model, loss, optimizer -----------------------------------------------------------------

def check_names(cfg) -> None:
    """Everything that can be checked before any data is read."""
    from .. import nn, optim
    if cfg.model not in BUILTIN_MODELS and ":" not in cfg.model:
        raise TrainError(f"--model {cfg.model!r}: expected mlp, cnn, FILE.py:CLASS or "
                         f"MODULE:FACTORY")
    if cfg.loss not in ("cross-entropy", "nll", "mse"):
        cls = getattr(nn, cfg.loss, None)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module) and cfg.loss.endswith("Loss")):
            raise TrainError(f"--loss {cfg.loss!r}: not cross-entropy, nll, mse or an nn loss "
                             f"class name")
    _optimizer_class(cfg.optimizer)
    if cfg.scheduler is not None and _scheduler_class(cfg.scheduler) is None:
        raise TrainError(f"--scheduler {cfg.scheduler!r}: no such scheduler in "
                         f"optim.lr_scheduler")
    if cfg.momentum and cfg.optimizer.lower() != "sgd":
        raise TrainError("--momentum applies to --optimizer sgd only")
    if cfg.early_stop and not cfg.val_split:
        raise TrainError("--early-stop needs a validation set: add --val-split (e.g. 0.1)")


def _optimizer_class(name: str):
    from .. import optim
    for k in optim.__all__:
        cls = getattr(optim, k)
        if k.lower() == name.lower() and isinstance(cls, type) and k != "Optimizer":
            return cls
    raise TrainError(f"--optimizer {name!r}: not an optimizer of ember.optim "
                     f"({', '.join(k for k in optim.__all__ if k not in ('Optimizer', 'lr_scheduler'))})")


def _scheduler_class(name: str):
    from ..optim import lr_scheduler
    cls = getattr(lr_scheduler, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, lr_scheduler.LRScheduler) else None


def build_model(cfg):
    if cfg.model in BUILTIN_MODELS:
        from . import models
        log_sm = cfg.loss == "nll"
        return models.seed_mlp(log_softmax=log_sm) if cfg.model == "mlp" else \
            models.SeedCNN(log_softmax=log_sm)
    return build_user_model(cfg.model, cfg.model_args)


def build_loss(cfg):
    from .. import nn
    from ..nn import functional as F
    if cfg.loss == "cross-entropy":
        return nn.CrossEntropyLoss()
    if cfg.loss == "nll":
        return nn.NLLLoss()
    if cfg.loss == "mse":
        def mse(logits, labels):  # squared error between class probabilities and one-hot labels
            return F.mse_loss(F.softmax(logits, dim=1),
                              F.one_hot(labels, logits.shape[1]).to(logits.dtype))
        return mse
    return getattr(nn, cfg.loss)()


def build_optimizer(cfg, params):
    cls = _optimizer_class(cfg.optimizer)
    kw = dict(cfg.optimizer_args)
    kw["lr"] = cfg.lr if cfg.lr is not None else (0.01 if cfg.optimizer.lower() == "sgd" else 0.001)
    if cfg.momentum:
        kw["momentum"] = cfg.momentum
    if cfg.weight_decay:
        kw["weight_decay"] = cfg.weight_decay
    try:
        return cls(params, **kw)
    except (TypeError, ValueError) as e:
        raise TrainError(f"--optimizer {cfg.optimizer} with {kw}: {e}") from None


def build_scheduler(cfg, opt, steps_per_epoch: int):
    if cfg.scheduler is None:
        return None
    cls = _scheduler_class(cfg.scheduler)
    kw = dict(cfg.scheduler_args)
    if cfg.scheduler == "OneCycleLR":
        kw.setdefault("max_lr", opt.param_groups[0]["lr"])
        kw.setdefault("total_steps", steps_per_epoch * cfg.epochs)
    try:
        return cls(opt, **kw)
    except (TypeError, ValueError) as e:
        raise TrainError(f"--scheduler {cfg.scheduler} with {kw}: {e}") from None


# ---- batches --------------------------------------------------------------------------------

def _prepare(cfg, x):
    return x.reshape(x.shape[0], -1) if cfg.model == "mlp" else x


def _epoch_batches(n: int, batch: int, gen, world: int, rank: int) -> list[list[int]]:
    """This rank's share of the epoch's batches: one permutation drawn from `gen`, cut into
    global batches of batch x world samples, each rank taking its slice."""
    from ..ops.creation import randperm
    perm = randperm(n, generator=gen).tolist()
    g = batch * world
    out = []
    for i in range(0, n, g):
        part = perm[i:i + g][rank * batch:(rank + 1) * batch]
        if part:
            out.append(part)
    return out


def evaluate(model, loader, criterion, cfg, want_predictions=False):
    import numpy as np
    import ember
    model.eval()
    total, correct, n, classify = 0.0, 0, 0, True
    preds, labels_all = [], []
    with ember.no_grad():
        for x, y in loader:
            out = model(_prepare(cfg, x))
            total += float(criterion(out, y).item()) * y.shape[0]
            n += y.shape[0]
            if classify and out.dim() == 2 and not y.is_floating_point():
                p = out.argmax(dim=1)
                correct += int((p == y).sum().item())
                if want_predictions:
                    preds.append(p.numpy())
                    labels_all.append(y.numpy())
            else:
                classify = False
    model.train()
    res = {"loss": total / max(n, 1), "accuracy": correct / n if classify and n else None}
    if want_predictions and classify and preds:
        res["pred"] = np.concatenate(preds)
        res["label"] = np.concatenate(labels_all)
    return res


# ---- the command ----------------------------------------------------------------------------

def run(args) -> int:
    import ember
    from ..utils.data import DataLoader

    if args.resume:
        folder, conf = _resume_config(args)
    else:
        folder, conf = None, _config(args)
    cfg = _Cfg(conf)
    check_names(cfg)
    if cfg.model not in BUILTIN_MODELS:
        ember.manual_seed(cfg.seed)
        build_model(cfg)  # a bad model file fails here, before any data loads
    rank, world, dist = 0, 1, None
    if cfg.nproc > 1:
        from .. import distributed as dist
        dist.init_process_group("mpi")
        rank, world = dist.get_rank(), dist.get_world_size()
    out = _Out(cfg, rank)
    if folder is None and rank == 0:
        folder = _make_folder(cfg)  # checked writable before the data loads; created after
    if args.threads:
        ember.set_num_threads(args.threads)

    train_set, val_set, test_set = load_data(cfg)
    if rank == 0 and not args.resume:
        os.makedirs(folder, exist_ok=True)
        _clear_old_run(folder)
        if cfg.out is None:
            _runs.point_latest(cfg.runs_dir, folder)
    if rank == 0:
        _runs.write_json(os.path.join(folder, "config.json"),
                         {k: v for k, v in conf.items() if k != "resume"})

    ember.manual_seed(cfg.seed)
    model = build_model(cfg)
    net = model
    if world > 1:
        from ..nn.parallel import DistributedDataParallel
        net = DistributedDataParallel(model)
    criterion = build_loss(cfg)
    opt = build_optimizer(cfg, model.parameters())
    steps_per_epoch = math.ceil(len(train_set) / (cfg.batch_size * world))
    sched = build_scheduler(cfg, opt, steps_per_epoch)
    data_gen = ember.Generator().manual_seed(cfg.seed)
    eval_loader = lambda ds: DataLoader(ds, batch_size=1000, num_workers=cfg.num_workers)  # noqa: E731
    val_loader = eval_loader(val_set) if val_set is not None else None
    test_loader = eval_loader(test_set) if test_set is not None else None

    if cfg.find_lr:
        from .lr_find import lr_find
        return lr_find(cfg, folder, net, model, criterion, opt, train_set, data_gen, out, rank)

    state = {"epoch": 0, "step": 0, "batch": 0, "loss_sum": 0.0, "loss_n": 0,
             "best": None, "bad_epochs": 0, "epoch_rng": None, "rng": None, "data_rng": None}
    metrics, steps = [], []
    if args.resume:
        ck = ember.load(os.path.join(folder, "checkpoint.pth"), weights_only=True)
        try:
            model.load_state_dict(ck["model"])
        except (RuntimeError, KeyError) as e:
            raise TrainError(f"--resume: {folder}/checkpoint.pth does not fit this model: "
                             f"{' '.join(str(e).split())[:300]}") from None
        opt.load_state_dict(ck["optimizer"])
        if sched is not None and ck.get("scheduler") is not None:
            sched.load_state_dict(ck["scheduler"])
        for k in state:
            if k in ck:
                state[k] = ck[k]
        metrics = [r for r in _read(folder, "metrics.csv") if int(r["epoch"]) <= state["epoch"]]
        steps = [r for r in _read(folder, "steps.csv") if int(r["step"]) <= state["step"]]
        out(f"ember train: resuming {folder} at epoch {state['epoch'] + 1}, step {state['step']}")
        if state["batch"] == 0:  # at an epoch boundary: both generators as they were then
            ember.set_rng_state(state["rng"])
            data_gen.set_state(state["data_rng"])

    tb = None
    if cfg.tensorboard and rank == 0:
        from ..utils.tensorboard import SummaryWriter
        tb = SummaryWriter(os.path.join(folder, "tensorboard"))

    lr0 = opt.param_groups[0]["lr"]
    out(f"ember train: {cfg.dataset} {cfg.model} {cfg.loss} {cfg.optimizer} lr={lr0} "
        f"batch={cfg.batch_size} epochs={cfg.epochs} seed={cfg.seed}"
        + (f" processes={world}" if world > 1 else "") + f" -> {folder}")
    interrupted = {"flag": False}

    def on_sigint(signum, frame):
        if interrupted["flag"]:
            raise KeyboardInterrupt
        interrupted["flag"] = True
    old_handler = signal.signal(signal.SIGINT, on_sigint)

    progress = not (cfg.no_progress or cfg.quiet or rank != 0)
    stopped_early = False
    try:
        while state["epoch"] < cfg.epochs:
            epoch = state["epoch"] + 1
            t0 = time.perf_counter()
            mid = state["batch"] > 0
            if mid:
                data_gen.set_state(state["epoch_rng"])
            else:
                state["epoch_rng"] = data_gen.get_state()
                state["loss_sum"], state["loss_n"] = 0.0, 0
            batches = _epoch_batches(len(train_set), cfg.batch_size, data_gen, world, rank)
            loader = DataLoader(train_set, batch_sampler=batches[state["batch"]:],
                                num_workers=cfg.num_workers)
            it = iter(loader)
            if mid:
                ember.set_rng_state(state["rng"])
            bar = _bar(progress, len(batches), state["batch"], epoch)
            for x, y in it:
                opt.zero_grad()
                loss = criterion(net(_prepare(cfg, x)), y)
                loss.backward()
                if cfg.clip_grad_norm:
                    from ..nn.utils import clip_grad_norm_
                    clip_grad_norm_(model.parameters(), cfg.clip_grad_norm)
                opt.step()
                if sched is not None and cfg.scheduler in _PER_BATCH_SCHEDULERS:
                    sched.step()
                lv = float(loss.item())
                state["step"] += 1
                state["batch"] += 1
                state["loss_sum"] += lv
                state["loss_n"] += 1
                lr = opt.param_groups[0]["lr"]
                row = {"step": state["step"], "epoch": epoch, "loss": f"{lv:.6f}", "lr": f"{lr:.6g}"}
                if cfg.eval_every and val_loader is not None and state["step"] % cfg.eval_every == 0:
                    v = evaluate(model, val_loader, criterion, cfg)
                    row["val_loss"] = f"{v['loss']:.6f}"
                    row["val_accuracy"] = "" if v["accuracy"] is None else f"{v['accuracy']:.4f}"
                steps.append(row)
                if tb is not None:
                    tb.add_scalar("train/loss", lv, state["step"])
                    tb.add_scalar("train/lr", lr, state["step"])
                if bar is not None:
                    bar.update(1)
                    if state["step"] % 20 == 0:
                        bar.set_postfix(loss=f"{state['loss_sum'] / state['loss_n']:.4f}")
                if interrupted["flag"] or (cfg.max_steps and state["step"] >= cfg.max_steps):
                    break
            if bar is not None:
                bar.close()
            if interrupted["flag"]:
                state["rng"] = ember.get_rng_state()
                state["data_rng"] = data_gen.get_state()
                if rank == 0:
                    _checkpoint(folder, model, opt, sched, state)
                    _runs.write_csv(os.path.join(folder, "steps.csv"), steps, STEP_FIELDS)
                print(f"ember train: interrupted at epoch {epoch}, step {state['step']}; "
                      f"checkpoint written to {os.path.join(folder, 'checkpoint.pth')}. "
                      f"Resume with: ember train --resume {folder}", file=sys.stderr)
                return 130
            epoch_done = state["batch"] >= len(batches)
            seconds = time.perf_counter() - t0
            train_loss = state["loss_sum"] / max(state["loss_n"], 1)
            v = evaluate(model, val_loader, criterion, cfg) if val_loader is not None else None
            t = evaluate(model, test_loader, criterion, cfg) if test_loader is not None else None
            lr = opt.param_groups[0]["lr"]
            if sched is not None and cfg.scheduler not in _PER_BATCH_SCHEDULERS and epoch_done:
                if cfg.scheduler == "ReduceLROnPlateau":
                    sched.step((v or t or {"loss": train_loss})["loss"])
                else:
                    sched.step()
            metrics.append(_metric_row(epoch, train_loss, v, t, lr, seconds))
            out(_epoch_line(epoch, train_loss, v, t, seconds))
            if tb is not None:
                for name, r in (("val", v), ("test", t)):
                    if r is not None:
                        tb.add_scalar(f"{name}/loss", r["loss"], epoch)
                        if r["accuracy"] is not None:
                            tb.add_scalar(f"{name}/accuracy", r["accuracy"], epoch)
            state["epoch"] = epoch if epoch_done else state["epoch"]
            state["batch"] = 0
            improved = False
            monitored = v if v is not None else t
            if monitored is not None and (state["best"] is None or
                                          monitored["loss"] < state["best"] - cfg.min_delta):
                state["best"], state["bad_epochs"], improved = monitored["loss"], 0, True
            elif monitored is not None:
                state["bad_epochs"] += 1
            state["rng"] = ember.get_rng_state()
            state["data_rng"] = data_gen.get_state()
            if rank == 0:
                if improved:
                    ember.save(model.state_dict(), os.path.join(folder, "best.pth"))
                _checkpoint(folder, model, opt, sched, state)
                _runs.write_csv(os.path.join(folder, "metrics.csv"), metrics, METRIC_FIELDS)
                _runs.write_csv(os.path.join(folder, "steps.csv"), steps, STEP_FIELDS)
            if cfg.early_stop and state["bad_epochs"] >= cfg.early_stop:
                out(f"early stop: the validation loss has not improved for {cfg.early_stop} "
                    f"epochs; keeping the best weights (loss {state['best']:.4f})")
                stopped_early = True
                break
            if cfg.max_steps and state["step"] >= cfg.max_steps:
                break
    finally:
        signal.signal(signal.SIGINT, old_handler)
        if tb is not None:
            tb.close()
    if stopped_early:
        model.load_state_dict(ember.load(os.path.join(folder, "best.pth"), weights_only=True))
    if rank != 0:
        return 0
    ember.save(model.state_dict(), os.path.join(folder, "model.pth"))
    final = _final_eval(cfg, folder, model, criterion, test_loader, test_set, train_set)
    from .report import write_report
    write_report(folder)
    out(f"saved {folder}/model.pth, metrics.csv and report.html")
    if cfg.json:
        last = metrics[-1] if metrics else {}
        print(json.dumps({"run": folder, "epochs": state["epoch"], "steps": state["step"],
                          **{k: _num(last.get(k)) for k in METRIC_FIELDS[1:-2]},
                          "best_val_loss": state["best"], "early_stopped": stopped_early,
                          **final}))
    return 0


def _num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def _make_folder(cfg) -> str:
    """The run folder's path; its parent must be writable (checked now, created later)."""
    if cfg.out is not None:
        folder = os.path.abspath(cfg.out)
    else:
        name = cfg.name or f"{cfg.dataset.split(':')[0]}-{os.path.basename(cfg.model).split(':')[-1]}"
        folder = _runs.new_run_path(cfg.runs_dir, name)
    parent = folder
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise TrainError(f"--out {cfg.out or cfg.runs_dir}: {parent} is not a writable folder")
    if os.path.isdir(folder) and not os.access(folder, os.W_OK):
        raise TrainError(f"--out {folder}: not writable")
    return folder


def _clear_old_run(folder: str) -> None:
    """An older run's files in a reused --out folder must not sit beside this run's."""
    for stale in ("model.pth", "best.pth", "checkpoint.pth", "metrics.csv", "steps.csv",
                  "eval.json", "report.html", "lr_find.csv", "lr_find.svg"):
        p = os.path.join(folder, stale)
        if os.path.isfile(p):
            os.unlink(p)


def _checkpoint(folder, model, opt, sched, state) -> None:
    import ember
    ck = {"model": model.state_dict(), "optimizer": opt.state_dict(),
          "scheduler": sched.state_dict() if sched is not None else None, **state}
    ember.save(ck, os.path.join(folder, "checkpoint.pth"))


def _read(folder, name):
    p = os.path.join(folder, name)
    return _runs.read_csv(p) if os.path.isfile(p) else []


def _metric_row(epoch, train_loss, v, t, lr, seconds) -> dict:
    def f(r, k, fmt):
        return "" if r is None or r[k] is None else format(r[k], fmt)
    return {"epoch": epoch, "train_loss": f"{train_loss:.6f}",
            "val_loss": f(v, "loss", ".6f"), "val_accuracy": f(v, "accuracy", ".4f"),
            "test_loss": f(t, "loss", ".6f"), "test_accuracy": f(t, "accuracy", ".4f"),
            "lr": f"{lr:.6g}", "seconds": f"{seconds:.2f}"}


def _epoch_line(epoch, train_loss, v, t, seconds) -> str:
    parts = [f"epoch {epoch}: train loss {train_loss:.4f}"]
    for name, r in (("val", v), ("test", t)):
        if r is not None:
            parts.append(f"{name} loss {r['loss']:.4f}")
            if r["accuracy"] is not None:
                parts.append(f"{name} accuracy {r['accuracy']:.4f}")
    return "  ".join(parts) + f"  ({seconds:.1f} s)"


def _bar(progress: bool, total: int, done: int, epoch: int):
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=total, initial=done, desc=f"epoch {epoch}", unit="batch", leave=False,
                dynamic_ncols=True)


def _final_eval(cfg, folder, model, criterion, test_loader, test_set, train_set) -> dict:
    """Per-class accuracy, the confusion matrix, misclassified images and the model summary,
    for the report (eval.json)."""
    import numpy as np
    info = {}
    if test_loader is not None:
        r = evaluate(model, test_loader, criterion, cfg, want_predictions=True)
        if "pred" in r:
            pred, label = r["pred"], r["label"]
            k = int(max(pred.max(), label.max())) + 1
            conf = np.zeros((k, k), dtype=np.int64)
            np.add.at(conf, (label, pred), 1)
            per_class = (np.diag(conf) / np.maximum(conf.sum(1), 1)).round(4).tolist()
            wrong = np.nonzero(pred != label)[0][:32]
            images = []
            for i in wrong.tolist():
                x = test_set[i][0]
                images.append({"index": i, "label": int(label[i]), "pred": int(pred[i]),
                               "png": _png_b64(x)})
            info = {"test_accuracy_final": float((pred == label).mean()),
                    "per_class_accuracy": per_class, "confusion": conf.tolist(),
                    "misclassified": images}
    from .summary import summarize
    x = train_set[0][0]
    try:
        info["summary"] = summarize(model, tuple(x.shape), prepare=lambda t: _prepare(cfg, t))
    except Exception as e:  # noqa: BLE001 - a summary is a nicety; say why it is missing
        info["summary"] = {"error": f"{type(e).__name__}: {e}"}
    _runs.write_json(os.path.join(folder, "eval.json"), info)
    return {k: v for k, v in info.items() if k == "test_accuracy_final"}


def _png_b64(x) -> str | None:
    """A (C, H, W) or (H, W) image tensor as a base64 PNG, scaled to its own min..max."""
    import base64
    import numpy as np
    a = x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    if a.ndim not in (2, 3):
        return None
    lo, hi = float(a.min()), float(a.max())
    a = ((a - lo) / (hi - lo if hi > lo else 1) * 255).round().astype(np.uint8)
    from .report import encode_png
    return base64.b64encode(encode_png(a)).decode("ascii")
