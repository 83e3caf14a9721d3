"""ember.distributed, DDP, DistributedSampler and `ember launch`, with real MPI processes.

Multi-process tests start at most 2 ranks (this machine has 2 cores) under hard timeouts. The
DDP training runs use the real MNIST files and are compared with one process training on the
combined batches, and with real torch (gloo) running the same script from the same start.
"""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import ember
import ember.distributed as dist
from ember.utils.data import DistributedSampler

from conftest import DATASETS

HERE = pathlib.Path(__file__).parent
SCRIPTS = HERE / "distributed_scripts"
SRC = HERE.parent / "src"
MPIEXEC = os.path.join(os.path.dirname(sys.executable), "mpiexec")


def _env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _run(cmd, timeout=120, **env):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env(**env))


def _ember(*args):
    return [sys.executable, "-m", "ember", *args]


def test_mpi_runtime_is_installed():
    # a missing MPI in CI is an error, never a skip
    assert dist.is_available()
    assert os.path.isfile(MPIEXEC), "mpiexec from the mpich wheel is missing"


# ---- DistributedSampler ---------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 3, 10, 11, 101])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_last", [True, False])
def test_distributed_sampler_matches_torch(torch, n, shuffle, drop_last):
    for replicas in (1, 2, 3):
        for rank in range(replicas):
            for epoch in (0, 3):
                e = DistributedSampler(range(n), replicas, rank, shuffle=shuffle, seed=5,
                                       drop_last=drop_last)
                t = torch.utils.data.DistributedSampler(range(n), replicas, rank,
                                                        shuffle=shuffle, seed=5,
                                                        drop_last=drop_last)
                e.set_epoch(epoch)
                t.set_epoch(epoch)
                assert list(e) == list(t)
                assert len(e) == len(t)


def test_distributed_sampler_errors(torch):
    for rank in (2, -1):
        with pytest.raises(ValueError) as te:
            torch.utils.data.DistributedSampler(range(4), 2, rank)
        with pytest.raises(ValueError) as ee:
            DistributedSampler(range(4), 2, rank)
        assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedSampler(range(4))


# ---- the API without a process group ---------------------------------------------------------

def test_uninitialized_errors_match_torch(torch):
    assert dist.is_initialized() is False
    for name in ("get_rank", "get_world_size", "barrier"):
        with pytest.raises(ValueError) as te:
            getattr(torch.distributed, name)()
        with pytest.raises(ValueError) as ee:
            getattr(dist, name)()
        assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.all_reduce(ember.ones(2))
    with pytest.raises(ValueError, match="Default process group"):
        ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(2, 2))


def test_reduce_op_names(torch):
    for name in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"):
        assert getattr(dist.ReduceOp, name).name == getattr(torch.distributed.ReduceOp, name).name
    assert dist.is_nccl_available() is False
    assert dist.Backend("GLOO") == "gloo"


def test_nccl_and_unknown_backends_are_refused():
    with pytest.raises(RuntimeError, match="nccl.*CPUs over MPI"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("carrier-pigeon")
    assert not dist.is_initialized()


def test_missing_mpi4py_says_what_to_install(tmp_path):
    # mpi4py hidden: ember still imports and trains; init_process_group names the extra
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import importlib.util as u; u.find_spec = lambda *a, **k: None\n"
            "import ember, ember.distributed as d, ember.nn as nn\n"
            "nn.Linear(2, 2)(ember.ones(1, 2)).sum().backward()\n"
            "assert not d.is_available()\n"
            "try:\n    d.init_process_group('gloo')\nexcept RuntimeError as e:\n    print(e)\n")
    r = _run([sys.executable, "-c", code])
    assert r.returncode == 0, r.stderr
    assert "pip install 'ember[distributed]'" in r.stdout


def test_data_parallel_runs_the_module_unchanged(torch):
    ember.manual_seed(0)
    m = ember.nn.Linear(3, 2)
    dp = ember.nn.DataParallel(m)
    x = ember.randn(4, 3)
    assert ember.equal(dp(x), m(x))
    tm = torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert list(dp.state_dict()) == list(tm.state_dict())


# ---- processes ------------------------------------------------------------------------------

def test_world_of_one_without_launcher():
    r = _run(_ember("run", str(SCRIPTS / "collectives.py")), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["collectives", "ok", "0", "1"]


def test_collectives_two_ranks_under_mpiexec():
    r = _run([MPIEXEC, "-n", "2", *_ember("run", str(SCRIPTS / "collectives.py"))], timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(re.findall(r"collectives ok \d \d", r.stdout)) == ["collectives ok 0 2",
                                                                   "collectives ok 1 2"]


def test_ember_launch_two_ranks_with_torchrun_variables(tmp_path):
    script = tmp_path / "env.py"
    script.write_text(
        "import os, torch, torch.distributed as dist\n"
        "import numpy as np\n"
        "dist.init_process_group('gloo')\n"
        "assert int(os.environ['RANK']) == dist.get_rank()\n"
        "assert int(os.environ['WORLD_SIZE']) == dist.get_world_size() == 2\n"
        "assert os.environ['LOCAL_RANK'] == os.environ['RANK']\n"
        "assert os.environ['MASTER_ADDR'] and os.environ['MASTER_PORT']\n"
        "for i in range(2):\n"
        "    if i == dist.get_rank():\n"
        "        print(f\"<rank {i} threads {os.environ['OPENBLAS_NUM_THREADS']}>\", flush=True)\n"
        "    dist.barrier()\n")
    r = _run(_ember("launch", "--nproc-per-node", "2", str(script)), timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(re.findall(r"<[^>]*>", r.stdout)) == ["<rank 0 threads 1>", "<rank 1 threads 1>"]


FAIL_SCRIPT = """
import os, signal, datetime, torch, torch.distributed as dist
dist.init_process_group('gloo', timeout=datetime.timedelta(seconds=20))
t = torch.ones(3)
for step in range(1000):
    if step == 5 and dist.get_rank() == 1:
        if os.environ['MODE'] == 'kill':
            os.kill(os.getpid(), signal.SIGKILL)
        raise ValueError('boom on rank 1')
    dist.all_reduce(t)
print('finished', dist.get_rank())
"""


@pytest.mark.parametrize("mode", ["raise", "kill"])
def test_a_failing_rank_fails_the_job_and_is_named(tmp_path, mode):
    script = tmp_path / "fail.py"
    script.write_text(FAIL_SCRIPT)
    r = _run(_ember("launch", "--nproc-per-node", "2", str(script)), timeout=60, MODE=mode)
    assert r.returncode != 0
    assert "finished" not in r.stdout
    assert "ember launch: the job failed (rank 1 failed" in r.stderr, r.stderr
    if mode == "raise":
        assert "ValueError: boom on rank 1" in r.stderr
    else:
        assert "rank 1 (pid" in r.stderr and "SIGKILL" in r.stderr


def test_a_silent_peer_times_out_with_a_clear_error(tmp_path):
    script = tmp_path / "hang.py"
    script.write_text(
        "import time, datetime, torch, torch.distributed as dist\n"
        "dist.init_process_group('gloo', timeout=datetime.timedelta(seconds=2))\n"
        "if dist.get_rank() == 1:\n    time.sleep(30)\n"
        "dist.all_reduce(torch.ones(2))\n")
    r = _run(_ember("launch", "--nproc-per-node", "2", str(script)), timeout=60)
    assert r.returncode != 0
    assert "all_reduce on rank 0 did not complete within the process group's timeout (2 s)" \
        in r.stderr, r.stderr
    assert "ember launch: the job failed (rank 0 failed" in r.stderr


def test_launch_usage_errors(tmp_path):
    r = _run(_ember("launch", "--nproc-per-node", "2", str(tmp_path / "nope.py")))
    assert r.returncode == 2 and "no such file" in r.stderr
    r = _run(_ember("launch", "--nproc-per-node", "0", str(tmp_path / "nope.py")))
    assert r.returncode == 2 and "at least 1" in r.stderr


# ---- DDP training on real data ----------------------------------------------------------------

def _initial_state(torch, model: str, path: pathlib.Path) -> None:
    torch.manual_seed(0)
    nn = torch.nn
    if model == "mlp":
        m = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64),
                          nn.ReLU(), nn.Linear(64, 10))
    else:
        m = nn.Module()
        m.conv1, m.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 12, 5)
        m.fc1, m.fc2, m.out = nn.Linear(192, 120), nn.Linear(120, 60), nn.Linear(60, 10)
    torch.save(m.state_dict(), path)


def _train(tmp_path, mode, model, steps, launcher, port="29533"):
    args = [str(SCRIPTS / "ddp_train.py"), "--model", model, "--mode", mode, "--steps",
            str(steps), "--data", str(DATASETS), "--init", str(tmp_path / "init.pth"),
            "--out", str(tmp_path)]
    if launcher == "ember":
        cmd = [MPIEXEC, "-n", "2", *_ember("run", *args)]
    elif launcher == "torch":
        cmd = [MPIEXEC, "-n", "2", sys.executable, *args]
    else:
        cmd = _ember("run", *args)
    env = {"PORT": port}
    if launcher == "torch":  # the real torch, not ember, must answer `import torch`
        env["PYTHONPATH"] = ""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240,
                       env=dict(_env(), **env) if launcher != "torch" else
                       dict(os.environ, **env))
    assert r.returncode == 0, r.stdout + r.stderr


def _load(path):
    return {k: v._data for k, v in ember.load(path).items()}


@pytest.mark.parametrize("model,steps", [("mlp", 300), ("cnn", 200)])
def test_ddp_equals_one_process_on_the_combined_batch(torch, tmp_path, model, steps):
    _initial_state(torch, model, tmp_path / "init.pth")
    _train(tmp_path, "ddp", model, steps, "ember")
    _train(tmp_path, "single", model, steps, "single")
    r0, r1 = _load(tmp_path / "ddp-rank0.pth"), _load(tmp_path / "ddp-rank1.pth")
    single = _load(tmp_path / "single-rank0.pth")
    start = _load(tmp_path / "init.pth")
    for k in r0:
        assert np.array_equal(r0[k], r1[k]), k            # replicas never drift apart
        assert np.abs(r0[k] - start[k]).max() > 1e-3, k   # and they did train
        np.testing.assert_allclose(r0[k], single[k], rtol=0, atol=1e-6, err_msg=k)


def test_no_sync_accumulation_equals_synchronous_steps(torch, tmp_path):
    _initial_state(torch, "mlp", tmp_path / "init.pth")
    _train(tmp_path, "ddp", "mlp", 100, "ember")
    _train(tmp_path, "nosync", "mlp", 100, "ember")
    a, b = _load(tmp_path / "ddp-rank0.pth"), _load(tmp_path / "nosync-rank0.pth")
    c = _load(tmp_path / "nosync-rank1.pth")
    for k in a:
        assert np.array_equal(b[k], c[k]), k
        np.testing.assert_allclose(a[k], b[k], rtol=0, atol=1e-6, err_msg=k)


def test_ddp_matches_real_torch_with_gloo(torch, tmp_path):
    _initial_state(torch, "mlp", tmp_path / "init.pth")
    _train(tmp_path, "ddp", "mlp", 200, "ember")
    os.rename(tmp_path / "ddp-rank0.pth", tmp_path / "ember.pth")
    _train(tmp_path, "ddp", "mlp", 200, "torch", port=str(29500 + os.getpid() % 1000))
    e, t = _load(tmp_path / "ember.pth"), _load(tmp_path / "ddp-rank0.pth")
    for k in e:
        np.testing.assert_allclose(e[k], t[k], rtol=0, atol=1e-4, err_msg=k)


def test_ddp_state_dict_keys_match_torch(torch):
    code = ("import torch, torch.nn as nn, torch.distributed as dist\n"
            "dist.init_process_group('gloo')\n"
            "m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))\n"
            "d = nn.parallel.DistributedDataParallel(m)\n"
            "print(list(d.state_dict()))\n"
            "x = torch.randn(4, 2)\n"
            "assert torch.equal(d(x), m(x))\n")
    script = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"ddp_keys_{os.getpid()}.py"
    script.write_text(code)
    try:
        r = _run(_ember("run", str(script)), timeout=60)
    finally:
        script.unlink()
    assert r.returncode == 0, r.stderr
    tm = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    expected = ["module." + k for k in tm.state_dict()]
    assert r.stdout.strip() == str(expected)


def test_ember_train_nproc_2_on_real_data(tmp_path):
    out = tmp_path / "run"
    r = _run(_ember("train", "--data", str(DATASETS), "--nproc", "2", "--epochs", "1",
                    "--out", str(out), "--no-progress"), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "processes=2" in r.stdout
    assert r.stdout.count("epoch 1:") == 1  # rank 0 alone reports and writes
    acc = float(r.stdout.split("test accuracy ")[1].split()[0])
    assert acc > 0.75
    state = ember.load(out / "model.pth")
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]


TORCH_RUNNER = """
import os, runpy, sys
os.environ.update(RANK=os.environ["PMI_RANK"], WORLD_SIZE=os.environ["PMI_SIZE"],
                  MASTER_ADDR="127.0.0.1", MASTER_PORT=sys.argv[2])
runpy.run_path(sys.argv[1], run_name="__main__")
"""


@pytest.mark.parametrize("framework", ["ember", "torch"])
def test_ddp_comm_hooks_and_unused_parameters(torch, tmp_path, framework):
    # the same script passes on real torch (gloo): its assertions are torch's behaviour
    script = str(SCRIPTS / "ddp_hooks.py")
    if framework == "ember":
        cmd = [MPIEXEC, "-n", "2", *_ember("run", script)]
        env = _env()
    else:
        runner = tmp_path / "runner.py"
        runner.write_text(TORCH_RUNNER)
        cmd = [MPIEXEC, "-n", "2", sys.executable, str(runner), script,
               str(29600 + os.getpid() % 300)]
        env = dict(os.environ)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(re.findall(r"ddp hooks ok \d", r.stdout)) == ["ddp hooks ok 0", "ddp hooks ok 1"]
