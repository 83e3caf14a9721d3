"""Rprop (torch.optim.Rprop): resilient backpropagation, one step size per element.

    g = -grad if maximize else grad;  s = sign(g * prev)
    step_size = clamp(step_size * (etaplus if s > 0, etaminus if s < 0, 1 if s == 0),
                      step_size_min, step_size_max)
    g = 0 where s < 0;  p = p - sign(g) * step_size;  prev = g
"""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_lr, _scalar, _state_tensor, _step_tensor

__all__ = ["Rprop"]


class Rprop(Optimizer):
    _group_fallbacks = (("foreach", None), ("maximize", False), ("differentiable", False),
                        ("capturable", False))

    def __init__(self, params, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _group_hyper(self, group):
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        return (_scalar(etaminus), _scalar(etaplus), _scalar(step_size_min),
                _scalar(step_size_max), bool(group["maximize"]))

    def _init_state(self, p, state, group):
        state["step"] = _step_tensor()
        state["prev"] = _state_tensor(np.zeros_like(p._data))
        state["step_size"] = _state_tensor(np.full_like(p._data, _scalar(group["lr"])))

    def _update(self, p, grad, state, hyper):
        etaminus, etaplus, step_size_min, step_size_max, maximize = hyper
        data = p._data
        sign, factor, flip, neg = self._scratch(p, 4)
        g = self._direction(grad, data, 0, maximize, neg)
        state["step"]._data += 1
        prev = state["prev"]._data
        step_size = state["step_size"]._data
        np.multiply(g, prev, out=sign)
        np.sign(sign, out=sign)
        # factor = etaplus / etaminus / 1 where sign is +1 / -1 / 0, as a sum of exact products
        # (no boolean masks, nothing allocated); NaN signs stay NaN as in torch
        np.minimum(sign, 0, out=flip)                   # -1 where the gradient changed sign
        np.abs(sign, out=factor)
        np.subtract(1, factor, out=factor)              # 1 where sign == 0
        np.maximum(sign, 0, out=sign)
        np.multiply(sign, etaplus, out=sign)
        np.add(factor, sign, out=factor)
        np.multiply(flip, -etaminus, out=sign)
        np.add(factor, sign, out=factor)
        np.multiply(step_size, factor, out=step_size)
        np.clip(step_size, step_size_min, step_size_max, out=step_size)
        # the gradient is zeroed where it changed sign: no step there, and no flip next time
        np.add(flip, 1, out=flip)
        np.multiply(g, flip, out=flip)
        np.sign(flip, out=sign)
        np.multiply(sign, step_size, out=sign)
        np.subtract(data, sign, out=data)
        np.copyto(prev, flip)
