"""Tensors sent between processes through shared memory, as torch.multiprocessing does.

Pickling a Tensor with multiprocessing's ForkingPickler (Queue, Pipe, Pool, spawn arguments)
first moves its array into shared memory (as torch's reduce_tensor does), then sends the memory
file's descriptor, the byte offset, shape, strides and dtype; the receiver maps the same pages,
so writes on either side are seen by the other. Autograd history is not sent (torch refuses
non-leaf tensors that require grad; so does this)."""
from __future__ import annotations

import numpy as np

from .. import _shared_memory as _shm


def _dtype_of(a: np.ndarray):
    from .. import _dtype
    return _dtype._FROM_NP[a.dtype].name


def rebuild_tensor(cls, dupfd, size, offset, shape, strides, dtype_name, requires_grad):
    from .. import _dtype
    from .._tensor import Tensor
    seg = _shm.Segment(dupfd.detach(), size)
    array = np.ndarray(shape, _dtype._BY_NAME[dtype_name].np, buffer=seg, offset=offset,
                       strides=strides)
    if cls is Tensor:
        return Tensor._new(array, requires_grad)
    t = object.__new__(cls)
    t._set_from(array, requires_grad)
    return t


def reduce_tensor(t):
    from multiprocessing.reduction import DupFd
    if t.requires_grad and not t.is_leaf:
        raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, "
                           "since autograd does not support crossing process boundaries.  If "
                           "you just want to transfer the data, call detach() on the tensor "
                           "before serializing (e.g., putting it on the queue).")
    _shm.share_memory_(t)
    a = t._data
    seg = _shm.segment_of(a)
    start = np.frombuffer(seg, np.uint8, count=1).__array_interface__["data"][0]
    offset = a.__array_interface__["data"][0] - start
    return rebuild_tensor, (type(t), DupFd(seg.fd), seg.size, offset, a.shape, a.strides,
                            _dtype_of(a), t._rg)


def init_reductions() -> None:
    from multiprocessing.reduction import ForkingPickler
    from .._tensor import Tensor
    from ..nn.parameter import Parameter
    for cls in (Tensor, Parameter):
        ForkingPickler.register(cls, reduce_tensor)
