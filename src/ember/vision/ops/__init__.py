"""ember.vision.ops (torchvision.ops): the layers torchvision's models are built from."""
from .misc import Conv2dNormActivation

__all__ = ["Conv2dNormActivation"]
