"""`Op`: the base of every built-in op. The class is both the autograd Function and its node,
named as torch names the node (`MulBackward0`), so `grad_fn` prints like torch's."""
from __future__ import annotations

from ..autograd.function import Function, Node


class Op(Node, Function):
    _is_node_base = True
