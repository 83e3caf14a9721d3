"""The DCGAN step of bench_generative.py taken apart: each layer's forward and forward+backward
at the step's shapes (batch 64), ember vs torch at 1 thread in ONE process, alternating runs,
the best of each kept; plus Adam's steps and the BCE-with-logits loss. The "uses" column says how
often the step runs that call, so that uses x (ember - torch) shows where the step's gap is.

    python bench/bench_dcgan_layers.py [--repeats 5] [--steps 5] [--only CT2]
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import _timing  # noqa: E402  (bench/, beside this script)

B = 64

# name: (module builder, input shape, input needs grad, uses per step (fw, bw))
LAYERS = {
    "G CT1 64->128 k7 1->7": (lambda nn: nn.ConvTranspose2d(64, 128, 7, 1, 0, bias=False),
                              (B, 64, 1, 1), False, (1, 1)),
    "G BN128 @7": (lambda nn: nn.BatchNorm2d(128), (B, 128, 7, 7), True, (1, 1)),
    "G ReLU 128 @7": (lambda nn: nn.ReLU(), (B, 128, 7, 7), True, (1, 1)),
    "G CT2 128->64 k4s2 7->14": (lambda nn: nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False),
                                 (B, 128, 7, 7), True, (1, 1)),
    "G BN64 @14": (lambda nn: nn.BatchNorm2d(64), (B, 64, 14, 14), True, (1, 1)),
    "G ReLU 64 @14": (lambda nn: nn.ReLU(), (B, 64, 14, 14), True, (1, 1)),
    "G CT3 64->1 k4s2 14->28": (lambda nn: nn.ConvTranspose2d(64, 1, 4, 2, 1, bias=False),
                                (B, 64, 14, 14), True, (1, 1)),
    "G Tanh @28": (lambda nn: nn.Tanh(), (B, 1, 28, 28), True, (1, 1)),
    "D C1 1->64 k4s2 28->14 (no dx)": (lambda nn: nn.Conv2d(1, 64, 4, 2, 1, bias=False),
                                       (B, 1, 28, 28), False, (3, 2)),
    "D C1 1->64 k4s2 28->14": (lambda nn: nn.Conv2d(1, 64, 4, 2, 1, bias=False),
                               (B, 1, 28, 28), True, (0, 1)),
    "D LReLU 64 @14": (lambda nn: nn.LeakyReLU(0.2), (B, 64, 14, 14), True, (3, 3)),
    "D C2 64->128 k4s2 14->7": (lambda nn: nn.Conv2d(64, 128, 4, 2, 1, bias=False),
                                (B, 64, 14, 14), True, (3, 3)),
    "D BN128 @7": (lambda nn: nn.BatchNorm2d(128), (B, 128, 7, 7), True, (3, 3)),
    "D LReLU 128 @7": (lambda nn: nn.LeakyReLU(0.2), (B, 128, 7, 7), True, (3, 3)),
    "D Linear 6272->1": (lambda nn: nn.Linear(128 * 7 * 7, 1), (B, 128 * 7 * 7), True, (3, 3)),
}


def cases(fw, only=None):
    fw.manual_seed(0)
    rng = np.random.default_rng(0)
    out = {}
    for name, (make, shape, needs_grad, _uses) in LAYERS.items():
        if only and only not in name:
            continue
        m = make(fw.nn)
        x = fw.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=needs_grad)
        with fw.no_grad():
            g = fw.tensor(rng.standard_normal(tuple(m(x).shape)).astype(np.float32))

        def fo(m=m, x=x):
            m(x)

        def fb(m=m, x=x, g=g):
            m(x).backward(g)
        out[name + " fw"] = fo
        out[name + " fw+bw"] = fb
    # the step's activations run in place on a fresh array (a copy, timed alike on both)
    for name, shape, make in (("G ReLU(True) 64 @14 (incl. clone)", (B, 64, 14, 14),
                               lambda nn: nn.ReLU(True)),
                              ("D LReLU(0.2, True) 64 @14 (incl. clone)", (B, 64, 14, 14),
                               lambda nn: nn.LeakyReLU(0.2, True))):
        if only and only not in name:
            continue
        m = make(fw.nn)
        x = fw.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
        g = fw.tensor(rng.standard_normal(shape).astype(np.float32))
        out[name + " fw"] = lambda m=m, x=x: m(x.clone())
        out[name + " fw+bw"] = lambda m=m, x=x, g=g: m(x.clone()).backward(g)
    if only is None or "Adam" in only or "loss" in only:
        F = fw.nn.functional
        logits = fw.tensor(rng.standard_normal((B, 1)).astype(np.float32), requires_grad=True)
        ones = fw.ones(B, 1)
        out["BCE-with-logits fw+bw"] = lambda: F.binary_cross_entropy_with_logits(
            logits, ones).backward()
        for label, params in (("Adam G", [(64, 128, 7, 7), (128,), (128,), (128, 64, 4, 4),
                                          (64,), (64,), (64, 1, 4, 4)]),
                              ("Adam D", [(1, 64, 4, 4), (64, 128, 4, 4), (128,), (128,),
                                          (1, 6272), (1,)])):
            ps = [fw.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
                  for s in params]
            for p in ps:
                p.grad = fw.tensor(rng.standard_normal(p.shape).astype(np.float32))
            opt = fw.optim.Adam(ps, lr=2e-4, betas=(0.5, 0.999))
            out[label + " step"] = opt.step
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    _timing.add_options(ap, repeats=5, steps=5)
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    import torch

    import ember
    _timing.one_thread(torch)
    ct, ce = cases(torch, args.only), cases(ember, args.only)
    print(f"batch {B}, 1 thread, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    _timing.compare(ct, ce, args, width=40, digits=3)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
