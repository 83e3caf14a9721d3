"""Layers and activations of ember.nn against torch.nn: outputs, every gradient, grad_fn names,
reprs and the errors of bad inputs."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF
from helpers import assert_close, same_error


def _arr(*shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _grad_pair(torch, a):
    return (ember.tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True))


def _copy_params(torch, tm, em):
    """Load torch module tm's parameters into ember module em (same names)."""
    sd = {k: ember.tensor(v.detach().numpy().copy()) for k, v in tm.state_dict().items()}
    em.load_state_dict(sd)


def _backward_both(torch, ye, yt, seed=1):
    g = _arr(*tuple(yt.shape), seed=seed)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))


def _grad_name(t):
    return None if t.grad_fn is None else type(t.grad_fn).__name__


# ---- Linear ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(64, 20), (3, 4, 20), (20,), (2, 3, 2, 20)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(torch, shape, bias):
    tm = torch.nn.Linear(20, 7, bias=bias)
    em = enn.Linear(20, 7, bias=bias)
    _copy_params(torch, tm, em)
    xe, xt = _grad_pair(torch, _arr(*shape))
    ye, yt = em(xe), tm(xt)
    assert_close(ye, yt)
    if bias or len(shape) > 1:  # 1-D @ 2-D without bias is the core matmul's node
        assert _grad_name(ye) == _grad_name(yt)
    _backward_both(torch, ye, yt)
    assert_close(xe.grad, xt.grad)
    assert_close(em.weight.grad, tm.weight.grad, rtol=1e-5, atol=1e-5)
    if bias:
        assert_close(em.bias.grad, tm.bias.grad, rtol=1e-5, atol=1e-5)


def _graph_names(fn, fused=(), depth=0, parent=None):
    """The backward graph below fn as (depth, node name) pairs, depth-first, edges in order;
    a node whose (parent name, name) is in `fused` is replaced by its inputs."""
    if fn is None:
        return [(depth, None)]
    name = type(fn).__name__
    skip = (parent, name) in fused
    out = [] if skip else [(depth, name)]
    for child, nr in fn.next_functions:
        out += _graph_names(child, fused, depth + (not skip), parent if skip else name)
    return out


GRAPHS = {
    "linear": lambda L, nn, F, x, t: nn.Linear(5, 3)(x),
    "linear_no_bias": lambda L, nn, F, x, t: nn.Linear(5, 3, bias=False)(x),
    "linear_3d_input": lambda L, nn, F, x, t: nn.Linear(5, 3)(x.reshape(2, 2, 5)),
    "linear_1d_input": lambda L, nn, F, x, t: nn.Linear(5, 3)(x[0]),
    "functional_linear": lambda L, nn, F, x, t: F.linear(x, L.ones(3, 5, requires_grad=True),
                                                          L.ones(3, requires_grad=True)),
    "mlp_cross_entropy": lambda L, nn, F, x, t: F.cross_entropy(
        nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))(x), t),
    "cross_entropy_module": lambda L, nn, F, x, t: nn.CrossEntropyLoss(
        weight=L.tensor([1.0, 2.0, 0.5]), reduction="sum")(nn.Linear(5, 3)(x), t),
    "nll_log_softmax": lambda L, nn, F, x, t: F.nll_loss(
        F.log_softmax(nn.Linear(5, 3)(x), dim=1), t, weight=L.tensor([1.0, 2.0, 0.5])),
    "mlp_mse": lambda L, nn, F, x, t: F.mse_loss(nn.Linear(5, 3)(x), L.zeros(4, 3)),
}


@pytest.mark.parametrize("name", GRAPHS)
def test_backward_graph_matches_torch(torch, name):
    # what a walk of grad_fn.next_functions from a model's output meets, node by node, up to
    # ember's two fusions (for speed: each extra node costs ~5% of a batch-1 training step):
    # addmm takes the weight itself, not its TBackward0 view, and cross_entropy's
    # NllLossBackward0 takes the logits, not their LogSoftmaxBackward0
    fused = [("AddmmBackward0", "TBackward0")]
    if "cross_entropy" in name:
        fused.append(("NllLossBackward0", "LogSoftmaxBackward0"))
    graphs = []
    for L, nn in ((torch, torch.nn), (ember, enn)):
        x = L.randn(4, 5, requires_grad=name == "functional_linear")
        out = GRAPHS[name](L, nn, nn.functional, x, L.tensor([0, 2, 1, 1]))
        graphs.append(_graph_names(out.grad_fn, fused if L is torch else ()))
    assert graphs[0] == graphs[1]


def test_linear_double_backward(torch):
    tm = torch.nn.Linear(4, 3)
    em = enn.Linear(4, 3)
    _copy_params(torch, tm, em)
    xe, xt = _grad_pair(torch, _arr(5, 4))
    (ge,) = ember.autograd.grad((em(xe) ** 2).sum(), xe, create_graph=True)
    (gt,) = torch.autograd.grad((tm(xt) ** 2).sum(), xt, create_graph=True)
    assert_close(ge, gt)
    ge.sum().backward()
    gt.sum().backward()
    assert_close(em.weight.grad, tm.weight.grad, atol=1e-5)


def test_linear_float64(torch):
    tm = torch.nn.Linear(6, 2).double()
    em = enn.Linear(6, 2).double()
    _copy_params(torch, tm, em)
    a = np.random.default_rng(3).standard_normal((4, 6))
    xe, xt = _grad_pair(torch, a)
    ye, yt = em(xe), tm(xt)
    assert_close(ye, yt, rtol=1e-12, atol=1e-12)
    _backward_both(torch, ye, yt)
    assert_close(em.weight.grad, tm.weight.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(64, 28, 28), (64, 1, 28, 28), (10,)])
def test_linear_shape_errors(torch, shape):
    em, tm = enn.Linear(784, 128), torch.nn.Linear(784, 128)
    ee, te = same_error(torch, lambda: em(ember.randn(*shape)), lambda: tm(torch.randn(*shape)))
    assert str(ee) == str(te)


def test_linear_dtype_and_arg_errors(torch):
    em, tm = enn.Linear(784, 128), torch.nn.Linear(784, 128)
    for fe, ft in [(lambda: em(ember.randn(64, 784).double()),
                    lambda: tm(torch.randn(64, 784).double())),
                   (lambda: em(ember.ones(64, 784, dtype=ember.long)),
                    lambda: tm(torch.ones(64, 784, dtype=torch.long))),
                   (lambda: em(ember.tensor(1.0)), lambda: tm(torch.tensor(1.0))),
                   (lambda: em(None), lambda: tm(None))]:
        ee, te = same_error(torch, fe, ft)
        assert str(ee) == str(te)


def test_linear_default_init_bounds():
    ember.manual_seed(0)
    m = enn.Linear(784, 128)
    bound = 1 / np.sqrt(784)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the weight
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound
    assert abs(w.mean()) < 0.01 * bound
    assert m.weight.dtype == ember.float32 and m.weight.requires_grad


def test_reprs_match_torch(torch):
    pairs = [
        ("Linear", (784, 128), {}), ("Linear", (3, 2), {"bias": False}), ("Identity", (), {}),
        ("Flatten", (), {}), ("Flatten", (0, 2), {}), ("Unflatten", (1, (2, 5)), {}),
        ("Dropout", (), {}), ("Dropout", (0.2, True), {}), ("Dropout2d", (0.3,), {}),
        ("ReLU", (), {}), ("ReLU", (True,), {}), ("LeakyReLU", (), {}),
        ("LeakyReLU", (0.2, True), {}), ("ELU", (), {}), ("ELU", (), {"alpha": 0.5,
                                                                       "inplace": True}),
        ("GELU", (), {}), ("GELU", ("tanh",), {}), ("SiLU", (), {}), ("SiLU", (True,), {}),
        ("Sigmoid", (), {}), ("Tanh", (), {}), ("Softmax", (), {}), ("Softmax", (), {"dim": 1}),
        ("LogSoftmax", (), {}), ("LogSoftmax", (1,), {}), ("Softplus", (), {}),
        ("Softplus", (2, 10), {}), ("Hardtanh", (), {}), ("Hardtanh", (-2, 2, True), {}),
        ("ReLU6", (), {}), ("ReLU6", (True,), {}), ("Softmin", (1,), {}), ("SELU", (), {}),
        ("CELU", (), {}), ("Mish", (), {}), ("Hardswish", (), {}), ("LogSigmoid", (), {}),
        ("PReLU", (), {}), ("Threshold", (0.1, 20), {}), ("GLU", (), {}),
    ]
    for name, args, kwargs in pairs:
        assert repr(getattr(enn, name)(*args, **kwargs)) == \
            repr(getattr(torch.nn, name)(*args, **kwargs)), name


def _seed_model(nn, log_softmax):
    layers = [nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)]
    if log_softmax:
        layers.append(nn.LogSoftmax(dim=1))
    return nn.Sequential(*layers)


@pytest.mark.parametrize("log_softmax", [False, True])
def test_seed_model_repr_state_dict_and_gradients(torch, log_softmax):
    tm, em = _seed_model(torch.nn, log_softmax), _seed_model(enn, log_softmax)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert em.state_dict()._metadata == tm.state_dict()._metadata
    _copy_params(torch, tm, em)
    x = _arr(64, 784)
    labels = np.random.default_rng(2).integers(0, 10, 64)
    ye, yt = em(ember.tensor(x)), tm(torch.tensor(x))
    assert_close(ye, yt, atol=1e-5)
    if log_softmax:
        le = enn.NLLLoss()(ye, ember.tensor(labels))
        lt = torch.nn.NLLLoss()(yt, torch.tensor(labels))
    else:
        le = enn.CrossEntropyLoss()(ye, ember.tensor(labels))
        lt = torch.nn.CrossEntropyLoss()(yt, torch.tensor(labels))
    assert_close(le, lt)
    assert _grad_name(le) == _grad_name(lt) == "NllLossBackward0"
    le.backward()
    lt.backward()
    for (ne, pe), (nt, pt) in zip(em.named_parameters(), tm.named_parameters()):
        assert ne == nt
        assert_close(pe.grad, pt.grad, rtol=1e-4, atol=1e-6)


def test_untrained_seed_model_loss_is_near_log10():
    ember.manual_seed(0)
    m = _seed_model(enn, False)
    x = (ember.rand(256, 784) - 0.5) / 0.5
    loss = enn.CrossEntropyLoss()(m(x), ember.randint(0, 10, (256,)))
    assert abs(loss.item() - np.log(10)) < 0.05


# ---- activations ----------------------------------------------------------------------------
ACTIVATIONS = [
    ("relu", lambda F, x: F.relu(x)), ("leaky_relu", lambda F, x: F.leaky_relu(x, 0.1)),
    ("elu", lambda F, x: F.elu(x, 0.7)), ("gelu", lambda F, x: F.gelu(x)),
    ("gelu_tanh", lambda F, x: F.gelu(x, approximate="tanh")), ("silu", lambda F, x: F.silu(x)),
    ("sigmoid", lambda F, x: F.sigmoid(x)), ("tanh", lambda F, x: F.tanh(x)),
    ("softmax0", lambda F, x: F.softmax(x, 0)), ("softmax1", lambda F, x: F.softmax(x, dim=1)),
    ("softmax_last", lambda F, x: F.softmax(x, -1)),
    ("log_softmax", lambda F, x: F.log_softmax(x, 1)),
    ("log_softmax0", lambda F, x: F.log_softmax(x, 0)),
    ("softplus", lambda F, x: F.softplus(x)), ("softplus_b", lambda F, x: F.softplus(x, 2, 3)),
    ("hardtanh", lambda F, x: F.hardtanh(x)), ("hardtanh2", lambda F, x: F.hardtanh(x, -.5, 2)),
    ("relu6", lambda F, x: F.relu6(x * 4)), ("selu", lambda F, x: F.selu(x)),
    ("celu", lambda F, x: F.celu(x, 0.5)), ("mish", lambda F, x: F.mish(x)),
    ("hardswish", lambda F, x: F.hardswish(x * 3)),
    ("hardsigmoid", lambda F, x: F.hardsigmoid(x * 3)),
    ("logsigmoid", lambda F, x: F.logsigmoid(x)), ("softsign", lambda F, x: F.softsign(x)),
    ("tanhshrink", lambda F, x: F.tanhshrink(x)), ("softmin", lambda F, x: F.softmin(x, 1)),
    ("threshold", lambda F, x: F.threshold(x, 0.1, 20.0)), ("glu", lambda F, x: F.glu(x, 1)),
    ("normalize", lambda F, x: F.normalize(x)), ("normalize1", lambda F, x: F.normalize(x, 1, 0)),
]

NAMED_NODES = {"relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh",
               "softmax0", "softmax1", "softmax_last", "log_softmax", "log_softmax0", "softplus",
               "softplus_b", "hardtanh", "hardtanh2", "relu6", "selu", "normalize", "celu",
               "mish", "hardswish", "hardsigmoid", "logsigmoid", "threshold", "softmin"}


@pytest.mark.parametrize("name,fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_torch(torch, name, fn):
    a = _arr(6, 8, seed=4) * 2
    a[0, :4] = [0.0, 30.0, -30.0, 1e-3]
    xe, xt = _grad_pair(torch, a)
    ye, yt = fn(EF, xe), fn(torch.nn.functional, xt)
    assert_close(ye, yt, rtol=1e-5, atol=1e-6)
    if name in NAMED_NODES:
        assert _grad_name(ye) == _grad_name(yt)
    _backward_both(torch, ye, yt)
    assert_close(xe.grad, xt.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name,fn", [a for a in ACTIVATIONS if a[0] in
                                     ("gelu", "gelu_tanh", "silu", "softplus", "elu",
                                      "softmax1", "log_softmax", "leaky_relu")],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_activation_double_backward(torch, name, fn):
    a = np.random.default_rng(5).standard_normal((3, 4))
    xe, xt = _grad_pair(torch, a)
    (ge,) = ember.autograd.grad((fn(EF, xe) ** 2).sum(), xe, create_graph=True)
    (gt,) = torch.autograd.grad((fn(torch.nn.functional, xt) ** 2).sum(), xt, create_graph=True)
    assert_close(ge, gt, rtol=1e-7, atol=1e-9)
    ge.sum().backward()
    gt.sum().backward()
    assert_close(xe.grad, xt.grad, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("fname", ["hardswish", "hardsigmoid", "hardtanh", "relu6",
                                   "leaky_relu", "elu", "threshold"])
def test_activation_gradients_at_kinks(torch, fname):
    a = np.array([-4.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 4.0, 6.0], np.float32)
    xe, xt = _grad_pair(torch, a)
    args = (0.5, -1.0) if fname == "threshold" else ()
    ye = getattr(EF, fname)(xe, *args)
    yt = getattr(torch.nn.functional, fname)(xt, *args)
    assert_close(ye, yt)
    ye.sum().backward()
    yt.sum().backward()
    assert_close(xe.grad, xt.grad)


def test_gelu_float64_exact(torch):
    a = np.linspace(-6, 6, 101)
    xe, xt = _grad_pair(torch, a)
    ye, yt = EF.gelu(xe), torch.nn.functional.gelu(xt)
    assert_close(ye, yt, rtol=1e-12, atol=1e-14)
    ye.sum().backward()
    yt.sum().backward()
    assert_close(xe.grad, xt.grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("fname,kwargs", [("relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
                                          ("elu", {}), ("hardtanh", {}), ("relu6", {}),
                                          ("silu", {}), ("selu", {}), ("celu", {}),
                                          ("threshold", {"threshold": 0.5, "value": -2.0}),
                                          ("mish", {}), ("hardswish", {}), ("hardsigmoid", {})])
def test_inplace_activations(torch, fname, kwargs):
    a = _arr(4, 5, seed=7) * 3
    xe, xt = _grad_pair(torch, a)
    he, ht = xe * 1.0, xt * 1.0
    re = getattr(EF, fname)(he, inplace=True, **kwargs)
    rt = getattr(torch.nn.functional, fname)(ht, inplace=True, **kwargs)
    assert re is he and rt is ht
    assert _grad_name(re) == _grad_name(rt)
    assert_close(he, ht)
    _backward_both(torch, re, rt)
    assert_close(xe.grad, xt.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,args", [("ReLU", ()), ("LeakyReLU", (0.3,)), ("ELU", (0.4,)),
                                      ("GELU", ("tanh",)), ("SiLU", ()), ("Sigmoid", ()),
                                      ("Hardswish", ()), ("Hardsigmoid", ()), ("LogSigmoid", ()),
                                      ("Threshold", (0.2, -1.0)), ("CELU", (0.7,)),
                                      ("Tanh", ()), ("Softmax", (1,)), ("LogSoftmax", (1,)),
                                      ("Softplus", (1.5, 5)), ("Hardtanh", (-0.5, 0.5)),
                                      ("ReLU6", ()), ("Identity", ()), ("Flatten", ()),
                                      ("Softmin", (0,)), ("PReLU", ()), ("Mish", ())])
def test_activation_modules(torch, cls, args):
    a = _arr(3, 4, 5, seed=8) * 2
    xe, xt = _grad_pair(torch, a)
    me, mt = getattr(enn, cls)(*args), getattr(torch.nn, cls)(*args)
    ye, yt = me(xe), mt(xt)
    assert_close(ye, yt)
    _backward_both(torch, ye, yt)
    assert_close(xe.grad, xt.grad, rtol=1e-5, atol=1e-6)
    if cls == "PReLU":
        assert_close(me.weight.grad, mt.weight.grad, rtol=1e-5, atol=1e-5)


def test_softmax_large_logits_and_dtype_arg(torch):
    a = np.array([[1e4, -1e4, 0.0], [3e4, 3e4, 3e4]], np.float32)
    xe, xt = _grad_pair(torch, a)
    for fn in ("softmax", "log_softmax"):
        ye = getattr(EF, fn)(xe, 1)
        yt = getattr(torch.nn.functional, fn)(xt, 1)
        assert np.isfinite(ye.detach().numpy()).all()
        assert_close(ye, yt)
        ye = getattr(EF, fn)(xe, 1, dtype=ember.float64)
        yt = getattr(torch.nn.functional, fn)(xt, 1, dtype=torch.float64)
        assert_close(ye, yt)


def test_softmax_implicit_dim_warns(torch):
    for shape, ndim_dim in [((3,), 0), ((2, 3), 1), ((2, 3, 4), 0), ((2, 3, 4, 5), 1)]:
        a = _arr(*shape)
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
            ye = EF.softmax(ember.tensor(a))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yt = torch.nn.functional.softmax(torch.tensor(a))
        assert_close(ye, yt)
        with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
            EF.log_softmax(ember.tensor(a))


def test_softmax_errors(torch):
    same_error(torch, lambda: enn.Softmax(5)(ember.randn(2, 3)),
               lambda: torch.nn.Softmax(5)(torch.randn(2, 3)))
    same_error(torch, lambda: EF.softmax(ember.ones(2, 3, dtype=ember.long), 1),
               lambda: torch.nn.functional.softmax(torch.ones(2, 3, dtype=torch.long), 1))


# ---- dropout ----------------------------------------------------------------------------------
def test_dropout_train_eval_and_scaling(torch):
    ember.manual_seed(0)
    m = enn.Dropout(0.25)
    x = ember.ones(200, 100, requires_grad=True)
    y = m(x)
    vals = np.unique(y.detach().numpy())
    assert set(vals.tolist()) <= {0.0, np.float32(1 / 0.75)}
    frac = (y.detach().numpy() == 0).mean()
    assert abs(frac - 0.25) < 0.02
    assert type(y.grad_fn).__name__ == "MulBackward0"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())
    m.eval()
    assert m(x) is x
    assert enn.Dropout(0.0)(x) is x
    z = EF.dropout(x, 1.0)
    assert (z.detach().numpy() == 0).all()


def test_dropout_is_reproducible_with_manual_seed():
    ember.manual_seed(3)
    a = EF.dropout(ember.ones(50))
    ember.manual_seed(3)
    b = EF.dropout(ember.ones(50))
    assert ember.equal(a, b)


def test_dropout_inplace_and_errors(torch):
    x = ember.ones(10, 10)
    y = EF.dropout(x, 0.5, inplace=True)
    assert y is x and set(np.unique(x.numpy()).tolist()) <= {0.0, 2.0}
    ee, te = same_error(torch, lambda: enn.Dropout(1.5), lambda: torch.nn.Dropout(1.5))
    assert str(ee) == str(te)
    ee, te = same_error(torch, lambda: EF.dropout(ember.ones(2), -0.1),
                        lambda: torch.nn.functional.dropout(torch.ones(2), -0.1))
    assert str(ee) == str(te)


def test_dropout2d_zeroes_whole_channels():
    ember.manual_seed(1)
    x = ember.ones(8, 16, 5, 5, requires_grad=True)
    y = enn.Dropout2d(0.5)(x).detach().numpy()
    per_channel = y.reshape(8, 16, -1)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        EF.dropout2d(ember.ones(3, 4))


# ---- flatten / unflatten / misc functional ----------------------------------------------------
def test_flatten_unflatten(torch):
    a = _arr(2, 3, 4, 5)
    for me, mt in [(enn.Flatten(), torch.nn.Flatten()), (enn.Flatten(0, 2), torch.nn.Flatten(0, 2)),
                   (enn.Unflatten(1, (3, 1)), torch.nn.Unflatten(1, (3, 1)))]:
        xe, xt = _grad_pair(torch, a)
        ye, yt = me(xe), mt(xt)
        assert_close(ye, yt)
        assert _grad_name(ye) == _grad_name(yt)
        _backward_both(torch, ye, yt)
        assert_close(xe.grad, xt.grad)


def test_one_hot(torch):
    t = np.array([0, 2, 1, 4])
    assert_close(EF.one_hot(ember.tensor(t)), torch.nn.functional.one_hot(torch.tensor(t)))
    assert_close(EF.one_hot(ember.tensor(t), 6), torch.nn.functional.one_hot(torch.tensor(t), 6))
    assert_close(EF.one_hot(ember.tensor([[1, 0]]), 3),
                 torch.nn.functional.one_hot(torch.tensor([[1, 0]]), 3))
    for args in [([0.0, 1.0],), ([0, 5], 3), ([-1, 1],)]:
        ee, te = same_error(torch, lambda: EF.one_hot(ember.tensor(args[0]), *args[1:]),
                            lambda: torch.nn.functional.one_hot(torch.tensor(args[0]), *args[1:]))
        assert str(ee) == str(te)


@pytest.mark.parametrize("pad,mode", [((1, 1), "constant"), ((1, 2, 0, 3), "constant"),
                                      ((-1, 2), "constant"), ((1, 2, 2, 1), "reflect"),
                                      ((2, 1, 1, 2), "replicate"), ((1, 2, 1, 1), "circular")])
def test_pad(torch, pad, mode):
    a = _arr(2, 3, 4, 5)
    xe, xt = _grad_pair(torch, a)
    kwargs = {"value": 1.5} if mode == "constant" else {}
    ye = EF.pad(xe, pad, mode=mode, **kwargs)
    yt = torch.nn.functional.pad(xt, pad, mode=mode, **kwargs)
    assert_close(ye, yt)
    if mode in ("constant", "reflect", "replicate"):
        assert _grad_name(ye) == _grad_name(yt)
    _backward_both(torch, ye, yt)
    assert_close(xe.grad, xt.grad)


@pytest.mark.parametrize("shape,dim", [((300, 10), 1), ((300, 10), -1), ((20, 30, 7), 2),
                                       ((20, 30, 7), 1), ((300, 40), 1), ((7, 300), 0)])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_many_short_rows(torch, shape, dim, fn):
    xe, xt = _grad_pair(torch, _arr(*shape, seed=12) * 3)
    ye = getattr(EF, fn)(xe, dim)
    yt = getattr(torch.nn.functional, fn)(xt, dim)
    assert_close(ye, yt)
    _backward_both(torch, ye, yt)
    assert_close(xe.grad, xt.grad, rtol=1e-5, atol=1e-6)
