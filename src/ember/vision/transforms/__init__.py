"""ember.vision.transforms: torchvision.transforms' image transforms (PIL images and tensors)."""
from . import functional
from .functional import InterpolationMode
from .transforms import (CenterCrop, ColorJitter, Compose, ConvertImageDtype, GaussianBlur,
                         Grayscale, Lambda, Normalize, Pad, PILToTensor, RandomAffine, RandomApply,
                         RandomChoice, RandomCrop, RandomErasing, RandomHorizontalFlip,
                         RandomOrder, RandomResizedCrop, RandomRotation, RandomVerticalFlip,
                         Resize, ToPILImage, ToTensor)

__all__ = ["CenterCrop", "ColorJitter", "Compose", "ConvertImageDtype", "GaussianBlur",
           "Grayscale", "InterpolationMode", "Lambda", "Normalize", "Pad", "PILToTensor",
           "RandomAffine", "RandomApply", "RandomChoice", "RandomCrop", "RandomErasing",
           "RandomHorizontalFlip", "RandomOrder", "RandomResizedCrop", "RandomRotation",
           "RandomVerticalFlip", "Resize", "ToPILImage", "ToTensor", "functional"]
