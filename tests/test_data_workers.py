"""DataLoader with worker processes: same batches as without, errors surface, nothing hangs."""
from __future__ import annotations

import os
import signal
import time

import pytest

import ember
import ember.utils.data as ED

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="worker tests use fork")


def batches(loader):
    return [[t.tolist() for t in b] if isinstance(b, list) else b.tolist() for b in loader]


def tensor_ds(m, D, n=50):
    return D.TensorDataset(m.arange(n), m.arange(n).float() * 0.5)


def test_same_batches_as_without_workers(torch):
    ember.manual_seed(3)
    ref = batches(ED.DataLoader(tensor_ds(ember, ED), batch_size=7, shuffle=True))
    after_ref = ember.rand(2).tolist()
    ember.manual_seed(3)
    loader = ED.DataLoader(tensor_ds(ember, ED), batch_size=7, shuffle=True, num_workers=2)
    assert batches(loader) == ref
    assert ember.rand(2).tolist() == after_ref
    # and the same as torch's loader with workers
    torch.manual_seed(3)
    tl = torch.utils.data.DataLoader(tensor_ds(torch, torch.utils.data), batch_size=7,
                                     shuffle=True, num_workers=2)
    assert batches(tl) == ref


class Random(ED.Dataset):
    """Samples drawn from the worker's default generator (seeded base_seed + worker id)."""

    def __init__(self, m):
        self.m = m

    def __getitem__(self, i):
        return self.m.rand(1)

    def __len__(self):
        return 8


def test_worker_seeding_matches_torch(torch):
    torch.manual_seed(1)
    t = batches(torch.utils.data.DataLoader(Random(torch), batch_size=2, num_workers=2))
    ember.manual_seed(1)
    e = batches(ED.DataLoader(Random(ember), batch_size=2, num_workers=2))
    assert e == t
    assert e[0] != e[1]  # the two workers draw different streams


class Info(ED.Dataset):
    def __getitem__(self, i):
        info = ED.get_worker_info()
        return info.id, info.num_workers, i

    def __len__(self):
        return 6


def test_get_worker_info_and_init_fn():
    assert ED.get_worker_info() is None
    seen = batches(ED.DataLoader(Info(), batch_size=2, num_workers=2))
    assert [b[0] for b in seen] == [[0, 0], [1, 1], [0, 0]]
    assert all(b[1] == [2, 2] for b in seen)
    assert [b[2] for b in seen] == [[0, 1], [2, 3], [4, 5]]

    def init(worker_id):
        if worker_id == 1:
            raise ValueError("bad init")
    with pytest.raises(ValueError, match="bad init"):
        list(ED.DataLoader(Info(), batch_size=2, num_workers=2, worker_init_fn=init))


class Fails(ED.Dataset):
    def __init__(self, exc):
        self.exc = exc

    def __getitem__(self, i):
        if i == 5:
            explode(self.exc)
        return i

    def __len__(self):
        return 10


def explode(exc):
    raise exc


def test_worker_exception_reraised_with_traceback():
    loader = ED.DataLoader(Fails(ValueError("sample 5 is broken")), batch_size=2,
                           num_workers=2)
    it = iter(loader)
    assert next(it).tolist() == [0, 1]
    assert next(it).tolist() == [2, 3]
    with pytest.raises(ValueError) as info:
        next(it)
    msg = str(info.value)
    assert "Caught ValueError in DataLoader worker process 0" in msg
    assert "Traceback (most recent call last)" in msg
    assert "in explode" in msg and "sample 5 is broken" in msg


def test_worker_key_error_keeps_message_readable():
    with pytest.raises(KeyError) as info:
        list(ED.DataLoader(Fails(KeyError("missing")), batch_size=2, num_workers=1))
    assert "Caught KeyError in DataLoader worker process 0" in str(info.value)


class Unpicklable(ED.Dataset):
    def __getitem__(self, i):
        return lambda: i  # a batch that cannot be sent back

    def __len__(self):
        return 4


def test_unpicklable_batch_is_an_error_not_a_hang():
    with pytest.raises(Exception, match="DataLoader worker process"):
        list(ED.DataLoader(Unpicklable(), batch_size=None, num_workers=1,
                           collate_fn=lambda x: x, timeout=20))


class Dies(ED.Dataset):
    def __getitem__(self, i):
        if i == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return i

    def __len__(self):
        return 8


def test_killed_worker_is_reported():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited "
                                           r"unexpectedly"):
        list(ED.DataLoader(Dies(), batch_size=1, num_workers=2))
    assert time.monotonic() - start < 4.0  # noticed at once, not after a long poll


class Slow(ED.Dataset):
    def __getitem__(self, i):
        if i == 2:
            time.sleep(30)
        return i

    def __len__(self):
        return 4


def test_timeout():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.5 seconds"):
        list(ED.DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.5))
    assert time.monotonic() - start < 5.0


def test_abandoned_iterator_ends_its_workers():
    loader = ED.DataLoader(tensor_ds(ember, ED), batch_size=2, num_workers=2)
    it = iter(loader)
    next(it)
    workers = list(it._workers)
    assert all(w.is_alive() for w in workers)
    it._shutdown_workers()
    assert not any(w.is_alive() for w in workers)
    assert all(w.daemon for w in workers)


def test_persistent_workers_and_early_break():
    loader = ED.DataLoader(tensor_ds(ember, ED, 20), batch_size=3, num_workers=2,
                           persistent_workers=True)
    ref = batches(ED.DataLoader(tensor_ds(ember, ED, 20), batch_size=3))
    for b in loader:
        break  # abandon the first epoch early: stale replies must not leak into the next
    it = loader._iterator
    pids = [w.pid for w in it._workers]
    assert batches(loader) == ref
    assert batches(loader) == ref
    assert [w.pid for w in loader._iterator._workers] == pids
    loader._iterator._shutdown_workers()


class Stream(ED.IterableDataset):
    def __iter__(self):
        info = ED.get_worker_info()
        if info is None:
            return iter(range(10))
        return iter(range(info.id, 10, info.num_workers))


def test_iterable_dataset_with_workers(torch):
    import torch.utils.data as TD

    class TStream(TD.IterableDataset):
        def __iter__(self):
            info = TD.get_worker_info()
            return iter(range(info.id, 10, info.num_workers))
    t = batches(TD.DataLoader(TStream(), batch_size=3, num_workers=2))
    e = batches(ED.DataLoader(Stream(), batch_size=3, num_workers=2))
    assert e == t
    t = batches(TD.DataLoader(TStream(), batch_size=3, num_workers=2, drop_last=True))
    e = batches(ED.DataLoader(Stream(), batch_size=3, num_workers=2, drop_last=True))
    assert e == t


CTRL_C_SCRIPT = r"""
import os, sys, time
import ember.utils.data as ED

class Hang(ED.Dataset):
    def __getitem__(self, i):
        time.sleep(60)
        return i
    def __len__(self):
        return 4

it = iter(ED.DataLoader(Hang(), num_workers=2))
print(" ".join(str(w.pid) for w in it._workers), flush=True)
next(it)
"""


def test_ctrl_c_ends_the_program_and_its_workers(tmp_path):
    import subprocess
    import sys
    script = tmp_path / "hang.py"
    script.write_text(CTRL_C_SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert "KeyboardInterrupt" in err
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
