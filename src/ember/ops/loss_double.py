"""Cross entropy and NLL with class targets as recorded ops, for create_graph=True.

The fused loss ops compute their backward in NumPy. Under create_graph (MAML-style inner
steps, gradient penalties on a classifier's loss) ops/double_recompute runs this composite of
differentiable ops on the op's input instead: log_softmax (cross entropy only), the target
entries picked by gather, the class weights (zero for ignored targets) and the reduction, the
mean dividing by the summed weights as the fused op does.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor


class ClassLoss:
    """The loss of (M, C) input rows for targets t (M,) as recorded ops."""
    __slots__ = ("log_softmax", "target", "weight", "reduction", "ignore_index")

    def __init__(self, log_softmax: bool, target: np.ndarray, weight, reduction: str,
                 ignore_index: int):
        self.log_softmax = log_softmax
        self.target, self.weight = target, weight
        self.reduction, self.ignore_index = reduction, ignore_index

    def __call__(self, x: Tensor) -> Tensor:
        logp = x.log_softmax(1) if self.log_softmax else x
        t = self.target.astype(np.int64, copy=False)
        valid = t != self.ignore_index
        picked = logp.gather(1, Tensor._new(np.where(valid, t, 0)[:, None])).squeeze(1)
        dt = x._data.dtype
        w = None
        if self.weight is not None:
            w = self.weight[np.where(valid, t, 0)].astype(dt) * valid
        elif not valid.all():
            w = valid.astype(dt)
        loss = -picked if w is None else -(picked * Tensor._new(w))
        if self.reduction == "none":
            return loss
        if self.reduction == "sum":
            return loss.sum()
        denom = dt.type(len(t)) if w is None else w.sum(dtype=dt)
        if denom == 0:  # every target ignored: the loss is nan, its gradient zero (as torch)
            return loss.sum() * 0.0 + float("nan")
        return loss.sum() / float(denom)
