"""Process groups and collectives (torch.distributed's c10d API) over MPI.

Every collective works on the tensors' NumPy arrays in place, as torch's do on their storage.
Blocking calls are the non-blocking MPI call plus a wait that honours the group's timeout, so a
rank that stops answering turns into an error naming the operation instead of a hang. A rank
that dies or raises takes the others down through MPI_Abort (see `_abort_on_uncaught`), which
is how MPI launchers end a failed job.
"""
from __future__ import annotations

import datetime
import enum
import os
import sys
import time
from typing import Any

import numpy as np

from .._tensor import Tensor
from . import _mpi

# torch's default process-group timeout
default_pg_timeout = datetime.timedelta(minutes=30)


class DistError(RuntimeError):
    """Errors of the distributed package (torch.distributed.DistError)."""


class DistBackendError(DistError):
    """A collective failed or timed out in the communication backend."""


class DistNetworkError(DistError):
    pass


class DistStoreError(DistError):
    pass


class RedOpType(enum.IntEnum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8


class ReduceOp:
    """The reduction of all_reduce/reduce/reduce_scatter (`ReduceOp.SUM`, ...)."""
    RedOpType = RedOpType
    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR


class Backend(str):
    """Backend names. "mpi" is ember's engine; "gloo" is accepted as a synonym because CPU
    scripts hard-code it."""
    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    UCC = "ucc"
    MPI = "mpi"

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, but got: {type(name)}")
        value = name.lower()
        if value not in ("gloo", "nccl", "ucc", "mpi", "undefined"):
            raise ValueError(f"Invalid backend: '{name}'")
        return super().__new__(cls, value)


class ProcessGroup:
    """A set of ranks with its MPI communicator. `ranks` are global ranks, in group-rank order;
    `comm` is None on a rank that is not a member."""

    def __init__(self, comm, ranks: list[int], backend: str, timeout: float):
        self.comm = comm
        self.ranks = ranks
        self.backend = backend
        self.timeout = timeout

    def rank(self) -> int:
        return self.comm.Get_rank() if self.comm is not None else -1

    def size(self) -> int:
        return len(self.ranks)

    def name(self) -> str:
        return self.backend

    def __repr__(self):
        return f"<ember.distributed.ProcessGroup {self.backend} ranks={self.ranks}>"


class _World:
    """The default group and the MPI module, once init_process_group has run."""
    MPI = None
    default: ProcessGroup | None = None


_world = _World()


class group:  # noqa: N801 - torch's name
    WORLD = None  # the default group once initialised (torch.distributed.group.WORLD)


class GroupMember:
    WORLD = None
    NON_GROUP_MEMBER = -100


# ---- set-up ---------------------------------------------------------------------------------

def is_available() -> bool:
    """True when the MPI engine (mpi4py) is installed."""
    return _mpi.available()


def is_mpi_available() -> bool:
    return _mpi.available()


def is_gloo_available() -> bool:
    return _mpi.available()  # "gloo" runs on the MPI engine


def is_nccl_available() -> bool:
    return False


def is_ucc_available() -> bool:
    return False


def is_torchelastic_launched() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ


def is_initialized() -> bool:
    return _world.default is not None


def _seconds(timeout) -> float:
    if timeout is None:
        return default_pg_timeout.total_seconds()
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {type(timeout).__name__}")


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1,
                       rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Join the default process group. The ranks come from the launcher (`ember launch`,
    `mpiexec`, `srun`); a process started alone is a world of one. `init_method` and `store` are
    accepted for torch's signature: MPI's process manager does the rendezvous."""
    if _world.default is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = "mpi" if backend is None else str(backend).lower()
    if name.startswith("cpu:"):  # "cpu:gloo,cuda:nccl" style
        name = name.split(",")[0].split(":")[1]
    if name == "nccl":
        raise RuntimeError("Distributed package doesn't have NCCL built in: backend 'nccl' needs "
                           "NVIDIA GPUs, and ember runs on CPUs over MPI. Use backend='gloo' or "
                           "'mpi'")
    if name not in ("mpi", "gloo"):
        raise ValueError(f"Invalid backend: '{backend}' (ember.distributed supports 'mpi' and "
                         f"its synonym 'gloo')")
    MPI = _mpi.load()
    comm = MPI.COMM_WORLD
    mpi_rank, mpi_size = comm.Get_rank(), comm.Get_size()
    env_size = os.environ.get("WORLD_SIZE")
    if env_size is not None and int(env_size) != mpi_size:
        raise RuntimeError(
            f"WORLD_SIZE={env_size}, but MPI started {mpi_size} process(es): ember.distributed "
            f"needs its ranks started by an MPI launcher, e.g. `ember launch --nproc-per-node "
            f"{env_size} script.py` or `mpiexec -n {env_size} ember run script.py` (torchrun's own "
            f"rendezvous is not supported)")
    if world_size not in (-1, None) and world_size != mpi_size:
        raise ValueError(f"world_size={world_size} does not match the {mpi_size} process(es) the "
                         f"MPI launcher started")
    if rank not in (-1, None) and rank != mpi_rank:
        raise ValueError(f"rank={rank} does not match this process's MPI rank {mpi_rank}")
    _world.MPI = MPI
    pg = ProcessGroup(comm, list(range(mpi_size)), name, _seconds(timeout))
    _world.default = pg
    group.WORLD = GroupMember.WORLD = pg
    if mpi_size > 1:
        _abort_on_uncaught(MPI)


def _abort_on_uncaught(MPI) -> None:
    """An exception that ends one rank aborts the whole job, so no other rank waits forever in
    a collective (mpi4py's `python -m mpi4py` does the same)."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        _announce_failure(exc)  # first: mpiexec may drop the last lines of an aborting rank
        previous(exc_type, exc, tb)
        _abort_job(exc)
    sys.excepthook = hook


def _announce_failure(exc: BaseException) -> None:
    pg = _world.default
    if pg is None or pg.size() == 1 or isinstance(exc, SystemExit):
        return
    sys.stderr.write(f"ember.distributed: rank {_world.MPI.COMM_WORLD.Get_rank()} failed with "
                     f"{type(exc).__name__}; aborting the job\n")
    sys.stderr.flush()


def _abort_job(exc: BaseException) -> None:
    """MPI_Abort the job when this rank fails while its world has other ranks."""
    pg = _world.default
    if pg is None or pg.size() == 1 or isinstance(exc, SystemExit):
        return
    sys.stderr.flush()
    time.sleep(0.2)  # let mpiexec forward this rank's last output before the job is torn down
    _world.MPI.COMM_WORLD.Abort(1)


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    if group is None or group is _world.default:
        _check_init()
        _world.default = None
        globals()["group"].WORLD = GroupMember.WORLD = None
        return
    if group.comm is not None:
        group.comm.Free()
        group.comm = None


def _check_init() -> ProcessGroup:
    if _world.default is None:
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.")
    return _world.default


def _group(g) -> ProcessGroup:
    pg = _check_init()
    return pg if g is None else g


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization=False, group_desc=None) -> ProcessGroup:
    """A group of `ranks` (all by default). Like torch, every rank of the world must call it,
    members or not, in the same order."""
    world = _check_init()
    if ranks is None:
        ranks = list(range(world.size()))
    ranks = sorted(int(r) for r in ranks)
    for r in ranks:
        if not 0 <= r < world.size():
            raise ValueError(f"Invalid rank {r} for new_group: the world has {world.size()} ranks")
    MPI = _world.MPI
    me = world.comm.Get_rank()
    color = 0 if me in ranks else MPI.UNDEFINED
    comm = world.comm.Split(color, me)
    if comm == MPI.COMM_NULL:
        comm = None
    return ProcessGroup(comm, ranks, world.backend if backend is None else str(backend).lower(),
                        _seconds(timeout) if timeout is not None else world.timeout)


def get_rank(group: ProcessGroup | None = None) -> int:
    return _group(group).rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    pg = _group(group)
    return pg.size() if pg.comm is not None else -1


def get_backend(group: ProcessGroup | None = None) -> str:
    return Backend(_group(group).backend)


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    return group.ranks[group_rank]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    try:
        return group.ranks.index(global_rank)
    except ValueError:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}") from None


def get_process_group_ranks(group: ProcessGroup) -> list[int]:
    return list(group.ranks)


# ---- waiting --------------------------------------------------------------------------------

def _wait(req, pg: ProcessGroup, what: str) -> None:
    """Complete MPI request `req`, raising DistBackendError after the group's timeout.

    MPI progresses a request only while some MPI call runs, so the wait polls: it spins for the
    first 2 ms (a peer that is ready answers in microseconds), then yields the core between
    polls, and only after a second of waiting sleeps between them (a long sleep would delay
    every step by its length)."""
    if req.Test():
        return
    start = time.monotonic()
    while not req.Test():
        waited = time.monotonic() - start
        if waited > pg.timeout:
            raise DistBackendError(
                f"ember.distributed: {what} on rank {pg.rank()} did not complete within the "
                f"process group's timeout ({pg.timeout:g} s): another rank stopped answering")
        if waited > 0.002:
            time.sleep(0 if waited < 1.0 else 0.001)


class Work:
    """The handle of an `async_op=True` collective: `wait()` completes it (and copies results
    back into non-contiguous outputs); `is_completed()` polls."""

    def __init__(self, req, pg: ProcessGroup, what: str, finish=None, outputs=()):
        self._req = req
        self._pg = pg
        self._what = what
        self._finish = finish
        self._outputs = list(outputs)
        self._done = False

    def _complete(self):
        if not self._done:
            self._done = True
            if self._finish is not None:
                self._finish()
                self._finish = None

    def wait(self, timeout: datetime.timedelta | None = None) -> bool:
        if not self._done:
            if self._req is not None:
                _wait(self._req, self._pg, self._what)
            self._complete()
        return True

    def is_completed(self) -> bool:
        if not self._done and (self._req is None or self._req.Test()):
            self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def result(self) -> list:
        self.wait()
        return self._outputs

    def get_future(self):
        from ..futures import Future
        return Future._from_work(self)


def _run(req, pg, what, finish=None, outputs=(), async_op=False):
    work = Work(req, pg, what, finish, outputs)
    if async_op:
        return work
    work.wait()
    return None


# ---- buffers --------------------------------------------------------------------------------

def _check_tensor(t, name: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"torch.Tensor but got {type(t)} instead.")


def _in_place_buffer(t: Tensor):
    """(contiguous array to communicate through, finish callback copying it back into `t`)."""
    a = t._data
    t._vc[0] += 1  # collectives write the tensor in place, as torch's bump its version
    if a.flags.c_contiguous and a.dtype != np.float16:
        return a, None
    work = np.ascontiguousarray(a, dtype=np.float32 if a.dtype == np.float16 else a.dtype)

    def finish():
        np.copyto(a, work, casting="unsafe")
    return work, finish


def _mpi_op(op):
    MPI = _world.MPI
    try:
        op = RedOpType(op)
    except ValueError:
        raise ValueError(f"Unsupported reduce op {op!r}") from None
    table = {RedOpType.SUM: MPI.SUM, RedOpType.AVG: MPI.SUM, RedOpType.PRODUCT: MPI.PROD,
             RedOpType.MIN: MPI.MIN, RedOpType.MAX: MPI.MAX, RedOpType.BAND: MPI.BAND,
             RedOpType.BOR: MPI.BOR, RedOpType.BXOR: MPI.BXOR}
    if op not in table:
        raise ValueError(f"ReduceOp.{op.name} is not supported by ember.distributed")
    return table[op], op is RedOpType.AVG


def _average(a: np.ndarray, n: int) -> None:
    if a.dtype.kind in "fc":
        np.divide(a, n, out=a)
    else:
        np.floor_divide(a, n, out=a)


def _chain(*fns):
    fns = [f for f in fns if f is not None]
    if not fns:
        return None

    def run():
        for f in fns:
            f()
    return run


def _member(pg: ProcessGroup) -> bool:
    return pg.comm is not None


def _peer(pg: ProcessGroup, global_rank, group_rank, name: str) -> int:
    """The group rank of a src/dst given as a global rank (torch's `src=`) or a group rank."""
    if group_rank is not None:
        return int(group_rank)
    if global_rank is None:
        raise ValueError(f"{name} must be given")
    return get_group_rank(pg, int(global_rank))


# ---- collectives ----------------------------------------------------------------------------

def all_reduce(tensor: Tensor, op=ReduceOp.SUM, group=None, async_op=False):
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    if not _member(pg):
        return None
    buf, back = _in_place_buffer(tensor)
    mop, avg = _mpi_op(op)
    req = pg.comm.Iallreduce(_world.MPI.IN_PLACE, buf, mop)
    fin = _chain((lambda: _average(buf, pg.size())) if avg else None, back)
    return _run(req, pg, "all_reduce", fin, [tensor], async_op)


def broadcast(tensor: Tensor, src: int | None = None, group=None, async_op=False, group_src=None):
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    if not _member(pg):
        return None
    root = _peer(pg, src, group_src, "src")
    buf, back = _in_place_buffer(tensor)
    if back is not None and pg.rank() == root:
        np.copyto(buf, tensor._data, casting="unsafe")
    req = pg.comm.Ibcast(buf, root=root)
    return _run(req, pg, "broadcast", back, [tensor], async_op)


def reduce(tensor: Tensor, dst: int | None = None, op=ReduceOp.SUM, group=None, async_op=False,
           group_dst=None):
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    if not _member(pg):
        return None
    root = _peer(pg, dst, group_dst, "dst")
    buf, back = _in_place_buffer(tensor)
    mop, avg = _mpi_op(op)
    if pg.rank() == root:
        req = pg.comm.Ireduce(_world.MPI.IN_PLACE, buf, mop, root=root)
        fin = _chain((lambda: _average(buf, pg.size())) if avg else None, back)
    else:
        req = pg.comm.Ireduce(buf, None, mop, root=root)
        fin = None  # torch leaves a non-destination's tensor as it was
    return _run(req, pg, "reduce", fin, [tensor], async_op)


def _gather_buffer(t: Tensor, n: int):
    a = t._data
    dt = np.float32 if a.dtype == np.float16 else a.dtype
    return np.ascontiguousarray(a, dtype=dt), np.empty((n,) + a.shape, dtype=dt)


def _scatter_into(outputs, stacked) -> None:
    for out, part in zip(outputs, stacked):
        out._vc[0] += 1
        np.copyto(out._data, part.reshape(out._data.shape), casting="unsafe")


def _check_list(tensors, n: int, shape, name: str) -> None:
    if len(tensors) != n:
        raise ValueError(f"{name} must have {n} tensors (one per rank), got {len(tensors)}")
    for t in tensors:
        _check_tensor(t, name)
        if tuple(t.shape) != tuple(shape):
            raise ValueError(f"every tensor of {name} must have the shape {list(shape)} of the "
                             f"input; got {list(t.shape)}")


def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op=False):
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    if not _member(pg):
        return None
    _check_list(tensor_list, pg.size(), tensor.shape, "tensor_list")
    send, recv = _gather_buffer(tensor, pg.size())
    req = pg.comm.Iallgather(send, recv)
    return _run(req, pg, "all_gather", lambda: _scatter_into(tensor_list, recv), tensor_list,
                async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None,
                           async_op=False):
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    pg = _group(group)
    if not _member(pg):
        return None
    if output_tensor.numel() != input_tensor.numel() * pg.size():
        raise ValueError(f"output tensor size must be equal to world_size times input tensor "
                         f"size: {list(output_tensor.shape)} vs {pg.size()} x "
                         f"{list(input_tensor.shape)}")
    send, recv = _gather_buffer(input_tensor, pg.size())
    req = pg.comm.Iallgather(send, recv)
    return _run(req, pg, "all_gather_into_tensor",
                lambda: _scatter_into([output_tensor], [recv]), [output_tensor], async_op)


def gather(tensor: Tensor, gather_list: list | None = None, dst: int | None = None, group=None,
           async_op=False, group_dst=None):
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    if not _member(pg):
        return None
    root = _peer(pg, 0 if dst is None and group_dst is None else dst, group_dst, "dst")
    send, recv = _gather_buffer(tensor, pg.size())
    if pg.rank() == root:
        if gather_list is None:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        _check_list(gather_list, pg.size(), tensor.shape, "gather_list")
        req = pg.comm.Igather(send, recv, root=root)
        fin = lambda: _scatter_into(gather_list, recv)  # noqa: E731
    else:
        if gather_list:
            raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination "
                             "ranks.")
        req = pg.comm.Igather(send, None, root=root)
        fin = None
    return _run(req, pg, "gather", fin, gather_list or [], async_op)


def scatter(tensor: Tensor, scatter_list: list | None = None, src: int | None = None, group=None,
            async_op=False, group_src=None):
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    if not _member(pg):
        return None
    root = _peer(pg, 0 if src is None and group_src is None else src, group_src, "src")
    buf, back = _in_place_buffer(tensor)
    if pg.rank() == root:
        if scatter_list is None:
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
        _check_list(scatter_list, pg.size(), tensor.shape, "scatter_list")
        send = np.stack([np.asarray(t._data, dtype=buf.dtype) for t in scatter_list])
        req = pg.comm.Iscatter(send, buf, root=root)
    else:
        if scatter_list:
            raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source "
                             "ranks.")
        req = pg.comm.Iscatter(None, buf, root=root)
    return _run(req, pg, "scatter", back, [tensor], async_op)


def reduce_scatter(output: Tensor, input_list: list, op=ReduceOp.SUM, group=None,
                   async_op=False):
    _check_tensor(output, "output")
    pg = _group(group)
    if not _member(pg):
        return None
    _check_list(input_list, pg.size(), output.shape, "input_list")
    buf, back = _in_place_buffer(output)
    send = np.stack([np.asarray(t._data, dtype=buf.dtype) for t in input_list])
    mop, avg = _mpi_op(op)
    req = pg.comm.Ireduce_scatter_block(send, buf, mop)
    fin = _chain((lambda: _average(buf, pg.size())) if avg else None, back)
    return _run(req, pg, "reduce_scatter", fin, [output], async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op=ReduceOp.SUM, group=None,
                          async_op=False):
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    pg = _group(group)
    if not _member(pg):
        return None
    if input.numel() != output.numel() * pg.size():
        raise ValueError(f"input tensor must be world_size times the output's size: "
                         f"{list(input.shape)} vs {pg.size()} x {list(output.shape)}")
    buf, back = _in_place_buffer(output)
    send = np.ascontiguousarray(input._data, dtype=buf.dtype)
    mop, avg = _mpi_op(op)
    req = pg.comm.Ireduce_scatter_block(send, buf, mop)
    fin = _chain((lambda: _average(buf, pg.size())) if avg else None, back)
    return _run(req, pg, "reduce_scatter_tensor", fin, [output], async_op)


def all_to_all(output_tensor_list: list, input_tensor_list: list, group=None, async_op=False):
    pg = _group(group)
    if not _member(pg):
        return None
    n = pg.size()
    if len(output_tensor_list) != n or len(input_tensor_list) != n:
        raise ValueError(f"all_to_all needs {n} input and {n} output tensors (one per rank)")
    for t in list(output_tensor_list) + list(input_tensor_list):
        _check_tensor(t, "tensor_list")
    dt = input_tensor_list[0]._data.dtype
    send = np.concatenate([np.ascontiguousarray(t._data, dtype=dt).ravel()
                           for t in input_tensor_list])
    send_counts = [t.numel() for t in input_tensor_list]
    recv_counts = [t.numel() for t in output_tensor_list]
    recv = np.empty(sum(recv_counts), dtype=dt)
    sdispl = np.concatenate([[0], np.cumsum(send_counts)[:-1]]).tolist()
    rdispl = np.concatenate([[0], np.cumsum(recv_counts)[:-1]]).tolist()
    req = pg.comm.Ialltoallv([send, (send_counts, sdispl)], [recv, (recv_counts, rdispl)])

    def finish():
        for out, start, count in zip(output_tensor_list, rdispl, recv_counts):
            out._vc[0] += 1
            np.copyto(out._data, recv[start:start + count].reshape(out._data.shape),
                      casting="unsafe")
    return _run(req, pg, "all_to_all", finish, output_tensor_list, async_op)


def all_to_all_single(output: Tensor, input: Tensor, output_split_sizes=None,
                      input_split_sizes=None, group=None, async_op=False):
    pg = _group(group)
    n = pg.size()
    if input_split_sizes is None:
        if input.shape[0] % n:
            raise ValueError(f"all_to_all_single: dim 0 of the input ({input.shape[0]}) must be "
                             f"divisible by the world size {n} when no split sizes are given")
        input_split_sizes = [input.shape[0] // n] * n
    if output_split_sizes is None:
        if output.shape[0] % n:
            raise ValueError(f"all_to_all_single: dim 0 of the output ({output.shape[0]}) must "
                             f"be divisible by the world size {n} when no split sizes are given")
        output_split_sizes = [output.shape[0] // n] * n
    ins = input.split(list(input_split_sizes))
    outs = [Tensor._new(np.empty((s,) + tuple(output.shape[1:]), dtype=output._data.dtype))
            for s in output_split_sizes]
    work = all_to_all(outs, list(ins), group=pg, async_op=True)

    def finish():
        output._vc[0] += 1
        np.copyto(output._data, np.concatenate([o._data for o in outs]), casting="unsafe")
    work._finish = _chain(work._finish, finish)
    work._outputs = [output]
    if async_op:
        return work
    work.wait()
    return None


def barrier(group=None, async_op=False, device_ids=None):
    pg = _group(group)
    if not _member(pg):
        return None
    return _run(pg.comm.Ibarrier(), pg, "barrier", None, [], async_op)


def send(tensor: Tensor, dst: int | None = None, group=None, tag: int = 0, group_dst=None) -> None:
    isend(tensor, dst, group, tag, group_dst).wait()


def recv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0, group_src=None) -> int:
    work = irecv(tensor, src, group, tag, group_src)
    work.wait()
    return work._source


def isend(tensor: Tensor, dst: int | None = None, group=None, tag: int = 0, group_dst=None) -> Work:
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    peer = _peer(pg, dst, group_dst, "dst")
    if peer == pg.rank():
        raise ValueError("Invalid destination rank: should not be the same as the rank of the "
                         "current process.")
    buf = np.ascontiguousarray(tensor._data)
    work = Work(pg.comm.Isend(buf, dest=peer, tag=tag), pg, "send")
    work._keep = buf  # the send buffer must outlive the request
    return work


def irecv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0, group_src=None) -> Work:
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    MPI = _world.MPI
    peer = MPI.ANY_SOURCE if src is None and group_src is None else _peer(pg, src, group_src, "src")
    buf, back = _in_place_buffer(tensor)
    status = MPI.Status()
    req = pg.comm.Irecv(buf, source=peer, tag=tag)
    work = Work(None, pg, "recv", back, [tensor])

    def wait_recv(timeout=None):
        if not work._done:
            _wait_status(req, pg, status)
            work._source = pg.ranks[status.Get_source()]
            work._complete()
        return True
    work.wait = wait_recv
    return work


def _wait_status(req, pg, status) -> None:
    start = time.monotonic()
    while not req.Test(status):
        waited = time.monotonic() - start
        if waited > pg.timeout:
            raise DistBackendError(f"ember.distributed: recv on rank {pg.rank()} did not "
                                   f"complete within the process group's timeout "
                                   f"({pg.timeout:g} s)")
        if waited > 0.002:
            time.sleep(0 if waited < 1.0 else 0.001)


# ---- objects (pickled between the job's own ranks, as torch does) -----------------------------

def all_gather_object(object_list: list, obj: Any, group=None) -> None:
    pg = _group(group)
    if not _member(pg):
        return
    if len(object_list) != pg.size():
        raise ValueError(f"object_list must have {pg.size()} entries (one per rank), got "
                         f"{len(object_list)}")
    object_list[:] = pg.comm.allgather(obj)


def gather_object(obj: Any, object_gather_list: list | None = None, dst: int = 0, group=None,
                  group_dst=None) -> None:
    pg = _group(group)
    if not _member(pg):
        return
    root = _peer(pg, dst, group_dst, "dst")
    got = pg.comm.gather(obj, root=root)
    if pg.rank() == root:
        if object_gather_list is None:
            raise ValueError("Argument ``object_gather_list`` must be specified on destination rank.")
        object_gather_list[:] = got


def broadcast_object_list(object_list: list, src: int | None = None, group=None, device=None,
                          group_src=None) -> None:
    pg = _group(group)
    if not _member(pg):
        return
    root = _peer(pg, 0 if src is None and group_src is None else src, group_src, "src")
    got = pg.comm.bcast(list(object_list) if pg.rank() == root else None, root=root)
    object_list[:] = got


def scatter_object_list(scatter_object_output_list: list, scatter_object_input_list=None,
                        src: int | None = None, group=None, group_src=None) -> None:
    pg = _group(group)
    if not _member(pg):
        return
    root = _peer(pg, 0 if src is None and group_src is None else src, group_src, "src")
    got = pg.comm.scatter(list(scatter_object_input_list) if pg.rank() == root else None, root=root)
    scatter_object_output_list[0] = got
