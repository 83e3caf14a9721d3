"""Seconds of one MNIST epoch of data iteration (batch 64, shuffle, ToTensor + Normalize, one
thread): ember's batch path, ember's per-sample path, and torchvision's per-sample path when it
imports. Runs are interleaved and the best of `--repeats` is kept, so machine load hits every
variant alike. Prints the times and the ratios.

    python bench/bench_data.py [--data ../shared/datasets] [--repeats 3]
"""
from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.environ.get("EMBER_TEST_DATASETS",
                              os.path.join(HERE, "..", "..", "shared", "datasets"))


def epoch_seconds(loader) -> float:
    start = time.perf_counter()
    n = 0
    for images, labels in loader:
        n += len(labels)
    elapsed = time.perf_counter() - start
    assert n == len(loader.dataset), (n, len(loader.dataset))
    return elapsed


def ember_loaders(data):
    import ember
    from ember.utils.data import DataLoader
    from ember.vision import datasets, transforms
    ember.set_num_threads(1)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    fast = datasets.MNIST(data, train=True, transform=tf)
    slow = datasets.MNIST(data, train=True, transform=tf)
    slow.__getitems__ = None  # the DataLoader then fetches sample by sample, like torch
    return (DataLoader(fast, batch_size=64, shuffle=True),
            DataLoader(slow, batch_size=64, shuffle=True))


def torchvision_loader(data, tmp):
    """torchvision's MNIST reads uncompressed files: gunzip a copy into `tmp`."""
    try:
        import types
        sys.modules.setdefault("torchvision._meta_registrations",
                               types.ModuleType("torchvision._meta_registrations"))
        import torch
        import torchvision
        from torchvision import transforms as T
    except ImportError:
        return None
    torch.set_num_threads(1)
    raw = os.path.join(tmp, "MNIST", "raw")
    os.makedirs(raw)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(os.path.join(data, "MNIST", "raw", name + ".gz")) as src, \
                open(os.path.join(raw, name), "wb") as dst:
            dst.write(src.read())
    tf = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    ds = torchvision.datasets.MNIST(tmp, train=True, transform=tf)
    return torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    fast, slow = ember_loaders(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        tv = torchvision_loader(args.data, tmp)
        variants = {"ember batch path": fast, "ember per-sample": slow}
        if tv is not None:
            variants["torchvision per-sample"] = tv
        best = {name: float("inf") for name in variants}
        for _ in range(args.repeats):
            for name, loader in variants.items():
                best[name] = min(best[name], epoch_seconds(loader))
    print("one MNIST epoch of data (60000 images, batch 64, shuffle, ToTensor+Normalize, "
          "1 thread)")
    for name, seconds in best.items():
        print(f"  {name:24s} {seconds:8.3f} s")
    ref = best["ember batch path"]
    for name, seconds in best.items():
        if name != "ember batch path":
            print(f"  {name} / ember batch path = {seconds / ref:6.1f}x")


if __name__ == "__main__":
    main()
