"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize (torch.optim.SGD).

    g = -grad if maximize else grad;   g = g + weight_decay * p
    buf = g (first step) | buf * momentum + (1 - dampening) * g
    d = g + momentum * buf if nesterov else buf   (d = g without momentum)
    p = p - lr * d
"""
from __future__ import annotations

import numpy as np

from ..ops._axpy import axpy_
from .optimizer import Optimizer, _check_tensor_lr, _scalar, _state_tensor

__all__ = ["SGD"]


class SGD(Optimizer):
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        _check_tensor_lr(lr)
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        if fused and differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def _setstate_group(self, group):
        group.setdefault("nesterov", False)
        group.setdefault("maximize", False)
        group.setdefault("foreach", None)
        group.setdefault("differentiable", False)
        group.setdefault("fused", False)

    def _group_hyper(self, group):
        return (_scalar(group["lr"]), _scalar(group["momentum"]), _scalar(group["dampening"]),
                _scalar(group["weight_decay"]), bool(group["nesterov"]),
                bool(group["maximize"]))

    def _step_group_flat(self, group, hyper):
        """Plain SGD (no momentum, weight decay or maximize; torch keeps no state for it):
        p -= lr * g per parameter (axpy_, as _update) without _update's per-parameter state
        bookkeeping, which is most of a small model's optimizer step."""
        lr, momentum, _, weight_decay, _, maximize = hyper
        if momentum != 0 or weight_decay != 0 or maximize:
            return False
        bufs = self._buffers
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            data = p._data
            gd = g._data
            tmp = bufs.get(p)
            if tmp is None or tmp[0].shape != data.shape or tmp[0].dtype != data.dtype:
                tmp = self._scratch(p, 1)
            tmp = tmp[0]
            axpy_(data, -lr, gd, tmp)
            p._vc[0] += 1
        return True

    def _update(self, p, grad, state, hyper):
        lr, momentum, dampening, weight_decay, nesterov, maximize = hyper
        data = p._data
        transformed = weight_decay != 0 or maximize
        bufs = self._scratch(p, 2 if transformed else 1)
        tmp = bufs[0]
        g = self._direction(grad, data, weight_decay, maximize, bufs[1]) if transformed else grad
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                state["momentum_buffer"] = _state_tensor(g.copy())
                d = g
            else:
                buf = buf._data
                np.multiply(buf, momentum, out=buf)
                if dampening == 0:
                    np.add(buf, g, out=buf)
                else:
                    np.multiply(g, 1 - dampening, out=tmp)
                    np.add(buf, tmp, out=buf)
                d = buf
            if nesterov:  # g + momentum * buf, rounded once as torch's add(alpha=)
                np.copyto(tmp, g)
                axpy_(tmp, momentum, d, None)
                d = tmp
        else:
            d = g
        axpy_(data, -lr, d, tmp)
