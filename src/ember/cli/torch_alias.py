"""Make `import torch` / `import torchvision` resolve to ember inside `ember run`.

A meta-path finder maps `torch` -> `ember`, `torch.X` -> `ember.X`, `torchvision` -> `ember.vision`
and `torchvision.X` -> `ember.vision.X`, returning ember's module objects themselves (so
`torch.nn is ember.nn`). A torch module ember lacks raises ModuleNotFoundError naming it; the real
torch is never imported, even when installed.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys

_ROOTS = {"torch": "ember", "torchvision": "ember.vision"}


def ember_name(name: str) -> str | None:
    """The ember module standing for a torch/torchvision module name, or None if not aliased."""
    top, _, rest = name.partition(".")
    target = _ROOTS.get(top)
    if target is None:
        return None
    return target + ("." + rest if rest else "")


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        pass


class TorchAliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        target_name = ember_name(fullname)
        if target_name is None:
            return None
        try:
            module = importlib.import_module(target_name)
        except ModuleNotFoundError as e:
            if e.name is not None and (e.name == target_name or target_name.startswith(e.name + ".")):
                raise ModuleNotFoundError(
                    f"ember does not implement '{fullname}' (no module '{target_name}'); "
                    f"ember never falls back to the real torch", name=fullname) from None
            raise
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module))


def install() -> None:
    """Route torch/torchvision imports to ember for the rest of this process."""
    for name in list(sys.modules):
        if name.partition(".")[0] in _ROOTS:
            del sys.modules[name]  # a real torch imported earlier must not leak through
    if not any(isinstance(f, TorchAliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, TorchAliasFinder())
