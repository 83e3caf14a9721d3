"""ember.vision.utils' make_grid and save_image against torchvision.utils: equal grids and
equal decoded pixels of the written files, for random inputs and every option."""
from __future__ import annotations

import io

import numpy as np
import pytest

import ember
from ember.vision import utils as EU

PIL = pytest.importorskip("PIL.Image")

CASES = [
    ((5, 3, 7, 9), {}),
    ((5, 1, 7, 9), {"nrow": 2, "padding": 3, "pad_value": 0.7}),
    ((4, 3, 6, 6), {"normalize": True}),
    ((4, 3, 6, 6), {"normalize": True, "scale_each": True}),
    ((4, 3, 6, 6), {"normalize": True, "value_range": (-0.5, 0.8)}),
    ((4, 3, 6, 6), {"normalize": True, "value_range": (-0.5, 0.8), "scale_each": True}),
    ((1, 3, 6, 6), {}),
    ((1, 1, 6, 6), {"padding": 5}),
    ((3, 6, 6), {"normalize": True}),
    ((1, 6, 6), {}),
    ((6, 6), {}),
    ((9, 3, 4, 5), {"nrow": 4, "padding": 0}),
    ((7, 3, 4, 5), {"nrow": 20, "pad_value": 1}),
    ((16, 4, 3, 3), {"nrow": 5}),
]


def _inputs(shape, seed):
    rs = np.random.RandomState(seed)
    yield (rs.randn(*shape) * 0.6 + 0.4).astype(np.float32)  # partly outside [0, 1]
    yield rs.rand(*shape).astype(np.float32)
    yield rs.rand(*shape)  # float64


@pytest.mark.parametrize("shape,kwargs", CASES, ids=[str(i) for i in range(len(CASES))])
def test_make_grid_and_save_image_match_torchvision(torchvision, tmp_path, shape, kwargs):
    import torch
    for i, x in enumerate(_inputs(shape, len(shape) + len(kwargs))):
        a = torchvision.utils.make_grid(torch.from_numpy(x.copy()), **kwargs).numpy()
        b = EU.make_grid(ember.from_numpy(x.copy()), **kwargs)
        assert isinstance(b, ember.Tensor) and not b.requires_grad
        b = b.numpy()
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(b, a)
        if shape[-3:-2] == (4,) and len(shape) == 4:
            continue  # 4 channels: RGBA files, checked below for 3
        fa, fb = tmp_path / f"t{i}.png", tmp_path / f"e{i}.png"
        torchvision.utils.save_image(torch.from_numpy(x.copy()), fa, **kwargs)
        EU.save_image(ember.from_numpy(x.copy()), fb, **kwargs)
        with PIL.open(fa) as pa, PIL.open(fb) as pb:
            assert (pa.mode, pa.size) == (pb.mode, pb.size)
            np.testing.assert_array_equal(np.asarray(pb), np.asarray(pa))


def test_list_input_file_objects_and_formats(torchvision):
    import torch
    rs = np.random.RandomState(1)
    xs = [rs.rand(3, 5, 4).astype(np.float32) for _ in range(3)]
    a = torchvision.utils.make_grid([torch.from_numpy(x) for x in xs], nrow=2)
    b = EU.make_grid([ember.from_numpy(x) for x in xs], nrow=2)
    np.testing.assert_array_equal(b.numpy(), a.numpy())
    for fmt in ("png", "bmp", "jpeg"):
        fa, fb = io.BytesIO(), io.BytesIO()
        torchvision.utils.save_image([torch.from_numpy(x) for x in xs], fa, format=fmt)
        EU.save_image([ember.from_numpy(x) for x in xs], fb, format=fmt)
        fa.seek(0)
        fb.seek(0)
        np.testing.assert_array_equal(np.asarray(PIL.open(fb)), np.asarray(PIL.open(fa)))


def test_make_grid_leaves_its_input_alone_and_ignores_grad():
    x = ember.rand(4, 3, 5, 5, requires_grad=True)
    before = x.detach().numpy().copy()
    g = EU.make_grid(x * 3, normalize=True, scale_each=True)
    assert not g.requires_grad and g.grad_fn is None
    np.testing.assert_array_equal(x.detach().numpy(), before)
    assert float(g.max()) == 1.0


@pytest.mark.parametrize("call", [
    lambda U, m: U.make_grid([m.zeros(3, 2, 2), np.zeros((3, 2, 2))]),
    lambda U, m: U.make_grid(np.zeros((3, 2, 2))),
    lambda U, m: U.make_grid(m.zeros(2, 3, 2, 2), normalize=True, value_range=[0, 1]),
    lambda U, m: U.save_image(m.zeros(2, 3, 2, 2, dtype=m.uint8), io.BytesIO(), format="png"),
])
def test_errors_match_torchvision(torchvision, call):
    import torch
    with pytest.raises(Exception) as te:
        call(torchvision.utils, torch)
    with pytest.raises(type(te.value)) as ee:
        call(EU, ember)
    assert str(ee.value) == str(te.value)
