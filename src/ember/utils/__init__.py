"""ember.utils: helpers mirroring torch.utils (the data loading API lives in `ember.utils.data`)."""
from . import data

__all__ = ["data"]
