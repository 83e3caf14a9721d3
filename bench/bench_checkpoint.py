"""Checkpoint save/load: ember beside torch in one process, as ratios (ember time / torch time).

    PYTHONPATH=src python bench/bench_checkpoint.py [--repeat 5]

Both write to and read from the same temporary folder (page cache warm after the first round);
both load with weights_only=True. Prints the machine load so busy runs can be told apart.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import ember


def _state(lib, n_tensors: int, shape: tuple[int, ...]):
    rng = np.random.default_rng(0)
    return {f"layer{i}.weight": lib.from_numpy(rng.standard_normal(shape).astype(np.float32))
            for i in range(n_tensors)}


WORKLOADS = {
    "mlp_state_dict (3 layers, 0.4 MB)": lambda lib: {
        k: lib.from_numpy(v) for k, v in {
            "0.weight": np.ones((128, 784), np.float32), "0.bias": np.ones(128, np.float32),
            "2.weight": np.ones((64, 128), np.float32), "2.bias": np.ones(64, np.float32),
            "4.weight": np.ones((10, 64), np.float32), "4.bias": np.ones(10, np.float32)}.items()},
    "many_small (2000 x 16 floats)": lambda lib: _state(lib, 2000, (16,)),
    "large (20 x 4 MB)": lambda lib: _state(lib, 20, (1024, 1024)),
}


def _best(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; best of "
          f"{args.repeat}")
    with threadpool_limits(1), tempfile.TemporaryDirectory() as d:
        for name, make in WORKLOADS.items():
            row = []
            for op in ("save", "load"):
                times = {}
                for lib in (torch, ember):
                    obj = make(lib)
                    path = os.path.join(d, f"{lib.__name__}.pth")
                    lib.save(obj, path)
                    if op == "save":
                        times[lib.__name__] = _best(lambda: lib.save(obj, path), args.repeat)
                    else:
                        times[lib.__name__] = _best(
                            lambda: lib.load(path, weights_only=True), args.repeat)
                row.append(f"{op} {times['ember'] * 1e3:8.2f} ms (torch {times['torch'] * 1e3:8.2f}"
                           f" ms, ratio {times['ember'] / times['torch']:5.2f})")
            print(f"{name:36s} " + " | ".join(row))


if __name__ == "__main__":
    main()
