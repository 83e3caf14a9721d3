"""A character-level language model: trains on any text file, then samples from the model.

Plain PyTorch; runs unchanged on ember:

    python examples/char_lm.py                      # PyTorch, LSTM, examples/data/fables.txt
    ember run examples/char_lm.py --model gpt       # ember, a small GPT
    python examples/char_lm.py --data my.txt --steps 2000 --sample 500

--model lstm: embedding -> LSTM -> linear head. --model gpt: token + position embeddings ->
pre-norm causal TransformerEncoder layers -> LayerNorm -> linear head. Both are trained with
Adam on random windows of the text; the script prints the training loss (nats per character)
next to the unigram entropy of the text, the validation loss, and a sample.
"""
from __future__ import annotations

import argparse
import math
import os
import time
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class LSTMLM(nn.Module):
    def __init__(self, vocab: int, embed: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = nn.LSTM(embed, hidden, layers, batch_first=True,
                           dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embed(x), state)
        return self.head(out), state


class GPT(nn.Module):
    def __init__(self, vocab: int, d_model: int, heads: int, layers: int, context: int,
                 dropout: float):
        super().__init__()
        self.context = context
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(context, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, x, state=None):
        T = x.shape[1]
        h = self.tok(x) + self.pos(torch.arange(T))
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        h = self.blocks(h, mask=mask, is_causal=True)
        return self.head(self.norm(h)), None


def batches(data: torch.Tensor, batch: int, seq: int):
    """Random windows: inputs (batch, seq) and the next characters as targets."""
    starts = torch.randint(0, data.numel() - seq - 1, (batch,))
    idx = starts[:, None] + torch.arange(seq + 1)[None, :]
    win = data[idx]
    return win[:, :-1], win[:, 1:]


@torch.no_grad()
def evaluate(model, data, batch, seq, rounds=4):
    model.eval()
    total = 0.0
    for _ in range(rounds):
        x, y = batches(data, batch, seq)
        logits, _ = model(x)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item()
    model.train()
    return total / rounds


@torch.no_grad()
def sample(model, prompt: torch.Tensor, n: int, temperature: float, context: int):
    """n characters drawn one at a time; the LSTM carries its state, the GPT re-reads its
    last `context` characters."""
    model.eval()
    out = prompt.tolist()
    x = prompt[None, :]
    state = None
    for _ in range(n):
        if isinstance(model, GPT):
            logits, _ = model(torch.tensor([out[-context:]]))
        else:
            logits, state = model(x, state)
        probs = F.softmax(logits[0, -1] / temperature, dim=-1)
        nxt = torch.multinomial(probs, 1)
        out.append(int(nxt.item()))
        x = nxt[None, :]
    model.train()
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.path.join(HERE, "data", "fables.txt"))
    p.add_argument("--model", choices=["lstm", "gpt"], default="lstm")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--embed", type=int, default=64, help="LSTM embedding size")
    p.add_argument("--hidden", type=int, default=256, help="LSTM hidden size / GPT d_model")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--sample", type=int, default=300, help="characters to sample at the end")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    with open(a.data, encoding="utf-8") as fh:
        text = fh.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    split = int(0.9 * data.numel())
    train, val = data[:split], data[split:]
    unigram = -sum(n / len(text) * math.log(n / len(text)) for n in Counter(text).values())
    print(f"{len(text)} characters, vocabulary {len(chars)}, unigram entropy {unigram:.3f} "
          f"nats/char")

    if a.model == "lstm":
        model = LSTMLM(len(chars), a.embed, a.hidden, a.layers, a.dropout)
    else:
        model = GPT(len(chars), a.hidden, a.heads, max(a.layers, 1), a.seq, a.dropout)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{a.model}: {n_params} parameters")
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)

    t0 = time.perf_counter()
    smooth = None
    for step in range(1, a.steps + 1):
        x, y = batches(train, a.batch, a.seq)
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        if a.clip:
            nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        smooth = loss.item() if smooth is None else 0.9 * smooth + 0.1 * loss.item()
        if step % a.log_every == 0 or step == a.steps:
            print(f"step {step:5d}  loss {smooth:.3f}  ({time.perf_counter() - t0:.1f} s)")
    val_loss = evaluate(model, val, a.batch, a.seq)
    print(f"final train loss {smooth:.4f}  val loss {val_loss:.4f}  unigram {unigram:.4f}")
    if a.sample:
        prompt = torch.tensor([stoi[c] for c in text[:a.seq // 2]])
        out = sample(model, prompt, a.sample, a.temperature, a.seq)
        print("----- sample -----")
        print("".join(chars[i] for i in out))
    return smooth, val_loss, unigram


if __name__ == "__main__":
    main()
