"""ember.vision.transforms: torchvision.transforms' image transforms (PIL images and tensors)."""
from . import functional
from .functional import InterpolationMode
from .transforms import (CenterCrop, ColorJitter, Compose, ConvertImageDtype, Grayscale, Lambda,
                         Normalize, Pad, PILToTensor, RandomAffine, RandomApply, RandomChoice, RandomCrop,
                         RandomHorizontalFlip, RandomOrder, RandomRotation, RandomVerticalFlip,
                         Resize, ToPILImage, ToTensor)
from .transforms import GaussianBlur, RandomErasing, RandomResizedCrop

__all__ = ["CenterCrop", "ColorJitter", "Compose", "GaussianBlur", "RandomErasing",
           "RandomResizedCrop", "ConvertImageDtype", "Grayscale", "InterpolationMode",
           "Lambda", "Normalize", "Pad", "PILToTensor", "RandomAffine", "RandomApply",
           "RandomChoice", "RandomCrop", "RandomHorizontalFlip", "RandomOrder", "RandomRotation",
           "RandomVerticalFlip", "Resize", "ToPILImage", "ToTensor", "functional"]
