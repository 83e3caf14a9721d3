"""Recurrent language-model training steps on ember vs torch, one thread, in one process with the
timed chunks alternating (machine load hits both alike). Prints ms per step and the median ratio
ember/torch over adjacent chunk pairs.

Workload (issue 10): char-level LM, vocab 65, embedding 64, hidden 256, 1 layer, sequence 64,
batch 32, Adam; an LSTM and a GRU of the same size.

    python bench/bench_rnn.py [--rounds 7] [--steps 5] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

VOCAB, EMBED, HIDDEN, SEQ, BATCH = 65, 64, 256, 64, 32


def make_step(fw, kind, tokens):
    """A zero-argument training step of a char-level `kind` ('LSTM' or 'GRU') LM on fw."""
    nn = fw.nn
    fw.manual_seed(0)

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, EMBED)
            self.rnn = getattr(nn, kind)(EMBED, HIDDEN, batch_first=True)
            self.head = nn.Linear(HIDDEN, VOCAB)

        def forward(self, x):
            out, _ = self.rnn(self.embed(x))
            return self.head(out)

    model = CharLM()
    opt = fw.optim.Adam(model.parameters(), lr=1e-3)
    x = fw.tensor(tokens[:, :-1])
    y = fw.tensor(tokens[:, 1:]).reshape(-1)

    def step():
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, VOCAB), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def chunk_ms(step, n):
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t0) / n * 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--steps", type=int, default=5, help="steps per timed chunk")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()

    import ember
    import torch
    torch.set_num_threads(a.threads)
    ember.set_num_threads(a.threads)
    tokens = np.random.default_rng(0).integers(0, VOCAB, (BATCH, SEQ + 1)).astype(np.int64)
    print(f"threads {a.threads}, load average {os.getloadavg()[0]:.2f} "
          f"(cores: {os.cpu_count()})")
    print(f"{'workload':<42}{'torch ms':>10}{'ember ms':>10}{'ratio':>8}")
    for kind in ("LSTM", "GRU"):
        steps = {name: make_step(fw, kind, tokens) for name, fw in
                 (("torch", torch), ("ember", ember))}
        for s in steps.values():  # warm up
            s()
            s()
        times = {"torch": [], "ember": []}
        for _ in range(a.rounds):
            for name in ("torch", "ember"):
                times[name].append(chunk_ms(steps[name], a.steps))
        ratio = statistics.median(e / t for e, t in zip(times["ember"], times["torch"]))
        label = f"char {kind} LM train step (Adam)"
        print(f"{label:<42}{min(times['torch']):>10.2f}{min(times['ember']):>10.2f}"
              f"{ratio:>7.2f}x")


if __name__ == "__main__":
    main()
