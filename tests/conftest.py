"""Shared test fixtures: the torch oracle and the real data sets.

torch is the oracle of every differential test. Where CI is set, a missing torch or a missing
../shared/datasets is an error, never a skip.
"""
from __future__ import annotations

import os
import pathlib
import sys

import pytest

IN_CI = bool(os.environ.get("CI"))
ROOT = pathlib.Path(__file__).resolve().parents[1]
DATASETS = pathlib.Path(os.environ.get("EMBER_TEST_DATASETS", ROOT.parent / "shared" / "datasets"))
SEEDS = ROOT.parent / "shared" / "seeds"


def _import_torch():
    try:
        import torch
    except ImportError:
        if IN_CI:
            raise RuntimeError("torch==2.13.0 is required for the differential tests in CI")
        pytest.skip("torch is not installed (pip install torch==2.13.0)")
    torch.set_num_threads(1)
    return torch


@pytest.fixture(scope="session")
def torch():
    return _import_torch()


@pytest.fixture(scope="session")
def torchvision():
    _import_torch()
    import types
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType(
        "torchvision._meta_registrations"))
    try:
        import torchvision
    except ImportError:
        if IN_CI:
            raise RuntimeError("torchvision==0.28.0 (--no-deps) is required in CI")
        pytest.skip("torchvision is not installed")
    return torchvision


@pytest.fixture(scope="session")
def datasets_root():
    if not (DATASETS / "MNIST" / "raw").is_dir():
        if IN_CI:
            raise RuntimeError(f"real data sets missing at {DATASETS} in CI")
        pytest.skip(f"real data sets not found at {DATASETS}")
    return DATASETS
