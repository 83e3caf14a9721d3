"""torch.distributions.constraints: the regions a parameter or a sample must lie in.

A constraint's `check(value)` returns a bool tensor over the batch dimensions (the rightmost
`event_dim` dimensions are reduced). Checks read the arrays directly: they never need gradients.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor

__all__ = ["boolean", "cat", "Constraint", "corr_cholesky", "dependent", "dependent_property",
           "greater_than", "greater_than_eq", "half_open_interval", "independent",
           "integer_interval", "interval", "is_dependent", "less_than", "lower_cholesky",
           "lower_triangular", "MixtureSameFamilyConstraint", "multinomial", "nonnegative",
           "nonnegative_integer", "one_hot", "positive", "positive_definite", "positive_integer",
           "positive_semidefinite", "real", "real_vector", "simplex", "square", "stack",
           "symmetric", "unit_interval"]


def _a(v):
    return v._data if isinstance(v, Tensor) else np.asarray(v)


def _out(b) -> Tensor:
    return Tensor._new(np.asarray(b, dtype=np.bool_))


class Constraint:
    """Base class: `is_discrete`, `event_dim`, and `check(value)` -> bool tensor."""
    is_discrete = False
    event_dim = 0

    def check(self, value):
        raise NotImplementedError

    def __repr__(self):
        return self.__class__.__name__[1:] + "()"


class _Dependent(Constraint):
    """A placeholder for a constraint that depends on other parameters (not checkable)."""

    def __init__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        self._is_discrete = is_discrete
        self._event_dim = event_dim
        super().__init__()

    @property
    def is_discrete(self):
        if self._is_discrete is NotImplemented:
            raise NotImplementedError(".is_discrete cannot be determined statically")
        return self._is_discrete

    @property
    def event_dim(self):
        if self._event_dim is NotImplemented:
            raise NotImplementedError(".event_dim cannot be determined statically")
        return self._event_dim

    def __call__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        if is_discrete is NotImplemented:
            is_discrete = self._is_discrete
        if event_dim is NotImplemented:
            event_dim = self._event_dim
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, x):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint) -> bool:
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """A property that is a dependent constraint on the class and a real one on instances."""

    def __init__(self, fn=None, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        property.__init__(self, fn)
        _Dependent.__init__(self, is_discrete=is_discrete, event_dim=event_dim)

    def __call__(self, fn):
        return _DependentProperty(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


class _IndependentConstraint(Constraint):
    """`base_constraint` with its rightmost `reinterpreted_batch_ndims` batch dims as event."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        assert isinstance(base_constraint, Constraint)
        assert isinstance(reinterpreted_batch_ndims, int) and reinterpreted_batch_ndims >= 0
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        super().__init__()

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value):
        r = _a(self.base_constraint.check(value))
        n = self.reinterpreted_batch_ndims
        if r.ndim < n:
            expected = self.base_constraint.event_dim + n
            raise ValueError(f"Expected value.dim() >= {expected} but got {_a(value).ndim}")
        return _out(r.reshape(r.shape[:r.ndim - n] + (-1,)).all(-1))

    def __repr__(self):
        return f"{self.__class__.__name__[1:]}({self.base_constraint!r}, " \
               f"{self.reinterpreted_batch_ndims})"


class MixtureSameFamilyConstraint(Constraint):
    """A component's constraint checked with the mixture's component dim added back."""

    def __init__(self, base_constraint):
        self.base_constraint = base_constraint
        super().__init__()

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim

    def check(self, value):
        v = _a(value)
        r = _a(self.base_constraint.check(Tensor._new(np.expand_dims(v, -1 - self.event_dim))))
        if v.ndim < self.event_dim:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {v.ndim}")
        keep = v.ndim - self.event_dim
        return _out(r.reshape(r.shape[:keep] + (-1,)).all(-1))

    def __repr__(self):
        return f"{self.__class__.__name__}({self.base_constraint!r})"


class _LowerBounded(Constraint):
    """A constraint with a `lower_bound` (shown in its repr)."""

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound
        super().__init__()

    def __repr__(self):
        return f"{self.__class__.__name__[1:]}(lower_bound={self.lower_bound})"


class _UpperBounded(Constraint):
    """A constraint with an `upper_bound` (shown in its repr)."""

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound
        super().__init__()

    def __repr__(self):
        return f"{self.__class__.__name__[1:]}(upper_bound={self.upper_bound})"


class _Bounded(Constraint):
    """A constraint with `lower_bound` and `upper_bound` (both shown in its repr)."""

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        super().__init__()

    def __repr__(self):
        return f"{self.__class__.__name__[1:]}(lower_bound={self.lower_bound}, " \
               f"upper_bound={self.upper_bound})"


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        v = _a(value)
        return _out((v == 0) | (v == 1))


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def check(self, value):
        v = _a(value)
        return _out(((v == 0) | (v == 1)).all(-1) & (v.sum(-1) == 1))


class _IntegerInterval(_Bounded):
    is_discrete = True

    def check(self, value):
        v = _a(value)
        return _out((v % 1 == 0) & (_a(self.lower_bound) <= v) & (v <= _a(self.upper_bound)))


class _IntegerLessThan(_UpperBounded):
    is_discrete = True

    def check(self, value):
        v = _a(value)
        return _out((v % 1 == 0) & (v <= _a(self.upper_bound)))


class _IntegerGreaterThan(_LowerBounded):
    is_discrete = True

    def check(self, value):
        v = _a(value)
        return _out((v % 1 == 0) & (v >= _a(self.lower_bound)))


class _Real(Constraint):
    def check(self, value):
        v = _a(value)
        return _out(v == v)  # false only for NaN


class _GreaterThan(_LowerBounded):
    def check(self, value):
        return _out(_a(self.lower_bound) < _a(value))


class _GreaterThanEq(_GreaterThan):
    def check(self, value):
        return _out(_a(self.lower_bound) <= _a(value))


class _LessThan(_UpperBounded):
    def check(self, value):
        return _out(_a(value) < _a(self.upper_bound))


class _Interval(_Bounded):
    def check(self, value):
        v = _a(value)
        return _out((_a(self.lower_bound) <= v) & (v <= _a(self.upper_bound)))


class _HalfOpenInterval(_Interval):
    def check(self, value):
        v = _a(value)
        return _out((_a(self.lower_bound) <= v) & (v < _a(self.upper_bound)))


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        v = _a(value)
        return _out((v >= 0).all(-1) & (np.abs(v.sum(-1) - 1) < 1e-6))


class _Multinomial(Constraint):
    """Non-negative integer counts summing to at most `upper_bound` (torch's check)."""
    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, x):
        v = _a(x)
        return _out((v >= 0).all(-1) & (v.sum(-1) <= _a(self.upper_bound)))


def _tril_ok(v):
    return (np.tril(v) == v).reshape(v.shape[:-2] + (-1,)).all(-1)


class _LowerTriangular(Constraint):
    event_dim = 2

    def check(self, value):
        return _out(_tril_ok(_a(value)))


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        v = _a(value)
        return _out(_tril_ok(v) & (np.diagonal(v, 0, -2, -1) > 0).all(-1))


class _CorrCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        v = _a(value)
        tol = np.finfo(v.dtype).eps * v.shape[-1] * 10
        row_norm = np.linalg.norm(v, axis=-1)
        return _out(_LowerCholesky().check(value)._data & (np.abs(row_norm - 1) <= tol).all(-1))


class _Square(Constraint):
    event_dim = 2

    def check(self, value):
        v = _a(value)
        return _out(np.full(v.shape[:-2], v.shape[-2] == v.shape[-1], dtype=np.bool_))


class _Symmetric(_Square):
    def check(self, value):
        sq = _Square.check(self, value)._data
        if not sq.all():
            return _out(sq)
        v = _a(value)
        return _out(np.isclose(v, np.swapaxes(v, -1, -2), atol=1e-6).all(-2).all(-1))


def _symmetric_with_eigenvalues(constraint, value, ok):
    """_Symmetric's check, then (where every matrix is symmetric) `ok` of all eigenvalues."""
    sym = _Symmetric.check(constraint, value)._data
    if not sym.all():
        return _out(sym)
    return _out(ok(np.linalg.eigvalsh(_a(value))).all(-1))


class _PositiveSemidefinite(_Symmetric):
    def check(self, value):
        return _symmetric_with_eigenvalues(self, value, lambda eig: eig >= 0)


class _PositiveDefinite(_Symmetric):
    def check(self, value):
        return _symmetric_with_eigenvalues(self, value, lambda eig: eig > 0)


class _Cat(Constraint):
    """Constraints `cseq` applied to consecutive pieces (`lengths`) of dimension `dim`."""

    def __init__(self, cseq, dim=0, lengths=None):
        self.cseq = list(cseq)
        self.lengths = list(lengths) if lengths is not None else [1] * len(self.cseq)
        self.dim = dim
        super().__init__()

    @property
    def is_discrete(self):
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self):
        return max(c.event_dim for c in self.cseq)

    def check(self, value):
        v = _a(value)
        checks, start = [], 0
        for c, n in zip(self.cseq, self.lengths):
            piece = np.take(v, np.arange(start, start + n), axis=self.dim)
            checks.append(_a(c.check(Tensor._new(piece))))
            start += n
        return _out(np.concatenate(checks, self.dim))


class _Stack(Constraint):
    """Constraints `cseq` applied to the slices of dimension `dim`."""

    def __init__(self, cseq, dim=0):
        self.cseq = list(cseq)
        self.dim = dim
        super().__init__()

    @property
    def is_discrete(self):
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self):
        dim = max(c.event_dim for c in self.cseq)
        return dim + 1 if self.dim + dim < 0 else dim

    def check(self, value):
        v = _a(value)
        return _out(np.stack([_a(c.check(Tensor._new(np.take(v, i, axis=self.dim))))
                              for i, c in enumerate(self.cseq)], self.dim))


dependent = _Dependent()
dependent_property = _DependentProperty
independent = _IndependentConstraint
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
multinomial = _Multinomial
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
cat = _Cat
stack = _Stack
