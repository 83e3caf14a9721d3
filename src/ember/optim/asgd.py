"""ASGD (torch.optim.ASGD): SGD with a decaying step size and a running average of the iterates.

    g = -grad if maximize else grad;  g = g + wd * p
    p = p * (1 - lambd * eta) - eta * g
    ax = ax + (p - ax) * mu  (ax = p while mu == 1)
    eta = lr / (1 + lambd * lr * t)**alpha;  mu = 1 / max(1, t - t0)
"""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_lr, _scalar, _state_tensor, _step_tensor

__all__ = ["ASGD"]


class ASGD(Optimizer):
    _group_fallbacks = (("foreach", None), ("maximize", False), ("differentiable", False),
                        ("capturable", False))
    _scalar_state = ("step", "eta", "mu")

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _group_hyper(self, group):
        return (_scalar(group["lr"]), _scalar(group["lambd"]), _scalar(group["alpha"]),
                _scalar(group["t0"]), _scalar(group["weight_decay"]), bool(group["maximize"]))

    def _init_state(self, p, state, group):
        state["step"] = _step_tensor()
        state["eta"] = _step_tensor(_scalar(group["lr"]))
        state["mu"] = _step_tensor(1.0)
        state["ax"] = _state_tensor(np.zeros_like(p._data))

    def _update(self, p, grad, state, hyper):
        lr, lambd, alpha, t0, weight_decay, maximize = hyper
        data = p._data
        a, b = self._scratch(p, 2)
        g = self._direction(grad, data, weight_decay, maximize, a)
        step_t = state["step"]._data
        step_t += 1
        eta_t, mu_t = state["eta"]._data, state["mu"]._data
        eta = float(eta_t)
        np.multiply(data, 1 - lambd * eta, out=data)
        np.multiply(g, -eta, out=b)
        np.add(data, b, out=data)
        ax = state["ax"]._data
        if float(mu_t) != 1:
            np.subtract(data, ax, out=b)
            np.multiply(b, mu_t, out=b)
            np.add(ax, b, out=ax)
        else:
            np.copyto(ax, data)
        step = float(step_t)
        eta_t[...] = lr / ((1 + lambd * lr * step) ** alpha)
        mu_t[...] = 1 / max(1, step - t0)
