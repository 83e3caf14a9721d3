"""torch.compile on ember: returns a callable that runs the function or module eagerly.

ember has no graph compiler; programs that wrap their model in torch.compile still run, with
the same numbers and gradients as without it. The arguments torch accepts are checked by name
and otherwise ignored."""
from __future__ import annotations

import functools


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="inductor",
            mode=None, options=None, disable: bool = False):
    """torch.compile(model, fullgraph=, dynamic=, backend=, mode=, options=, disable=): eager.

    Used bare (`@torch.compile`), with arguments (`@torch.compile(mode=...)`) or on a Module
    (returns a module wrapper whose `_orig_mod` is the model, as torch's OptimizedModule)."""
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified "
                           "at the same time.")
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                 mode=mode, options=options, disable=disable)
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    from .nn.modules.module import Module
    if isinstance(model, Module):
        return _optimized_module(model)

    @functools.wraps(model)
    def compiled(*args, **kwargs):
        return model(*args, **kwargs)
    compiled._torchdynamo_orig_callable = model
    return compiled


def _optimized_module(mod):
    from .nn.modules.module import Module

    class OptimizedModule(Module):
        """The compiled module: calls run `_orig_mod` eagerly; its state_dict keys carry the
        `_orig_mod.` prefix, as torch's do."""

        def __init__(self, orig):
            super().__init__()
            self._orig_mod = orig

        def forward(self, *args, **kwargs):
            return self._orig_mod(*args, **kwargs)

        def __getattr__(self, name):
            try:
                return super().__getattr__(name)
            except AttributeError:
                return getattr(self._modules["_orig_mod"], name)

    return OptimizedModule(mod)
