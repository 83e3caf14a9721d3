"""ember against PyTorch, side by side: medians of fresh-process runs and the ratio ember/torch.

    python bench/run.py                     # all workloads, 1 thread, then the default threads
    python bench/run.py --workloads W1 W3 --repeats 5 --threads 1

Each measurement is a new Python process (no warm caches shared between frameworks); torch and
ember alternate so that machine noise hits both alike. W3's microsecond steps are the exception:
one process times both frameworks in alternating chunks and reports the median ratio of adjacent
chunks, as this VM drifts between fast and slow phases that last longer than a process. Thread pools are pinned through the
environment (OMP/OpenBLAS/MKL) and set_num_threads. W5 and DATA need the MNIST files
(--data, default ../shared/datasets); torch runs use torchvision when it is importable.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DESCRIPTIONS = {
    "W1": "seed-MLP epoch (938 steps, batch 64, SGD)",
    "W2": "seed-CNN epoch (600 steps, batch 100, Adam)",
    "W3": "per-op overhead (1x1 add with grad; 1x1 chain fwd+bwd; batch-1 MLP step)",
    "W4": "MLP inference (10,000 samples at batch 1,000)",
    "W5": "seed-000 program end to end with its data pipeline (1 epoch)",
    "DATA": "MNIST epoch of data iteration (batch 64, shuffle, ToTensor+Normalize)",
}


def measure(framework, workload, threads, data, extra):
    env = dict(os.environ)
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    cmd = [sys.executable, os.path.join(HERE, "workloads.py"), "--framework", framework,
           "--workload", workload, "--threads", str(threads)] + extra
    if data:
        cmd += ["--data", data]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{framework} {workload} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def have_torch():
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", nargs="+", default=["W1", "W2", "W3", "W4", "W5"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 0],
                   help="thread settings to run (0 = library default)")
    p.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "datasets"))
    p.add_argument("--w5-epochs", type=int, default=1)
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--cotenant", action="store_true",
                   help="run everything while a CPU-bound process occupies one core (started "
                        "and stopped by the benchmark), as on a busy laptop or CI runner")
    a = p.parse_args()
    busy = None
    if a.cotenant:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
          + (" (with the co-tenant running)" if busy else ""))
    try:
        run_all(a, busy)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()


def run_all(a, busy) -> None:
    frameworks = ["torch", "ember"] if have_torch() else ["ember"]
    results = []
    for threads in a.threads:
        print(f"\n== threads: {threads or 'default'} ==")
        for w in a.workloads:
            runs = {f: [] for f in frameworks}
            paired = w == "W3" and len(frameworks) == 2  # see workloads.w3_paired
            for _ in range(a.repeats):
                if paired:
                    r = measure("both", w, threads, a.data, [])
                    for f in frameworks:
                        runs[f].append({k: v[f] for k, v in r.items()})
                    runs.setdefault("ratio", []).append({k: v["ratio"] for k, v in r.items()})
                    continue
                for f in frameworks:  # alternate frameworks
                    runs[f].append(measure(f, w, threads, a.data,
                                           ["--w5-epochs", str(a.w5_epochs)]))
            keys = list(runs[frameworks[0]][0])
            for k in keys:
                med = {f: statistics.median(r[k] for r in runs[f]) for f in frameworks}
                unit = "us" if k.endswith("_us") else "s"
                line = f"{w:<4} {k:<12}"
                for f in frameworks:
                    line += f"  {f} {med[f]:9.3f} {unit}"
                if "torch" in med:
                    ratio = statistics.median(r[k] for r in runs["ratio"]) if paired else \
                        med["ember"] / med["torch"]
                    line += f"  ratio ember/torch {ratio:5.2f}"
                else:
                    ratio = None
                print(line + f"   # {DESCRIPTIONS.get(w, '')}", flush=True)
                results.append({"threads": threads, "workload": w, "metric": k,
                                "median": med, "ratio": ratio})
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cotenant": busy is not None, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
