"""`ember train --find-lr`: the learning-rate range test (as fastai's `lr_find`).

The rate grows exponentially from 1e-7 to 10 over at most 100 steps; the loss is smoothed with
an exponential moving average (0.98) and the sweep stops once it exceeds 4x its minimum. The
suggestion is the rate where the smoothed loss falls fastest (steepest negative slope against
log(lr)), which fastai calls "steep".
"""
from __future__ import annotations

import math
import os

from . import _runs

START, END, STEPS, BETA, DIVERGE = 1e-7, 10.0, 100, 0.98, 4.0


def lr_find(cfg, folder, net, model, criterion, opt, train_set, data_gen, out, rank) -> int:
    from ..utils.data import DataLoader
    from .report import line_chart
    from .trainer import _epoch_batches, _prepare
    n = min(STEPS, math.ceil(len(train_set) / cfg.batch_size))
    if n < 5:
        from .train import TrainError
        raise TrainError(f"--find-lr needs at least 5 batches; the training set has "
                         f"{len(train_set)} samples at --batch-size {cfg.batch_size}")
    mult = (END / START) ** (1 / (n - 1))
    batches = _epoch_batches(len(train_set), cfg.batch_size, data_gen, 1, 0)[:n]
    rows, avg, best = [], 0.0, math.inf
    lr = START
    for i, (x, y) in enumerate(DataLoader(train_set, batch_sampler=batches), 1):
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        loss = criterion(net(_prepare(cfg, x)), y)
        loss.backward()
        opt.step()
        v = float(loss.item())
        avg = BETA * avg + (1 - BETA) * v
        smooth = avg / (1 - BETA ** i)
        rows.append({"lr": f"{lr:.6g}", "loss": f"{v:.6f}", "smoothed": f"{smooth:.6f}"})
        best = min(best, smooth)
        if not math.isfinite(smooth) or smooth > DIVERGE * best:
            break
        lr *= mult
    lrs = [float(r["lr"]) for r in rows]
    sm = [float(r["smoothed"]) for r in rows]
    # steepest descent of the smoothed loss against log10(lr), ignoring the last (diverging) points
    usable = max(3, len(sm) - 3)
    slopes = [(sm[i + 1] - sm[i - 1]) / (math.log10(lrs[i + 1]) - math.log10(lrs[i - 1]))
              for i in range(1, usable - 1)]
    k = min(range(len(slopes)), key=slopes.__getitem__) + 1 if slopes else 0
    suggestion = lrs[k]
    if rank == 0:
        _runs.write_csv(os.path.join(folder, "lr_find.csv"), rows, ["lr", "loss", "smoothed"])
        svg = line_chart(f"Learning-rate range test (suggested {suggestion:.3g})",
                         [("smoothed loss", lrs, sm)], "learning rate", "loss", log_x=True)
        _runs.atomic_write_text(os.path.join(folder, "lr_find.svg"), svg)
    out(f"lr range test: {len(rows)} steps from {START:g} to {lrs[-1]:.3g}; "
        f"suggested learning rate: {suggestion:.3g}  (plot: {os.path.join(folder, 'lr_find.svg')})")
    return 0
