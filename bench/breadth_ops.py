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

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import _timing  # noqa: E402  (bench/, beside this script)


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


def main() -> None:
    ap = argparse.ArgumentParser()
    _timing.add_options(ap, repeats=5, steps=10)
    args = ap.parse_args()
    import torch
    import ember
    torch.set_num_threads(1)
    ct, ce = cases(torch), cases(ember)
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    _timing.compare(ct, ce, args, width=32, digits=3)


if __name__ == "__main__":
    main()
