"""Errors of ember.onnx."""


class UnsupportedOperatorError(RuntimeError):
    """An operator ember cannot write as ONNX (the message names it)."""
