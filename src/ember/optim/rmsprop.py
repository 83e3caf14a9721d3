"""RMSprop (torch.optim.RMSprop), with momentum, centering, weight decay and maximize.

    g = -grad if maximize else grad;  g = g + wd * p
    v = v * alpha + (1 - alpha) * g * g
    avg = sqrt(v - ga * ga) with ga = lerp(ga, g, 1 - alpha) if centered else sqrt(v);  avg += eps
    buf = buf * momentum + g / avg;  p = p - lr * buf     (momentum > 0)
    p = p + (-lr * g) / avg                                (otherwise)
"""
from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _check_tensor_lr, _lerp_, _scalar, _state_tensor,
                        _step_tensor)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _setstate_group(self, group):
        for key, value in (("momentum", 0), ("centered", False), ("foreach", None),
                           ("maximize", False), ("differentiable", False),
                           ("capturable", False)):
            group.setdefault(key, value)

    def _group_hyper(self, group):
        return (_scalar(group["lr"]), _scalar(group["alpha"]), _scalar(group["eps"]),
                _scalar(group["weight_decay"]), _scalar(group["momentum"]),
                bool(group["centered"]), bool(group["maximize"]))

    def _init_state(self, p, state, group):
        state["step"] = _step_tensor()
        state["square_avg"] = _state_tensor(np.zeros_like(p._data))
        if group["momentum"] > 0:
            state["momentum_buffer"] = _state_tensor(np.zeros_like(p._data))
        if group["centered"]:
            state["grad_avg"] = _state_tensor(np.zeros_like(p._data))

    def _update(self, p, grad, state, hyper):
        lr, alpha, eps, weight_decay, momentum, centered, maximize = hyper
        data = p._data
        a, b, c = self._scratch(p, 3)
        step_t = state["step"]._data
        step_t += 1
        g = self._direction(grad, data, weight_decay, maximize, a)
        square_avg = state["square_avg"]._data
        np.multiply(square_avg, alpha, out=square_avg)
        np.multiply(g, 1 - alpha, out=b)
        np.multiply(b, g, out=b)
        np.add(square_avg, b, out=square_avg)
        if centered:
            grad_avg = state["grad_avg"]._data
            _lerp_(grad_avg, g, 1 - alpha, b)
            np.multiply(grad_avg, grad_avg, out=b)
            np.subtract(square_avg, b, out=b)
            avg = np.sqrt(b, out=b)
        else:
            avg = np.sqrt(square_avg, out=b)
        np.add(avg, eps, out=avg)
        if momentum > 0:
            buf = state["momentum_buffer"]._data
            np.multiply(buf, momentum, out=buf)
            np.divide(g, avg, out=c)
            np.add(buf, c, out=buf)
            np.multiply(buf, -lr, out=c)
        else:
            np.multiply(g, -lr, out=c)
            np.divide(c, avg, out=c)
        np.add(data, c, out=data)
