"""`ember.device`: ember computes on the CPU; the type exists so device idioms run unchanged."""
from __future__ import annotations


class device:
    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        type = str(type)
        if ":" in type:
            type, _, idx = type.partition(":")
            index = int(idx)
        if type not in ("cpu", "cuda", "mps", "meta", "xpu"):
            raise RuntimeError(f"Expected one of cpu, cuda, mps, meta, xpu device type at start of "
                               f"device string: {type}")
        self.type = type
        self.index = index

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


CPU = device("cpu")


class DeviceNotCompiledError(AssertionError, RuntimeError):
    """torch on a CPU-only build raises AssertionError("Torch not compiled with CUDA enabled")
    for a CUDA tensor; ember raises the same type (also a RuntimeError, which ember raised
    before, so code catching either keeps working)."""


def check_device(d) -> None:
    """Accept cpu; name the device ember cannot run on instead of silently ignoring it."""
    if d is None:
        return
    if not isinstance(d, device):
        d = device(d)
    if d.type in ("cuda", "xpu"):
        raise DeviceNotCompiledError(
            f"Torch not compiled with {d.type.upper()} enabled (ember runs on the CPU only; "
            f"device '{d}' is not available)")
    if d.type != "cpu":
        raise RuntimeError(
            f"ember runs on the CPU only; device '{d}' is not available "
            "(ember.cuda.is_available() returns False)")


def set_default_device(device) -> None:
    """torch.set_default_device: the CPU (or None) is accepted; ember has no other device to
    make the default, so any other device is a RuntimeError naming it."""
    check_device(device)


def get_default_device() -> device:
    """torch.get_default_device: always the CPU in ember."""
    return CPU
