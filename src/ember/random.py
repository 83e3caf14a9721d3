"""Random number generation: `Generator`, `manual_seed`, and the default generator.

All of ember's randomness (rand/randn/randint/randperm, init, dropout, shuffling) draws from a
Generator here, so `ember.manual_seed(s)` makes a whole program reproducible.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator",
           "get_rng_state", "set_rng_state"]

_DEFAULT_SEED = 67280421310721  # torch's default_generator seed


class Generator:
    """A random source with torch.Generator's API (manual_seed, seed, initial_seed, state)."""

    def __init__(self, device="cpu"):
        self.device = device
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        self._seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed & 0xFFFFFFFFFFFFFFFF))
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        from .ops.creation import tensor
        import pickle
        return tensor(np.frombuffer(pickle.dumps((self._seed, self._rng.bit_generator.state)),
                                    np.uint8).copy())

    def set_state(self, state) -> "Generator":
        import pickle
        self._seed, st = pickle.loads(state.numpy().tobytes())
        self._rng.bit_generator.state = st
        return self

    # ---- draws used by ember (NumPy arrays) ---------------------------------------------
    def uniform(self, shape, low, high, np_dtype):
        out = self._rng.random(shape, dtype=np.float64 if np_dtype == np.float64 else np.float32)
        if low != 0.0 or high != 1.0:
            out = out * (high - low) + low
        return out.astype(np_dtype, copy=False)

    def normal(self, shape, mean, std, np_dtype):
        dt = np.float64 if np_dtype == np.float64 else np.float32
        out = self._rng.standard_normal(shape, dtype=dt)
        if std != 1.0:
            out *= std
        if mean != 0.0:
            out += mean
        return out.astype(np_dtype, copy=False)

    def integers(self, low, high, shape, np_dtype):
        return self._rng.integers(low, high, size=shape, dtype=np.int64).astype(np_dtype,
                                                                                copy=False)

    def permutation(self, n: int):
        return self._rng.permutation(n).astype(np.int64)

    def bernoulli(self, shape, p, np_dtype):
        return (self._rng.random(shape, dtype=np.float32) < p).astype(np_dtype)


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


def gen(generator) -> Generator:
    return default_generator if generator is None else generator
