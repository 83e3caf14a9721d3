"""DDP's comm hooks, unused parameters and buffers on 2 ranks; prints `ddp hooks ok <rank>`."""
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")
r, n = dist.get_rank(), dist.get_world_size()


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 3)
        self.b = nn.Linear(4, 3)   # used by rank 0 only
        self.c = nn.Linear(4, 3)   # used by nobody
        self.bn = nn.BatchNorm1d(3)

    def forward(self, x, use_b):
        y = self.a(x)
        if use_b:
            y = y + self.b(x)
        return self.bn(y)


def grads(hook, unused):
    torch.manual_seed(r)  # each rank starts differently: DDP broadcasts rank 0's state
    m = Branchy()
    ddp = DDP(m, find_unused_parameters=unused)
    if hook is not None:
        ddp.register_comm_hook(None, hook)
    x = torch.randn(8, 4) + r
    ddp(x, use_b=(r == 0) or not unused).pow(2).sum().backward()
    ddp.eval()
    with torch.no_grad():  # buffers are broadcast from rank 0 before each forward
        ddp(x, use_b=True)
    return m


# built-in averaging vs the default allreduce hook vs fp16 compression: same gradients
ref = grads(None, True)
hooked = grads(default_hooks.allreduce_hook, True)
fp16 = grads(default_hooks.fp16_compress_hook, True)
for name, p in ref.named_parameters():
    q = dict(hooked.named_parameters())[name]
    h = dict(fp16.named_parameters())[name]
    if name.startswith("c."):
        assert p.grad is None and q.grad is None and h.grad is None, name  # unused everywhere
        continue
    assert p.grad is not None, name
    assert torch.allclose(p.grad, q.grad, atol=1e-6), name
    assert torch.allclose(p.grad, h.grad, atol=1e-2, rtol=1e-2), name
# b is used by rank 0 only: its gradient is rank 0's divided by the world size, on every rank
g = ref.b.weight.grad.clone()
dist.all_reduce(g, op=dist.ReduceOp.MAX)
assert torch.equal(g, ref.b.weight.grad)
# every replica holds the same averaged gradients and buffers
for t in [p.grad for p in ref.parameters() if p.grad is not None] + [ref.bn.running_mean]:
    other = t.clone()
    dist.broadcast(other, src=0)
    assert torch.equal(other, t)

# an unused parameter without find_unused_parameters: the next forward says so
torch.manual_seed(0)
m = Branchy()
ddp = DDP(m)
ddp(torch.randn(8, 4), use_b=False).sum().backward()
try:
    ddp(torch.randn(8, 4), use_b=False)
    raise AssertionError("no error")
except RuntimeError as e:
    assert "Expected to have finished reduction in the prior iteration" in str(e)
for i in range(n):
    if i == r:
        print(f"ddp hooks ok {r}", flush=True)
    dist.barrier()
