"""The layers of ember.nn, one module file per family (as torch.nn.modules)."""
from .module import Module
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
