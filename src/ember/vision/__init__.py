"""ember.vision: torchvision's `datasets`, `transforms`, `models`, `utils`, `io` and `ops`.

`ember run` maps `import torchvision` here, so the submodules keep torchvision's names.
Pillow is needed for PIL images; it is imported only when an image is made or converted.
"""
from . import datasets, io, models, ops, transforms, utils

__version__ = "0.28.0"

__all__ = ["datasets", "io", "models", "ops", "transforms", "utils"]
