"""download=True works offline when the data is anywhere on the machine: a local dataset
cache ($EMBER_DATA, then ~/.cache/ember/datasets) is looked in before the network, valid files
are linked (or copied) in, and a failure lists where it looked and leaves no empty folders."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import DATASETS

CODE = """
import sys
from ember.vision import datasets
name, root = sys.argv[1], sys.argv[2]
try:
    ds = getattr(datasets, name)(root, train=False, download=True)
    print("loaded", len(ds))
except RuntimeError as e:
    print("error:", " ".join(str(e).split()))
"""


def _run(tmp_path, name, root, **env):
    e = dict(os.environ, HOME=str(tmp_path / "home"))
    e.pop("EMBER_DATA", None)
    e.update(env)
    e["PYTHONPATH"] = os.path.join(os.path.dirname(os.path.dirname(__file__)), "src")
    r = subprocess.run([sys.executable, "-c", CODE, name, str(root)], capture_output=True,
                       text=True, timeout=120, env=e)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_ember_data_cache_is_linked_in(tmp_path):
    out = _run(tmp_path, "MNIST", tmp_path / "data", EMBER_DATA=str(DATASETS))
    assert out == "loaded 10000"
    raw = tmp_path / "data" / "MNIST" / "raw"
    links = sorted(p.name for p in raw.iterdir())
    assert links == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                     "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert all((raw / n).is_symlink() for n in links)


def test_home_cache_and_fashion_mnist(tmp_path):
    cache = tmp_path / "home" / ".cache" / "ember" / "datasets"
    cache.mkdir(parents=True)
    (cache / "FashionMNIST").symlink_to(DATASETS / "FashionMNIST")
    assert _run(tmp_path, "FashionMNIST", tmp_path / "data") == "loaded 10000"


def test_a_corrupt_cached_file_is_not_used(tmp_path):
    bad = tmp_path / "cache" / "MNIST" / "raw"
    bad.mkdir(parents=True)
    for n in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (bad / n).write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 12)
    out = _run(tmp_path, "MNIST", tmp_path / "data", EMBER_DATA=str(tmp_path / "cache"))
    out = out.splitlines()[-1]
    assert out.startswith("error: Error downloading train-images-idx3-ubyte.gz")
    assert str(bad) in out  # says where it looked
    assert not (tmp_path / "data").exists()  # and leaves no empty folders behind


def test_nothing_found_lists_where_it_looked_and_creates_nothing(tmp_path):
    out = _run(tmp_path, "MNIST", tmp_path / "nowhere" / "data").splitlines()[-1]
    assert "local dataset caches" in out and ".cache/ember/datasets/MNIST/raw" in out
    assert not (tmp_path / "nowhere").exists()
