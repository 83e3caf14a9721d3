"""`Optimizer`: torch's public surface over a small per-parameter update contract.

PyTorch outside, MLX inside. The base class owns everything an optimizer shares: parameter groups
and their checks, the step loop (skip parameters without a gradient, lazy state creation, version
bumps), closures, hooks, `zero_grad` and (de)serialisation in torch's `state_dict` layout.
A concrete optimizer writes only two methods:

* `_init_state(p, state, group)`: fill the fresh per-parameter `state` dict (Tensors, as torch's);
* `_update(p, grad, state, group)`: update `p._data` in place from the gradient array `grad`.

Updates are NumPy ufuncs with `out=` into the parameter's own array (so views and tied weights see
them) and into scratch arrays cached per parameter (`_scratch`), so a step allocates nothing.
Each update follows torch's single-tensor (foreach=False) arithmetic, operation by operation, so
float32 trajectories agree with torch's to rounding.
"""
from __future__ import annotations

import copy
import functools
from collections import OrderedDict, defaultdict
from itertools import chain
from typing import Any, Callable, Iterable

import numpy as np

from .._tensor import Tensor, zero_grads
from ..autograd.function import RemovableHandle
from ..ops._axpy import axpy_
from ..autograd.grad_mode import enable_grad

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Singleton marking a hyper-parameter a group must give (torch.optim.optimizer.required)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj) -> str:
    if isinstance(obj, Tensor):
        return obj.type()
    cls = type(obj)
    module = cls.__module__
    if module in (None, "builtins", "__builtin__"):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def _scalar(value) -> float:
    """A hyper-parameter as a Python float (a 1-element Tensor lr is allowed, as in torch)."""
    return float(value)


def _check_tensor_lr(lr) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """torch's `start.lerp_(end, weight)`, with its two branches (weight cast to the dtype):
    start + w * (end - start) for |w| < 0.5, else end - (end - start) * (1 - w)."""
    w = start.dtype.type(weight)
    np.subtract(end, start, out=tmp)
    # torch's kernel is one fused multiply-add: base + coeff * (end - start); axpy_ rounds once
    if abs(w) < 0.5:
        axpy_(start, float(w), tmp, None, small=0)
    else:
        np.copyto(start, end)
        axpy_(start, float(w - start.dtype.type(1)), tmp, None, small=0)


def _ema_sq_(avg: np.ndarray, x: np.ndarray, beta: float, tmp: np.ndarray) -> None:
    """torch's `avg.mul_(beta).addcmul_(x, x, value=1 - beta)`: avg = avg * beta + (1-beta)*x*x."""
    np.multiply(avg, beta, out=avg)
    np.multiply(x, 1 - beta, out=tmp)
    np.multiply(tmp, x, out=tmp)
    np.add(avg, tmp, out=avg)


def _check_lr(lr) -> None:
    _check_tensor_lr(lr)
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_adam_args(lr, betas, eps, weight_decay) -> None:
    """The Adam family's argument checks, in torch's order and wording."""
    _check_lr(lr)
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i in (0, 1):
        if not 0.0 <= betas[i] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _state_tensor(array: np.ndarray) -> Tensor:
    return Tensor._new(array)


def _step_tensor(value: float = 0) -> Tensor:
    """torch's `state['step']` (and other scalar state): a 0-dim float32 tensor (float64 when
    that is the default dtype)."""
    from .._dtype import float64, get_default_dtype
    dt = np.float64 if get_default_dtype() is float64 else np.float32
    return Tensor._new(np.array(value, dtype=dt))


def _hooked_step(step: Callable) -> Callable:
    """Wrap a subclass's `step` so that it runs the step hooks and marks the optimizer as stepped
    (LR schedulers warn when they are stepped first). Re-entrant calls (a subclass's `step`
    calling `super().step()`) run the hooks once."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        if self.__dict__.get("_in_step"):
            return step(self, *args, **kwargs)
        self._in_step = True
        try:
            self._opt_called = True
            pre = _global_pre_hooks or self._step_pre_hooks
            for hook in (list(_global_pre_hooks.values()) + list(self._step_pre_hooks.values())
                         if pre else ()):
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            f"{hook} must return None or a tuple of (new_args, new_kwargs), "
                            f"but got {result}.")
                    args, kwargs = result
            out = step(self, *args, **kwargs)
            post = _global_post_hooks or self._step_post_hooks
            for hook in (list(_global_post_hooks.values()) + list(self._step_post_hooks.values())
                         if post else ()):
                hook(self, args, kwargs)
            return out
        finally:
            self._in_step = False

    wrapper._ember_hooked = True
    return wrapper


_global_pre_hooks: "OrderedDict[int, Callable]" = OrderedDict()
_global_post_hooks: "OrderedDict[int, Callable]" = OrderedDict()


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """Run `hook(optimizer, args, kwargs)` before every optimizer's `step`."""
    return RemovableHandle(_global_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """Run `hook(optimizer, args, kwargs)` after every optimizer's `step`."""
    return RemovableHandle(_global_post_hooks, hook)


class Optimizer:
    """Base class of all optimizers (torch.optim.Optimizer).

    Args:
        params: an iterable of Tensors, of (name, Tensor) pairs, or of dicts (parameter groups,
            each with a 'params' entry and per-group options).
        defaults: the default value of every option, used where a group does not give one.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_ember_hooked", False):
            cls.step = _hooked_step(step)

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._init_private()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def _init_private(self) -> None:
        self._step_pre_hooks: OrderedDict = OrderedDict()
        self._step_post_hooks: OrderedDict = OrderedDict()
        self._state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._state_dict_post_hooks: OrderedDict = OrderedDict()
        self._load_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._load_state_dict_post_hooks: OrderedDict = OrderedDict()
        self._buffers: dict = {}   # per-parameter scratch arrays, never serialised
        self._flat_groups: dict = {}  # groups updated at once (optim/_flat.py), never serialised
        self._in_step = False

    # ---- pickling (torch keeps only these three) ---------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in ("_step_pre_hooks", "_step_post_hooks", "_state_dict_pre_hooks",
                     "_state_dict_post_hooks", "_load_state_dict_pre_hooks",
                     "_load_state_dict_post_hooks"):
            self.__dict__.setdefault(name, OrderedDict())
        self._buffers = {}
        self._flat_groups = {}
        self._in_step = False
        self.defaults.setdefault("differentiable", False)
        for group in self.param_groups:
            self._setstate_group(group)
        for p_state in self.state.values():
            # checkpoints from before torch 1.12 kept 'step' (and the other scalar state) as
            # Python numbers
            for key in self._scalar_state:
                if isinstance(p_state, dict) and key in p_state \
                        and not isinstance(p_state[key], Tensor):
                    p_state[key] = _step_tensor(float(p_state[key]))

    # (option, value) pairs that groups from older checkpoints may lack
    _group_fallbacks: tuple = ()
    # per-parameter state entries that are 0-dim tensors of the scalar dtype, as 'step'
    _scalar_state: tuple = ("step",)

    def _setstate_group(self, group: dict[str, Any]) -> None:
        """Fill options missing from a group loaded from an older checkpoint."""
        for key, value in self._group_fallbacks:
            group.setdefault(key, value)

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # ---- parameter groups --------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with its own options) to optimize from now on."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        tensors, names = [], []
        for item in params:
            if isinstance(item, tuple):
                names.append(item[0])
                tensors.append(item[1])
            else:
                tensors.append(item)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            param_group["param_names"] = names

        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not self.defaults.get("differentiable", None) and not (
                    p.grad_fn is None or p._retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        if len({id(p) for p in tensors}) != len(tensors):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)

        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- gradients and the step --------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors (to None by default, as torch)."""
        for group in self.param_groups:
            zero_grads(group["params"], set_to_none)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one optimization step; `closure` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        states = self.state
        for group in self.param_groups:
            hyper = self._group_hyper(group)
            if self._step_group_flat(group, hyper):
                continue
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                state = states.get(p)
                if state:
                    self._update(p, g._data, state, hyper)
                else:
                    # first update: state may stay empty (plain SGD keeps none, as in torch)
                    state = {} if state is None else state
                    self._init_state(p, state, group)
                    self._update(p, g._data, state, hyper)
                    if state and p not in states:
                        states[p] = state
                p._vc[0] += 1
        return loss

    def _group_hyper(self, group: dict[str, Any]) -> dict[str, Any]:
        """The group's options as an optimizer's `_update` wants them (scalars as floats)."""
        return group

    def _init_state(self, p: Tensor, state: dict, group: dict[str, Any]) -> None:
        """Create `p`'s state before its first update (nothing by default)."""

    def _step_group_flat(self, group: dict[str, Any], hyper) -> bool:
        """Update the whole group at once when the optimizer can (see optim/_flat.py); False
        leaves it to the per-parameter loop."""
        return False

    def _update(self, p: Tensor, grad: np.ndarray, state: dict, hyper: dict[str, Any]) -> None:
        raise NotImplementedError

    def _scratch(self, p: Tensor, n: int) -> list[np.ndarray]:
        """`n` scratch arrays shaped like `p`, kept between steps (not part of the state)."""
        bufs = self._buffers.get(p)
        data = p._data
        if bufs is None or len(bufs) < n or bufs[0].shape != data.shape \
                or bufs[0].dtype != data.dtype:
            bufs = [np.empty(data.shape, data.dtype) for _ in range(n)]
            self._buffers[p] = bufs
        return bufs

    @staticmethod
    def _direction(grad: np.ndarray, data: np.ndarray, weight_decay: float, maximize: bool,
                   out: np.ndarray) -> np.ndarray:
        """torch's `grad = -grad if maximize; grad = grad.add(param, alpha=weight_decay)`,
        written into `out` (the parameter's .grad is never modified)."""
        if weight_decay != 0:  # out = +-grad + weight_decay * data, rounded once (axpy_)
            if maximize:
                np.negative(grad, out=out)
            else:
                np.copyto(out, grad)
            axpy_(out, weight_decay, data, None)
            return out
        if maximize:
            return np.negative(grad, out=out)
        return grad

    # ---- hooks -------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Run `hook(optimizer, args, kwargs)` before this optimizer's `step`."""
        return RemovableHandle(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """Run `hook(optimizer, args, kwargs)` after this optimizer's `step`."""
        return RemovableHandle(self._step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False):
        return self._add_hook(self._state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False):
        return self._add_hook(self._state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False):
        return self._add_hook(self._load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False):
        return self._add_hook(self._load_state_dict_post_hooks, hook, prepend)

    @staticmethod
    def _add_hook(hooks: OrderedDict, hook: Callable, prepend: bool) -> RemovableHandle:
        handle = RemovableHandle(hooks, hook)
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    # ---- serialisation -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """`{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`.

        Parameters are numbered in group order; the state tensors are the live ones (not copies),
        as in torch.
        """
        for hook in self._state_dict_pre_hooks.values():
            hook(self)
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v
                 for k, v in self.state.items()}
        out = {"state": state, "param_groups": groups}
        for hook in self._state_dict_post_hooks.values():
            result = hook(self, out)
            if result is not None:
                out = result
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a `state_dict()`: parameters are matched by their position in the groups.

        State tensors are copied (cast to the parameter's dtype if floating, except 'step'), so
        the loaded dict never aliases this optimizer's buffers.
        """
        state_dict = state_dict.copy()
        for hook in self._load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            if isinstance(value, Tensor):
                array = value._data
                if key != "step" and param._data.dtype.kind == "f":
                    array = array.astype(param._data.dtype)   # always a copy
                else:
                    array = array.copy()
                return Tensor._new(array)
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v)
            else:
                state[k] = v
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.__setstate__({"state": state, "param_groups": new_groups})
        for hook in self._load_state_dict_post_hooks.values():
            hook(self)


Optimizer.step = _hooked_step(Optimizer.step)
