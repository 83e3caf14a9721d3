"""Downloading and checking dataset files.

Downloads stream to a temporary file next to the target, are checked, then renamed into place
(os.replace is atomic), so an interrupted or corrupt download never leaves a file that looks
complete. Network errors that may pass (timeouts, refused or reset connections, HTTP 5xx) are
retried with a short back-off; the others fail at once.
"""
from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import time
import urllib.error
import urllib.request
import zlib

__all__ = ["calculate_md5", "check_md5", "check_integrity", "download_url", "read_maybe_gzip",
           "content_md5", "stream_md5", "ContentReader"]

USER_AGENT = "ember"
TIMEOUT = 30.0            # seconds without data before a download attempt is abandoned
RETRIES = 2               # extra attempts for errors that may pass
BACKOFF = 1.0             # seconds before the first retry (doubled each time)
_CHUNK = 1 << 20
_DEFLATE_MAX_RATIO = 1032  # DEFLATE's largest expansion (258-byte matches in ~2-bit codes)

# md5 of verified files' contents (see content_md5): a file is hashed once per process however
# many datasets read it.
_verified: dict = {}


def calculate_md5(fpath, chunk_size: int = _CHUNK) -> str:
    """md5 of the file's bytes as stored."""
    md5 = hashlib.md5()
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath, md5: str) -> bool:
    return md5 == calculate_md5(fpath)


def check_integrity(fpath, md5: str | None = None) -> bool:
    """The file exists and (when md5 is given) its bytes have that md5."""
    if not os.path.isfile(fpath):
        return False
    if md5 is None:
        return True
    return check_md5(fpath, md5)


class ContentReader:
    """The content of a file, decompressed on the fly when its name ends in .gz.

    Reads never produce more than they are asked for (zlib's max_length), so a caller that
    knows how much content to expect is never made to inflate more: a small gzip bomb costs
    what its caller asked for, not what it inflates to. Corrupt or truncated gzip data raises
    RuntimeError naming the file.
    """

    def __init__(self, path, name=None) -> None:
        self.path = path
        self.name = str(name or path)
        self.gzip = self.name.endswith(".gz")
        self._f = open(path, "rb")
        self.stored_size = os.fstat(self._f.fileno()).st_size
        self._d = zlib.decompressobj(wbits=31) if self.gzip else None  # checks CRC and length
        self._pending = b""  # compressed input the decompressor has not consumed yet

    def __enter__(self) -> "ContentReader":
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()

    def max_content_size(self) -> int:
        """An upper bound on the content's size: the file's size, or for gzip the most DEFLATE
        can inflate it to (1032:1), so a header claiming more is a lie caught before reading."""
        return self.stored_size * _DEFLATE_MAX_RATIO + 1024 if self.gzip else self.stored_size

    def _error(self, e) -> RuntimeError:
        return RuntimeError(f"{self.name}: the gzip data is truncated or corrupt ({e}); "
                            "delete the file and download it again")

    def read(self, n: int) -> bytes:
        """Up to n bytes of content (fewer only at its end)."""
        if not self.gzip:
            return self._f.read(n)
        out = []
        while n > 0:
            chunk = self._inflate(n)
            if chunk is None:
                break
            out.append(chunk)
            n -= len(chunk)
        return b"".join(out)

    def readinto(self, view) -> int:
        """Fill the writable buffer `view` (a memoryview of bytes) as far as the content goes;
        the number of bytes written."""
        if not self.gzip:
            got = 0
            while got < len(view):
                k = self._f.readinto(view[got:got + _CHUNK])
                if not k:
                    break
                got += k
            return got
        got = 0
        while got < len(view):
            chunk = self._inflate(min(len(view) - got, _CHUNK))
            if chunk is None:
                break
            view[got:got + len(chunk)] = chunk
            got += len(chunk)
        return got

    def _inflate(self, n: int):
        """Up to n (> 0) bytes of content, at least one, or None at the end of the content."""
        d = self._d
        try:
            while True:
                if d.eof:  # end of a gzip member: another may follow (concatenated files)
                    rest = d.unused_data + self._pending
                    self._pending = b""
                    if not rest:
                        rest = self._f.read(_CHUNK)
                        if not rest:
                            return None
                    d = self._d = zlib.decompressobj(wbits=31)
                    self._pending = rest
                data = self._pending or d.unconsumed_tail
                if not data:
                    data = self._f.read(_CHUNK)
                    if not data:
                        raise EOFError("compressed file ended before the end-of-stream marker "
                                       "was reached")
                self._pending = b""
                out = d.decompress(data, n)
                if d.unconsumed_tail:
                    self._pending = d.unconsumed_tail
                if out:
                    return out
        except (OSError, EOFError, zlib.error) as e:
            raise self._error(e) from None

    def at_end(self) -> bool:
        """Whether the content is over (reading on, without keeping more than one byte, so the
        gzip checksum of everything read so far is verified)."""
        return not self.read(1)


def read_maybe_gzip(path, name=None) -> bytes:
    """The whole content of file `path`, decompressed when its name (or `name`) ends in .gz.

    Raises RuntimeError naming the file when the gzip stream is truncated or corrupt.
    """
    with ContentReader(path, name) as r:
        parts = []
        while True:
            chunk = r.read(_CHUNK)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)


def stream_md5(path, name=None) -> str:
    """md5 of the (uncompressed) content of `path`, read in bounded chunks."""
    md5 = hashlib.md5()
    with ContentReader(path, name) as r:
        for chunk in iter(lambda: r.read(_CHUNK), b""):
            md5.update(chunk)
    return md5.hexdigest()


def content_md5(path, *parts) -> str:
    """md5 of the (uncompressed) content of `path`, given as `parts` (buffers in order) or read.

    Cached per process, keyed on the file's identity and state (device, inode, size, mtime and
    ctime: a rewrite or replacement changes some of them) and on the CRC-32 of the content the
    caller just read (cheap beside the md5), so a file rewritten with the same size and times
    within one clock tick is still hashed again: a cache hit means these very bytes were verified.
    """
    if not parts or parts == (None,):
        return stream_md5(path)
    st = os.stat(path)
    crc = 0
    for p in parts:
        crc = zlib.crc32(p, crc)
    key = (os.path.abspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
           st.st_ctime_ns, crc, sum(memoryview(p).nbytes for p in parts))
    md5 = _verified.get(key)
    if md5 is None:
        h = hashlib.md5()
        for p in parts:
            h.update(p)
        md5 = _verified[key] = h.hexdigest()
    return md5


def _retryable(err: BaseException) -> bool:
    if isinstance(err, urllib.error.HTTPError):
        return err.code >= 500
    if isinstance(err, urllib.error.URLError):
        reason = err.reason
        if isinstance(reason, socket.gaierror):  # no network / unknown host: it will not pass
            return False
        return isinstance(reason, (TimeoutError, ConnectionError, socket.timeout))
    return isinstance(err, (TimeoutError, ConnectionError, socket.timeout))


def _fetch(url: str, dest, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        expected = response.headers.get("Content-Length") if hasattr(response, "headers") \
            else None
        got = 0
        while True:
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            dest.write(chunk)
            got += len(chunk)
    if expected is not None and expected.isdigit() and int(expected) != got:
        raise ConnectionError(f"download of {url} was cut short ({got} of {expected} bytes)")


def download_url(url: str, root, filename: str | None = None, md5: str | None = None,
                 timeout: float | None = None, retries: int | None = None,
                 check=None) -> str:
    """Download `url` to root/filename atomically and return the path.

    md5: expected md5 of the file's content (of the decompressed content for a .gz name).
    check(path): optional extra validation raising RuntimeError. A failed check removes the
    download and raises RuntimeError.
    """
    root = os.path.expanduser(root)
    filename = filename or os.path.basename(url)
    fpath = os.path.join(root, filename)
    os.makedirs(root, exist_ok=True)
    timeout = TIMEOUT if timeout is None else timeout
    retries = RETRIES if retries is None else retries
    print(f"Downloading {url} to {fpath}")
    fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{filename}.", suffix=".part")
    try:
        for attempt in range(retries + 1):
            try:
                with os.fdopen(os.dup(fd), "wb") as dest:
                    dest.seek(0)
                    dest.truncate()
                    _fetch(url, dest, timeout)
                break
            except (urllib.error.URLError, OSError) as err:
                if attempt == retries or not _retryable(err):
                    raise
                time.sleep(BACKOFF * 2 ** attempt)
        if md5 is not None:
            got = stream_md5(tmp, name=filename)
            if got != md5:
                raise RuntimeError(f"downloaded {url} but its content has md5 {got}, expected "
                                   f"{md5}: the file is corrupt or not the expected one")
        if check is not None:
            check(tmp)
        os.replace(tmp, fpath)
        tmp = None
    finally:
        os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
    return fpath

