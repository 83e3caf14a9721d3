"""Downloading and checking dataset files.

Downloads stream to a temporary file next to the target, are checked, then renamed into place
(os.replace is atomic), so an interrupted or corrupt download never leaves a file that looks
complete. Network errors that may pass (timeouts, refused or reset connections, HTTP 5xx) are
retried with a short back-off; the others fail at once.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import socket
import tempfile
import time
import urllib.error
import urllib.request
import zlib

__all__ = ["calculate_md5", "check_md5", "check_integrity", "download_url", "read_maybe_gzip",
           "content_md5"]

USER_AGENT = "ember"
TIMEOUT = 30.0            # seconds without data before a download attempt is abandoned
RETRIES = 2               # extra attempts for errors that may pass
BACKOFF = 1.0             # seconds before the first retry (doubled each time)
_CHUNK = 1 << 20

# md5 of verified files' contents, keyed by (path, size, mtime): a file is hashed once per
# process however many datasets read it.
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


def read_maybe_gzip(path, name=None) -> bytes:
    """The content of file `path`, decompressed when its name (or `name`) ends in .gz.

    Raises RuntimeError naming the file when the gzip stream is truncated or corrupt.
    """
    with open(path, "rb") as f:
        raw = f.read()
    if not str(name or path).endswith(".gz"):
        return raw
    try:
        d = zlib.decompressobj(wbits=31)  # gzip framing; checks the CRC and length in C
        out = d.decompress(raw)
        if not d.eof:
            raise EOFError("compressed file ended before the end-of-stream marker was reached")
        if d.unused_data:  # a multi-member file (rare): let gzip read every member
            out = gzip.decompress(raw)
        return out
    except (OSError, EOFError, zlib.error) as e:
        raise RuntimeError(f"{name or path}: the gzip data is truncated or corrupt ({e}); "
                           "delete the file and download it again") from None


def content_md5(path, content: bytes | None = None) -> str:
    """md5 of the (uncompressed) content of `path`, cached by (path, size, mtime)."""
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    md5 = _verified.get(key)
    if md5 is None:
        if content is None:
            content = read_maybe_gzip(path)
        md5 = hashlib.md5(content).hexdigest()
        _verified[key] = md5
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
            got = hashlib.md5(read_maybe_gzip(tmp, name=filename)).hexdigest()
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

