"""Adagrad (torch.optim.Adagrad), with lr decay, weight decay and an initial accumulator.

    g = -grad if maximize else grad;  g = g + wd * p
    clr = lr / (1 + (t - 1) * lr_decay);  sum = sum + g * g
    p = p + (-clr * g) / (sqrt(sum) + eps)
"""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_tensor_lr, _scalar, _state_tensor, _step_tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        if fused and differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        # torch creates Adagrad's state eagerly, for every parameter
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, self.state[p], group)

    def share_memory(self) -> None:
        """torch shares the accumulators across processes; NumPy arrays need nothing."""

    def _setstate_group(self, group):
        for key, value in (("foreach", None), ("maximize", False), ("differentiable", False),
                           ("fused", None)):
            group.setdefault(key, value)

    def _group_hyper(self, group):
        return (_scalar(group["lr"]), _scalar(group["lr_decay"]), _scalar(group["eps"]),
                _scalar(group["weight_decay"]), bool(group["maximize"]))

    def _init_state(self, p, state, group):
        state["step"] = _step_tensor()
        state["sum"] = _state_tensor(np.full_like(p._data, group["initial_accumulator_value"]))

    def _update(self, p, grad, state, hyper):
        lr, lr_decay, eps, weight_decay, maximize = hyper
        data = p._data
        a, b = self._scratch(p, 2)
        step_t = state["step"]._data
        step_t += 1
        step = float(step_t)
        g = self._direction(grad, data, weight_decay, maximize, a)
        clr = lr / (1 + (step - 1) * lr_decay)
        state_sum = state["sum"]._data
        np.multiply(g, g, out=b)
        np.add(state_sum, b, out=state_sum)
        std = np.sqrt(state_sum, out=b)
        np.add(std, eps, out=std)
        np.multiply(g, -clr, out=a)
        np.divide(a, std, out=a)
        np.add(data, a, out=data)
