"""torch.optim.swa_utils: averaged copies of a model (SWA, EMA), their batch-norm statistics,
and the SWA learning-rate schedule.

AveragedModel keeps a deep copy of a model whose parameters (and buffers with use_buffers) are
an average of the model's over the updates: the running mean by default (SWA), or any
avg_fn / multi_avg_fn, e.g. get_ema_multi_avg_fn(0.999) for an exponential moving average.
"""
from __future__ import annotations

import copy
import itertools
import math

from .._tensor import Tensor
from ..nn.modules.module import Module
from .lr_scheduler import LRScheduler

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]


def get_ema_multi_avg_fn(decay: float = 0.999):
    """In place over lists: ema = ema + (1 - decay) (current - ema) (integers: decay-weighted)."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         f"[0,1] range.")

    def ema_update(ema_params, current_params, num_averaged):
        for e, c in zip(ema_params, current_params):
            if e.is_floating_point() or e.is_complex():
                e.lerp_(c, 1 - decay)
            else:  # integers (a batch count): computed in floating point, truncated back
                e.copy_(e * decay + c * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn():
    """In place over lists: avg = avg + (current - avg) / (n + 1)."""
    def swa_update(averaged_params, current_params, num_averaged):
        n = int(num_averaged) if isinstance(num_averaged, Tensor) else num_averaged
        for a, c in zip(averaged_params, current_params):
            if a.is_floating_point() or a.is_complex():
                a.lerp_(c, 1 / (n + 1))
            else:
                a.add_((c - a) / (n + 1))
    return swa_update


def get_ema_avg_fn(decay: float = 0.999):
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         f"[0,1] range.")

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """A deep copy of `model` whose parameters are averaged by update_parameters(model)."""

    def __init__(self, model: Module, device=None, avg_fn=None, multi_avg_fn=None,
                 use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        from .._dtype import int64
        from ..ops.creation import tensor as _tensor
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", _tensor(0, dtype=int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        from ..autograd.grad_mode import no_grad
        own = itertools.chain(self.module.parameters(), self.module.buffers()) \
            if self.use_buffers else self.parameters()
        theirs = itertools.chain(model.parameters(), model.buffers()) \
            if self.use_buffers else model.parameters()
        own, theirs = [p.detach() for p in own], [p.detach() for p in theirs]
        with no_grad():
            if int(self.n_averaged) == 0:
                for a, c in zip(own, theirs):
                    a.copy_(c)
            elif self.multi_avg_fn is not None:  # called per dtype, as torch groups them
                groups = {}
                for a, c in zip(own, theirs):
                    groups.setdefault(str(a.dtype), ([], []))
                    groups[str(a.dtype)][0].append(a)
                    groups[str(a.dtype)][1].append(c)
                for a_list, c_list in groups.values():
                    self.multi_avg_fn(a_list, c_list, self.n_averaged)
            else:  # the running mean a + (c - a) / (n + 1) per tensor (torch's CPU route)
                avg = self.avg_fn or get_swa_avg_fn()
                for a, c in zip(own, theirs):
                    a.copy_(avg(a, c, self.n_averaged))
            if not self.use_buffers:  # buffers follow the source model
                for b, c in zip(self.module.buffers(), model.buffers()):
                    b.detach().copy_(c.detach())
            self.n_averaged.add_(1)


def update_bn(loader, model: Module, device=None) -> None:
    """Recompute the batch-norm running statistics of `model` with one pass over `loader`
    (a cumulative average: momentum None), leaving the model's mode as it was."""
    from ..autograd.grad_mode import no_grad
    from ..nn.modules.batchnorm import _BatchNorm
    momenta = {}
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.reset_running_stats()
            momenta[m] = m.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for m, mom in momenta.items():
        m.momentum = mom
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate to its swa_lr over anneal_epochs ("cos" or "linear"),
    then hold it there."""

    def __init__(self, optimizer, swa_lr, anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1) -> None:
        lrs = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else \
            [swa_lr] * len(optimizer.param_groups)
        if len(lrs) != len(optimizer.param_groups):
            raise ValueError(f"swa_lr must have the same length as optimizer.param_groups: "
                             f"swa_lr has {len(lrs)}, optimizer.param_groups has "
                             f"{len(optimizer.param_groups)}")
        for lr, group in zip(lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must by one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else \
            self._linear_anneal
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha)
                    for g in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [g["swa_lr"] * alpha + lr * (1 - alpha)
                for g, lr in zip(self.optimizer.param_groups, prev_lrs)]
