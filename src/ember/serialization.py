"""`ember.save` / `ember.load` in PyTorch's own file format.

A checkpoint is the zip archive torch.save writes: `<name>/data.pkl` (a protocol-2 pickle whose
tensors refer to storages by persistent id), one `<name>/data/<key>` entry of raw little-endian
bytes per storage (64-byte aligned), and torch's small version records. So a state_dict saved by
ember loads with `torch.load(f, weights_only=True)`, and one saved by torch loads here — with no
torch installed: the pickle names torch's globals (`torch._utils._rebuild_tensor_v2`,
`torch FloatStorage`) and ember maps them to its own.

Loading with `weights_only=True` (the default, as in torch) never executes code from the file:
the unpickler accepts only tensors, containers and primitives, and refuses any other global.
Saving to a path is atomic: the archive is written beside it and renamed over it at the end.
"""
from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import tempfile
import zipfile

import numpy as np

from . import _dtype
from ._size import Size
from ._tensor import Tensor

__all__ = ["save", "load"]

# storage class name in the pickle <-> NumPy dtype
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
_STORAGE_OF = {np.dtype(v): k for k, v in _STORAGE_DTYPES.items()}
_ALIGN = 64


class _Global:
    """A name in the pickle that stands for a torch object ember has no module for."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle requires reduce functions to be callable
        raise TypeError(f"{self.module}.{self.name} is only a name written into checkpoints")


_REBUILD_TENSOR = _Global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _Global("torch._utils", "_rebuild_parameter")
_ORDERED_DICT = collections.OrderedDict
_STORAGE_GLOBALS = {k: _Global("torch", k) for k in _STORAGE_DTYPES}
_DTYPE_GLOBALS = {d: _Global("torch", d.name) for d in _dtype._ALL}
_SIZE_GLOBAL = _Global("torch", "Size")
_DEVICE_GLOBAL = _Global("torch", "device")


# ---- saving ---------------------------------------------------------------------------------
class _Pickler(pickle._Pickler):
    """The pure-Python pickler, so torch's global names can be written without torch."""

    def __init__(self, file, storages):
        super().__init__(file, protocol=2)
        self.storages = storages  # key -> contiguous ndarray
        self._storage_keys = {}   # id(root array) -> key

    def save_global(self, obj, name=None):
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
            self.memoize(obj)
            return
        super().save_global(obj, name)

    def reducer_override(self, obj):
        from .nn.parameter import Parameter  # local: nn imports serialization's users
        if isinstance(obj, Parameter):
            return (_REBUILD_PARAMETER, (Tensor._new(obj._data), obj._rg, _ORDERED_DICT()))
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj)
        if isinstance(obj, Size):
            return (_SIZE_GLOBAL, (tuple(obj),))
        from ._device import device
        if isinstance(obj, device):
            return (_DEVICE_GLOBAL, (str(obj),))
        return NotImplemented

    def _reduce_tensor(self, t: Tensor):
        arr = t._data
        storage, offset, stride = self._storage_of(arr)
        return (_REBUILD_TENSOR, (storage, offset, tuple(arr.shape), stride, t._rg,
                                  _ORDERED_DICT()))

    def _storage_of(self, arr: np.ndarray):
        """(storage marker, element offset, element strides); views of one array share one."""
        root = arr
        while isinstance(root.base, np.ndarray):
            root = root.base
        isz = arr.itemsize
        if root.dtype == arr.dtype and root.flags.c_contiguous and arr.size:
            off = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
            strides_ok = all(s >= 0 and s % isz == 0 for s in arr.strides)
            if off >= 0 and off % isz == 0 and strides_ok:
                key = self._storage_keys.get(id(root))
                if key is None:
                    key = str(len(self.storages))
                    self._storage_keys[id(root)] = key
                    self.storages[key] = root.reshape(-1)
                return (_StorageRef(key, arr.dtype, root.size), off // isz,
                        tuple(s // isz for s in arr.strides))
        flat = np.ascontiguousarray(arr).reshape(-1)
        key = str(len(self.storages))
        self.storages[key] = flat
        shape = arr.shape
        stride, acc = [], 1
        for d in reversed(shape):
            stride.append(acc)
            acc *= max(d, 1)
        return _StorageRef(key, arr.dtype, flat.size), 0, tuple(reversed(stride))

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[_Global] = lambda self, obj: self.save_global(obj)
    dispatch[_dtype.dtype] = lambda self, obj: self.save_global(_DTYPE_GLOBALS[obj])

    def persistent_id(self, obj):
        if isinstance(obj, _StorageRef):
            name = _STORAGE_OF.get(np.dtype(obj.dtype))
            if name is None:
                raise pickle.PicklingError(f"ember.save cannot store dtype {obj.dtype}")
            return ("storage", _STORAGE_GLOBALS[name], obj.key, "cpu", obj.numel)
        return None


class _StorageRef:
    __slots__ = ("key", "dtype", "numel")

    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel


def _write_archive(fileobj, obj, name: str) -> None:
    buf = io.BytesIO()
    storages = {}
    _Pickler(buf, storages).dump(obj)
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_STORED) as z:
        _add(z, f"{name}/data.pkl", buf.getvalue())
        _add(z, f"{name}/.format_version", b"1")
        _add(z, f"{name}/.storage_alignment", str(_ALIGN).encode())
        _add(z, f"{name}/byteorder", b"little")
        for key, arr in storages.items():
            data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
            _add(z, f"{name}/data/{key}", data, align=True, fileobj=fileobj)
        _add(z, f"{name}/version", b"3\n")
        _add(z, f"{name}/.data/serialization_id", b"0" * 40)


def _add(z: zipfile.ZipFile, arcname: str, data: bytes, align=False, fileobj=None) -> None:
    info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    if align:
        # pad the local header's extra field so the bytes start on a 64-byte boundary (torch
        # does the same, so its mmap loading works on our files)
        start = z.fp.tell() - getattr(z, "_start_disk", 0)
        header = 30 + len(arcname.encode("utf-8"))
        pad = (-(start + header + 4)) % _ALIGN
        info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
    z.writestr(info, data)


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False) -> None:
    """Save `obj` (tensors, state_dicts, containers of them) to a path or a binary file."""
    if pickle_module is not None and pickle_module is not pickle:
        raise ValueError("ember.save supports only the standard pickle module")
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        name = os.path.splitext(os.path.basename(path))[0] or "archive"
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".ember-save-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                _write_archive(fh, obj, _safe_name(name))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return
    if not hasattr(f, "write"):
        raise AttributeError(f"ember.save expects a path or a writable binary file, got "
                             f"{type(f).__name__}")
    _write_archive(f, obj, "archive")


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "archive"


# ---- loading --------------------------------------------------------------------------------
class _Storage:
    """A storage read from the archive: a flat, writable NumPy array."""
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    arr = storage.array
    isz = arr.itemsize
    size = tuple(size)
    stride = tuple(stride)
    n = 1
    for d in size:
        n *= d
    if n == 0:
        a = np.zeros(size, arr.dtype)
    else:
        last = storage_offset + sum((d - 1) * s for d, s in zip(size, stride))
        if storage_offset < 0 or last >= arr.size or any(s < 0 for s in stride):
            raise RuntimeError(f"corrupt checkpoint: tensor of size {list(size)} and stride "
                               f"{list(stride)} at offset {storage_offset} exceeds its storage "
                               f"of {arr.size} elements")
        a = np.lib.stride_tricks.as_strided(arr[storage_offset:], shape=size,
                                            strides=tuple(s * isz for s in stride))
    t = Tensor._new(a)
    if requires_grad:
        t._rg = True
    return t


def _rebuild_parameter(data, requires_grad, backward_hooks=None):
    from .nn.parameter import Parameter
    return Parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _rebuild_parameter(data, requires_grad)


def _make_dtype(name):
    return _dtype._BY_NAME[name]


def _allowed_globals():
    from ._device import device
    g = {("collections", "OrderedDict"): collections.OrderedDict,
         ("collections", "Counter"): collections.Counter,
         ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
         ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
         ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
         ("torch", "Size"): Size, ("torch", "device"): device,
         ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
         ("builtins", "slice"): slice, ("builtins", "complex"): complex}
    for k in _STORAGE_DTYPES:
        g[("torch", k)] = k
    for d in _dtype._ALL:
        g[("torch", d.name)] = d
    return g


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, zf, prefix, weights_only):
        super().__init__(file)
        self.zf, self.prefix, self.weights_only = zf, prefix, weights_only
        self.loaded = {}
        self.allowed = _allowed_globals()

    def find_class(self, module, name):
        obj = self.allowed.get((module, name))
        if obj is not None:
            return obj
        if self.weights_only:
            raise pickle.UnpicklingError(
                f"Weights only load failed: the checkpoint refers to the global '{module}.{name}',"
                " which ember does not load with weights_only=True (only tensors, containers and "
                "primitives are accepted; loading other objects would run code from the file). "
                "Pass weights_only=False only for files you trust.")
        if module == "torch" or module.startswith("torch."):
            from .cli.torch_alias import ember_name
            import importlib
            mod = importlib.import_module(ember_name(module))
            return getattr(mod, name)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"corrupt checkpoint: unknown persistent id {pid!r}")
        _, stype, key, _location, numel = pid[:5]
        name = stype if isinstance(stype, str) else getattr(stype, "__name__", str(stype))
        np_dtype = _STORAGE_DTYPES.get(name)
        if np_dtype is None:
            raise pickle.UnpicklingError(f"ember cannot load storages of type {name}")
        st = self.loaded.get(key)
        if st is None:
            try:
                raw = self.zf.read(f"{self.prefix}data/{key}")
            except KeyError:
                raise RuntimeError(f"corrupt checkpoint: storage '{key}' is missing") from None
            itemsize = np.dtype(np_dtype).itemsize
            if len(raw) < numel * itemsize:
                raise RuntimeError(f"corrupt checkpoint: storage '{key}' has {len(raw)} bytes, "
                                   f"expected {numel * itemsize}")
            arr = np.frombuffer(bytearray(raw[:numel * itemsize]), dtype=np.dtype(np_dtype)
                                .newbyteorder(self.byteorder))
            if self.byteorder == ">":
                arr = arr.astype(np.dtype(np_dtype))
            st = self.loaded[key] = _Storage(arr)
        return st


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Load an object saved by ember.save or torch.save (zip format) from a path or file.

    With weights_only=True (the default) only tensors, containers and primitives are accepted.
    """
    _check_map_location(map_location)
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        if not os.path.exists(path):
            raise FileNotFoundError(f"[Errno 2] No such file or directory: '{path}'")
        with open(path, "rb") as fh:
            return _load(fh, weights_only, path)
    return _load(f, weights_only, "<file>")


def _check_map_location(ml):
    if ml is None or callable(ml) and not isinstance(ml, (str,)):
        return
    if isinstance(ml, dict):
        return
    from ._device import device
    d = ml if isinstance(ml, device) else device(str(ml))
    if d.type != "cpu":
        raise RuntimeError(f"ember runs on the CPU only: cannot map storages to '{d}'")


def _load(fh, weights_only, where):
    try:
        zf = zipfile.ZipFile(fh)
    except zipfile.BadZipFile:
        raise RuntimeError(f"{where} is not a checkpoint in PyTorch's zip format (truncated, "
                           "corrupt, or written with torch's legacy serialization)") from None
    with zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("data.pkl")]
        if not pkl:
            raise RuntimeError(f"{where}: no data.pkl record in the archive; not a checkpoint")
        prefix = pkl[0][:-len("data.pkl")]
        byteorder = "<"
        if f"{prefix}byteorder" in names and zf.read(f"{prefix}byteorder").strip() == b"big":
            byteorder = ">"
        try:
            data = zf.read(pkl[0])
        except (zipfile.BadZipFile, OSError) as e:
            raise RuntimeError(f"{where}: corrupt checkpoint ({e})") from None
        up = _Unpickler(io.BytesIO(data), zf, prefix, weights_only)
        up.byteorder = byteorder
        try:
            return up.load()
        except (EOFError, zipfile.BadZipFile) as e:
            raise RuntimeError(f"{where}: corrupt checkpoint ({e})") from None


def _reduce_tensor(t: Tensor):
    """Plain pickling of a tensor (copy.deepcopy, multiprocessing): its array and flag."""
    return (_from_array, (t._data, t._rg))


def _from_array(array, requires_grad):
    t = Tensor._new(array)
    if requires_grad:
        t._rg = True
    return t
