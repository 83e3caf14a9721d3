"""ember.vision.models against torchvision.models: module names, state_dict keys and shapes,
the seeded initialisation, outputs of torchvision's weights, the weights enums and the offline
weight cache, and bad arguments."""
from __future__ import annotations

import os

import numpy as np
import pytest

import ember
from ember.vision import models as EM

RNG = np.random.RandomState(0)
X64 = RNG.rand(2, 3, 64, 64).astype(np.float32)


def _randomize(torch, model) -> None:
    """Non-trivial batch-norm statistics and affine terms, so eval outputs depend on them."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


def _to_ember(state):
    return {k: ember.from_numpy(v.detach().numpy().copy()) for k, v in state.items()}


def _same_state(ts, es) -> None:
    """Equal keys (in order), shapes, dtypes and values."""
    assert list(ts) == list(es)
    for k in ts:
        a, b = ts[k].detach().numpy(), es[k].detach().numpy()
        assert a.shape == b.shape and a.dtype == b.dtype, k
        np.testing.assert_array_equal(a, b, err_msg=k)


def _check_model(torch, torchvision, name, x=X64, rtol=1e-4, **kwargs):
    """Seeded construction gives torchvision's parameters bit for bit and the same repr;
    torchvision's (randomised) weights load with strict=True and give its eval outputs."""
    torch.manual_seed(3)
    tm = getattr(torchvision.models, name)(**kwargs)
    ember.manual_seed(3)
    em = getattr(EM, name)(**kwargs)
    assert repr(em) == repr(tm)
    _same_state(tm.state_dict(), em.state_dict())
    _randomize(torch, tm)
    em.load_state_dict(_to_ember(tm.state_dict()), strict=True)
    tm.eval()
    em.eval()
    with torch.no_grad():
        want = tm(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = em(ember.from_numpy(x))
    assert got.dtype == ember.float32 and tuple(got.shape) == want.shape
    scale = np.abs(want).max()
    np.testing.assert_allclose(got.numpy(), want, rtol=rtol, atol=rtol * scale)
    return tm, em


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50", "mobilenet_v2",
                                  "squeezenet1_0", "squeezenet1_1", "alexnet"])
def test_model_matches_torchvision(torch, torchvision, name):
    _check_model(torch, torchvision, name)


@pytest.mark.parametrize("name,kwargs", [
    ("resnet18", {"num_classes": 10, "zero_init_residual": True}),
    ("resnet50", {"num_classes": 5, "zero_init_residual": True,
                  "replace_stride_with_dilation": [False, True, True]}),
    ("resnext50_32x4d", {"num_classes": 4}),
    ("mobilenet_v2", {"num_classes": 3, "width_mult": 0.5, "dropout": 0.1}),
    ("squeezenet1_1", {"num_classes": 7, "dropout": 0.2}),
    ("alexnet", {"num_classes": 6, "dropout": 0.3}),
])
def test_model_kwargs_match_torchvision(torch, torchvision, name, kwargs):
    _check_model(torch, torchvision, name, x=X64[:1], **kwargs)


@pytest.mark.parametrize("cfg", ["A", "B", "D", "E"])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_vgg_features_match_torchvision(torch, torchvision, cfg, batch_norm):
    """The `features` of every VGG configuration (the classifier is shared: see vgg11_bn)."""
    from torchvision.models import vgg as tvgg

    from ember.vision.models import vgg as evgg
    torch.manual_seed(0)
    tf = tvgg.make_layers(tvgg.cfgs[cfg], batch_norm)
    ember.manual_seed(0)
    ef = evgg.make_layers(evgg.cfgs[cfg], batch_norm)
    assert repr(ef) == repr(tf)
    _same_state(tf.state_dict(), ef.state_dict())


def test_vgg11_bn_matches_torchvision(torch, torchvision):
    """VGG's classifier and pooling (init_weights=False: default layer init, half the draws of
    its 130M parameters; the init_weights path is the slow test's and the features test's)."""
    _check_model(torch, torchvision, "vgg11_bn", x=X64[:1], init_weights=False, dropout=0.1)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vgg11", "vgg16", "vgg16_bn"])
def test_big_vgg_matches_torchvision(torch, torchvision, name):
    _check_model(torch, torchvision, name, x=X64[:1])


def _train_step(lib, build, x, y, dtype):
    lib.manual_seed(0)
    m = build(num_classes=10).to(getattr(lib, dtype))
    lib.nn.functional.cross_entropy(m(lib.from_numpy(x.astype(dtype))),
                                    lib.from_numpy(y)).backward()
    grads = {n: p.grad.numpy().astype(np.float64) for n, p in m.named_parameters()}
    return grads, {k: v.numpy() for k, v in m.state_dict().items()}


def test_resnet18_training_step_matches_torch(torch, torchvision):
    """Train mode: batch statistics, running-stat updates and parameter gradients. In float64
    they equal torch's to 1e-9; in float32 they are compared with torch's float64 result
    (torch's own float32 gradients of a fresh ResNet differ from its float64 ones by up to
    18% here; ember's float32 ones stay within 1e-4)."""
    x = RNG.rand(3, 3, 40, 40)
    y = np.array([1, 7, 0])
    tg, ts = _train_step(torch, torchvision.models.resnet18, x, y, "float64")
    for dtype, tol in (("float64", 1e-9), ("float32", 1e-4)):
        eg, es = _train_step(ember, EM.resnet18, x, y, dtype)
        assert list(es) == list(ts)
        for k in ts:
            scale = float(np.abs(ts[k]).max())
            np.testing.assert_allclose(es[k], ts[k], rtol=tol, atol=tol * scale, err_msg=k)
        for n in tg:
            scale = float(np.abs(tg[n]).max())
            np.testing.assert_allclose(eg[n], tg[n], rtol=tol, atol=tol * scale, err_msg=n)


def test_wrong_input_channels_raise_like_torch(torch, torchvision):
    torch.manual_seed(0)
    tm = torchvision.models.resnet18()
    em = EM.resnet18()
    x = np.zeros((1, 4, 32, 32), np.float32)
    with pytest.raises(RuntimeError) as te:
        tm(torch.from_numpy(x))
    with pytest.raises(RuntimeError) as ee:
        em(ember.from_numpy(x))
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("build", [
    lambda m: m.resnet.BasicBlock(64, 64, groups=2),
    lambda m: m.resnet.BasicBlock(64, 64, base_width=32),
    lambda m: m.resnet.BasicBlock(64, 64, dilation=2),
    lambda m: m.resnet18(replace_stride_with_dilation=[True, False]),
    lambda m: m.resnet18(replace_stride_with_dilation=[False, False, True]),
    lambda m: m.squeezenet.SqueezeNet("1_2"),
    lambda m: m.mobilenetv2.InvertedResidual(8, 8, 3, 6),
    lambda m: m.mobilenet_v2(inverted_residual_setting=[[1, 16, 1]]),
    lambda m: m.resnet18(weights=m.AlexNet_Weights.DEFAULT),
    lambda m: m.resnet18(weights="IMAGENET1K_V9"),
    lambda m: m.resnet18(weights="DEFAULT", num_classes=10),
    lambda m: m.get_model("resnet1800"),
], ids=["groups", "base_width", "dilation", "dilation-list", "dilation-basic", "version",
        "stride", "setting", "weights-type", "weights-name", "num_classes", "unknown"])
def test_bad_arguments_raise_torchvision_errors(torchvision, build):
    with pytest.raises(Exception) as te:
        build(torchvision.models)
    with pytest.raises(type(te.value)) as ee:
        build(EM)
    if type(te.value) is not KeyError:  # ember's KeyError lists the valid names
        assert str(ee.value) == str(te.value)


def test_weights_enums_match_torchvision(torchvision):
    T = torchvision.models
    for name in ["ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights", "VGG11_Weights",
                 "VGG11_BN_Weights", "VGG16_Weights", "VGG16_BN_Weights", "AlexNet_Weights",
                 "MobileNet_V2_Weights", "SqueezeNet1_1_Weights", "SqueezeNet1_0_Weights"]:
        te, ee = getattr(T, name), getattr(EM, name)
        assert list(ee.__members__) == list(te.__members__), name
        for member in te.__members__:
            tw, ew = te[member], ee[member]
            assert ew.url == tw.url and repr(ew) == repr(tw)
            assert ew.meta["num_params"] == tw.meta["num_params"]
            assert ew.meta["min_size"] == tw.meta["min_size"]
        assert ee.verify("DEFAULT") is ee.DEFAULT
        assert ee.verify(f"{name}.IMAGENET1K_V1") is ee.IMAGENET1K_V1
    assert EM.ResNet50_Weights.DEFAULT is EM.ResNet50_Weights.IMAGENET1K_V2
    assert EM.get_model_weights("resnet18") is EM.ResNet18_Weights
    assert EM.get_weight("MobileNet_V2_Weights.IMAGENET1K_V2") is \
        EM.MobileNet_V2_Weights.IMAGENET1K_V2
    assert set(EM.list_models()) <= set(T.list_models())
    assert EM.list_models(include="resnet*", exclude="resnet1*") == ["resnet34", "resnet50"]
    assert EM.list_models(module=EM.vgg) == T.list_models(module=T.vgg)


def test_get_model_matches_torchvision(torch, torchvision):
    torch.manual_seed(5)
    tm = torchvision.models.get_model("squeezenet1_1", num_classes=3)
    ember.manual_seed(5)
    em = EM.get_model("squeezenet1_1", weights=None, num_classes=3)
    _same_state(tm.state_dict(), em.state_dict())


def test_weights_transforms_match_torchvision(torchvision):
    from PIL import Image
    img = Image.fromarray(RNG.randint(0, 256, (300, 260, 3)).astype(np.uint8))
    tt = torchvision.models.ResNet50_Weights.DEFAULT.transforms()
    et = EM.ResNet50_Weights.DEFAULT.transforms()
    assert repr(et).replace("InterpolationMode", "") == repr(tt).replace("InterpolationMode", "")
    np.testing.assert_array_equal(et(img).numpy(), tt(img).numpy())


def test_weights_offline_error_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    where = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    with pytest.raises(FileNotFoundError) as e:
        EM.resnet18(weights="DEFAULT")
    assert str(where) in str(e.value)
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in str(e.value)
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match=str(
            tmp_path / "home" / ".cache" / "torch" / "hub" / "checkpoints")):
        EM.squeezenet1_1(weights=EM.SqueezeNet1_1_Weights.IMAGENET1K_V1)


@pytest.mark.parametrize("name,enum,weights", [
    ("resnet18", "ResNet18_Weights", "DEFAULT"),
    ("squeezenet1_1", "SqueezeNet1_1_Weights", "IMAGENET1K_V1"),
    ("mobilenet_v2", "MobileNet_V2_Weights", "MobileNet_V2_Weights.IMAGENET1K_V1"),
])
def test_weights_load_from_the_hub_cache(torch, torchvision, tmp_path, monkeypatch, name, enum,
                                         weights):
    """A torch-saved torchvision state_dict in $TORCH_HOME/hub/checkpoints is what
    weights= loads (with the safe loader), giving torchvision's outputs."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    tw = getattr(torchvision.models, enum).verify(weights)
    torch.manual_seed(0)
    tm = getattr(torchvision.models, name)()
    _randomize(torch, tm)
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    torch.save(tm.state_dict(), ckpt / tw.url.rsplit("/", 1)[1])
    em = getattr(EM, name)(weights=weights).eval()
    tm.eval()
    with torch.no_grad():
        want = tm(torch.from_numpy(X64[:1])).numpy()
    with ember.no_grad():
        got = em(ember.from_numpy(X64[:1])).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    with pytest.warns(UserWarning, match="pretrained"):  # the legacy flag: IMAGENET1K_V1
        legacy = getattr(EM, name)(pretrained=True)
    if tw is getattr(torchvision.models, enum).IMAGENET1K_V1:
        _same_state(em.state_dict(), legacy.state_dict())


def test_hub_cache_refuses_code_in_checkpoints(tmp_path, monkeypatch):
    """Checkpoints go through the weights_only loader: a pickle that calls a function fails."""
    import os
    import pickle
    import zipfile

    class Evil:
        def __reduce__(self):
            return (os.getcwd, ())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    with zipfile.ZipFile(ckpt / "squeezenet1_1-b8a52dc0.pth", "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"x": Evil()}, protocol=2))
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
    with pytest.raises(Exception, match="(?i)weights|unsupported|global"):
        EM.squeezenet1_1(weights="DEFAULT")


def test_hub_functions(tmp_path, monkeypatch):
    import ember.hub as hub
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert hub.get_dir() == str(tmp_path / "hub")
    state = {"w": ember.arange(3.0)}
    (tmp_path / "m").mkdir()
    ember.save(state, tmp_path / "m" / "w-1234.pt")
    out = hub.load_state_dict_from_url("https://example.org/a/w-1234.pt",
                                       model_dir=str(tmp_path / "m"))
    np.testing.assert_array_equal(out["w"].numpy(), [0.0, 1.0, 2.0])
    assert ember.hub is hub


def test_torchvision_script_runs_under_ember_run(tmp_path):
    """`import torchvision.models` / `torch.hub` in a PyTorch script resolve to ember's."""
    import subprocess
    import sys
    import textwrap
    script = tmp_path / "s.py"
    script.write_text(textwrap.dedent("""
        import torch, torch.hub, torchvision
        from torchvision.models import resnet18, ResNet18_Weights
        from torchvision.utils import make_grid
        m = resnet18(num_classes=3).eval()
        print(type(m).__module__, m(torch.zeros(1, 3, 32, 32)).shape)
        print(make_grid(torch.zeros(2, 1, 4, 4)).shape, torch.hub.get_dir().endswith("hub"))
        try:
            resnet18(weights=ResNet18_Weights.DEFAULT)
        except FileNotFoundError as e:
            print("offline:", "resnet18-f37072fd.pth" in str(e))
    """))
    env = dict(os.environ, TORCH_HOME=str(tmp_path / "th"))
    r = subprocess.run([sys.executable, "-m", "ember", "run", str(script)], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:3] == [
        "ember.vision.models.resnet ember.Size([1, 3])", "ember.Size([3, 8, 14]) True",
        "offline: True"]
