"""`ember.save` / `ember.load` in PyTorch's own file format.

A checkpoint is the zip archive torch.save writes: `<name>/data.pkl` (a protocol-2 pickle whose
tensors refer to storages by persistent id), one `<name>/data/<key>` entry of raw little-endian
bytes per storage (64-byte aligned), and torch's small version records. So a state_dict saved by
ember loads with `torch.load(f, weights_only=True)`, and one saved by torch loads here — with no
torch installed: the pickle names torch's globals (`torch._utils._rebuild_tensor_v2`,
`torch FloatStorage`) and ember maps them to its own.

Loading with `weights_only` anything but an explicit False (the default, as in torch) never
executes code from the file: `_weights_unpickler` interprets the pickle itself and accepts only
tensors, containers, primitives and what the user allow-listed. Every size the file declares is
checked against the archive before memory is allocated for it, storages are read straight into
their arrays (a load peaks at about the file's size), and a corrupt file raises torch's exception
type with the file's name and what is wrong. Views keep their storage: a loaded view's base is
its storage's array, so `storage_offset()` and sharing survive a load and a re-save.

Saving to a path is atomic (`_atomic_file`): the archive is written beside the target (through a
symlink) and renamed over it at the end, keeping the file's mode.
"""
from __future__ import annotations

import codecs
import collections
import io
import os
import pickle
import reprlib
import struct
import zipfile
import zlib

import numpy as np

from . import _dtype
from ._size import Size
from ._tensor import Tensor
from ._atomic_file import write_atomically
from ._checkpoint_archive import check_version, open_archive
from ._weights_unpickler import (WeightsUnpickler, add_safe_globals, clear_safe_globals,
                                 get_safe_globals, globals_in_pickle, safe_globals,
                                 user_allowed_globals)

__all__ = ["save", "load", "add_safe_globals", "safe_globals", "get_safe_globals",
           "clear_safe_globals", "get_unsafe_globals_in_checkpoint"]

# storage class name in the pickle <-> NumPy dtype
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "BFloat16Storage": _dtype.bfloat16,  # ml_dtypes' bfloat16, loaded on first use (issue 12, mpx)
}
_STORAGE_OF = {np.dtype(v): k for k, v in _STORAGE_DTYPES.items() if v is not _dtype.bfloat16}


def _storage_np_dtype(name):
    """The NumPy dtype of a storage class name (None if unknown); bfloat16 loads ml_dtypes here."""
    d = _STORAGE_DTYPES.get(name)
    return d.np if d is _dtype.bfloat16 else d
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
            if name is None and _dtype.is_bf16_np(np.dtype(obj.dtype)):
                name = "BFloat16Storage"
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
            arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
            _add(z, f"{name}/data/{key}", memoryview(np.ascontiguousarray(arr).view(np.uint8)),
                 align=True)
        _add(z, f"{name}/version", b"3\n")
        _add(z, f"{name}/.data/serialization_id", b"0" * 40)


def _add(z: zipfile.ZipFile, arcname: str, data, align=False) -> None:
    """Write one stored record; `data` (bytes or a byte memoryview) is streamed, not copied."""
    info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = n = len(data)
    zip64 = n * 1.05 > zipfile.ZIP64_LIMIT  # the rule zipfile itself applies
    if align:
        # pad the local header's extra field so the bytes start on a 64-byte boundary (torch
        # does the same, so its mmap loading works on our files)
        start = z.fp.tell() - getattr(z, "_start_disk", 0)
        header = 30 + len(arcname.encode("utf-8")) + (20 if zip64 else 0)
        pad = (-(start + header + 4)) % _ALIGN
        info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
    with z.open(info, "w", force_zip64=zip64) as w:
        for i in range(0, n, _CHUNK):
            w.write(data[i:i + _CHUNK])


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False) -> None:
    """Save `obj` (tensors, state_dicts, containers of them) to a path or a binary file."""
    if pickle_module is not None and pickle_module is not pickle:
        raise ValueError("ember.save supports only the standard pickle module")
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        name = _safe_name(os.path.splitext(os.path.basename(path))[0] or "archive")
        write_atomically(path, lambda fh: _write_archive(fh, obj, name))
        return
    if not hasattr(f, "write"):
        raise AttributeError(f"ember.save expects a path or a writable binary file, got "
                             f"{type(f).__name__}")
    _write_archive(f, obj, "archive")


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "archive"


# ---- loading --------------------------------------------------------------------------------
_CHUNK = 1 << 20          # records are read in 1 MiB pieces: no second copy of the file
_MAX_INFLATION = 32       # a compressed record may expand at most this much (deflate bombs)
# torch dtypes/storages ember has no NumPy counterpart for: named in the error, not "unsafe"
_MISSING_TORCH_TYPES = {"complex32", "complex64", "complex128", "cfloat", "cdouble",
                        "ComplexFloatStorage", "ComplexDoubleStorage",
                        "QInt8Storage", "QUInt8Storage", "QInt32Storage", "QUInt4x2Storage",
                        "float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64"}


class _Storage:
    """A storage read from the archive: a flat, writable NumPy array every view is based on."""
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


class _Loader:
    """One load of one archive: the zip, the file's name for messages, the storages read."""

    def __init__(self, zf: zipfile.ZipFile, prefix: str, where: str, size: int, byteorder: str,
                 map_location=None):
        self.zf, self.prefix, self.where, self.size = zf, prefix, where, size
        self.byteorder = byteorder
        self.map_location = map_location
        self.loaded: dict[str, _Storage] = {}

    def fail(self, what: str) -> RuntimeError:
        return RuntimeError(f"{self.where}: corrupt checkpoint: {what}")

    def info(self, name: str) -> zipfile.ZipInfo:
        """The archive entry `name`, checked to be readable without trusting its sizes."""
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise self.fail(f"record '{name}' is missing from the archive") from None
        if info.header_offset + 30 + info.compress_size > self.size:
            raise self.fail(f"record '{name}' claims {info.compress_size} bytes at offset "
                            f"{info.header_offset}, past the end of the {self.size}-byte file")
        if info.compress_type != zipfile.ZIP_STORED:
            if info.compress_type != zipfile.ZIP_DEFLATED:
                raise self.fail(f"record '{name}' uses zip compression method "
                                f"{info.compress_type}; only stored and deflated records load")
            if info.file_size > _MAX_INFLATION * info.compress_size + (1 << 16):
                raise self.fail(f"record '{name}' would inflate {info.compress_size} bytes to "
                                f"{info.file_size} (a decompression bomb?); refused")
        elif info.file_size != info.compress_size:
            raise self.fail(f"record '{name}' is stored uncompressed but declares "
                            f"{info.file_size} bytes of content in {info.compress_size}")
        return info

    def read_into(self, info: zipfile.ZipInfo, out: memoryview) -> None:
        """Fill `out` (exactly the record's length) from the archive, chunk by chunk."""
        try:
            if info.compress_type == zipfile.ZIP_STORED:
                self._read_stored(info, out)
            else:
                self._read_deflated(info, out)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                struct.error) as e:
            raise self.fail(f"record '{info.filename}' cannot be read ({e})") from None

    def _read_stored(self, info, out):
        # straight from the file into the array (no intermediate copy), crc checked on the way
        fp = self.zf.fp
        fp.seek(info.header_offset)
        header = fp.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise self.fail(f"record '{info.filename}' has no local header at offset "
                            f"{info.header_offset}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        fp.seek(info.header_offset + 30 + name_len + extra_len)
        pos, n, crc = 0, len(out), 0
        while pos < n:
            got = fp.readinto(out[pos:pos + _CHUNK])
            if not got:
                raise self.fail(f"record '{info.filename}' is truncated: {pos} of {n} bytes")
            crc = zlib.crc32(out[pos:pos + got], crc)
            pos += got
        if crc != info.CRC:
            raise self.fail(f"record '{info.filename}' fails its CRC-32 check (damaged data)")

    def _read_deflated(self, info, out):
        pos, n = 0, len(out)
        with self.zf.open(info) as r:
            while pos < n:
                chunk = r.read(min(_CHUNK, n - pos))
                if not chunk:
                    break
                out[pos:pos + len(chunk)] = chunk
                pos += len(chunk)
            if pos == n and r.read(1):
                raise self.fail(f"record '{info.filename}' holds more than {n} bytes")
        if pos != n:
            raise self.fail(f"record '{info.filename}' is truncated: {pos} of {n} bytes")

    def read_bytes(self, name: str) -> bytes:
        info = self.info(name)
        out = bytearray(info.file_size)
        self.read_into(info, memoryview(out))
        return bytes(out)

    # -- persistent ids: ('storage', storage type, key, location, numel) -------------------
    def persistent_load(self, pid):
        if type(pid) is not tuple or len(pid) != 5 or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id {reprlib.repr(pid)}")
        _, stype, key, location, numel = pid
        name = stype if isinstance(stype, str) else getattr(stype, "__name__", None)
        np_dtype = _storage_np_dtype(name) if isinstance(name, str) else None
        if np_dtype is None:
            raise pickle.UnpicklingError(f"storage of unknown type {reprlib.repr(stype)}")
        if type(key) is not str or type(location) is not str:
            raise pickle.UnpicklingError(f"storage key and location must be strings, got "
                                         f"{reprlib.repr(key)} and {reprlib.repr(location)}")
        if type(numel) is not int or numel < 0:
            raise pickle.UnpicklingError(f"storage '{key}' has an invalid size "
                                         f"{reprlib.repr(numel)}")
        dtype = np.dtype(np_dtype)
        st = self.loaded.get(key)
        if st is not None:  # torch too keeps the first reference's type and size for a key
            return st
        info = self.info(f"{self.prefix}data/{key}")
        nbytes = numel * dtype.itemsize
        if info.file_size != nbytes:  # checked before anything is allocated
            raise self.fail(f"record size ({info.file_size} bytes) of storage '{key}' does not "
                            f"match expected size ({nbytes} bytes = {numel} elements * "
                            f"{dtype.itemsize} bytes/element) for {name}")
        arr = np.empty(numel, dtype)
        self.read_into(info, memoryview(arr.view(np.uint8)))  # bytes: bfloat16 has no buffer code
        if self.byteorder == "big" and dtype.itemsize > 1:
            arr.byteswap(inplace=True)
        st = self.loaded[key] = self.restore_location(_Storage(arr), location)
        return st

    def restore_location(self, storage: _Storage, location: str) -> _Storage:
        """Storages land on the CPU; a tag only a device could hold needs a map_location."""
        ml = self.map_location
        if ml is not None and not isinstance(ml, dict):
            if callable(ml) and not isinstance(ml, str):
                out = ml(storage, location)
                if out is None or isinstance(out, _Storage):
                    return out or storage
                raise RuntimeError(f"{self.where}: map_location returned "
                                   f"{type(out).__name__}, not the storage it was given")
            return storage  # a device (checked to be the CPU): everything maps there
        tag = ml.get(location, location) if isinstance(ml, dict) else location
        if tag == "cpu":
            return storage
        if tag.startswith(("cuda", "mps", "xpu")):
            raise RuntimeError(f"{self.where}: Attempting to deserialize object on a "
                               f"{tag.split(':')[0].upper()} device ('{tag}') but ember runs on "
                               "the CPU only. Use ember.load with map_location='cpu' to map "
                               "your storages to the CPU.")
        raise RuntimeError(f"{self.where}: don't know how to restore data location of a storage "
                           f"(tagged with {tag[:40]!r})")

    # -- the functions a checkpoint may call -----------------------------------------------
    def rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad=False,
                          backward_hooks=None, metadata=None):
        if backward_hooks is not None and (not isinstance(backward_hooks, dict)
                                           or backward_hooks):
            raise self.fail("tensor with backward hooks (ember loads no code from a file)")
        if metadata is not None and (not isinstance(metadata, dict) or metadata):
            raise self.fail(f"tensor metadata {reprlib.repr(metadata)} is not supported")
        return self.rebuild_tensor(storage, storage_offset, size, stride, requires_grad)

    def rebuild_tensor(self, storage, storage_offset, size, stride, requires_grad=False):
        if not isinstance(storage, _Storage):
            raise self.fail(f"a tensor is built on {reprlib.repr(storage)}, not a storage")
        if type(requires_grad) is not bool:
            raise self.fail(f"requires_grad is {reprlib.repr(requires_grad)}, not a bool")
        if not _is_int_seq(size) or not _is_int_seq(stride) or len(size) != len(stride) \
                or type(storage_offset) is not int:
            raise self.fail(f"tensor size {reprlib.repr(size)}, stride {reprlib.repr(stride)} "
                            f"and offset {reprlib.repr(storage_offset)} are not int sequences "
                            "of one length")
        if len(size) > 64:
            raise self.fail(f"tensor with {len(size)} dimensions (at most 64 are supported)")
        if any(d < 0 for d in size) or any(s < 0 for s in stride) or storage_offset < 0:
            raise self.fail(f"negative size, stride or offset: size {list(size)}, stride "
                            f"{list(stride)}, offset {storage_offset}")
        root = storage.array
        isz = root.itemsize
        n = 1
        for d in size:
            n *= d
        if n == 0:
            a = root[:0].reshape(tuple(size))
        else:
            needed = storage_offset + sum((d - 1) * s for d, s in zip(size, stride)) + 1
            if needed > root.size:
                raise self.fail(f"tensor of size {list(size)} and stride {list(stride)} at "
                                f"offset {storage_offset} needs a storage of {needed} elements, "
                                f"but its storage has {root.size}")
            try:  # a view whose .base is the storage: storage_offset() and sharing survive
                a = np.ndarray(tuple(size), root.dtype, buffer=root, offset=storage_offset * isz,
                               strides=tuple(s * isz for s in stride))
            except (ValueError, OverflowError) as e:
                raise self.fail(f"tensor of size {list(size)} and stride {list(stride)}: "
                                f"{e}") from None
        if requires_grad and a.dtype.kind != "f":
            raise RuntimeError(f"{self.where}: Only Tensors of floating point and complex dtype "
                               f"can require gradients (got {a.dtype})")
        t = Tensor._new(a)
        if requires_grad:
            t._rg = True
        return t

    def rebuild_parameter(self, data, requires_grad, backward_hooks=None):
        from .nn.parameter import Parameter
        if not isinstance(data, Tensor) or type(requires_grad) is not bool:
            raise self.fail("a Parameter is rebuilt from something other than a tensor "
                            f"({type(data).__name__}) and a bool")
        if backward_hooks is not None and (not isinstance(backward_hooks, dict)
                                           or backward_hooks):
            raise self.fail("Parameter with backward hooks (ember loads no code from a file)")
        if requires_grad and data._data.dtype.kind != "f":
            raise RuntimeError(f"{self.where}: Only Tensors of floating point and complex dtype "
                               f"can require gradients (got {data._data.dtype})")
        return Parameter(data, requires_grad)

    def rebuild_parameter_with_state(self, data, requires_grad, backward_hooks, state):
        if state:
            raise self.fail("Parameter with extra Python attributes is not supported")
        return self.rebuild_parameter(data, requires_grad, backward_hooks)

    def allowed_globals(self) -> tuple[dict, dict]:
        """"module.name" -> object for everything a weights-only checkpoint may name, and the
        argument checks of the callable ones (so no call can iterate a huge view or allocate)."""
        from ._device import device
        from .nn.parameter import Parameter
        g = {"collections.OrderedDict": collections.OrderedDict,
             "collections.Counter": collections.Counter,
             "torch._utils._rebuild_tensor": self.rebuild_tensor,
             "torch._utils._rebuild_tensor_v2": self.rebuild_tensor_v2,
             "torch._utils._rebuild_parameter": self.rebuild_parameter,
             "torch._utils._rebuild_parameter_with_state": self.rebuild_parameter_with_state,
             "torch.nn.parameter.Parameter": Parameter,
             "torch.Size": Size, "torch.device": device, "_codecs.encode": codecs.encode,
             "builtins.set": set, "builtins.complex": complex, "builtins.bytearray": bytearray}
        for k in _STORAGE_DTYPES:
            g[f"torch.{k}"] = k
        for d in _dtype._ALL:
            g[f"torch.{d.name}"] = d
        checks = {collections.OrderedDict: _check_pairs, collections.Counter: _check_mapping,
                  set: _check_iterable, bytearray: _check_bytearray, complex: _check_complex,
                  codecs.encode: _check_encode, Size: _check_size, device: _check_device,
                  Parameter: _check_parameter}
        return g, checks


def _is_int_seq(x) -> bool:
    return isinstance(x, tuple) and all(type(v) is int for v in x)


def _plain(x) -> bool:
    return type(x) in (list, tuple, dict)


def _check_pairs(args):
    if len(args) > 1 or (args and not _plain(args[0])):
        raise pickle.UnpicklingError("OrderedDict() takes at most a list/tuple/dict of pairs")


def _check_mapping(args):
    if len(args) > 1 or (args and not _plain(args[0])):
        raise pickle.UnpicklingError("Counter() takes at most a list/tuple/dict")


def _check_iterable(args):
    if len(args) > 1 or (args and not _plain(args[0])):
        raise pickle.UnpicklingError("set() takes at most a list/tuple")


def _check_bytearray(args):
    ok = (not args or (len(args) == 1 and type(args[0]) in (bytes, list))
          or (len(args) == 2 and type(args[0]) is str and type(args[1]) is str))
    if not ok:
        raise pickle.UnpicklingError("bytearray() is rebuilt only from bytes or (str, encoding)")


def _check_complex(args):
    if len(args) > 2 or not all(type(a) in (int, float, str) for a in args):
        raise pickle.UnpicklingError("complex() takes at most two numbers")


def _check_encode(args):
    if len(args) != 2 or type(args[0]) is not str or args[1] not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is allowed only as (str, 'latin1'), the way "
                                     "pickle writes bytes")


def _check_size(args):
    if len(args) > 1 or (args and not (type(args[0]) in (tuple, list)
                                       and all(type(v) is int for v in args[0]))):
        raise pickle.UnpicklingError("torch.Size() takes a tuple of ints")


def _check_device(args):
    if not 1 <= len(args) <= 2 or type(args[0]) is not str or \
            (len(args) == 2 and type(args[1]) is not int):
        raise pickle.UnpicklingError("torch.device() takes a string and an optional index")


def _check_parameter(args):
    if not args or not isinstance(args[0], Tensor) or len(args) > 2 or \
            (len(args) == 2 and type(args[1]) is not bool):
        raise pickle.UnpicklingError("Parameter() takes a tensor and a bool")


class _UnsafeUnpickler(pickle.Unpickler):
    """weights_only=False: Python's unpickler, with torch's names mapped to ember's objects."""

    def __init__(self, file, loader: _Loader, **kwargs):
        super().__init__(file, **kwargs)
        self.loader = loader
        self.allowed = loader.allowed_globals()[0]

    def find_class(self, module, name):
        obj = self.allowed.get(f"{module}.{name}")
        if obj is not None:
            return obj
        if module == "torch" or module.startswith("torch."):
            from .cli.torch_alias import ember_name
            import importlib
            return getattr(importlib.import_module(ember_name(module)), name)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        return self.loader.persistent_load(pid)


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Load an object saved by ember.save or torch.save (zip format) from a path or file.

    Unless `weights_only=False` is passed explicitly, only tensors, containers, primitives and
    globals allow-listed with `add_safe_globals` are accepted, and nothing in the file can run
    code or change anything outside the returned object.
    """
    safe = weights_only is not False
    if safe and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    _check_map_location(map_location)
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        if not os.path.exists(path):
            raise FileNotFoundError(f"[Errno 2] No such file or directory: '{path}'")
        with open(path, "rb") as fh:
            return _load(fh, safe, path, pickle_module, pickle_load_args, map_location)
    if not hasattr(f, "read"):
        raise AttributeError(f"ember.load expects a path or a readable binary file, got "
                             f"{type(f).__name__}")
    where = getattr(f, "name", None)
    where = where if isinstance(where, str) else f"<{type(f).__name__}>"
    return _load(f, safe, where, pickle_module, pickle_load_args, map_location)


def _check_map_location(ml):
    if ml is None or callable(ml) and not isinstance(ml, (str,)):
        return
    if isinstance(ml, dict):
        return
    from ._device import device
    d = ml if isinstance(ml, device) else device(str(ml))
    if d.type != "cpu":
        raise RuntimeError(f"ember runs on the CPU only: cannot map storages to '{d}'")


def _load(fh, safe: bool, where: str, pickle_module=None, pickle_load_args=None,
          map_location=None):
    zf, prefix, size = open_archive(fh, where)
    with zf:
        loader = _Loader(zf, prefix, where, size, "little", map_location)
        names = set(zf.namelist())
        check_version(loader.read_bytes(prefix + ".data/version" if prefix + ".data/version"
                                        in names else prefix + "version"), where)
        if prefix + "byteorder" in names:
            order = loader.read_bytes(prefix + "byteorder")
            if order not in (b"little", b"big"):
                raise loader.fail(f"unknown endianness {order[:20]!r} in the byteorder record")
            loader.byteorder = order.decode()
        if prefix + ".storage_alignment" in names:
            raw = loader.read_bytes(prefix + ".storage_alignment")
            try:
                int(raw)
            except ValueError:
                raise loader.fail(f"the .storage_alignment record holds {raw[:20]!r}, not a "
                                  "number") from None
        data = loader.read_bytes(prefix + "data.pkl")
        if not safe:
            unpickler = (pickle_module.Unpickler if pickle_module is not None
                         else _UnsafeUnpickler)
            try:
                if unpickler is _UnsafeUnpickler:
                    return _UnsafeUnpickler(io.BytesIO(data), loader,
                                            **(pickle_load_args or {})).load()
                up = unpickler(io.BytesIO(data), **(pickle_load_args or {}))
                up.persistent_load = loader.persistent_load
                return up.load()
            except RuntimeError:
                raise
            except (pickle.UnpicklingError, EOFError, ValueError, struct.error) as e:
                raise pickle.UnpicklingError(f"{where}: corrupt checkpoint ({e})") from None
        allowed, checks = loader.allowed_globals()
        up = WeightsUnpickler(data, allowed, loader.persistent_load, checks)
        try:
            return up.load()
        except RuntimeError as e:
            if str(e).startswith(where):
                raise
            raise RuntimeError(f"{where}: {e}") from None
        except pickle.UnpicklingError as e:
            raise pickle.UnpicklingError(_weights_only_message(where, str(e))) from None
        except Exception as e:  # an allowed call given bad arguments, a runaway structure...
            raise pickle.UnpicklingError(_weights_only_message(
                where, f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)) from None


def _weights_only_message(where: str, problem: str) -> str:
    return (f"{where}: Weights only load failed: {problem}\n"
            "ember loaded this file with weights_only=True (the default): only tensors, "
            "containers, primitives and globals allow-listed with "
            "torch.serialization.add_safe_globals are accepted. Pass weights_only=False only "
            "for a file you trust: that runs any code the file names.")


def get_unsafe_globals_in_checkpoint(f) -> list[str]:
    """The GLOBALs a checkpoint names that a weights-only load would refuse (read statically)."""
    if isinstance(f, (str, os.PathLike)):
        with open(os.fspath(f), "rb") as fh:
            return _unsafe_globals(fh, os.fspath(f))
    return _unsafe_globals(f, "<file>")


def _unsafe_globals(fh, where):
    try:
        zf, prefix, size = open_archive(fh, where)
    except RuntimeError:
        raise ValueError("Expected input to be a checkpoint returned by torch.save") from None
    with zf:
        loader = _Loader(zf, prefix, where, size, "little")
        found = globals_in_pickle(loader.read_bytes(prefix + "data.pkl"))
    safe = set(loader.allowed_globals()[0]) | set(user_allowed_globals())
    return list(found - safe)


def _reduce_tensor(t: Tensor):
    """Plain pickling of a tensor (copy.deepcopy, multiprocessing): its array and flag."""
    return (_from_array, (t._data, t._rg))


def _from_array(array, requires_grad):
    t = Tensor._new(array)
    if requires_grad:
        t._rg = True
    return t
