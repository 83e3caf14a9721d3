"""resnet18 forward+backward (and a full SGD training step, and eval-mode forward) on
8x3x64x64 images, ember vs torch/torchvision at one thread, interleaved in one process so
that machine load hits both alike; the best of --repeats rounds of --steps calls each.
Prints ms and ratios (target: forward+backward <= 1.5x torch) and the machine's load.

    python bench/bench_resnet.py [--repeats 5] [--steps 5] [--batch 8] [--wall]
"""
from __future__ import annotations

import argparse
import os
import sys
import types

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import _timing  # noqa: E402  (bench/, beside this script)


def _torchvision():
    # torchvision's optional meta registrations need a newer torch than some installs have
    sys.modules.setdefault("torchvision._meta_registrations",
                           types.ModuleType("torchvision._meta_registrations"))
    import torchvision
    return torchvision


def cases(fw, models, x_np, y_np):
    """name -> zero-argument callable running one step on framework fw."""
    F = fw.nn.functional
    fw.manual_seed(0)
    net = models.resnet18(num_classes=10)
    opt = fw.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = fw.tensor(x_np)
    y = fw.tensor(y_np)
    eval_net = models.resnet18(num_classes=10).eval()

    def fwd_bwd():
        net.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()

    def train_step():
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def infer():
        with fw.no_grad():
            eval_net(x)

    return {"forward+backward": fwd_bwd, "train step (SGD)": train_step,
            "eval forward (no_grad)": infer}


def main() -> None:
    ap = argparse.ArgumentParser()
    _timing.add_options(ap, repeats=5, steps=5)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    import torch

    import ember
    from ember.vision import models as ember_models
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    tv = _torchvision()
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, 3, 64, 64), dtype=np.float32)
    y = rng.integers(0, 10, args.batch)
    ct, ce = cases(torch, tv.models, x, y), cases(ember, ember_models, x, y)
    print(f"resnet18, {args.batch}x3x64x64, 1 thread, {'wall' if args.wall else 'CPU'} time; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    _timing.compare(ct, ce, args, width=26, digits=2)


if __name__ == "__main__":
    main()
