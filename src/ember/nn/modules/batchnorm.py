"""torch.nn.modules.batchnorm's names (the batch norms live in normalization.py), so code that
checks `isinstance(m, nn.modules.batchnorm._BatchNorm)` works unchanged."""
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, _BatchNorm, _NormBase  # noqa: F401

from .sync_batchnorm import SyncBatchNorm  # noqa: E402,F401

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"]
