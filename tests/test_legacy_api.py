"""The spellings old and beginner PyTorch code uses (issue #9, item 10), against torch.

Legacy constructors (`torch.Tensor(...)`, `FloatTensor(...)`, `t.new(...)`), `Variable`,
`volatile`, `.data` tricks, `size()` indexing, `type()` strings and casts, `isinstance` with
legacy types, `autograd.grad` on non-leaves, positional-alpha `add_`, `torch.range`,
`set_default_device`, `set_default_tensor_type`, a 0-dim index in `scatter_`/`gather`, and
`out=` on every function that takes it in torch.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember.autograd import Variable


def same(e, t, *, values=True):
    """ember tensor `e` matches torch tensor `t`: dtype, shape, requires_grad, values."""
    assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1]
    assert tuple(e.shape) == tuple(t.shape)
    assert e.requires_grad == t.requires_grad
    if values:
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-7)


def both(torch, fn, *, values=True):
    """Run fn(lib) on torch and ember: equal results, or the same exception type."""
    try:
        t = fn(torch)
    except Exception as err:
        with pytest.raises(type(err)):
            fn(ember)
        return err
    e = fn(ember)
    if isinstance(t, torch.Tensor):
        same(e, t, values=values)
    elif isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            if isinstance(b, torch.Tensor):
                same(a, b, values=values)
            else:
                assert a == b
    else:
        assert e == t
    return None


# ---- the legacy constructor -------------------------------------------------------------------
CONSTRUCTOR_CASES = {
    "empty": lambda L: L.Tensor(),
    "sizes": lambda L: L.Tensor(3, 4),
    "zero_size": lambda L: L.Tensor(0),
    "Size": lambda L: L.Tensor(L.Size([2, 3])),
    "np_int_size": lambda L: L.Tensor(np.int64(3)),
    "list": lambda L: L.Tensor([-4.0]),
    "int_list": lambda L: L.Tensor([2, 3]),
    "tuple": lambda L: L.Tensor((2, 3)),
    "bools": lambda L: L.Tensor([True, False]),
    "nested": lambda L: L.Tensor([[1, 2], [3, 4]]),
    "range": lambda L: L.Tensor(range(3)),
    "ndarray_f64": lambda L: L.Tensor(np.ones(2)),
    "ndarray_i64": lambda L: L.Tensor(np.arange(3)),
    "ndarray_f32": lambda L: L.Tensor(np.arange(3, dtype=np.float32)),
    "tensor_int": lambda L: L.Tensor(L.arange(3)),
    "tensor_0dim": lambda L: L.Tensor(L.tensor(3.0)),
    "tensor_list": lambda L: L.Tensor([L.tensor(1.0), L.tensor(2.0)]),
    "device": lambda L: L.Tensor(2, device="cpu"),
    "device_only": lambda L: L.Tensor(device="cpu"),
    "float": lambda L: L.Tensor(2.5),
    "str": lambda L: L.Tensor("abc"),
    "none": lambda L: L.Tensor(None),
    "negative": lambda L: L.Tensor(-1),
    "dtype_kw": lambda L: L.Tensor(2, dtype=L.float64),
    "size_then_list": lambda L: L.Tensor(2, [3]),
    "Float_ndarray": lambda L: L.FloatTensor(np.arange(3)),
    "Long_floats": lambda L: L.LongTensor(np.ones(3)),
    "Float_range": lambda L: L.FloatTensor(range(3)),
    "Float_int_tensor": lambda L: L.FloatTensor(L.arange(3)),
    "Float_float": lambda L: L.FloatTensor(2.5),
    "Double_Size": lambda L: L.DoubleTensor(L.Size([2])),
    "Byte_list": lambda L: L.ByteTensor([1, 0, 1]),
    "new_list": lambda L: L.ones(2).new([1, 2]),
    "new_sizes": lambda L: L.ones(2, dtype=L.float64).new(2, 3),
    "new_empty": lambda L: L.ones(2).new(),
    "new_long_from_floats": lambda L: L.ones(2, dtype=L.int64).new([1.5]),
    "new_other_dtype_tensor": lambda L: L.ones(2).new(L.ones(2, dtype=L.int64)),
}
UNINITIALISED = {"sizes", "Size", "np_int_size", "device", "Double_Size", "new_sizes"}


@pytest.mark.parametrize("case", list(CONSTRUCTOR_CASES))
def test_legacy_constructor(torch, case):
    err = both(torch, CONSTRUCTOR_CASES[case], values=case not in UNINITIALISED)
    if case in ("list", "sizes", "empty", "ndarray_f64"):
        assert err is None and type(CONSTRUCTOR_CASES[case](ember)) is ember.Tensor


def test_legacy_constructor_memory_and_graph(torch):
    for L in (torch, ember):
        d = np.ones(3, dtype=np.float32)
        L.Tensor(d)[0] = 5  # a same-dtype array is shared, as torch shares it
        assert d[0] == 5
        d = np.ones(3)
        L.Tensor(d)[0] = 5  # another dtype is converted (a copy)
        assert d[0] == 1
        x = L.ones(2, requires_grad=True)
        y = L.Tensor(x)  # an alias in x's graph
        assert y is not x and y.requires_grad and y.grad_fn.name() == "AliasBackward0"
        (y * 3).sum().backward()
        assert x.grad.tolist() == [3.0, 3.0]
        assert isinstance(L.Tensor([1]), L.FloatTensor)


def test_legacy_constructor_follows_the_default_dtype(torch):
    for L in (torch, ember):
        L.set_default_dtype(L.float64)
        try:
            assert L.Tensor([1]).dtype == L.float64 and L.Tensor(2).dtype == L.float64
        finally:
            L.set_default_dtype(L.float32)


def test_tensor_subclass_constructor(torch):
    for L in (torch, ember):
        class Sub(L.Tensor):
            pass
        s = Sub([1, 2])
        assert type(s) is Sub and s.tolist() == [1.0, 2.0] and s.dtype == L.float32


# ---- Variable and volatile --------------------------------------------------------------------
def test_variable_leaves_its_argument_alone(torch):
    from torch.autograd import Variable as TV
    for L, V in ((torch, TV), (ember, Variable)):
        t = L.zeros(2)
        v = V(t, requires_grad=True)
        assert v is not t and v.requires_grad and not t.requires_grad and v.is_leaf
        with L.no_grad():
            v.add_(1)
        assert t.tolist() == [1.0, 1.0]  # the same storage
        (v * 2).sum().backward()
        assert v.grad.tolist() == [2.0, 2.0] and t.grad is None
        x = L.ones(2, requires_grad=True)
        assert not V(x).requires_grad and V(x * 2, requires_grad=True).grad_fn is None
        assert isinstance(t, V) and V().shape == (0,)
        with pytest.warns(UserWarning, match="volatile was removed and now has no effect"):
            assert not V(t, volatile=True).requires_grad
        with pytest.warns(UserWarning, match=r"volatile was removed \(Variable.volatile is "
                                             r"always False\)"):
            assert t.volatile is False
        with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
            V([1, 2])
        with pytest.raises(RuntimeError, match="floating point"):
            V(L.ones(2, dtype=L.int64), requires_grad=True)
    import ember.autograd.variable as m
    assert m.Variable is Variable


# ---- old idioms ---------------------------------------------------------------------------------
def _sgd_by_data(L):
    w = L.tensor([1.0, -2.0, 3.0], requires_grad=True)
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        w.data -= 0.1 * w.grad.data
        w.grad.data.zero_()
    return w


def _old_optimizer_step(L):
    p = L.tensor([1.0, 2.0], requires_grad=True)
    (p ** 2).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p.data.add_(-0.5, p.grad.data)  # torch <1.5 SGD: add_(alpha, other)
        q = L.add(p.detach(), 2, L.ones(2))
        r = p.detach().sub(3, L.ones(2))
        s = p.detach().clone()
        s.sub_(2, L.ones(2))
    return p, q, r, s


def _grad_non_leaf(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = (y ** 2).sum()
    return L.autograd.grad(z, [y, x])


def _grad_non_leaf_create_graph(L):
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    g, = L.autograd.grad((y ** 2).sum(), y, create_graph=True)
    g.sum().backward()
    return x.grad


def _grad_view(L):
    x = L.arange(4.0, requires_grad=True)
    y = x.view(2, 2)
    return L.autograd.grad((y * y).sum(), y)


def _accuracy(L):
    out = L.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    target = L.tensor([1, 0, 0])
    pred = out.data.max(1, keepdim=True)[1]
    return pred.eq(target.data.view_as(pred)).cpu().sum()


IDIOMS = {
    "sgd_by_data": _sgd_by_data,
    "old_optimizer_step": _old_optimizer_step,
    "grad_non_leaf": _grad_non_leaf,
    "grad_non_leaf_create_graph": _grad_non_leaf_create_graph,
    "grad_view": _grad_view,
    "accuracy": _accuracy,
    "size_index": lambda L: (L.ones(2, 3).size()[1], L.ones(2, 3).size()[-1],
                             tuple(L.ones(2, 3).size()[1:])),
    "view_size0": lambda L: L.ones(2, 3, 4).view(L.ones(2, 3, 4).size(0), -1),
    "data_numpy": lambda L: L.tensor([1.0, 2.0], requires_grad=True).data.numpy().tolist(),
    "cpu_numpy": lambda L: L.tensor([1.0, 2.0]).cpu().numpy().tolist(),
    "detach_cpu_numpy": lambda L: L.tensor([1.0], requires_grad=True).detach().cpu().numpy()
    .tolist(),
    "loss_data_item": lambda L: L.tensor([1.0, 2.0]).sum().data.item(),
    "numpy_requires_grad": lambda L: L.tensor([1.0], requires_grad=True).numpy(),
    "type_string": lambda L: (L.ones(2).type(), L.ones(2).long().type(), (L.ones(1) > 0).type(),
                              L.ones(1).half().type(), L.ones(1).to(L.int8).type()),
    "type_cast_class": lambda L: L.ones(2).type(L.LongTensor),
    "type_cast_string": lambda L: L.ones(2).type("torch.DoubleTensor"),
    "type_cast_dtype": lambda L: L.ones(2).type(L.int32),
    "type_as": lambda L: L.ones(2).type_as(L.ones(1, dtype=L.float64)),
    "type_same_is_self": lambda L: (lambda a: a.type(L.FloatTensor) is a)(L.ones(2)),
    "isinstance_legacy": lambda L: (isinstance(L.ones(2), L.FloatTensor),
                                    isinstance(L.ones(2), L.LongTensor),
                                    isinstance(L.ones(2, dtype=L.int64), L.LongTensor),
                                    isinstance(L.ones(2), L.cuda.FloatTensor)),
    "unbound_methods": lambda L: (L.Tensor.add_(L.ones(2), 1), L.Tensor.mul_(L.ones(2), 3),
                                  L.Tensor.sum(L.ones(2)), L.Tensor.type(L.ones(2))),
    "legacy_fill": lambda L: (L.Tensor(2).fill_(1), L.LongTensor(2).zero_(),
                              L.FloatTensor(2, 2).uniform_(-1, 1).shape),
    "onehot_scatter": lambda L: L.zeros(2, 3).scatter_(1, L.LongTensor([[0], [2]]), 1),
    "byte_index": lambda L: L.arange(3.0)[L.ByteTensor([1, 0, 1]).bool()],
    "max_indices": lambda L: L.max(L.tensor([[1.0, 3.0], [4.0, 2.0]]), 1)[1],
    "typename": lambda L: (L.typename(L.ones(2)), L.typename(L.ones(2, dtype=L.int64)),
                           L.typename(3), L.typename(L.float32)),
    "is_storage": lambda L: L.is_storage(L.ones(2)),
    "range": lambda L: (L.range(0, 3), L.range(0, 1, 0.25), L.range(1, 4, dtype=L.int64),
                        L.range(0, -2, -1), L.range(3)),
    "range_zero_step": lambda L: L.range(0, 1, 0),
    "range_wrong_sign": lambda L: L.range(0, -1, 1),
    # (ends with None: torch's default device is a global mode that would stay on otherwise)
    "default_device": lambda L: (L.set_default_device("cpu"),
                                 L.set_default_device(L.device("cpu")),
                                 str(L.get_default_device()), L.set_default_device(None)),
    "cuda_legacy_type_call": lambda L: L.cuda.FloatTensor([1.0]),
}


@pytest.mark.parametrize("case", list(IDIOMS))
def test_old_idiom(torch, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if case == "cuda_legacy_type_call":  # torch's own error is about its CUDA library
            with pytest.raises(RuntimeError, match="torch.cuda.FloatTensor is not available"):
                IDIOMS[case](ember)
            return
        both(torch, IDIOMS[case])


def test_deprecated_warnings_match_torch(torch):
    # (torch warns about the overloads once per process: only its range warning is compared)
    for L in (torch, ember):
        with pytest.warns(UserWarning, match="torch.range is deprecated and will be removed"):
            L.range(0, 1)
    with pytest.warns(UserWarning, match=r"This overload of add_ is deprecated:\n\t"
                                         r"add_\(Number alpha, Tensor other\)"):
        ember.ones(2).add_(2, ember.ones(2))
    with pytest.warns(UserWarning, match=r"This overload of add is deprecated:\n\tadd\("
                                         r"Tensor input, Number alpha, Tensor other"):
        ember.add(ember.ones(2), 2, ember.ones(2))


def test_default_device_refuses_what_ember_lacks():
    with pytest.raises(RuntimeError, match="ember runs on the CPU only; device 'cuda' is not "
                                           "available"):
        ember.set_default_device("cuda")
    assert ember.get_default_device() == ember.device("cpu")


def test_set_default_tensor_type(torch):
    for L in (torch, ember):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                L.set_default_tensor_type("torch.DoubleTensor")
                assert L.get_default_dtype() == L.float64 and L.Tensor(1).dtype == L.float64
                L.set_default_tensor_type(L.FloatTensor)
                assert L.get_default_dtype() == L.float32
                with pytest.raises(TypeError, match="only floating-point types are supported "
                                                    "as the default type"):
                    L.set_default_tensor_type(L.LongTensor)
                with pytest.raises(TypeError, match="type torch.cuda.FloatTensor not available"):
                    L.set_default_tensor_type("torch.cuda.FloatTensor")
            finally:
                L.set_default_dtype(L.float32)


# ---- scatter_ / gather with a 0-dim index -------------------------------------------------------
SCATTER_0DIM = {
    "scatter_value": lambda L: L.zeros(5).scatter_(0, L.tensor(2), value=1),
    "scatter_number": lambda L: L.zeros(5).scatter_(0, L.tensor(2), 1.0),
    "scatter_src0": lambda L: L.zeros(5).scatter_(0, L.tensor(2), L.tensor(7.0)),
    "scatter_src1": lambda L: L.zeros(5).scatter(0, L.tensor(4), L.tensor([7.0, 8.0])),
    "scatter_add_": lambda L: L.zeros(5).scatter_add_(0, L.tensor(2), L.tensor(7.0)),
    "scatter_reduce": lambda L: L.ones(5).scatter_reduce(0, L.tensor(1), L.tensor(3.0), "prod"),
    "gather": lambda L: L.arange(5.0).gather(0, L.tensor(2)),
    "gather_1d_index_0dim_self": lambda L: L.tensor(5.0).gather(0, L.tensor([0, 0])),
    "scatter_2d_self": lambda L: L.zeros(2, 2).scatter_(0, L.tensor(0), 1.0),
    "gather_2d_self": lambda L: L.zeros(2, 2).gather(0, L.tensor(0)),
    "scatter_out_of_range": lambda L: L.zeros(5).scatter_(0, L.tensor(5), 1.0),
}


@pytest.mark.parametrize("case", list(SCATTER_0DIM))
def test_scatter_gather_with_0dim_index(torch, case):
    both(torch, SCATTER_0DIM[case])


def test_scatter_gather_0dim_index_gradients(torch):
    def run(L):
        x = L.arange(5.0, requires_grad=True)
        s = L.tensor(3.0, requires_grad=True)
        y = x.gather(0, L.tensor(2)) * 2 + x.scatter(0, L.tensor(1), s).sum() + \
            x.scatter_add(0, L.tensor(4), s * 5).sum()
        y.backward()
        return x.grad, s.grad
    both(torch, run)
    x = ember.randn(5, dtype=ember.float64, requires_grad=True)
    s = ember.randn((), dtype=ember.float64, requires_grad=True)
    i = ember.tensor(3)
    assert ember.autograd.gradcheck(lambda x: x.gather(0, i), (x,))
    assert ember.autograd.gradcheck(lambda x, s: x.scatter(0, i, s), (x, s))
    assert ember.autograd.gradcheck(lambda x, s: x.scatter_add(0, i, s), (x, s))


# ---- out= ---------------------------------------------------------------------------------------
A = [[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]]
B = [[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]]


def _a(L, **kw):
    return L.tensor(A, **kw)


OUT_CASES = {
    # name: (call(L, out), out shape)
    "matmul": (lambda L, o: L.matmul(_a(L), L.tensor(B), out=o), (2, 2)),
    "mm": (lambda L, o: L.mm(_a(L), L.tensor(B), out=o), (2, 2)),
    "bmm": (lambda L, o: L.bmm(_a(L)[None], L.tensor(B)[None], out=o), (1, 2, 2)),
    "mv": (lambda L, o: L.mv(_a(L), L.ones(3), out=o), (2,)),
    "dot": (lambda L, o: L.dot(L.ones(3), L.arange(3.0), out=o), ()),
    "inner": (lambda L, o: L.inner(L.ones(3), L.arange(3.0), out=o), ()),
    "outer": (lambda L, o: L.outer(L.ones(2), L.arange(3.0), out=o), (2, 3)),
    "ger": (lambda L, o: L.ger(L.ones(2), L.arange(3.0), out=o), (2, 3)),
    "addmm": (lambda L, o: L.addmm(L.ones(2, 2), _a(L), L.tensor(B), out=o), (2, 2)),
    "add": (lambda L, o: L.add(_a(L), 1, alpha=2, out=o), (2, 3)),
    "sub": (lambda L, o: L.sub(_a(L), _a(L) * 3, out=o), (2, 3)),
    "subtract": (lambda L, o: L.subtract(_a(L), 1, out=o), (2, 3)),
    "mul": (lambda L, o: L.mul(_a(L), 2, out=o), (2, 3)),
    "multiply": (lambda L, o: L.multiply(_a(L), _a(L), out=o), (2, 3)),
    "div": (lambda L, o: L.div(_a(L), 2, out=o), (2, 3)),
    "div__floor": (lambda L, o: L.div(_a(L), 2, rounding_mode="floor", out=o), (2, 3)),
    "divide": (lambda L, o: L.divide(_a(L), 4, out=o), (2, 3)),
    "true_divide": (lambda L, o: L.true_divide(_a(L), 4, out=o), (2, 3)),
    "floor_divide": (lambda L, o: L.floor_divide(_a(L), 2, out=o), (2, 3)),
    "remainder": (lambda L, o: L.remainder(_a(L), 2, out=o), (2, 3)),
    "fmod": (lambda L, o: L.fmod(_a(L), 2, out=o), (2, 3)),
    "pow": (lambda L, o: L.pow(_a(L), 2, out=o), (2, 3)),
    "maximum": (lambda L, o: L.maximum(_a(L), L.zeros(3), out=o), (2, 3)),
    "minimum": (lambda L, o: L.minimum(_a(L), L.zeros(3), out=o), (2, 3)),
    "eq": (lambda L, o: L.eq(_a(L), 3.0, out=o), (2, 3)),
    "ne": (lambda L, o: L.ne(_a(L), 3.0, out=o), (2, 3)),
    "lt": (lambda L, o: L.lt(_a(L), 1.0, out=o), (2, 3)),
    "le": (lambda L, o: L.le(_a(L), 1.0, out=o), (2, 3)),
    "gt": (lambda L, o: L.gt(_a(L), 1.0, out=o), (2, 3)),
    "ge": (lambda L, o: L.ge(_a(L), 1.0, out=o), (2, 3)),
    "greater": (lambda L, o: L.greater(_a(L), 1.0, out=o), (2, 3)),
    "less": (lambda L, o: L.less(_a(L), 1.0, out=o), (2, 3)),
    "greater_equal": (lambda L, o: L.greater_equal(_a(L), 1.0, out=o), (2, 3)),
    "less_equal": (lambda L, o: L.less_equal(_a(L), 1.0, out=o), (2, 3)),
    "not_equal": (lambda L, o: L.not_equal(_a(L), 1.0, out=o), (2, 3)),
    "logical_and": (lambda L, o: L.logical_and(_a(L), _a(L) > 0, out=o), (2, 3)),
    "logical_or": (lambda L, o: L.logical_or(_a(L) > 2, _a(L) < 0, out=o), (2, 3)),
    "logical_xor": (lambda L, o: L.logical_xor(_a(L) > 2, _a(L) < 0, out=o), (2, 3)),
    "logical_not": (lambda L, o: L.logical_not(_a(L) > 0, out=o), (2, 3)),
    "bitwise_and": (lambda L, o: L.bitwise_and(L.arange(6), 3, out=o), (6,)),
    "bitwise_or": (lambda L, o: L.bitwise_or(L.arange(6), 3, out=o), (6,)),
    "bitwise_xor": (lambda L, o: L.bitwise_xor(L.arange(6), 3, out=o), (6,)),
    "bitwise_not": (lambda L, o: L.bitwise_not(L.arange(6), out=o), (6,)),
    "exp": (lambda L, o: L.exp(_a(L), out=o), (2, 3)),
    "log": (lambda L, o: L.log(_a(L).abs(), out=o), (2, 3)),
    "log1p": (lambda L, o: L.log1p(_a(L).abs(), out=o), (2, 3)),
    "log2": (lambda L, o: L.log2(_a(L).abs(), out=o), (2, 3)),
    "sqrt": (lambda L, o: L.sqrt(_a(L).abs(), out=o), (2, 3)),
    "rsqrt": (lambda L, o: L.rsqrt(_a(L).abs(), out=o), (2, 3)),
    "sin": (lambda L, o: L.sin(_a(L), out=o), (2, 3)),
    "cos": (lambda L, o: L.cos(_a(L), out=o), (2, 3)),
    "tanh": (lambda L, o: L.tanh(_a(L), out=o), (2, 3)),
    "sigmoid": (lambda L, o: L.sigmoid(_a(L), out=o), (2, 3)),
    "reciprocal": (lambda L, o: L.reciprocal(_a(L), out=o), (2, 3)),
    "erfinv": (lambda L, o: L.erfinv(_a(L) / 5, out=o), (2, 3)),
    "abs": (lambda L, o: L.abs(_a(L), out=o), (2, 3)),
    "absolute": (lambda L, o: L.absolute(_a(L), out=o), (2, 3)),
    "neg": (lambda L, o: L.neg(_a(L), out=o), (2, 3)),
    "negative": (lambda L, o: L.negative(_a(L), out=o), (2, 3)),
    "sign": (lambda L, o: L.sign(_a(L), out=o), (2, 3)),
    "ceil": (lambda L, o: L.ceil(_a(L), out=o), (2, 3)),
    "floor": (lambda L, o: L.floor(_a(L), out=o), (2, 3)),
    "round": (lambda L, o: L.round(_a(L), out=o), (2, 3)),
    "trunc": (lambda L, o: L.trunc(_a(L), out=o), (2, 3)),
    "square": (lambda L, o: L.square(_a(L), out=o), (2, 3)),
    "clamp": (lambda L, o: L.clamp(_a(L), -1, 1, out=o), (2, 3)),
    "clip": (lambda L, o: L.clip(_a(L), min=0, out=o), (2, 3)),
    "clamp_min": (lambda L, o: L.clamp_min(_a(L), 0, out=o), (2, 3)),
    "clamp_max": (lambda L, o: L.clamp_max(_a(L), 0, out=o), (2, 3)),
    "where": (lambda L, o: L.where(_a(L) > 0, _a(L), L.zeros(3), out=o), (2, 3)),
    "cat": (lambda L, o: L.cat([_a(L), _a(L)], out=o), (4, 3)),
    "concat": (lambda L, o: L.concat([_a(L), _a(L)], dim=1, out=o), (2, 6)),
    "concatenate": (lambda L, o: L.concatenate([_a(L), _a(L)], out=o), (4, 3)),
    "stack": (lambda L, o: L.stack([_a(L), _a(L)], out=o), (2, 2, 3)),
    "hstack": (lambda L, o: L.hstack([_a(L), _a(L)], out=o), (2, 6)),
    "vstack": (lambda L, o: L.vstack([_a(L), _a(L)], out=o), (4, 3)),
    "sum": (lambda L, o: L.sum(_a(L), 1, out=o), (2,)),
    "sum__keepdim": (lambda L, o: L.sum(_a(L), 0, keepdim=True, out=o), (1, 3)),
    "mean": (lambda L, o: L.mean(_a(L), 1, out=o), (2,)),
    "prod": (lambda L, o: L.prod(_a(L), 1, out=o), (2,)),
    "cumsum": (lambda L, o: L.cumsum(_a(L), 1, out=o), (2, 3)),
    "cumprod": (lambda L, o: L.cumprod(_a(L), 1, out=o), (2, 3)),
    "std": (lambda L, o: L.std(_a(L), 1, out=o), (2,)),
    "var": (lambda L, o: L.var(_a(L), 1, out=o), (2,)),
    "logsumexp": (lambda L, o: L.logsumexp(_a(L), 1, out=o), (2,)),
    "norm": (lambda L, o: L.norm(_a(L), 2, 1, out=o), (2,)),
    "amax": (lambda L, o: L.amax(_a(L), 1, out=o), (2,)),
    "amin": (lambda L, o: L.amin(_a(L), 1, out=o), (2,)),
    "max__binary": (lambda L, o: L.max(_a(L), L.zeros(3), out=o), (2, 3)),
    "min__binary": (lambda L, o: L.min(_a(L), L.zeros(3), out=o), (2, 3)),
    "index_select": (lambda L, o: L.index_select(_a(L), 1, L.tensor([2, 0]), out=o), (2, 2)),
    "gather": (lambda L, o: L.gather(_a(L), 1, L.tensor([[2], [0]]), out=o), (2, 1)),
    "take": (lambda L, o: L.take(_a(L), L.tensor([5, 0]), out=o), (2,)),
    "take_along_dim": (lambda L, o: L.take_along_dim(_a(L), L.tensor([[1], [2]]), 1, out=o),
                       (2, 1)),
    "masked_select": (lambda L, o: L.masked_select(_a(L), _a(L) > 0, out=o), (4,)),
    "index_add": (lambda L, o: L.index_add(_a(L), 0, L.tensor([1, 1]), _a(L), out=o), (2, 3)),
    "scatter": (lambda L, o: L.scatter(_a(L), 1, L.tensor([[0], [2]]), 9.0, out=o), (2, 3)),
    "msort": (lambda L, o: L.msort(_a(L), out=o), (2, 3)),
    "addcmul": (lambda L, o: L.addcmul(_a(L), _a(L), L.ones(3), value=2, out=o), (2, 3)),
    "addcdiv": (lambda L, o: L.addcdiv(_a(L), _a(L), L.full((3,), 4.0), out=o), (2, 3)),
    "lerp": (lambda L, o: L.lerp(_a(L), L.zeros(3), 0.25, out=o), (2, 3)),
}
LONG_OUT = {  # ops whose natural output is int64 or bool
    "argmax": (lambda L, o: L.argmax(_a(L), 1, out=o), (2,)),
    "argmin": (lambda L, o: L.argmin(_a(L), 1, out=o), (2,)),
    "nonzero": (lambda L, o: L.nonzero(_a(L) > 0, out=o), (4, 2)),
    "all": (lambda L, o: L.all(_a(L) > 0, 1, out=o), (2,)),
    "any": (lambda L, o: L.any(_a(L) > 2, 1, out=o), (2,)),
}
# the math API's functions (merged from main): torch gives them out= too
M = [[0.5, -0.25, 0.75], [0.2, 0.9, -0.6]]


def _m(L):
    return L.tensor(M)


def _p(L):
    return L.tensor(M).abs() + 0.1


MATH = {
    "digamma": (lambda L, o: L.digamma(_p(L), out=o), (2, 3)),
    "erf": (lambda L, o: L.erf(_m(L), out=o), (2, 3)),
    "erfc": (lambda L, o: L.erfc(_m(L), out=o), (2, 3)),
    "i0": (lambda L, o: L.i0(_m(L), out=o), (2, 3)),
    "lgamma": (lambda L, o: L.lgamma(_p(L), out=o), (2, 3)),
    "logit": (lambda L, o: L.logit(_p(L) / 2, out=o), (2, 3)),
    "mvlgamma": (lambda L, o: L.mvlgamma(_p(L) + 2, 2, out=o), (2, 3)),
    "polygamma": (lambda L, o: L.polygamma(1, _p(L), out=o), (2, 3)),
    "sinc": (lambda L, o: L.sinc(_m(L), out=o), (2, 3)),
    "xlogy": (lambda L, o: L.xlogy(_m(L), _p(L), out=o), (2, 3)),
    "exp2": (lambda L, o: L.exp2(_m(L), out=o), (2, 3)),
    "expm1": (lambda L, o: L.expm1(_m(L), out=o), (2, 3)),
    "acos": (lambda L, o: L.acos(_m(L), out=o), (2, 3)),
    "acosh": (lambda L, o: L.acosh(_p(L) + 1, out=o), (2, 3)),
    "asin": (lambda L, o: L.asin(_m(L), out=o), (2, 3)),
    "asinh": (lambda L, o: L.asinh(_m(L), out=o), (2, 3)),
    "atan": (lambda L, o: L.atan(_m(L), out=o), (2, 3)),
    "atan2": (lambda L, o: L.atan2(_m(L), _p(L), out=o), (2, 3)),
    "atanh": (lambda L, o: L.atanh(_m(L), out=o), (2, 3)),
    "cosh": (lambda L, o: L.cosh(_m(L), out=o), (2, 3)),
    "deg2rad": (lambda L, o: L.deg2rad(_m(L), out=o), (2, 3)),
    "frac": (lambda L, o: L.frac(_m(L) * 3, out=o), (2, 3)),
    "hypot": (lambda L, o: L.hypot(_m(L), _p(L), out=o), (2, 3)),
    "log10": (lambda L, o: L.log10(_p(L), out=o), (2, 3)),
    "rad2deg": (lambda L, o: L.rad2deg(_m(L), out=o), (2, 3)),
    "sinh": (lambda L, o: L.sinh(_m(L), out=o), (2, 3)),
    "tan": (lambda L, o: L.tan(_m(L), out=o), (2, 3)),
    "diag": (lambda L, o: L.diag(_m(L), out=o), (2,)),
    "tril": (lambda L, o: L.tril(_m(L), out=o), (2, 3)),
    "triu": (lambda L, o: L.triu(_m(L), out=o), (2, 3)),
    "cross": (lambda L, o: L.cross(_m(L), _p(L), dim=1, out=o), (2, 3)),
    "inverse": (lambda L, o: L.inverse(L.tensor([[2.0, 1.0], [1.0, 3.0]]), out=o), (2, 2)),
    "matrix_power": (lambda L, o: L.matrix_power(L.tensor([[2.0, 1.0], [1.0, 3.0]]), 3, out=o),
                     (2, 2)),
    "addbmm": (lambda L, o: L.addbmm(L.ones(2, 2), _m(L)[None], _p(L).t()[None], out=o),
               (2, 2)),
    "addmv": (lambda L, o: L.addmv(L.ones(2), _m(L), L.ones(3), out=o), (2,)),
    "addr": (lambda L, o: L.addr(L.ones(2, 3), L.ones(2), L.arange(3.0), out=o), (2, 3)),
    "baddbmm": (lambda L, o: L.baddbmm(L.ones(1, 2, 2), _m(L)[None], _p(L).t()[None], out=o),
                (1, 2, 2)),
    "diff": (lambda L, o: L.diff(_m(L), out=o), (2, 2)),
    "logcumsumexp": (lambda L, o: L.logcumsumexp(_m(L), 1, out=o), (2, 3)),
    "histc": (lambda L, o: L.histc(_m(L), 4, out=o), (4,)),
    "nan_to_num": (lambda L, o: L.nan_to_num(_m(L), out=o), (2, 3)),
    "nanquantile": (lambda L, o: L.nanquantile(_m(L), 0.5, 1, out=o), (2,)),
    "quantile": (lambda L, o: L.quantile(_m(L), 0.5, 1, out=o), (2,)),
    "bucketize": (lambda L, o: L.bucketize(_m(L), L.tensor([0.0, 0.5]), out=o), (2, 3)),
    "searchsorted": (lambda L, o: L.searchsorted(L.tensor([0.0, 0.5]), _m(L), out=o), (2, 3)),
    "kron": (lambda L, o: L.kron(_m(L), L.ones(2, 1), out=o), (4, 3)),
    "heaviside": (lambda L, o: L.heaviside(_m(L), L.tensor(0.5), out=o), (2, 3)),
}
MATH_TUPLES = {
    "cummax": (lambda L, o: L.cummax(_m(L), 1, out=o), (2, 3)),
    "cummin": (lambda L, o: L.cummin(_m(L), 1, out=o), (2, 3)),
    "aminmax": (lambda L, o: L.aminmax(_m(L), dim=1, out=o), (2,)),
    "kthvalue": (lambda L, o: L.kthvalue(_m(L), 2, 1, out=o), (2,)),
    "median": (lambda L, o: L.median(_m(L), 1, out=o), (2,)),
    "mode": (lambda L, o: L.mode(_m(L), 1, out=o), (2,)),
    "nanmedian": (lambda L, o: L.nanmedian(_m(L), 1, out=o), (2,)),
}


FACTORIES = {
    "zeros": (lambda L, o, **k: L.zeros(2, 3, out=o, **k), (2, 3)),
    "ones": (lambda L, o, **k: L.ones((2, 3), out=o, **k), (2, 3)),
    "empty": (lambda L, o, **k: L.empty(2, 3, out=o, **k).fill_(1), (2, 3)),
    "full": (lambda L, o, **k: L.full((2,), 3.0, out=o, **k), (2,)),
    "arange": (lambda L, o, **k: L.arange(5, out=o, **k), (5,)),
    "linspace": (lambda L, o, **k: L.linspace(0, 1, 5, out=o, **k), (5,)),
    "logspace": (lambda L, o, **k: L.logspace(0, 1, 3, out=o, **k), (3,)),
    "eye": (lambda L, o, **k: L.eye(3, out=o, **k), (3, 3)),
}
RANDOM = {
    "rand": (lambda L, o: L.rand(2, 3, out=o), (2, 3)),
    "randn": (lambda L, o: L.randn(2, 3, out=o), (2, 3)),
    "randint": (lambda L, o: L.randint(3, (4,), out=o), (4,)),
    "randperm": (lambda L, o: L.randperm(4, out=o), (4,)),
    "normal": (lambda L, o: L.normal(0.0, 1.0, (3,), out=o), (3,)),
}
TUPLE_OUT = {
    "max__dim": (lambda L, o: L.max(_a(L), 1, out=o), (2,)),
    "min__dim": (lambda L, o: L.min(_a(L), 1, keepdim=True, out=o), (2, 1)),
    "sort": (lambda L, o: L.sort(_a(L), 1, descending=True, out=o), (2, 3)),
    "topk": (lambda L, o: L.topk(_a(L), 2, out=o), (2, 2)),
}


def test_out_covers_every_wrapped_function():
    from ember.ops import out as O
    wrapped = set(O.CAST + O.CAT + O.SAME + O.ACCUMULATE + O.BOOL + O.FACTORY)
    tested = {k.split("__")[0] for k in (*OUT_CASES, *LONG_OUT, *FACTORIES, *RANDOM, *TUPLE_OUT,
                                         *MATH, *MATH_TUPLES)}
    assert wrapped == tested, (wrapped - tested, tested - wrapped)


def _out_run(L, call, shape, dtype=None, **kw):
    """call with out of `shape` and `dtype`: (out, result) or the exception."""
    o = L.full(shape, 7, dtype=dtype or L.float32)
    r = call(L, o, **kw)
    return o, r


@pytest.mark.parametrize("case", list(OUT_CASES) + list(LONG_OUT) + list(MATH))
@pytest.mark.parametrize("out_dtype", ["same", "float64", "int64", "bool"])
def test_out(torch, case, out_dtype):
    call, shape = {**OUT_CASES, **LONG_OUT, **MATH}[case]

    def run(L):
        natural = call(L, None).dtype
        dt = natural if out_dtype == "same" else getattr(L, out_dtype)
        o = L.full(shape, 7, dtype=dt) if dt != L.bool else L.zeros(shape, dtype=L.bool)
        version = o._version
        r = call(L, o)
        assert r is o and (L is not ember or o._version > version)  # (torch.kron's stays)
        return o
    both(torch, run)


@pytest.mark.parametrize("case", list(OUT_CASES) + list(LONG_OUT) + list(TUPLE_OUT))
def test_out_resizes_like_torch(torch, case):
    call, shape = {**OUT_CASES, **LONG_OUT, **TUPLE_OUT}[case]

    def natural(L):
        r = call(L, None)
        return [t.dtype for t in r] if isinstance(r, tuple) else r.dtype

    for size in (0, 5):  # an empty out is resized quietly, a non-empty one with a warning
        def run(L):
            dts = natural(L)
            outs = [L.zeros(size, dtype=d) for d in (dts if isinstance(dts, list) else [dts])]
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                r = call(L, outs if isinstance(dts, list) else outs[0])
            resized = [str(x.message) for x in w if "resized" in str(x.message)]
            assert bool(resized) == (size > 0 and shape != (size,))
            if resized:
                assert resized[0].startswith(f"An output with one or more elements was resized "
                                             f"since it had shape [{size}], which does not "
                                             f"match the required output shape")
            if isinstance(dts, list):
                assert tuple(r) == tuple(outs) or all(a is b for a, b in zip(r, outs))
                return list(r)
            assert r is outs[0]
            return r
        both(torch, run)


@pytest.mark.parametrize("case", list(TUPLE_OUT) + list(MATH_TUPLES))
def test_out_tuples(torch, case):
    call, shape = {**TUPLE_OUT, **MATH_TUPLES}[case]

    def run(L, vdt, idt):
        if case == "aminmax":  # (min, max): both of the input's dtype
            idt = vdt
        v, i = L.empty(shape, dtype=vdt), L.empty(shape, dtype=idt)
        r = call(L, (v, i))
        assert r[0] is v and r[1] is i and type(r).__name__ == type(call(L, None)).__name__ + \
            "_out"
        return [v, i]
    both(torch, lambda L: run(L, L.float32, L.int64))
    both(torch, lambda L: run(L, L.float64, L.int64))
    both(torch, lambda L: run(L, L.float32, L.float32))


@pytest.mark.parametrize("case", list(FACTORIES))
def test_out_factories(torch, case):
    call, shape = FACTORIES[case]
    for dt in ("float32", "float64", "int64"):
        both(torch, lambda L: (lambda o: (call(L, o), o)[1])(L.zeros(0, dtype=getattr(L, dt))))
    both(torch, lambda L: call(L, L.zeros(shape), dtype=L.float64))  # dtype vs out: an error
    both(torch, lambda L: call(L, L.zeros(shape), dtype=L.float32))


@pytest.mark.parametrize("case", list(RANDOM))
def test_out_random(torch, case):
    call, shape = RANDOM[case]
    both(torch, lambda L: (lambda o: (call(L, o), o)[1])(L.zeros(0)), values=False)
    both(torch, lambda L: (lambda o: (call(L, o), o)[1])(L.zeros(shape, dtype=L.float64)),
         values=False)


def test_out_refuses_autograd(torch):
    for L in (torch, ember):
        a = L.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match=r"add\(\): functions with out=\.\.\. arguments "
                                               r"don't support automatic differentiation, but "
                                               r"one of the arguments requires grad\."):
            L.add(a, 1, out=L.empty(2))
        with pytest.raises(RuntimeError, match="functions with out=..."):
            L.cat([a, L.ones(2)], out=L.empty(4))
        with pytest.raises(RuntimeError, match="functions with out=..."):
            L.mul(L.ones(2), 2, out=L.empty(2, requires_grad=True))
        with L.no_grad():
            assert L.add(a, 1, out=L.empty(2)).tolist() == [2.0, 2.0]


def test_out_aliasing_and_views(torch):
    def run(L):
        a = L.arange(6.0).reshape(2, 3)
        L.add(a, a, out=a)  # out is an input
        c = L.zeros(2, 6)
        L.mul(a, 2, out=c[:, :3])  # a view: written through
        L.matmul(a, L.ones(3, 1), out=c[:, 5:])
        return a, c
    both(torch, run)


def test_out_keeps_hot_paths_plain():
    assert ember.add(ember.ones(2), 1).tolist() == [2.0, 2.0]
    assert ember.matmul.__wrapped__ is ember.ops.linalg.matmul


# ---- addcmul / addcdiv / lerp (the lines of hand-written Adam and EMA) --------------------------
POINTWISE = {
    "addcmul": lambda L, a, b, c: L.addcmul(a, b, c, value=0.5),
    "addcmul_default": lambda L, a, b, c: L.addcmul(a, b, c),
    "addcdiv": lambda L, a, b, c: L.addcdiv(a, b, c.abs() + 1, value=-2),
    "lerp_number": lambda L, a, b, c: L.lerp(a, b, 0.3),
    "lerp_near_one": lambda L, a, b, c: L.lerp(a, b, 0.9),
    "lerp_tensor": lambda L, a, b, c: L.lerp(a, b, c.sigmoid()),
    "method_addcmul": lambda L, a, b, c: a.addcmul(b, c, value=3),
    "method_lerp": lambda L, a, b, c: a.lerp(b, 0.5),
}
SHAPES = [((2, 3), (2, 3), (2, 3)), ((2, 3), (3,), (1, 3)), ((3,), (2, 3), (2, 1))]


@pytest.mark.parametrize("case", list(POINTWISE))
@pytest.mark.parametrize("shapes", SHAPES, ids=["same", "broadcast", "broadcast_self"])
def test_pointwise_values_and_gradients(torch, case, shapes):
    rng = np.random.RandomState(0)
    arrays = [rng.randn(*s).astype(np.float32) for s in shapes]

    def run(L):
        ts = [L.tensor(x, requires_grad=True) for x in arrays]
        y = POINTWISE[case](L, *ts)
        (y * L.arange(float(y.numel())).reshape(y.shape)).sum().backward()
        return [y, y.grad_fn.name()] + [t.grad for t in ts]
    both(torch, run)


@pytest.mark.parametrize("case", list(POINTWISE))
def test_pointwise_gradcheck(case):
    rng = np.random.RandomState(1)
    ts = [ember.tensor(rng.randn(*s), dtype=ember.float64, requires_grad=True)
          for s in SHAPES[1]]
    assert ember.autograd.gradcheck(lambda a, b, c: POINTWISE[case](ember, a, b, c), ts)
    assert ember.autograd.gradgradcheck(lambda a, b, c: POINTWISE[case](ember, a, b, c), ts)


INPLACE = {
    "adam_second_moment": lambda L, v, g: v.mul_(0.999).addcmul_(g, g, value=1 - 0.999),
    "adam_step": lambda L, p, g: p.addcdiv_(g, g.abs().sqrt().add_(1e-8), value=-0.01),
    "ema": lambda L, e, p: e.lerp_(p, 0.1),
    "ema_tensor_weight": lambda L, e, p: e.lerp_(p, L.full(e.shape, 0.25)),
    "old_positional_value": lambda L, v, g: v.addcmul_(0.5, g, g),
    "old_positional_addcdiv": lambda L, v, g: L.addcdiv(v, 2, g, g.abs() + 1),
    "broadcast_into_self": lambda L, v, g: v.addcmul_(g[0], g[0]),
    "self_too_small": lambda L, v, g: v[0].addcmul_(g, g),
    "int_tensors_float_value": lambda L, v, g: L.addcmul(v.long(), g.long(), g.long(),
                                                         value=0.5),
    "int_addcdiv": lambda L, v, g: L.addcdiv(v, g.long(), g.long()),
    "lerp_int": lambda L, v, g: L.lerp(v.long(), g.long(), 0.5),
    "lerp_dtype_mismatch": lambda L, v, g: L.lerp(v, g.double(), 0.5),
    "not_a_tensor": lambda L, v, g: L.addcmul(v, [1.0], g),
}


@pytest.mark.parametrize("case", list(INPLACE))
def test_pointwise_in_place_and_errors(torch, case):
    rng = np.random.RandomState(2)
    x, y = rng.randn(2, 3).astype(np.float32), rng.randn(2, 3).astype(np.float32)

    def run(L):
        v, g = L.tensor(x), L.tensor(y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = INPLACE[case](L, v, g)
        return [r, v, v._version]
    both(torch, run)


def test_pointwise_in_place_records_autograd(torch):
    def run(L):
        w = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
        v = w * 1
        v.addcmul_(w, w, value=2).lerp_(w * 3, 0.25).addcdiv_(w, w + 1)
        v.sum().backward()
        return [v, v.grad_fn.name(), w.grad]
    both(torch, run)


# ---- resize_ ------------------------------------------------------------------------------------
RESIZE = {
    "new_then_resize": lambda L: L.ones(2).new().resize_(2, 3).fill_(1),
    "shrink_keeps_first": lambda L: L.arange(6.0).resize_(2, 2),
    "grow_keeps_first": lambda L: L.arange(4.0).resize_(2, 3)[0, :],
    "tuple_size": lambda L: L.arange(6.0).resize_((3, 2)),
    "same_size": lambda L: L.arange(6.0).reshape(2, 3).resize_(2, 3),
    "resize_as_": lambda L: L.arange(6.0).resize_as_(L.ones(3, 2)),
    "zero": lambda L: L.arange(6.0).resize_(0),
    "requires_grad": lambda L: L.ones(2, requires_grad=True).resize_(3),
    "negative": lambda L: L.ones(2).resize_(-1),
}


@pytest.mark.parametrize("case", list(RESIZE))
def test_resize_(torch, case):
    both(torch, RESIZE[case])


def test_resize_shrink_shares_memory(torch):
    for L in (torch, ember):
        t = L.arange(6.0)
        v = t[:2]
        t.resize_(3)
        t[0] = 9
        assert v[0].item() == 9 and t._version == v._version


def test_type_refuses_cuda_types_clearly():
    for target in (ember.cuda.FloatTensor, "torch.cuda.FloatTensor", "ember.cuda.LongTensor"):
        with pytest.raises(RuntimeError, match=r"ember runs on the CPU only: torch.cuda.\w+ is "
                                               r"not available"):
            ember.ones(2).type(target)
    assert ember.ones(2).type() == "torch.FloatTensor"
    assert ember.ones(2).type(ember.DoubleTensor).dtype == ember.float64
