"""`ember.backends`: the torch.backends flags beginner code touches (mps, cudnn)."""
from . import cudnn, mps  # noqa: F401
