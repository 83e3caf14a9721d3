"""ember.save / ember.load: PyTorch's zip format in both directions, safety, atomicity."""
from __future__ import annotations

import collections
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

import ember
from ember import serialization

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _sample(dtype):
    a = np.arange(12).reshape(3, 4) % 5
    return a.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ember_file_loads_in_torch(torch, tmp_path, dtype):
    a = _sample(dtype)
    sd = collections.OrderedDict(x=ember.tensor(a), s=ember.tensor(a[0, 0]),
                                 e=ember.tensor(a[:0]))
    path = tmp_path / "ckpt.pth"
    ember.save(sd, path)
    t = torch.load(path, weights_only=True)
    assert list(t) == ["x", "s", "e"]
    for k in sd:
        assert str(t[k].dtype) == str(sd[k].dtype).replace("ember", "torch")
        np.testing.assert_array_equal(t[k].numpy(), sd[k].numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_file_loads_in_ember(torch, tmp_path, dtype):
    a = _sample(dtype)
    path = tmp_path / "ckpt.pth"
    torch.save({"x": torch.tensor(a), "s": torch.tensor(a[1, 2]), "t": torch.tensor(a).t()}, path)
    e = ember.load(path)
    assert set(e) == {"x", "s", "t"}
    np.testing.assert_array_equal(e["x"].numpy(), a)
    np.testing.assert_array_equal(e["s"].numpy(), a[1, 2])
    np.testing.assert_array_equal(e["t"].numpy(), a.T)
    assert str(e["x"].dtype) == f"ember.{np.dtype(dtype).name}"


def test_views_share_one_storage_both_ways(torch, tmp_path):
    w = ember.arange(12, dtype=ember.float32).reshape(3, 4)
    path = tmp_path / "views.pth"
    ember.save({"w": w, "row": w[1], "col": w[:, 2], "t": w.t()}, path)
    t = torch.load(path, weights_only=True)
    assert t["row"].untyped_storage().data_ptr() == t["w"].untyped_storage().data_ptr()
    np.testing.assert_array_equal(t["col"].numpy(), w[:, 2].numpy())
    np.testing.assert_array_equal(t["t"].numpy(), w.t().numpy())
    e = ember.load(path)
    e["w"][1, 0] = 100.0  # loaded views share memory like torch's
    assert e["row"][0].item() == 100.0


def test_nested_containers_and_primitives_roundtrip(torch, tmp_path):
    obj = {"state": {0: {"step": ember.tensor(3.0), "buf": ember.ones(2)}},
           "param_groups": [{"lr": 0.01, "betas": (0.9, 0.999), "nesterov": False,
                             "params": [0], "name": None}],
           "shape": ember.Size([2, 3]), "dtype": ember.float64}
    path = tmp_path / "opt.pth"
    ember.save(obj, path)
    t = torch.load(path, weights_only=True)
    assert t["param_groups"] == [{"lr": 0.01, "betas": (0.9, 0.999), "nesterov": False,
                                  "params": [0], "name": None}]
    assert t["shape"] == torch.Size([2, 3]) and t["dtype"] is torch.float64
    assert t["state"][0]["step"].item() == 3.0
    back = ember.load(path)
    assert back["shape"] == ember.Size([2, 3]) and back["dtype"] is ember.float64
    assert back["state"][0]["buf"].tolist() == [1.0, 1.0]


def test_requires_grad_survives(torch, tmp_path):
    path = tmp_path / "g.pth"
    ember.save({"p": ember.ones(2, requires_grad=True)}, path)
    assert torch.load(path, weights_only=True)["p"].requires_grad
    torch.save({"p": torch.ones(2, requires_grad=True)}, path)
    assert ember.load(path)["p"].requires_grad


def test_file_objects(torch):
    buf = io.BytesIO()
    ember.save({"a": ember.arange(3)}, buf)
    buf.seek(0)
    assert torch.load(buf, weights_only=True)["a"].tolist() == [0, 1, 2]
    buf = io.BytesIO()
    torch.save([torch.zeros(2)], buf)
    buf.seek(0)
    assert ember.load(buf)[0].tolist() == [0.0, 0.0]


def _malicious_checkpoint(path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))
    data = pickle.dumps({"x": Evil()}, protocol=2)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("evil/data.pkl", data)
        z.writestr("evil/version", "3\n")


def test_forbidden_global_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "evil.pth"
    _malicious_checkpoint(path)
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    with pytest.raises(pickle.UnpicklingError, match="posix.system|os.system|weights_only"):
        ember.load(path)
    assert calls == []


def test_not_a_checkpoint(tmp_path):
    p = tmp_path / "junk.pth"
    p.write_bytes(b"not a zip file at all")
    with pytest.raises(RuntimeError, match="zip format"):
        ember.load(p)
    with pytest.raises(FileNotFoundError):
        ember.load(tmp_path / "missing.pth")


def test_truncated_checkpoint_is_an_error(tmp_path):
    p = tmp_path / "c.pth"
    ember.save({"w": ember.ones(1000)}, p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError):
        ember.load(p)


def test_interrupted_save_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "model.pth"
    ember.save({"w": ember.ones(3)}, p)
    before = p.read_bytes()

    def boom(fileobj, obj, name):
        fileobj.write(b"partial garbage")
        raise KeyboardInterrupt("simulated crash mid-save")

    monkeypatch.setattr(serialization, "_write_archive", boom)
    with pytest.raises(KeyboardInterrupt):
        ember.save({"w": ember.zeros(3)}, p)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["model.pth"]  # no temp file left behind
    monkeypatch.undo()
    assert ember.load(p)["w"].tolist() == [1.0, 1.0, 1.0]


def test_storages_are_aligned(tmp_path):
    p = tmp_path / "a.pth"
    ember.save({"a": ember.ones(5), "b": ember.zeros(7, dtype=ember.float64)}, p)
    with zipfile.ZipFile(p) as z:
        for info in z.infolist():
            if "/data/" in info.filename:
                start = info.header_offset + 30 + len(info.filename) + len(info.extra)
                assert start % 64 == 0


def test_scheduler_state_with_counter_roundtrips(torch, tmp_path):
    # MultiStepLR keeps its milestones in a collections.Counter, as torch does
    p = ember.nn.Parameter(ember.ones(1))
    opt = ember.optim.SGD([p], lr=0.1)
    sched = ember.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.5)
    path = tmp_path / "sched.pth"
    ember.save(sched.state_dict(), path)
    back = ember.load(path)
    assert back["milestones"] == collections.Counter([2, 4])
    assert torch.load(path, weights_only=True)["milestones"] == collections.Counter([2, 4])


def test_seed_mlp_state_dict_interop(torch, tmp_path):
    nn = ember.nn
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                          nn.Linear(64, 10))
    path = tmp_path / "mlp.pth"
    ember.save(model.state_dict(), path)
    tmodel = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                 torch.nn.Linear(128, 64), torch.nn.ReLU(),
                                 torch.nn.Linear(64, 10))
    tmodel.load_state_dict(torch.load(path, weights_only=True))
    x = np.random.default_rng(0).standard_normal((5, 784)).astype(np.float32)
    np.testing.assert_allclose(tmodel(torch.from_numpy(x)).detach().numpy(),
                               model(ember.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    torch.save(tmodel.state_dict(), path)
    model2 = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                           nn.Linear(64, 10))
    model2.load_state_dict(ember.load(path))
    np.testing.assert_allclose(model2(ember.from_numpy(x)).detach().numpy(),
                               tmodel(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_optimizer_state_dict_interop(torch, tmp_path):
    p = ember.nn.Parameter(ember.ones(3))
    opt = ember.optim.Adam([p], lr=0.1)
    p.grad = ember.tensor([0.1, -0.2, 0.3])
    opt.step()
    path = tmp_path / "adam.pth"
    ember.save(opt.state_dict(), path)
    tp = torch.nn.Parameter(torch.ones(3))
    topt = torch.optim.Adam([tp], lr=0.1)
    topt.load_state_dict(torch.load(path, weights_only=True))
    assert float(topt.state_dict()["state"][0]["step"]) == 1.0
    opt2 = ember.optim.Adam([ember.nn.Parameter(ember.ones(3))], lr=0.1)
    opt2.load_state_dict(ember.load(path))
    np.testing.assert_allclose(opt2.state_dict()["state"][0]["exp_avg"].numpy(),
                               opt.state_dict()["state"][0]["exp_avg"].numpy())


def test_parameter_roundtrip(torch, tmp_path):
    path = tmp_path / "p.pth"
    ember.save(ember.nn.Parameter(ember.ones(2)), path)
    t = torch.load(path, weights_only=True)
    assert isinstance(t, torch.nn.Parameter) and t.requires_grad
    torch.save(torch.nn.Parameter(torch.zeros(2)), path)
    e = ember.load(path)
    assert isinstance(e, ember.nn.Parameter) and e.requires_grad
