"""nn.SyncBatchNorm: batch normalisation whose statistics span every rank of a process group.

Under data-parallel training each rank sees a slice of the global batch; SyncBatchNorm normalises
with the mean and variance of the whole batch. Forward: every rank computes its per-channel
count, mean and sum of squared deviations, the ranks gather them and each combines them (the
parallel-variance formula, in float64). Backward: the per-channel sums of dy and dy * x_hat are
summed over the ranks for the input gradient; the weight and bias gradients stay local (DDP
averages them), as in torch.

torch supports the synchronised path only for GPU tensors (on CPU it raises); ember, whose
data-parallel training is on CPUs over MPI, synchronises CPU tensors. Without an initialised
process group, with one rank, or in eval mode it is BatchNorm.
"""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...autograd.function import once_differentiable
from ...ops.base import Op
from ...ops.normalization import batch_norm, update_running
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]

_new = Tensor._new


def _dist():
    from ... import distributed
    return distributed


class SyncBatchNormBackward(Op):
    """out = (x - mean) * invstd * weight + bias with mean/var over the x of every rank of
    `group`; updates the running statistics (unbiased variance of the global batch).
    Shape: x (N, C, *), weight/bias/running (C,)."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, eps, momentum, group):
        dist = _dist()
        xa = x._data
        N, C = xa.shape[:2]
        x3 = xa.reshape(N, C, -1)
        n = N * x3.shape[2]
        xd = x3.astype(np.float64)
        local_mean = xd.mean(axis=(0, 2)) if n else np.zeros(C)
        local_m2 = ((xd - local_mean[:, None]) ** 2).sum(axis=(0, 2))
        mine = Tensor._new(np.concatenate([[float(n)], local_mean, local_m2]))
        world = dist.get_world_size(group)
        parts = [Tensor._new(np.empty_like(mine._data)) for _ in range(world)]
        dist.all_gather(parts, mine, group=group)
        stats = np.stack([p._data for p in parts])  # (world, 1 + 2C)
        counts = stats[:, 0]
        total = counts.sum()
        if total <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {list(xa.shape)} on each of {world} ranks")
        means, m2s = stats[:, 1:C + 1], stats[:, C + 1:]
        mean = (counts[:, None] * means).sum(0) / total
        m2 = (m2s + counts[:, None] * (means - mean) ** 2).sum(0)
        var = m2 / total
        invstd = 1.0 / np.sqrt(var + eps)
        if running_mean is not None:
            update_running(running_mean, running_var, mean, var, momentum, total / (total - 1))
        dt = xa.dtype
        mean_t, invstd_t = mean.astype(dt), invstd.astype(dt)
        xhat = (x3 - mean_t[:, None]) * invstd_t[:, None]
        out = xhat * weight._data[:, None] if weight is not None else xhat.copy()
        if bias is not None:
            out += bias._data[:, None]
        if any(ctx.needs_input_grad):
            ctx.xhat, ctx.invstd, ctx.total, ctx.group = xhat, invstd_t, total, group
            ctx.save_for_backward(weight)
        return out.reshape(xa.shape)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        dist = _dist()
        weight, = ctx.saved_tensors
        need = ctx.needs_input_grad
        xhat = ctx.xhat
        g = grad._data.reshape(xhat.shape)
        sum_dy = g.sum(axis=(0, 2))
        sum_dy_xhat = (g * xhat).sum(axis=(0, 2))
        gx = None
        if need[0]:
            both = Tensor._new(np.concatenate([sum_dy, sum_dy_xhat]).astype(np.float64))
            dist.all_reduce(both, group=ctx.group)
            C = sum_dy.shape[0]
            mean_dy = (both._data[:C] / ctx.total).astype(g.dtype)
            mean_dy_xhat = (both._data[C:] / ctx.total).astype(g.dtype)
            a = ctx.invstd if weight is None else ctx.invstd * weight._data
            gx = (g - mean_dy[:, None] - xhat * mean_dy_xhat[:, None]) * a[:, None]
            gx = _new(gx.reshape(grad._data.shape))
        gw = _new(sum_dy_xhat.astype(g.dtype)) if need[1] else None
        gb = _new(sum_dy.astype(g.dtype)) if need[2] else None
        return gx, gw, gb, None, None, None, None, None


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation over the whole data-parallel batch (see the module's docstring).
    Shape: (N, C, *) with at least 2 dims."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device,
                         dtype=dtype)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked._data)
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        running_mean = self.running_mean if track else None
        running_var = self.running_var if track else None
        group = None
        if bn_training and self.training:
            dist = _dist()
            if dist.is_available() and dist.is_initialized():
                group = self.process_group or dist.group.WORLD
                if dist.get_world_size(group) <= 1:
                    group = None
        if group is None:
            return batch_norm(input, running_mean, running_var, self.weight, self.bias,
                              bn_training, factor, self.eps)
        return SyncBatchNormBackward.apply(input, self.weight, self.bias, running_mean,
                                           running_var, float(self.eps), float(factor), group)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """Replace every BatchNorm*d in `module` by a SyncBatchNorm with the same parameters,
        buffers and mode (a BatchNorm*d passed itself comes back as a new SyncBatchNorm)."""
        out = module
        if isinstance(module, _BatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        del module
        return out
