"""Tensor creation, attributes and conversions against torch: tensor/as_tensor/from_numpy (memory
sharing both ways), filled tensors and their _like forms, arange/linspace/eye, dtype
inference, and the attribute/method surface (shape, size(), item(), tolist(), casts, to(),
type(), clone(), detach(), device, requires_grad, is_leaf, grad, grad_fn, T)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from helpers import assert_close, same_error


def _name(d):
    return str(d).split(".")[-1]


def both(torch, fn):
    """fn(lib) on both libraries; asserts same shape, dtype and values; returns the pair."""
    e, t = fn(ember), fn(torch)
    assert_close(e, t, rtol=1e-6, atol=1e-7)
    return e, t


CREATION = {
    "tensor_list": lambda L: L.tensor([[1.5, 2.0], [3.0, 4.25]]),
    "tensor_ints": lambda L: L.tensor([[1, 2], [3, 4]]),
    "tensor_bools": lambda L: L.tensor([True, False]),
    "tensor_mixed_int_float": lambda L: L.tensor([1, 2.5]),
    "tensor_mixed_bool_int": lambda L: L.tensor([True, 2]),
    "tensor_scalar_float": lambda L: L.tensor(3.5),
    "tensor_scalar_int": lambda L: L.tensor(7),
    "tensor_scalar_bool": lambda L: L.tensor(False),
    "tensor_tuple": lambda L: L.tensor(((1, 2), (3, 4))),
    "tensor_range": lambda L: L.tensor(range(4)),
    "tensor_empty": lambda L: L.tensor([]),
    "tensor_empty_nested": lambda L: L.tensor([[]]),
    "tensor_dtype": lambda L: L.tensor([1, 2], dtype=L.float64),
    "tensor_dtype_narrow": lambda L: L.tensor([1.7, -2.2], dtype=L.int32),
    "tensor_np_float64": lambda L: L.tensor(np.array([1.5, 2.5])),
    "tensor_np_int32": lambda L: L.tensor(np.array([1, 2], np.int32)),
    "tensor_np_scalar": lambda L: L.tensor(np.float64(2.5)),
    "tensor_np_scalar_int": lambda L: L.tensor(np.int32(3)),
    "tensor_list_np_scalars": lambda L: L.tensor([np.float32(1.5), np.float32(2.0)]),
    "tensor_of_tensors": lambda L: L.tensor([L.tensor(1.0), L.tensor(2.0)]),
    "tensor_big_int": lambda L: L.tensor(2 ** 40),
    "as_tensor_list": lambda L: L.as_tensor([1, 2]),
    "as_tensor_dtype": lambda L: L.as_tensor([1.5, 2], dtype=L.float64),
    "as_tensor_np": lambda L: L.as_tensor(np.zeros((2, 3), np.float32)),
    "from_numpy_f64": lambda L: L.from_numpy(np.arange(6.0).reshape(2, 3)),
    "from_numpy_u8": lambda L: L.from_numpy(np.arange(6, dtype=np.uint8)),
    "zeros": lambda L: L.zeros(2, 3),
    "zeros_tuple": lambda L: L.zeros((2, 3)),
    "zeros_list": lambda L: L.zeros([2, 3]),
    "zeros_size": lambda L: L.zeros(L.Size([2, 3])),
    "zeros_0d": lambda L: L.zeros(()),
    "zeros_empty": lambda L: L.zeros(0, 3),
    "zeros_dtype": lambda L: L.zeros(2, dtype=L.int64),
    "ones": lambda L: L.ones(3, 1),
    "ones_bool": lambda L: L.ones(2, dtype=L.bool),
    "full_int": lambda L: L.full((2, 2), 7),
    "full_float": lambda L: L.full([2], 2.5),
    "full_bool": lambda L: L.full((2,), True),
    "full_dtype": lambda L: L.full((2, 2), 7, dtype=L.float32),
    "full_tensor_value": lambda L: L.full((2,), L.tensor(3)),
    "zeros_like": lambda L: L.zeros_like(L.ones(2, 3, dtype=L.int32)),
    "ones_like": lambda L: L.ones_like(L.zeros(2, dtype=L.float64)),
    "ones_like_dtype": lambda L: L.ones_like(L.zeros(2), dtype=L.int16),
    "full_like": lambda L: L.full_like(L.zeros(2, dtype=L.int32), 2.7),
    "full_like_float": lambda L: L.full_like(L.zeros(2, 2), 0.5),
    "arange_int": lambda L: L.arange(5),
    "arange_start_end": lambda L: L.arange(2, 9),
    "arange_step": lambda L: L.arange(1, 10, 3),
    "arange_neg_step": lambda L: L.arange(5, -3, -2),
    "arange_float": lambda L: L.arange(0, 1, 0.1),
    "arange_float_neg": lambda L: L.arange(1, 0, -0.25),
    "arange_float_start": lambda L: L.arange(0.0, 3),
    "arange_dtype": lambda L: L.arange(5, dtype=L.float32),
    "arange_dtype_f64": lambda L: L.arange(0, 2, 0.3, dtype=L.float64),
    "arange_empty": lambda L: L.arange(3, 3),
    "linspace": lambda L: L.linspace(0, 1, 5),
    "linspace_neg": lambda L: L.linspace(3, -3, 7),
    "linspace_one": lambda L: L.linspace(-1, 1, 1),
    "linspace_zero": lambda L: L.linspace(0, 1, 0),
    "linspace_int": lambda L: L.linspace(0, 10, 7, dtype=L.int64),
    "linspace_f64": lambda L: L.linspace(0, 1, 11, dtype=L.float64),
    "linspace_many": lambda L: L.linspace(-5, 5, 101),
    "eye": lambda L: L.eye(3),
    "eye_rect": lambda L: L.eye(3, 2),
    "eye_rect_wide": lambda L: L.eye(2, 4),
    "eye_dtype": lambda L: L.eye(2, dtype=L.int64),
    "eye_zero": lambda L: L.eye(0),
}


@pytest.mark.parametrize("name", list(CREATION))
def test_creation_matches_torch(torch, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e, t = both(torch, CREATION[name])
    assert e.is_leaf and not e.requires_grad and e.grad_fn is None
    assert e.is_contiguous()


@pytest.mark.parametrize("fn", [lambda L: L.empty(2, 3), lambda L: L.empty((4,), dtype=L.int32),
                                lambda L: L.empty_like(L.ones(2, 3, dtype=L.float64)),
                                lambda L: L.rand(2, 3), lambda L: L.randn(4, dtype=L.float64),
                                lambda L: L.randint(0, 5, (3, 2)), lambda L: L.randperm(6),
                                lambda L: L.rand_like(L.ones(2, dtype=L.float64)),
                                lambda L: L.randn_like(L.ones(3, 1))])
def test_uninitialised_and_random_creation_shape_and_dtype(torch, fn):
    e, t = fn(ember), fn(torch)
    assert tuple(e.shape) == tuple(t.shape)
    assert _name(e.dtype) == _name(t.dtype)


@pytest.mark.parametrize("fn", [lambda L: L.zeros(2, 3, requires_grad=True),
                                lambda L: L.ones(2, requires_grad=True, dtype=L.float64),
                                lambda L: L.tensor([1.0, 2.0], requires_grad=True),
                                lambda L: L.full((2,), 1.5, requires_grad=True),
                                lambda L: L.arange(3.0, requires_grad=True),
                                lambda L: L.randn(2, requires_grad=True),
                                lambda L: L.zeros_like(L.ones(2), requires_grad=True),
                                lambda L: L.eye(2, requires_grad=True),
                                lambda L: L.linspace(0, 1, 3, requires_grad=True)])
def test_creation_with_requires_grad(torch, fn):
    e, t = fn(ember), fn(torch)
    assert e.requires_grad and t.requires_grad and e.is_leaf and e.grad is None


@pytest.mark.parametrize("fn", [
    lambda L: L.tensor([1, 2], requires_grad=True), lambda L: L.tensor([[1, 2], [3]]),
    lambda L: L.tensor("abc"), lambda L: L.tensor(2 ** 70), lambda L: L.tensor([1, "a"]),
    lambda L: L.zeros(-1), lambda L: L.ones(2, -1), lambda L: L.empty(-1),
    lambda L: L.full((-1,), 2.0), lambda L: L.zeros(2.5), lambda L: L.full((2,), "a"),
    lambda L: L.full((2,), None), lambda L: L.arange(0, 10, 0), lambda L: L.arange(0, 10, -1),
    lambda L: L.arange(5, 0), lambda L: L.linspace(0, 1, -1), lambda L: L.eye(-1),
    lambda L: L.eye(2, -1), lambda L: L.zeros(2, dtype=L.int64).requires_grad_(),
    lambda L: L.ones(2, device="cuda:0") if L is ember else L.ones(2, device="nodevice"),
    lambda L: L.ones(2).view(L.Size([3])),
])
def test_creation_errors_match_torch(torch, fn):
    ee, et = same_error(torch, lambda: fn(ember), lambda: fn(torch))
    if not isinstance(et, RuntimeError) or "device" not in str(et):
        assert str(ee).replace("ember", "torch") == str(et) or isinstance(ee, TypeError)


def test_from_numpy_shares_memory_both_ways(torch):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    e = ember.from_numpy(a)
    t = torch.from_numpy(a.copy())
    a[0, 0] = 100.0
    assert e[0, 0].item() == 100.0
    e.numpy()[1, 2] = -5.0
    assert a[1, 2] == -5.0
    e.add_(1)
    assert a[0, 0] == 101.0
    assert e.dtype is ember.float32 and _name(t.dtype) == "float32"
    # numpy() of a tensor shares memory too
    x = ember.zeros(3)
    x.numpy()[1] = 4.0
    assert x.tolist() == [0.0, 4.0, 0.0]
    with pytest.raises(TypeError):
        ember.from_numpy([1, 2])
    with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy.datetime64"):
        ember.from_numpy(np.zeros(2, "datetime64"))  # (complex64 is supported: test_complex.py)


def test_as_tensor_shares_memory_only_without_conversion(torch):
    a = np.ones(3, np.float64)
    e = ember.as_tensor(a)
    a[0] = 9.0
    assert e[0].item() == 9.0
    e2 = ember.as_tensor(a, dtype=ember.float32)
    a[1] = 7.0
    assert e2[1].item() == 1.0
    x = ember.ones(2)
    assert ember.as_tensor(x) is x
    assert ember.as_tensor(x, dtype=ember.float64).dtype is ember.float64


def test_tensor_copies_its_input(torch):
    a = np.ones(3, np.float32)
    e = ember.tensor(a)
    a[0] = 5.0
    assert e[0].item() == 1.0
    src = ember.ones(2)
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        c = ember.tensor(src)
    src.add_(1)
    assert c.tolist() == [1.0, 1.0]


def test_attributes(torch):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    e, t = ember.tensor(a), torch.tensor(a)
    assert tuple(e.shape) == tuple(t.shape) and e.size() == t.size()
    assert e.size(1) == t.size(1) and e.size(-1) == t.size(-1)
    assert e.dim() == t.dim() == e.ndim == t.ndim == 3
    assert e.numel() == t.numel() and e.nelement() == 24
    assert e.element_size() == t.element_size() == 4
    assert e.stride() == t.stride() and e.stride(1) == t.stride(1)
    assert e.is_floating_point() and not ember.tensor([1]).is_floating_point()
    assert str(e.device) == str(t.device) == "cpu" and e.device.type == "cpu"
    assert e.is_cuda is False and e.is_leaf and e.grad is None and e.grad_fn is None
    assert e.requires_grad is False
    assert len(e) == len(t) == 2
    assert ember.is_tensor(e) and not ember.is_tensor(a)
    same_error(torch, lambda: len(ember.tensor(1.0)), lambda: len(torch.tensor(1.0)))
    same_error(torch, lambda: e.size(3), lambda: t.size(3))


def test_item_tolist_and_python_conversions(torch):
    for fn in (lambda L: L.tensor(3.5).item(), lambda L: L.tensor(7).item(),
               lambda L: L.tensor([[7]]).item(), lambda L: L.tensor([True]).item(),
               lambda L: L.tensor([[1, 2], [3, 4]]).tolist(), lambda L: L.tensor(2.0).tolist(),
               lambda L: L.tensor([1.5, 2.5]).tolist(), lambda L: float(L.tensor([2.5])),
               lambda L: int(L.tensor(2.7)), lambda L: bool(L.tensor([0.0])),
               lambda L: L.tensor([[1.5]], dtype=L.float64).item(),
               lambda L: L.tensor([1, 0], dtype=L.uint8).tolist(),
               lambda L: [2, 3, 4][L.tensor(1)], lambda L: L.tensor(3) + 0.5 if False else
               float(L.tensor(3))):
        er, tr = fn(ember), fn(torch)
        assert er == tr and type(er) is type(tr), (er, tr)
    for fn in (lambda L: L.tensor([1, 2]).item(), lambda L: float(L.tensor([1.0, 2.0])),
               lambda L: bool(L.tensor([1, 2])), lambda L: [1, 2][L.tensor(1.0)],
               lambda L: L.ones(2, requires_grad=True).numpy()):
        same_error(torch, lambda: fn(ember), lambda: fn(torch))


def test_numpy_conversion(torch):
    e = ember.tensor([[1.0, 2.0]])
    n = e.numpy()
    assert isinstance(n, np.ndarray) and n.dtype == np.float32 and n.shape == (1, 2)
    x = ember.ones(2, requires_grad=True)
    assert isinstance(x.detach().numpy(), np.ndarray)
    assert np.asarray(e).dtype == np.float32
    assert np.allclose(np.asarray(e) * 2, [[2.0, 4.0]])


CASTS = ["float", "double", "half", "long", "int", "short", "char", "byte", "bool"]


@pytest.mark.parametrize("cast", CASTS)
def test_cast_methods(torch, cast):
    vals = [-2.7, -0.5, 0.0, 0.4, 1.5, 3.9]
    if cast == "byte":
        vals = [abs(v) for v in vals]
    e, t = both(torch, lambda L: getattr(L.tensor(vals), cast)())
    e2, t2 = both(torch, lambda L: getattr(L.tensor([3, 0, -1] if cast != "byte" else [3, 0, 1]),
                                           cast)())


def test_to_and_type(torch):
    for fn in (lambda L: L.tensor([1, 2]).to(L.float64), lambda L: L.tensor([1, 2]).to("cpu"),
               lambda L: L.tensor([1, 2]).to("cpu", L.float16),
               lambda L: L.tensor([1, 2]).to(device="cpu", dtype=L.float16),
               lambda L: L.tensor([1, 2]).to(L.ones(1, dtype=L.float64)),
               lambda L: L.tensor([1.5]).to(float), lambda L: L.tensor([1.5]).to(int),
               lambda L: L.tensor([1.5]).to(bool), lambda L: L.tensor([1, 2]).type(L.float32),
               lambda L: L.tensor([1, 2]).type("torch.DoubleTensor"),
               lambda L: L.tensor([1.5]).type_as(L.tensor([1])),
               lambda L: L.tensor([2.5]).to(L.float32, copy=True)):
        both(torch, fn)
    for fn in (lambda L: L.zeros(2, 3).type(), lambda L: L.zeros(2).long().type(),
               lambda L: L.zeros(2).bool().type()):
        assert fn(ember) == fn(torch)
    x = ember.ones(2)
    assert x.to(ember.float32) is x and x.float() is x and x.to("cpu") is x and x.cpu() is x
    assert x.to(ember.float32, copy=True) is not x
    assert x.contiguous() is x


def test_clone_detach_and_grad_flags(torch):
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        c, d, f, lg = x.clone(), x.detach(), x.double(), x.long()
        assert type(c.grad_fn).__name__ == "CloneBackward0" and not c.is_leaf
        assert d.is_leaf and not d.requires_grad and d.grad_fn is None
        assert type(f.grad_fn).__name__ == "ToCopyBackward0" and f.requires_grad
        assert not lg.requires_grad and lg.grad_fn is None
        # detach shares storage
        d.numpy()[0] = 10.0
        assert x[0].item() == 10.0
        # clone does not
        c.detach().numpy()[1] = -1.0
        assert x[1].item() == 2.0
        y = x * 2
        assert not y.is_leaf and y.requires_grad and y.grad_fn is not None
    e = ember.tensor([1.0], requires_grad=True)
    same_error(torch, lambda: (e * 2).requires_grad_(False),
               lambda: (torch.tensor([1.0], requires_grad=True) * 2).requires_grad_(False))


def test_T_property(torch):
    a = np.arange(6.0).reshape(2, 3)
    both(torch, lambda L: L.tensor(a).T)
    both(torch, lambda L: L.tensor(a).mT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both(torch, lambda L: L.tensor(a[0]).T)
        both(torch, lambda L: L.tensor(np.arange(24.0).reshape(2, 3, 4)).T)
    with pytest.warns(UserWarning, match="x.T"):
        ember.ones(2, 3, 4).T
    x = ember.tensor(a, requires_grad=True)
    assert type(x.T.grad_fn).__name__ == "PermuteBackward0"


def test_device_objects(torch):
    d = ember.device("cpu")
    assert repr(d) == repr(torch.device("cpu")) and str(d) == "cpu"
    assert ember.ones(1).device == d == "cpu"
    assert ember.device("cuda:1").index == 1
    same_error(torch, lambda: ember.device("gpu"), lambda: torch.device("gpu"))
    with pytest.raises(RuntimeError, match="cuda"):
        ember.ones(2).to("cuda")


def test_new_creation_methods(torch):
    for fn in (lambda L, x: x.new_zeros(2, 3), lambda L, x: x.new_ones((2,)),
               lambda L, x: x.new_full((2,), 3), lambda L, x: x.new_tensor([1, 2]),
               lambda L, x: x.int().new_tensor([1.5, -2.7]),
               lambda L, x: x.new_zeros(2, dtype=L.int64), lambda L, x: x.new_ones(1, 2) * 0):
        both(torch, lambda L: fn(L, L.ones(2, dtype=L.float64)))
    e = ember.ones(2).new_empty(3, 2)
    assert tuple(e.shape) == (3, 2) and e.dtype is ember.float32
    assert ember.ones(2).new_zeros(2, requires_grad=True).requires_grad
    with pytest.warns(UserWarning, match="new_tensor"):
        ember.ones(2).new_tensor(ember.ones(3))


NUMBERS_INTO_DTYPES = [
    # (code run with L = torch or ember), torch raises where a number does not fit the dtype
    "L.tensor([200], dtype=L.int8)", "L.tensor([-128, 127], dtype=L.int8)",
    "L.tensor([256], dtype=L.uint8)", "L.tensor([-1, -255], dtype=L.uint8)",
    "L.tensor([-256], dtype=L.uint8)", "L.tensor([-1.5], dtype=L.uint8)",
    "L.tensor([127.9], dtype=L.int8)", "L.tensor([3.7, -128.9], dtype=L.int8)",
    "L.tensor([float('nan')], dtype=L.int32)", "L.tensor([float('inf')], dtype=L.int64)",
    "L.tensor([2 ** 31], dtype=L.int32)", "L.tensor([2 ** 63 - 1], dtype=L.int64)",
    "L.tensor([9.3e18], dtype=L.int64)", "L.tensor([[1, 2], [3, 1000]], dtype=L.int8)",
    "L.tensor([True, 300], dtype=L.int8)", "L.tensor(200, dtype=L.int8)",
    "L.tensor([2], dtype=L.bool)", "L.tensor([1e40], dtype=L.float32)",
    "L.tensor([1e300], dtype=L.float16)", "L.tensor(np.array([300]), dtype=L.int8)",
    "L.tensor([np.int64(300)], dtype=L.int8)", "L.as_tensor([200], dtype=L.int8)",
    "L.full((2,), 200, dtype=L.int8)", "L.full((2,), 200.5, dtype=L.int8)",
    "L.full((1,), 1e40, dtype=L.float32)", "L.full((1,), 1e300, dtype=L.float16)",
    "L.full((1,), float('inf'), dtype=L.float32)", "L.full((1,), 2 ** 31, dtype=L.int32)",
    "L.full((1,), 40000, dtype=L.int16)", "L.full((1,), 2, dtype=L.bool)",
    "L.zeros(2, dtype=L.uint8).fill_(-1)", "L.zeros(2, dtype=L.uint8).fill_(-256)",
    "L.zeros(2, dtype=L.int8).fill_(L.tensor(200))", "L.zeros(2, dtype=L.int8) + 200",
]


@pytest.mark.parametrize("code", NUMBERS_INTO_DTYPES)
def test_numbers_that_overflow_their_dtype(torch, code):
    outcomes = []
    for L in (torch, ember):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # torch is silent where it saturates to inf
            try:
                outcomes.append(eval(code, {"L": L, "np": np}).tolist())
            except RuntimeError as e:
                outcomes.append(str(e))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("code", [
    "L.zeros(2).fill_('a')", "L.zeros(2, dtype=L.bool).fill_('a')", "L.zeros(2).fill_(None)",
    "L.zeros(2).fill_([1, 2])", "L.full((2,), 'a')", "L.full((2,), None)",
])
def test_fill_with_a_non_number_is_a_type_error(torch, code):
    ee, et = same_error(torch, lambda: eval(code, {"L": ember}), lambda: eval(code, {"L": torch}))
    # (torch spells a list argument out as "list of [int, int]" further on)
    assert isinstance(ee, TypeError) and str(ee).split(", but")[0] == str(et).split(", but")[0]
