"""Forward+backward time of the seed CNN (and of its conv/pool layers) on ember vs torch, one
thread, interleaved in one process so that machine load hits both alike; the best of --repeats
rounds of --steps calls each. Prints ms and ratios.

    python bench/cnn_layers.py [--repeats 7] [--steps 20] [--wall]
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from workloads import _models  # noqa: E402

import _timing  # noqa: E402  (bench/, beside this script)


def build(fw):
    """The seed CNN (bench/workloads.py's definition)."""
    return _models(fw)[1]()


def cases(fw, x_np, y_np):
    """name -> zero-argument callable running one forward+backward on framework fw."""
    F = fw.nn.functional
    net = build(fw)
    opt = fw.optim.Adam(net.parameters(), lr=0.01)
    x = fw.tensor(x_np)
    y = fw.tensor(y_np)
    rng = np.random.default_rng(1)
    a1 = fw.tensor(rng.random((100, 6, 24, 24), dtype=np.float32), requires_grad=True)
    a2 = fw.tensor(rng.random((100, 6, 12, 12), dtype=np.float32), requires_grad=True)
    c1, c2 = net.conv1, net.conv2

    def step():
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def fwd_bwd():
        F.cross_entropy(net(x), y).backward()

    return {
        "train step (fw+bw+adam)": step,
        "forward+backward": fwd_bwd,
        "conv1 fw+bw (w,b)": lambda: c1(x).sum().backward(),
        "conv2 fw+bw (x,w,b)": lambda: c2(a2).sum().backward(),
        "maxpool 24->12 fw+bw": lambda: F.max_pool2d(a1, kernel_size=2, stride=2).sum().backward(),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    _timing.add_options(ap, repeats=7, steps=20)
    args = ap.parse_args()
    import torch
    import ember
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.random((100, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 100)
    ct, ce = cases(torch, x, y), cases(ember, x, y)
    _timing.compare(ct, ce, args, width=28, digits=3)


if __name__ == "__main__":
    main()
