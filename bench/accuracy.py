"""Test-set accuracy of the seed recipes on ember and on torch, same start, same batches.

Both frameworks start from the same initial weights (ember's, copied into torch) and see the
same batches in the same order (one NumPy permutation per epoch), so any gap comes from the
frameworks' arithmetic alone.

    python bench/accuracy.py [--data ../shared/datasets] [--recipes mlp-sgd mlp-adam cnn-adam]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

RECIPES = {
    # name: dataset, model, optimizer, lr, batch, epochs, normalise with (0.5, 0.5)
    "mlp-sgd": ("MNIST", "mlp", "sgd", 0.01, 64, 5, True),
    "mlp-adam": ("MNIST", "mlp", "adam", 0.001, 64, 5, True),
    "cnn-adam": ("FashionMNIST", "cnn", "adam", 0.01, 100, 3, False),
}
TARGETS = {"mlp-sgd": 0.92, "mlp-adam": 0.97, "cnn-adam": 0.85}


def load_arrays(data, name, normalise):
    import ember.vision.datasets as ds
    cls = getattr(ds, name)
    out = []
    for train in (True, False):
        d = cls(data, train=train, download=False)
        x = d.data.numpy().astype(np.float32) / np.float32(255.0)
        if normalise:
            x = (x - np.float32(0.5)) / np.float32(0.5)
        out.append((x[:, None], d.targets.numpy()))
    return out


def build(fw, kind):
    sys.path.insert(0, HERE)
    from workloads import _models
    mlp, CNN = _models(fw)
    return mlp() if kind == "mlp" else CNN()


def run(fw, recipe, arrays, init_state, seed=0):
    _, kind, opt_name, lr, batch, epochs, _ = RECIPES[recipe]
    (xtr, ytr), (xte, yte) = arrays
    fw.manual_seed(seed)
    model = build(fw, kind)
    if init_state is not None:
        model.load_state_dict({k: fw.from_numpy(v.copy()) for k, v in init_state.items()})
    opt = (fw.optim.SGD(model.parameters(), lr=lr) if opt_name == "sgd"
           else fw.optim.Adam(model.parameters(), lr=lr))
    crit = fw.nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    flat = kind == "mlp"
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = rng.permutation(len(xtr))
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            x = fw.from_numpy(xtr[idx])
            if flat:
                x = x.view(x.shape[0], -1)
            y = fw.from_numpy(ytr[idx])
            opt.zero_grad()
            loss = crit(model(x), y)
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - t0
    correct = 0
    with fw.no_grad():
        for i in range(0, len(xte), 1000):
            x = fw.from_numpy(xte[i:i + 1000])
            if flat:
                x = x.view(x.shape[0], -1)
            correct += int((model(x).argmax(dim=1) == fw.from_numpy(yte[i:i + 1000])).sum())
    return correct / len(xte), seconds, model


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "datasets"))
    p.add_argument("--recipes", nargs="+", default=list(RECIPES))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json")
    a = p.parse_args()
    import ember
    ember.set_num_threads(a.threads)
    try:
        import torch
        torch.set_num_threads(a.threads)
    except ImportError:
        torch = None
    results = {}
    for r in a.recipes:
        name, kind, *_rest, normalise = RECIPES[r]
        arrays = load_arrays(a.data, name, normalise)
        ember.manual_seed(0)
        init = {k: v.detach().numpy().copy() for k, v in build(ember, kind).state_dict().items()}
        acc_e, sec_e, _ = run(ember, r, arrays, init)
        line = f"{r:9s} ember accuracy {acc_e:.4f} ({sec_e:.1f} s)"
        res = {"ember": acc_e, "ember_seconds": sec_e, "target": TARGETS[r]}
        if torch is not None:
            acc_t, sec_t, _ = run(torch, r, arrays, init)
            line += f"  torch {acc_t:.4f} ({sec_t:.1f} s)  gap {100 * (acc_e - acc_t):+.2f} pp"
            res.update(torch=acc_t, torch_seconds=sec_t)
        print(line + f"  target >= {TARGETS[r]}", flush=True)
        results[r] = res
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()
