"""Data-parallel speed: the seed CNN epoch (W2: 600 steps of batch 100, Adam, Fashion-MNIST)
with 2 processes x 1 BLAS thread under MPI against 1 process x 1 thread.

    python bench/bench_ddp.py [--data ../shared/datasets] [--steps 600]

Both runs take the same 600 steps of global batch 100 (the 2-process run: 50 samples per rank
per step, its gradient averaged by DDP), so they should reach the same final loss. With
--scale-batch each rank runs W2's own batch of 100 (global 200, the epoch in 300 steps: how DDP
is used, each process loading its batch through a DistributedSampler); the test loss after the
epoch says whether it trains as well. Reports samples per
second, the speed-up, the final training loss of both, the share of a step spent in the
gradient allreduce, the loss of the trained model on the 10,000 test images, the bound the
per-step cost sets, and the machine's load average while it ran.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

WORKER = r'''
import gzip, json, os, sys, time
import numpy as np
import ember as torch
import ember.nn as nn, ember.nn.functional as F
import ember.distributed as dist
from ember.nn.parallel import DistributedDataParallel as DDP
data, steps, world, scale = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
alone = world < 0  # -N: rank 0's share of an N-rank job, run without MPI (the machine's ceiling)
world = abs(world)
comms = world > 1 and not alone
torch.set_num_threads(1)
def idx(name, off, shape):
    with gzip.open(os.path.join(data, "FashionMNIST", "raw", name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=off).reshape(shape)
x = idx("train-images-idx3-ubyte.gz", 16, (-1, 1, 28, 28)).astype(np.float32) / 255
y = idx("train-labels-idx1-ubyte.gz", 8, (-1,)).astype(np.int64)
class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5); self.conv2 = nn.Conv2d(6, 12, 5)
        self.fc1 = nn.Linear(192, 120); self.fc2 = nn.Linear(120, 60); self.out = nn.Linear(60, 10)
    def forward(self, t):
        t = F.max_pool2d(F.relu(self.conv1(t)), 2, 2)
        t = F.max_pool2d(F.relu(self.conv2(t)), 2, 2)
        return self.out(F.relu(self.fc2(F.relu(self.fc1(t.reshape(-1, 192))))))
torch.manual_seed(0)
model = CNN()
rank = 0
net = model
if comms:
    dist.init_process_group("mpi")
    rank = dist.get_rank()
    net = DDP(model)
opt = torch.optim.Adam(model.parameters(), lr=0.01)
if scale:  # 100 per rank: global batch 100 x world, steps / world of them
    B, my_steps = 100, steps // world
else:  # the global batch stays 100: the same steps, so the same final loss
    B, my_steps = 100 // world, steps
order = np.random.default_rng(0).permutation(len(x))[:my_steps * B * world].reshape(
    my_steps, world, B)[:, rank]
batches = [(torch.from_numpy(x[i]), torch.from_numpy(y[i])) for i in order]
losses = []
t0 = time.perf_counter()
for xb, yb in batches:
    opt.zero_grad()
    loss = F.cross_entropy(net(xb), yb)
    loss.backward()
    opt.step()
    losses.append(loss.item())
seconds = time.perf_counter() - t0
tx = idx("t10k-images-idx3-ubyte.gz", 16, (-1, 1, 28, 28)).astype(np.float32) / 255
ty = idx("t10k-labels-idx1-ubyte.gz", 8, (-1,)).astype(np.int64)
with torch.no_grad():  # the trained model on the 10,000 test images (the same on every rank)
    test_loss = F.cross_entropy(model(torch.from_numpy(tx)), torch.from_numpy(ty)).item()
comm = 0.0
if comms:  # the allreduce of one step's gradients alone, timed on the same buffers
    flat = torch.zeros(sum(p.numel() for p in model.parameters()))
    dist.barrier()
    c0 = time.perf_counter()
    for _ in range(100):
        dist.all_reduce(flat)
    comm = (time.perf_counter() - c0) / 100
line = json.dumps({"rank": rank, "seconds": seconds, "steps": my_steps,
                   "loss": float(np.mean(losses[-50:])), "test_loss": test_loss,
                   "allreduce_s": comm})
for i in range(world):  # one rank at a time: mpiexec would interleave the lines
    if i == rank:
        print(line, flush=True)
    if comms:
        dist.barrier()
'''


def run(cmd, env):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "datasets"))
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--scale-batch", action="store_true",
                   help="100 samples per rank per step (global batch 200, half the steps) "
                        "instead of 50 (global batch 100, the same steps as one process)")
    p.add_argument("--mpiexec-args", default="",
                   help="extra mpiexec options, e.g. '-bind-to core' (MPICH) to pin the ranks")
    a = p.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=os.path.join(ROOT, "src"))
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    script = os.path.join("/tmp", f"ember_bench_ddp_{os.getpid()}.py")
    with open(script, "w") as f:
        f.write(WORKER)
    load0 = os.getloadavg()[0]
    one, two, indep, half = [], [], [], []
    try:
        for _ in range(a.repeat):  # alternate, so both see the same phases of the machine
            sc = "1" if a.scale_batch else "0"
            one.append(run([sys.executable, script, a.data, str(a.steps), "1", sc], env)[0])
            # one rank's share alone (no second process, no MPI): the step-cost bound
            half.append(run([sys.executable, script, a.data, str(a.steps), "-2", sc], env)[0])
            two.append(run([mpiexec, *a.mpiexec_args.split(), "-n", "2", sys.executable, script,
                            a.data, str(a.steps), "2", sc], env))
            # the machine's own ceiling: two processes doing one rank's work each, at once,
            # with no communication (on a VM two busy cores need not run as fast as one)
            procs = [subprocess.Popen([sys.executable, script, a.data, str(a.steps), "-2", sc],
                                      stdout=subprocess.PIPE, text=True, env=env)
                     for _ in range(2)]
            indep.append([json.loads(ln) for p in procs for ln in p.communicate()[0].splitlines()
                          if ln.startswith("{")])
    finally:
        os.unlink(script)
    n = a.steps * 100
    best1 = min(one, key=lambda r: r["seconds"])
    best2 = min(two, key=lambda rs: max(r["seconds"] for r in rs))
    s1, s2 = best1["seconds"], max(r["seconds"] for r in best2)
    step2 = s2 / best2[0]["steps"]
    share = max(r["allreduce_s"] for r in best2) / step2
    print(f"load average before: {load0:.2f}, after: {os.getloadavg()[0]:.2f} "
          f"({os.cpu_count()} cores)")
    print(f"1 process x 1 thread : {n / s1:8.0f} samples/s  ({s1:.2f} s, final loss "
          f"{best1['loss']:.4f}, test loss {best1['test_loss']:.4f})")
    print(f"2 processes x 1 thread: {n / s2:8.0f} samples/s  ({s2:.2f} s, final loss "
          f"{best2[0]['loss']:.4f} / {best2[1]['loss']:.4f}, test loss "
          f"{best2[0]['test_loss']:.4f})")
    print(f"speed-up: {s1 / s2:.2f}x   allreduce share of a 2-process step: {100 * share:.1f}%")
    t1, t2 = best1["test_loss"], best2[0]["test_loss"]
    print(f"same final loss? test loss {t2:.4f} against {t1:.4f} ({100 * (t2 / t1 - 1):+.1f}%; "
          f"the last step's training loss is one minibatch's, noisier)")
    si = min(max(r["seconds"] for r in rs) for rs in indep)
    print(f"ceiling of the machine: two processes doing one rank's work each, at once, without "
          f"MPI: {s1 / si:.2f}x ({si:.2f} s); DDP reaches {si / s2:.0%} of it")
    sh = min(r["seconds"] for r in half)
    print(f"step-cost bound: one rank's share run alone takes {sh:.2f} s, so even with free "
          f"communication and two cores as fast as one, 2 ranks reach at most {s1 / sh:.2f}x "
          f"(a step's fixed cost does not halve with the batch)")


if __name__ == "__main__":
    main()
