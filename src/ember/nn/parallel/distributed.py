"""DistributedDataParallel: one model replica per process, gradients averaged over the group.

Parameters are grouped into buckets in reverse registration order (gradients become ready
roughly backwards), the first capped at 1 MB and the rest at `bucket_cap_mb` (25 MB), as torch's
reducer does. A parameter's post-accumulate-grad hook copies its gradient into its bucket; a full
bucket's allreduce starts at once, so communication overlaps the rest of backward. Buckets start
strictly in index order, which keeps the collective order identical on every rank (MPI's rule).
The last parameter's hook waits for every bucket and writes the averages back into `.grad`, so
all is finished before `backward()` returns.
"""
from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from ..._tensor import Tensor
from ...autograd.grad_mode import is_grad_enabled
from ...distributed import distributed_c10d as c10d
from ..modules.module import Module

_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024


class GradBucket:
    """What a communication hook sees of one bucket (torch.distributed.GradBucket)."""

    def __init__(self, index: int, buffer: Tensor, params: list, is_last: bool):
        self._index = index
        self._buffer = buffer
        self._params = params
        self._is_last = is_last

    def index(self) -> int:
        return self._index

    def buffer(self) -> Tensor:
        return self._buffer

    def is_last(self) -> bool:
        return self._is_last

    def parameters(self) -> list:
        return list(self._params)

    def gradients(self) -> list:
        return [p.grad for p in self._params]

    def set_buffer(self, buffer: Tensor) -> None:
        self._buffer = buffer


class _Bucket:
    __slots__ = ("index", "params", "offsets", "flat", "views", "pending", "ready", "work",
                 "future")

    def __init__(self, index, params, dtype):
        self.index = index
        self.params = params
        self.offsets = []
        n = 0
        for p in params:
            self.offsets.append(n)
            n += p._data.size
        self.flat = np.zeros(n, dtype=dtype)
        # each parameter's slot of the flat buffer, in the parameter's shape (made once)
        self.views = [self.flat[o:o + p._data.size].reshape(p._data.shape)
                      for o, p in zip(self.offsets, params)]
        self.pending = len(params)
        self.ready = False
        self.work = None
        self.future = None


class _StepState:
    """What one synchronised backward tracks. A plain object, not attributes of the Module:
    Module.__setattr__ (which sorts parameters and submodules) would run on every gradient."""
    __slots__ = ("armed", "got", "next_launch", "used")

    def __init__(self):
        self.armed = False       # a synchronised backward is expected
        self.got = 0             # gradients that arrived in this backward
        self.next_launch = 0     # the next bucket to start, in index order on every rank
        self.used = None         # find_unused_parameters: ids of params the graph reaches


def _bucket_params(params: list, cap_bytes: int) -> list[list]:
    """Reverse order, one dtype per bucket, the first bucket capped at 1 MB."""
    buckets, current, size, dtype = [], [], 0, None
    limit = _DEFAULT_FIRST_BUCKET_BYTES
    for p in reversed(params):
        nbytes = p._data.nbytes
        if current and (size + nbytes > limit or p._data.dtype != dtype):
            buckets.append(current)
            current, size = [], 0
            limit = cap_bytes
        current.append(p)
        size += nbytes
        dtype = p._data.dtype
    if current:
        buckets.append(current)
    return buckets


class DistributedDataParallel(Module):
    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, init_sync: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, delay_all_reduce_named_params=None,
                 param_to_hook_all_reduce=None, mixed_precision=None, device_mesh=None,
                 skip_all_reduce_unused_params: bool = False):
        super().__init__()
        pg = c10d._check_init() if process_group is None else process_group
        if device_ids not in (None, []) and any(str(d) not in ("cpu", "-1") for d in device_ids):
            raise ValueError("DistributedDataParallel device_ids and output_device arguments only "
                             "work with single-device/multiple-device GPU modules or CPU modules, "
                             f"but got device_ids {device_ids}: ember runs on the CPU; pass "
                             "device_ids=None")
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have "
                               "any parameter that requires a gradient.")
        self.module = module
        self.process_group = pg
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self._params = params
        # the buffers broadcast before each forward, listed once as torch's DDP does
        self._module_buffers = list(module.buffers())
        self._comm_hook = None
        self._comm_state = None
        if init_sync:
            self._verify_shapes()
            self._sync_module_states()
        self._buckets = [_Bucket(i, ps, ps[0]._data.dtype)
                         for i, ps in enumerate(_bucket_params(params, self.bucket_bytes_cap))]
        self._slot = {}
        for b in self._buckets:
            for j, p in enumerate(b.params):
                self._slot[id(p)] = (b, j)
        self._st = _StepState()
        self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]

    # ---- construction -------------------------------------------------------------------------
    def _verify_shapes(self) -> None:
        mine = [(tuple(p.shape), str(p._data.dtype)) for p in self.module.parameters()]
        everyone = [None] * self.process_group.size()
        c10d.all_gather_object(everyone, mine, group=self.process_group)
        for r, theirs in enumerate(everyone):
            if theirs != mine:
                raise RuntimeError(f"DDP expects same model across all ranks, but rank "
                                   f"{self.process_group.rank()} has {len(mine)} params with "
                                   f"shapes/dtypes that differ from rank {r}'s")

    def _coalesced_broadcast(self, tensors: list) -> None:
        """Broadcast `tensors` from rank 0 of the group, one message per dtype."""
        by_dtype: dict = {}
        for t in tensors:
            by_dtype.setdefault(t._data.dtype, []).append(t)
        for dtype, ts in by_dtype.items():
            flat = Tensor._new(np.concatenate([t._data.ravel() for t in ts]).astype(dtype, copy=False))
            c10d.broadcast(flat, group=self.process_group, group_src=0)
            n = 0
            for t in ts:
                k = t._data.size
                t._data[...] = flat._data[n:n + k].reshape(t._data.shape)
                n += k

    def _sync_module_states(self) -> None:
        if self.process_group.size() == 1:
            return
        states = list(self.module.parameters()) + [b for b in self.module.buffers()]
        if states:
            self._coalesced_broadcast(states)

    # ---- forward ------------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self._st.armed and self._st.got:
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new "
                "one. This error indicates that your module has parameters that were not used in "
                "producing loss. You can enable unused parameter detection by passing the keyword "
                "argument `find_unused_parameters=True` to "
                "`torch.nn.parallel.DistributedDataParallel`, and by making sure all `forward` "
                "function outputs participate in calculating loss.")
        if self.broadcast_buffers and self.require_forward_param_sync and \
                self._module_buffers and self.process_group.size() > 1:
            self._coalesced_broadcast(self._module_buffers)
        out = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self._arm()
            if self.find_unused_parameters:
                self._mark_unused(out)
        else:
            self._st.armed = False
        return out

    def _arm(self) -> None:
        for b in self._buckets:
            b.pending = len(b.params)
            b.ready = False
            b.work = None
            b.future = None
        self._st.next_launch = 0
        self._st.used = None
        self._st.got = 0
        self._st.armed = True

    def _mark_unused(self, out) -> None:
        """Walk the graph of the outputs: parameters it does not reach get no gradient this
        iteration, so they count as ready (with zeros) right away."""
        roots = [t.grad_fn for t in _tensors_in(out) if t.grad_fn is not None]
        seen, stack, used = set(), list(roots), set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            var = getattr(node, "_var_ref", None)
            if var is not None:
                used.add(id(var))
            for child, _ in node.next_functions:
                if child is not None:
                    stack.append(child)
        self._st.used = used
        for p in self._params:
            if id(p) not in used:
                b, j = self._slot[id(p)]
                b.views[j].fill(0)
                self._count_ready(b)

    # ---- backward -----------------------------------------------------------------------------
    def _grad_ready(self, p: Tensor) -> None:
        st = self._st
        if not st.armed:
            return  # no_sync(), eval forward, or a backward DDP's forward did not prepare
        st.got += 1
        b, j = self._slot[id(p)]
        np.copyto(b.views[j], p._grad._data)
        self._count_ready(b)

    def _count_ready(self, b: _Bucket) -> None:
        b.pending -= 1
        if b.pending:
            return
        b.ready = True
        st, buckets = self._st, self._buckets
        while st.next_launch < len(buckets) and buckets[st.next_launch].ready:
            self._launch(buckets[st.next_launch])
            st.next_launch += 1
        if st.next_launch == len(buckets):
            self._finish()

    def _launch(self, b: _Bucket) -> None:
        buf = Tensor._new(b.flat)
        if self._comm_hook is not None:
            gb = GradBucket(b.index, buf, b.params, b.index == len(self._buckets) - 1)
            b.future = self._comm_hook(self._comm_state, gb)
        else:
            b.work = c10d.all_reduce(buf, group=self.process_group, async_op=True)
        for earlier in self._buckets[:b.index]:  # let MPI progress the ones in flight
            if earlier.work is not None:
                earlier.work.is_completed()

    def _finish(self) -> None:
        self._st.armed = False
        n = self.process_group.size()
        globally_used = self._globally_used()
        for b in self._buckets:
            if b.future is not None:
                result = b.future.wait()
                flat = result._data if isinstance(result, Tensor) else np.asarray(result)
                scale = None
            else:
                b.work.wait()
                flat = b.flat
                scale = 1.0 / n
            views = b.views if flat is b.flat else [
                flat[off:off + p._data.size].reshape(p._data.shape)
                for p, off in zip(b.params, b.offsets)]
            for p, avg in zip(b.params, views):
                if globally_used is not None and id(p) not in globally_used:
                    continue  # unused on every rank: its .grad stays as it was, as torch's
                if p._grad is None:
                    p._grad = Tensor._new(np.empty_like(p._data))
                g = p._grad._data
                if scale is None:
                    g[...] = avg
                else:
                    np.multiply(avg, scale, out=g)
                p._grad._vc[0] += 1

    def _globally_used(self):
        if self._st.used is None:
            return None
        mask = Tensor._new(np.array([id(p) in self._st.used for p in self._params], dtype=np.int32))
        c10d.all_reduce(mask, group=self.process_group)
        return {id(p) for p, m in zip(self._params, mask._data) if m}

    # ---- public API ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def no_sync(self):
        """Accumulate gradients locally: backward passes of forwards run inside this context
        do not communicate; the first synchronised backward afterwards averages the sum."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def register_comm_hook(self, state: Any, hook) -> None:
        """Replace the built-in averaging allreduce: `hook(state, bucket)` returns a Future whose
        value is the bucket's reduced buffer (see ddp_comm_hooks.default_hooks)."""
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be "
                               "called once.")
        if not callable(hook):
            raise TypeError("Communication hook must be callable.")
        self._comm_hook = hook
        self._comm_state = state

    def _set_static_graph(self) -> None:
        self.static_graph = True

    def __getstate__(self):
        raise RuntimeError("DistributedDataParallel is not picklable: save `.module` or its "
                           "state_dict() instead")


def _tensors_in(out):
    if isinstance(out, Tensor):
        yield out
    elif isinstance(out, (list, tuple)):
        for o in out:
            yield from _tensors_in(o)
    elif isinstance(out, dict):
        for o in out.values():
            yield from _tensors_in(o)
