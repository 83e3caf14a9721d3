"""torch.autocast on the CPU: inside the region the ops on torch's CPU lower-precision list
(mm, matmul, bmm, addmm, baddbmm, addbmm, linear, convolutions, prelu) run in bfloat16 or
float16, and the ops on its float32 list (the losses, ...) run in float32.

The state is one small object; each listed op reads one attribute (`state.on`) first, so
outside an autocast region the cost is a single attribute check. Casts go through `Tensor.to`,
so gradients flow back to the float32 parameters in float32, as in torch.
"""
from __future__ import annotations

import functools
import warnings

from .. import _dtype


class _State:
    __slots__ = ("on", "dtype", "cpu_dtype")


state = _State()
state.on = False                 # autocast active for the CPU (the only device ember runs on)
state.cpu_dtype = _dtype.bfloat16  # torch.get_autocast_dtype('cpu') outside any region
state.dtype = _dtype.bfloat16

_DEVICES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
            "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
            "privateuseone")
_DEFAULT_DTYPE = {"cpu": _dtype.bfloat16}


def _eligible(t):
    # torch casts floating tensors other than float64 (and leaves everything else alone)
    d = t._data.dtype
    return _dtype.is_float_np(d) and d.itemsize != 8


def cast_low(*tensors):
    """The operands of a lower-precision op, cast to the autocast dtype (None passes)."""
    target = state.dtype.np
    out = []
    for t in tensors:
        if t is not None and t._data.dtype != target and _eligible(t):
            t = t.to(state.dtype)
        out.append(t)
    return out


def cast_fp32(*tensors):
    """The operands of an op on torch's float32 list, cast up to float32 (None passes)."""
    out = []
    for t in tensors:
        if t is not None and t._data.dtype.itemsize == 2 and _eligible(t):
            t = t.to(_dtype.float32)
        out.append(t)
    return out


class autocast:
    """torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None): a context
    manager and decorator. ember runs on the CPU: a CUDA region is disabled with torch's warning
    (as on a machine without a GPU); other accelerator types are accepted and change nothing."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _DEVICES:
            raise RuntimeError(f"Expected one of {', '.join(_DEVICES)} device type at start of "
                               f"device string: {device_type}")
        self.device = device_type
        # without a dtype, the device's current autocast dtype (that of an enclosing region)
        self.fast_dtype = dtype if dtype is not None else get_autocast_dtype(device_type)
        self._cache_enabled = True if cache_enabled is None else cache_enabled
        enabled = bool(enabled)
        if device_type == "cuda" and enabled:
            warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.",
                          UserWarning, stacklevel=2)
            enabled = False
        if device_type == "cpu" and enabled and self.fast_dtype not in (_dtype.bfloat16,
                                                                         _dtype.float16):
            warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling "
                          "autocast.\nCPU Autocast only supports dtypes of torch.bfloat16, "
                          "torch.float16 currently.", UserWarning, stacklevel=2)
            enabled = False
        self._enabled = enabled
        self._saved = []

    def __enter__(self):
        if self.device != "cpu":
            return self
        self._saved.append((state.on, state.dtype, state.cpu_dtype))
        state.on = self._enabled
        if self._enabled:
            state.dtype = state.cpu_dtype = self.fast_dtype
        return self

    def __exit__(self, *exc):
        if self.device == "cpu":
            state.on, state.dtype, state.cpu_dtype = self._saved.pop()
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return decorate_autocast


def is_autocast_enabled(device_type=None) -> bool:
    """torch.is_autocast_enabled(): without an argument it answers for CUDA (always False)."""
    if device_type is None or device_type != "cpu":
        return False
    return state.on


def is_autocast_cpu_enabled() -> bool:
    return state.on


def get_autocast_dtype(device_type: str):
    if device_type == "cpu":
        return state.cpu_dtype
    return _DEFAULT_DTYPE.get(device_type, _dtype.float16)


def get_autocast_cpu_dtype():
    return state.cpu_dtype


def is_autocast_available(device_type: str) -> bool:
    return device_type == "cpu"


def fp32_wrap(fn):
    """`fn` with its tensor arguments cast up to float32 inside an autocast region (torch's
    float32 policy); outside one the wrapper only reads `state.on`."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if state.on:
            args = [cast_fp32(a)[0] if _is_tensor(a) else a for a in args]
            kwargs = {k: cast_fp32(v)[0] if _is_tensor(v) else v for k, v in kwargs.items()}
        return fn(*args, **kwargs)
    return wrapper


def _is_tensor(x):
    from .._tensor import Tensor
    return isinstance(x, Tensor)


def low_wrap(fn):
    """`fn` under torch's lower-precision policy, for ops without an inline check: the inputs
    are rounded to the autocast dtype, the op runs in float32 (torch's CPU kernels accumulate
    in float32 too) and its result is rounded to the autocast dtype."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not state.on:
            return fn(*args, **kwargs)
        low = state.dtype

        def prep(a):
            if _is_tensor(a) and _eligible(a):
                return a.to(low).to(_dtype.float32)
            return a
        out = fn(*[prep(a) for a in args], **{k: prep(v) for k, v in kwargs.items()})
        return out.to(low) if _is_tensor(out) and _eligible(out) else out
    return wrapper
