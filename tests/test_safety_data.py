"""Data files that lie or change under us (issue #9, items 3, 8, 9, and the ToTensor part of 10).

The IDX reader reads the header first and never inflates more than it declares (a gzip bomb is
refused at about the size of the real content, checked under a memory cap in a subprocess);
sizes are computed in Python ints; the md5 cache cannot be fooled by a rewrite that keeps the
size and the modification time; `dataset[i]` with ToTensor works without Pillow.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest

import ember
from ember.vision import datasets, transforms
from ember.vision.datasets import utils as dutils


def idx(array: np.ndarray, dims=None, magic=None) -> bytes:
    dims = array.shape if dims is None else dims
    magic = 0x0800 | len(dims) if magic is None else magic
    return magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in dims) + \
        array.astype(np.uint8).tobytes()


def gz_member(data: bytes, level=9) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def run_capped(code: str, mem_mib: int, timeout=60):
    """Run `code` in a fresh interpreter with its address space capped at mem_mib MiB."""
    prelude = textwrap.dedent(f"""
        import resource
        cap = {mem_mib} << 20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout, env=env)


# ---- item 3: the MNIST gzip bomb ------------------------------------------------------------
def make_bomb(path, total_mib=2048):
    """A valid-looking MNIST test-image .gz (header 10000x28x28) of ~2 MiB whose content is
    `total_mib` MiB: gzip members of zeros appended after the first one."""
    first = gz_member(idx(np.zeros((10000, 28, 28), np.uint8)))
    zeros = gz_member(bytes(64 << 20))  # 64 MiB of zeros in ~64 KiB
    with open(path, "wb") as f:
        f.write(first)
        for _ in range(total_mib // 64):
            f.write(zeros)
    return os.path.getsize(path)


def test_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    size = make_bomb(raw / "t10k-images-idx3-ubyte.gz")
    assert size < 3 << 20
    with gzip.open(raw / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(idx(np.zeros(10000, np.uint8)))
    # 2 GiB of content under a 1 GiB cap: only a reader that stops at the declared size passes
    r = run_capped(f"""
        from ember.vision import datasets
        from ember.vision.datasets.mnist import read_image_file
        p = {str(raw / "t10k-images-idx3-ubyte.gz")!r}
        for attempt in (lambda: read_image_file(p),
                        lambda: datasets.MNIST({str(tmp_path)!r}, train=False)):
            try:
                attempt()
                print("ACCEPTED")
            except RuntimeError as e:
                print("ERR", e)
        # VmHWM: this process's peak RSS (ru_maxrss would carry the parent's over exec)
        hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")][0]
        print("PEAK_MIB", int(hwm.split()[1]) >> 10)
    """, mem_mib=1024)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    errs = [ln for ln in lines if ln.startswith("ERR")]
    assert len(errs) == 2, r.stdout
    for e in errs:
        assert "t10k-images-idx3-ubyte.gz" in e and "has extra bytes" in e
        assert "10000x28x28 = 7840000 bytes" in e
    peak = int(lines[-1].split()[1])
    assert peak < 400, f"peak RSS {peak} MiB for 7.5 MiB of declared data"


def test_bomb_stops_one_byte_past_the_declared_size(tmp_path):
    p = tmp_path / "bomb.gz"
    make_bomb(p, total_mib=128)
    with dutils.ContentReader(p) as r:
        inflated = []
        inflate = r._inflate
        r._inflate = lambda n: inflated.append(inflate(n)) or inflated[-1]
        head = r.read(16)
        body = bytearray(7840000)
        assert r.readinto(memoryview(body)) == len(body)
        assert not r.at_end()
    assert head[:4] == (0x803).to_bytes(4, "big")
    assert sum(len(c) for c in inflated if c) == 16 + 7840000 + 1


def test_declared_size_beyond_what_the_gzip_can_hold_is_refused_before_allocating(tmp_path):
    p = tmp_path / "liar.gz"
    p.write_bytes(gz_member(idx(np.zeros(10, np.uint8), dims=(4_000_000, 28, 28))))
    with pytest.raises(RuntimeError, match=r"liar.gz: truncated or wrong header: the header "
                                           r"announces 4000000x28x28 = 3136000000 bytes of data, "
                                           r"a gzip file of \d+ bytes cannot inflate to more"):
        datasets.mnist.read_image_file(p)


# ---- item 8: IDX sizes in Python ints ---------------------------------------------------------
@pytest.mark.parametrize("dims", [(10000, 2**31 - 1, 2**31 - 1), (10000, 350476688, 3289581145),
                                  (2**32 - 1, 2**32 - 1, 2**32 - 1)])
@pytest.mark.parametrize("gz", [False, True])
def test_overflowing_dims_give_a_clear_error_naming_the_file(tmp_path, dims, gz):
    content = idx(np.zeros(784, np.uint8), dims=dims)
    p = tmp_path / ("imgs.idx" + (".gz" if gz else ""))
    p.write_bytes(gz_member(content) if gz else content)
    expected = dims[0] * dims[1] * dims[2]
    with pytest.raises(RuntimeError) as e:
        datasets.mnist.read_image_file(p)
    msg = str(e.value)
    assert msg.startswith(str(p) + ": ") and f"= {expected} bytes of data" in msg, msg
    assert "-" not in msg.split("announces")[1], msg  # no negative byte count


def test_zero_sized_dims_are_read_as_torchvision_shapes_them(tmp_path):
    p = tmp_path / "empty.idx"
    p.write_bytes(idx(np.zeros(0, np.uint8), dims=(0, 2**31, 2**31)))
    t = datasets.mnist.read_image_file(p)
    assert tuple(t.shape) == (0, 2**31, 2**31) and t.dtype == ember.uint8


def test_plain_file_extra_and_missing_bytes_are_counted(tmp_path):
    p = tmp_path / "x.idx"
    p.write_bytes(idx(np.arange(12, dtype=np.uint8).reshape(3, 2, 2)) + b"\0\0")
    with pytest.raises(RuntimeError, match=r"x.idx: has extra bytes: the header announces "
                                           r"3x2x2 = 12 bytes of data, the file holds 14"):
        datasets.mnist.read_image_file(p)
    p.write_bytes(idx(np.arange(12, dtype=np.uint8).reshape(3, 2, 2))[:-2])
    with pytest.raises(RuntimeError, match=r"x.idx: truncated or wrong header: the header "
                                           r"announces 3x2x2 = 12 bytes of data, the file "
                                           r"holds 10"):
        datasets.mnist.read_image_file(p)


# ---- item 9: the md5 cache ----------------------------------------------------------------------
@pytest.fixture
def plain_mnist_test(datasets_root, tmp_path):
    """The real MNIST test split, uncompressed, in a writable root."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]:
        with gzip.open(datasets_root / "MNIST" / "raw" / (name + ".gz")) as f:
            (raw / name).write_bytes(f.read())
    return tmp_path, raw / "t10k-labels-idx1-ubyte"


def corrupt_labels(path, how):
    """Change one label (to another valid class) keeping the size and the modification time."""
    st = os.stat(path)
    content = bytearray(path.read_bytes())
    content[8 + 5] = (content[8 + 5] + 1) % 10
    if how == "in_place":
        with open(path, "r+b") as f:
            f.write(content)
    else:  # a new file moved over the old one, as a download or a copy tool does
        tmp = path.with_suffix(".new")
        tmp.write_bytes(content)
        os.replace(tmp, path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    st2 = os.stat(path)
    assert (st2.st_size, st2.st_mtime_ns) == (st.st_size, st.st_mtime_ns)


@pytest.mark.parametrize("how", ["in_place", "replaced"])
def test_md5_cache_sees_a_rewrite_with_the_same_size_and_mtime(plain_mnist_test, how):
    root, labels = plain_mnist_test
    ds = datasets.MNIST(str(root), train=False)
    assert ds.targets[5].item() == 1
    corrupt_labels(labels, how)
    with pytest.raises(RuntimeError, match=r"t10k-labels-idx1-ubyte: the content's md5 is "
                                           r"[0-9a-f]{32}, expected "
                                           r"27ae3e4e09519cfbb04c329615203637"):
        datasets.MNIST(str(root), train=False)


def test_md5_cache_still_saves_the_second_hash(plain_mnist_test, monkeypatch):
    root, _ = plain_mnist_test
    datasets.MNIST(str(root), train=False)
    calls = []
    real = hashlib.md5
    monkeypatch.setattr(dutils.hashlib, "md5", lambda *a: calls.append(1) or real(*a))
    datasets.MNIST(str(root), train=False)
    assert calls == []


# ---- item 10: dataset[i] with ToTensor, with and without Pillow -------------------------------
TFS = {
    "totensor": lambda T, lib: [T.ToTensor()],
    "norm": lambda T, lib: [T.ToTensor(), T.Normalize((0.1307,), (0.3081,))],
    "piltotensor": lambda T, lib: [T.PILToTensor()],
    "convert": lambda T, lib: [T.PILToTensor(), T.ConvertImageDtype(lib.float64)],
}


@pytest.mark.parametrize("name", list(TFS))
def test_getitem_transform_matches_torchvision(torch, torchvision, datasets_root, tmp_path, name):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for base in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]:
        with gzip.open(datasets_root / "MNIST" / "raw" / (base + ".gz")) as f:
            (raw / base).write_bytes(f.read())
    for base in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]:
        (raw / base).write_bytes(b"")
    T = torchvision.transforms
    tv = torchvision.datasets.MNIST(str(tmp_path), train=False,
                                    transform=T.Compose(TFS[name](T, torch)))
    em = datasets.MNIST(str(tmp_path), train=False, transform=transforms.Compose(
        TFS[name](transforms, ember)))
    for i in [0, 7, 9999, -1]:
        (tx, ty), (ex, ey) = tv[i], em[i]
        assert str(ex.dtype).split(".")[1] == str(tx.dtype).split(".")[1]
        assert tuple(ex.shape) == tuple(tx.shape) and ey == ty
        assert np.array_equal(ex.numpy(), tx.numpy())
        ex[0, 0, 0] = 77  # a fresh tensor: writing to it leaves the data set alone
    assert em.data[0, 0, 0].item() == 0


def test_getitem_with_totensor_needs_no_pillow(datasets_root):
    code = f"""
        import sys
        sys.modules["PIL"] = None  # as if Pillow were not installed
        import numpy as np
        from ember.vision import datasets, transforms as T
        ds = datasets.MNIST({str(datasets_root)!r}, train=False,
                            transform=T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]))
        x, y = ds[0]
        ref = (ds.data[0].numpy().astype(np.float32) / np.float32(255) - np.float32(0.1307)) \\
            / np.float32(0.3081)
        assert tuple(x.shape) == (1, 28, 28) and y == 7 and np.array_equal(x.numpy()[0], ref)
        x, y = datasets.MNIST({str(datasets_root)!r}, train=False, transform=T.ToTensor())[3]
        assert x.max().item() == 1.0 and y == 0
        try:
            datasets.MNIST({str(datasets_root)!r}, train=False)[0]
        except ImportError as e:
            print("NEEDS PIL:", e)
        print("OK")
    """
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.splitlines() == [
        "NEEDS PIL: ember.vision needs Pillow for PIL images: pip install pillow", "OK"]


def test_pillow_is_the_vision_extra_not_a_dependency():
    # the default install stays small (~80 MB); the no-PIL sample path above covers dataset[i]
    import re
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "pyproject.toml")) as f:
        text = f.read()
    deps = re.search(r"^dependencies = \[(.*?)\]", text, re.M | re.S).group(1)
    assert not re.search(r'"pillow', deps, re.I), deps
    vision = re.search(r"^vision = \[(.*?)\]", text, re.M | re.S).group(1)
    assert re.search(r'"pillow>=', vision, re.I), vision
