"""How close each workload is to its matrix-product floor: torch's time, ember's time, and the
part of ember's time spent inside BLAS products (every ember GEMM goes through
`ember.ops._gemm._matmul`, `_gemm._dot` or the cblas ?gemm of `ops/_blas_strided.py`, which
this script wraps with timers), at one thread, both frameworks
in one process, best of several rounds (issue 15: "where a target cannot be reached in NumPy,
say what the floor is, measured, and why").

    python bench/floor.py [--rounds 5] [--only W1,W4,...]

`floor/torch` is ember's BLAS time over torch's whole time: the ratio ember could reach with
zero framework and elementwise overhead on NumPy's OpenBLAS. A target below it cannot be met
without faster GEMMs than NumPy's.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402


def _mlp_epoch(fw, batch, n, opt="sgd"):
    from workloads import _batches, _models
    mlp, _ = _models(fw)
    fw.manual_seed(0)
    model = mlp()
    o = fw.optim.SGD(model.parameters(), lr=0.01)
    crit = fw.nn.CrossEntropyLoss()
    data = _batches(fw, n, batch, (784,))

    def run():
        for x, y in data:
            o.zero_grad()
            crit(model(x), y).backward()
            o.step()
    return run


def _cnn_epoch(fw, batch=100, n=60):
    from workloads import _batches, _models
    _, CNN = _models(fw)
    fw.manual_seed(0)
    model = CNN()
    o = fw.optim.Adam(model.parameters(), lr=0.01)
    data = _batches(fw, n, batch, (1, 28, 28))
    F = fw.nn.functional

    def run():
        for x, y in data:
            o.zero_grad()
            F.cross_entropy(model(x), y).backward()
            o.step()
    return run


def _inference(fw):
    from workloads import _batches, _models
    mlp, _ = _models(fw)
    fw.manual_seed(0)
    model = mlp().eval()
    data = _batches(fw, 10, 1000, (784,))

    def run():
        with fw.no_grad():
            for x, _ in data:
                model(x).argmax(dim=1)
    return run


def _lstm(fw):
    import bench_rnn
    tokens = np.random.default_rng(0).integers(0, bench_rnn.VOCAB,
                                               (bench_rnn.BATCH, bench_rnn.SEQ + 1))
    step = bench_rnn.make_step(fw, "LSTM", tokens.astype(np.int64))

    def run():
        for _ in range(3):
            step()
    return run


def _gpt(fw, what):
    import bench_gpt as g
    rng = np.random.default_rng(0)
    x = rng.integers(0, g.VOCAB, (g.BATCH, g.CONTEXT)).astype(np.int64)
    _, cases = g.cases(fw, x, np.roll(x, -1, axis=1), 100)
    f = cases["train step"] if what == "train" else cases["generate 100 tokens"]

    def run():
        for _ in range(3 if what == "train" else 1):
            f()
    return run


WORKLOADS = {
    "W1": ("seed-MLP, 100 steps of batch 64 (SGD)", lambda fw: _mlp_epoch(fw, 64, 100)),
    "W2": ("seed-CNN, 60 steps of batch 100 (Adam)", _cnn_epoch),
    "W4": ("MLP inference, 10 x batch 1000", _inference),
    "B1": ("batch-1 MLP step x 300", lambda fw: _mlp_epoch(fw, 1, 300)),
    "LSTM": ("char-LSTM LM step x 3", _lstm),
    "GPT": ("GPT train step x 3", lambda fw: _gpt(fw, "train")),
    "GEN": ("GPT generate 100 tokens", lambda fw: _gpt(fw, "gen")),
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", default=",".join(WORKLOADS))
    a = p.parse_args()
    import torch

    import ember
    from ember.ops import _gemm
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    from ember.ops import _blas_strided
    spent = [0.0]

    def timer(fn):
        def timed(*args, **kw):
            t0 = time.perf_counter()
            r = fn(*args, **kw)
            spent[0] += time.perf_counter() - t0
            return r
        return timed

    cblas = _blas_strided.gemm_fns()  # (the dict ops/_linear_blas.py calls through too)
    raw = (_gemm._matmul, _gemm._dot, dict(cblas))
    timed = (timer(raw[0]), timer(raw[1]), {dt: timer(fn) for dt, fn in raw[2].items()})

    def use(fns):
        _gemm._matmul, _gemm._dot = fns[0], fns[1]
        cblas.update(fns[2])

    print(f"1 thread, best of {a.rounds} rounds; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} cores")
    print(f"{'workload':<44}{'torch ms':>10}{'ember ms':>10}{'BLAS ms':>9}"
          f"{'ember/torch':>12}{'floor/torch':>12}")
    for key in a.only.split(","):
        name, make = WORKLOADS[key]
        runs = {"torch": make(torch), "ember": make(ember)}
        for r in runs.values():
            r()  # warm up
        best = {"torch": float("inf"), "ember": float("inf")}
        blas = float("inf")
        for _ in range(a.rounds):
            for fw_name, r in runs.items():
                if fw_name == "ember":
                    use(timed)
                    spent[0] = 0.0
                t0 = time.perf_counter()
                r()
                dt = time.perf_counter() - t0
                use(raw)
                if dt < best[fw_name]:
                    best[fw_name] = dt
                    if fw_name == "ember":
                        blas = spent[0]
        t, e = best["torch"] * 1e3, best["ember"] * 1e3
        print(f"{key + ' ' + name:<44}{t:>10.1f}{e:>10.1f}{blas * 1e3:>9.1f}{e / t:>12.2f}"
              f"{blas * 1e3 / t:>12.2f}")


if __name__ == "__main__":
    main()
