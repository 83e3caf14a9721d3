"""The MPI runtime behind ember.distributed, imported only when a process group is made.

mpi4py and the MPICH wheels are the optional extra `ember[distributed]`: without them the rest
of ember imports and runs as usual, and `init_process_group` says what to install.
"""
from __future__ import annotations

import importlib.util
import os

_INSTALL_HINT = ("ember.distributed runs on MPI through mpi4py, which is not installed: "
                 "pip install 'ember[distributed]' (mpi4py and the MPICH runtime from pip), or "
                 "pip install mpi4py against your cluster's own MPI")


def available() -> bool:
    return importlib.util.find_spec("mpi4py") is not None


def load():
    """mpi4py's MPI module, initialised without MPI's own threads and with errors returned as
    Python exceptions (not aborts), so ember can name what failed."""
    if not available():
        raise RuntimeError(_INSTALL_HINT)
    import mpi4py
    mpi4py.rc.threads = False  # one thread per rank calls MPI; no MPI_THREAD_MULTIPLE locking
    from mpi4py import MPI
    return MPI


def launcher_world():
    """(rank, world_size, local_rank) as the launcher that started this process states them
    (torchrun's variables, MPI's process manager, Slurm), or None when no launcher did."""
    env = os.environ
    for rank, size, local in (("RANK", "WORLD_SIZE", "LOCAL_RANK"),
                              ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"),
                              ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                               "OMPI_COMM_WORLD_LOCAL_RANK"),
                              ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID")):
        if rank in env and size in env:
            return int(env[rank]), int(env[size]), int(env.get(local, env[rank]))
    return None


def fill_torchrun_env() -> None:
    """Set torchrun's RANK/WORLD_SIZE/LOCAL_RANK/LOCAL_WORLD_SIZE/MASTER_ADDR/MASTER_PORT from
    the MPI or Slurm launcher's variables, so scripts written for torchrun read them as usual.
    Values already set are kept."""
    env = os.environ
    if "RANK" in env and "WORLD_SIZE" in env:
        return
    world = launcher_world()
    if world is None:
        return
    rank, size, local = world
    env.setdefault("RANK", str(rank))
    env.setdefault("WORLD_SIZE", str(size))
    env.setdefault("LOCAL_RANK", str(local))
    env.setdefault("LOCAL_WORLD_SIZE", env.get("MPI_LOCALNRANKS", env.get(
        "OMPI_COMM_WORLD_LOCAL_SIZE", str(size))))
    env.setdefault("MASTER_ADDR", "127.0.0.1")
    env.setdefault("MASTER_PORT", "29500")
