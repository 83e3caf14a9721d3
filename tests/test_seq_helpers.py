"""What sequence models use around attention, against torch: einsum, Tensor.unfold,
multinomial, RMSNorm, GELU (exact and tanh), embedding options, normalize, one_hot,
broadcast masked_fill, topk, clip_grad_norm_ over many parameters, weight tying."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck

from helpers import same_error


def _arr(rng, shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _both(torch, fn, arrays, grad=True, rtol=1e-5, atol=1e-6):
    """fn(lib, *tensors) on torch and ember; compare outputs and the inputs' gradients."""
    outs, grads = [], []
    for lib in (torch, ember):
        ts = [lib.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        out = fn(lib, *ts)
        if grad:
            w = np.cos(np.arange(out.numel())).reshape(tuple(out.shape)).astype(
                str(out.dtype).split(".")[-1])
            (out * lib.tensor(w)).sum().backward()
        outs.append(out)
        grads.append([t.grad for t in ts])
    t, e = outs
    assert tuple(e.shape) == tuple(t.shape)
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
    for ge, gt in zip(grads[1], grads[0]):
        if gt is None:
            assert ge is None
        else:
            np.testing.assert_allclose(ge.numpy(), gt.numpy(), rtol=rtol, atol=atol)
    return e


# ---- einsum ---------------------------------------------------------------------------------
EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("i j , j k -> i k", [(2, 3), (3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("bij,bjk->bik", [(1, 2, 3), (4, 3, 5)]),  # size-1 broadcast of a named dim
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("iij->ji", [(3, 3, 2)]),
    ("ij->", [(3, 4)]),
    ("ij->ji", [(3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i->", [(5,), (5,)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("...j,jk->...k", [(5, 1, 3), (3, 4)]),
    ("...ij,...jk", [(2, 3, 4), (1, 4, 5)]),
    ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
    ("ijk,jl,lm->ikm", [(2, 3, 4), (3, 5), (5, 2)]),
    ("ij,jk,kl,lm->im", [(2, 3), (3, 4), (4, 5), (5, 2)]),
    ("aB,Bc->ac", [(2, 3), (3, 4)]),
    ("ij,k->ijk", [(2, 3), (4,)]),
    ("ijk->j", [(2, 3, 4)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_matches_torch(torch, eq, shapes):
    rng = np.random.default_rng(0)
    arrays = [_arr(rng, s) for s in shapes]
    _both(torch, lambda lib, *ts: lib.einsum(eq, *ts), arrays, rtol=1e-5, atol=1e-5)


def test_einsum_list_form_int_and_float64(torch):
    rng = np.random.default_rng(1)
    a, b = _arr(rng, (2, 3)), _arr(rng, (3, 4))
    _both(torch, lambda lib, x, y: lib.einsum("ij,jk->ik", [x, y]), [a, b])
    ai, bi = (np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4))
    _both(torch, lambda lib, x, y: lib.einsum("ij,jk->ik", x, y), [ai, bi], grad=False)
    _both(torch, lambda lib, x, y: lib.einsum("ij,jk->ik", x, y),
          [a.astype(np.float64), b.astype(np.float64)], rtol=1e-12, atol=1e-12)


def test_einsum_gradcheck():
    rng = np.random.default_rng(2)
    x, y, z = (ember.tensor(_arr(rng, s, np.float64), requires_grad=True)
               for s in ((2, 3, 3), (3, 4), (1, 4)))
    assert gradcheck(lambda a, b, c: ember.einsum("bii,ij,kj->bk", a, b, c), (x, y, z))
    assert gradcheck(lambda a: ember.einsum("bij->j", a), (x,))
    assert gradcheck(lambda a, b: ember.einsum("...i,ij", a, b), (x, y))


EINSUM_ERRORS = [
    ("ijk,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk->il", [(2, 3), (3, 4)]),
    ("ij,jk->ik", [(2, 3)]),
    ("ij->ij", [(2, 3), (3, 4)]),
    ("ij,kk->ik", [(2, 3), (3, 4)]),
    ("ij,jk->iik", [(2, 3), (3, 4)]),
    ("i1,jk->ik", [(2, 3), (3, 4)]),
    ("ijk...,j->i", [(2, 3), (3,)]),
]


@pytest.mark.parametrize("i", range(len(EINSUM_ERRORS) + 1))
def test_einsum_errors(torch, i):
    def make(lib):
        if i == len(EINSUM_ERRORS):
            return lambda: lib.einsum("ij,jk->ik", lib.zeros(2, 3), lib.zeros(3, 4,
                                                                              dtype=lib.float64))
        eq, shapes = EINSUM_ERRORS[i]
        return lambda: lib.einsum(eq, *[lib.zeros(*s) for s in shapes])
    ee, te = same_error(torch, make(ember), make(torch))
    assert str(ee) == str(te)


# ---- unfold ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,dim,size,step", [((3, 8), 1, 3, 1), ((3, 8), 1, 2, 2),
                                                 ((3, 8), -1, 3, 4), ((6, 2, 3), 0, 4, 1),
                                                 ((5,), 0, 5, 1), ((), 0, 1, 1),
                                                 ((2, 5), 1, 0, 2)])
def test_unfold_matches_torch(torch, shape, dim, size, step):
    a = _arr(np.random.default_rng(3), shape)
    out = _both(torch, lambda lib, x: x.unfold(dim, size, step), [a])
    assert type(out.grad_fn).__name__ == "UnfoldBackward0"


def test_unfold_is_a_view_and_gradchecks():
    x = ember.arange(10.0)
    u = x.unfold(0, 4, 2)
    assert u._base is x
    x.add_(1.0)  # the view sees writes to its base
    np.testing.assert_array_equal(u.numpy()[1], [3, 4, 5, 6])
    y = ember.tensor(_arr(np.random.default_rng(4), (2, 7), np.float64), requires_grad=True)
    assert gradcheck(lambda t: t.unfold(1, 3, 2) ** 2, (y,))
    assert gradcheck(lambda t: t.unfold(1, 3, 1).unfold(0, 2, 1) ** 2, (y,))


@pytest.mark.parametrize("args", [(1, 9, 1), (1, 2, 0), (1, 2, -1), (2, 1, 1)])
def test_unfold_errors(torch, args):
    ee, te = same_error(torch, lambda: ember.zeros(3, 8).unfold(*args),
                        lambda: torch.zeros(3, 8).unfold(*args))
    assert str(ee) == str(te)


# ---- multinomial, topk ----------------------------------------------------------------------
@pytest.mark.parametrize("replacement,n", [(True, 7), (False, 5), (True, 1), (False, 10)])
def test_multinomial_draws_as_torch(torch, replacement, n):
    p = np.random.default_rng(5).random((4, 10)).astype(np.float32)
    res = []
    for lib in (torch, ember):
        lib.manual_seed(11)
        a = lib.multinomial(lib.tensor(p), n, replacement=replacement)
        b = lib.tensor(p[0]).multinomial(n, replacement)  # the Tensor method, 1-D
        g = lib.Generator().manual_seed(5)
        c = lib.tensor(p).multinomial(1, generator=g)
        res.append([x.numpy().tolist() for x in (a, b, c)] + [str(a.dtype).split(".")[-1]])
    assert res[0] == res[1]


def test_topk_last_dim(torch):
    a = _arr(np.random.default_rng(6), (3, 4, 10))
    for largest in (True, False):
        for k in (1, 4):
            _both(torch, lambda lib, x: x.topk(k, dim=-1, largest=largest, sorted=True)[0], [a])
            idx = [lib.tensor(a).topk(k, largest=largest)[1].numpy() for lib in (torch, ember)]
            np.testing.assert_array_equal(idx[1], idx[0])


# ---- norms and activations -----------------------------------------------------------------
@pytest.mark.parametrize("shape,norm,eps,affine", [((2, 3, 8), (8,), None, True),
                                                   ((2, 3, 8), (3, 8), 1e-3, True),
                                                   ((4, 6), 6, 1e-6, False)])
def test_rms_norm_matches_torch(torch, shape, norm, eps, affine):
    a = _arr(np.random.default_rng(7), shape)
    mods = [lib.nn.RMSNorm(norm, eps=eps, elementwise_affine=affine) for lib in (torch, ember)]
    assert repr(mods[1]) == repr(mods[0])
    assert list(mods[1].state_dict()) == list(mods[0].state_dict())
    if affine:
        w = _arr(np.random.default_rng(8), tuple(mods[0].weight.shape))
        for lib, m in zip((torch, ember), mods):
            with lib.no_grad():
                m.weight.copy_(lib.tensor(w))
    res = []
    for lib, m in zip((torch, ember), mods):
        x = lib.tensor(a, requires_grad=True)
        out = m(x)
        (out * out).sum().backward()
        res.append((out, x.grad) + ((m.weight.grad,) if affine else ()))
    for e, t in zip(res[1], res[0]):
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-5,
                                   atol=1e-5)
    f = [lib.nn.functional.rms_norm(lib.tensor(a), norm if isinstance(norm, tuple) else (norm,))
         for lib in (torch, ember)]
    np.testing.assert_allclose(f[1].numpy(), f[0].numpy(), rtol=1e-5, atol=1e-6)


def test_rms_norm_gradcheck_and_errors(torch):
    x = ember.tensor(_arr(np.random.default_rng(9), (3, 5), np.float64), requires_grad=True)
    w = ember.tensor(_arr(np.random.default_rng(10), (5,), np.float64), requires_grad=True)
    assert gradcheck(lambda a, b: ember.nn.functional.rms_norm(a, (5,), b, 1e-5), (x, w))
    for args in (((3,),), ((5,), "w3")):
        def make(lib):
            wt = lib.ones(3) if len(args) > 1 else None
            return lambda: lib.nn.functional.rms_norm(lib.zeros(2, 3, 5), args[0], wt)
        ee, te = same_error(torch, make(ember), make(torch))
        assert str(ee).replace("ember", "torch") == str(te)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_matches_torch(torch, approximate, dtype):
    a = (_arr(np.random.default_rng(11), (4, 300), dtype) * 4).astype(dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    _both(torch, lambda lib, x: lib.nn.functional.gelu(x, approximate=approximate), [a],
          rtol=tol, atol=tol)
    mods = [lib.nn.GELU(approximate) for lib in (torch, ember)]
    assert repr(mods[1]) == repr(mods[0])
    x = ember.tensor(a[:2, :5].astype(np.float64), requires_grad=True)
    assert gradcheck(lambda t: ember.nn.functional.gelu(t, approximate=approximate), (x,))
    # double backward (create_graph) goes through the differentiable path
    y = ember.nn.functional.gelu(x, approximate=approximate)
    (g,) = ember.autograd.grad(y.sum(), x, create_graph=True)
    assert g.requires_grad


def test_normalize_and_one_hot(torch):
    a = _arr(np.random.default_rng(12), (3, 4))
    for p, dim in ((2.0, 1), (1.0, 0), (3.0, -1)):
        _both(torch, lambda lib, x: lib.nn.functional.normalize(x, p=p, dim=dim), [a])
    a[1] = 0  # a zero row: eps keeps it finite
    _both(torch, lambda lib, x: lib.nn.functional.normalize(x), [a])
    idx = np.array([[0, 2], [1, 3]])
    oh = [lib.nn.functional.one_hot(lib.tensor(idx), 5) for lib in (torch, ember)]
    np.testing.assert_array_equal(oh[1].numpy(), oh[0].numpy())
    assert str(oh[1].dtype) == "ember.int64"


def test_masked_fill_broadcast_mask(torch):
    a = _arr(np.random.default_rng(13), (2, 3, 4, 4))
    causal = np.triu(np.ones((4, 4), bool), 1)
    _both(torch, lambda lib, x: x.masked_fill(lib.tensor(causal), float("-inf")).softmax(-1),
          [a])
    _both(torch, lambda lib, x: x.masked_fill(lib.tensor(causal[None, None, :, :1]), 2.5), [a])
    big = np.random.default_rng(14).random((2, 1, 4, 4)) > 0.5  # the mask may widen the result
    _both(torch, lambda lib, x: x[0, 0].masked_fill(lib.tensor(big), -1.0), [a])
    ee, te = same_error(torch, lambda: ember.zeros(3, 4).masked_fill(ember.zeros(2, 4) > 0, 1.),
                        lambda: torch.zeros(3, 4).masked_fill(torch.zeros(2, 4) > 0, 1.))
    assert str(ee) == str(te)


# ---- embedding ------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [dict(padding_idx=1), dict(padding_idx=-1, scale_grad_by_freq=True),
                                dict(max_norm=1.5), dict(max_norm=1.0, norm_type=1.0),
                                dict(scale_grad_by_freq=True)])
def test_embedding_options(torch, kw):
    w = _arr(np.random.default_rng(14), (6, 4)) * 2
    idx = np.array([[0, 2, 2, 5], [1, 1, 1, 3]])
    res = []
    for lib in (torch, ember):
        wt = lib.tensor(w.copy(), requires_grad=True)
        out = lib.nn.functional.embedding(lib.tensor(idx), wt, **kw)
        (out * out).sum().backward()
        res.append((out.detach().numpy(), wt.grad.numpy(), wt.detach().numpy()))
    for e, t in zip(res[1], res[0]):  # max_norm also renormalises the weight in place
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)


def test_embedding_from_pretrained(torch):
    w = np.arange(12, dtype=np.float32).reshape(4, 3)
    for freeze in (True, False):
        mods = [lib.nn.Embedding.from_pretrained(lib.tensor(w), freeze=freeze, padding_idx=2)
                for lib in (torch, ember)]
        assert repr(mods[1]) == repr(mods[0])
        assert mods[1].weight.requires_grad == mods[0].weight.requires_grad == (not freeze)
        outs = [m(lib.tensor([[2, 0, 3]])) for lib, m in zip((torch, ember), mods)]
        np.testing.assert_array_equal(outs[1].detach().numpy(), outs[0].detach().numpy())
        if not freeze:
            for o in outs:
                o.sum().backward()
            np.testing.assert_array_equal(mods[1].weight.grad.numpy(),
                                          mods[0].weight.grad.numpy())


# ---- clip_grad_norm_ and weight tying -------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("foreach", [None, True, False])
def test_clip_grad_norm_many_parameters(torch, norm_type, foreach):
    rng = np.random.default_rng(15)
    grads = [_arr(rng, (int(rng.integers(1, 5)), 3)) for _ in range(60)]
    res = []
    for lib in (torch, ember):
        ps = [lib.nn.Parameter(lib.zeros(*g.shape)) for g in grads]
        for p, g in zip(ps, grads):
            p.grad = lib.tensor(g)
        total = lib.nn.utils.clip_grad_norm_(ps, 0.5, norm_type=norm_type, foreach=foreach)
        res.append((float(total), np.concatenate([p.grad.numpy().ravel() for p in ps])))
    assert res[1][0] == pytest.approx(res[0][0], rel=1e-5)
    np.testing.assert_allclose(res[1][1], res[0][1], rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_nonfinite(torch):
    def make(lib):
        def f():
            ps = [lib.nn.Parameter(lib.zeros(3)) for _ in range(4)]
            for p in ps:
                p.grad = lib.ones(3)
            ps[2].grad[1] = float("nan")
            return lib.nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
        return f
    same_error(torch, make(ember), make(torch))


def test_weight_tying_counts_once_and_saves_one_storage(torch, tmp_path):
    def build(lib):
        lib.manual_seed(0)
        m = lib.nn.Module()
        m.wte = lib.nn.Embedding(7, 4)
        m.lm_head = lib.nn.Linear(4, 7, bias=False)
        m.lm_head.weight = m.wte.weight
        return m
    t, e = build(torch), build(ember)
    assert len(list(e.parameters())) == len(list(t.parameters())) == 1
    assert list(e.state_dict()) == list(t.state_dict())
    path = tmp_path / "tied.pt"
    ember.save(e.state_dict(), path)
    sd = torch.load(path)  # torch reads one shared storage for both names
    assert sd["wte.weight"].data_ptr() == sd["lm_head.weight"].data_ptr()
    back = ember.load(path)
    assert back["wte.weight"].data_ptr() == back["lm_head.weight"].data_ptr()
    x = ember.tensor([[1, 2, 3]])
    out = e.lm_head(e.wte(x))
    out.sum().backward()
    tx = torch.tensor([[1, 2, 3]])
    tout = t.lm_head(t.wte(tx))
    tout.sum().backward()
    np.testing.assert_allclose(e.wte.weight.grad.numpy(), t.wte.weight.grad.numpy(),
                               rtol=1e-5, atol=1e-6)


def test_dropout_of_a_transposed_view_draws_as_torch(torch):
    """torch fills dropout's noise in the input's memory order (empty_like keeps strides)."""
    a = _arr(np.random.default_rng(16), (4, 3, 5))
    outs = []
    for lib in (torch, ember):
        lib.manual_seed(2)
        x = lib.tensor(a).transpose(0, 1)
        outs.append(lib.nn.functional.dropout(x, 0.5).numpy())
    np.testing.assert_array_equal(outs[1], outs[0])


def test_gelu_float32_dense_range_within_torchs_error(torch):
    """The float32 GELU is a tanh of a fitted polynomial (ops/nn_ops.py's _phi_np): over a dense
    grid and the tails, Phi within 1.5e-7 of the exact CDF and GELU within 2e-6 of torch's."""
    import math
    x = np.concatenate([np.linspace(-12, 12, 240001), [-1e4, -50.0, 50.0, 1e4, 0.0, -0.0]])
    x = x.astype(np.float32)
    e = ember.nn.functional.gelu(ember.tensor(x)).numpy().astype(np.float64)
    t = torch.nn.functional.gelu(torch.tensor(x)).numpy().astype(np.float64)
    assert np.abs(e - t).max() < 2e-6
    exact_phi = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64)])
    from ember.ops.nn_ops import _phi_np
    assert np.abs(_phi_np(x).astype(np.float64) - exact_phi).max() < 1.5e-7
    assert np.all(e[x >= 6] == x[x >= 6]) and np.all(e[x <= -6] == 0)
