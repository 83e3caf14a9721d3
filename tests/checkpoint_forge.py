"""Forging checkpoints by hand: pickle opcodes and zip records, including lying and hostile ones.

Used by the serialization safety tests and the checkpoint fuzzer. Nothing here imports torch or
ember: the bytes are written exactly as chosen, so a test can state what a file claims.
"""
from __future__ import annotations

import struct
import zlib

PROTO2 = b"\x80\x02"
MARK, STOP, TUPLE, REDUCE, BUILD = b"(", b".", b"t", b"R", b"b"
EMPTY_DICT, EMPTY_TUPLE, EMPTY_LIST, NONE = b"}", b")", b"]", b"N"
SETITEM, SETITEMS, APPEND, APPENDS = b"s", b"u", b"a", b"e"
TUPLE1, TUPLE2, TUPLE3, NEWOBJ, BINPERSID = b"\x85", b"\x86", b"\x87", b"\x81", b"Q"
NEWTRUE, NEWFALSE = b"\x88", b"\x89"


def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def s(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(raw)) + raw


def i(value: int) -> bytes:
    if 0 <= value < 256:
        return b"K" + bytes([value])
    if -2**31 <= value < 2**31:
        return b"J" + struct.pack("<i", value)
    raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def f64(value: float) -> bytes:
    return b"G" + struct.pack(">d", value)


def tup(*items: bytes) -> bytes:
    return MARK + b"".join(items) + TUPLE


def ints(values) -> bytes:
    return tup(*(i(v) for v in values))


def storage_pid(key: str, stype: str = "FloatStorage", numel: int = 6) -> bytes:
    return tup(s("storage"), glob("torch", stype), s(key), s("cpu"), i(numel)) + BINPERSID


def rebuild(pid: bytes, offset=0, size=(2, 3), stride=(3, 1), requires_grad=False,
            raw_args: bytes | None = None) -> bytes:
    """`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, rg, OrderedDict())`."""
    args = raw_args if raw_args is not None else tup(
        pid, i(offset), ints(size), ints(stride), NEWTRUE if requires_grad else NEWFALSE,
        glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE)
    return glob("torch._utils", "_rebuild_tensor_v2") + args + REDUCE


def state_dict(**entries: bytes) -> bytes:
    """A whole pickle: `{name: <object opcodes>}` then STOP."""
    body = b"".join(s(k) + v for k, v in entries.items())
    return PROTO2 + EMPTY_DICT + (MARK + body + SETITEMS if entries else b"") + STOP


# ---- zip records ---------------------------------------------------------------------------
def zip_archive(entries: list[dict]) -> bytes:
    """A zip file from records {name, data (bytes as stored), method, file_size, crc}.

    `file_size` and `crc` default to the truth for stored data; pass them to lie.
    """
    out, central = bytearray(), bytearray()
    for e in entries:
        name = e["name"].encode()
        data = e["data"]
        method = e.get("method", 0)
        size = e.get("file_size", len(data))
        crc = e.get("crc", zlib.crc32(data) if method == 0 else 0)
        offset = e.get("header_offset", len(out))
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(data),
                            size, len(name), 0)
        out += local + name + data
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc,
                               len(data), size, len(name), 0, 0, 0, 0, 0, offset) + name
    cd_offset = len(out)
    out += central
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                       len(central), cd_offset, 0)
    return bytes(out)


def checkpoint(pkl: bytes, storages: dict[str, bytes] | None = None, prefix: str = "archive",
               extra: list[dict] | None = None) -> bytes:
    entries = [{"name": f"{prefix}/data.pkl", "data": pkl}]
    for key, data in (storages or {}).items():
        entries.append({"name": f"{prefix}/data/{key}", "data": data})
    entries.append({"name": f"{prefix}/version", "data": b"3\n"})
    return zip_archive(entries + (extra or []))


def deflate_zeros(nbytes: int) -> tuple[bytes, int]:
    """A raw deflate stream inflating to `nbytes` zero bytes (a multiple of 1 MiB), and its crc.

    One fully flushed block of 1 MiB of zeros is repeated: each copy is independent, so the
    stream is built in milliseconds whatever it inflates to.
    """
    mib = 1 << 20
    assert nbytes % mib == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(mib)) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush(zlib.Z_FINISH)
    crc, chunk = 0, bytes(mib)
    for _ in range(nbytes // mib):
        crc = zlib.crc32(chunk, crc)
    return block * (nbytes // mib) + tail, crc
