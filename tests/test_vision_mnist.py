"""MNIST / FashionMNIST: IDX reading and its errors, download, real data, the batch path."""
from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request

import numpy as np
import pytest

import ember
import ember.utils.data as ED
from ember.vision import datasets, transforms

PIL = pytest.importorskip("PIL.Image")

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ---- small IDX files written here --------------------------------------------------------------
def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    magic = 0x0800 | array.ndim if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big")
                                                 for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write(path, content: bytes, gz: bool):
    path = str(path) + (".gz" if gz else "")
    with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
        f.write(content)
    return path


def tiny_arrays(n=5, seed=0):
    rng = np.random.RandomState(seed)
    return (rng.randint(0, 256, (n, 28, 28)).astype(np.uint8),
            rng.randint(0, 10, n).astype(np.uint8))


def make_split(raw, train=True, gz=True, n=5, images=None, labels=None):
    raw.mkdir(parents=True, exist_ok=True)
    x, y = tiny_arrays(n)
    prefix = "train" if train else "t10k"
    write(raw / f"{prefix}-images-idx3-ubyte", idx_bytes(x) if images is None else images, gz)
    write(raw / f"{prefix}-labels-idx1-ubyte", idx_bytes(y) if labels is None else labels, gz)
    return x, y


class Tiny(datasets.MNIST):
    """MNIST's code on the tiny files (their md5 values, a local mirror)."""
    x, y = tiny_arrays()
    resources = [
        ("train-images-idx3-ubyte.gz", hashlib.md5(idx_bytes(x)).hexdigest()),
        ("train-labels-idx1-ubyte.gz", hashlib.md5(idx_bytes(y)).hexdigest()),
        ("t10k-images-idx3-ubyte.gz", hashlib.md5(idx_bytes(x)).hexdigest()),
        ("t10k-labels-idx1-ubyte.gz", hashlib.md5(idx_bytes(y)).hexdigest()),
    ]


@pytest.mark.parametrize("gz", [True, False])
def test_reads_compressed_and_plain_files(tmp_path, gz):
    x, y = make_split(tmp_path / "Tiny" / "raw", gz=gz)
    ds = Tiny(str(tmp_path))
    assert ds.data.dtype == ember.uint8 and tuple(ds.data.shape) == (5, 28, 28)
    assert ds.targets.dtype == ember.int64 and ds.targets.tolist() == y.tolist()
    assert np.array_equal(ds.data.numpy(), x)
    img, label = ds[2]
    assert isinstance(img, PIL.Image) and img.mode == "L" and img.size == (28, 28)
    assert np.array_equal(np.array(img), x[2]) and label == int(y[2]) and type(label) is int
    assert len(ds) == 5
    assert ds.raw_folder == os.path.join(str(tmp_path), "Tiny", "raw")


def test_missing_files(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True to "
                                           "download it") as info:
        datasets.MNIST(str(tmp_path))
    assert os.path.join(str(tmp_path), "MNIST", "raw") in str(info.value)
    assert "train-images-idx3-ubyte" in str(info.value)


def test_md5_mismatch_is_an_error(tmp_path):
    make_split(tmp_path / "MNIST" / "raw")  # tiny files are not the official ones
    with pytest.raises(RuntimeError, match="md5") as info:
        datasets.MNIST(str(tmp_path))
    assert "train-images-idx3-ubyte.gz" in str(info.value)


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_file(tmp_path, gz):
    x, _ = tiny_arrays()
    make_split(tmp_path / "Tiny" / "raw", gz=gz, images=idx_bytes(x)[:-100])
    with pytest.raises(RuntimeError, match="truncated") as info:
        Tiny(str(tmp_path))
    assert "train-images-idx3-ubyte" in str(info.value)


def test_truncated_gzip_stream(tmp_path):
    raw = tmp_path / "Tiny" / "raw"
    make_split(raw)
    path = raw / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(RuntimeError, match="gzip") as info:
        Tiny(str(tmp_path))
    assert "train-images-idx3-ubyte.gz" in str(info.value)


def test_wrong_magic(tmp_path):
    x, y = tiny_arrays()
    make_split(tmp_path / "Tiny" / "raw", labels=idx_bytes(x))  # images where labels belong
    with pytest.raises(RuntimeError, match="wrong header: magic number 0x00000803, expected "
                                           "0x00000801") as info:
        Tiny(str(tmp_path))
    assert "train-labels-idx1-ubyte" in str(info.value)


def test_count_mismatch(tmp_path):
    x, y = tiny_arrays()

    class NoMd5(datasets.MNIST):
        resources = [(name, None) for name, _ in datasets.MNIST.resources]
    make_split(tmp_path / "NoMd5" / "raw", labels=idx_bytes(y[:4]))
    with pytest.raises(RuntimeError, match="5 images but .* 4 labels"):
        NoMd5(str(tmp_path))


def test_root_expands_user(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    make_split(tmp_path / "data" / "Tiny" / "raw")
    ds = Tiny("~/data")
    assert ds.root == os.path.join(str(tmp_path), "data")


# ---- download --------------------------------------------------------------------------------
def mirror_with(tmp_path, name, files):
    """A directory served through file:// URLs holding the given .gz files."""
    d = tmp_path / name
    d.mkdir()
    for fname, content in files.items():
        write(d / fname, content, gz=True)
    return d.as_uri() + "/"


def tiny_files():
    x, y = tiny_arrays()
    return {"train-images-idx3-ubyte": idx_bytes(x), "train-labels-idx1-ubyte": idx_bytes(y),
            "t10k-images-idx3-ubyte": idx_bytes(x), "t10k-labels-idx1-ubyte": idx_bytes(y)}


def test_download_then_offline(tmp_path, monkeypatch, capsys):
    class Mirrored(Tiny):
        mirrors = [mirror_with(tmp_path, "mirror", tiny_files())]
    root = tmp_path / "root"
    ds = Mirrored(str(root), download=True)
    assert len(ds) == 5
    raw = root / "Mirrored" / "raw"
    assert sorted(os.listdir(raw)) == sorted(f + ".gz" for f in tiny_files())  # no temp files
    assert "Downloading" in capsys.readouterr().out

    def no_network(*a, **k):
        raise AssertionError("network access")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    assert len(Mirrored(str(root), download=True, train=False)) == 5


def test_download_tries_the_next_mirror_after_a_corrupt_file(tmp_path):
    files = tiny_files()
    bad = dict(files, **{"train-images-idx3-ubyte": files["train-images-idx3-ubyte"][:-1]})

    class Mirrored(Tiny):
        mirrors = [mirror_with(tmp_path, "bad", bad), mirror_with(tmp_path, "good", files)]
    ds = Mirrored(str(tmp_path / "root"), download=True)
    assert np.array_equal(ds.data.numpy(), tiny_arrays()[0])


def test_download_failure_is_clear_and_leaves_nothing(tmp_path):
    class Offline(Tiny):
        mirrors = [(tmp_path / "nowhere").as_uri() + "/", (tmp_path / "gone").as_uri() + "/"]
    with pytest.raises(RuntimeError, match="Error downloading train-images-idx3-ubyte.gz") as e:
        Offline(str(tmp_path / "root"), download=True)
    assert "nowhere" in str(e.value) and "gone" in str(e.value)
    assert not (tmp_path / "root").exists()  # no empty folders left behind


# ---- real data -------------------------------------------------------------------------------
NORM = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])


@pytest.fixture(scope="module")
def mnist_train(datasets_root):
    return datasets.MNIST(str(datasets_root), train=True, download=True, transform=NORM)


@pytest.fixture(scope="module")
def mnist_test(datasets_root):
    return datasets.MNIST(str(datasets_root), train=False, transform=NORM)


def read_gz_idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def pixel_stats(data):
    """Mean and std of the pixels scaled to [0, 1], to 4 decimals (from a histogram)."""
    counts = np.bincount(data.numpy().ravel(), minlength=256).astype(np.float64)
    v = np.arange(256) / 255
    mean = (counts * v).sum() / counts.sum()
    std = np.sqrt((counts * (v - mean) ** 2).sum() / counts.sum())
    return round(mean, 4), round(std, 4)


def test_real_mnist_contents(datasets_root, mnist_train, mnist_test):
    raw = datasets_root / "MNIST" / "raw"
    for ds, prefix, n, counts in [(mnist_train, "train", 60000, MNIST_TRAIN_COUNTS),
                                  (mnist_test, "t10k", 10000, MNIST_TEST_COUNTS)]:
        assert tuple(ds.data.shape) == (n, 28, 28) and ds.data.dtype == ember.uint8
        assert tuple(ds.targets.shape) == (n,) and ds.targets.dtype == ember.int64
        images = read_gz_idx(raw / f"{prefix}-images-idx3-ubyte.gz", 16).reshape(n, 28, 28)
        labels = read_gz_idx(raw / f"{prefix}-labels-idx1-ubyte.gz", 8)
        assert np.array_equal(ds.data.numpy()[:100], images[:100])
        assert np.array_equal(ds.targets.numpy(), labels)
        assert np.bincount(ds.targets.numpy(), minlength=10).tolist() == counts
    assert pixel_stats(mnist_train.data) == (0.1307, 0.3081)
    assert mnist_train.targets[:5].tolist() == [5, 0, 4, 1, 9]
    assert mnist_train.classes[3] == "3 - three" and mnist_train.class_to_idx["9 - nine"] == 9


def test_real_fashion_mnist(datasets_root):
    ds = datasets.FashionMNIST(str(datasets_root), train=True, download=True,
                               transform=transforms.Compose([transforms.ToTensor()]))
    assert len(ds) == 60000
    assert np.bincount(ds.targets.numpy()).tolist() == [6000] * 10
    assert pixel_stats(ds.data) == (0.2860, 0.3530)
    assert ds.classes[9] == "Ankle boot"
    images, labels = next(iter(ED.DataLoader(ds, batch_size=10, shuffle=True)))
    assert tuple(images.shape) == (10, 1, 28, 28) and images.dtype == ember.float32
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0


def test_real_loader_lengths(mnist_train):
    loader = ED.DataLoader(mnist_train, batch_size=64, shuffle=True)
    assert len(loader) == 938
    sizes = [len(y) for _, y in loader]
    assert len(sizes) == 938 and sizes[-1] == 32 and set(sizes[:-1]) == {64}
    assert len(ED.DataLoader(mnist_train, batch_size=64, drop_last=True)) == 937
    images, labels = next(iter(loader))
    assert tuple(images.shape) == (64, 1, 28, 28) and images.dtype == ember.float32
    assert labels.dtype == ember.int64
    assert float(images.min()) == -1.0 and float(images.max()) == 1.0


def test_download_true_with_files_present_does_no_network(datasets_root, monkeypatch):
    def no_network(*a, **k):
        raise AssertionError("network access")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    ds = datasets.MNIST(str(datasets_root), train=False, download=True)
    assert len(ds) == 10000


def same_batches(a, b):
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        assert xa.dtype == xb.dtype and ya.dtype == yb.dtype
        assert np.array_equal(xa.numpy(), xb.numpy()) and np.array_equal(ya.numpy(),
                                                                         yb.numpy())


@pytest.mark.parametrize("tf", [
    [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))],
    [transforms.ToTensor()],
    [transforms.PILToTensor()],
    [transforms.PILToTensor(), transforms.ConvertImageDtype(ember.float32),
     transforms.Normalize([0.5], [0.25], inplace=True)],
    [transforms.ToTensor(), transforms.ConvertImageDtype(ember.float64)],
], ids=["norm", "totensor", "piltotensor", "convert_norm", "float64"])
def test_batch_path_equals_per_sample_path(datasets_root, tf):
    fast = datasets.MNIST(str(datasets_root), train=False, transform=transforms.Compose(tf))
    slow = datasets.MNIST(str(datasets_root), train=False,
                          transform=transforms.Compose([transforms.Lambda(lambda x: x)] + tf))
    assert fast._batch([0, 1]) is not None and slow._batch([0, 1]) is None
    idx = list(range(0, 10000, 7))
    a, b = (list(ED.DataLoader(ds, batch_size=100, sampler=ED.SubsetRandomSampler(
        idx, generator=ember.Generator().manual_seed(1)))) for ds in (fast, slow))
    same_batches(a, b)


def test_batch_path_falls_back_on_per_sample_errors(mnist_test):
    bad = datasets.MNIST(mnist_test.root, train=False,
                         transform=transforms.Compose([transforms.PILToTensor(),
                                                       transforms.Normalize((0.5,), (0.5,))]))
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got "
                                        "ember.uint8."):
        next(iter(ED.DataLoader(bad, batch_size=4)))
    rgb_norm = transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    three = datasets.MNIST(mnist_test.root, train=False,
                           transform=transforms.Compose([transforms.ToTensor(), rgb_norm]))
    with pytest.raises(RuntimeError, match=r"output with shape \[1, 28, 28\] doesn't match the "
                                           r"broadcast shape \[3, 28, 28\]"):
        next(iter(ED.DataLoader(three, batch_size=4)))


def test_custom_collate_gets_real_samples(mnist_test):
    seen = []

    def collate(batch):
        seen.append(type(batch))
        return ED.default_collate(batch)
    x, y = next(iter(ED.DataLoader(mnist_test, batch_size=8, collate_fn=collate)))
    assert seen == [list]
    a, b = next(iter(ED.DataLoader(mnist_test, batch_size=8)))
    assert np.array_equal(x.numpy(), a.numpy()) and y.tolist() == b.tolist()


def test_subset_uses_the_batch_path(mnist_test):
    part, _ = ED.random_split(mnist_test, [0.5, 0.5], generator=ember.Generator().manual_seed(0))
    batch = part.__getitems__([0, 1, 2])
    assert type(batch) is ED._collate.PrecollatedBatch
    x, y = ED.default_collate(batch)
    assert tuple(x.shape) == (3, 1, 28, 28)
    for i in range(3):
        xi, yi = mnist_test[part.indices[i]]
        assert np.array_equal(x[i].numpy(), xi.numpy()) and y[i].item() == yi


def test_workers_give_the_same_batches(mnist_test):
    ember.manual_seed(0)
    a = list(ED.DataLoader(mnist_test, batch_size=500, shuffle=True))
    ember.manual_seed(0)
    b = list(ED.DataLoader(mnist_test, batch_size=500, shuffle=True, num_workers=2))
    same_batches(a, b)


# ---- against torchvision ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def tv_root(datasets_root, tmp_path_factory):
    """torchvision reads uncompressed files: the test split gunzipped (train files empty)."""
    root = tmp_path_factory.mktemp("tv")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]:
        with gzip.open(datasets_root / "MNIST" / "raw" / (name + ".gz")) as f:
            (raw / name).write_bytes(f.read())
    for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]:
        (raw / name).write_bytes(b"")
    return root


def test_getitem_and_repr_match_torchvision(torchvision, tv_root, mnist_test):
    T = torchvision.transforms
    tv = torchvision.datasets.MNIST(str(tv_root), train=False)
    em = datasets.MNIST(str(tv_root), train=False)  # also reads the uncompressed files
    for i in [0, 1, 4321, 9999]:
        (ti, tl), (ei, el) = tv[i], em[i]
        assert ei.mode == ti.mode and ei.size == ti.size
        assert np.array_equal(np.array(ei), np.array(ti)) and el == tl
    tvn = torchvision.datasets.MNIST(str(tv_root), train=False, transform=T.Compose(
        [T.ToTensor(), T.Normalize((0.5,), (0.5,))]))
    emn = datasets.MNIST(str(tv_root), train=False, transform=NORM)
    assert repr(emn) == repr(tvn)
    assert repr(emn).startswith("Dataset MNIST\n    Number of datapoints: 10000\n")
    assert repr(em) == repr(tv)


def test_shuffled_batches_match_torchvision(torch, torchvision, tv_root, mnist_test):
    T = torchvision.transforms
    tv = torchvision.datasets.MNIST(str(tv_root), train=False, transform=T.Compose(
        [T.ToTensor(), T.Normalize((0.5,), (0.5,))]))
    torch.manual_seed(0)
    ember.manual_seed(0)
    tl = iter(torch.utils.data.DataLoader(tv, batch_size=64, shuffle=True))
    el = iter(ED.DataLoader(mnist_test, batch_size=64, shuffle=True))
    for _ in range(3):
        (tx, ty), (ex, ey) = next(tl), next(el)
        assert str(ex.dtype) == "ember.float32" and tx.dtype == torch.float32
        assert np.array_equal(ex.numpy(), tx.numpy())  # bit-identical pixels
        assert ey.tolist() == ty.tolist()


def test_a_third_of_the_test_split_matches_torchvision(torch, torchvision, tv_root, mnist_test):
    T = torchvision.transforms
    tv = torchvision.datasets.MNIST(str(tv_root), train=False, transform=T.Compose(
        [T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]))
    em = datasets.MNIST(mnist_test.root, train=False, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]))
    idx = list(range(0, 10000, 3))
    tx, ty = next(iter(torch.utils.data.DataLoader(torch.utils.data.Subset(tv, idx),
                                                   batch_size=len(idx))))
    ex, ey = next(iter(ED.DataLoader(ED.Subset(em, idx), batch_size=len(idx))))
    assert np.array_equal(ex.numpy(), tx.numpy()) and np.array_equal(ey.numpy(), ty.numpy())


def test_pickles_after_the_batch_path_ran(tmp_path):
    import pickle
    make_split(tmp_path / "Tiny" / "raw")
    ds = Tiny(str(tmp_path), transform=NORM)
    a = ED.default_collate(ds.__getitems__([0, 3]))
    clone = pickle.loads(pickle.dumps(ds))  # what spawn-started workers receive
    b = ED.default_collate(clone.__getitems__([0, 3]))
    assert np.array_equal(a[0].numpy(), b[0].numpy()) and a[1].tolist() == b[1].tolist()


def test_batch_path_reads_transform_parameters_each_time(mnist_test):
    norm = transforms.Normalize((0.5,), (0.5,))
    ds = datasets.MNIST(mnist_test.root, train=False,
                        transform=transforms.Compose([transforms.ToTensor(), norm]))
    a = ED.default_collate(ds.__getitems__([0, 1]))[0]
    norm.mean = (0.1307,)
    norm.std = [0.3081]
    b = ED.default_collate(ds.__getitems__([0, 1]))[0]
    per_sample = ds[1][0]
    assert not np.array_equal(a.numpy(), b.numpy())
    assert np.array_equal(b[1].numpy(), per_sample.numpy())
    norm.mean = [[[[0.5]]]]  # 4-d: the per-sample in-place subtraction rejects it
    with pytest.raises(RuntimeError, match=r"output with shape \[1, 28, 28\] doesn't match"):
        ds.__getitems__([0, 1])
