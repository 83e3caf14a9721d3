"""ember.vision.models (torchvision.models): classification architectures with torchvision's
module names, initialisation and weights enums. Pretrained weights are read from torch hub's
cache (offline; see ember.hub)."""
from ._api import (Weights, WeightsEnum, get_model, get_model_builder,  # noqa: F401
                   get_model_weights, get_weight, list_models)
from .alexnet import *  # noqa: F401,F403
from .mobilenetv2 import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
