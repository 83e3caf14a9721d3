"""`ember train`: the seed recipe as a command, on the real data."""
from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest


def ember_train(*args, cwd, env_extra=None, timeout=900):
    env = dict(os.environ, PYTHONUNBUFFERED="1", OPENBLAS_NUM_THREADS="1")
    env.pop("EMBER_DATA", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "ember", "train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def read_metrics(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory, datasets_root):
    out = tmp_path_factory.mktemp("run1")
    r = ember_train("--epochs", "1", "--data", str(datasets_root), "--out", str(out),
                    "--seed", "7", "--no-progress", cwd=out)
    return r, out


def test_default_recipe_one_epoch(one_epoch_run, torch):
    r, out = one_epoch_run
    assert r.returncode == 0, r.stderr
    rows = read_metrics(out / "metrics.csv")
    assert list(rows[0]) == ["epoch", "train_loss", "val_loss", "val_accuracy", "test_loss",
                             "test_accuracy", "lr", "seconds"]
    assert len(rows) == 1 and rows[0]["epoch"] == "1"
    assert float(rows[0]["test_accuracy"]) > 0.85  # SGD 0.01 after one epoch: ~0.89
    assert float(rows[0]["train_loss"]) < 1.5  # epoch average from ~2.3 down (torch: ~1.0)
    assert "test accuracy" in r.stdout
    # the saved model is a state_dict torch reads, with the seed MLP's keys and shapes
    sd = torch.load(out / "model.pth", weights_only=True)
    assert {k: tuple(v.shape) for k, v in sd.items()} == {
        "0.weight": (128, 784), "0.bias": (128,), "2.weight": (64, 128), "2.bias": (64,),
        "4.weight": (10, 64), "4.bias": (10,)}


def test_same_seed_same_numbers(one_epoch_run, tmp_path, datasets_root):
    r, out = one_epoch_run
    r2 = ember_train("--epochs", "1", "--data", str(datasets_root), "--out", str(tmp_path),
                     "--seed", "7", "--no-progress", cwd=tmp_path)
    assert r2.returncode == 0, r2.stderr
    a, b = read_metrics(out / "metrics.csv"), read_metrics(tmp_path / "metrics.csv")
    for k in ("train_loss", "test_loss", "test_accuracy"):
        assert a[0][k] == b[0][k]


def test_ember_data_environment_variable(tmp_path, datasets_root):
    r = ember_train("--epochs", "1", "--batch-size", "600", "--out", str(tmp_path),
                    "--no-progress", cwd=tmp_path, env_extra={"EMBER_DATA": str(datasets_root)})
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "model.pth").exists()


@pytest.mark.parametrize("args, words", [
    (["--epochs", "0"], "positive"),
    (["--model", "resnet"], "expected mlp, cnn, FILE.py:CLASS"),
    (["--lr", "abc"], "invalid float"),
    (["--batch-size", "-3"], "positive"),
])
def test_bad_arguments_one_line_error(tmp_path, args, words):
    r = ember_train(*args, cwd=tmp_path)
    assert r.returncode != 0
    assert words in r.stderr and "Traceback" not in r.stderr


def test_missing_data_one_line_error(tmp_path):
    # no files and no network: download=True fails, and the user gets one line
    r = ember_train("--data", str(tmp_path / "nowhere"), "--out", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 2
    err = r.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert "ember train: error:" in err and "MNIST" in err
