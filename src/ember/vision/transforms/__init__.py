"""ember.vision.transforms: torchvision.transforms' image transforms (PIL images and tensors)."""
from . import functional
from .functional import InterpolationMode
from .transforms import (CenterCrop, Compose, ConvertImageDtype, Grayscale, Lambda, Normalize,
                         Pad, PILToTensor, RandomAffine, RandomApply, RandomChoice, RandomCrop,
                         RandomHorizontalFlip, RandomOrder, RandomRotation, RandomVerticalFlip,
                         Resize, ToPILImage, ToTensor)

__all__ = ["CenterCrop", "Compose", "ConvertImageDtype", "Grayscale", "InterpolationMode",
           "Lambda", "Normalize", "Pad", "PILToTensor", "RandomAffine", "RandomApply",
           "RandomChoice", "RandomCrop", "RandomHorizontalFlip", "RandomOrder", "RandomRotation",
           "RandomVerticalFlip", "Resize", "ToPILImage", "ToTensor", "functional"]
