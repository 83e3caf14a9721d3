"""A GEMM with few rows and many columns, as column pieces of at most ~1M multiply-adds.

OpenBLAS serves products with M*N*K up to about 100^3 from its small-matrix kernels, which do
not pack the operands; a larger product with few rows of A (a convolution's output channels
times its column matrix) pays the packing of all of B for only a few uses of each element.
Cut into column pieces under that size it runs 1.3-2x faster at one thread (measured, M 4-16:
12x151x6400 361 -> 238 us, 6x26x57600 380 -> 205, 16x576x3136 807 -> 673; with 32+ rows the
gain fades, so larger M keeps one call). Products big enough for BLAS threads keep one call
too: the pieces would each be too small to share.
"""
from __future__ import annotations

import numpy as np

from ._gemm import SERIAL_MACS, gemm

PIECE_MACS = 1_000_000  # OpenBLAS's small-matrix limit (M*N*K <= 100^3)
MAX_ROWS = 16


def few_rows(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = a @ b for a (..., M, K), b (..., K, N) with matching leading shape (a stack: NumPy
    calls the BLAS once per matrix); by column pieces when M <= 16 and each matrix product is
    larger than a piece, while the whole stays below the size BLAS threads serve."""
    M, K = a.shape[-2], a.shape[-1]
    N = b.shape[-1]
    macs = M * K * N
    if M > MAX_ROWS or macs <= PIECE_MACS or macs * (b.size // (K * N)) >= SERIAL_MACS:
        return gemm(a, b, out=out)
    width = max(16, PIECE_MACS // (M * K) // 16 * 16)
    if width >= N:
        return gemm(a, b, out=out)
    for j in range(0, N, width):
        gemm(a, b[..., j:j + width], out=out[..., j:j + width])
    return out
