"""ember.vision.datasets' FakeData, DatasetFolder and ImageFolder against torchvision's, and
ember.vision.io (read_image, decode_image, write_png, ...).

torchvision.io's decoders cannot run in the test environment (its image extension is built
for CUDA), so read_image is checked against Pillow's decoding of the same files, which uses
the same libpng/libjpeg, and against the modes' documented meaning.
"""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.vision import datasets as ED
from ember.vision import io as EIO
from ember.vision import transforms as ET

PIL = pytest.importorskip("PIL.Image")

RNG = np.random.RandomState(0)


def _tree(root, layout):
    """Write root/<class>/<name> files: arrays become images (format from the name), bytes
    are written as they are."""
    for rel, content in layout.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            PIL.fromarray(content).save(path)
    return root


def _img(h, w, c=3):
    shape = (h, w, c) if c > 1 else (h, w)
    return RNG.randint(0, 256, shape).astype(np.uint8)


LAYOUT = {
    "cat/a.png": _img(8, 9), "cat/b.JPG": _img(10, 7), "cat/sub/c.png": _img(5, 5, 1),
    "dog/x.jpeg": _img(6, 6), "dog/notes.txt": b"not an image",
    "emu/y.bmp": _img(4, 7), "emu/z.png": _img(3, 3, 4),
}


def test_fake_data_matches_torchvision(torchvision):
    kw = dict(size=6, image_size=(3, 9, 7), num_classes=4, random_offset=3)
    t = torchvision.datasets.FakeData(**kw, transform=torchvision.transforms.ToTensor())
    e = ED.FakeData(**kw, transform=ET.ToTensor())
    assert len(e) == 6 and repr(e).split("\n")[:2] == repr(t).split("\n")[:2]
    for i in range(6):
        (a, la), (b, lb) = t[i], e[i]
        assert la == lb and isinstance(lb, int)
        np.testing.assert_array_equal(b.numpy(), a.numpy())
    # items do not move the global generator
    import torch
    torch.manual_seed(9)
    ember.manual_seed(9)
    t[2], e[2]
    assert ember.rand(1).item() == torch.rand(1).item()
    with pytest.raises(IndexError, match="FakeData index out of range"):
        e[6]


def test_image_folder_matches_torchvision(torchvision, tmp_path):
    root = _tree(tmp_path, LAYOUT)
    t = torchvision.datasets.ImageFolder(str(root))
    e = ED.ImageFolder(str(root))
    assert e.classes == t.classes == ["cat", "dog", "emu"]
    assert e.class_to_idx == t.class_to_idx
    assert e.samples == t.samples and e.imgs == t.imgs and e.targets == t.targets
    assert repr(e) == repr(t)
    for i in range(len(t)):
        (a, la), (b, lb) = t[i], e[i]
        assert la == lb and b.mode == a.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(b), np.asarray(a))
    tt = torchvision.datasets.ImageFolder(str(root), transform=torchvision.transforms.Compose(
        [torchvision.transforms.Resize((4, 4)), torchvision.transforms.ToTensor()]),
        target_transform=lambda y: y * 10)
    ee = ED.ImageFolder(str(root), transform=ET.Compose([ET.Resize((4, 4)), ET.ToTensor()]),
                        target_transform=lambda y: y * 10)
    # (the reprs differ only in the lambda's address)
    assert repr(ee).splitlines()[:-1] == repr(tt).splitlines()[:-1]
    a, la = tt[1]
    b, lb = ee[1]
    assert la == lb == 0
    np.testing.assert_array_equal(b.numpy(), a.numpy())


def test_image_folder_through_a_data_loader(tmp_path):
    root = _tree(tmp_path, {f"c{i % 2}/{i}.png": _img(6, 5) for i in range(5)})
    ds = ED.ImageFolder(str(root), transform=ET.ToTensor())
    batches = list(ember.utils.data.DataLoader(ds, batch_size=2))
    assert [tuple(x.shape) for x, _ in batches] == [(2, 3, 6, 5), (2, 3, 6, 5), (1, 3, 6, 5)]
    assert batches[0][1].tolist() == [0, 0]


def test_dataset_folder_options_match_torchvision(torchvision, tmp_path):
    root = tmp_path / "r"
    for cls, n in (("b", 2), ("a", 3)):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            np.save(root / cls / f"{i}.npy", np.full((2,), i + len(cls)))
        (root / cls / "skip.txt").write_text("x")
    (root / "empty").mkdir()

    def loader(p):
        return np.load(p)
    for kwargs in ({"extensions": (".npy",), "allow_empty": True},
                   {"is_valid_file": lambda p: p.endswith("1.npy"), "allow_empty": True},
                   {"extensions": ".NPY", "allow_empty": True}):
        t = torchvision.datasets.DatasetFolder(str(root), loader, **kwargs)
        e = ED.DatasetFolder(str(root), loader, **kwargs)
        assert (e.classes, e.class_to_idx, e.samples) == (t.classes, t.class_to_idx, t.samples)
        for i in range(len(t)):
            np.testing.assert_array_equal(e[i][0], t[i][0])
            assert e[i][1] == t[i][1]

    class Custom(ED.DatasetFolder):  # find_classes can be overridden, as torchvision's
        def find_classes(self, directory):
            return ["a"], {"a": 7}
    e = Custom(str(root), loader, extensions=(".npy",))
    assert e.classes == ["a"] and set(e.targets) == {7} and len(e) == 3


def _raises_like(torchvision_call, ember_call, exc=Exception):
    with pytest.raises(exc) as te:
        torchvision_call()
    with pytest.raises(type(te.value)) as ee:
        ember_call()
    return str(te.value), str(ee.value)


def test_folder_errors_match_torchvision(torchvision, tmp_path):
    T = torchvision.datasets
    (tmp_path / "none").mkdir()
    a, b = _raises_like(lambda: T.ImageFolder(str(tmp_path / "none")),
                        lambda: ED.ImageFolder(str(tmp_path / "none")), FileNotFoundError)
    assert a == b and str(tmp_path / "none") in b
    root = _tree(tmp_path / "r", {"a/x.png": _img(3, 3), "b/readme.txt": b"text",
                                  "c/notes.md": b"#"})
    a, b = _raises_like(lambda: T.ImageFolder(str(root)), lambda: ED.ImageFolder(str(root)),
                        FileNotFoundError)
    assert a == b and "b, c" in b and ".png" in b
    e = ED.ImageFolder(str(root), allow_empty=True)
    assert e.classes == ["a", "b", "c"] and len(e) == 1
    for kwargs in ({}, {"extensions": (".png",), "is_valid_file": lambda p: True}):
        a, b = _raises_like(lambda: T.DatasetFolder(str(root), np.load, **kwargs),
                            lambda: ED.DatasetFolder(str(root), np.load, **kwargs), ValueError)
        assert a == b
    a, b = _raises_like(lambda: T.folder.make_dataset(str(root), {}, (".png",)),
                        lambda: ED.folder.make_dataset(str(root), {}, (".png",)), ValueError)
    assert a == b
    with pytest.raises(FileNotFoundError):
        ED.ImageFolder(str(tmp_path / "missing"))


def test_unreadable_image_files_name_the_file(torchvision, tmp_path):
    good = PIL.fromarray(_img(20, 20))
    import io
    buf = io.BytesIO()
    good.save(buf, format="PNG")
    root = _tree(tmp_path, {"a/bad.png": b"\x89PNG garbage", "a/cut.png": buf.getvalue()[:60],
                            "a/ok.png": _img(4, 4)})
    t = torchvision.datasets.ImageFolder(str(root))
    e = ED.ImageFolder(str(root))
    assert [p for p, _ in e.samples] == [p for p, _ in t.samples]
    for i, name in ((0, "bad.png"), (1, "cut.png")):
        _, msg = _raises_like(lambda: t[i], lambda: e[i], OSError)
        assert str(root / "a" / name) in msg
    assert e[2][0].size == (4, 4)


# ---- ember.vision.io ----------------------------------------------------------------------
def _chw(a):
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


@pytest.mark.parametrize("mode,shape", [("L", (7, 9)), ("LA", (7, 9, 2)), ("RGB", (7, 9, 3)),
                                        ("RGBA", (7, 9, 4))])
def test_read_png_unchanged_and_modes(tmp_path, mode, shape):
    a = RNG.randint(0, 256, shape).astype(np.uint8)
    path = tmp_path / "x.png"
    PIL.fromarray(a, mode).save(path)
    M = EIO.ImageReadMode
    out = EIO.read_image(str(path))
    assert out.dtype == ember.uint8
    np.testing.assert_array_equal(out.numpy(), _chw(a))
    color = a if a.ndim == 2 else a[..., :1] if mode == "LA" else a[..., :3]
    alpha = a[..., -1:] if mode in ("LA", "RGBA") else np.full(a.shape[:2] + (1,), 255,
                                                               np.uint8)
    color = color[..., None] if color.ndim == 2 else color
    rgb = np.repeat(color, 3, 2) if color.shape[2] == 1 else color
    if color.shape[2] == 3:  # libpng's rgb_to_gray with torchvision's (0.2989, 0.587) weights
        c = color.astype(np.int64)
        gray = (9794 * c[..., 0] + 19234 * c[..., 1] + 3740 * c[..., 2]) >> 15
        gray = gray.astype(np.uint8)[..., None]
    else:
        gray = color
    want = {M.GRAY: gray, M.GRAY_ALPHA: np.concatenate([gray, alpha], 2), M.RGB: rgb,
            M.RGB_ALPHA: np.concatenate([rgb, alpha], 2)}
    for m, w in want.items():
        np.testing.assert_array_equal(EIO.read_image(path, m).numpy(), _chw(w), err_msg=m.name)
    np.testing.assert_array_equal(EIO.read_image(path, "RGB").numpy(), _chw(rgb))
    assert EIO.ImageReadMode.RGBA is EIO.ImageReadMode.RGB_ALPHA


def test_read_jpeg_and_palette_png(tmp_path):
    a = _img(16, 12)
    PIL.fromarray(a).save(tmp_path / "x.jpg", quality=90)
    want = np.asarray(PIL.open(tmp_path / "x.jpg").convert("RGB"))
    np.testing.assert_array_equal(EIO.read_image(tmp_path / "x.jpg").numpy(), _chw(want))
    luma = PIL.open(tmp_path / "x.jpg")
    luma.draft("L", luma.size)  # libjpeg's own grey output
    np.testing.assert_array_equal(
        EIO.read_image(tmp_path / "x.jpg", EIO.ImageReadMode.GRAY).numpy(), _chw(
            np.asarray(luma.convert("L"))))
    for m in (EIO.ImageReadMode.GRAY_ALPHA, EIO.ImageReadMode.RGB_ALPHA):
        with pytest.raises(RuntimeError, match="not supported for JPEG"):
            EIO.read_image(tmp_path / "x.jpg", m)
    p = PIL.fromarray(a).convert("P", palette=PIL.Palette.ADAPTIVE, colors=16)
    p.save(tmp_path / "p.png")
    # UNCHANGED keeps libpng's palette indices; the other modes expand the palette
    np.testing.assert_array_equal(EIO.read_image(tmp_path / "p.png").numpy(),
                                  np.asarray(p)[None])
    rgb = np.asarray(p.convert("RGB"))
    np.testing.assert_array_equal(
        EIO.read_image(tmp_path / "p.png", EIO.ImageReadMode.RGB).numpy(), _chw(rgb))
    np.testing.assert_array_equal(
        EIO.read_image(tmp_path / "p.png", EIO.ImageReadMode.RGB_ALPHA).numpy()[3],
        np.full(rgb.shape[:2], 255, np.uint8))


def test_png_round_trip_and_bytes(tmp_path):
    for c in (1, 3):
        img = ember.from_numpy(RNG.randint(0, 256, (c, 5, 6)).astype(np.uint8))
        EIO.write_png(img, tmp_path / "w.png", compression_level=9)
        np.testing.assert_array_equal(EIO.read_image(tmp_path / "w.png").numpy(), img.numpy())
        data = EIO.read_file(tmp_path / "w.png")
        assert data.dtype == ember.uint8 and data.ndim == 1
        np.testing.assert_array_equal(EIO.decode_image(data).numpy(), img.numpy())
        np.testing.assert_array_equal(EIO.decode_png(EIO.encode_png(img)).numpy(), img.numpy())
        with PIL.open(tmp_path / "w.png") as f:
            assert f.format == "PNG" and f.mode == ("L" if c == 1 else "RGB")
    import io
    jpg = EIO.encode_jpeg(img, quality=95)
    with PIL.open(io.BytesIO(jpg.numpy().tobytes())) as f:
        assert f.format == "JPEG"
        want = np.asarray(f.convert("RGB"))
    np.testing.assert_array_equal(EIO.decode_jpeg(jpg).numpy(), _chw(want))
    assert len(EIO.encode_jpeg([img, img])) == 2
    EIO.write_jpeg(img, tmp_path / "w.jpg")
    assert EIO.read_image(tmp_path / "w.jpg").shape == img.shape


@pytest.mark.parametrize("call,exc,match", [
    (lambda: EIO.write_png(ember.zeros(3, 4, 4), "x.png"), RuntimeError, "uint8"),
    (lambda: EIO.encode_png(ember.zeros(4, 4, 4, dtype=ember.uint8)), RuntimeError,
     "channels should be 1 or 3, got: 4"),
    (lambda: EIO.encode_png(ember.zeros(4, 4, dtype=ember.uint8)), RuntimeError,
     "dimensions should be 3, got 2"),
    (lambda: EIO.encode_png(ember.zeros(1, 4, 4, dtype=ember.uint8), 10), ValueError,
     "Compression level"),
    (lambda: EIO.decode_image(ember.tensor([1, 2, 3], dtype=ember.uint8)), RuntimeError,
     "Unsupported image file"),
    (lambda: EIO.decode_image(ember.zeros(2, 3, dtype=ember.uint8)), RuntimeError,
     "one dimensional"),
    (lambda: EIO.decode_image(ember.zeros(3)), RuntimeError, "uint8"),
    (lambda: EIO.decode_jpeg(EIO.encode_png(ember.zeros(1, 2, 2, dtype=ember.uint8))),
     RuntimeError, "not JPEG"),
    (lambda: EIO.read_image("/nonexistent/x.png"), FileNotFoundError, "x.png"),
    (lambda: EIO.decode_image(EIO.encode_png(ember.zeros(1, 2, 2, dtype=ember.uint8)),
                              mode="CMYK"), ValueError, "CMYK"),
])
def test_io_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
