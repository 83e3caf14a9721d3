"""torch.broadcast_tensors and torch.atleast_1d/2d/3d: views made with the existing expand and
reshape ops (so gradients flow through them)."""
from __future__ import annotations

from .._tensor import Tensor

__all__ = ["broadcast_tensors", "atleast_1d", "atleast_2d", "atleast_3d"]


def broadcast_tensors(*tensors) -> tuple:
    """Expand every tensor to the broadcast shape of all of them (views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = ()
    for t in tensors:
        shape = _broadcast(shape, tuple(t.shape))
    return tuple(t.expand(*shape) for t in tensors)


def _broadcast(a: tuple, b: tuple) -> tuple:
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + a
    b = (1,) * (n - len(b)) + b
    out = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                               f"({y}) at non-singleton dimension {i}")
        out.append(y if x == 1 else x)
    return tuple(out)


def _atleast(tensors, shape_of):
    """Each tensor reshaped by shape_of (itself when its shape is kept); one tensor in, one
    out; several (or a list) in, a tuple out."""
    one = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    out = []
    for t in tensors:
        s = tuple(t.shape)
        new = shape_of(s)
        out.append(t if new == s else t.reshape(new))
    return out[0] if one else tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least one dimension (a scalar becomes (1,))."""
    return _atleast(tensors, lambda s: s if len(s) >= 1 else (1,))


def atleast_2d(*tensors):
    """Each tensor with at least two dimensions: () -> (1, 1), (n,) -> (1, n)."""
    return _atleast(tensors, lambda s: s if len(s) >= 2 else (1,) * (2 - len(s)) + s)


def atleast_3d(*tensors):
    """Each tensor with at least three dimensions: () -> (1, 1, 1), (n,) -> (1, n, 1),
    (m, n) -> (m, n, 1)."""
    def shape(s):
        if len(s) == 0:
            return (1, 1, 1)
        if len(s) == 1:
            return (1, s[0], 1)
        if len(s) == 2:
            return s + (1,)
        return s
    return _atleast(tensors, shape)
