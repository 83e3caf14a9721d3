"""SyncBatchNorm under DDP (mode "ddp", 2 ranks: each trains on its half of every batch) or one
process with plain BatchNorm on the whole batch (mode "single"); rank 0 saves the final state.

    python sync_bn.py MODE OUT.pth STEPS
"""
import sys

import numpy as np

import ember as torch
import ember.distributed as dist
import ember.nn as nn
import ember.nn.functional as F
from ember.nn.parallel import DistributedDataParallel as DDP

mode, out, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                      nn.Linear(4 * 4 * 4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
rank, world = 0, 1
net = model
if mode == "ddp":
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert isinstance(model[1], nn.SyncBatchNorm) and isinstance(model[5], nn.SyncBatchNorm)
    net = DDP(model)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
rng = np.random.default_rng(1)
for _ in range(steps):
    x = rng.standard_normal((12, 2, 6, 6)).astype(np.float32) * 2 + 0.5
    y = rng.integers(0, 3, 12)
    if mode == "ddp":  # 7 and 5 rows: the ranks' shares need not be equal for the statistics
        x, y = (x[:7], y[:7]) if rank == 0 else (x[7:], y[7:])
    loss = F.cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(y), reduction="sum") / 12
    opt.zero_grad()
    loss.backward()
    if mode == "ddp":  # DDP averages; the summed loss over the whole batch wants the sum
        for p in model.parameters():
            p.grad.mul_(world)
    opt.step()
model.eval()
probe = torch.from_numpy(np.random.default_rng(2).standard_normal((5, 2, 6, 6)).astype(np.float32))
with torch.no_grad():
    state = dict(model.state_dict())
    state["eval_out"] = net(probe) if mode == "ddp" else model(probe)
if rank == 0:
    torch.save(state, out)
if mode == "ddp":
    dist.destroy_process_group()
