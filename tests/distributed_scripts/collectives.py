"""Every collective against its expected values; run under `ember run` at any world size
(1 without a launcher). Prints `collectives ok <rank> <world>`."""
import torch
import torch.distributed as dist

dist.init_process_group("gloo")
r, n = dist.get_rank(), dist.get_world_size()
assert dist.is_initialized() and dist.get_backend() == "gloo"


def close(a, b):
    assert torch.allclose(a, b), (r, a, b)


# all_reduce with every op, float and int, blocking and async
for op, expect in [(dist.ReduceOp.SUM, sum(range(1, n + 1))),
                   (dist.ReduceOp.PRODUCT, float(__import__("math").factorial(n))),
                   (dist.ReduceOp.MIN, 1.0), (dist.ReduceOp.MAX, float(n)),
                   (dist.ReduceOp.AVG, (n + 1) / 2)]:
    t = torch.full((3, 2), float(r + 1))
    dist.all_reduce(t, op=op)
    close(t, torch.full((3, 2), float(expect)))
t = torch.arange(6, dtype=torch.int64) + r
w = dist.all_reduce(t, async_op=True)
w.wait()
assert w.is_completed()
assert torch.equal(t, n * torch.arange(6) + sum(range(n)))
# a non-contiguous view is reduced in place
base = torch.ones(4, 4) * (r + 1)
view = base.t()[1:3]
dist.all_reduce(view)
close(base[:, 1:3], torch.full((4, 2), float(sum(range(1, n + 1)))))
close(base[:, 0], torch.full((4,), float(r + 1)))

# broadcast, reduce
t = torch.full((5,), float(r))
dist.broadcast(t, src=n - 1)
close(t, torch.full((5,), float(n - 1)))
t = torch.full((2,), float(r + 1))
dist.reduce(t, dst=0, op=dist.ReduceOp.SUM)
close(t, torch.full((2,), float(sum(range(1, n + 1)) if r == 0 else r + 1)))

# gathers
outs = [torch.zeros(2, 3) for _ in range(n)]
dist.all_gather(outs, torch.full((2, 3), float(r)))
for i, o in enumerate(outs):
    close(o, torch.full((2, 3), float(i)))
out = torch.zeros(n * 2, 3)
dist.all_gather_into_tensor(out, torch.full((2, 3), float(r)))
close(out, torch.arange(n).reshape(n, 1).expand(n, 6).reshape(n * 2, 3).float())
gl = [torch.zeros(2) for _ in range(n)] if r == 0 else None
dist.gather(torch.full((2,), float(r)), gl, dst=0)
if r == 0:
    for i, o in enumerate(gl):
        close(o, torch.full((2,), float(i)))
objs = [None] * n
dist.all_gather_object(objs, {"rank": r, "name": f"r{r}"})
assert objs == [{"rank": i, "name": f"r{i}"} for i in range(n)], objs
lst = [("hello", 1), None] if r == 0 else [None, None]
dist.broadcast_object_list(lst, src=0)
assert lst == [("hello", 1), None], lst

# scatter, reduce_scatter, all_to_all
t = torch.zeros(3)
dist.scatter(t, [torch.full((3,), float(i * 10)) for i in range(n)] if r == 0 else None, src=0)
close(t, torch.full((3,), float(r * 10)))
t = torch.zeros(2)
dist.reduce_scatter(t, [torch.full((2,), float(i + r)) for i in range(n)])
close(t, torch.full((2,), float(sum(r2 + r for r2 in range(n)))))
outs = [torch.zeros(2) for _ in range(n)]
dist.all_to_all(outs, [torch.full((2,), float(100 * r + i)) for i in range(n)])
for i, o in enumerate(outs):
    close(o, torch.full((2,), float(100 * i + r)))

# point to point
if n > 1:
    if r == 0:
        dist.send(torch.arange(4.0), dst=1)
        t = torch.zeros(4)
        src = dist.recv(t)
        assert src == 1
        close(t, torch.arange(4.0) * 2)
    elif r == 1:
        t = torch.zeros(4)
        dist.recv(t, src=0)
        req = dist.isend(t * 2, dst=0)
        req.wait()

# groups
g = dist.new_group([0])
assert dist.get_rank(g) == (0 if r == 0 else -1)
if r == 0:
    t = torch.ones(2)
    dist.all_reduce(t, group=g)
    close(t, torch.ones(2))

# errors
try:
    dist.all_reduce([1, 2])
    raise AssertionError("no error")
except TypeError as e:
    assert "Expected parameter `tensor`" in str(e)
try:
    dist.init_process_group("gloo")
    raise AssertionError("no error")
except ValueError as e:
    assert "twice" in str(e)

for i in range(n):  # one rank at a time, so the launcher's output does not interleave the lines
    if i == r:
        print(f"collectives ok {r} {n}", flush=True)
    dist.barrier()
dist.destroy_process_group()
assert not dist.is_initialized()
