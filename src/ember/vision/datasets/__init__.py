"""ember.vision.datasets: torchvision's MNIST and FashionMNIST."""
from .mnist import MNIST, FashionMNIST
from .vision import StandardTransform, VisionDataset

__all__ = ["MNIST", "FashionMNIST", "VisionDataset", "StandardTransform"]
