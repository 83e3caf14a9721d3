"""Tensor methods and functions torch code reaches for that are thin compositions of existing
ops: the bitwise methods and shifts, fill_diagonal_, H / mH / adjoint, isreal,
split_with_sizes, sum_to_size, gcd / lcm, ldexp, frexp, nextafter, put / put_, the *_scatter
functions (select / slice / diagonal), narrow_copy, new_empty_strided, cholesky_solve /
cholesky_inverse, histogram, and pin_memory / is_pinned as a CPU-only torch answers them.
Differentiable wherever the ops they are built from are (as torch's are)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .util import wrap_dim

_new = Tensor._new


def _el():
    from . import elementwise
    return elementwise


# ---- bitwise ----------------------------------------------------------------------------------
def _shift(np_fn, name):
    def f(input, other):
        if not isinstance(input, Tensor):
            from .creation import tensor
            input = tensor(input)
        from .util import promote
        x, y = promote(input, other)
        if x.dtype.kind == "f":
            raise NotImplementedError(f'"{name}_cpu" not implemented for '
                                      f'\'{_el()._float_name(x)}\'')
        return _new(np_fn(x, y).astype(x.dtype, copy=False))
    f.__name__ = name
    return f


bitwise_left_shift = _shift(np.left_shift, "lshift")
bitwise_right_shift = _shift(np.right_shift, "rshift")


# ---- diagonal fill, conjugate transposes, predicates --------------------------------------------
def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Fill the main diagonal (all indices equal) in place; a tall 2-D matrix with wrap=True
    restarts the diagonal every n + 1 rows, as torch's."""
    shape = self.shape
    if self.dim() < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.dim() > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    mask = np.zeros(tuple(shape), bool)
    if self.dim() == 2:
        rows, cols = shape
        flat = mask.reshape(-1)
        end = rows * cols if wrap else min(rows, cols) * cols
        flat[:end:cols + 1] = True
    else:
        idx = np.arange(shape[0])
        mask[(idx,) * self.dim()] = True
    return self.masked_fill_(_new(mask), fill_value)


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dims (a view for real tensors)."""
    if input.dim() < 2:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           "matrices. Got 1-D tensor." if input.dim() == 1 else
                           "tensor.adjoint() is only supported on matrices or batches of "
                           "matrices. Got 0-D tensor.")
    return input.transpose(-2, -1).conj()


def _H(self: Tensor) -> Tensor:
    if self.dim() != 2 and self.dim() != 0:
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                           f"{self.dim()}-D tensor.")
    return self.conj() if self.dim() == 0 else self.transpose(0, 1).conj()


def _mH(self: Tensor) -> Tensor:
    if self.dim() < 2:
        raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. "
                           f"Got {self.dim()}-D tensor.")
    return self.transpose(-2, -1).conj()


def isreal(input: Tensor) -> Tensor:
    a = input._data
    if a.dtype.kind == "c":
        return _new(a.imag == 0)
    return _new(np.ones(a.shape, bool))


# ---- shapes -----------------------------------------------------------------------------------
def split_with_sizes(input: Tensor, split_sizes, dim: int = 0):
    dim = wrap_dim(dim, input.dim())
    if sum(split_sizes) != input.shape[dim]:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                           f"{input.shape[dim]} (input tensor's size at dimension {dim}), but got "
                           f"split_sizes={list(split_sizes)}")
    return input.split(list(split_sizes), dim)


def sum_to_size(self: Tensor, *size) -> Tensor:
    """self summed down to `size`, which self must be expandable from."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    size = tuple(int(s) for s in size)
    from .util import is_expandable_to, sum_to
    if not is_expandable_to(size, tuple(self.shape)):
        raise RuntimeError(f"size {{{', '.join(map(str, size))}}} is not expandable to size "
                           f"{{{', '.join(map(str, self.shape))}}}.")
    return sum_to(self, size)


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    return input.narrow(dim, start, length).clone()


def new_empty_strided(self: Tensor, size, stride, *, dtype=None, device=None,
                      requires_grad: bool = False, layout=None, pin_memory: bool = False):
    """A new uninitialised tensor of `size` (ember tensors are always contiguous: the strides
    are accepted and not kept)."""
    return self.new_empty(tuple(size), dtype=dtype, requires_grad=requires_grad)


# ---- number theory and floating-point bits ---------------------------------------------------
def _integer_binary(np_fn, name):
    def f(input, other):
        from .util import promote
        x, y = promote(input, other)
        if x.dtype.kind not in "iub":
            raise NotImplementedError(f'"{name}_cpu" not implemented for '
                                      f'\'{_el()._float_name(x)}\'')
        return _new(np_fn(x, y))
    f.__name__ = name
    return f


gcd = _integer_binary(np.gcd, "gcd")
lcm = _integer_binary(np.lcm, "lcm")


def ldexp(input: Tensor, other) -> Tensor:
    """input * 2**other (differentiable in input, as torch's composite)."""
    from .creation import tensor
    if not isinstance(other, Tensor):
        other = tensor(other)
    exponent = other.to(input.dtype) if input.is_floating_point() else other.float()
    return input * (2.0 ** exponent)


def frexp(input: Tensor):
    """(mantissa, exponent) with input = mantissa * 2**exponent, |mantissa| in [0.5, 1)."""
    a = input._data
    if a.dtype.kind != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    m, e = np.frexp(a)
    return _new(m.astype(a.dtype)), _new(e.astype(np.int32))


def nextafter(input: Tensor, other) -> Tensor:
    from .util import promote
    x, y = promote(input, other)
    return _new(np.nextafter(x, y))


# ---- scatters into copies -----------------------------------------------------------------------
def put_(self: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """Write source into self's elements at flat (row-major) `index`, in place."""
    n = self.numel()
    idx = index._data.reshape(-1).astype(np.int64)
    if idx.size and (idx.max() >= n or idx.min() < -n):
        bad = idx[(idx >= n) | (idx < -n)][0]
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         f"elements.")
    flat = self.view(-1)
    flat.index_put_((_new(idx),), source.reshape(-1), accumulate=accumulate)
    return self


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    return put_(input.clone(), index, source, accumulate)


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    out = input.clone()
    out.select(dim, index).copy_(src)
    return out


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start=None, end=None,
                  step: int = 1) -> Tensor:
    out = input.clone()
    dim = wrap_dim(dim, input.dim())
    idx = (slice(None),) * dim + (slice(start, end, step),)
    out[idx] = src
    return out


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """input with its (offset, dim1, dim2) diagonal replaced by src: src placed by an
    index_add into the (dim1, dim2) planes, chosen by a diagonal mask."""
    from .creation import zeros
    nd = input.dim()
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    moved = input.movedim((d1, d2), (-2, -1))
    n1, n2 = moved.shape[-2:]
    k = max(0, min(n1 - max(-offset, 0), n2 - max(offset, 0)))
    want = tuple(moved.shape[:-2]) + (k,)
    if tuple(src.shape) != want:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size "
                           f"= {list(src.shape)}, slice size = {list(want)}")
    i = np.arange(k) + max(-offset, 0)
    j = np.arange(k) + max(offset, 0)
    placed = zeros(tuple(moved.shape[:-2]) + (n1 * n2,), dtype=input.dtype).index_add(
        -1, _new(i * n2 + j), src.to(input.dtype))
    plane = np.zeros(n1 * n2, bool)
    plane[i * n2 + j] = True
    full = placed.reshape(moved.shape).movedim((-2, -1), (d1, d2))
    mask = _new(np.moveaxis(np.broadcast_to(plane.reshape(n1, n2), tuple(moved.shape)),
                            (-2, -1), (d1, d2)).copy())
    from .elementwise import where
    return where(mask, full, input)


# ---- Cholesky-based solves -----------------------------------------------------------------------
def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False) -> Tensor:
    """Solve A X = input with A = L L^T given its Cholesky factor input2 (U^T U if upper)."""
    from ..linalg import solve_triangular
    L = input2.transpose(-2, -1) if upper else input2
    y = solve_triangular(L, input, upper=False)
    return solve_triangular(L.transpose(-2, -1), y, upper=True)


def cholesky_inverse(input: Tensor, upper: bool = False) -> Tensor:
    """The inverse of A = L L^T (U^T U if upper) from its Cholesky factor."""
    from .creation import eye
    n = input.shape[-1]
    return cholesky_solve(eye(n, dtype=input.dtype).expand(input.shape), input, upper)


# ---- histogram ----------------------------------------------------------------------------------
def histogram(input: Tensor, bins=100, *, range=None, weight=None, density: bool = False):
    """(hist, bin_edges) of a floating tensor: `bins` equal bins over `range` (default the
    data's min..max), or the given edges."""
    a = input._data
    if a.dtype.kind != "f":
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the same "
                           f"dtype, but got input {str(input.dtype).split('.')[-1]} and bins "
                           f"float")
    b = bins._data if isinstance(bins, Tensor) else int(bins)
    w = None if weight is None else weight._data.reshape(-1)
    hist, edges = np.histogram(a.reshape(-1), bins=b, range=range, weights=w, density=density)
    return _new(hist.astype(a.dtype)), _new(edges.astype(a.dtype))


# ---- pinned memory (CPU only) ----------------------------------------------------------------
def pin_memory(self: Tensor, device=None) -> Tensor:
    raise RuntimeError("Cannot access accelerator device when none is available.")


def is_pinned(self: Tensor, device=None) -> bool:
    return False


FUNCTIONS = ["bitwise_left_shift", "bitwise_right_shift", "adjoint", "isreal",
             "split_with_sizes", "narrow_copy", "gcd", "lcm", "ldexp", "frexp", "nextafter",
             "put", "select_scatter", "slice_scatter", "diagonal_scatter", "cholesky_solve",
             "cholesky_inverse", "histogram"]


def bind(T) -> None:
    """Attach the Tensor methods (and their in-place forms)."""
    from .inplace import inplace_plain  # (torch's casting rules into self)
    el = _el()
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not"):
        fn = getattr(el, name)
        setattr(T, name, fn)
        setattr(T, name + "_", inplace_plain(fn))
    for name in ("bitwise_left_shift", "bitwise_right_shift", "gcd", "lcm", "ldexp",
                 "nextafter"):
        fn = globals()[name]
        setattr(T, name, fn)
        setattr(T, name + "_", inplace_plain(fn))
    for name in ("fill_diagonal_", "adjoint", "isreal", "split_with_sizes", "sum_to_size",
                 "narrow_copy", "new_empty_strided", "frexp", "put", "put_", "select_scatter",
                 "slice_scatter", "diagonal_scatter", "cholesky_solve", "cholesky_inverse",
                 "histogram", "pin_memory", "is_pinned"):
        setattr(T, name, globals()[name])
    T.H = property(_H)
    T.mH = property(_mH)
    T.output_nr = property(lambda self: self._output_nr)
