"""RAdam (torch.optim.RAdam): Adam with a rectified adaptive learning rate.

    g = -grad if maximize else grad;  g = g + wd * p  (or p = p * (1 - lr * wd) if decoupled)
    m = lerp(m, g, 1 - beta1);  v = v * beta2 + (1 - beta2) * g * g
    rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
    p = p - m / (1 - beta1**t) * lr * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r_t   (rho_t > 5)
    p = p - m / (1 - beta1**t) * lr                                               (otherwise)
    with r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
"""
from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _check_adam_args, _ema_sq_, _lerp_, _scalar, _state_tensor,
                        _step_tensor)

__all__ = ["RAdam"]


def _adam_moments_(p, grad, state, lr, beta1, beta2, weight_decay, decoupled, maximize, a, b):
    """The moment updates RAdam and NAdam share with Adam, in torch's operation order:
    decoupled decay (p *= 1 - lr * wd) or L2 decay, and maximize, into the direction g (written
    into scratch `a` unless it is `grad` itself); m = lerp(m, g, 1 - beta1) and
    v = v * beta2 + (1 - beta2) * g * g (scratch `b`). Returns the arrays g, m and v."""
    data = p._data
    if weight_decay != 0 and decoupled:
        np.multiply(data, 1 - lr * weight_decay, out=data)
        weight_decay = 0.0
    g = Optimizer._direction(grad, data, weight_decay, maximize, a)
    exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
    _lerp_(exp_avg, g, 1 - beta1, b)
    _ema_sq_(exp_avg_sq, g, beta2, b)
    return g, exp_avg, exp_avg_sq


class RAdam(Optimizer):
    _group_fallbacks = (("foreach", None), ("maximize", False), ("differentiable", False),
                        ("decoupled_weight_decay", False), ("capturable", False))

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _group_hyper(self, group):
        beta1, beta2 = group["betas"]
        return (_scalar(group["lr"]), _scalar(beta1), _scalar(beta2), _scalar(group["eps"]),
                _scalar(group["weight_decay"]), bool(group["decoupled_weight_decay"]),
                bool(group["maximize"]))

    def _init_state(self, p, state, group):
        state["step"] = _step_tensor()
        state["exp_avg"] = _state_tensor(np.zeros_like(p._data))
        state["exp_avg_sq"] = _state_tensor(np.zeros_like(p._data))

    def _update(self, p, grad, state, hyper):
        lr, beta1, beta2, eps, weight_decay, decoupled, maximize = hyper
        data = p._data
        a, b, c = self._scratch(p, 3)
        step_t = state["step"]._data
        step_t += 1
        step = float(step_t)
        _, exp_avg, exp_avg_sq = _adam_moments_(
            p, grad, state, lr, beta1, beta2, weight_decay, decoupled, maximize, a, b)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        update = np.divide(exp_avg, bias_correction1, out=c)
        np.multiply(update, lr, out=update)
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = np.sqrt(exp_avg_sq, out=b)
            np.add(adaptive_lr, eps, out=adaptive_lr)
            np.divide(bias_correction2 ** 0.5, adaptive_lr, out=adaptive_lr)
            np.multiply(update, adaptive_lr, out=update)
            np.multiply(update, rect, out=update)
        np.subtract(data, update, out=data)
