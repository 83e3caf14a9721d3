"""`ember.backends`: the torch.backends flags CPU programs touch (cuda, cudnn, mps, mkldnn...)."""
from . import cuda, cudnn, mkl, mkldnn, mps, openmp  # noqa: F401
