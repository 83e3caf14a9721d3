"""MNIST and Fashion-MNIST, with torchvision's constructor, attributes and samples.

Files live in root/<ClassName>/raw/ as IDX files, gzip-compressed (.gz) or not. Every file is
checked when read: its IDX header (magic number, dimensions), its exact length, the gzip CRC,
and the md5 of its uncompressed content against the official value (hashed once per process),
so a truncated, corrupt or wrong file is a RuntimeError naming it, never a silently wrong
data set. `download=True` fetches only missing files (trying the mirrors in turn) and does no
network access when the files are present.

Batch path: `__getitems__` serves a whole batch with a few NumPy operations when the transform
is made of ToTensor/PILToTensor followed by Normalize/ConvertImageDtype (the arithmetic is the
one the per-sample transforms use, so values are bit-identical); anything else goes through
the per-sample `__getitem__`, exactly as torchvision. `dataset[i]` runs such a transform on the
array the same way, without making a PIL image: Pillow is needed only by transforms that need
PIL images.
"""
from __future__ import annotations

import os
import urllib.error
import warnings

import numpy as np

from ... import _dtype
from ..._tensor import Tensor
from ...utils.data._collate import PrecollatedBatch
from ..transforms import functional as F
from ..transforms.transforms import Compose, ConvertImageDtype, Normalize, PILToTensor, ToTensor
from . import utils
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "read_image_file", "read_label_file"]


def _read_idx(path, ndim: int, kind: str, name=None) -> tuple[np.ndarray, bytes]:
    """A uint8 IDX file (gzip or not): (array of its declared shape, validated; the header).

    The header is read first and the data straight into an array of the size it declares, so
    memory stays about the size of the real content: data beyond the declared size is never
    inflated (a gzip bomb costs one byte past it), and a size the file cannot hold is refused
    before anything is allocated. Errors are RuntimeErrors naming the file.
    """
    with utils.ContentReader(path, name) as r:
        head = r.read(4 + 4 * ndim)
        dims = _parse_header(head, r.name, ndim, kind)
        offset = len(head)
        expected = 1
        for d in dims:  # Python ints: no overflow whatever the header says
            expected *= d
        shape = "x".join(map(str, dims))
        bound = r.max_content_size() - offset
        if expected > bound:
            held = f"the file holds {bound}" if not r.gzip else \
                f"a gzip file of {r.stored_size} bytes cannot inflate to more than {bound}"
            raise RuntimeError(f"{r.name}: truncated or wrong header: the header announces "
                               f"{shape} = {expected} bytes of data, {held}")
        try:
            data = np.empty(expected, np.uint8)
        except MemoryError:
            raise RuntimeError(f"{r.name}: the header announces {shape} = {expected} bytes of "
                               "data, more than this machine can allocate") from None
        have = r.readinto(memoryview(data)) if expected else 0
        if have < expected:
            raise RuntimeError(f"{r.name}: truncated: the header announces {shape} = {expected} "
                               f"bytes of data, the file holds {have}")
        if not r.at_end():
            held = f"the file holds {r.stored_size - offset}" if not r.gzip else \
                "the file holds more"
            raise RuntimeError(f"{r.name}: has extra bytes: the header announces {shape} = "
                               f"{expected} bytes of data, {held}")
    return data.reshape(dims), head


def _parse_header(head: bytes, path, ndim: int, kind: str) -> tuple:
    """The dims of IDX header `head` (magic 0x0000080<ndim>, big-endian int32 dims), or a
    RuntimeError naming `path` and what is wrong."""
    if len(head) < 4 + 4 * ndim:
        raise RuntimeError(f"{path}: too short to be an IDX {kind} file ({len(head)} bytes); the "
                           "file is truncated or corrupt")
    magic = int.from_bytes(head[:4], "big")
    want = 0x0800 | ndim
    if magic != want:
        raise RuntimeError(f"{path}: wrong header: magic number 0x{magic:08X}, expected "
                           f"0x{want:08X} for an IDX {kind} file (uint8, {ndim} dimension"
                           f"{'s' if ndim > 1 else ''})")
    return tuple(int.from_bytes(head[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))


def read_image_file(path) -> Tensor:
    """An IDX image file (magic 0x00000803) as a uint8 (N, H, W) tensor."""
    return Tensor._new(_read_idx(path, 3, "image")[0])


def read_label_file(path) -> Tensor:
    """An IDX label file (magic 0x00000801) as an int64 (N,) tensor."""
    return Tensor._new(_read_idx(path, 1, "label")[0].astype(np.int64))


class MNIST(VisionDataset):
    """MNIST handwritten digits: 60,000 training and 10,000 test 28x28 grayscale images.

    Args:
        root: directory holding MNIST/raw/ (`~` is expanded).
        train: the training set (else the test set).
        transform / target_transform: applied to the PIL image / the int label.
        download: fetch missing files from the mirrors (nothing is fetched when they exist).

    Samples are (PIL.Image mode 'L', int) before transforms.
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    # (file name on the mirrors, md5 of the file's *uncompressed* content): recompressed
    # copies of the official files are equally valid.
    resources = [
        ("train-images-idx3-ubyte.gz", "6bbc9ace898e44ae57da46a324031adb"),
        ("train-labels-idx1-ubyte.gz", "a25bea736e30d166cdddb491f175f624"),
        ("t10k-images-idx3-ubyte.gz", "2646ac647ad5339dbf082846283269ea"),
        ("t10k-labels-idx1-ubyte.gz", "27ae3e4e09519cfbb04c329615203637"),
    ]
    training_file = "training.pt"
    test_file = "test.pt"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        missing = self._missing_files()
        if missing:
            raise RuntimeError("Dataset not found. You can use download=True to download it "
                               f"(looked in {self.raw_folder} for "
                               f"{', '.join(m + '[.gz]' for m in missing)})")
        self.data, self.targets = self._load_data()

    # ---- files --------------------------------------------------------------------------
    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "processed")

    @property
    def class_to_idx(self) -> dict:
        return {_class: i for i, _class in enumerate(self.classes)}

    def _split_files(self) -> list[str]:
        prefix = "train" if self.train else "t10k"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def _md5_of(self, base: str):
        for name, md5 in self.resources:
            if name.split(".gz")[0] == base:
                return md5
        return None

    def _find(self, base: str):
        """raw/<base> or raw/<base>.gz (the uncompressed copy first), or None."""
        for name in (base, base + ".gz"):
            path = os.path.join(self.raw_folder, name)
            if os.path.isfile(path):
                return path
        return None

    def _missing_files(self) -> list[str]:
        return [b for b in self._split_files() if self._find(b) is None]

    def _check_exists(self) -> bool:
        return not self._missing_files()

    def _read_checked(self, base: str, ndim: int, kind: str) -> np.ndarray:
        path = self._find(base)
        array, head = _read_idx(path, ndim, kind)
        md5 = self._md5_of(base)
        if md5 is not None:
            got = utils.content_md5(path, head, array)
            if got != md5:
                raise RuntimeError(
                    f"{path}: the content's md5 is {got}, expected {md5} (the official "
                    f"{self.__class__.__name__} file): the file is corrupt or is not the "
                    f"{self.__class__.__name__} {base} file; delete it and download it again")
        return array

    def _load_data(self):
        image_base, label_base = self._split_files()
        images = self._read_checked(image_base, 3, "image")
        labels = self._read_checked(label_base, 1, "label")
        if len(images) != len(labels):
            raise RuntimeError(f"{self.raw_folder}: {image_base} holds {len(images)} images but "
                               f"{label_base} holds {len(labels)} labels")
        if labels.size and labels.max() >= len(self.classes):
            raise RuntimeError(f"{self._find(label_base)}: label {int(labels.max())} is out of "
                               f"range for {len(self.classes)} classes")
        return Tensor._new(images), Tensor._new(labels.astype(np.int64))

    def download(self) -> None:
        """Download the missing files (nothing when this split's files are present)."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            base = filename.split(".gz")[0]
            if self._find(base) is not None:
                continue
            errors = []
            for mirror in self.mirrors:
                url = f"{mirror}{filename}"
                try:
                    utils.download_url(url, root=self.raw_folder, filename=filename, md5=md5,
                                       check=lambda p, b=base, f=filename: self._check_download(
                                           p, b, f))
                except (RuntimeError, urllib.error.URLError, OSError) as e:
                    errors.append(e)
                    continue
                break
            else:
                s = f"Error downloading {filename}:\n"
                for mirror, err in zip(self.mirrors, errors):
                    s += f"Tried {mirror}, got:\n{err}\n"
                raise RuntimeError(s)

    @staticmethod
    def _check_download(tmp_path, base: str, filename: str) -> None:
        ndim = 3 if "images" in base else 1
        _read_idx(tmp_path, ndim, "image" if ndim == 3 else "label", name=filename)

    # ---- samples ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        """(image, target): a PIL image in mode 'L' and an int class index, before transforms."""
        data, targets = self.data, self.targets
        if isinstance(index, Tensor):
            index = index.item()
        img = data._data[index] if isinstance(data, Tensor) else np.asarray(data[index])
        target = int(targets._data[index] if isinstance(targets, Tensor) else targets[index])
        sample = _transform_array(self.transform, img)
        if sample is not None:  # ToTensor & co. on the array: no PIL image (nor Pillow) needed
            img = sample
        else:
            img = F._image_from_array(img, "L")
            if self.transform is not None:
                img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __getitems__(self, indices):
        """The samples at `indices`; a whole batch at once when the transform allows it (see the
        module docstring), otherwise one `__getitem__` per index."""
        batch = self._batch(indices)
        if batch is None:
            return [self[i] for i in indices]
        images, labels = batch
        collated = [Tensor._new(images), Tensor._new(labels)]
        return PrecollatedBatch(collated,
                                lambda i: (Tensor._new(images[i].copy()), int(labels[i])))

    def _batch(self, indices):
        """(images, labels) arrays as default_collate would stack them from the per-sample path,
        or None when the batch path does not apply (or would fail: the per-sample path then
        raises torchvision's error)."""
        if type(self).__getitem__ is not MNIST.__getitem__ or self.target_transform is not None:
            return None
        ts = _batch_transforms(self.transform)
        data, targets = self.data, self.targets
        if ts is None or not (isinstance(data, Tensor) and isinstance(targets, Tensor)):
            return None
        data, targets = data._data, targets._data
        if data.dtype != np.uint8 or data.ndim != 3 or targets.ndim != 1 or \
                targets.dtype.kind not in "iu":
            return None
        try:
            idx = np.asarray(indices, dtype=np.int64)
            if idx.ndim != 1:
                return None
            x = _apply(ts, data[idx][:, None])  # (B, 1, H, W): the channel dim of ToTensor
            labels = targets[idx].astype(np.int64)
        except Exception:
            return None
        return x, labels

    @property
    def train_labels(self):
        warnings.warn("train_labels has been renamed targets")
        return self.targets

    @property
    def test_labels(self):
        warnings.warn("test_labels has been renamed targets")
        return self.targets

    @property
    def train_data(self):
        warnings.warn("train_data has been renamed data")
        return self.data

    @property
    def test_data(self):
        warnings.warn("test_data has been renamed data")
        return self.data

    def extra_repr(self) -> str:
        split = "Train" if self.train is True else "Test"
        return f"Split: {split}"


class FashionMNIST(MNIST):
    """Fashion-MNIST: Zalando's 28x28 grayscale images of 10 kinds of clothing (same format and
    API as MNIST)."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
        ("train-labels-idx1-ubyte.gz", "9018921c3c673c538a1fc5bad174d6f9"),
        ("t10k-images-idx3-ubyte.gz", "8181f5470baa50b63fa0f6fddb340f0a"),
        ("t10k-labels-idx1-ubyte.gz", "15d484375f8d13e6eb1aabb0c3f46965"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


# ---- the batch path --------------------------------------------------------------------------
def _flatten(transform, out):
    """Append the transforms of a (nested) Compose to `out`."""
    if type(transform) is Compose:
        for t in transform.transforms:
            _flatten(t, out)
    else:
        out.append(transform)
    return out


def _plain_module(t) -> bool:
    """A transform Module called as its class defines it (no hooks, no patched forward)."""
    d = t.__dict__
    return "forward" not in d and not (d.get("_forward_pre_hooks") or d.get("_forward_hooks")
                                       or d.get("_backward_hooks"))


_FIRST = (ToTensor, PILToTensor)
_ELEMENTWISE = (Normalize, ConvertImageDtype)


def _batch_transforms(transform):
    """The transforms of `transform` when the batch path can run them, else None: ToTensor or
    PILToTensor, then any Normalize / ConvertImageDtype (exact classes, called plainly)."""
    if transform is None:
        return None
    ts = _flatten(transform, [])
    if not ts or type(ts[0]) not in _FIRST:
        return None
    for t in ts[1:]:
        if type(t) not in _ELEMENTWISE or not _plain_module(t):
            return None
    return ts


def _transform_array(transform, img: np.ndarray):
    """transform(PIL image of the uint8 (H, W) array `img`) computed on the array itself when the
    batch path can run `transform` (same arithmetic, so the same tensor), else None."""
    ts = _batch_transforms(transform)
    if ts is None or img.dtype != np.uint8 or img.ndim != 2:
        return None
    try:
        return Tensor._new(_apply(ts, img[None, None].copy())[0])
    except Exception:  # the per-sample path raises torchvision's error
        return None


def _apply(ts, x: np.ndarray) -> np.ndarray:
    """Run the transforms on a fresh (B, C, H, W) uint8 batch with the per-sample arithmetic.

    Parameters are read at each call (a changed Normalize.mean takes effect at once). Shape
    checks are made against one sample's shape, so whatever the per-sample path rejects is
    rejected here too (the caller then falls back to it).
    """
    if type(ts[0]) is ToTensor:
        x = F._scale_to_float(x)
    for t in ts[1:]:
        if type(t) is Normalize:
            if x.dtype.kind != "f":
                raise TypeError("Normalize needs a float image")
            m, s = F._normalize_params(x.dtype, t.mean, t.std)
            if m.ndim > 3 or s.ndim > 3:
                raise ValueError("mean/std of more than 3 dims")
            F._check_inplace_broadcast(x.shape[1:], m.shape)
            F._check_inplace_broadcast(x.shape[1:], s.shape)
            np.subtract(x, m, out=x)  # x is fresh: in place is safe whatever t.inplace says
            np.divide(x, s, out=x)
        else:
            dt = _dtype.to_dtype(t.dtype)
            x = F._convert_dtype_array(x, np.dtype(dt.np), (_dtype._FROM_NP[x.dtype], dt))
    return x
