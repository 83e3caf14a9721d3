"""Train the seed MLP or CNN data-parallel on real MNIST, for torch (gloo) and ember alike.

    mpiexec -n 2 ember run ddp_train.py --model mlp --mode ddp --out DIR     (ember)
    mpiexec -n 2 python ddp_train.py ...                                      (real torch)
    ember run ddp_train.py --mode single --world 2 ...   (one process, the combined batches)

Every rank reads the same start (`--init`, a state_dict), takes batches from DistributedSampler,
and saves its final parameters to DIR/<mode>-rank<R>.pth. `--mode nosync` accumulates two
half-batches under no_sync() before each synchronised one; `--mode single` runs one process on
the union of the ranks' batches, which DDP's averaged gradient must reproduce.
"""
import argparse
import gzip
import os

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DistributedSampler

p = argparse.ArgumentParser()
p.add_argument("--model", default="mlp")
p.add_argument("--mode", default="ddp")
p.add_argument("--steps", type=int, default=200)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--world", type=int, default=2)
p.add_argument("--data", required=True)
p.add_argument("--init", required=True)
p.add_argument("--out", required=True)
args = p.parse_args()


def mnist(root, n):
    with gzip.open(os.path.join(root, "MNIST", "raw", "train-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16)[:n * 784].reshape(n, 1, 28, 28)
    with gzip.open(os.path.join(root, "MNIST", "raw", "train-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    return torch.from_numpy((x.astype(np.float32) / 255 - 0.5) / 0.5), torch.from_numpy(y.astype(np.int64))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 12, 5)
        self.fc1 = nn.Linear(12 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 60)
        self.out = nn.Linear(60, 10)

    def forward(self, t):
        t = F.max_pool2d(F.relu(self.conv1(t)), 2, 2)
        t = F.max_pool2d(F.relu(self.conv2(t)), 2, 2)
        t = F.relu(self.fc2(F.relu(self.fc1(t.reshape(-1, 192)))))
        return self.out(t)


def build():
    if args.model == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64),
                             nn.ReLU(), nn.Linear(64, 10))
    return CNN()


torch.set_num_threads(1)
model = build()
model.load_state_dict(torch.load(args.init, weights_only=True))
B, W = args.batch, args.world
x, y = mnist(args.data, args.steps * B * W)
lr = 0.01
if args.mode == "single":
    rank = 0
    samplers = [list(DistributedSampler(range(len(x)), W, r, shuffle=True, seed=7)) for r in range(W)]
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.0)
    for step in range(args.steps):
        idx = torch.tensor([i for s in samplers for i in s[step * B:(step + 1) * B]])
        opt.zero_grad()
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
else:
    if "RANK" not in os.environ:  # real torch under mpiexec: torchrun's variables from MPI's
        os.environ.update(RANK=os.environ["PMI_RANK"], WORLD_SIZE=os.environ["PMI_SIZE"],
                          MASTER_ADDR="127.0.0.1", MASTER_PORT=os.environ.get("PORT", "29533"))
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    ddp = DDP(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=lr, momentum=0.0)
    idx_all = list(DistributedSampler(range(len(x)), shuffle=True, seed=7))
    for step in range(args.steps):
        idx = torch.tensor(idx_all[step * B:(step + 1) * B])
        opt.zero_grad()
        if args.mode == "nosync":  # two half batches: the first accumulates locally
            h = B // 2
            with ddp.no_sync():
                (F.cross_entropy(ddp(x[idx[:h]]), y[idx[:h]]) * h / B).backward()
            (F.cross_entropy(ddp(x[idx[h:]]), y[idx[h:]]) * (B - h) / B).backward()
        else:
            F.cross_entropy(ddp(x[idx]), y[idx]).backward()
        opt.step()
    dist.destroy_process_group()
torch.save(model.state_dict(), os.path.join(args.out, f"{args.mode}-rank{rank}.pth"))
print("trained", args.mode, rank)
