"""Adamax (torch.optim.Adamax): Adam with an infinity-norm second moment.

    g = -grad if maximize else grad;  g = g + wd * p
    m = lerp(m, g, 1 - beta1);  u = max(u * beta2, |g| + eps)
    p = p + (-lr / (1 - beta1**t)) * m / u
"""
from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _check_adam_args, _lerp_, _scalar, _state_tensor,
                        _step_tensor)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    _group_fallbacks = (("foreach", None), ("maximize", False), ("differentiable", False),
                        ("capturable", False))

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _group_hyper(self, group):
        beta1, beta2 = group["betas"]
        return (_scalar(group["lr"]), _scalar(beta1), _scalar(beta2), _scalar(group["eps"]),
                _scalar(group["weight_decay"]), bool(group["maximize"]))

    def _init_state(self, p, state, group):
        state["step"] = _step_tensor()
        state["exp_avg"] = _state_tensor(np.zeros_like(p._data))
        state["exp_inf"] = _state_tensor(np.zeros_like(p._data))

    def _update(self, p, grad, state, hyper):
        lr, beta1, beta2, eps, weight_decay, maximize = hyper
        data = p._data
        a, b = self._scratch(p, 2)
        step_t = state["step"]._data
        step_t += 1
        g = self._direction(grad, data, weight_decay, maximize, a)
        exp_avg = state["exp_avg"]._data
        exp_inf = state["exp_inf"]._data
        _lerp_(exp_avg, g, 1 - beta1, b)
        np.multiply(exp_inf, beta2, out=exp_inf)
        np.abs(g, out=b)
        np.add(b, eps, out=b)
        np.maximum(exp_inf, b, out=exp_inf)
        clr = lr / (1 - beta1 ** float(step_t))
        np.multiply(exp_avg, -clr, out=b)
        np.divide(b, exp_inf, out=b)
        np.add(data, b, out=data)
