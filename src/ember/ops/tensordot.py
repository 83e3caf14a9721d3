"""torch.tensordot: contraction over paired dimensions, as a permute + reshape + matmul (so the
gradient is matmul's)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor

__all__ = ["tensordot"]


def _dims_lists(a: Tensor, b: Tensor, dims):
    if isinstance(dims, Tensor):
        d = dims._data
        dims = int(d) if d.ndim == 0 else d.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.dim(), b.dim()):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da = list(range(a.dim() - dims, a.dim()))
        return da, list(range(dims)), [d - a.dim() for d in da]
    da, db = dims
    da = [da] if isinstance(da, int) else list(da)
    db = [db] if isinstance(db, int) else list(db)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    return [d % a.dim() for d in da], [d % b.dim() for d in db], da


def tensordot(a: Tensor, b: Tensor, dims=2, out=None) -> Tensor:
    """sum over the paired dims (a's dims_a with b's dims_b) of a * b; the result has a's free
    dims, then b's. dims: an int (a's last dims with b's first), or two lists."""
    if out is not None:
        raise NotImplementedError("ember: tensordot(out=) is not supported")
    da, db, labels = _dims_lists(a, b, dims)
    for x, y, lx in zip(da, db, labels):  # errors name a's dims as the caller gave them
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[x]} in dim {lx} and second has size {b.shape[y]} in "
                               f"dim {y}")
    fa = [i for i in range(a.dim()) if i not in da]
    fb = [i for i in range(b.dim()) if i not in db]
    k = int(np.prod([a.shape[i] for i in da]))
    am = a.permute(*(fa + da)).reshape(-1, k) if a.dim() else a.reshape(1, 1)
    bm = b.permute(*(db + fb)).reshape(k, -1) if b.dim() else b.reshape(1, 1)
    return am.matmul(bm).reshape([a.shape[i] for i in fa] + [b.shape[i] for i in fb])
