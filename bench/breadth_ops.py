"""Forward+backward time of the breadth ops on ember vs torch, one thread, interleaved in one
process so that machine load hits both alike; the best of --repeats rounds of --steps calls
each. Prints ms and ratios (ember / torch: below 1 is faster).

    python bench/breadth_ops.py [--repeats 5] [--steps 10] [--wall]

Cases: the Spatial Transformer tutorial's sampling (affine_grid + bilinear grid_sample on an
MNIST batch), bicubic/reflection grid_sample, the torchtext classifier's EmbeddingBag + Linear
training step, and pdist.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def cases(fw):
    F = fw.nn.functional
    rng = np.random.default_rng(0)
    x = fw.tensor(rng.random((64, 1, 28, 28), dtype=np.float32), requires_grad=True)
    theta0 = np.tile(np.array([[1, 0, 0], [0, 1, 0]], np.float32), (64, 1, 1))
    theta = fw.tensor(theta0 + 0.1 * rng.standard_normal((64, 2, 3)).astype(np.float32),
                      requires_grad=True)
    img = fw.tensor(rng.random((16, 3, 64, 64), dtype=np.float32), requires_grad=True)
    grid = fw.tensor(rng.uniform(-1.1, 1.1, (16, 48, 48, 2)).astype(np.float32),
                     requires_grad=True)

    def stn():
        g = F.affine_grid(theta, x.size(), align_corners=False)
        F.grid_sample(x, g, align_corners=False).sum().backward()

    def bicubic():
        F.grid_sample(img, grid, mode="bicubic", padding_mode="reflection",
                      align_corners=True).sum().backward()

    vocab, dim, ncls = 20000, 64, 4
    bag = fw.nn.EmbeddingBag(vocab, dim, sparse=False)
    fc = fw.nn.Linear(dim, ncls)
    opt = fw.optim.SGD(list(bag.parameters()) + list(fc.parameters()), lr=5.0)
    lengths = rng.integers(20, 80, 64)
    text = fw.tensor(rng.integers(0, vocab, int(lengths.sum())))
    offsets = fw.tensor(np.concatenate(([0], np.cumsum(lengths)[:-1])))
    labels = fw.tensor(rng.integers(0, ncls, 64))

    def text_step():
        opt.zero_grad()
        F.cross_entropy(fc(bag(text, offsets)), labels).backward()
        opt.step()

    pts = fw.tensor(rng.standard_normal((256, 32)).astype(np.float32), requires_grad=True)
    return {
        "STN affine_grid+bilinear fw+bw": stn,
        "bicubic/reflection fw+bw": bicubic,
        "EmbeddingBag text step": text_step,
        "pdist 256x32 fw+bw": lambda: F.pdist(pts).sum().backward(),
    }


def timeit(fn, steps: int, clock) -> float:
    fn()
    t = clock()
    for _ in range(steps):
        fn()
    return (clock() - t) / steps * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--wall", action="store_true",
                    help="wall-clock time (default: CPU time of this process)")
    args = ap.parse_args()
    clock = time.perf_counter if args.wall else time.process_time
    import torch
    import ember
    torch.set_num_threads(1)
    ct, ce = cases(torch), cases(ember)
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'case':32s} {'torch ms':>9s} {'ember ms':>9s} {'ratio':>6s}")
    for name in ct:
        bt = be = float("inf")
        for _ in range(args.repeats):  # alternate, keep the best of each
            bt = min(bt, timeit(ct[name], args.steps, clock))
            be = min(be, timeit(ce[name], args.steps, clock))
        print(f"{name:32s} {bt:9.3f} {be:9.3f} {be / bt:6.2f}")


if __name__ == "__main__":
    main()
