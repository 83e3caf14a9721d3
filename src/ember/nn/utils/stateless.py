"""torch.nn.utils.stateless: functional_call (the same function as ember.func's)."""
from ...func import functional_call  # noqa: F401

__all__ = ["functional_call"]
