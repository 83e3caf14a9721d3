"""torch.amp: autocast and GradScaler."""
from .autocast_mode import (autocast, get_autocast_dtype, is_autocast_available,  # noqa: F401
                            is_autocast_enabled)


def __getattr__(name):
    if name == "GradScaler":  # loads ember.optim only when a scaler is made
        from .grad_scaler import GradScaler
        return GradScaler
    raise AttributeError(f"module 'ember.amp' has no attribute '{name}'")
