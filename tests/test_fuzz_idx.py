"""Fuzzing the IDX/MNIST reader with mutated real files (issue #9).

Mutations of the real MNIST test split (truncation, header bit flips, wrong magic, lying dims,
gzip corruption, bombs, data flips) are read by ember in one subprocess under a memory cap and
a per-case alarm. Every case must end in a clean error (a RuntimeError naming the file) or in
correct data: what an independent reference parser (Python's gzip module plus struct) reads
from the same bytes for `read_image_file`/`read_label_file`, and exactly the official data for
the `MNIST` class (whose md5 check admits nothing else). Never a crash, a hang, another
exception type or silently wrong data.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest

SEED = 9
MEM_MIB = 1024


def idx_header(magic: int, dims) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in dims)


def gz(data: bytes) -> bytes:
    c = zlib.compressobj(1, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def reference(content: bytes, ndim: int):
    """(shape, sha1 of the data) as a plain reading of the IDX spec finds them, or None."""
    if len(content) < 4 + 4 * ndim or int.from_bytes(content[:4], "big") != 0x800 | ndim:
        return None
    dims = [int.from_bytes(content[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    n = 1
    for d in dims:
        n *= d
    if len(content) - 4 - 4 * ndim != n:
        return None
    return dims, hashlib.sha1(content[4 + 4 * ndim:]).hexdigest()


def reference_of_file(data: bytes, is_gz: bool, ndim: int):
    if is_gz:
        try:
            data = gzip.decompress(data)
        except Exception:
            return None
    return reference(data, ndim)


def mutations(rng: random.Random, content: bytes, ndim: int):
    """(kind, bytes, gzip?) cases made from one real uncompressed IDX file's content."""
    hl = 4 + 4 * ndim
    packed = gz(content)
    dims = [int.from_bytes(content[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    for is_gz, base in ((False, content), (True, packed)):
        yield "intact", base, is_gz
        for cut in [0, 1, 3, hl - 1, hl, hl + 1, len(base) // 2, len(base) - 1] + \
                [rng.randrange(len(base)) for _ in range(4)]:
            yield "truncated", base[:cut], is_gz
        yield "extra_bytes", (content + b"\x00" * rng.choice([1, 7, 4096])) if not is_gz else \
            gz(content + b"\x01"), is_gz
    for _ in range(10):  # bit flips in the header
        h = bytearray(content[:hl])
        pos = rng.randrange(hl)
        h[pos] ^= 1 << rng.randrange(8)
        body = bytes(h) + content[hl:]
        yield "header_flip", body, False
        yield "header_flip", gz(body), True
    for magic in [0, 0x801 if ndim == 3 else 0x803, 0x0B03, 0x08030000, 0xFFFFFFFF]:
        body = idx_header(magic, dims) + content[hl:]
        yield "wrong_magic", gz(body), True
        yield "wrong_magic", body, False
    lies = [[d + 1 if i == 0 else d for i, d in enumerate(dims)],
            [d - 1 if i == 0 else d for i, d in enumerate(dims)],
            [0] * ndim, [2**32 - 1] * ndim, [2**31 - 1] + dims[1:], dims[::-1],
            [dims[0] // 2] + [d * 2 if i == 1 else d for i, d in enumerate(dims[1:])]]
    lies += [[rng.randrange(2**32) for _ in dims] for _ in range(3)]
    for lie in lies:
        body = idx_header(0x800 | ndim, lie) + content[hl:]
        yield "lying_dims", body, False
        yield "lying_dims", gz(body), True
    for _ in range(12):  # corrupt gzip: flips anywhere (header, DEFLATE data, CRC, ISIZE)
        b = bytearray(packed)
        pos = rng.choice([rng.randrange(10), rng.randrange(len(b)), len(b) - 1 - rng.randrange(8)])
        b[pos] ^= 1 << rng.randrange(8)
        yield "gzip_flip", bytes(b), True
    yield "gzip_garbage_tail", packed + b"garbage!", True
    yield "gzip_second_member", packed + gz(b"\x00" * 100), True
    yield "gzip_empty_member_tail", packed + gz(b""), True
    for _ in range(4):  # data flips (valid files with other pixels/labels)
        b = bytearray(content)
        b[rng.randrange(hl, len(b))] ^= 1 << rng.randrange(8)
        yield "data_flip", bytes(b), False
        yield "data_flip", gz(bytes(b)), True
    # bombs: the real content followed by gzip members of zeros, and a small header that
    # declares as much as DEFLATE could possibly hold
    zeros = gz(bytes(32 << 20))
    yield "bomb", packed + zeros * 24, True  # 768 MiB more than declared, under a 1 GiB cap
    yield "bomb_declared", gz(idx_header(0x800 | ndim, [1000] * ndim) + bytes(64 << 20)), True


WORKER = """
import json, os, signal, sys
from ember.vision import datasets
from ember.vision.datasets.mnist import read_image_file, read_label_file
import hashlib

def alarm(*a):
    raise TimeoutError("hang")
signal.signal(signal.SIGALRM, alarm)
cases = json.load(open(sys.argv[1]))
out = open(sys.argv[2], "w")
for case in cases:
    signal.alarm(20)
    try:
        if case["mode"] == "reader":
            fn = read_image_file if case["ndim"] == 3 else read_label_file
            t = fn(case["path"])
            a = t.numpy()
            if case["ndim"] == 1:
                a = a.astype("uint8")  # labels come back int64; the reference hashes bytes
            res = {"ok": [list(a.shape), hashlib.sha1(a.tobytes()).hexdigest()]}
        else:
            ds = datasets.MNIST(case["root"], train=False)
            res = {"ok": [hashlib.sha1(ds.data.numpy().tobytes()).hexdigest(),
                          hashlib.sha1(ds.targets.numpy().tobytes()).hexdigest()]}
    except BaseException as e:
        res = {"err": [type(e).__name__, str(e)]}
    signal.alarm(0)
    out.write(json.dumps(res) + "\\n")
    out.flush()
"""


@pytest.fixture(scope="module")
def real(datasets_root):
    raw = datasets_root / "MNIST" / "raw"
    with gzip.open(raw / "t10k-images-idx3-ubyte.gz") as f:
        images = f.read()
    with gzip.open(raw / "t10k-labels-idx1-ubyte.gz") as f:
        labels = f.read()
    return images, labels


def run_worker(tmp_path, cases):
    manifest = tmp_path / "cases.json"
    results = tmp_path / "results.jsonl"
    manifest.write_text(json.dumps(cases))
    prelude = f"import resource\nresource.setrlimit(resource.RLIMIT_AS, ({MEM_MIB << 20}, " \
              f"{MEM_MIB << 20}))\n"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(WORKER), str(manifest),
                        str(results)], capture_output=True, text=True, timeout=600, env=env)
    got = [json.loads(line) for line in results.read_text().splitlines()]
    assert r.returncode == 0 and len(got) == len(cases), \
        f"worker died after {len(got)} of {len(cases)} cases (rc {r.returncode}): " \
        f"{r.stderr[-3000:]}"
    return got


def check(cases, got, expect):
    """Classify every case; fail on anything but clean errors and correct data."""
    counts = {"cases": len(cases), "clean_errors": 0, "accepted_correct": 0}
    bad = []
    for case, res in zip(cases, got):
        want = expect(case)
        if "err" in res:
            kind, msg = res["err"]
            if kind == "RuntimeError" and case["name"] in msg and want is None:
                counts["clean_errors"] += 1
            else:
                bad.append((case["kind"], case["name"], kind, msg[:200], want is not None))
        elif want is not None and res["ok"] == want:
            counts["accepted_correct"] += 1
        else:
            bad.append((case["kind"], case["name"], "ACCEPTED", res["ok"], want))
    print(f"\nIDX fuzz: {counts}")
    assert not bad, "\n".join(map(str, bad))
    return counts


def test_fuzz_idx_reader(tmp_path, real):
    rng = random.Random(SEED)
    images, labels = real
    # a 300-image slice keeps the image cases quick; the label file is the whole real one
    small = idx_header(0x803, (300, 28, 28)) + images[16:16 + 300 * 784]
    cases, refs = [], {}
    for ndim, content in ((3, small), (1, labels)):
        for i, (kind, data, is_gz) in enumerate(mutations(rng, content, ndim)):
            name = f"case{ndim}_{i:03d}_{kind}.idx" + (".gz" if is_gz else "")
            path = tmp_path / name
            path.write_bytes(data)
            bomb = kind.startswith("bomb")
            refs[name] = None if bomb else reference_of_file(data, is_gz, ndim)
            cases.append({"mode": "reader", "ndim": ndim, "path": str(path), "name": name,
                          "kind": kind})
    got = run_worker(tmp_path, cases)

    def expect(case):
        ref = refs[case["name"]]
        return None if ref is None else [ref[0], ref[1]]
    counts = check(cases, got, expect)
    assert counts["cases"] > 150 and counts["accepted_correct"] >= 10
    assert counts["clean_errors"] > 100


def test_fuzz_mnist_dataset(tmp_path, real):
    """The MNIST class on mutated files of the whole real test split: only the official data
    may be accepted."""
    rng = random.Random(SEED + 1)
    images, labels = real
    official = [hashlib.sha1(np.frombuffer(images, np.uint8, offset=16).tobytes()).hexdigest(),
                hashlib.sha1(np.frombuffer(labels, np.uint8, offset=8).astype(np.int64)
                             .tobytes()).hexdigest()]
    packed_images = gz(images)
    picks = []
    for kind, data, is_gz in mutations(rng, labels, 1):
        picks.append((kind, "t10k-labels-idx1-ubyte", data, is_gz))
    img_cases = [("intact", images, False), ("truncated", images[:-1], False),
                 ("truncated", packed_images[:len(packed_images) // 2], True),
                 ("extra_bytes", images + b"\0", False), ("bomb", packed_images +
                                                          gz(bytes(32 << 20)) * 24, True)]
    for _ in range(4):
        b = bytearray(images)
        b[rng.randrange(16, len(b))] ^= 1 << rng.randrange(8)
        img_cases.append(("data_flip", bytes(b), False))
        b = bytearray(packed_images)
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        img_cases.append(("gzip_flip", bytes(b), True))
    for kind, data, is_gz in img_cases:
        picks.append((kind, "t10k-images-idx3-ubyte", data, is_gz))
    originals = {"t10k-images-idx3-ubyte": images, "t10k-labels-idx1-ubyte": labels}
    for base, content in originals.items():
        (tmp_path / base).write_bytes(content)
    cases = []
    for i, (kind, base, data, is_gz) in enumerate(picks):
        root = tmp_path / f"r{i:03d}"
        raw = root / "MNIST" / "raw"
        raw.mkdir(parents=True)
        other = next(b for b in originals if b != base)
        os.symlink(tmp_path / other, raw / other)  # the intact file of the other kind
        name = base + (".gz" if is_gz else "")
        (raw / name).write_bytes(data)
        if kind.startswith("bomb"):
            ok = False
        elif is_gz:
            try:
                ok = gzip.decompress(data) == originals[base]
            except Exception:
                ok = False
        else:
            ok = data == originals[base]
        cases.append({"mode": "dataset", "root": str(root), "name": name, "kind": kind,
                      "official": ok})
    got = run_worker(tmp_path, cases)
    counts = check(cases, got, lambda c: official if c["official"] else None)
    assert counts["accepted_correct"] >= 2 and counts["clean_errors"] >= 50
