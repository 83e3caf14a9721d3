"""The timing loop the side-by-side benchmarks share: each case timed on torch and on ember in
alternating runs (machine load hits both alike), the best of each kept."""
from __future__ import annotations

import time


def add_options(ap, repeats: int, steps: int) -> None:
    ap.add_argument("--repeats", type=int, default=repeats)
    ap.add_argument("--steps", type=int, default=steps)
    ap.add_argument("--wall", action="store_true",
                    help="wall-clock time (default: CPU time of this process, which a loaded "
                         "machine disturbs less)")


def clock(args):
    return time.perf_counter if args.wall else time.process_time


def timeit(fn, steps: int, clock) -> float:
    """Milliseconds per call of fn() over `steps` calls, after one warm-up call."""
    fn()
    t = clock()
    for _ in range(steps):
        fn()
    return (clock() - t) / steps * 1e3


def compare(torch_cases: dict, ember_cases: dict, args, width: int = 32,
            digits: int = 3) -> None:
    """Print each case's best torch and ember times and their ratio."""
    clk = clock(args)
    print(f"{'case':{width}s} {'torch ms':>9s} {'ember ms':>9s} {'ratio':>6s}")
    for name in torch_cases:
        bt = be = float("inf")
        for _ in range(args.repeats):  # alternate, keep the best of each
            bt = min(bt, timeit(torch_cases[name], args.steps, clk))
            be = min(be, timeit(ember_cases[name], args.steps, clk))
        print(f"{name:{width}s} {bt:9.{digits}f} {be:9.{digits}f} {be / bt:6.2f}")


def one_thread(torch) -> None:
    """torch and NumPy's BLAS (ember's) on one thread."""
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass
