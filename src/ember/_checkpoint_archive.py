"""Opening a checkpoint's zip archive without trusting it.

Python's zipfile reads what it can of a damaged archive; torch's reader (miniz) refuses archives
whose directory is inconsistent. A weights-only load must never accept what torch refuses, so
before any record is read the end-of-central-directory record and every directory entry are
checked the way torch's reader checks them: one disk, entry counts that agree, no encryption,
stored records whose two sizes agree, every record inside the file, every record in the one
folder the first record names, a `version` record in torch's supported range (1..10).
"""
from __future__ import annotations

import os
import re
import struct
import zipfile

_EOCD = b"PK\x05\x06"
_MIN_VERSION, _MAX_VERSION = 1, 10


def _fail(where: str, what: str) -> RuntimeError:
    return RuntimeError(f"{where}: corrupt checkpoint: {what}")


def _seekable(fh):
    """`fh` itself when it can seek (zipfile needs that), else its content in memory."""
    import io
    try:
        if fh.seekable():
            return fh
    except (AttributeError, OSError, ValueError):
        pass
    return io.BytesIO(fh.read())


def _end_record(fh, start: int, size: int, where: str):
    """(disk, directory disk, entries on this disk, entries in all, directory size) from the
    end-of-central-directory record and, where there is one, its zip64 record."""
    tail_len = min(size, 22 + 0xFFFF)
    fh.seek(start + size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise RuntimeError(f"{where} is not a checkpoint in PyTorch's zip format (no end of "
                           "central directory record: truncated or corrupt)")
    disk, cd_disk, n_here, n_all, cd_size = struct.unpack("<4HI", tail[at + 4:at + 16])
    loc = tail[at - 20:at] if at >= 20 else b""
    if loc[:4] == b"PK\x06\x07":  # zip64: torch writes it; its fields are the ones read
        loc_disk, rec_off, n_disks = struct.unpack("<IQI", loc[4:20])
        fh.seek(start + rec_off) if rec_off + 56 <= size else None
        rec = fh.read(56) if rec_off + 56 <= size else b""
        if rec[:4] != b"PK\x06\x06" or len(rec) != 56:
            raise _fail(where, "the zip64 end of central directory record is missing")
        disk, cd_disk, n_here, n_all, cd_size = struct.unpack("<2I3Q", rec[16:48])
        disk |= loc_disk | max(n_disks - 1, 0)
    return disk, cd_disk, n_here, n_all, cd_size


def open_archive(fh, where: str):
    """(zipfile, prefix, size) of a torch zip checkpoint, or a RuntimeError naming the file."""
    fh = _seekable(fh)
    start = fh.tell()
    head = fh.read(8)
    size = fh.seek(0, os.SEEK_END) - start
    fh.seek(start)
    if not head.startswith(b"PK"):
        if head[:1] == b"\x80":
            raise RuntimeError(f"{where} is a checkpoint in torch's legacy (pre-1.6, non-zip) "
                               "format or a bare pickle, which ember does not read; re-save it "
                               "with a current torch.save (zip format)")
        raise RuntimeError(f"{where} is not a checkpoint in PyTorch's zip format (truncated, "
                           "corrupt, or not written by torch.save/ember.save)")
    disk, cd_disk, n_here, n_all, cd_size = _end_record(fh, start, size, where)
    fh.seek(start)
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
            NotImplementedError, struct.error, UnicodeDecodeError) as e:
        raise RuntimeError(f"{where} is not a checkpoint in PyTorch's zip format (truncated, "
                           f"corrupt, or written with torch's legacy serialization): {e}") from None
    try:
        prefix = _check_directory(zf, where, size, disk, cd_disk, n_here, n_all, cd_size)
        _check_local_headers(zf, where, size)
    except BaseException:
        zf.close()
        raise
    return zf, prefix, size


def _check_directory(zf, where, size, disk, cd_disk, n_here, n_all, cd_size) -> str:
    infos = zf.infolist()
    _walk_directory(zf, where, cd_size, n_all)
    if (disk | cd_disk) > 1 or n_here != n_all:
        raise _fail(where, f"the zip directory spans several disks (disk {disk}, directory disk "
                           f"{cd_disk}, {n_here} of {n_all} entries here)")
    if n_all != len(infos):
        raise _fail(where, f"the zip directory announces {n_all} records but holds "
                           f"{len(infos)}")
    if not infos:
        raise _fail(where, "the archive is empty")
    first = infos[0].filename
    if "/" not in first:
        raise RuntimeError(f"{where}: not a torch checkpoint: its records are not in one folder "
                           f"(first record: {first!r})")
    prefix = first[:first.index("/") + 1]
    seen = set()
    for info in infos:
        name = info.filename
        if not name.startswith(prefix):
            raise _fail(where, f"record {name!r} is not in the archive's folder {prefix!r}")
        if name in seen:
            raise _fail(where, f"record {name!r} appears twice")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise _fail(where, f"record {name!r} is encrypted")
        if info.volume not in (0, 1):
            raise _fail(where, f"record {name!r} is on disk {info.volume}")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise _fail(where, f"record {name!r} is stored uncompressed but declares "
                               f"{info.file_size} bytes of content in {info.compress_size}")
        if info.file_size and not info.compress_size:
            raise _fail(where, f"record {name!r} declares {info.file_size} bytes in none")
        if info.header_offset + 30 + info.compress_size > size:
            raise _fail(where, f"record {name!r} claims {info.compress_size} bytes at offset "
                               f"{info.header_offset}, past the end of the {size}-byte file")
    if prefix + "data.pkl" not in seen:
        raise RuntimeError(f"{where}: no {prefix}data.pkl record in the archive; not a "
                           "checkpoint written by torch.save/ember.save")
    version = next((v for v in (prefix + ".data/version", prefix + "version") if v in seen),
                   None)
    if version is None:
        raise _fail(where, f"no {prefix}version record (torch.save always writes one)")
    return prefix


def _walk_directory(zf, where: str, cd_size: int, n_all: int) -> None:
    """The directory's entries, by their own declared lengths, fill exactly its size (zipfile
    silently reads short fields at its end)."""
    zf.fp.seek(zf.start_dir)
    data = zf.fp.read(cd_size)
    pos = count = 0
    while pos < len(data) and count < n_all:
        if data[pos:pos + 4] != b"PK\x01\x02" or pos + 46 > len(data):
            raise _fail(where, f"zip directory entry {count} is damaged")
        n, m, k = struct.unpack("<3H", data[pos + 28:pos + 34])
        pos += 46 + n + m + k
        count += 1
    if pos != len(data) or count != n_all:
        raise _fail(where, f"the zip directory's {n_all} entries do not fill its {cd_size} "
                           "bytes")


def _check_local_headers(zf, where: str, size: int) -> None:
    """Every record's local header is where the directory says, and its data ends in the file."""
    fp = zf.fp
    for info in zf.infolist():
        fp.seek(info.header_offset)
        header = fp.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise _fail(where, f"record {info.filename!r} has no local header at offset "
                               f"{info.header_offset}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        if info.header_offset + 30 + name_len + extra_len + info.compress_size > size:
            raise _fail(where, f"record {info.filename!r} runs past the end of the file")


def check_version(raw: bytes, where: str) -> int:
    """The format version a `version` record holds, in the range torch reads."""
    m = re.match(rb"\s*([-+]?\d+)", raw)
    if m is None:
        raise _fail(where, f"the version record holds {raw[:20]!r}, not a number")
    v = int(m.group(1))
    if not _MIN_VERSION <= v <= _MAX_VERSION:
        raise _fail(where, f"format version {v}; torch reads versions {_MIN_VERSION} to "
                           f"{_MAX_VERSION}")
    return v
