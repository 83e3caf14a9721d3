"""`ember train` as a product, end to end through the command line on the real MNIST files:
your own model and data, run folders, exact resume after SIGINT and SIGKILL, early stopping,
the LR range test, TensorBoard files, the report (checked in headless Chromium), `ember
summary`, `ember report`, and every error path (one line, exit 2, nothing written)."""
from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

import ember

from conftest import DATASETS, IN_CI

NET_FILE = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    """A small network written for PyTorch."""

    def __init__(self, hidden=32, dropout=0.0, inputs=784):
        super().__init__()
        self.fc1 = nn.Linear(inputs, hidden)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x.flatten(1)))))


class NotAModule:
    pass


def make_datasets():
    import numpy as np
    from torch.utils.data import TensorDataset
    z = np.load(__import__("os").environ["EMBER_TEST_NPZ"])
    mk = lambda x, y: TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    return mk(z["x"], z["y"]), mk(z["x_test"], z["y_test"])
'''


def _env(**extra):
    env = dict(os.environ, PYTHONUNBUFFERED="1", OPENBLAS_NUM_THREADS="1")
    env.pop("EMBER_DATA", None)
    env["PYTHONPATH"] = os.path.join(os.path.dirname(os.path.dirname(__file__)), "src") + \
        os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def ember_cli(*args, cwd, timeout=600, **env):
    return subprocess.run([sys.executable, "-m", "ember", *args], cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=timeout)


def _idx(name, offset, shape):
    with gzip.open(DATASETS / "MNIST" / "raw" / name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset).reshape(shape)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with the user's model file and a small real-MNIST .npz (3000 + 1000 samples)."""
    d = tmp_path_factory.mktemp("train_product")
    (d / "net.py").write_text(NET_FILE)
    x = _idx("train-images-idx3-ubyte.gz", 16, (-1, 784))[:3000].astype(np.float32) / 255
    y = _idx("train-labels-idx1-ubyte.gz", 8, (-1,))[:3000].astype(np.int64)
    xt = _idx("t10k-images-idx3-ubyte.gz", 16, (-1, 784))[:1000].astype(np.float32) / 255
    yt = _idx("t10k-labels-idx1-ubyte.gz", 8, (-1,))[:1000].astype(np.int64)
    np.savez(d / "small.npz", x=x, y=y, x_test=xt, y_test=yt)
    return d


def _metrics(folder):
    with open(os.path.join(folder, "metrics.csv")) as f:
        return list(csv.DictReader(f))


def _steps(folder):
    with open(os.path.join(folder, "steps.csv")) as f:
        return list(csv.DictReader(f))


def _weights(path):
    return {k: v.numpy() for k, v in ember.load(path, weights_only=True).items()}


# ---- your own model and data ------------------------------------------------------------------

def test_user_model_file_on_npz_data_with_a_run_folder(work):
    r = ember_cli("train", "--model", "net.py:Net", "--model-args", '{"hidden": 48}',
                  "--dataset", f"npz:{work / 'small.npz'}", "--optimizer", "adamw",
                  "--optimizer-args", '{"betas": [0.9, 0.99]}', "--lr", "0.003",
                  "--scheduler", "StepLR", "--scheduler-args", '{"step_size": 1, "gamma": 0.5}',
                  "--clip-grad-norm", "1.0", "--epochs", "3", "--batch-size", "100",
                  "--val-split", "0.2", "--name", "mine", "--no-progress", cwd=work)
    assert r.returncode == 0, r.stderr
    latest = work / "runs" / "latest"
    assert latest.is_symlink() and os.readlink(latest).endswith("-mine")
    files = set(os.listdir(latest))
    assert {"config.json", "metrics.csv", "steps.csv", "checkpoint.pth", "best.pth",
            "model.pth", "report.html", "eval.json"} <= files
    assert not [f for f in files if f.startswith(".tmp")]
    rows = _metrics(latest)
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert [float(r["lr"]) for r in rows] == [0.003, 0.0015, 0.00075]  # the rate each epoch used
    assert float(rows[-1]["test_accuracy"]) > 0.8 and float(rows[-1]["val_accuracy"]) > 0.8
    assert len(_steps(latest)) == 3 * 24  # 2400 training samples at batch 100
    config = json.loads((latest / "config.json").read_text())
    assert config["model_args"] == {"hidden": 48} and config["optimizer"] == "adamw"
    sd = _weights(latest / "model.pth")
    assert {k: v.shape for k, v in sd.items()} == {"fc1.weight": (48, 784), "fc1.bias": (48,),
                                                   "fc2.weight": (10, 48), "fc2.bias": (10,)}


def test_module_dataset_and_json_output(work, torch):
    r = ember_cli("train", "--model", "net.py:Net", "--dataset", "module:net.py:make_datasets",
                  "--epochs", "1", "--lr", "0.1", "--out", "modrun", "--json", "--no-progress",
                  cwd=work, EMBER_TEST_NPZ=str(work / "small.npz"))
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)  # stdout holds the JSON alone
    assert result["epochs"] == 1 and result["steps"] == 47
    assert abs(result["test_accuracy"] - float(_metrics(work / "modrun")[0]["test_accuracy"])) < 1e-9
    # the final state_dict is what torch.load(weights_only=True) reads
    sd = torch.load(work / "modrun" / "model.pth", weights_only=True)
    assert list(sd) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def test_folder_dataset(work):
    pytest.importorskip("PIL") if not IN_CI else None
    from PIL import Image
    root = work / "images"
    x = _idx("train-images-idx3-ubyte.gz", 16, (-1, 28, 28))[:60]
    y = _idx("train-labels-idx1-ubyte.gz", 8, (-1,))[:60]
    for i, (img, lab) in enumerate(zip(x, y)):
        (root / f"digit{lab}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(root / f"digit{lab}" / f"{i}.png")
    r = ember_cli("train", "--model", "net.py:Net", "--dataset", f"folder:{root}",
                  "--model-args", '{"inputs": 2352}', "--epochs", "1", "--batch-size", "20", "--out", "folderrun", "--no-progress",
                  cwd=work)
    assert r.returncode == 0, r.stderr
    assert len(_steps(work / "folderrun")) == 3


# ---- resume ---------------------------------------------------------------------------------

def _start(work, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "ember", "train", "--data", str(DATASETS),
                             "--epochs", "2", "--seed", "3", "--no-progress", "--out", out,
                             *extra], cwd=work, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def uninterrupted(work):
    p = _start(work, "full", "--model", "net.py:Net", "--model-args", '{"dropout": 0.2}')
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    return work / "full"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupt_and_resume_is_bit_identical(work, uninterrupted, sig):
    out = f"cut-{sig.name}"
    p = _start(work, out, "--model", "net.py:Net", "--model-args", '{"dropout": 0.2}')
    ck = work / out / "checkpoint.pth"
    deadline = time.monotonic() + 600
    while not ck.exists():  # epoch 1 done: the signal lands in epoch 2
        assert p.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    # an epoch of the seed MLP takes well under a second now: signal early in epoch 2, and
    # fail plainly if the run already ended (a signal to a finished run proves nothing)
    time.sleep(0.05)
    assert p.poll() is None, "the run finished before the signal: make its epochs longer"
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert p.returncode == 130, err
        assert "Resume with: ember train --resume" in err
        assert "interrupted at epoch 2" in err
    else:
        assert p.returncode == -signal.SIGKILL
    r = ember_cli("train", "--resume", out, "--no-progress", cwd=work)
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout
    a, b = _weights(uninterrupted / "model.pth"), _weights(work / out / "model.pth")
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    sa, sb = _steps(uninterrupted), _steps(work / out)
    assert [(s["step"], s["loss"]) for s in sa] == [(s["step"], s["loss"]) for s in sb]
    ma, mb = _metrics(uninterrupted), _metrics(work / out)
    assert [(m["train_loss"], m["test_loss"]) for m in ma] == \
        [(m["train_loss"], m["test_loss"]) for m in mb]


def test_resume_with_another_configuration_is_refused(work, uninterrupted):
    before = sorted(os.listdir(uninterrupted))
    r = ember_cli("train", "--resume", str(uninterrupted), "--lr", "0.5", cwd=work)
    assert r.returncode == 2
    assert r.stderr.startswith("ember train: error: --resume") and "--lr" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert sorted(os.listdir(uninterrupted)) == before


def test_resume_with_a_checkpoint_of_another_model_is_refused(work, uninterrupted):
    other = work / "other"
    shutil.copytree(uninterrupted, other)
    cfg = json.loads((other / "config.json").read_text())
    cfg["model_args"] = {"hidden": 16}
    (other / "config.json").write_text(json.dumps(cfg))
    r = ember_cli("train", "--resume", str(other), cwd=work)
    assert r.returncode == 2
    assert "checkpoint.pth does not fit this model" in r.stderr and "Traceback" not in r.stderr


# ---- early stopping, LR finder ----------------------------------------------------------------

def test_early_stopping_keeps_the_best_weights(work):
    # a learning rate this large makes the validation loss rise after the first epochs
    r = ember_cli("train", "--model", "net.py:Net", "--dataset", f"npz:{work / 'small.npz'}",
                  "--optimizer", "sgd", "--lr", "2.0", "--epochs", "12", "--val-split", "0.2",
                  "--early-stop", "2", "--out", "early", "--no-progress", cwd=work)
    assert r.returncode == 0, r.stderr
    assert "early stop" in r.stdout
    rows = _metrics(work / "early")
    assert len(rows) < 12
    losses = [float(m["val_loss"]) for m in rows]
    best = int(np.argmin(losses))
    assert len(rows) - 1 - best == 2  # stopped after 2 epochs without improvement
    a, b = _weights(work / "early" / "model.pth"), _weights(work / "early" / "best.pth")
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_find_lr(work):
    r = ember_cli("train", "--model", "net.py:Net", "--dataset", f"npz:{work / 'small.npz'}",
                  "--find-lr", "--batch-size", "30", "--out", "lrfind", cwd=work)
    assert r.returncode == 0, r.stderr
    rate = float(r.stdout.split("suggested learning rate: ")[1].split()[0])
    assert 1e-5 < rate < 5
    rows = list(csv.DictReader(open(work / "lrfind" / "lr_find.csv")))
    lrs = [float(x["lr"]) for x in rows]
    assert lrs[0] == pytest.approx(1e-7) and all(b > a for a, b in zip(lrs, lrs[1:]))
    assert "<svg" in (work / "lrfind" / "lr_find.svg").read_text()


# ---- TensorBoard --------------------------------------------------------------------------------

def read_events(folder):
    """Every (tag, step, value) scalar in the TensorBoard event files under `folder`, read
    with the event protocol buffers tensorboardX ships (TFRecord framing: length, crc, data,
    crc)."""
    from tensorboardX.proto import event_pb2
    out = []
    for root, _, files in os.walk(folder):
        for name in files:
            if "tfevents" not in name:
                continue
            data = open(os.path.join(root, name), "rb").read()
            i = 0
            while i < len(data):
                (n,) = struct.unpack("<Q", data[i:i + 8])
                ev = event_pb2.Event.FromString(data[i + 12:i + 12 + n])
                i += 12 + n + 4
                for v in ev.summary.value:
                    out.append((v.tag, ev.step, v.simple_value, v))
    return out


def test_tensorboard_logging(work):
    r = ember_cli("train", "--model", "net.py:Net", "--dataset", f"npz:{work / 'small.npz'}",
                  "--epochs", "2", "--lr", "0.1", "--tensorboard", "--out", "tb", "--no-progress",
                  cwd=work)
    assert r.returncode == 0, r.stderr
    events = read_events(work / "tb" / "tensorboard")
    losses = [(s, v) for t, s, v, _ in events if t == "train/loss"]
    steps = _steps(work / "tb")
    assert [s for s, _ in losses] == [int(x["step"]) for x in steps]
    assert [v for _, v in losses] == pytest.approx([float(x["loss"]) for x in steps], abs=1e-5)
    acc = [v for t, _, v, _ in events if t == "test/accuracy"]
    assert acc == pytest.approx([float(m["test_accuracy"]) for m in _metrics(work / "tb")],
                                abs=1e-4)


def test_summary_writer_api(tmp_path):
    from ember.utils.tensorboard import SummaryWriter
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalar("a", ember.tensor(1.5), 3)
        w.add_scalars("group", {"x": 1.0, "y": ember.tensor(2.0)}, 1)
        w.add_histogram("h", ember.randn(100), 0)
        w.add_image("img", ember.rand(3, 8, 8), 0)
        w.add_images("imgs", ember.rand(2, 1, 8, 8), 0)
        w.add_text("t", "hello", 0)
        with pytest.raises(NotImplementedError, match="add_graph"):
            w.add_graph(ember.nn.Linear(2, 2))
    events = read_events(tmp_path)
    tags = {t for t, *_ in events}
    assert {"a", "h", "img", "imgs"} <= tags
    assert [v for t, s, v, _ in events if t == "a"] == [1.5]
    img = next(p for t, _, _, p in events if t == "img")
    assert img.image.width == 8 and img.image.height == 8


# ---- the report ---------------------------------------------------------------------------------

def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if IN_CI:
        raise RuntimeError("Chromium is required for the report tests in CI (.ci/run installs it)")
    pytest.skip("no Chromium (apt-get install chromium)")


@pytest.mark.browser
def test_report_renders_in_a_browser(work, uninterrupted, tmp_path):
    browser = _chromium()
    page = uninterrupted / "report.html"
    html = page.read_text()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "<script" not in html
    base = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(base + ["--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout
    assert text.count("<svg") >= 5  # loss, accuracy, step loss, lr schedule, per-class
    rows = _metrics(uninterrupted)
    # the test-accuracy curve carries the run's own numbers
    assert f'data-label="test"' in text
    acc_curve = text.split('data-title="Accuracy per epoch"')[1].split("</svg>")[0]
    ys = acc_curve.split('data-label="test" data-y="')[1].split('"')[0].split()
    assert [float(v) for v in ys] == pytest.approx([float(r["test_accuracy"]) for r in rows])
    assert text.count("<figure") >= 10 and "confusion matrix" in text.lower()
    shot = tmp_path / "report.png"
    r = subprocess.run(base + [f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and shot.stat().st_size > 20000  # a page with charts, not blank
    from PIL import Image
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert (img < 200).any(axis=2).mean() > 0.01  # ink on the page


def test_ember_report_overlays_runs(work, uninterrupted):
    r = ember_cli("train", "--model", "net.py:Net", "--dataset", f"npz:{work / 'small.npz'}",
                  "--epochs", "2", "--lr", "0.1", "--out", "second", "--no-progress", cwd=work)
    assert r.returncode == 0, r.stderr
    r = ember_cli("report", str(uninterrupted), "second", "--out", "cmp.html", cwd=work)
    assert r.returncode == 0, r.stderr
    text = (work / "cmp.html").read_text()
    assert "comparison" in text and "full: test" in text and "second: test" in text
    acc = text.split('data-title="Accuracy per epoch"')[1].split("</svg>")[0]
    second = acc.split('data-label="second: test" data-y="')[1].split('"')[0].split()
    assert [float(v) for v in second] == pytest.approx(
        [float(m["test_accuracy"]) for m in _metrics(work / "second")])
    r = ember_cli("report", str(work / "nope"), cwd=work)
    assert r.returncode == 2 and "no such run folder" in r.stderr


# ---- ember summary --------------------------------------------------------------------------------

def test_summary_command(work, torch):
    r = ember_cli("summary", "net.py:Net", "--input-size", "1", "28", "28", "--model-args",
                  '{"hidden": 40}', cwd=work)
    assert r.returncode == 0, r.stderr
    assert "fc1 (Linear)" in r.stdout and "[1, 40]" in r.stdout and "[1, 10]" in r.stdout
    n = 784 * 40 + 40 + 40 * 10 + 10
    assert f"Total params: {n:,}" in r.stdout
    r = ember_cli("summary", "net.py:Missing", "--input-size", "4", cwd=work)
    assert r.returncode == 2 and "has no 'Missing'" in r.stderr


# ---- CLI manners ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["--model", "net.py:Missing"], "net.py has no 'Missing'"),
    (["--model", "net.py:NotAModule"], "not an nn.Module"),
    (["--model", "nofile.py:Net"], "no such file: nofile.py"),
    (["--dataset", "folder:empty_images"], "folder:empty_images"),
    (["--dataset", "npz:missing.npz"], "no such file"),
    (["--optimizer", "sgdd"], "not an optimizer"),
    (["--scheduler", "Nope"], "no such scheduler"),
    (["--model-args", "{bad"], "not valid JSON"),
    (["--out", "net.py/run"], "is not a writable folder"),
    (["--data", "nowhere"], "cannot load MNIST"),
    (["--resume", "nowhere"], "no config.json"),
    (["--early-stop", "2"], "--val-split"),
])
def test_bad_input_one_line_exit_2_nothing_written(work, tmp_path, args, words):
    (work / "empty_images" / "cls").mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "net.py", tmp_path / "net.py")
    if "folder:empty_images" in args:
        shutil.copytree(work / "empty_images", tmp_path / "empty_images", dirs_exist_ok=True)
    before = sorted(os.listdir(tmp_path))
    r = ember_cli("train", "--epochs", "1", *args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    err = r.stderr.strip()
    assert words in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == before  # no run folder, no data folder


def test_version_and_help_show_defaults(work):
    r = ember_cli("--version", cwd=work)
    assert r.returncode == 0 and r.stdout.strip() == f"ember {ember.__version__}"
    r = ember_cli("train", "--help", cwd=work)
    assert r.returncode == 0
    text = " ".join(r.stdout.split())  # argparse wraps lines
    assert "(default: 64)" in text and "(default: mnist)" in text and "(default: sgd)" in text
