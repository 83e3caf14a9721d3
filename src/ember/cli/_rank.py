"""One rank of `ember launch`: runs `python ARGV...` in a child process and reports how it ended.

MPI's launcher tears the whole job down when a process dies, but names it only by pid; this
wrapper outlives its child, so a rank killed by a signal is reported with its rank number.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys


def main(argv: list[str]) -> int:
    rank = os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "?"))
    # close_fds=False: the child inherits the MPI process manager's connection (PMI_FD)
    child = subprocess.Popen([sys.executable, *argv], close_fds=False)
    while True:
        try:
            code = child.wait()
            break
        except KeyboardInterrupt:
            continue  # the launcher's SIGINT reaches the child too; wait for its exit
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else -code
        sys.stderr.write(f"ember launch: rank {rank} (pid {child.pid}) was killed by signal "
                         f"{-code} ({name})\n")
        sys.stderr.flush()
        return 128 - code
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
