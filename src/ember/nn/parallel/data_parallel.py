"""nn.DataParallel: torch splits a batch over GPUs; ember has one CPU device, so the module runs
unchanged (state_dict keys keep torch's `module.` prefix)."""
from __future__ import annotations

from ..modules.module import Module


class DataParallel(Module):
    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        self.module = module
        self.device_ids = []
        self.output_device = None
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
