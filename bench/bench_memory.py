"""Peak resident memory of one training epoch and the time to import the framework, ember beside
torch (issue 15: `ember train --epochs 1` at most 0.3x the peak of a torch script doing the same;
`import ember` at most 0.25 s).

    python bench/bench_memory.py [--data ../shared/datasets] [--repeats 5]

The training runs are the seed MLP recipe (784-128-64-10, SGD lr 0.01, batch 64, MNIST normalised
with Normalize((0.5,), (0.5,)), one epoch, then the test set): `ember train` against the same
program written for torch and torchvision. Each command runs in a fresh process under a small
parent that reports the child's peak RSS (getrusage), so neither measurement includes the other.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from workloads import _torchvision_root  # noqa: E402  (torchvision wants the IDX files gunzipped)

TORCH_SCRIPT = r'''
import sys, types
sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
import torch, torchvision
from torchvision import transforms
torch.manual_seed(0)
tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
train = torchvision.datasets.MNIST(sys.argv[1], train=True, download=False, transform=tf)
test = torchvision.datasets.MNIST(sys.argv[1], train=False, download=False, transform=tf)
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 128), torch.nn.ReLU(),
                            torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
loss_fn = torch.nn.CrossEntropyLoss()
for x, y in torch.utils.data.DataLoader(train, batch_size=64, shuffle=True):
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()
correct = 0
with torch.no_grad():
    for x, y in torch.utils.data.DataLoader(test, batch_size=1000):
        correct += (model(x).argmax(1) == y).sum().item()
print("test accuracy", correct / len(test))
'''

PEAK = ("import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


def peak_mb(cmd):
    """Peak RSS in MB of `cmd` run to completion in a fresh process."""
    out = subprocess.run([sys.executable, "-c", PEAK] + cmd, capture_output=True, text=True,
                         check=True).stdout.split()
    if out[0] != "0":
        raise RuntimeError(f"{cmd[:3]} exited with {out[0]}")
    return int(out[1]) / 1024


def import_s(module, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        best = min(best, time.perf_counter() - t0)
    empty = float("inf")
    for _ in range(repeats):  # the interpreter's own start, subtracted
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        empty = min(empty, time.perf_counter() - t0)
    return best - empty


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "datasets"))
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    ember_cli = os.path.join(os.path.dirname(sys.executable), "ember")
    with tempfile.TemporaryDirectory() as tmp:
        e = peak_mb([ember_cli, "train", "--data", a.data, "--epochs", "1", "--no-progress",
                     "--quiet", "--runs-dir", tmp])
        tv_root = _torchvision_root(a.data)
        try:
            t = peak_mb([sys.executable, "-c", TORCH_SCRIPT, tv_root])
        finally:
            shutil.rmtree(tv_root, ignore_errors=True)
    print(f"peak RSS of one seed-MLP epoch: ember train {e:.0f} MB, torch script {t:.0f} MB, "
          f"ratio {e / t:.2f}x (target <= 0.3x)")
    ie, it = import_s("ember", a.repeats), import_s("torch", a.repeats)
    print(f"import time (interpreter start subtracted, best of {a.repeats}): ember {ie:.3f} s, "
          f"torch {it:.3f} s (target ember <= 0.25 s)")


if __name__ == "__main__":
    main()
