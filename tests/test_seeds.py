"""The seed lessons run unchanged under `ember run` on the real data and print what they say.

Each lesson's code is assembled in examples/seeds/ with `import torch` as written. The lessons'
own data paths are used: `~/.pytorch/MNIST_data/` (HOME is a temporary folder whose MNIST/raw
links to the shared files) and `./data` (the working directory is a temporary folder).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

SEEDS = ROOT / "examples" / "seeds"
TENSOR = re.compile(r"tensor\((.*?)\)", re.S)


@pytest.fixture(scope="module")
def lesson_env(tmp_path_factory, datasets_root):
    home = tmp_path_factory.mktemp("home")
    work = tmp_path_factory.mktemp("work")
    (home / ".pytorch" / "MNIST_data" / "MNIST").mkdir(parents=True)
    os.symlink(datasets_root / "MNIST" / "raw", home / ".pytorch" / "MNIST_data" / "MNIST" / "raw")
    (work / "data" / "FashionMNIST").mkdir(parents=True)
    os.symlink(datasets_root / "FashionMNIST" / "raw", work / "data" / "FashionMNIST" / "raw")
    env = dict(os.environ, HOME=str(home), PYTHONUNBUFFERED="1", OPENBLAS_NUM_THREADS="1")
    return env, work


def run_lesson(name, lesson_env, timeout=600):
    env, work = lesson_env
    return subprocess.run([sys.executable, "-m", "ember", "run", str(SEEDS / name)], cwd=work,
                          env=env, capture_output=True, text=True, timeout=timeout)


def numbers(text):
    return [float(v) for v in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", text)]


def _blocks(out):
    """The printed tensors in order, as (body, suffix) strings."""
    return [m.group(0) for m in re.finditer(r"tensor\(.*?\)(?=\n|$| )", out, re.S)]


def test_seed000_training_the_network(lesson_env):
    r = run_lesson("seed000_training_the_network.py", lesson_env)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    first = out.splitlines()[0]
    m = re.fullmatch(r"tensor\((\d\.\d{4}), grad_fn=<NllLossBackward0>\)", first)
    assert m, first
    assert 2.2 < float(m.group(1)) < 2.4  # an untrained 10-class network: about ln(10)
    assert "grad_fn=<PowBackward0>" in out and "grad_fn=<MeanBackward0>" in out
    # x.grad printed by autograd equals x/2 computed by hand
    grad_block = out.split("grad_fn=<MeanBackward0>)\n", 1)[1]
    g_text, half_text = grad_block.split("grad_fn=<DivBackward0>)")[0].split("\ntensor(", 1)
    assert numbers(g_text) == numbers(half_text)
    assert "Before backward pass: \n None" in out
    after = out.split("After backward pass: \n", 1)[1]
    assert after.startswith(" tensor([[") and "...," in after.split("Updated")[0]
    assert "Updated weights of first layer -  Parameter containing:\ntensor([[" in out
    losses = [float(v) for v in re.findall(r"^Training loss: (\S+)$", out, re.M)]
    assert len(losses) == 5
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.5


def test_seed001_losses_and_autograd(lesson_env):
    r = run_lesson("seed001_losses_and_autograd.py", lesson_env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for line in lines[:2]:  # CrossEntropyLoss on logits, NLLLoss on log-probabilities
        m = re.fullmatch(r"tensor\((\d\.\d{4}), grad_fn=<NllLossBackward0>\)", line)
        assert m and 2.2 < float(m.group(1)) < 2.4, line
    assert lines[2] == "False"  # y = x * 2 under no_grad
    out = r.stdout
    assert re.search(r"^<PowBackward0 object at 0x[0-9a-f]+>$", out, re.M)
    assert "grad_fn=<MeanBackward0>" in out
    tail = out.split("grad_fn=<MeanBackward0>)\n", 1)[1]
    g_text, half_text = tail.split("\ntensor(", 1)
    assert numbers(g_text) == numbers(half_text.split("grad_fn")[0])


def test_seed002_training_summary(lesson_env):
    r = run_lesson("seed002_training_summary.py", lesson_env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "True True"
    assert re.fullmatch(r"tensor\(\d\.\d{4}, grad_fn=<NllLossBackward0>\)", lines[1])
    assert lines[2] == "True"  # one SGD step lowers the loss on the same batch


def test_seed003_nn_crossentropy_typo_raises(lesson_env):
    r = run_lesson("seed003_criterion_typo.py", lesson_env)
    assert r.returncode == 1
    assert "AttributeError" in r.stderr and "CrossEntropy" in r.stderr
    # the traceback points into the script, at the lesson's line
    assert 'seed003_criterion_typo.py", line 15' in r.stderr


def test_seed004_fashion_mnist_cnn(lesson_env):
    r = run_lesson("seed004_fashion_mnist_cnn.py", lesson_env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    first_loss = float(lines[0])
    assert 2.1 < first_loss < 2.5
    assert 0 <= int(lines[1]) <= 10
    assert lines[2] == "None"
    assert lines[3] == "ember.Size([6, 1, 5, 5])"
    assert float(lines[4]) == first_loss  # the old loss object is unchanged by the step
    assert float(lines[5]) < first_loss  # one Adam step on the same batch lowers the loss
    loss1 = float(lines[7].split(":")[1])
    loss2 = float(lines[8].split(":")[1])
    assert lines[7].startswith("loss1:") and lines[8].startswith("loss2:")
    assert 2.1 < loss1 < 2.5 and loss2 < loss1
