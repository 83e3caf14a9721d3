"""x @ W.T (a linear layer's forward) on NumPy's OpenBLAS, one thread: the time of
(W @ x.T).T plus a copy to C order over that of x @ W.T, per number of rows of x (columns) and
layer shape (rows), in alternating timed runs. Below 1 the weight-side-first form is faster;
ops/_gemm.py's _weight_side_first picks it from this table.

    OPENBLAS_NUM_THREADS=1 python bench/gemm_layouts.py
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROWS = (1, 4, 8, 16, 32, 48, 64, 96, 128)
SHAPES = [(784, 128), (128, 64), (64, 10), (128, 384), (128, 128), (128, 512), (512, 128),
          (128, 65), (256, 1024), (1024, 256), (120, 60), (192, 120), (64, 256), (256, 64)]


def _pair(f, g, n):
    bf = bg = float("inf")
    for _ in range(9):
        t = time.perf_counter()
        for _ in range(n):
            f()
        bf = min(bf, (time.perf_counter() - t) / n)
        t = time.perf_counter()
        for _ in range(n):
            g()
        bg = min(bg, (time.perf_counter() - t) / n)
    return bf, bg


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("in,out    " + "".join(f"{m:>7d}" for m in ROWS))
    for k, n in SHAPES:
        cells = []
        for m in ROWS:
            x = rng.random((m, k), dtype=np.float32)
            w = rng.random((n, k), dtype=np.float32)
            nt = lambda: x @ w.T  # noqa: E731
            first = lambda: np.ascontiguousarray((w @ x.T).T)  # noqa: E731
            t = time.perf_counter()
            nt()
            reps = max(10, int(1e-3 / max(time.perf_counter() - t, 1e-6)))
            a, b = _pair(nt, first, reps)
            cells.append(b / a)
        print(f"{k:4d},{n:4d} " + "".join(f"{c:7.2f}" for c in cells))


if __name__ == "__main__":
    main()
