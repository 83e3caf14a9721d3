"""ember.multiprocessing (torch.multiprocessing), issue 12 item 5: tensors cross processes
through shared memory (the receiver maps the sender's memory, no pickled copy), Module.
share_memory() makes Hogwild training work, spawn propagates errors as torch's does, and no
shared memory is left behind. At most 2 processes at a time (the CI machine has 2 cores)."""
from __future__ import annotations

import os

import numpy as np
import pytest

import ember
import ember.multiprocessing as mp
import mp_workers


def _shm_entries():
    # other programs on the machine (MPI...) use /dev/shm too: look at the names Python's and
    # ember's shared memory would have
    return {n for n in os.listdir("/dev/shm") if n.startswith(("psm_", "ember"))}


def _fds():
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def no_leaks():
    before = _shm_entries()
    yield
    assert _shm_entries() - before == set()


def test_share_memory_moves_the_array(no_leaks):
    t = ember.arange(6.0).reshape(2, 3).requires_grad_()
    assert not t.is_shared()
    old = t._data
    assert t.share_memory_() is t and t.is_shared()
    assert t._data is not old and t.tolist() == [[0, 1, 2], [3, 4, 5]] and t.requires_grad
    assert t[1].is_shared()  # views of shared memory are shared
    data = t._data
    assert t.share_memory_()._data is data  # already shared: nothing moves
    y = (t * 2).sum()
    y.backward()
    assert t.grad.tolist() == [[2.0] * 3] * 2


def test_module_share_memory(torch, no_leaks):
    m = ember.nn.Sequential(ember.nn.Linear(3, 2), ember.nn.BatchNorm1d(2))
    tm = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    assert m.share_memory() is m and type(tm.share_memory()) is type(tm)
    assert all(t.is_shared() for t in list(m.parameters()) + list(m.buffers()))
    assert [t.is_shared() for t in tm.state_dict().values()] == \
        [t.is_shared() for t in m.state_dict().values()]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_queue_sends_shared_memory_not_copies(method, no_leaks):
    ctx = mp.get_context(method)
    q, done, ev = ctx.Queue(), ctx.Queue(), ctx.Event()
    t = ember.zeros(3)
    p = ctx.Process(target=mp_workers.add_one_and_reply, args=(q, done, ev))
    p.start()
    q.put(t)
    r = done.get(timeout=60)
    ev.set()
    p.join(60)
    assert p.exitcode == 0
    assert t.is_shared() and t.tolist() == [1.0, 1.0, 1.0]  # the child's add_ is seen here
    assert r.is_shared() and r.tolist() == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert r.dtype is ember.float32


def test_queue_keeps_views_dtypes_and_parameters(no_leaks):
    """Within one process a Queue round trip maps the same memory (offset, strides kept)."""
    q = mp.get_context("fork").SimpleQueue()
    base = ember.arange(12, dtype=ember.int64).reshape(3, 4).clone()
    view = base.t()[1:]
    q.put(view)
    got = q.get()
    assert got.tolist() == view.tolist() and got.stride() == view.stride()
    assert got.dtype is ember.int64
    got.mul_(0)  # same memory as the sender's tensor
    assert base.tolist() == [[0, 0, 0, 0], [4, 0, 0, 0], [8, 0, 0, 0]] and base.is_shared()
    p = ember.nn.Parameter(ember.ones(2))
    q.put(p)
    gp = q.get()
    assert type(gp) is ember.nn.Parameter and gp.requires_grad
    nonleaf = ember.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="non-leaf tensor which requires_grad"):
        q.put(nonleaf)


def test_fds_are_closed_when_tensors_die():
    import gc
    gc.collect()
    before = _fds()
    ts = [ember.ones(4).share_memory_() for _ in range(20)]
    assert _fds() >= before + 20  # a descriptor each (Python's mmap keeps a duplicate too)
    del ts
    gc.collect()
    assert _fds() == before


def test_pool_map_with_tensors(no_leaks):
    with mp.get_context("fork").Pool(2) as pool:
        out = pool.map(mp_workers.square, [ember.tensor([float(i)]) for i in range(4)])
    assert [o.item() for o in out] == [0.0, 1.0, 4.0, 9.0]


def test_hogwild_two_processes_update_one_model(no_leaks):
    """torch's Hogwild recipe: model.share_memory(), 2 processes train it in place; the parent
    sees both processes' updates, equal to the same training done serially."""
    def make():
        ember.manual_seed(0)
        return ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.Linear(4, 3))
    ctx = mp.get_context("fork")
    model = make().share_memory()
    init = [p.detach().clone() for p in model.parameters()]
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=mp_workers.hogwild_train, args=("ember", model, r, 30, barrier))
             for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]

    class _NoBarrier:
        def wait(self):
            pass
    serial = make()
    for r in range(2):
        mp_workers.hogwild_train("ember", serial, r, 30, _NoBarrier())
    for p, p0, s in zip(model.parameters(), init, serial.parameters()):
        assert not np.allclose(p.detach().numpy(), p0.numpy())  # changed by a child
        np.testing.assert_array_equal(p.detach().numpy(), s.detach().numpy())


def test_spawn_runs_nprocs_with_args(no_leaks):
    out = ember.zeros(2).share_memory_()
    assert mp.spawn(mp_workers.fill_rank, args=("ember", out), nprocs=2) is None
    assert out.tolist() == [10.0, 20.0]
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        ctx = mp.spawn(mp_workers.fill_rank, args=("ember", out), nprocs=1, join=False,
                       start_method="fork")
    assert isinstance(ctx, mp.ProcessContext) and len(ctx.pids()) == 1
    while not ctx.join():
        pass


def test_spawn_error_propagation_matches_torch(torch):
    import torch.multiprocessing as tmp
    results = []
    for m, name in ((tmp, "torch"), (mp, "ember")):
        with pytest.raises(m.ProcessRaisedException) as e:
            m.start_processes(mp_workers.fail_on_one, args=(name,), nprocs=2,
                              start_method="fork")
        results.append((e.value.error_index, str(e.value).splitlines()[:3],
                        "ValueError: rank 1 failed on purpose" in str(e.value)))
        with pytest.raises(m.ProcessExitedException) as e:
            m.start_processes(mp_workers.exit_on_one, args=(name,), nprocs=2,
                              start_method="fork")
        results.append((e.value.error_index, e.value.exit_code, str(e.value)))
    assert results[:2] == results[2:]
    assert results[0][2] is True


def test_start_method_and_context_api(torch):
    import torch.multiprocessing as tmp
    for name in ("get_start_method", "set_start_method", "get_context", "Process", "Queue",
                 "SimpleQueue", "Pool", "Manager", "Event", "Barrier", "cpu_count",
                 "get_all_start_methods", "current_process", "spawn", "start_processes",
                 "get_sharing_strategy", "set_sharing_strategy", "get_all_sharing_strategies"):
        assert hasattr(mp, name) and hasattr(tmp, name), name
    assert mp.get_start_method(allow_none=True) == tmp.get_start_method(allow_none=True)
    assert mp.get_context("spawn").get_start_method() == "spawn"
    assert mp.get_sharing_strategy() in mp.get_all_sharing_strategies()
    with pytest.raises(AssertionError):
        mp.set_sharing_strategy("nope")
