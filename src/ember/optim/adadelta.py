"""Adadelta (torch.optim.Adadelta), with weight decay and maximize.

    g = -grad if maximize else grad;  g = g + wd * p
    v = v * rho + (1 - rho) * g * g
    delta = sqrt(u + eps) / sqrt(v + eps) * g;  u = u * rho + (1 - rho) * delta * delta
    p = p - lr * delta
"""
from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _check_lr, _ema_sq_, _scalar, _state_tensor,
                        _step_tensor)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    _group_fallbacks = (("foreach", None), ("maximize", False), ("differentiable", False),
                        ("capturable", False))

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _group_hyper(self, group):
        return (_scalar(group["lr"]), _scalar(group["rho"]), _scalar(group["eps"]),
                _scalar(group["weight_decay"]), bool(group["maximize"]))

    def _init_state(self, p, state, group):
        state["step"] = _step_tensor()
        state["square_avg"] = _state_tensor(np.zeros_like(p._data))
        state["acc_delta"] = _state_tensor(np.zeros_like(p._data))

    def _update(self, p, grad, state, hyper):
        lr, rho, eps, weight_decay, maximize = hyper
        data = p._data
        a, b, delta = self._scratch(p, 3)
        state["step"]._data += 1
        g = self._direction(grad, data, weight_decay, maximize, a)
        square_avg = state["square_avg"]._data
        acc_delta = state["acc_delta"]._data
        _ema_sq_(square_avg, g, rho, b)
        std = np.add(square_avg, eps, out=b)
        np.sqrt(std, out=std)
        np.add(acc_delta, eps, out=delta)
        np.sqrt(delta, out=delta)
        np.divide(delta, std, out=delta)
        np.multiply(delta, g, out=delta)
        _ema_sq_(acc_delta, delta, rho, b)
        np.multiply(delta, -lr, out=delta)
        np.add(data, delta, out=data)
