"""A GPT-style decoder on ember vs torch, one thread, interleaved in one process so that machine
load hits both alike: a training step (2 layers, 4 heads, d_model 128, context 64, batch 16,
AdamW, causal scaled_dot_product_attention, tied embeddings) and generation of 200 tokens one
at a time under no_grad. Prints the best-of-rounds times and the median over rounds of the
ratio ember/torch of the round's two adjacent timings (robust to load that comes and goes:
both frameworks of a round see the same machine).

    python bench/bench_gpt.py [--rounds 7] [--steps 10] [--tokens 200]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

VOCAB, CONTEXT, D_MODEL, HEADS, LAYERS, BATCH = 65, 64, 128, 4, 2, 16


def make_gpt(fw):
    """The model class on framework fw (the same code for both: a user's nanoGPT-style model)."""
    nn, F = fw.nn, fw.nn.functional

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(D_MODEL, 3 * D_MODEL)
            self.c_proj = nn.Linear(D_MODEL, D_MODEL)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.c_attn(x).split(D_MODEL, dim=2)
            q = q.view(b, t, HEADS, c // HEADS).transpose(1, 2)
            k = k.view(b, t, HEADS, c // HEADS).transpose(1, 2)
            v = v.view(b, t, HEADS, c // HEADS).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(b, t, c)
            return self.c_proj(y)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(D_MODEL)
            self.attn = Attention()
            self.ln_2 = nn.LayerNorm(D_MODEL)
            self.c_fc = nn.Linear(D_MODEL, 4 * D_MODEL)
            self.c_proj = nn.Linear(4 * D_MODEL, D_MODEL)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(VOCAB, D_MODEL)
            self.wpe = nn.Embedding(CONTEXT, D_MODEL)
            self.h = nn.ModuleList([Block() for _ in range(LAYERS)])
            self.ln_f = nn.LayerNorm(D_MODEL)
            self.lm_head = nn.Linear(D_MODEL, VOCAB, bias=False)
            self.lm_head.weight = self.wte.weight  # weight tying
            self.apply(self._init_weights)

        @staticmethod
        def _init_weights(m):  # GPT-2's: N(0, 0.02) weights, zero biases
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)

        def forward(self, idx, targets=None):
            t = idx.shape[1]
            x = self.wte(idx) + self.wpe(fw.arange(t))
            for block in self.h:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            if targets is None:
                return logits
            return F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))

    return GPT


def cases(fw, x_np, y_np, tokens):
    fw.manual_seed(0)
    model = make_gpt(fw)()
    opt = fw.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    x, y = fw.tensor(x_np), fw.tensor(y_np)
    start = fw.tensor(x_np[:1, :1])

    def train_step():
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    def generate():
        idx = start
        with fw.no_grad():
            for _ in range(tokens):
                logits = model(idx[:, -CONTEXT:])[:, -1, :]
                probs = fw.nn.functional.softmax(logits, dim=-1)
                idx = fw.cat((idx, fw.multinomial(probs, num_samples=1)), dim=1)
        return idx

    return model, {"train step": train_step, f"generate {tokens} tokens": generate}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--steps", type=int, default=10, help="training steps per timed round")
    p.add_argument("--tokens", type=int, default=200)
    a = p.parse_args()

    import torch

    import ember
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    rng = np.random.default_rng(0)
    x_np = rng.integers(0, VOCAB, (BATCH, CONTEXT)).astype(np.int64)
    y_np = np.roll(x_np, -1, axis=1)
    fws = {"torch": torch, "ember": ember}
    built = {n: cases(fw, x_np, y_np, a.tokens) for n, fw in fws.items()}
    n_params = sum(p.numel() for p in built["ember"][0].parameters())
    print(f"GPT: {LAYERS} layers, {HEADS} heads, d_model {D_MODEL}, context {CONTEXT}, "
          f"batch {BATCH}, vocab {VOCAB}, {n_params} parameters (tied lm_head); 1 thread; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    losses = {n: float(built[n][1]["train step"]().detach()) for n in fws}  # warm-up
    print(f"first-step loss: torch {losses['torch']:.6f}  ember {losses['ember']:.6f}")
    for n in fws:
        built[n][1][f"generate {a.tokens} tokens"]()
    reps = {"train step": a.steps, f"generate {a.tokens} tokens": 1}
    times = {(n, c): [] for n in fws for c in reps}
    for _ in range(a.rounds):
        for c, k in reps.items():
            for n in fws:  # alternate frameworks within each round
                fn = built[n][1][c]
                t0 = time.perf_counter()
                for _ in range(k):
                    fn()
                times[n, c].append((time.perf_counter() - t0) / k)
    print(f"{'case':<24}{'torch ms':>12}{'ember ms':>12}{'ember/torch':>14}")
    for c in reps:
        t, e = min(times["torch", c]) * 1e3, min(times["ember", c]) * 1e3
        ratio = statistics.median(x / y for x, y in zip(times["ember", c], times["torch", c]))
        print(f"{c:<24}{t:>12.2f}{e:>12.2f}{ratio:>13.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
