"""`ember.backends.openmp`: torch reports OpenMP on its CPU builds."""


def is_available() -> bool:
    return True
