"""Adam (torch.optim.Adam), with amsgrad, maximize, L2 or decoupled (AdamW) weight decay.

    g = -grad if maximize else grad;  g = g + wd * p  (or p = p * (1 - lr * wd) if decoupled)
    m = lerp(m, g, 1 - beta1);  v = v * beta2 + (1 - beta2) * g * g;  vmax = max(vmax, v)
    denom = sqrt(v or vmax) / sqrt(1 - beta2**t) + eps
    p = p + (-lr / (1 - beta1**t)) * m / denom
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from . import _flat
from .optimizer import (Optimizer, _check_tensor_lr, _lerp_, _scalar, _state_tensor,
                        _step_tensor)

__all__ = ["Adam"]


class Adam(Optimizer):
    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        for i, beta in enumerate(betas):
            if isinstance(beta, Tensor) and beta.numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        if fused and differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        super().__init__(params, defaults)

    def _setstate_group(self, group):
        for key, value in (("amsgrad", False), ("maximize", False), ("foreach", None),
                           ("capturable", False), ("differentiable", False), ("fused", None),
                           ("decoupled_weight_decay", False)):
            group.setdefault(key, value)

    def _group_hyper(self, group):
        beta1, beta2 = group["betas"]
        return (_scalar(group["lr"]), _scalar(beta1), _scalar(beta2), _scalar(group["eps"]),
                _scalar(group["weight_decay"]), bool(group["amsgrad"]),
                bool(group["maximize"]), bool(group["decoupled_weight_decay"]))

    def _init_state(self, p, state, group):
        state["step"] = _step_tensor()
        state["exp_avg"] = _state_tensor(np.zeros_like(p._data))
        state["exp_avg_sq"] = _state_tensor(np.zeros_like(p._data))
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _state_tensor(np.zeros_like(p._data))

    def _update(self, p, grad, state, hyper):
        lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled = hyper
        data = p._data
        a, b = self._scratch(p, 2)
        step_t = state["step"]._data
        step_t += 1
        step = float(step_t)
        if weight_decay != 0 and decoupled:
            np.multiply(data, 1 - lr * weight_decay, out=data)
            weight_decay = 0.0
        g = self._direction(grad, data, weight_decay, maximize, a)
        exp_avg = state["exp_avg"]._data
        exp_avg_sq = state["exp_avg_sq"]._data
        _lerp_(exp_avg, g, 1 - beta1, b)
        np.multiply(exp_avg_sq, beta2, out=exp_avg_sq)
        np.multiply(g, 1 - beta2, out=b)
        np.multiply(b, g, out=b)
        np.add(exp_avg_sq, b, out=exp_avg_sq)

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        second = exp_avg_sq
        if amsgrad:
            second = state["max_exp_avg_sq"]._data
            np.maximum(second, exp_avg_sq, out=second)
        denom = np.sqrt(second, out=b)
        np.divide(denom, bias_correction2_sqrt, out=denom)
        np.add(denom, eps, out=denom)
        # g (possibly in `a`) is dead from here, so `a` takes the update
        np.multiply(exp_avg, -step_size, out=a)
        np.divide(a, denom, out=a)
        np.add(data, a, out=data)

    def _step_group_flat(self, group, hyper):
        """The whole group at once (optim/_flat.py) for the common configuration: no amsgrad,
        no maximize, no L2 weight decay (decoupled is fine), every parameter with a gradient
        and one step count. The same operations per element as _update."""
        lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled = hyper
        params = group["params"]
        if amsgrad or maximize or (weight_decay != 0 and not decoupled) or len(params) < 2:
            return False
        fg = _flat.flat_group(self, group, ("exp_avg", "exp_avg_sq"))
        if fg is None:
            return False
        steps = [self.state[p]["step"]._data for p in params]
        step = float(steps[0]) + 1
        for s in steps:
            if float(s) + 1 != step:
                return False
        for s in steps:
            s += 1
        g = _flat.gather_grads(fg)
        exp_avg = fg.views["exp_avg"][0]
        exp_avg_sq = fg.views["exp_avg_sq"][0]
        b = fg.tmp
        _lerp_(exp_avg, g, 1 - beta1, b)
        np.multiply(exp_avg_sq, beta2, out=exp_avg_sq)
        np.multiply(g, 1 - beta2, out=b)
        np.multiply(b, g, out=b)
        np.add(exp_avg_sq, b, out=exp_avg_sq)
        step_size = lr / (1 - beta1 ** step)
        denom = np.sqrt(exp_avg_sq, out=b)
        np.divide(denom, (1 - beta2 ** step) ** 0.5, out=denom)
        np.add(denom, eps, out=denom)
        u = fg.update
        np.multiply(exp_avg, -step_size, out=u)
        np.divide(u, denom, out=u)
        decay = 1 - lr * weight_decay if weight_decay != 0 else None
        for p, (a, e) in zip(params, fg.offsets):
            data = p._data
            if decay is not None:
                np.multiply(data, decay, out=data)
            np.add(data, u[a:e].reshape(data.shape), out=data)
            p._vc[0] += 1
        return True
