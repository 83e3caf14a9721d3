"""NAdam (torch.optim.NAdam): Adam with Nesterov momentum and a momentum-decay schedule.

    g = -grad if maximize else grad;  g = g + wd * p  (or p = p * (1 - lr * wd) if decoupled)
    mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay));  mu_product = mu_1 * ... * mu_t
    m = lerp(m, g, 1 - beta1);  v = v * beta2 + (1 - beta2) * g * g
    denom = sqrt(v / (1 - beta2**t)) + eps
    p = p - lr * (1 - mu_t) / (1 - mu_product) * g / denom
          - lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / denom
"""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_adam_args, _scalar, _state_tensor, _step_tensor
from .radam import _adam_moments_

__all__ = ["NAdam"]


class NAdam(Optimizer):
    _group_fallbacks = (("maximize", False), ("foreach", None), ("capturable", False),
                        ("differentiable", False), ("decoupled_weight_decay", False))
    _scalar_state = ("step", "mu_product")

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _group_hyper(self, group):
        beta1, beta2 = group["betas"]
        return (_scalar(group["lr"]), _scalar(beta1), _scalar(beta2), _scalar(group["eps"]),
                _scalar(group["weight_decay"]), _scalar(group["momentum_decay"]),
                bool(group["decoupled_weight_decay"]), bool(group["maximize"]))

    def _init_state(self, p, state, group):
        state["step"] = _step_tensor()
        state["mu_product"] = _step_tensor(1.0)
        state["exp_avg"] = _state_tensor(np.zeros_like(p._data))
        state["exp_avg_sq"] = _state_tensor(np.zeros_like(p._data))

    def _update(self, p, grad, state, hyper):
        lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled, maximize = hyper
        data = p._data
        a, b, c = self._scratch(p, 3)
        step_t = state["step"]._data
        step_t += 1
        step = float(step_t)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        # mu_product is a float32 (scalar-dtype) tensor in torch: its rounding is part of the math
        mu_product_t = state["mu_product"]._data
        np.multiply(mu_product_t, mu, out=mu_product_t)
        mu_product = float(mu_product_t)
        g, exp_avg, exp_avg_sq = _adam_moments_(
            p, grad, state, lr, beta1, beta2, weight_decay, decoupled, maximize, a, b)
        denom = np.divide(exp_avg_sq, 1 - beta2 ** step, out=b)
        np.sqrt(denom, out=denom)
        np.add(denom, eps, out=denom)
        np.multiply(g, -lr * (1.0 - mu) / (1.0 - mu_product), out=c)
        np.divide(c, denom, out=c)
        np.add(data, c, out=data)
        np.multiply(exp_avg, (-lr * mu_next) / (1.0 - mu_product * mu_next), out=c)
        np.divide(c, denom, out=c)
        np.add(data, c, out=data)
