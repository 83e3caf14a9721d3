"""ember.autograd: reverse-mode automatic differentiation with torch.autograd's API."""
from . import grad_mode
from .engine import backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,
                        no_grad, set_grad_enabled)

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "gradcheck", "gradgradcheck", "Variable"]


def __getattr__(name):
    if name in ("gradcheck", "gradgradcheck"):
        from . import gradcheck as _gc
        return getattr(_gc, name)
    raise AttributeError(f"module 'ember.autograd' has no attribute '{name}'")


def Variable(data, requires_grad=False, volatile=False):
    """The pre-0.4 wrapper: returns the tensor itself, as torch does now."""
    if requires_grad:
        data.requires_grad_(True)
    return data
