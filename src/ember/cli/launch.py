"""`ember launch`: start a data-parallel job through MPI's own launcher (mpiexec).

    ember launch --nproc-per-node 2 train.py --epochs 3
    ember launch --nproc-per-node 4 --hosts node1,node2 train.py

Each process runs the script as `ember run` does, with torchrun's RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, and one BLAS thread unless `--threads` says
otherwise (N processes on N cores each running N BLAS threads would oversubscribe them).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

# what a failing rank prints: its own abort (distributed_c10d) or its wrapper's report (_rank)
_RANK_LINE = re.compile(r"ember\.distributed: rank (\d+) failed|ember launch: rank (\d+) \(pid")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ember launch", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Run SCRIPT as a data-parallel job: N processes per host, started by mpiexec.")
    p.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1, metavar="N",
                   help="processes per host")
    hosts = p.add_mutually_exclusive_group()
    hosts.add_argument("--hosts", default=None, help="comma-separated host names (default: this "
                       "machine only)")
    hosts.add_argument("--hostfile", default=None, help="a file with one host name per line")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads per process")
    p.add_argument("--mpiexec", default=None, help="the mpiexec to use (default: the one "
                   "installed beside this Python, else the first on PATH)")
    p.add_argument("script", help="the Python script to run")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")
    return p


def find_mpiexec(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("mpiexec")


def _hosts(args) -> list[str]:
    if args.hosts:
        return [h.strip() for h in args.hosts.split(",") if h.strip()]
    if args.hostfile:
        with open(args.hostfile) as f:
            return [line.split()[0] for line in f if line.strip() and not line.startswith("#")]
    return []


def command(args, mpiexec: str) -> list[str]:
    """The mpiexec command line (MPICH's Hydra flags, or Open MPI's)."""
    hosts = _hosts(args)
    n = args.nproc_per_node * max(1, len(hosts))
    threads = str(args.threads)
    env = {"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
           "MKL_NUM_THREADS": threads, "MASTER_ADDR": hosts[0] if hosts else "127.0.0.1",
           "MASTER_PORT": os.environ.get("MASTER_PORT", "29500")}
    cmd = [mpiexec, "-n", str(n)]
    open_mpi = _is_open_mpi(mpiexec)
    if hosts:
        if open_mpi:
            cmd += ["--host", ",".join(f"{h}:{args.nproc_per_node}" for h in hosts)]
        else:
            cmd += ["-hosts", ",".join(hosts), "-ppn", str(args.nproc_per_node)]
    for k, v in env.items():
        cmd += ["-x", f"{k}={v}"] if open_mpi else ["-genv", k, v]
    return cmd + [sys.executable, "-m", "ember.cli._rank", "-m", "ember", "run", args.script,
                  *args.args]


def _is_open_mpi(mpiexec: str) -> bool:
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return "Open MPI" in out.stdout + out.stderr


def launch_command(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.nproc_per_node < 1:
        print("ember launch: error: --nproc-per-node must be at least 1", file=sys.stderr)
        return 2
    if not os.path.isfile(args.script):
        print(f"ember launch: error: no such file: {args.script}", file=sys.stderr)
        return 2
    if args.hostfile and not os.path.isfile(args.hostfile):
        print(f"ember launch: error: no such hostfile: {args.hostfile}", file=sys.stderr)
        return 2
    mpiexec = find_mpiexec(args.mpiexec)
    if mpiexec is None:
        print("ember launch: error: no mpiexec found: pip install 'ember[distributed]' (mpi4py "
              "and the MPICH runtime), or put your MPI's mpiexec on PATH", file=sys.stderr)
        return 2
    proc = subprocess.Popen(command(args, mpiexec), stderr=subprocess.PIPE, text=True,
                            errors="replace")
    raised, killed = [], []  # ranks that reported an exception / that died from a signal
    try:
        for line in proc.stderr:
            sys.stderr.write(line)
            m = _RANK_LINE.search(line)
            if m:
                rank, into = (m.group(1), raised) if m.group(1) else (m.group(2), killed)
                if rank not in into:
                    into.append(rank)
        code = proc.wait()
    except KeyboardInterrupt:
        proc.wait()
        return 130
    if code != 0:
        # the cause: the ranks that raised, else the first to die; mpiexec then ends the others,
        # whose deaths are consequences (their order varies with the machine's load)
        failed = raised or killed[:1]
        who = f"rank {', '.join(failed)} failed" if failed else "a rank failed"
        print(f"ember launch: the job failed ({who}; mpiexec exit code {code})", file=sys.stderr)
        return code if 0 < code < 256 else 1
    return 0
