"""ember.vision.datasets: torchvision's MNIST, FashionMNIST, FakeData, DatasetFolder and
ImageFolder."""
from .fakedata import FakeData
from .folder import DatasetFolder, ImageFolder
from .mnist import MNIST, FashionMNIST
from .vision import StandardTransform, VisionDataset

__all__ = ["MNIST", "FashionMNIST", "FakeData", "DatasetFolder", "ImageFolder",
           "VisionDataset", "StandardTransform"]
