"""The 3-d layers, antialiased interpolation and a double-backward gradient penalty, ember vs
torch, one thread, interleaved in one process so that machine load hits both alike; the best of
--repeats rounds of --steps calls (forward + backward each).

  * Conv3d(16, 32, 3, padding=1) and ConvTranspose3d(32, 16, 4, stride=2, padding=1) on a batch
    of 4 volumes (16^3 and 8^3), MaxPool3d(3, 2, 1), AvgPool3d(3, 2, 1);
  * F.interpolate(bicubic, antialias=True) of 8x3x128x128 images to 37x41;
  * a gradient penalty (grad of ||dL/dx||^2 w.r.t. the parameters) through an LSTM
    (64 -> 128, sequence 32, batch 16) and through a TransformerEncoderLayer (d_model 64,
    4 heads, sequence 32, batch 8; torch on its math SDPA backend, its fused CPU kernel being
    once-differentiable).

Prints ms per call and the ember/torch ratio.

    python bench/bench_apigaps.py [--repeats 5] [--steps 3]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _fwd_bwd(fw, make, shape):
    m = make(fw)
    x = fw.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32),
                  requires_grad=True)

    def step():
        m(x).sum().backward()
    return step


def _penalty(fw, model, shape, ctx=None):
    x = fw.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32),
                  requires_grad=True)

    def step():
        if ctx is not None:
            with ctx():
                out = model(x)
        else:
            out = model(x)
        out = out[0] if isinstance(out, tuple) else out
        (g,) = fw.autograd.grad((out ** 2).sum(), x, create_graph=True)
        (g ** 2).sum().backward()
    return step


def cases(fw, is_torch: bool):
    fw.manual_seed(0)
    nn = fw.nn
    ctx = None
    if is_torch:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        def ctx():
            return sdpa_kernel(SDPBackend.MATH)
    layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True)
    return {
        "Conv3d 16->32 k3, 4x16^3": _fwd_bwd(fw, lambda f: f.nn.Conv3d(16, 32, 3, padding=1),
                                             (4, 16, 16, 16, 16)),
        "ConvTranspose3d 32->16 k4 s2, 4x8^3": _fwd_bwd(
            fw, lambda f: f.nn.ConvTranspose3d(32, 16, 4, stride=2, padding=1), (4, 32, 8, 8, 8)),
        "MaxPool3d(3, 2, 1), 4x16x16^3": _fwd_bwd(fw, lambda f: f.nn.MaxPool3d(3, 2, 1),
                                                  (4, 16, 16, 16, 16)),
        "AvgPool3d(3, 2, 1), 4x16x16^3": _fwd_bwd(fw, lambda f: f.nn.AvgPool3d(3, 2, 1),
                                                  (4, 16, 16, 16, 16)),
        "interpolate bicubic aa 128->37x41": _fwd_bwd(
            fw, lambda f: (lambda x: f.nn.functional.interpolate(
                x, size=(37, 41), mode="bicubic", antialias=True)), (8, 3, 128, 128)),
        "LSTM gradient penalty": _penalty(fw, nn.LSTM(64, 128), (32, 16, 64)),
        "encoder layer gradient penalty": _penalty(fw, layer, (8, 32, 64), ctx),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=3)
    args = p.parse_args()
    import torch
    import ember
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(1)
    with threadpool_limits(1):
        tc, ec = cases(torch, True), cases(ember, False)
        print(f"1 thread; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(f"{'case':40s} {'torch ms':>9s} {'ember ms':>9s} {'ember/torch':>12s}")
        for name in tc:
            best = {"t": 1e9, "e": 1e9}
            for fn in (tc[name], ec[name]):  # warm-up
                fn()
            for _ in range(args.repeats):
                for key, fn in (("t", tc[name]), ("e", ec[name])):
                    t0 = time.perf_counter()
                    for _ in range(args.steps):
                        fn()
                    best[key] = min(best[key], (time.perf_counter() - t0) / args.steps)
            print(f"{name:40s} {best['t'] * 1e3:9.2f} {best['e'] * 1e3:9.2f} "
                  f"{best['e'] / best['t']:11.2f}x")


if __name__ == "__main__":
    main()
