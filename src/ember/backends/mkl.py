"""`ember.backends.mkl`: whether torch's MKL is there; ember's products use NumPy's BLAS."""


def is_available() -> bool:
    return True
