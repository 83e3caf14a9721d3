"""`set_num_threads` / `get_num_threads`: the thread count of NumPy's BLAS (where ember's time goes).

threadpoolctl finds the BLAS library NumPy loaded (OpenBLAS, MKL, ...) and sets its thread count
at run time, like torch.set_num_threads does for torch's intra-op pool.
"""
from __future__ import annotations

def set_num_threads(n: int) -> None:
    n = int(n)
    if n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    from threadpoolctl import ThreadpoolController
    ThreadpoolController().limit(limits=n, user_api="blas")


def get_num_threads() -> int:
    from threadpoolctl import threadpool_info
    info = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return info[0] if info else 1
