"""A 3x3 conv stack's training step and its layers, ember vs torch at 1 thread in ONE process.

The model (issue 15, item 4): 28x28 inputs, batch 64,
    conv 1->32 + BN + ReLU, conv 32->64 + BN + ReLU + maxpool 2   (28x28 -> 14x14)
    conv 64->128 + BN + ReLU + maxpool 2                          (14x14 -> 7x7)
    linear 128*7*7 -> 10, cross-entropy, SGD with momentum.
torch and ember run alternating chunks of --steps calls; each pair gives a ratio ember/torch and
the median (and range) of the pair ratios is reported, so that load drifting on a shared machine
hits both alike. The load average is printed before and after. Times are this process's CPU
time unless --wall.

    python bench/bench_conv_stack.py [--pairs 9] [--steps 5] [--only step]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

BATCH = 64


def build(fw):
    nn = fw.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 10))


def cases(fw, seed=0):
    """name -> zero-argument callable running one step on framework fw."""
    F = fw.nn.functional
    rng = np.random.default_rng(seed)
    net = build(fw)
    opt = fw.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = fw.tensor(rng.standard_normal((BATCH, 1, 28, 28), dtype=np.float32))
    y = fw.tensor(rng.integers(0, 10, BATCH))

    def step():
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    out = {"train step (fw+bw+sgd)": step}
    for name, (cin, cout, hw) in {"conv 1->32 @28": (1, 32, 28), "conv 32->64 @28": (32, 64, 28),
                                  "conv 64->128 @14": (64, 128, 14)}.items():
        conv = fw.nn.Conv2d(cin, cout, 3, padding=1)
        a = fw.tensor(rng.standard_normal((BATCH, cin, hw, hw), dtype=np.float32),
                      requires_grad=cin > 1)
        g = fw.tensor(rng.standard_normal((BATCH, cout, hw, hw), dtype=np.float32))

        def fb(conv=conv, a=a, g=g):
            conv(a).backward(g)
        out[name + " fw+bw"] = fb

        def fo(conv=conv, a=a):
            with fw.no_grad():
                conv(a)
        out[name + " fw"] = fo
    return out


def chunk(fn, steps: int, clock) -> float:
    t = clock()
    for _ in range(steps):
        fn()
    return (clock() - t) / steps * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--only", help="run only cases whose name contains this")
    ap.add_argument("--wall", action="store_true",
                    help="wall-clock time (default: this process's CPU time, which other "
                         "processes on a loaded machine disturb less)")
    a = ap.parse_args()
    import torch
    from threadpoolctl import threadpool_limits
    import ember
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    clock = time.perf_counter if a.wall else time.process_time
    print(f"load average at start: {os.getloadavg()} on {os.cpu_count()} cores; 1 thread; "
          f"{'wall' if a.wall else 'CPU'} time")
    ct, ce = cases(torch), cases(ember)
    print(f"{'case':28s} {'torch ms':>9s} {'ember ms':>9s} {'ratio':>6s} {'range':>12s}")
    with threadpool_limits(1):
        for name in ct:
            if a.only and a.only not in name:
                continue
            ct[name](), ce[name]()  # warm up
            tt, te, rs = [], [], []
            for i in range(a.pairs):  # alternate which goes first
                if i % 2:
                    e, t = chunk(ce[name], a.steps, clock), chunk(ct[name], a.steps, clock)
                else:
                    t, e = chunk(ct[name], a.steps, clock), chunk(ce[name], a.steps, clock)
                tt.append(t), te.append(e), rs.append(e / t)
            print(f"{name:28s} {statistics.median(tt):9.2f} {statistics.median(te):9.2f} "
                  f"{statistics.median(rs):6.2f} {min(rs):5.2f}-{max(rs):5.2f}", flush=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
