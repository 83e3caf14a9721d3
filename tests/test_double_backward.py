"""Double backward (create_graph=True, then the gradient of a gradient) through the fused ops
whose first-order backward runs on NumPy: torch.einsum, F.scaled_dot_product_attention and the
recurrent layers and cells. float64 gradgradcheck, and second-order gradients (a gradient
penalty: the gradient of ||dL/dx||^2 with respect to the parameters and the input) against
torch's. Also the sublist form of torch.einsum."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from ember.autograd import gradcheck, gradgradcheck
from helpers import assert_close, same_error

RNG = np.random.default_rng(7)
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections")


def _arrays(*shapes):
    return [RNG.standard_normal(s) for s in shapes]


def _leaves(lib, arrays, dtype):
    return [lib.tensor(a.copy(), dtype=dtype, requires_grad=True) for a in arrays]


def _penalty(lib, fn, ins, wrt):
    """d/d(wrt) of ||d sum(fn(ins)^2) / d ins[0]||^2 + sum(fn(ins)), the gradient-penalty shape."""
    out = fn(lib, *ins)
    (gx,) = lib.autograd.grad((out ** 2).sum(), ins[0], create_graph=True)
    return lib.autograd.grad((gx ** 2).sum() + out.sum(), wrt, allow_unused=True)


def _compare_penalty(torch, fn, arrays, n_wrt=None, rtol=1e-5, atol=1e-6):
    """Second-order gradients of fn on torch and ember (float32 and float64)."""
    for edt, tdt, tol in ((ember.float64, torch.float64, 1e-9), (ember.float32, torch.float32,
                                                                 None)):
        te = _leaves(torch, arrays, tdt)
        ee = _leaves(ember, arrays, edt)
        gt = _penalty(torch, fn, te, te[:n_wrt])
        ge = _penalty(ember, fn, ee, ee[:n_wrt])
        if tol is None:
            assert_close(list(ge), list(gt), rtol=rtol, atol=atol)
        else:
            assert_close(list(ge), list(gt), rtol=tol, atol=tol)


# ---- einsum ------------------------------------------------------------------------------------
EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,jk", [(2, 2, 3), (3, 2)]),
    ("ij,ij->i", [(1, 3), (2, 3)]),      # a broadcast size-1 dim
    ("iij,jk->ik", [(2, 2, 3), (3, 2)]),  # a repeated letter next to a contracted one
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_gradgradcheck(eq, shapes):
    xs = _leaves(ember, _arrays(*shapes), ember.float64)
    assert gradcheck(lambda *a: ember.einsum(eq, *a), xs)
    assert gradgradcheck(lambda *a: ember.einsum(eq, *a), xs)


@pytest.mark.parametrize("eq,shapes", EINSUMS[:1] + EINSUMS[5:], ids=[EINSUMS[0][0]] +
                         [e for e, _ in EINSUMS[5:]])
def test_einsum_second_order_matches_torch(torch, eq, shapes):
    _compare_penalty(torch, lambda L, *a: L.einsum(eq, *a), _arrays(*shapes))


SUBLISTS = [
    ([(2, 3), [0, 1], (3, 4), [1, 2], [0, 2]]),
    ([(2, 3), [0, 1], (3, 4), [1, 2]]),                    # implicit output
    ([(5, 2, 3), [Ellipsis, 0, 1], (3, 4), [1, 2], [Ellipsis, 0, 2]]),
    ([(5, 2, 3), [Ellipsis, 0, 1], (3, 4), [1, 2]]),        # implicit output with an ellipsis
    ([(3, 3), [4, 4]]),                                     # trace
    ([(2, 3), [30, 27], [27, 30]]),                         # lowercase letters, a transpose
    ([(2, 3), [1, 0]]),                                     # implicit output: ascending order
    ([(2,), [51], (3,), [0]]),                              # outer product, A before z
]


@pytest.mark.parametrize("spec", SUBLISTS, ids=range(len(SUBLISTS)))
def test_einsum_sublist_matches_torch(torch, spec):
    arrays = _arrays(*[s for s in spec[::2] if isinstance(s, tuple)])
    res = {}
    for lib in (torch, ember):
        ts = iter(_leaves(lib, arrays, lib.float32))
        args = [next(ts) if isinstance(s, tuple) else s for s in spec]
        out = lib.einsum(*args)
        out.backward(lib.ones_like(out))
        res[lib] = [out] + [a.grad for a in args if isinstance(a, lib.Tensor)]
    assert_close(res[ember], res[torch])


def test_einsum_sublist_gradcheck():
    a, b = _leaves(ember, _arrays((2, 3), (3, 2)), ember.float64)
    assert gradcheck(lambda x, y: ember.einsum(x, [0, 1], y, [1, 2], [0, 2]), (a, b))
    assert gradgradcheck(lambda x, y: ember.einsum(x, [0, 1], y, [1, 0]), (a, b))


SUBLIST_ERRORS = [
    lambda L, a, b: L.einsum(),
    lambda L, a, b: L.einsum(a),
    lambda L, a, b: L.einsum(a, [0, 60]),
    lambda L, a, b: L.einsum(a, [0, -1]),
    lambda L, a, b: L.einsum(a, [0, 1.5]),
    lambda L, a, b: L.einsum(a, "ij"),
    lambda L, a, b: L.einsum(a, [0, 1], b),               # b read as the output sublist
    lambda L, a, b: L.einsum(a, [0, 1], b, [1, 2], [0, 2], [3]),
    lambda L, a, b: L.einsum(a, [0, 1, 2]),
    lambda L, a, b: L.einsum(a, [0, 1], [2]),
    lambda L, a, b: L.einsum(a, [0, 1], b, [0, 2]),  # subscript 0: sizes 2 and 3
    lambda L, a, b: L.einsum(a, [0, 1], [0, 0]),
    lambda L, a, b: L.einsum("ij"),
]


@pytest.mark.parametrize("i", range(len(SUBLIST_ERRORS)))
def test_einsum_sublist_errors(torch, i):
    fn = SUBLIST_ERRORS[i]
    a, b = _arrays((2, 3), (3, 4))
    ee, te = same_error(torch, lambda: fn(ember, ember.tensor(a), ember.tensor(b)),
                        lambda: fn(torch, torch.tensor(a), torch.tensor(b)))
    if i < 4 or i in (6, 8, 11):
        assert str(ee) == str(te)


# ---- scaled_dot_product_attention ---------------------------------------------------------------
def _sdpa(**kw):
    def f(L, q, k, v, *m):
        F = L.nn.functional
        if m:
            kw["attn_mask"] = m[0]
        return F.scaled_dot_product_attention(q, k, v, **kw)
    return f


def _bool_mask(lib):
    m = np.ones((4, 6), bool)
    m[0, 3:] = False
    m[1] = False  # a row with every key masked: zeros, as torch's safe softmax
    m[2, ::2] = False
    return lib.tensor(m)


SDPA_CASES = {
    "plain": (_sdpa(), [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 3)]),
    "float_mask": (_sdpa(), [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 3), (4, 6)]),
    "causal_scale": (_sdpa(is_causal=True, scale=0.3), [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 3)]),
    "gqa_broadcast": (_sdpa(enable_gqa=True), [(2, 4, 3, 5), (2, 2, 6, 5), (1, 2, 6, 3)]),
    "batch_broadcast": (_sdpa(), [(2, 2, 4, 5), (1, 2, 6, 5), (2, 1, 6, 3)]),
}


@pytest.mark.parametrize("name", list(SDPA_CASES))
def test_sdpa_gradgradcheck(name):
    fn, shapes = SDPA_CASES[name]
    xs = _leaves(ember, _arrays(*shapes), ember.float64)
    assert gradgradcheck(lambda *a: fn(ember, *a), xs)


def test_sdpa_bool_mask_gradgradcheck():
    xs = _leaves(ember, _arrays((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 3)), ember.float64)
    m = _bool_mask(ember)
    assert gradgradcheck(lambda q, k, v: _sdpa(attn_mask=m)(ember, q, k, v), xs)


@pytest.mark.parametrize("name", list(SDPA_CASES) + ["bool_mask"])
def test_sdpa_second_order_matches_torch(torch, name):
    if name == "bool_mask":
        fn = lambda L, q, k, v: _sdpa(attn_mask=_bool_mask(L))(L, q, k, v)  # noqa: E731
        shapes = [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 3)]
    else:
        fn, shapes = SDPA_CASES[name]
    _compare_penalty(torch, fn, _arrays(*shapes), rtol=2e-4, atol=1e-5)


def test_sdpa_dropout_second_order_matches_torch(torch):
    """With dropout the draws are torch's for the seed; the keep-mask is a constant of the
    double backward."""
    arrays = _arrays((2, 2, 4, 5), (2, 2, 6, 5), (2, 2, 6, 3))
    res = []
    for lib in (torch, ember):
        lib.manual_seed(3)
        ins = _leaves(lib, arrays, lib.float64)
        res.append(_penalty(lib, _sdpa(dropout_p=0.3), ins, ins))
    assert_close(list(res[1]), list(res[0]), rtol=1e-9, atol=1e-9)


# ---- recurrent layers and cells --------------------------------------------------------------
def _copy(tm, em):
    for p, q in zip(tm.parameters(), em.parameters()):
        q.data = ember.tensor(p.detach().numpy().copy())


RNNS = {
    "rnn_tanh_2layer": ("RNN", dict(num_layers=2)),
    "rnn_relu_bidir": ("RNN", dict(nonlinearity="relu", bidirectional=True)),
    "lstm_bidir_batch_first": ("LSTM", dict(bidirectional=True, batch_first=True)),
    "lstm_proj_2layer": ("LSTM", dict(proj_size=2, num_layers=2)),
    "gru_bidir": ("GRU", dict(bidirectional=True)),
    "gru_2layer_nobias": ("GRU", dict(num_layers=2, bias=False)),
}


def _rnn_penalty(lib, m, x, h0, packed):
    if packed:
        x = lib.nn.utils.rnn.pack_padded_sequence(x, [5, 2, 4], batch_first=m.batch_first,
                                                  enforce_sorted=False)
    out = m(x) if h0 is None else m(x, h0)
    o = out[0].data if packed else out[0]
    hn = out[1][0] if isinstance(out[1], tuple) else out[1]
    loss = (o ** 2).sum() + (hn ** 3).sum()
    params = list(m.parameters())
    gs = lib.autograd.grad(loss, [x if not packed else x.data] + params, create_graph=True)
    pen = sum((g ** 2).sum() for g in gs)
    return lib.autograd.grad(pen, params, allow_unused=True)


@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
@pytest.mark.parametrize("name", list(RNNS))
def test_rnn_second_order_matches_torch(torch, name, packed):
    cls, kw = RNNS[name]
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(3, 4, **kw).double()
    em = getattr(ember.nn, cls)(3, 4, **kw).double()
    _copy(tm, em)
    x = RNG.standard_normal((5, 3, 3))
    if kw.get("batch_first"):
        x = x.transpose(1, 0, 2).copy()
    h0 = None
    if name.startswith("gru"):  # with an initial state that needs its gradient too
        h0 = RNG.standard_normal((kw.get("num_layers", 1) * (2 if kw.get("bidirectional")
                                                                else 1), 3, 4))
    res = []
    for lib, m in ((torch, tm), (ember, em)):
        xt = lib.tensor(x.copy(), dtype=lib.float64, requires_grad=True)
        ht = None if h0 is None else lib.tensor(h0.copy(), dtype=lib.float64, requires_grad=True)
        res.append(_rnn_penalty(lib, m, xt, ht, packed))
    assert_close(list(res[1]), list(res[0]), rtol=1e-8, atol=1e-9)


CELLS = {
    "rnn_cell": ("RNNCell", {}),
    "rnn_cell_relu": ("RNNCell", {"nonlinearity": "relu"}),
    "lstm_cell": ("LSTMCell", {}),
    "gru_cell": ("GRUCell", {}),
}


def _cell_call(name, m, x, h, c):
    out = m(x, (h, c)) if name == "lstm_cell" else m(x, h)
    return out[1] + out[0] if name == "lstm_cell" else out


@pytest.mark.parametrize("name", list(CELLS))
def test_cell_gradgradcheck_with_parameters(name):
    cls, kw = CELLS[name]
    m = getattr(ember.nn, cls)(3, 4, **kw).double()
    x, h, c = _leaves(ember, _arrays((2, 3), (2, 4), (2, 4)), ember.float64)
    params = tuple(m.parameters())
    assert gradgradcheck(lambda x, h, c, *p: _cell_call(name, m, x, h, c), (x, h, c) + params)


@pytest.mark.parametrize("name", list(CELLS))
def test_cell_second_order_matches_torch(torch, name):
    cls, kw = CELLS[name]
    torch.manual_seed(1)
    tm = getattr(torch.nn, cls)(3, 4, **kw)
    em = getattr(ember.nn, cls)(3, 4, **kw)
    _copy(tm, em)
    arrays = _arrays((2, 3), (2, 4), (2, 4))
    res = []
    for lib, m in ((torch, tm), (ember, em)):
        x, h, c = _leaves(lib, arrays, lib.float32)
        out = _cell_call(name, m, x, h, c)
        gx, gh = lib.autograd.grad((out ** 2).sum(), (x, h), create_graph=True)
        res.append(lib.autograd.grad((gx ** 2).sum() + (gh ** 2).sum(),
                                     [x, h] + list(m.parameters())))
    assert_close(list(res[1]), list(res[0]), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cls,kw", [("LSTM", dict(bidirectional=True)), ("GRU", {}),
                                    ("RNN", dict(num_layers=2)), ("LSTM", dict(proj_size=2))])
def test_rnn_gradgradcheck(cls, kw):
    m = getattr(ember.nn, cls)(3, 4, **kw).double()
    (x,) = _leaves(ember, _arrays((4, 2, 3)), ember.float64)
    w = m.weight_hh_l0
    assert gradgradcheck(lambda x, w: m(x)[0], (x, w))


def test_first_order_graph_unchanged():
    """Without create_graph, the gradients carry no graph (the NumPy path)."""
    m = ember.nn.LSTM(3, 4)
    x = ember.randn(5, 2, 3, requires_grad=True)
    (g,) = ember.autograd.grad(m(x)[0].sum(), x)
    assert g.grad_fn is None and not g.requires_grad


def test_lstm_gradgradcheck_all_parameters():
    m = ember.nn.LSTM(2, 3, proj_size=2, bidirectional=True).double()
    (x,) = _leaves(ember, _arrays((3, 2, 2)), ember.float64)
    params = tuple(m.parameters())
    assert gradgradcheck(lambda x, *p: m(x)[0], (x,) + params)


def test_multihead_attention_gradient_penalty_matches_torch(torch):
    """End to end: a gradient penalty through nn.MultiheadAttention (SDPA inside, with an
    attention mask and a key padding mask) with torch's weights."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    em = ember.nn.MultiheadAttention(8, 2, batch_first=True).double()
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = RNG.standard_normal((2, 5, 8))
    pad = np.zeros((2, 5), bool)
    pad[1, 3:] = True
    res = []
    for lib, m in ((torch, tm), (ember, em)):
        xt = lib.tensor(x.copy(), requires_grad=True)
        mask = lib.nn.Transformer.generate_square_subsequent_mask(5, dtype=lib.float64)
        with sdpa_kernel(SDPBackend.MATH):  # torch's fused CPU kernel is once-differentiable
            out, _ = m(xt, xt, xt, attn_mask=mask, key_padding_mask=lib.tensor(pad),
                       need_weights=False)
        (g,) = lib.autograd.grad((out ** 2).sum(), xt, create_graph=True)
        res.append(lib.autograd.grad((g ** 2).sum(), [xt] + list(m.parameters())))
    assert_close(list(res[1]), list(res[0]), rtol=1e-7, atol=1e-9)


def test_layer_norm_gradgradcheck():
    x, w, b = _leaves(ember, _arrays((3, 4, 5), (4, 5), (4, 5)), ember.float64)
    F = ember.nn.functional
    assert gradgradcheck(lambda x, w, b: F.layer_norm(x, (4, 5), w, b), (x, w, b))
    assert gradgradcheck(lambda x: F.layer_norm(x, (5,)), (x,))


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_layer_gradient_penalty_matches_torch(torch, norm_first):
    """End to end: a gradient penalty through a TransformerEncoderLayer (causal SDPA inside
    MultiheadAttention, LayerNorm, the feed-forward block) with torch's weights."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    torch.manual_seed(0)
    kw = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True,
              norm_first=norm_first, activation="gelu")
    tl = torch.nn.TransformerEncoderLayer(**kw).double()
    el = ember.nn.TransformerEncoderLayer(**kw).double()
    el.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tl.state_dict().items()})
    x = RNG.standard_normal((2, 5, 8))
    res = []
    for lib, layer in ((torch, tl), (ember, el)):
        xt = lib.tensor(x.copy(), requires_grad=True)
        mask = lib.nn.Transformer.generate_square_subsequent_mask(5, dtype=lib.float64)
        with sdpa_kernel(SDPBackend.MATH):  # torch's fused CPU kernel is once-differentiable
            out = layer(xt, src_mask=mask, is_causal=True)
        (g,) = lib.autograd.grad((out ** 2).sum(), xt, create_graph=True)
        res.append(lib.autograd.grad((g ** 2).sum(), [xt] + list(layer.parameters())))
    assert_close(list(res[1]), list(res[0]), rtol=1e-7, atol=1e-9)


def _cube_once(lib):
    from importlib import import_module
    once = import_module(lib.__name__ + ".autograd.function").once_differentiable

    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        @once
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g
    return Cube


def test_once_differentiable_second_order_raises_as_torch(torch):
    """A once-differentiable backward under create_graph gives gradients that require grad
    through torch's Error node: differentiating them raises, instead of silently leaving out
    that op's second-order terms."""
    a = RNG.standard_normal(3)
    msgs = []
    for lib in (torch, ember):
        x = lib.tensor(a, requires_grad=True)
        (g,) = lib.autograd.grad(_cube_once(lib).apply(x).sin().sum(), x, create_graph=True)
        assert g.requires_grad and type(g.grad_fn).__name__ == "Error"
        with pytest.raises(RuntimeError) as e:
            g.sum().backward()
        msgs.append(str(e.value))
        # the first-order values are unchanged
        assert_close(g.detach(), lib.tensor(3 * a ** 2 * np.cos(a ** 3)), check_dtype=False)
    assert msgs[1].startswith(msgs[0])


def test_once_differentiable_builtin_op_raises_in_a_gradient_penalty():
    """A residual block around a (once-differentiable) grid sampler: the penalty's backward
    reaches the sampler's backward and raises, naming it (convolutions, pooling and the
    normalizations are twice differentiable: tests/test_conv_double_backward.py,
    test_norm_pool_double_backward.py)."""
    x = ember.randn(1, 2, 5, 5, requires_grad=True)
    grid = ember.rand(1, 5, 5, 2) * 2 - 1
    sampled = ember.nn.functional.grid_sample(x, grid, align_corners=False)
    (g,) = ember.autograd.grad((x + sampled).tanh().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable.*GridSampler2DBackward0"):
        (g ** 2).sum().backward()
