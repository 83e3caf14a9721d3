"""nn.SyncBatchNorm: BatchNorm over the whole data-parallel batch (nn/modules/sync_batchnorm.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ember

from helpers import assert_close, same_error

SRC = Path(__file__).resolve().parents[1] / "src"
SCRIPT = Path(__file__).resolve().parent / "distributed_scripts" / "sync_bn.py"
MPIEXEC = os.path.join(os.path.dirname(sys.executable), "mpiexec")


def _run(cmd):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert r.returncode == 0, r.stdout + r.stderr


def test_two_ranks_equal_one_process_on_the_whole_batch(tmp_path):
    """2 ranks with unequal shares (7 and 5 rows) and SyncBatchNorm under DDP end where one
    process with BatchNorm on the 12 rows ends: weights, running statistics, eval outputs."""
    _run([sys.executable, str(SCRIPT), "single", str(tmp_path / "single.pth"), "15"])
    _run([MPIEXEC, "-n", "2", sys.executable, str(SCRIPT), "ddp", str(tmp_path / "ddp.pth"), "15"])
    a, b = ember.load(tmp_path / "single.pth"), ember.load(tmp_path / "ddp.pth")
    assert sorted(a) == sorted(b)
    fresh = ember.nn.Sequential(ember.nn.BatchNorm2d(4)).state_dict()
    assert float((a["1.running_mean"] - fresh["0.running_mean"]).abs().max()) > 1e-2
    assert int(b["1.num_batches_tracked"]) == 15
    for k in a:
        np.testing.assert_allclose(b[k].numpy(), a[k].numpy(), rtol=1e-5, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("affine,track,momentum", [(True, True, 0.1), (False, True, None),
                                                   (True, False, 0.1)])
def test_world_of_one_is_batch_norm_as_torch(torch, affine, track, momentum):
    """Without a process group SyncBatchNorm is BatchNorm (torch's CPU fallback too)."""
    x = np.random.default_rng(0).standard_normal((6, 3, 4, 5)).astype(np.float32)
    g = np.random.default_rng(1).standard_normal((6, 3, 4, 5)).astype(np.float32)
    mods = [lib.nn.SyncBatchNorm(3, momentum=momentum, affine=affine, track_running_stats=track)
            for lib in (ember, torch)]
    assert repr(mods[0]) == repr(mods[1])
    assert list(mods[0].state_dict()) == list(mods[1].state_dict())
    outs = []
    for lib, m in zip((ember, torch), mods):
        for _ in range(2):
            xt = lib.tensor(x, requires_grad=True)
            y = m(xt)
            y.backward(lib.tensor(g))
        m.eval()
        outs.append((y, xt.grad, m(lib.tensor(x)), m.state_dict()))
    e, t = outs
    assert_close(e[0], t[0], rtol=1e-5, atol=1e-5)
    assert_close(e[1], t[1], rtol=1e-4, atol=1e-5)
    assert_close(e[2], t[2], rtol=1e-5, atol=1e-5)
    for k in e[3]:
        assert_close(e[3][k], t[3][k], rtol=1e-5, atol=1e-6)


def test_convert_sync_batchnorm_as_torch(torch):
    def build(lib):
        lib.manual_seed(0)
        return lib.nn.Sequential(lib.nn.Conv2d(1, 2, 3), lib.nn.BatchNorm2d(2),
                                 lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3)))
    e, t = build(ember), build(torch)
    e[1].eval()
    t[1].eval()
    w = e[1].weight
    ce = ember.nn.SyncBatchNorm.convert_sync_batchnorm(e)
    ct = torch.nn.SyncBatchNorm.convert_sync_batchnorm(t)
    assert repr(ce) == repr(ct)
    assert list(ce.state_dict()) == list(ct.state_dict())
    assert ce[1].weight is w and not ce[1].training and ce[2][1].training
    lone = ember.nn.SyncBatchNorm.convert_sync_batchnorm(ember.nn.BatchNorm1d(4))
    assert type(lone) is ember.nn.SyncBatchNorm


def test_bad_input(torch):
    for shape in [(4,), (3, 0, 2)]:
        ee, te = same_error(torch, lambda: ember.nn.SyncBatchNorm(0 if shape[1:2] == (0,) else 4)(
            ember.zeros(*shape)), lambda: torch.nn.SyncBatchNorm(
            0 if shape[1:2] == (0,) else 4)(torch.zeros(*shape)))
        assert str(ee) == str(te)
