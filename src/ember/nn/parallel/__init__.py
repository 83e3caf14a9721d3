"""torch.nn.parallel: DistributedDataParallel over ember.distributed, DataParallel."""
from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
