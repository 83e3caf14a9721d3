"""ember.nn: layers, losses, containers and initialisation, with torch.nn's API."""
from .parameter import Buffer, Parameter
from .modules import *  # noqa: F401,F403
from .modules import Module, ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from . import functional, init, utils  # noqa: F401
# data parallelism (torch.nn.parallel; nn.DataParallel as torch exports it)
from . import parallel  # noqa: E402,F401
from .parallel import DataParallel  # noqa: E402,F401
# ---- breadth: the lazy modules' placeholders ----
from .parameter import UninitializedBuffer, UninitializedParameter  # noqa: E402,F401
