"""Load a user's model or datasets from `path/to/file.py:Name` or `package.module:name`.

The file is run as a module with `import torch` / `import torchvision` resolving to ember (as
under `ember run`), so a model written for PyTorch trains unchanged.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys


class SpecError(Exception):
    """A --model/--dataset spec that cannot be used; the message names the file or option."""


def split_spec(spec: str, option: str) -> tuple[str, str]:
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise SpecError(f"{option} {spec!r}: expected FILE.py:NAME or MODULE:NAME")
    return where, name


def load_object(spec: str, option: str):
    where, name = split_spec(spec, option)
    from . import torch_alias
    torch_alias.install()
    if where.endswith(".py") or os.sep in where:
        path = os.path.abspath(where)
        if not os.path.isfile(path):
            raise SpecError(f"{option}: no such file: {where}")
        mod_name = "_ember_user_" + os.path.splitext(os.path.basename(path))[0]
        spec_ = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec_)
        sys.modules[mod_name] = module
        sys.path.insert(0, os.path.dirname(path))
        try:
            spec_.loader.exec_module(module)
        except SpecError:
            raise
        except Exception as e:  # noqa: BLE001 - the user's file failed: say where
            raise SpecError(f"{option}: {where} failed to import: {type(e).__name__}: {e}") from None
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            raise SpecError(f"{option}: cannot import module {where!r}: {e}") from None
    if not hasattr(module, name):
        raise SpecError(f"{option}: {where} has no {name!r}")
    return getattr(module, name)


def build_model(spec: str, kwargs: dict):
    from .. import nn
    obj = load_object(spec, "--model")
    if not callable(obj):
        raise SpecError(f"--model: {spec} is not a class or factory")
    try:
        model = obj(**kwargs)
    except TypeError as e:
        raise SpecError(f"--model: {spec}(**--model-args) failed: {e}") from None
    if not isinstance(model, nn.Module):
        raise SpecError(f"--model: {spec} gave a {type(model).__name__}, not an nn.Module")
    return model
