"""`srun`-started ranks: ember reads Slurm's SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID as it
reads torchrun's and MPI's variables, and says plainly when Slurm's count of tasks and MPI's
world disagree (an MPI not wired to srun's process manager) instead of training as a world
of one. No Slurm here: the tests give a process Slurm's environment, as srun does."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

SRC = pathlib.Path(__file__).parent.parent / "src"
LAUNCHER_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
                 "MASTER_PORT", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS",
                 "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
                 "PMI_FD", "PMI_PORT", "PMI_ID", "HYDI_CONTROL_FD")

SCRIPT = """
import json, os
import torch
import torch.distributed as dist
env = {k: os.environ.get(k) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")}
try:
    dist.init_process_group("gloo")
    out = {"env": env, "rank": dist.get_rank(), "world": dist.get_world_size()}
    dist.destroy_process_group()
except RuntimeError as e:
    out = {"env": env, "error": str(e)}
print(json.dumps(out))
"""


def _srun_like(tmp_path, **slurm):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(slurm)
    r = subprocess.run([sys.executable, "-m", "ember", "run", str(script)], capture_output=True,
                       text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_one_slurm_task_is_rank_0_of_1_with_torchrun_variables(tmp_path):
    out = _srun_like(tmp_path, SLURM_PROCID="0", SLURM_NTASKS="1", SLURM_LOCALID="0")
    assert out["env"] == {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0",
                          "MASTER_ADDR": "127.0.0.1"}
    assert (out["rank"], out["world"]) == (0, 1)


def test_slurm_tasks_without_a_connected_mpi_fail_clearly(tmp_path):
    # srun said 4 tasks, but this process's MPI is a world of one: training would silently
    # run 4 unsynchronised copies; ember refuses and names both counts and the fix
    out = _srun_like(tmp_path, SLURM_PROCID="2", SLURM_NTASKS="4", SLURM_LOCALID="0")
    assert out["env"]["RANK"] == "2" and out["env"]["WORLD_SIZE"] == "4"
    assert "WORLD_SIZE=4" in out["error"] and "MPI started 1 process" in out["error"]
    assert "mpiexec" in out["error"]


def test_torchrun_variables_win_over_slurm(tmp_path):
    out = _srun_like(tmp_path, SLURM_PROCID="3", SLURM_NTASKS="4", RANK="0", WORLD_SIZE="1")
    assert out["env"]["RANK"] == "0" and out["env"]["WORLD_SIZE"] == "1"
    assert out["world"] == 1
