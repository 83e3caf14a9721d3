"""ember.vision: the torchvision pieces for MNIST-style work (`datasets`, `transforms`).

`ember run` maps `import torchvision` here, so the submodules keep torchvision's names.
Pillow is needed for PIL images; it is imported only when an image is made or converted.
"""
from . import datasets, transforms

__version__ = "0.28.0"

__all__ = ["datasets", "transforms"]
