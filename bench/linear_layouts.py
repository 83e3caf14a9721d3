"""A linear layer's forward x @ W.T + b at one thread, per number of rows of x and layer shape:
ember's gemm route (ops/_gemm.py's gemm, then the bias added: NumPy's matmul outside the rows
ops/_linear_blas.py takes, its bias-free NN/NT product inside them), the cblas routes of
ops/_linear_blas.py (NT on W; NN on an omatcopy'd W.T; both with the bias accumulated by the
GEMM, beta = 1) and torch's F.linear, in alternating timed runs (us per call, best of 7).
ops/_linear_blas.py's NN_MIN_ROWS / NT_MIN_ROWS come from this table.

    python bench/linear_layouts.py ["784,128 128,64" ["32 64"]]
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROWS = (8, 16, 24, 32, 48, 64, 128, 256, 512, 1000, 1024)
SHAPES = [(128, 384), (128, 128), (128, 512), (512, 128), (128, 65), (784, 128), (256, 1024),
          (1024, 256), (64, 256), (128, 64), (64, 10)]


def _best(fns, reps):
    best = [float("inf")] * len(fns)
    for _ in range(7):
        for i, f in enumerate(fns):
            t = time.perf_counter()
            for _ in range(reps):
                f()
            best[i] = min(best[i], (time.perf_counter() - t) / reps)
    return best


def main(shapes=SHAPES, row_counts=ROWS) -> None:
    import torch

    import ember
    from ember.ops._gemm import gemm
    from ember.ops._linear_blas import linear
    from ember.ops.row_loops import rows
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    rng = np.random.default_rng(0)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; us per call; "
          "ratios to ember's gemm route")
    print(f"{'in,out':>9} {'rows':>5} {'gemm+b':>8} {'torch':>8} {'nt':>6} {'nn':>6}")
    for k, n in shapes:
        for m in row_counts:
            x = rng.standard_normal((m, k), dtype=np.float32)
            w = rng.standard_normal((n, k), dtype=np.float32)
            b = rng.standard_normal(n, dtype=np.float32)
            tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)

            def cur():
                out = gemm(x, w.T)
                return rows(np.add, out, b, out=out)
            ref = cur()
            for lay in ("nt", "nn"):
                np.testing.assert_allclose(linear(x, w, b, lay), ref, rtol=1e-4, atol=1e-3)
            fns = [cur, lambda: torch.nn.functional.linear(tx, tw, tb),
                   lambda: linear(x, w, b, "nt"), lambda: linear(x, w, b, "nn")]
            t = time.perf_counter()
            cur()
            reps = max(5, int(2e-3 / max(time.perf_counter() - t, 1e-6)))
            c, th, nt, nn = _best(fns, reps)
            print(f"{k:4d},{n:4d} {m:5d} {c * 1e6:8.1f} {th / c:8.2f} {nt / c:6.2f} {nn / c:6.2f}",
                  flush=True)


if __name__ == "__main__":
    import sys
    if len(sys.argv) > 1:  # e.g. "784,128 128,64" "32 64": layer shapes (in,out), row counts
        main([tuple(int(v) for v in a.split(",")) for a in sys.argv[1].split()],
             tuple(int(v) for v in sys.argv[2].split()) if len(sys.argv) > 2 else ROWS)
    else:
        main()
