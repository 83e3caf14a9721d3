"""`set_num_threads` / `get_num_threads`: the thread count of NumPy's BLAS (where ember's time goes).

The count is the most threads a product may use: ops/_gemm.py picks one thread for small
products and times larger ones, so a busy core never makes the default slower than one thread.
"""
from __future__ import annotations


def set_num_threads(n: int) -> None:
    n = int(n)
    if n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    from .ops import _gemm
    _gemm.set_allowed(n)
    if _gemm._blas.set_threads is None:  # not OpenBLAS: threadpoolctl sets its own pool
        from threadpoolctl import ThreadpoolController
        ThreadpoolController().limit(limits=n, user_api="blas")


def get_num_threads() -> int:
    from .ops import _gemm
    if _gemm.allowed() and _gemm._blas.set_threads is not None:
        return _gemm.allowed()
    from threadpoolctl import threadpool_info
    info = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return info[0] if info else 1
