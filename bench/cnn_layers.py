"""Forward+backward time of the seed CNN (and of its conv/pool layers) on ember vs torch, one
thread, interleaved in one process so that machine load hits both alike; the best of --repeats
rounds of --steps calls each. Prints ms and ratios.

    python bench/cnn_layers.py [--repeats 7] [--steps 20] [--wall]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from workloads import _models  # noqa: E402


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


def timeit(fn, steps: int, clock) -> float:
    fn()
    t = clock()
    for _ in range(steps):
        fn()
    return (clock() - t) / steps * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--wall", action="store_true",
                    help="wall-clock time (default: CPU time of this process, which a loaded "
                         "machine disturbs less)")
    args = ap.parse_args()
    clock = time.perf_counter if args.wall else time.process_time
    import torch
    import ember
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.random((100, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 100)
    ct, ce = cases(torch, x, y), cases(ember, x, y)
    print(f"{'case':28s} {'torch ms':>9s} {'ember ms':>9s} {'ratio':>6s}")
    for name in ct:
        bt = be = float("inf")
        for _ in range(args.repeats):  # alternate, keep the best of each
            bt = min(bt, timeit(ct[name], args.steps, clock))
            be = min(be, timeit(ce[name], args.steps, clock))
        print(f"{name:28s} {bt:9.3f} {be:9.3f} {be / bt:6.2f}")


if __name__ == "__main__":
    main()
