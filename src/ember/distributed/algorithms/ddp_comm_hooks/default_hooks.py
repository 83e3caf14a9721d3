"""DDP communication hooks (torch.distributed.algorithms.ddp_comm_hooks.default_hooks)."""
from __future__ import annotations


from ... import distributed_c10d as c10d


def allreduce_hook(process_group, bucket):
    """Average the bucket's gradients over the group: DDP's built-in behaviour as a hook."""
    pg = process_group if process_group is not None else c10d._check_init()
    buf = bucket.buffer()
    buf.div_(pg.size())
    fut = c10d.all_reduce(buf, group=pg, async_op=True).get_future()
    return fut.then(lambda f: f.value()[0])


def fp16_compress_hook(process_group, bucket):
    """Average in float16 to halve the bytes sent, then cast back to the bucket's dtype."""
    pg = process_group if process_group is not None else c10d._check_init()
    buf = bucket.buffer()
    compressed = buf.half().div_(pg.size())
    fut = c10d.all_reduce(compressed, group=pg, async_op=True).get_future()

    def decompress(f):
        out = f.value()[0]
        buf.copy_(out)
        return buf
    return fut.then(decompress)
