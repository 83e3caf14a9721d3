"""One benchmark workload in this process, on torch or on ember; prints a JSON line of timings.

Used by bench/run.py, which starts a fresh process per measurement. Every workload is the same
program for both frameworks (`fw` is the imported torch or ember module).

    python bench/workloads.py --framework ember --workload W1
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
import time


def _models(fw):
    nn = fw.nn
    F = nn.functional

    def mlp():
        return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                             nn.Linear(64, 10))

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5)
            self.conv2 = nn.Conv2d(in_channels=6, out_channels=12, kernel_size=5)
            self.fc1 = nn.Linear(in_features=12 * 4 * 4, out_features=120)
            self.fc2 = nn.Linear(in_features=120, out_features=60)
            self.out = nn.Linear(in_features=60, out_features=10)

        def forward(self, t):
            t = F.max_pool2d(F.relu(self.conv1(t)), kernel_size=2, stride=2)
            t = F.max_pool2d(F.relu(self.conv2(t)), kernel_size=2, stride=2)
            t = F.relu(self.fc1(t.reshape(-1, 12 * 4 * 4)))
            return self.out(F.relu(self.fc2(t)))

    return mlp, CNN


def _batches(fw, n_batches, batch, shape):
    import numpy as np
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n_batches):
        x = rng.standard_normal((batch,) + shape, dtype=np.float32)
        y = rng.integers(0, 10, batch)
        out.append((fw.from_numpy(x), fw.from_numpy(y)))
    return out


def w1_mlp_epoch(fw):
    mlp, _ = _models(fw)
    fw.manual_seed(0)
    model = mlp()
    opt = fw.optim.SGD(model.parameters(), lr=0.01)
    crit = fw.nn.CrossEntropyLoss()
    data = _batches(fw, 938, 64, (784,))
    t0 = time.perf_counter()
    for x, y in data:
        opt.zero_grad()
        loss = crit(model(x), y)
        loss.backward()
        opt.step()
    return {"seconds": time.perf_counter() - t0}


def w2_cnn_epoch(fw, steps=600):
    _, CNN = _models(fw)
    fw.manual_seed(0)
    model = CNN()
    opt = fw.optim.Adam(model.parameters(), lr=0.01)
    data = _batches(fw, steps, 100, (1, 28, 28))
    F = fw.nn.functional
    t0 = time.perf_counter()
    for x, y in data:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return {"seconds": time.perf_counter() - t0}


def _best_us(step, n, chunks=7):
    """Microseconds per call of step(): the best of `chunks` timed runs of n calls each (as
    timeit advises: on a shared machine the slower runs measure the neighbours, not the code)."""
    best = float("inf")
    for _ in range(chunks):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        best = min(best, (time.perf_counter() - t0) / n * 1e6)
    return best


def _w3_steps(fw):
    """W3's three steps on framework fw, each with its number of calls per timed chunk."""
    a = fw.ones(1, 1, requires_grad=True)
    b = fw.ones(1, 1, requires_grad=True)

    def add():
        a + b

    def chain():  # forward + backward of a small chain
        ((a * b + a).exp() - b).sum().backward()

    mlp, _ = _models(fw)
    fw.manual_seed(0)
    model = mlp()
    opt = fw.optim.SGD(model.parameters(), lr=0.01)
    crit = fw.nn.CrossEntropyLoss()
    x = fw.randn(1, 784)
    y = fw.tensor([3])

    def mlp_step():
        opt.zero_grad()
        crit(model(x), y).backward()
        opt.step()

    steps = {"add_us": (add, 5000), "chain_us": (chain, 1000), "mlp_step_us": (mlp_step, 300)}
    for step, _ in steps.values():  # warm up
        for _ in range(100):
            step()
    return steps


def w3_overhead(fw):
    return {k: _best_us(step, n) for k, (step, n) in _w3_steps(fw).items()}


def w3_paired(threads):
    """W3 on both frameworks in one process, their timed chunks alternating: this shared VM
    drifts between fast and slow phases lasting seconds, longer than a chunk, so only chunks
    timed side by side compare the two fairly. Per step: each framework's best chunk, and the
    median over pairs of adjacent chunks of ember/torch."""
    import statistics

    import ember
    import torch
    if threads:
        torch.set_num_threads(threads)
        ember.set_num_threads(threads)
    t_steps, e_steps = _w3_steps(torch), _w3_steps(ember)
    out = {}
    for k in t_steps:
        times = {"torch": [], "ember": []}
        for _ in range(15):
            for name, steps in (("torch", t_steps), ("ember", e_steps)):
                step, n = steps[k]
                times[name].append(_best_us(step, n, chunks=1))
        ratios = [e / t for e, t in zip(times["ember"], times["torch"])]
        out[k] = {"torch": min(times["torch"]), "ember": min(times["ember"]),
                  "ratio": statistics.median(ratios)}
    return out


def w4_inference(fw):
    mlp, _ = _models(fw)
    fw.manual_seed(0)
    model = mlp().eval()
    data = _batches(fw, 10, 1000, (784,))
    best = float("inf")
    with fw.no_grad():
        for x, _ in data[:2]:
            model(x)
        for _ in range(7):  # a pass takes ~25 ms: the best of several (see _best_us)
            t0 = time.perf_counter()
            for x, _ in data:
                model(x).argmax(dim=1)
            best = min(best, time.perf_counter() - t0)
    return {"seconds": best}


def _vision(fw_name):
    if fw_name == "ember":
        import ember.vision as tv
        return tv
    import types
    sys.modules.setdefault("torchvision._meta_registrations",
                           types.ModuleType("torchvision._meta_registrations"))
    import torchvision as tv
    return tv


def _torchvision_root(data):
    """torchvision reads uncompressed IDX files: a temporary copy of MNIST/raw, gunzipped."""
    tmp = tempfile.mkdtemp(prefix="bench-mnist-")
    raw = os.path.join(tmp, "MNIST", "raw")
    os.makedirs(raw)
    src = os.path.join(data, "MNIST", "raw")
    for name in os.listdir(src):
        if name.endswith(".gz"):
            with gzip.open(os.path.join(src, name)) as fi, \
                    open(os.path.join(raw, name[:-3]), "wb") as fo:
                shutil.copyfileobj(fi, fo)
    return tmp


def w5_seed000(fw, fw_name, data, epochs=1):
    tv = _vision(fw_name)
    root = _torchvision_root(data) if fw_name == "torch" else data
    try:
        t0 = time.perf_counter()
        transform = tv.transforms.Compose([tv.transforms.ToTensor(),
                                           tv.transforms.Normalize((0.5,), (0.5,))])
        trainset = tv.datasets.MNIST(root, download=False, train=True, transform=transform)
        loader = fw.utils.data.DataLoader(trainset, batch_size=64, shuffle=True)
        nn = fw.nn
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                              nn.Linear(64, 10))
        crit = nn.CrossEntropyLoss()
        opt = fw.optim.SGD(model.parameters(), lr=0.01)
        for _ in range(epochs):
            for images, labels in loader:
                images = images.view(images.shape[0], -1)
                opt.zero_grad()
                loss = crit(model(images), labels)
                loss.backward()
                opt.step()
        return {"seconds": time.perf_counter() - t0}
    finally:
        if fw_name == "torch":
            shutil.rmtree(root, ignore_errors=True)


def w_data(fw, fw_name, data):
    """One MNIST epoch of data iteration alone (batch 64, shuffle, ToTensor+Normalize)."""
    tv = _vision(fw_name)
    root = _torchvision_root(data) if fw_name == "torch" else data
    try:
        transform = tv.transforms.Compose([tv.transforms.ToTensor(),
                                           tv.transforms.Normalize((0.5,), (0.5,))])
        trainset = tv.datasets.MNIST(root, download=False, train=True, transform=transform)
        loader = fw.utils.data.DataLoader(trainset, batch_size=64, shuffle=True)
        t0 = time.perf_counter()
        for _ in loader:
            pass
        return {"seconds": time.perf_counter() - t0}
    finally:
        if fw_name == "torch":
            shutil.rmtree(root, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--framework", choices=["torch", "ember", "both"], required=True,
                   help="both: W3 only, the two frameworks alternating in one process")
    p.add_argument("--workload", required=True)
    p.add_argument("--threads", type=int, default=0, help="0: the library default")
    p.add_argument("--data", default=None)
    p.add_argument("--w5-epochs", type=int, default=1)
    a = p.parse_args()
    if a.framework == "both":
        if a.workload != "W3":
            raise SystemExit("--framework both is for W3")
        print(json.dumps(w3_paired(a.threads)))
        return
    if a.framework == "torch":
        import torch as fw
    else:
        import ember as fw
    if a.threads:
        fw.set_num_threads(a.threads)
    w = a.workload
    if w == "W1":
        r = w1_mlp_epoch(fw)
    elif w == "W2":
        r = w2_cnn_epoch(fw)
    elif w == "W3":
        r = w3_overhead(fw)
    elif w == "W4":
        r = w4_inference(fw)
    elif w == "W5":
        r = w5_seed000(fw, a.framework, a.data, a.w5_epochs)
    elif w == "DATA":
        r = w_data(fw, a.framework, a.data)
    else:
        raise SystemExit(f"unknown workload {w}")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
