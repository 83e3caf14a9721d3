"""nn.Module, nn.Parameter and the containers against torch: attribute routing, traversal,
state_dict / load_state_dict (keys, metadata, errors), hooks, conversions and reprs."""
from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as enn
from helpers import assert_close, same_error


def _both(torch, build):
    """The same construction on both libraries: build(nn, lib) -> module."""
    return build(enn, ember), build(torch.nn, torch)


class _Net:
    """A small model with a parameter, a buffer, a non-persistent buffer and children."""

    @staticmethod
    def build(nn, lib):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(4, 3)
                self.scale = nn.Parameter(lib.ones(3))
                self.register_buffer("running", lib.zeros(3))
                self.register_buffer("tmp", lib.zeros(2), persistent=False)
                self.head = nn.Sequential(nn.ReLU(), nn.Linear(3, 2))
                self.plain = 5

            def forward(self, x):
                return self.head(self.fc1(x) * self.scale)

        return Net()


def _names(it):
    return [n for n, _ in it]


def test_attribute_routing_and_traversal(torch):
    me, mt = _both(torch, _Net.build)
    assert list(me._parameters) == list(mt._parameters) == ["scale"]
    assert list(me._buffers) == list(mt._buffers)
    assert list(me._modules) == list(mt._modules)
    assert "fc1" not in me.__dict__ and me.__dict__["plain"] == 5
    assert _names(me.named_parameters()) == _names(mt.named_parameters())
    assert _names(me.named_buffers()) == _names(mt.named_buffers())
    assert _names(me.named_modules()) == _names(mt.named_modules())
    assert _names(me.named_children()) == _names(mt.named_children())
    assert _names(me.named_parameters(prefix="m", recurse=False)) == \
        _names(mt.named_parameters(prefix="m", recurse=False))
    assert len(list(me.parameters())) == len(list(mt.parameters())) == 5
    assert len(list(me.modules())) == len(list(mt.modules()))
    assert len(list(me.children())) == len(list(mt.children()))
    assert isinstance(me.scale, enn.Parameter) and me.scale.requires_grad
    assert me.get_submodule("head.1") is me.head[1]
    assert me.get_parameter("head.1.bias") is me.head[1].bias
    assert me.get_buffer("running") is me.running
    assert set(dir(me)) >= {"fc1", "head", "scale", "running", "forward", "plain"}
    del me.fc1
    assert "fc1" not in me._modules
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'fc1'"):
        me.fc1


def test_shared_parameters_are_listed_once(torch):
    def build(nn, lib):
        lin = nn.Linear(2, 2)
        return nn.Sequential(lin, nn.ReLU(), lin)
    me, mt = _both(torch, build)
    assert _names(me.named_parameters()) == _names(mt.named_parameters()) == ["0.weight", "0.bias"]
    assert _names(me.named_modules()) == _names(mt.named_modules())
    assert list(me.state_dict()) == list(mt.state_dict())
    assert _names(me.named_parameters(remove_duplicate=False)) == \
        _names(mt.named_parameters(remove_duplicate=False))


def test_assignment_errors_match_torch(torch):
    me, mt = enn.Linear(3, 2), torch.nn.Linear(3, 2)
    cases = [
        (lambda m, L: setattr(m, "weight", L.zeros(2, 3))),
        (lambda m, L: m.register_buffer("weight", L.zeros(1))),
        (lambda m, L: m.register_buffer("a.b", L.zeros(1))),
        (lambda m, L: m.register_buffer("", L.zeros(1))),
        (lambda m, L: m.register_buffer("bb", 3)),
        (lambda m, L: m.register_parameter("bb", L.zeros(1))),
        (lambda m, L: m.register_parameter("cc", L.nn.Parameter(L.zeros(1)) * 2)),
        (lambda m, L: m.add_module("bb", 3)),
        (lambda m, L: m.add_module("a.b", L.nn.ReLU())),
        (lambda m, L: m.train("x")),
        (lambda m, L: m.get_submodule("a.b")),
        (lambda m, L: m.to(L.long)),
        (lambda m, L: L.nn.Module()(1)),
    ]
    for fn in cases:
        ee, te = same_error(torch, lambda: fn(me, ember), lambda: fn(mt, torch))
        assert str(ee).replace("ember", "torch") == str(te), (ee, te)

    with pytest.raises(AttributeError, match="cannot assign parameters before Module"):
        type("E", (enn.Module,), {"__init__": lambda s: setattr(s, "w", enn.Parameter(
            ember.zeros(1)))})()


def test_parameter_semantics(torch):
    t = ember.randn(2, 3)
    p = enn.Parameter(t)
    assert p.requires_grad and p.is_leaf and isinstance(p, ember.Tensor)
    p.detach().numpy()[0, 0] = 42.0  # shares storage with the wrapped tensor
    assert t[0, 0].item() == 42.0
    assert not enn.Parameter(t, requires_grad=False).requires_grad
    assert enn.Parameter().shape == (0,)
    pe = enn.Parameter(ember.zeros(2))
    pt = torch.nn.Parameter(torch.zeros(2))
    assert repr(pe) == repr(pt)
    assert type(pe * 2) is ember.Tensor
    q = copy.deepcopy(pe)
    assert isinstance(q, enn.Parameter) and q is not pe and q.requires_grad
    r = pickle.loads(pickle.dumps(pe))
    assert isinstance(r, enn.Parameter) and ember.equal(r, pe)


def test_state_dict_keys_metadata_and_sharing(torch):
    me, mt = _both(torch, _Net.build)
    sde, sdt = me.state_dict(), mt.state_dict()
    assert type(sde) is OrderedDict
    assert list(sde) == list(sdt)
    assert sde._metadata == sdt._metadata
    assert not any(v.requires_grad for v in sde.values())
    sde["fc1.weight"].numpy()[0, 0] = 7.0  # detached but sharing storage
    assert me.fc1.weight[0, 0].item() == 7.0
    kv = me.state_dict(keep_vars=True)
    assert kv["scale"] is me.scale
    assert list(me.state_dict(prefix="p.")) == list(mt.state_dict(prefix="p."))


def test_load_state_dict_roundtrip_and_returns(torch):
    me, mt = _both(torch, _Net.build)
    sd = {k: ember.tensor(v.numpy()) for k, v in mt.state_dict().items()}
    res = me.load_state_dict(sd)
    assert repr(res) == "<All keys matched successfully>"
    assert res.missing_keys == [] and res.unexpected_keys == []
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    assert_close(me(ember.tensor(x)), mt(torch.tensor(x)))
    w = me.fc1.weight
    me.load_state_dict(me.state_dict())
    assert me.fc1.weight is w  # loaded in place
    sd.pop("head.1.bias")
    sd["extra"] = ember.zeros(1)
    re_ = me.load_state_dict(sd, strict=False)
    rt = mt.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.items()}, strict=False)
    assert repr(re_) == repr(rt)
    assert re_.missing_keys == ["head.1.bias"] and re_.unexpected_keys == ["extra"]


def test_load_state_dict_errors_match_torch(torch):
    cases = [
        {"weight": "zeros(3, 3)"},
        {"weight": "zeros(2, 3)", "bias": "zeros(2)", "foo": "zeros(1)", "x.y": "zeros(1)"},
        {"weight": "zeros(2, 3)", "bias": "zeros(3)"},
        {"weight": "zeros(2, 3)", "bias": 1.0},
        {},
    ]
    for case in cases:
        def sd(L):
            return {k: eval("L." + v, {"L": L}) if isinstance(v, str) else v
                    for k, v in case.items()}
        me, mt = enn.Linear(3, 2), torch.nn.Linear(3, 2)
        ee, te = same_error(torch, lambda: me.load_state_dict(sd(ember)),
                            lambda: mt.load_state_dict(sd(torch)))
        assert str(ee) == str(te).replace("torch.Size", "ember.Size")
    ee, te = same_error(torch, lambda: enn.Linear(3, 2).load_state_dict([1]),
                        lambda: torch.nn.Linear(3, 2).load_state_dict([1]))
    assert str(ee) == str(te)


def test_load_state_dict_message_names_model_class():
    with pytest.raises(RuntimeError) as e:
        enn.Sequential(enn.Linear(3, 2)).load_state_dict({"0.weight": ember.zeros(2, 3)})
    assert str(e.value) == ('Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in '
                            'state_dict: "0.bias". ')


def test_train_eval_zero_grad_requires_grad_apply(torch):
    me, _ = _both(torch, _Net.build)
    assert me.training and me.head[0].training
    assert me.eval() is me and not me.head[1].training
    me.train()
    assert me.head[1].training
    me(ember.randn(2, 4)).sum().backward()
    assert me.fc1.weight.grad is not None
    me.zero_grad(set_to_none=False)
    assert (me.fc1.weight.grad.numpy() == 0).all()
    me.zero_grad()
    assert all(p.grad is None for p in me.parameters())
    me.requires_grad_(False)
    assert not any(p.requires_grad for p in me.parameters())
    seen = []
    assert me.apply(lambda m: seen.append(type(m).__name__)) is me
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Net"]


def test_to_dtype_device_and_casts(torch):
    me, _ = _both(torch, _Net.build)
    w = me.fc1.weight
    assert me.to(ember.float64) is me
    assert me.fc1.weight is w and w.dtype == ember.float64 and me.running.dtype == ember.float64
    assert me.half().scale.dtype == ember.float16
    assert me.float().fc1.bias.dtype == ember.float32
    assert me.to("cpu") is me and me.cpu() is me and me.to(ember.device("cpu")) is me
    me.to(ember.zeros(1, dtype=ember.float64))
    assert me.scale.dtype == ember.float64
    me.double().float()
    assert me.share_memory() is me
    with pytest.raises(RuntimeError, match="cuda"):
        me.cuda()
    with pytest.raises(RuntimeError, match="cuda"):
        me.to("cuda")
    m = enn.Linear(2, 2)
    m.type(ember.float64)
    assert m.weight.dtype == ember.float64
    x = ember.randn(3, 2, dtype=ember.float64)
    assert m(x).dtype == ember.float64


def test_forward_hooks(torch):
    for L, nn in ((ember, enn), (torch, torch.nn)):
        m = nn.Linear(3, 2)
        calls = []
        h1 = m.register_forward_pre_hook(lambda mod, args: calls.append("pre") or (args[0] * 0,))
        h2 = m.register_forward_hook(lambda mod, args, out: calls.append("post") or out + 1)
        y = m(L.ones(1, 3))
        assert calls == ["pre", "post"]
        assert np.allclose(y.detach().numpy(), m.bias.detach().numpy() + 1)
        h1.remove()
        h2.remove()
        calls.clear()
        m(L.ones(1, 3))
        assert calls == []
        m.register_forward_hook(lambda mod, args, kwargs, out: calls.append(sorted(kwargs)),
                                with_kwargs=True)
        m.register_forward_pre_hook(lambda mod, args: calls.append("first"), prepend=True)
        m(input=L.ones(1, 3))
        assert calls == ["first", ["input"]]


def test_full_backward_hook(torch):
    results = []
    for L, nn in ((ember, enn), (torch, torch.nn)):
        m = nn.Linear(3, 2)
        with L.no_grad():
            m.weight.copy_(L.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
        seen = {}

        def hook(mod, gin, gout):
            seen["gin"] = [g.numpy().copy() for g in gin]
            seen["gout"] = [g.numpy().copy() for g in gout]
            return (gin[0] * 2,)

        m.register_full_backward_hook(hook)
        x = L.ones(4, 3, requires_grad=True)
        m(x).sum().backward()
        results.append((seen, x.grad.numpy().copy()))
    (se, ge), (st, gt) = results
    np.testing.assert_allclose(se["gin"][0], st["gin"][0])
    np.testing.assert_allclose(se["gout"][0], st["gout"][0])
    np.testing.assert_allclose(ge, gt)


def test_forgotten_super_init_errors_like_torch(torch):
    def build(nn):
        class NoInit(nn.Module):
            def __init__(self):
                self.x = 1

            def forward(self, x):
                return x
        return NoInit()
    ee, te = same_error(torch, lambda: build(enn)(1), lambda: build(torch.nn)(1))
    assert isinstance(ee, AttributeError)

    def assign(nn):
        class NoInit(nn.Module):
            def __init__(self):
                self.fc = nn.Linear(2, 2)
        return NoInit()
    ee, te = same_error(torch, lambda: assign(enn), lambda: assign(torch.nn))
    assert str(ee) == str(te)


def test_call_uses_forward_and_extra_repr(torch):
    class Custom(enn.Module):
        def __init__(self):
            super().__init__()
            self.lin = enn.Linear(2, 2)

        def forward(self, x, scale=1.0):
            return self.lin(x) * scale

        def extra_repr(self):
            return "custom=1"

    m = Custom()
    x = ember.ones(1, 2)
    assert ember.equal(m(x, scale=2.0), m.forward(x) * 2.0)
    assert repr(m) == ("Custom(\n  custom=1\n  (lin): Linear(in_features=2, out_features=2, "
                       "bias=True)\n)")
    with pytest.raises(NotImplementedError, match='missing the required "forward" function'):
        enn.Module()(x)


def test_deepcopy_and_pickle_module(torch):
    me, _ = _both(torch, _Net.build)
    me(ember.randn(2, 4)).sum().backward()
    c = copy.deepcopy(me)
    assert c.fc1.weight is not me.fc1.weight
    assert ember.equal(c.fc1.weight, me.fc1.weight)
    assert isinstance(c.fc1.weight, enn.Parameter)
    assert ember.equal(c.fc1.weight.grad, me.fc1.weight.grad)
    p = pickle.loads(pickle.dumps(me.head))
    assert repr(p) == repr(me.head)
    assert list(p.state_dict()) == list(me.head.state_dict())


# ---- containers ----------------------------------------------------------------------------
def test_sequential_indexing_and_mutation(torch):
    def build(nn, lib):
        return nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.Linear(2, 2))
    se, st = _both(torch, build)
    assert type(se[-1]).__name__ == "Linear" and type(se[1]).__name__ == "Tanh"
    assert repr(se[1:3]) == repr(st[1:3]) and isinstance(se[1:3], enn.Sequential)
    assert repr(se[::-1]) == repr(st[::-1])
    assert len(se) == 4
    assert [type(m).__name__ for m in se] == [type(m).__name__ for m in st]
    ee, te = same_error(torch, lambda: se[5], lambda: st[5])
    assert str(ee) == str(te)
    for op in (lambda s, nn: s.__delitem__(0), lambda s, nn: s.append(nn.ELU()),
               lambda s, nn: s.insert(1, nn.GELU()), lambda s, nn: s.insert(-1, nn.SiLU()),
               lambda s, nn: s.extend([nn.ReLU6()]), lambda s, nn: s.__setitem__(-1, nn.Tanh()),
               lambda s, nn: s.__delitem__(slice(0, 2)), lambda s, nn: s.pop(0)):
        op(se, enn)
        op(st, torch.nn)
        assert repr(se) == repr(st)
        assert list(se.state_dict()) == list(st.state_dict())
    ee, te = same_error(torch, lambda: se.insert(10, enn.ReLU()),
                        lambda: st.insert(10, torch.nn.ReLU()))
    assert str(ee) == str(te)
    assert repr(se + se) == repr(st + st)


def test_sequential_ordered_dict_form(torch):
    def build(nn, lib):
        return nn.Sequential(OrderedDict([("fc", nn.Linear(3, 2)), ("act", nn.ReLU())]))
    se, st = _both(torch, build)
    assert repr(se) == repr(st)
    assert list(se.state_dict()) == list(st.state_dict()) == ["fc.weight", "fc.bias"]
    assert se.fc is se[0]


def test_sequential_forward_and_empty(torch):
    assert repr(enn.Sequential()) == repr(torch.nn.Sequential()) == "Sequential()"
    x = ember.ones(2, 3)
    assert enn.Sequential()(x) is x


def test_module_list(torch):
    def build(nn, lib):
        return nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    le, lt = _both(torch, build)
    assert repr(le) == repr(lt)
    assert list(le.state_dict()) == list(lt.state_dict())
    assert len(le) == 4 and isinstance(le[1:], enn.ModuleList) and len(le[1:]) == 3
    assert repr(le[-1]) == "ReLU()"
    for op in (lambda m, nn: m.append(nn.Tanh()), lambda m, nn: m.insert(0, nn.ELU()),
               lambda m, nn: m.__delitem__(1), lambda m, nn: m.extend([nn.ReLU(), nn.ReLU()]),
               lambda m, nn: m.__iadd__([nn.SiLU()]), lambda m, nn: m.pop(-1)):
        op(le, enn)
        op(lt, torch.nn)
        assert repr(le) == repr(lt)
        assert list(le.state_dict()) == list(lt.state_dict())
    assert repr(enn.ModuleList()) == repr(torch.nn.ModuleList())
    ee, te = same_error(torch, lambda: le.extend(3), lambda: lt.extend(3))
    assert str(ee) == str(te)


def test_module_dict(torch):
    def build(nn, lib):
        return nn.ModuleDict({"b": nn.ReLU(), "a": nn.Linear(2, 3)})
    de, dt = _both(torch, build)
    assert repr(de) == repr(dt)
    assert list(de.keys()) == list(dt.keys()) and list(de) == list(dt)
    assert "a" in de and len(de) == 2
    de["c"] = enn.Tanh()
    dt["c"] = torch.nn.Tanh()
    de.update([("d", enn.ReLU())])
    dt.update([("d", torch.nn.ReLU())])
    assert type(de.pop("b")).__name__ == "ReLU"
    dt.pop("b")
    assert repr(de) == repr(dt)
    assert list(de.state_dict()) == list(dt.state_dict())
    ee, te = same_error(torch, lambda: de.update([("x",)]), lambda: dt.update([("x",)]))
    assert str(ee) == str(te)


def test_parameter_list_and_dict(torch):
    def build(nn, lib):
        return nn.ParameterList([nn.Parameter(lib.zeros(2)), lib.ones(2, 3)])
    pe, pt = _both(torch, build)
    assert repr(pe) == repr(pt).replace("torch.", "ember.")
    assert list(pe.state_dict()) == list(pt.state_dict())
    assert isinstance(pe[1], enn.Parameter) and pe[-1].shape == (2, 3)
    pe.append(ember.zeros(1))
    pt.append(torch.zeros(1))
    assert len(pe) == 3 and len(list(pe.parameters())) == 3
    assert repr(pe) == repr(pt).replace("torch.", "ember.")

    def buildd(nn, lib):
        return nn.ParameterDict({"b": nn.Parameter(lib.zeros(2)), "a": lib.zeros(3, 2)})
    de, dt = _both(torch, buildd)
    assert list(de.keys()) == list(dt.keys())
    assert list(de.state_dict()) == list(dt.state_dict())
    assert repr(de) == repr(dt)
    de["c"] = ember.ones(1)
    assert isinstance(de["c"], enn.Parameter) and "c" in de and len(de) == 3
    assert [k for k, _ in de.items()] == ["a", "b", "c"]
    del de["a"]
    assert list(de) == ["b", "c"]


# ---- nn.utils ------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0])
@pytest.mark.parametrize("max_norm", [0.05, 1e3])
def test_clip_grad_norm_matches_torch(torch, norm_type, max_norm):
    tm = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    em = enn.Sequential(enn.Linear(5, 4), enn.Tanh(), enn.Linear(4, 3))
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    (em(ember.tensor(x)) ** 2).sum().backward()
    (tm(torch.tensor(x)) ** 2).sum().backward()
    ne = enn.utils.clip_grad_norm_(em.parameters(), max_norm, norm_type)
    nt = torch.nn.utils.clip_grad_norm_(tm.parameters(), max_norm, norm_type)
    assert_close(ne, nt)
    for pe, pt in zip(em.parameters(), tm.parameters()):
        assert_close(pe.grad, pt.grad)


def test_clip_grad_value_and_nonfinite(torch):
    p = enn.Parameter(ember.zeros(4))
    p.grad = ember.tensor([-3.0, -0.5, 0.5, 3.0])
    assert enn.utils.clip_grad_value_([p], 1.0) is None
    assert p.grad.tolist() == [-1.0, -0.5, 0.5, 1.0]
    p.grad = ember.tensor([float("inf"), 1.0, 0.0, 0.0])
    ee, te = same_error(torch, lambda: enn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True),
                        lambda: _raise_nonfinite(torch))
    assert str(ee) == str(te)
    assert enn.utils.clip_grad_norm_([enn.Parameter(ember.zeros(2))], 1.0).item() == 0.0


def _raise_nonfinite(torch):
    q = torch.nn.Parameter(torch.zeros(4))
    q.grad = torch.tensor([float("inf"), 1.0, 0.0, 0.0])
    torch.nn.utils.clip_grad_norm_(q, 1.0, error_if_nonfinite=True)


def test_parameters_to_vector_roundtrip(torch):
    m = enn.Linear(3, 2)
    v = enn.utils.parameters_to_vector(m.parameters())
    assert v.shape == (8,) and type(v.grad_fn).__name__ == "CatBackward0"
    enn.utils.vector_to_parameters(ember.arange(8.0), m.parameters())
    assert m.weight.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert m.bias.tolist() == [6.0, 7.0] and isinstance(m.bias, enn.Parameter)
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        enn.utils.vector_to_parameters([1.0], m.parameters())


def test_load_state_dict_assign(torch):
    m = enn.Linear(3, 2)
    src = {"weight": ember.ones(2, 3), "bias": ember.zeros(2)}
    m.load_state_dict(src, assign=True)
    assert isinstance(m.weight, enn.Parameter) and m.weight.requires_grad
    src["weight"].numpy()[0, 0] = 5.0  # the module now holds the checkpoint's storage
    assert m.weight[0, 0].item() == 5.0
