"""Forward+backward of the ops training code uses most, ember vs torch, one thread, alternating
runs in one process (machine load hits both alike). A survey for slow paths: NumPy has loops
that are several times slower than their neighbours (np.maximum against a number, np.where on a
random mask), and one op on one of them shows here as a ratio far above its siblings'.

    python bench/common_ops.py [--repeats 5] [--steps 20] [--wall] [--only NAME ...]

Sizes: an activation map of the seed CNN at batch 100 (100x6x24x24, 345,600 values), a hidden
layer batch (256x512) and a logits batch (512x1000). Ratios above 1 are ember slower.
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import _timing  # noqa: E402  (bench/, beside this script)

MAP, HID, LOGITS = (100, 6, 24, 24), (256, 512), (512, 1000)


def cases(fw):
    F = fw.nn.functional
    rng = np.random.default_rng(0)

    def leaf(shape, lo=None):
        a = rng.standard_normal(shape).astype(np.float32)
        if lo is not None:
            a = np.abs(a) + lo
        return fw.tensor(a, requires_grad=True)

    x, h, z = leaf(MAP), leaf(HID), leaf(LOGITS)
    pos = leaf(MAP, 0.1)
    p01 = fw.tensor(rng.uniform(0.01, 0.99, HID).astype(np.float32), requires_grad=True)
    y01 = fw.tensor(rng.uniform(0, 1, HID).astype(np.float32))
    cls = fw.tensor(rng.integers(0, 1000, LOGITS[0]))
    bias = leaf((6, 1, 1))
    emb_w = leaf((1000, 128))
    idx = fw.tensor(rng.integers(0, 1000, (64, 64)))
    gmap, ghid, glog = (fw.tensor(rng.standard_normal(s).astype(np.float32))
                        for s in (MAP, HID, LOGITS))
    hb, hb2 = leaf((64, 64, 64)), leaf((64, 64, 64))
    seq, w1d = leaf((32, 64, 128)), leaf((64, 64, 3))
    gbmm, gpad, gup, gseq = (fw.tensor(rng.standard_normal(s).astype(np.float32)) for s in (
        (64, 64, 64), (100, 6, 28, 28), (100, 6, 48, 48), (32, 64, 128)))

    def fb(f, g):
        def run():
            out = f()
            out.backward(g if g is not None else fw.ones_like(out))
        return run

    def scalar(f):
        def run():
            f().backward()
        return run

    return {
        "relu": fb(lambda: F.relu(x), gmap),
        "leaky_relu": fb(lambda: F.leaky_relu(x, 0.2), gmap),
        "elu": fb(lambda: F.elu(x), gmap),
        "gelu": fb(lambda: F.gelu(x), gmap),
        "silu": fb(lambda: F.silu(x), gmap),
        "sigmoid": fb(lambda: fw.sigmoid(x), gmap),
        "tanh": fb(lambda: fw.tanh(x), gmap),
        "softplus": fb(lambda: F.softplus(x), gmap),
        "hardtanh": fb(lambda: F.hardtanh(x), gmap),
        "clamp(-1, 1)": fb(lambda: x.clamp(-1, 1), gmap),
        "exp": fb(lambda: x.exp(), gmap),
        "log": fb(lambda: pos.log(), gmap),
        "sqrt": fb(lambda: pos.sqrt(), gmap),
        "pow 2": fb(lambda: x ** 2, gmap),
        "abs": fb(lambda: x.abs(), gmap),
        "x * y": fb(lambda: x * pos, gmap),
        "x + bias (bcast)": fb(lambda: x + bias, gmap),
        "x / 3": fb(lambda: x / 3, gmap),
        "dropout(0.5)": fb(lambda: F.dropout(x, 0.5), gmap),
        "sum": scalar(lambda: x.sum()),
        "mean(dim=1)": fb(lambda: h.mean(dim=1), ghid[:, 0]),
        "max(dim=1)": fb(lambda: z.max(dim=1)[0], glog[:, 0]),
        "softmax(dim=1)": fb(lambda: F.softmax(z, dim=1), glog),
        "log_softmax(dim=1)": fb(lambda: F.log_softmax(z, dim=1), glog),
        "logsumexp(dim=1)": fb(lambda: z.logsumexp(dim=1), glog[:, 0]),
        "cross_entropy": scalar(lambda: F.cross_entropy(z, cls)),
        "mse_loss": scalar(lambda: F.mse_loss(h, y01)),
        "binary_cross_entropy": scalar(lambda: F.binary_cross_entropy(p01, y01)),
        "bce_with_logits": scalar(lambda: F.binary_cross_entropy_with_logits(h, y01)),
        "layer_norm(512)": fb(lambda: F.layer_norm(h, (512,)), ghid),
        "batch_norm (train)": fb(lambda: F.batch_norm(x, None, None, training=True), gmap),
        "max_pool2d(2)": fb(lambda: F.max_pool2d(x, 2), gmap[:, :, :12, :12].contiguous()),
        "avg_pool2d(2)": fb(lambda: F.avg_pool2d(x, 2), gmap[:, :, :12, :12].contiguous()),
        "transpose.contiguous": fb(lambda: x.transpose(1, 3).contiguous(),
                                   gmap.transpose(1, 3).contiguous()),
        "cat(dim=1)": fb(lambda: fw.cat([x, x], dim=1), fw.cat([gmap, gmap], dim=1)),
        "embedding": fb(lambda: F.embedding(idx, emb_w), fw.ones(64, 64, 128)),
        "masked_fill": fb(lambda: x.masked_fill(x > 0.5, 0.0), gmap),
        "where": fb(lambda: fw.where(x > 0, x, pos), gmap),
        "var(dim=1)": fb(lambda: h.var(dim=1), ghid[:, 0]),
        "norm(dim=1)": fb(lambda: h.norm(dim=1), ghid[:, 0]),
        "cumsum(dim=1)": fb(lambda: h.cumsum(dim=1), ghid),
        "gather(dim=1)": fb(lambda: z.gather(1, cls[:, None]), glog[:, :1]),
        "index_select(0)": fb(lambda: z.index_select(0, cls[:256] % 512), glog[:256]),
        "bmm 64x(64x64)": fb(lambda: fw.bmm(hb, hb2), gbmm),
        "einsum bij,bjk": fb(lambda: fw.einsum("bij,bjk->bik", hb, hb2), gbmm),
        "pad (2,2,2,2)": fb(lambda: F.pad(x, (2, 2, 2, 2)), gpad),
        "interpolate x2": fb(lambda: F.interpolate(x, scale_factor=2), gup),
        "flip(-1)": fb(lambda: x.flip(-1), gmap),
        "repeat(1,2,1,1)": fb(lambda: x.repeat(1, 2, 1, 1), fw.cat([gmap, gmap], dim=1)),
        "expand.contiguous": fb(lambda: bias.expand(6, 24, 24).contiguous(), gmap[0]),
        "stack(dim=0)": fb(lambda: fw.stack([h, h]), fw.stack([ghid, ghid])),
        "chunk(4)[1]": fb(lambda: h.chunk(4, dim=1)[1] * 1, ghid[:, :128]),
        "topk(5)": fb(lambda: z.topk(5, dim=1)[0], glog[:, :5]),
        "argmax(dim=1)": lambda: z.argmax(dim=1),
        "sort(dim=1)": fb(lambda: z.sort(dim=1)[0], glog),
        "one_hot": lambda: F.one_hot(cls, 1000),
        "masked_select": fb(lambda: x.masked_select(x > 1.0), None),
        "conv1d 64->64 k3": fb(lambda: F.conv1d(seq, w1d, padding=1), gseq),
        "adaptive_avg_pool2d 1": fb(lambda: F.adaptive_avg_pool2d(x, 1), gmap[:, :, :1, :1]),
        "group_norm(3)": fb(lambda: F.group_norm(x, 3), gmap),
        "instance_norm": fb(lambda: F.instance_norm(x), gmap),
        "smooth_l1_loss": scalar(lambda: F.smooth_l1_loss(h, y01)),
        "kl_div": scalar(lambda: F.kl_div(F.log_softmax(z, 1), F.softmax(z.detach(), 1),
                                          reduction="batchmean")),
        "cosine_similarity": fb(lambda: F.cosine_similarity(h, h.detach() + 1), ghid[:, 0]),
        "nonzero": lambda: (x > 1.0).nonzero(),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    _timing.add_options(ap, repeats=5, steps=20)
    ap.add_argument("--only", nargs="*", help="case names to run (default: all)")
    args = ap.parse_args()
    import torch

    import ember
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    tc, ec = cases(torch), cases(ember)
    if args.only:
        tc = {k: v for k, v in tc.items() if k in args.only}
    print(f"1 thread; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"{'wall' if args.wall else 'CPU'} time")
    _timing.compare(tc, ec, args, width=24)


if __name__ == "__main__":
    main()
