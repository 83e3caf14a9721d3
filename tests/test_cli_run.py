"""`ember run SCRIPT`: an unmodified PyTorch program runs on ember, as `python SCRIPT` would."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest


def ember_run(tmp_path, source, *args, helper=None, module=False):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(source))
    if helper:
        (tmp_path / "helper_mod.py").write_text(textwrap.dedent(helper))
    cmd = [sys.executable, "-m", "ember", "run", str(script), *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))


def test_torch_imports_resolve_to_ember(tmp_path):
    r = ember_run(tmp_path, """
        import torch, torch.nn as nn, torch.nn.functional as F, torch.optim as optim
        import torch.utils.data, torch.autograd
        from torch.optim import lr_scheduler
        import torchvision
        from torchvision import datasets, transforms
        import ember
        print(torch is ember, nn is ember.nn, F is ember.nn.functional, optim is ember.optim)
        print(torch.utils.data is ember.utils.data, torch.autograd is ember.autograd)
        print(torchvision is ember.vision, datasets is ember.vision.datasets,
              transforms is ember.vision.transforms)
        print(type(torch.tensor([1.0])).__module__)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True"] * 9 + ["ember._tensor"]


def test_argv_main_and_relative_imports(tmp_path):
    r = ember_run(tmp_path, """
        import sys
        from helper_mod import VALUE
        if __name__ == "__main__":
            print(sys.argv[1:], VALUE)
    """, "--lr", "0.5", "x", helper="VALUE = 42\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['--lr', '0.5', 'x'] 42"
    assert r.stdout  # the script's own argv, flags included, reach it untouched


def test_exit_codes_pass_through(tmp_path):
    r = ember_run(tmp_path, "import sys\nsys.exit(3)\n")
    assert r.returncode == 3


def test_traceback_points_into_script(tmp_path):
    r = ember_run(tmp_path, """
        import torch
        x = torch.ones(2, 3)
        y = torch.ones(4, 5)
        z = x @ y
    """)
    assert r.returncode == 1
    assert 'prog.py", line 5' in r.stderr
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)" in r.stderr


def test_missing_feature_is_named_never_falls_back(tmp_path):
    r = ember_run(tmp_path, """
        import torch
        import torch.fft
    """)
    assert r.returncode == 1
    assert "ModuleNotFoundError" in r.stderr and "torch.fft" in r.stderr
    r = ember_run(tmp_path, """
        import sys, torch
        print('torch' in sys.modules and sys.modules['torch'].__name__)
        try:
            torch.not_a_function()
        except AttributeError as e:
            print("AttributeError", e)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["ember",
                                     "AttributeError module 'ember' has no attribute "
                                     "'not_a_function'"]


def test_device_idioms_on_cpu(tmp_path):
    r = ember_run(tmp_path, """
        import torch
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        print(device, torch.cuda.is_available(), torch.accelerator.is_available(),
              torch.backends.mps.is_available())
        model = torch.nn.Linear(3, 2).to(device)
        x = torch.ones(4, 3).to(device)
        print(model(x).shape, x.device, next(model.parameters()).device)
        try:
            torch.ones(2).to("cuda")
        except RuntimeError as e:
            print("RuntimeError")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["cpu False False False",
                                     "ember.Size([4, 2]) cpu cpu", "RuntimeError"]


def test_python_m_ember_run_and_console_script_agree(tmp_path):
    script = tmp_path / "p.py"
    script.write_text("import torch\nprint(torch.tensor([1, 2]).sum().item())\n")
    exe = os.path.join(os.path.dirname(sys.executable), "ember")
    if not os.path.exists(exe):
        pytest.skip("the ember console script is not installed in this environment")
    a = subprocess.run([exe, "run", str(script)], capture_output=True, text=True)
    b = subprocess.run([sys.executable, "-m", "ember", "run", str(script)], capture_output=True,
                       text=True)
    assert a.stdout == b.stdout == "3\n"


def test_run_missing_script(tmp_path):
    r = subprocess.run([sys.executable, "-m", "ember", "run", str(tmp_path / "nope.py")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no such file" in r.stderr
