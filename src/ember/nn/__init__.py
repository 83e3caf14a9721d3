"""ember.nn: layers, losses, containers and initialisation, with torch.nn's API."""
from .parameter import Buffer, Parameter
from .modules import *  # noqa: F401,F403
from .modules import Module, ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from . import functional, init, utils  # noqa: F401
