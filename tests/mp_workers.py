"""Process bodies for test_multiprocessing.py (importable by spawned children). Each takes the
library (ember or torch) by name, so the same code runs on both."""
from __future__ import annotations

import importlib


def lib(name):
    return importlib.import_module(name)


def fill_rank(i, name, out):
    """spawn target: write this process's index into its slot of a shared tensor."""
    out[i] = float(i + 1) * 10


def fail_on_one(i, name):
    if i == 1:
        raise ValueError(f"rank {i} failed on purpose")


def exit_on_one(i, name):
    if i == 1:
        import sys
        sys.exit(3)


def add_one_and_reply(q, done, ev):
    """Receive a tensor, change it in place, send a new tensor back; stay alive until the
    parent has it (the sender of a descriptor must outlive its receipt, as in torch)."""
    t = q.get()
    t.add_(1)
    done.put(lib("ember").arange(5.0) * 10)
    ev.wait()


def hogwild_train(name, model, rank, steps, barrier):
    """Hogwild: train the shared model in place from one process (torch's mnist_hogwild body).
    Rank r's loss reaches only layer r, so each layer is written by one process and the final
    values are exact; a final phase updates the shared `bias` of both layers from both."""
    L = lib(name)
    L.manual_seed(100 + rank)
    opt = L.optim.SGD(model.parameters(), lr=0.05)
    layer = model[rank]
    x = L.randn(16, 4)
    barrier.wait()  # both processes train at the same time
    for _ in range(steps):
        opt.zero_grad()
        loss = (layer(x) - 1.0).pow(2).mean()
        loss.backward()
        opt.step()


def square(t):
    return t * t
