"""`ember.onnx` (torch.onnx): export a model to an ONNX file through the `onnx` package
(the optional extra `ember[onnx]`)."""
from .utils import export  # noqa: F401
from .errors import UnsupportedOperatorError  # noqa: F401

__all__ = ["export", "UnsupportedOperatorError"]
