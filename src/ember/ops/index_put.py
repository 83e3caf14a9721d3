"""Out-of-place index assignment with autograd (the recorded form of `x[idx] = v`)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .base import Op

_new = Tensor._new


class IndexPutBackward0(Op):
    """out = a with out[idx] = v;  da = g with g[idx] = 0, dv = g[idx] (summed to v's shape)"""

    @staticmethod
    def forward(ctx, a, v, index, advanced):
        ctx.index = index
        out = a._data.copy()
        out[index] = v._data
        return out

    @staticmethod
    def backward(ctx, g):
        ga = g.clone()
        ga._data[ctx.index] = 0
        gv = g[ctx.index]
        return ga, gv, None, None


def index_put(a, index, advanced, v):
    return IndexPutBackward0.apply(a, v, index, advanced)
