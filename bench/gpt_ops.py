"""The ops of bench/bench_gpt.py's GPT one at a time, torch and ember side by side at one thread:
at a generation step's shapes (batch 1, 64 tokens, no_grad) and at the training step's
(batch 16 x 64 tokens, forward + backward). Best-of-rounds microseconds per call and the
ratio ember/torch; a model's step runs them with colder caches, so bench_gpt.py stays the
measure of record.

    python bench/gpt_ops.py [--rounds 7]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

D, HEADS, HIDDEN, VOCAB = 128, 4, 512, 65


def generation_ops(fw, rng, t=64):
    """No-grad calls of one generation step at context t."""
    F = fw.nn.functional
    fw.manual_seed(0)
    x = fw.tensor(rng.standard_normal((1, t, D)).astype(np.float32))
    h = fw.tensor(rng.standard_normal((1, t, HIDDEN)).astype(np.float32))
    qkv = fw.tensor(rng.standard_normal((1, t, 3 * D)).astype(np.float32))
    logits = fw.tensor(rng.standard_normal((1, t, VOCAB)).astype(np.float32))
    idx = fw.tensor(rng.integers(0, VOCAB, (1, t)))
    ln = fw.nn.LayerNorm(D)
    lins = {f"linear {i}->{o}": fw.nn.Linear(i, o) for i, o in
            ((D, 3 * D), (D, D), (D, HIDDEN), (HIDDEN, D))}
    ins = {D: x, HIDDEN: h}

    def attention():
        q, k, v = qkv.split(D, dim=2)
        q, k, v = (a.view(1, t, HEADS, D // HEADS).transpose(1, 2) for a in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return y.transpose(1, 2).contiguous().view(1, t, D)

    def sample():
        p = F.softmax(logits[:, -1, :], dim=-1)
        return fw.cat((idx, fw.multinomial(p, num_samples=1)), dim=1)

    ops = {"layer_norm": lambda: ln(x), "gelu": lambda: F.gelu(h),
           "attention (split..view)": attention, "sample (softmax, multinomial, cat)": sample}
    for name, lin in lins.items():
        ops[name] = (lambda lin=lin: lin(ins[lin.in_features]))
    return ops


def training_ops(fw, rng, b=16, t=64):
    """Forward + backward of the training step's ops (and one AdamW step over two layers)."""
    F = fw.nn.functional
    fw.manual_seed(0)

    def leaf(*shape):
        return fw.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)

    x, h, qkv = leaf(b, t, D), leaf(b, t, HIDDEN), leaf(b, t, 3 * D)
    g_d = fw.tensor(rng.standard_normal((b, t, D)).astype(np.float32))
    g_h = fw.tensor(rng.standard_normal((b, t, HIDDEN)).astype(np.float32))
    ln = fw.nn.LayerNorm(D)
    fc, proj = fw.nn.Linear(D, HIDDEN), fw.nn.Linear(HIDDEN, D)
    params = [p for m in (fc, proj, ln) for p in m.parameters()]
    for p in params:
        p.grad = fw.ones_like(p)
    opt = fw.optim.AdamW(params, lr=1e-3, weight_decay=0.1)

    def attention():
        q, k, v = qkv.split(D, dim=2)
        q, k, v = (a.view(b, t, HEADS, D // HEADS).transpose(1, 2) for a in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y.transpose(1, 2).contiguous().view(b, t, D).backward(g_d)

    return {"layer_norm fw+bw": lambda: ln(x).backward(g_d),
            "gelu fw+bw": lambda: F.gelu(h).backward(g_h),
            "linear 128->512 fw+bw": lambda: fc(x).backward(g_h),
            "linear 512->128 fw+bw": lambda: proj(h).backward(g_d),
            "attention fw+bw": attention,
            "AdamW step (2 layers + LN)": opt.step}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    a = p.parse_args()
    import torch

    import ember
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    print(f"1 thread; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for title, build, grad in (("generation step, no_grad, batch 1 x 64 tokens", generation_ops,
                                False),
                               ("training step, batch 16 x 64 tokens", training_ops, True)):
        sets = {n: build(fw, np.random.default_rng(0)) for n, fw in
                (("torch", torch), ("ember", ember))}
        print(f"\n{title}\n{'op':<36}{'torch us':>10}{'ember us':>10}{'ratio':>8}")
        for op in sets["torch"]:
            fns = [sets["torch"][op], sets["ember"][op]]
            t0 = time.perf_counter()
            fns[0]()
            reps = max(3, int(0.02 / max(time.perf_counter() - t0, 1e-6)))
            best = [float("inf")] * 2
            for _ in range(a.rounds):
                for i, (f, fw) in enumerate(zip(fns, (torch, ember))):
                    with (fw.enable_grad() if grad else fw.no_grad()):
                        t0 = time.perf_counter()
                        for _ in range(reps):
                            f()
                        best[i] = min(best[i], (time.perf_counter() - t0) / reps)
            print(f"{op:<36}{best[0] * 1e6:>10.1f}{best[1] * 1e6:>10.1f}"
                  f"{best[1] / best[0]:>7.2f}x")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
