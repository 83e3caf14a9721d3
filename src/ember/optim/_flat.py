"""Multi-tensor updates: a parameter group's state arrays as views of one flat array each.

An elementwise optimizer then runs its formula once per group instead of once per parameter
(Adam: 14 NumPy calls per parameter become 14 per group plus one gather of the gradients and
one add per parameter), which is most of an optimizer step's time for models with many small
tensors. The arithmetic per element is unchanged, so the numbers equal the per-parameter loop's.

Each state tensor keeps its identity (state_dict() hands out the same objects); only its array
becomes a view. Anything that replaces a state tensor (load_state_dict) or changes the group is
noticed on the next step, which rebuilds the flat arrays from the current state.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor


class FlatGroup:
    __slots__ = ("params", "offsets", "views", "grads", "tmp", "update")

    def __init__(self, params, offsets, views, total, dtype):
        self.params = params      # the group's parameters, in order
        self.offsets = offsets    # (start, end) of each in the flat arrays
        self.views = views        # state name -> (flat array, [per-parameter views])
        self.grads = np.empty(total, dtype)
        self.tmp = np.empty(total, dtype)
        self.update = np.empty(total, dtype)


def _valid(fg: FlatGroup, params, state, names) -> bool:
    if len(fg.params) != len(params):
        return False
    for i, p in enumerate(params):
        if fg.params[i] is not p:
            return False
        st = state.get(p)
        if st is None:
            return False
        for name in names:
            t = st.get(name)
            if t is None or t._data is not fg.views[name][1][i]:
                return False
    return True


def flat_group(opt, group, names) -> FlatGroup | None:
    """The flat state of `group` for the state entries `names`, (re)built when needed; None when
    the group cannot be updated flat (a parameter without gradient, mixed or non-floating
    dtypes, gradients shaped unlike their parameters)."""
    params = group["params"]
    dt = None
    for p in params:
        g = p._grad
        if g is None:
            return None
        d = p._data
        if dt is None:
            dt = d.dtype
            if dt != np.float32 and dt != np.float64:
                return None
        if d.dtype != dt or g._data.dtype != dt or g._data.shape != d.shape:
            return None
    cache = opt.__dict__.setdefault("_flat_groups", {})  # like _buffers: never serialised
    key = id(group)
    fg = cache.get(key)
    state = opt.state
    if fg is not None and _valid(fg, params, state, names):
        return fg
    offsets = []
    total = 0
    for p in params:
        n = p._data.size
        offsets.append((total, total + n))
        total += n
    views = {}
    for name in names:
        flat = np.zeros(total, dt)
        per = []
        for p, (a, b) in zip(params, offsets):
            per.append(flat[a:b].reshape(p._data.shape))
        views[name] = (flat, per)
    for i, p in enumerate(params):
        st = state.get(p)
        if not st:
            st = {} if st is None else st
            opt._init_state(p, st, group)
            state[p] = st
        for name in names:
            t = st.get(name)
            v = views[name][1][i]
            if t is None:
                st[name] = Tensor._new(v)
            else:
                if t._data.shape != v.shape:
                    return None  # a state that does not fit its parameter: the loop raises
                v[...] = t._data
                t._data = v
    fg = FlatGroup(list(params), offsets, views, total, dt)
    cache[key] = fg
    return fg


def gather_grads(fg: FlatGroup) -> np.ndarray:
    """The group's gradients, concatenated into the flat gradient buffer."""
    return np.concatenate([p._grad._data.reshape(-1) for p in fg.params], out=fg.grads)
