"""ember.random against torch's CPU generator: the same seed must give bit-identical numbers.

Every comparison is exact (np.array_equal), across seeds, sizes around the 16-element switch of
the normal kernel, dtypes and ranges; plus reproducibility, generator independence, state
round trips (in torch's own state layout) and torch's error types.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

import ember
import ember.random as er
from helpers import same_error

SEEDS = [0, 1, 42, 2 ** 32 + 7, 2 ** 63 + 11]
SIZES = list(range(0, 41)) + [100, 1000, 4099]
FLOATS = ["float32", "float64", "float16"]


def same(e, t):
    """Exact equality of an ember and a torch tensor: dtype, shape and every bit of every value."""
    assert str(e.dtype).replace("ember.", "") == str(t.dtype).replace("torch.", ""), (e.dtype,
                                                                                     t.dtype)
    assert tuple(e.shape) == tuple(t.shape), (tuple(e.shape), tuple(t.shape))
    a, b = e.detach().numpy(), t.detach().numpy()
    assert np.array_equal(a, b, equal_nan=True), (a.ravel()[:6], b.ravel()[:6],
                                                  int((a != b).sum()))


def gens(torch, seed):
    return ember.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)


# ---- seeding ----------------------------------------------------------------------------------
def test_default_seed_and_stream(torch):
    e, t = ember.Generator(), torch.Generator()
    assert e.initial_seed() == t.initial_seed() == 67280421310721
    same(ember.rand(5, generator=e), torch.rand(5, generator=t))


@pytest.mark.parametrize("seed", [0, 5, -1, -2 ** 63, 2 ** 64 - 1, 2 ** 32])
def test_manual_seed_values(torch, seed):
    e, t = gens(torch, seed)
    assert e.initial_seed() == t.initial_seed()
    same(ember.randn(20, generator=e), torch.randn(20, generator=t))


@pytest.mark.parametrize("seed", [123.7, "7", True])
def test_manual_seed_conversions(torch, seed):
    ember.manual_seed(seed)
    torch.manual_seed(seed)
    assert ember.initial_seed() == torch.initial_seed()
    e, t = same_error(torch, lambda: ember.Generator().manual_seed(seed),
                      lambda: torch.Generator().manual_seed(seed))
    assert str(e) == str(t)


def test_manual_seed_module_level(torch):
    ember.manual_seed(3)
    torch.manual_seed(3)
    assert ember.initial_seed() == torch.initial_seed() == 3
    same(ember.randn(2, 2), torch.randn(2, 2))
    same(ember.rand(3), torch.rand(3))
    assert ember.manual_seed(4) is ember.default_generator


@pytest.mark.parametrize("seed", [2 ** 64, -2 ** 63 - 1])
def test_manual_seed_overflow(torch, seed):
    same_error(torch, lambda: ember.manual_seed(seed), lambda: torch.manual_seed(seed))


def test_seed_is_nondeterministic_and_reported():
    g = ember.Generator()
    s = g.seed()
    assert g.initial_seed() == s
    a = ember.rand(4, generator=g)
    b = ember.rand(4, generator=ember.Generator().manual_seed(s))
    assert np.array_equal(a.numpy(), b.numpy())
    assert ember.Generator().seed() != ember.Generator().seed()


# ---- uniform ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("seed", SEEDS)
def test_rand_and_uniform(torch, seed, dtype):
    for n in SIZES:
        e, t = gens(torch, seed)
        same(ember.rand(n, dtype=getattr(ember, dtype), generator=e),
             torch.rand(n, dtype=getattr(torch, dtype), generator=t))
        same(ember.empty(n, dtype=getattr(ember, dtype)).uniform_(-0.37, 2.9, generator=e),
             torch.empty(n, dtype=getattr(torch, dtype)).uniform_(-0.37, 2.9, generator=t))


@pytest.mark.parametrize("dtype,low,high", [("float32", 1e6, 1e6 + 1), ("float64", 1e15, 1e15 + 1),
                                            ("float16", 3.0, 5.0), ("float32", -1e-3, 1e-3)])
def test_uniform_values_rounding_to_high_become_low(torch, dtype, low, high):
    e, t = gens(torch, 9)
    a = ember.empty(20000, dtype=getattr(ember, dtype)).uniform_(low, high, generator=e)
    b = torch.empty(20000, dtype=getattr(torch, dtype)).uniform_(low, high, generator=t)
    same(a, b)
    assert (a.numpy() < np.dtype(a.numpy().dtype).type(high)).all()


def test_rand_shapes_and_like(torch):
    ember.manual_seed(11)
    torch.manual_seed(11)
    same(ember.rand(3, 4, 5), torch.rand(3, 4, 5))
    same(ember.rand((2, 3)), torch.rand((2, 3)))
    same(ember.rand_like(ember.zeros(4, 2, dtype=ember.float64)),
         torch.rand_like(torch.zeros(4, 2, dtype=torch.float64)))
    same(ember.rand(()), torch.rand(()))


def test_uniform_non_contiguous_fills_memory_order(torch):
    e, t = gens(torch, 2)
    same(ember.empty(20, 5).t().uniform_(generator=e), torch.empty(20, 5).t().uniform_(generator=t))
    same(ember.empty(2, 3, 4).permute(2, 0, 1).uniform_(-1, 1, generator=e),
         torch.empty(2, 3, 4).permute(2, 0, 1).uniform_(-1, 1, generator=t))


# ---- normal -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("seed", SEEDS)
def test_randn_and_normal_(torch, seed, dtype):
    for n in SIZES:
        e, t = gens(torch, seed)
        same(ember.randn(n, dtype=getattr(ember, dtype), generator=e),
             torch.randn(n, dtype=getattr(torch, dtype), generator=t))
        same(ember.empty(n, dtype=getattr(ember, dtype)).normal_(0.3, 0.02, generator=e),
             torch.empty(n, dtype=getattr(torch, dtype)).normal_(0.3, 0.02, generator=t))
        same(ember.rand(3, generator=e), torch.rand(3, generator=t))  # same words consumed


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_randn_large(torch, dtype):
    for seed in (0, 7):
        e, t = gens(torch, seed)
        same(ember.randn(300, 333, dtype=getattr(ember, dtype), generator=e),
             torch.randn(300, 333, dtype=getattr(torch, dtype), generator=t))
        same(ember.empty(20011, dtype=getattr(ember, dtype)).normal_(-2.5, 3.75, generator=e),
             torch.empty(20011, dtype=getattr(torch, dtype)).normal_(-2.5, 3.75, generator=t))


def test_normal_scalar_path_caches_second_value(torch):
    """Small draws come in Box-Muller pairs; the second value waits in the generator."""
    e, t = gens(torch, 5)
    for n, dt in [(1, "float32"), (1, "float64"), (3, "float32"), (2, "float64"), (17, "float32"),
                  (5, "float64"), (1, "float32")]:
        same(ember.randn(n, dtype=getattr(ember, dt), generator=e),
             torch.randn(n, dtype=getattr(torch, dt), generator=t))
        same(ember.rand(1, generator=e), torch.rand(1, generator=t))
    # manual_seed clears the cached value
    ember.randn(1, generator=e)
    torch.randn(1, generator=t)
    e.manual_seed(5)
    t.manual_seed(5)
    same(ember.randn(3, generator=e), torch.randn(3, generator=t))


def test_normal_non_contiguous_takes_scalar_path(torch):
    e, t = gens(torch, 0)
    same(ember.empty(8, 5).t().normal_(generator=e), torch.empty(8, 5).t().normal_(generator=t))
    same(ember.empty(6, 7, 2).transpose(0, 2).normal_(1.0, 2.0, generator=e),
         torch.empty(6, 7, 2).transpose(0, 2).normal_(1.0, 2.0, generator=t))


def test_normal_functional_forms(torch):
    mean = np.linspace(-3, 3, 40).astype(np.float32)
    std = np.linspace(0.1, 2, 40).astype(np.float32)
    for n in (5, 20, 40):
        e, t = gens(torch, n)
        em, tm = ember.tensor(mean[:n]), torch.tensor(mean[:n])
        es, ts = ember.tensor(std[:n]), torch.tensor(std[:n])
        same(ember.normal(em, es, generator=e), torch.normal(tm, ts, generator=t))
        same(ember.normal(em, 0.7, generator=e), torch.normal(tm, 0.7, generator=t))
        same(ember.normal(0.4, es, generator=e), torch.normal(0.4, ts, generator=t))
        same(ember.normal(2.0, 3.0, (n, 2), generator=e), torch.normal(2.0, 3.0, (n, 2), generator=t))
    e, t = gens(torch, 1)
    same(ember.normal(ember.zeros(3, 1), ember.ones(1, 4), generator=e),
         torch.normal(torch.zeros(3, 1), torch.ones(1, 4), generator=t))
    same(ember.randn(4, 5, generator=e), torch.randn(4, 5, generator=t))


def test_randn_like(torch):
    ember.manual_seed(8)
    torch.manual_seed(8)
    same(ember.randn_like(ember.zeros(4, 5, dtype=ember.float64)),
         torch.randn_like(torch.zeros(4, 5, dtype=torch.float64)))


# ---- integers ---------------------------------------------------------------------------------
RANGES = [(0, 10), (3, 100), (-5, 7), (0, 2 ** 28 - 1), (0, 2 ** 28), (-5, 2 ** 31), (0, 2 ** 32),
          (-2 ** 40, 2 ** 62), (-2 ** 63, 2 ** 63 - 1)]


@pytest.mark.parametrize("low,high", RANGES)
def test_randint_ranges(torch, low, high):
    for seed in SEEDS[:3]:
        e, t = gens(torch, seed)
        for n in (0, 1, 5, 1000):
            same(ember.randint(low, high, (n,), generator=e),
                 torch.randint(low, high, (n,), generator=t))
            same(ember.empty(n, dtype=ember.int64).random_(low, high, generator=e),
                 torch.empty(n, dtype=torch.int64).random_(low, high, generator=t))


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8", "float32",
                                   "float64", "float16"])
def test_randint_dtypes_and_forms(torch, dtype):
    e, t = gens(torch, 4)
    ed, td = getattr(ember, dtype), getattr(torch, dtype)
    same(ember.randint(10, (3, 4), dtype=ed, generator=e), torch.randint(10, (3, 4), dtype=td,
                                                                         generator=t))
    same(ember.randint(2, 50, size=(7,), dtype=ed, generator=e),
         torch.randint(2, 50, size=(7,), dtype=td, generator=t))
    same(ember.randint(high=9, size=(5,), dtype=ed, generator=e),
         torch.randint(high=9, size=(5,), dtype=td, generator=t))
    same(ember.empty(6, dtype=ed).random_(20, generator=e),
         torch.empty(6, dtype=td).random_(20, generator=t))
    same(ember.randint_like(ember.zeros(3, dtype=ed), 5, 9, generator=e),
         torch.randint_like(torch.zeros(3, dtype=td), 5, 9, generator=t))


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8", "bool", "float32",
                                   "float64", "float16"])
def test_random_full_range(torch, dtype):
    for seed in SEEDS:
        e, t = gens(torch, seed)
        same(ember.empty(50, dtype=getattr(ember, dtype)).random_(generator=e),
             torch.empty(50, dtype=getattr(torch, dtype)).random_(generator=t))


def test_random_from_to_none(torch):
    e, t = gens(torch, 6)
    same(ember.empty(8, dtype=ember.int64).random_(5, None, generator=e),
         torch.empty(8, dtype=torch.int64).random_(5, None, generator=t))


def test_sampler_seed_draw(torch):
    """DataLoader's RandomSampler seeds its generator with empty((), int64).random_()."""
    for seed in SEEDS:
        ember.manual_seed(seed)
        torch.manual_seed(seed)
        a = ember.empty((), dtype=ember.int64).random_().item()
        b = torch.empty((), dtype=torch.int64).random_().item()
        assert a == b


# ---- randperm ---------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_randperm(torch, seed):
    for n in SIZES + [60000]:
        e, t = gens(torch, seed)
        same(ember.randperm(n, generator=e), torch.randperm(n, generator=t))
        same(ember.rand(2, generator=e), torch.rand(2, generator=t))


def test_randperm_dtype_and_default_generator(torch):
    ember.manual_seed(1)
    torch.manual_seed(1)
    same(ember.randperm(50, dtype=ember.float32), torch.randperm(50, dtype=torch.float32))
    same(ember.randperm(300), torch.randperm(300))


def test_fisher_yates_matches_sequential_swaps():
    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 17, 256, 5000):
        for _ in range(5):
            z = rng.integers(0, np.arange(n - 1, 0, -1) + 1)
            p = list(range(n))
            for i, k in enumerate(z.tolist()):
                p[i], p[i + k] = p[i + k], p[i]
            assert np.array_equal(er._fisher_yates(z.astype(np.int64)), p)


def test_box_muller_fused_steps_round_once():
    """The float32 kernel rounds its fma steps twice (float64, then float32) without the halfway
    check; that is exact for every input it can see (all 2**24 uniforms were checked once). Here:
    a strided sample of those inputs through both the checked and the unchecked fma."""
    u = np.arange(0, 2 ** 24, 61, dtype=np.int64).astype(np.float32) * np.float32(2.0 ** -24)
    u = u[:len(u) // 16 * 16]
    fast = er._box_muller16_f32(u)
    saved = er._fma32_box
    er._fma32_box = er._fma32
    try:
        exact = er._box_muller16_f32(u)
    finally:
        er._fma32_box = saved
    assert np.array_equal(fast, exact)


def _rn32(q):
    """The float32 nearest to the Fraction q (ties to even)."""
    from fractions import Fraction
    r = np.float32(float(q))
    cands = [np.nextafter(r, np.float32(-np.inf)), r, np.nextafter(r, np.float32(np.inf))]
    return min(cands, key=lambda v: (abs(Fraction(float(v)) - q),
                                     int(np.array(v).view(np.uint32)) & 1))


def test_fma_emulation_random():
    import math
    from fractions import Fraction
    rng = np.random.default_rng(5)
    a, b, c = (rng.standard_normal(3000) for _ in range(3))
    c[:1000] *= 1e-12  # tiny addends: the product's low bits decide the rounding
    exact = [math.fsum([*_two_prod(x, y), z]) for x, y, z in zip(a, b, c)]  # correctly rounded
    assert np.array_equal(er._fma64(a, b, c), exact)
    a, b, c = (x.astype(np.float32) for x in (a, b, c))
    ref = [_rn32(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)))
           for x, y, z in zip(a, b, c)]
    assert np.array_equal(er._fma32(a, b, c), ref)


@pytest.mark.parametrize("k", [1, 3, 100])
def test_fma_emulation_at_halfway_points(k):
    """a * b + c just below a halfway point that the first rounding would land on exactly."""
    c = np.array([1 + 2.0 ** -23], np.float32)
    a = np.array([1 + k * 2.0 ** -23], np.float32)
    b = np.array([(1 - k * 2.0 ** -23) * 2.0 ** -24], np.float32)
    naive = (a.astype(np.float64) * b + c).astype(np.float32)
    assert naive[0] == np.float32(1 + 2.0 ** -22)  # rounding twice goes wrong here
    assert er._fma32(a, b, c)[0] == np.float32(1 + 2.0 ** -23)
    c, a, b = 1 + 2.0 ** -52, 1 + k * 2.0 ** -52, (1 - k * 2.0 ** -52) * 2.0 ** -53
    assert a * b + c == 1 + 2.0 ** -51
    assert er._fma64(np.array([a]), b, c)[0] == 1 + 2.0 ** -52


def _two_prod(x, y):
    """x * y as an exact sum of two floats (Dekker)."""
    p = x * y
    xh, xl = er._split(np.float64(x))
    yh, yl = er._split(np.float64(y))
    return p, ((xh * yh - p) + xh * yl + xl * yh) + xl * yl


# ---- bernoulli, dropout, multinomial, exponential ---------------------------------------------
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.8, 1.0])
def test_bernoulli_scalar_p(torch, p):
    for dt in ("float32", "float64", "int64", "uint8"):
        e, t = gens(torch, 3)
        same(ember.empty(257, dtype=getattr(ember, dt)).bernoulli_(p, generator=e),
             torch.empty(257, dtype=getattr(torch, dt)).bernoulli_(p, generator=t))
    e, t = gens(torch, 3)
    same(ember.bernoulli(ember.zeros(4, 9), p=p, generator=e),
         torch.bernoulli(torch.zeros(4, 9), p=p, generator=t))


@pytest.mark.parametrize("sdt,pdt", [("float32", "float32"), ("float32", "float64"),
                                     ("float64", "float32"), ("float16", "float16"),
                                     ("int64", "float32"), ("uint8", "float64")])
def test_bernoulli_tensor_p(torch, sdt, pdt):
    p = np.random.default_rng(1).random((40, 30))
    e, t = gens(torch, 12)
    same(ember.empty(40, 30, dtype=getattr(ember, sdt)).bernoulli_(
        ember.tensor(p, dtype=getattr(ember, pdt)), generator=e),
        torch.empty(40, 30, dtype=getattr(torch, sdt)).bernoulli_(
            torch.tensor(p, dtype=getattr(torch, pdt)), generator=t))
    same(ember.bernoulli(ember.tensor(p, dtype=getattr(ember, pdt)), generator=e),
         torch.bernoulli(torch.tensor(p, dtype=getattr(torch, pdt)), generator=t))


def test_bernoulli_tensor_p_broadcast_and_non_contiguous(torch):
    e, t = gens(torch, 2)
    same(ember.empty(3, 20).t().bernoulli_(ember.full((3,), 0.3), generator=e),
         torch.empty(3, 20).t().bernoulli_(torch.full((3,), 0.3), generator=t))


@pytest.mark.parametrize("p", [0.1, 0.2, 0.25, 0.5, 0.7])
def test_dropout_matches(torch, p):
    import ember.nn.functional as F
    x = np.random.default_rng(0).random((64, 100)).astype(np.float32)
    for seed in (0, 1):
        ember.manual_seed(seed)
        torch.manual_seed(seed)
        same(F.dropout(ember.tensor(x), p), torch.nn.functional.dropout(torch.tensor(x), p))
        same(ember.rand(2), torch.rand(2))


@pytest.mark.parametrize("replacement", [False, True])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_multinomial(torch, replacement, k):
    probs = np.array([0.1, 0.2, 0.3, 0.4, 0.0, 1.5], np.float32)
    rows = np.random.default_rng(3).random((5, 6)).astype(np.float32)
    for seed in SEEDS[:3]:
        e, t = gens(torch, seed)
        same(ember.multinomial(ember.tensor(probs), k, replacement, generator=e),
             torch.multinomial(torch.tensor(probs), k, replacement, generator=t))
        same(ember.multinomial(ember.tensor(rows), k, replacement=replacement, generator=e),
             torch.multinomial(torch.tensor(rows), k, replacement=replacement, generator=t))
        same(ember.multinomial(ember.tensor(rows, dtype=ember.float64), k, replacement,
                               generator=e),
             torch.multinomial(torch.tensor(rows, dtype=torch.float64), k, replacement,
                               generator=t))


def test_multinomial_many_samples_with_replacement(torch):
    e, t = gens(torch, 0)
    w = ember.tensor([1.0, 5.0, 0.0, 2.0, 2.0])
    same(ember.multinomial(w, 1000, True, generator=e),
         torch.multinomial(torch.tensor([1.0, 5.0, 0.0, 2.0, 2.0]), 1000, True, generator=t))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_exponential_draws(torch, dtype):
    e, t = gens(torch, 4)
    a = e.exponential((5000,), 2.5, np.dtype(dtype))
    b = torch.empty(5000, dtype=getattr(torch, dtype)).exponential_(2.5, generator=t).numpy()
    assert np.array_equal(a, b)


# ---- state and generators ---------------------------------------------------------------------
def test_state_bytes_equal_torch(torch):
    ember.manual_seed(123)
    torch.manual_seed(123)
    assert np.array_equal(ember.get_rng_state().numpy(), torch.get_rng_state().numpy())
    for step in (lambda m: m.rand(3), lambda m: m.randn(1), lambda m: m.rand(700),
                 lambda m: m.randn(5, dtype=m.float64), lambda m: m.randperm(624)):
        step(ember)
        step(torch)
        se, st = ember.get_rng_state(), torch.get_rng_state()
        assert se.dtype == ember.uint8 and tuple(se.shape) == (5056,)
        assert np.array_equal(se.numpy(), st.numpy())


def test_state_round_trip_and_exchange_with_torch(torch):
    g = ember.Generator().manual_seed(99)
    ember.randn(3, generator=g)  # leaves a cached normal in the state
    s = g.get_state()
    a = ember.randn(7, generator=g)
    g.manual_seed(0)
    g.set_state(s)
    assert np.array_equal(ember.randn(7, generator=g).numpy(), a.numpy())
    # ember's state restores in torch and torch's in ember
    t = torch.Generator().set_state(torch.from_numpy(s.numpy().copy()))
    assert np.array_equal(torch.randn(7, generator=t).numpy(), a.numpy())
    t = torch.Generator().manual_seed(5)
    torch.rand(1000, generator=t)
    g.set_state(ember.tensor(t.get_state().numpy()))
    same(ember.randn(40, generator=g), torch.randn(40, generator=t))
    # module-level functions
    ember.manual_seed(1)
    s = ember.get_rng_state()
    a = ember.rand(5)
    ember.set_rng_state(s)
    assert np.array_equal(ember.rand(5).numpy(), a.numpy())


def test_state_errors(torch):
    same_error(torch, lambda: ember.set_rng_state(ember.zeros(10, dtype=ember.uint8)),
               lambda: torch.set_rng_state(torch.zeros(10, dtype=torch.uint8)))
    same_error(torch, lambda: ember.set_rng_state(ember.zeros(5056)),
               lambda: torch.set_rng_state(torch.zeros(5056)))


def test_generators_are_independent(torch):
    ember.manual_seed(0)
    g1 = ember.Generator().manual_seed(0)
    g2 = ember.Generator().manual_seed(0)
    a = ember.rand(5, generator=g1)
    ember.rand(100)  # the default generator moves; g2 does not
    ember.rand(50, generator=g1)
    b = ember.rand(5, generator=g2)
    assert np.array_equal(a.numpy(), b.numpy())
    ember.manual_seed(0)
    assert np.array_equal(ember.rand(5).numpy(), a.numpy())
    assert repr(g1).startswith("<ember.Generator object")
    assert g1.device == ember.device("cpu")


def test_reproducible_programs():
    def program():
        ember.manual_seed(2024)
        return np.concatenate([ember.rand(5).numpy(), ember.randn(30).numpy(),
                               ember.randint(0, 9, (4,)).numpy().astype(np.float32),
                               ember.randperm(7).numpy().astype(np.float32)])
    assert np.array_equal(program(), program())


def test_generator_pickles_with_its_state():
    import copy
    import pickle
    g = ember.Generator().manual_seed(3)
    ember.randn(1, generator=g)  # a cached normal travels too
    h, k = pickle.loads(pickle.dumps(g)), copy.deepcopy(g)
    a = ember.randn(3, generator=g).numpy()
    assert np.array_equal(ember.randn(3, generator=h).numpy(), a)
    assert np.array_equal(ember.randn(3, generator=k).numpy(), a)


def test_fork_rng():
    ember.manual_seed(3)
    with ember.random.fork_rng():
        ember.rand(10)
    a = ember.rand(3)
    ember.manual_seed(3)
    assert np.array_equal(ember.rand(3).numpy(), a.numpy())


def test_generator_rejects_other_devices():
    with pytest.raises(RuntimeError):
        ember.Generator(device="cuda")


# ---- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name,fn", [
    ("randint low>=high", lambda m: m.randint(5, 3, (2,))),
    ("randint equal", lambda m: m.randint(5, 5, (2,))),
    ("random_ from>=to", lambda m: m.empty(3).random_(5, 3)),
    ("uniform_ from>to", lambda m: m.empty(3).uniform_(1, 0)),
    ("uniform_ from>to float", lambda m: m.empty(3).uniform_(1.5, 0.0)),
    ("normal_ std<0", lambda m: m.empty(3).normal_(0, -1)),
    ("normal std<0", lambda m: m.normal(m.zeros(2), -1.0)),
    ("normal tensor std<0", lambda m: m.normal(m.zeros(2), m.tensor([-1.0, 1.0]))),
    ("uniform_ int", lambda m: m.empty(3, dtype=m.int64).uniform_()),
    ("normal_ int", lambda m: m.empty(3, dtype=m.int64).normal_()),
    ("rand int", lambda m: m.rand(3, dtype=m.int64)),
    ("randn int", lambda m: m.randn(3, dtype=m.int64)),
    ("randperm negative", lambda m: m.randperm(-1)),
    ("randperm half", lambda m: m.randperm(3000, dtype=m.float16)),
    ("bernoulli_ p", lambda m: m.empty(3).bernoulli_(1.5)),
    ("bernoulli_ p negative", lambda m: m.empty(3).bernoulli_(-1.0)),
    ("bernoulli p tensor", lambda m: m.bernoulli(m.tensor([1.5]))),
    ("multinomial too many", lambda m: m.multinomial(m.tensor([0.1, 0.9]), 3)),
    ("multinomial zero sum", lambda m: m.multinomial(m.tensor([0., 0.]), 1)),
    ("multinomial negative", lambda m: m.multinomial(m.tensor([-1., 2.]), 1)),
    ("multinomial 3d", lambda m: m.multinomial(m.ones(2, 2, 2), 1)),
])
def test_errors(torch, name, fn):
    e, t = same_error(torch, lambda: fn(ember), lambda: fn(torch))
    assert str(t).startswith(str(e).replace("ember", "torch")), (str(e), str(t))


# ---- what other parts of ember draw -----------------------------------------------------------
def test_default_layer_initialisation(torch):
    nn = pytest.importorskip("ember.nn")
    for seed in (0, 1):
        ember.manual_seed(seed)
        torch.manual_seed(seed)
        a, b = nn.Linear(784, 128), torch.nn.Linear(784, 128)
        same(a.weight, b.weight)
        same(a.bias, b.bias)
        a, b = nn.Conv2d(3, 8, 5), torch.nn.Conv2d(3, 8, 5)
        same(a.weight, b.weight)
        same(a.bias, b.bias)


def test_data_loader_shuffle_and_random_split(torch):
    data = pytest.importorskip("ember.utils.data")
    import torch.utils.data as td
    for seed in (0, 3):
        ember.manual_seed(seed)
        torch.manual_seed(seed)
        assert [i for _ in range(2) for i in data.RandomSampler(range(60000))] == \
            [i for _ in range(2) for i in td.RandomSampler(range(60000))]
        a, _ = data.random_split(range(100), [0.8, 0.2])
        b, _ = td.random_split(range(100), [0.8, 0.2])
        assert list(a.indices) == list(b.indices)
        x = np.arange(50, dtype=np.float32)
        eb = [b[0].numpy().tolist() for b in data.DataLoader(
            data.TensorDataset(ember.tensor(x)), batch_size=8, shuffle=True)]
        tb = [b[0].numpy().tolist() for b in td.DataLoader(
            td.TensorDataset(torch.tensor(x)), batch_size=8, shuffle=True)]
        assert eb == tb


def test_draws_are_vectorised_and_fast():
    g = ember.Generator()
    w = ember.empty(128, 784)
    t0 = time.perf_counter()
    for _ in range(10):
        w.uniform_(-0.0357, 0.0357, generator=g)
    assert (time.perf_counter() - t0) / 10 < 0.05  # a few ms in practice; generous for busy CI
    t0 = time.perf_counter()
    ember.randperm(60000, generator=g)
    ember.randn(100000, generator=g)
    assert time.perf_counter() - t0 < 1.0
