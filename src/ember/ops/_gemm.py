"""Matrix products with the BLAS thread count chosen per call.

OpenBLAS splits a GEMM over its threads and has each wait for the others. On a machine where
another process holds a core (the usual laptop or CI runner), a thread without a core makes the
rest spin: at the default thread count the seed MLP's epoch ran 25x slower than at one thread.
So each product picks its thread count:

- products too small to gain from a second thread (nearly all of a small model's) run on one;
- larger ones are timed on one thread and on the allowed maximum now and then, per size class,
  and run on the maximum only when it is clearly faster per multiply-add (by THREADS_GAIN):
  on an idle machine that holds for the large products, beside a busy core for none. The
  margin is there because a product's own time misses what threads cost the code around it
  (workers that spin on a core after the product, waking them for the next one): with an even
  choice, memory-bound products (the seed CNN's K=12 input gradient, 2 threads timed 1.2x
  faster on their own) left the whole epoch 5-15% slower than at one thread. Timings older
  than a few seconds are measured again, since the load on a machine changes.

The thread count is set through OpenBLAS's own `openblas_set_num_threads` (0.5 µs through
ctypes; threadpoolctl's context managers take milliseconds), and only when it changes. BLAS
libraries other than OpenBLAS are left to their own threading.
"""
from __future__ import annotations

import time

import numpy as np

# below this many multiply-adds a second thread gains less than its synchronisation costs on
# the CPUs measured (bench/run.py's W1/W4 GEMMs); the seed MLP's largest product is 6.4M
SERIAL_MACS = 1 << 23
# more threads must beat one by this factor per multiply-add to be chosen (see above)
THREADS_GAIN = 1.3
_REPROBE_SECONDS = 2.0

_matmul = np.matmul
_dot = np.dot  # (both looked up at call time: bench/floor.py times every product)
_perf = time.perf_counter


class _Blas:
    """The OpenBLAS thread setter, found on first use (threadpoolctl finds NumPy's BLAS)."""
    ready = False
    set_threads = None   # ctypes function, or None when the BLAS is not OpenBLAS
    dll = None           # the OpenBLAS library (ctypes.CDLL), for other routines (ops/_axpy.py)
    symbol = None        # name -> the library's exported name of that routine (prefix, suffix)
    int64 = False        # whether its integers are 64-bit (ILP64 builds, NumPy's own)
    current = None       # the count last set (None until the BLAS has been found)
    allowed = 1          # the user's limit: set_num_threads, else the BLAS's own default


_blas = _Blas()
# size class (log2 of the multiply-adds) -> [threads chosen, time/MAC on 1, time/MAC on max,
# when the other count was last timed]
_classes: dict = {}


def _find() -> None:
    _blas.ready = True
    try:
        from threadpoolctl import ThreadpoolController
        import ctypes
        for lib in ThreadpoolController().lib_controllers:
            if lib.internal_api == "openblas":
                dll = ctypes.CDLL(lib.filepath)
                pre, suf = lib._symbol_prefix, lib._symbol_suffix
                _blas.dll, _blas.int64 = dll, suf.startswith("64")
                _blas.symbol = lambda name: f"{pre}{name}{suf}"
                fn = getattr(dll, _blas.symbol("openblas_set_num_threads"))
                fn.argtypes = [ctypes.c_int]
                fn.restype = None
                get = getattr(dll, _blas.symbol("openblas_get_num_threads"))
                _blas.allowed = _blas.current = int(get())
                _blas.set_threads = fn
                return
    except Exception:  # noqa: BLE001 - any BLAS we cannot drive keeps its own threading
        _blas.set_threads = None


def set_allowed(n: int) -> None:
    """ember.set_num_threads: the most threads any product may use."""
    if not _blas.ready:
        _find()
    _blas.allowed = n
    _classes.clear()
    _use(1 if n == 1 else n)


def allowed() -> int:
    if not _blas.ready:
        _find()
    return _blas.allowed


def serial_blas() -> "_Serial":
    """A context for a loop of small products called through np.matmul directly (a recurrent
    layer's steps): BLAS on one thread, as gemm() would choose for each of them."""
    return _SERIAL


class _Serial:
    __slots__ = ()

    def __enter__(self):
        if _blas.current != 1:
            if not _blas.ready:
                _find()
            _use(1)

    def __exit__(self, *exc):
        return False


_SERIAL = _Serial()


def cblas(name: str, argtypes) -> dict:
    """NumPy's OpenBLAS routines cblas_s<name> and cblas_d<name> as ctypes functions, by NumPy
    dtype; {} when the BLAS is not OpenBLAS or has no CBLAS (callers keep a NumPy route).
    `argtypes(int_t, real)` gives the argument types (int_t: the BLAS's integer)."""
    import ctypes
    if not _blas.ready:
        _find()
    if _blas.dll is None:
        return {}
    int_t = ctypes.c_int64 if _blas.int64 else ctypes.c_int
    fns = {}
    try:
        for dt, prefix, real in ((np.float32, "s", ctypes.c_float),
                                 (np.float64, "d", ctypes.c_double)):
            fn = getattr(_blas.dll, _blas.symbol(f"cblas_{prefix}{name}"))
            fn.argtypes = argtypes(int_t, real)
            fn.restype = None
            fns[np.dtype(dt)] = fn
    except AttributeError:  # a build without CBLAS
        return {}
    return fns


def set_threads_for(macs: int) -> None:
    """Set the BLAS to the thread count gemm() would now pick for a product of `macs`
    multiply-adds (for products called outside gemm, through cblas on strided windows); it
    does not time the call, so it never probes the other count."""
    if not _blas.ready:
        _find()
    n = 1
    if macs >= SERIAL_MACS and _blas.allowed > 1:
        c = _classes.get(macs.bit_length())  # the count measured faster for this size
        n = c[0] if c is not None else 1
    _use(n)


def _use(n: int) -> None:
    if n != _blas.current and _blas.set_threads is not None:
        _blas.set_threads(n)
        _blas.current = n


def _macs(a: np.ndarray, b: np.ndarray) -> int:
    """Multiply-adds of a @ b, batch dimensions (of either operand) included."""
    n = b.shape[-1] if b.ndim > 1 else 1
    macs = a.size * n
    if b.ndim > 2 and b.ndim >= a.ndim:
        macs = max(macs, b.size * (a.shape[-2] if a.ndim > 1 else 1))
    return macs


def gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """np.matmul(a, b, out=out) on the thread count that suits its size."""
    if a.dtype.itemsize == 2 and a.dtype.kind in "fV":
        return _half_gemm(a, b, out)
    if a.ndim == 2 and a.shape[1] == 1 and b.ndim == 2 and out is None and a.dtype == b.dtype:
        # an outer product (a one-sample weight gradient): np.matmul's K=1 loop is several
        # times slower than np.dot's rank-1 BLAS call (128x784: 116 us against 16)
        return _dot(a, b)
    macs = _macs(a, b)
    if macs < SERIAL_MACS:
        if _blas.current != 1:
            if not _blas.ready:
                _find()
            _use(1)
        if out is None and b.ndim == 2 and a.ndim == 2:
            if _weight_side_first(a, b):
                return _matmul(b.T, a.T).T.copy()
            if a.shape[0] >= _linear_blas.NN_MIN_ROWS and b.flags.f_contiguous and \
                    a.flags.c_contiguous and a.dtype == b.dtype:
                r = _linear_blas.transposed_product(a, b)  # x @ W.T from 24 rows: NN on W.T
                if r is not None:
                    return r
            # np.dot: the same BLAS call, bit for bit, without matmul's ufunc dispatch
            # (0.4 us of a 1-2 us product)
            return _dot(a, b)
        return _matmul(a, b) if out is None else _matmul(a, b, out=out)
    if not _blas.ready:
        _find()
    most = _blas.allowed
    if most == 1 or _blas.set_threads is None:
        if most == 1:
            _use(1)
            if out is None and a.ndim == 2 and b.ndim == 2 and b.flags.f_contiguous and \
                    a.flags.c_contiguous and a.dtype == b.dtype:
                r = _linear_blas.transposed_product(a, b)
                if r is not None:
                    return r
        return _matmul(a, b) if out is None else _matmul(a, b, out=out)
    key = macs.bit_length()
    c = _classes.get(key)
    now = _perf()
    if c is None:
        c = _classes[key] = [1, None, None, now]
    # time the count not in use when its timing is missing or stale; else use the faster
    if c[1] is None:
        n = 1
    elif c[2] is None:
        n = most
    elif now - c[3] > _REPROBE_SECONDS:
        n = most if c[0] == 1 else 1
        c[3] = now
    else:
        n = c[0]
    _use(n)
    t0 = _perf()
    r = _matmul(a, b) if out is None else _matmul(a, b, out=out)
    per = (_perf() - t0) / macs
    slot = 1 if n == 1 else 2
    c[slot] = per if c[slot] is None else 0.5 * (c[slot] + per)
    if c[1] is not None and c[2] is not None:
        c[0] = most if c[2] * THREADS_GAIN < c[1] else 1
    return r


def _weight_side_first(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether x @ W.T (a linear layer's forward: b is the transposed view of a C-contiguous
    W) runs faster as (W @ x.T).T and a copy to C order, for a few rows of x: OpenBLAS packs a
    transposed W slowly, and with 16-48 rows that packing is most of the product. Measured
    on the CPU of issue 15 (bench/gemm_layouts.py): 0.55-0.9x the time for 16-48 rows, K
    and N >= 120 (from 4 rows for N >= 384; up to 64 rows for K*N >= 96K), 1.0-1.3x elsewhere."""
    m, k = a.shape
    n = b.shape[1]
    if m < 4 or m > 64 or n < 120 or k < 120 or not b.flags.f_contiguous or \
            not a.flags.c_contiguous or a.dtype != b.dtype or a.dtype.kind != "f":
        return False
    return 16 <= m <= 48 or (m < 16 and n >= 384) or (m > 48 and k * n >= 98304)


def _half_gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """float16 / bfloat16 products (autocast): accumulate in float32 through BLAS and round once,
    as torch's CPU kernels do; NumPy's own half loops are slow and ml_dtypes' return float32."""
    r = gemm(a.astype(np.float32), b.astype(np.float32))
    if out is None:
        return r.astype(a.dtype)
    out[...] = r
    return out


from . import _linear_blas  # noqa: E402  (it uses this module's names at call time only)
