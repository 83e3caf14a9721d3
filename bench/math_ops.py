"""ember against PyTorch on the math API (issue 12): special functions over 1M float32 values,
batched linear algebra forward+backward, order statistics. One process, 1 thread (threadpoolctl
and torch.set_num_threads), the two frameworks alternating per repeat; prints the median time of
each and the ratio ember/torch (below 1: ember faster), with the machine's load average.

    PYTHONPATH=src python bench/math_ops.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def workloads(L, rng):
    x = rng.uniform(0.05, 6.0, 1_000_000).astype(np.float32)
    p = rng.uniform(1e-6, 1 - 1e-6, 1_000_000).astype(np.float32)
    a = rng.standard_normal((64, 32, 32)).astype(np.float32)
    spd = a @ a.transpose(0, 2, 1) + 32 * np.eye(32, dtype=np.float32)
    m = rng.standard_normal((1000, 101)).astype(np.float32)
    tx, tp, ta, ts, tm = (L.tensor(v) for v in (x, p, a, spd, m))

    def fwd_bwd(fn, t):
        def run():
            u = t.detach().requires_grad_()
            out = fn(u)
            (out if not isinstance(out, tuple) else out[0]).sum().backward()
        return run

    return {
        "erf 1M": lambda: L.special.erf(tx),
        "lgamma 1M": lambda: L.lgamma(tx),
        "digamma 1M": lambda: L.digamma(tx),
        "i0e 1M": lambda: L.special.i0e(tx),
        "ndtri 1M": lambda: L.special.ndtri(tp),
        "log_ndtr 1M": lambda: L.special.log_ndtr(tx - 3),
        "inv 64x32x32 f+b": fwd_bwd(L.linalg.inv, ta),
        "cholesky 64x32x32 f+b": fwd_bwd(L.linalg.cholesky, ts),
        "eigh 64x32x32 f+b": fwd_bwd(lambda u: L.linalg.eigvalsh(u + u.mT), ta),
        "svd 64x32x32 f+b": fwd_bwd(L.linalg.svdvals, ta),
        "median 1000x101 dim": lambda: L.median(tm, 1),
        "quantile 1000x101 dim": lambda: L.quantile(tm, 0.3, dim=1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits
    import torch
    import ember
    torch.set_num_threads(1)
    with threadpool_limits(1):
        w = {"torch": workloads(torch, np.random.default_rng(0)),
             "ember": workloads(ember, np.random.default_rng(0))}
        times = {k: {n: [] for n in w["torch"]} for k in w}
        for name in w["torch"]:
            for _ in range(args.repeats):
                for fw in ("torch", "ember"):
                    t0 = time.perf_counter()
                    w[fw][name]()
                    times[fw][name].append(time.perf_counter() - t0)
    print(f"load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cpus); 1 thread")
    print(f"{'workload':26s} {'torch ms':>10s} {'ember ms':>10s} {'ember/torch':>12s}")
    for name in w["torch"]:
        t = statistics.median(times["torch"][name]) * 1e3
        e = statistics.median(times["ember"][name]) * 1e3
        print(f"{name:26s} {t:10.2f} {e:10.2f} {e / t:12.2f}")


if __name__ == "__main__":
    main()
