"""The hook-based spectral norm (torch.nn.utils.spectral_norm, the form most GAN scripts use):
parameter `<name>_orig`, buffers `<name>_u`, `<name>_v`, and `<name>` = <name>_orig / sigma
recomputed before every forward (one power iteration per forward in training mode)."""
from __future__ import annotations

import numpy as np

from ...ops import creation
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["SpectralNorm", "spectral_norm", "remove_spectral_norm"]


def _normalize_(a: np.ndarray, eps: float) -> None:
    a /= max(float(np.linalg.norm(a)), eps)


class SpectralNorm:
    """The forward pre-hook: module.<name> = W / (u^T W v), u and v from power iteration."""

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name = name
        self.dim = dim
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.dim()) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module: Module, do_power_iteration: bool):
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            m, ua, va = mat._data, u._data, v._data
            for _ in range(self.n_power_iterations):  # v first, then u (torch's order here)
                va[...] = m.T @ ua
                _normalize_(va, self.eps)
                ua[...] = m @ va
                _normalize_(ua, self.eps)
            u._vc[0] += 1
            v._vc[0] += 1
            u, v = u.clone(), v.clone()
        sigma = (u * mat.matmul(v)).sum()
        return weight / sigma

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module, do_power_iteration=False).detach()
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name,
                self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int,
              eps: float) -> "SpectralNorm":
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same "
                                   f"parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        mat = fn.reshape_weight_to_matrix(weight.detach())
        h, w = mat.shape
        u = creation.empty(h, dtype=weight.dtype).normal_(0, 1)
        v = creation.empty(w, dtype=weight.dtype).normal_(0, 1)
        _normalize_(u._data, eps)
        _normalize_(v._data, eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        setattr(module, fn.name, weight.detach())
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Spectrally normalize module.<name> before every forward."""
    if dim is None:
        from ..modules.conv import ConvTranspose1d, ConvTranspose2d
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d)) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Fold the spectral norm back into a plain parameter."""
    for k, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
