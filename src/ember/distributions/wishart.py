"""torch.distributions.Wishart."""
from __future__ import annotations

import math
import warnings
from numbers import Number

import numpy as np

from .._size import Size
from ..linalg import slogdet
from ..ops.creation import arange, as_tensor, eye, randn, tensor
from ..ops.special import digamma
from ..special import multigammaln
from . import constraints
from ._linalg import cholesky_solve, diagonal
from .chi2 import Chi2
from .exp_family import ExponentialFamily
from .multivariate_normal import _ScaleTrilMatrices, _scale_tril_of
from .utils import finfo, lazy_property

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x, p: int):
    if not bool((x > (p - 1) / 2).all()):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    return digamma(x.unsqueeze(-1) - arange(p, dtype=x.dtype).div(2).expand(
        tuple(x.shape) + (-1,))).sum(-1)


class Wishart(_ScaleTrilMatrices, ExponentialFamily):
    """Wishart(df, covariance_matrix | precision_matrix | scale_tril); rsample by Bartlett's
    decomposition (chi-squared draws from ember's gamma sampler, normals from torch.randn),
    redrawing singular samples."""
    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        if (covariance_matrix is not None) + (scale_tril is not None) + \
                (precision_matrix is not None) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or "
                                 "scale_tril may be specified.")
        param = next(p for p in (covariance_matrix, precision_matrix, scale_tril)
                     if p is not None)
        if param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if isinstance(df, Number):
            batch_shape = Size(param.shape[:-2])
            self.df = tensor(df, dtype=param.dtype)
        else:
            batch_shape = Size(np.broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(batch_shape)
        event_shape = param.shape[-2:]
        if bool((self.df <= event_shape[-1] - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = "
                             f"{event_shape[-1] - 1}.")
        if scale_tril is not None:
            self.scale_tril = param.expand(tuple(batch_shape) + (-1, -1))
        elif covariance_matrix is not None:
            self.covariance_matrix = param.expand(tuple(batch_shape) + (-1, -1))
        else:
            self.precision_matrix = param.expand(tuple(batch_shape) + (-1, -1))
        if bool((self.df < event_shape[-1]).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur "
                          "for ndim - 1 < df < ndim.")
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        self._batch_dims = [-(x + 1) for x in range(len(self._batch_shape))]
        self._unbroadcasted_scale_tril = _scale_tril_of(scale_tril, covariance_matrix,
                                                        precision_matrix)
        self._dist_chi2 = self._chi2(self.df, batch_shape)

    def _chi2(self, df, batch_shape):
        p = self._event_shape[-1]
        return Chi2(df=df.unsqueeze(-1) - arange(p, dtype=self._unbroadcasted_scale_tril.dtype
                                                  ).expand(tuple(batch_shape) + (-1,)))

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = Size(batch_shape)
        cov_shape = tuple(batch_shape + self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(cov_shape)
        new.df = self.df.expand(batch_shape)
        new._batch_dims = [-(x + 1) for x in range(len(batch_shape))]
        self._expand_matrices(new, cov_shape)
        new._event_shape = self._event_shape
        new._dist_chi2 = new._chi2(new.df, batch_shape)
        super(Wishart, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _mat_shape(self):
        return tuple(self._batch_shape + self._event_shape)

    @lazy_property
    def precision_matrix(self):
        identity = eye(self._event_shape[-1], dtype=self._unbroadcasted_scale_tril.dtype)
        L = self._unbroadcasted_scale_tril
        return cholesky_solve(identity.expand(tuple(L.shape)), L).expand(self._mat_shape())

    @property
    def mean(self):
        return self.df.view(tuple(self._batch_shape) + (1, 1)) * self.covariance_matrix

    @property
    def mode(self):
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = factor.masked_fill(factor <= 0, np.nan)
        return factor.view(tuple(self._batch_shape) + (1, 1)) * self.covariance_matrix

    @property
    def variance(self):
        V = self.covariance_matrix
        d = diagonal(V)
        return self.df.view(tuple(self._batch_shape) + (1, 1)) * \
            (V.pow(2) + d.unsqueeze(-1) * d.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape=Size()):
        p = self._event_shape[-1]
        chi = self._dist_chi2.rsample(sample_shape).sqrt()
        chi = chi.clamp(min=float(finfo(chi.dtype).eps))
        i, j = np.tril_indices(p, -1)
        normals = randn(tuple(Size(sample_shape) + self._batch_shape) + (p * (p - 1) // 2,),
                        dtype=chi.dtype)
        # the lower triangle of the noise matrix, scattered by a constant 0/1 map
        place = np.zeros((p * (p - 1) // 2, p * p), chi._data.dtype)
        place[np.arange(len(i)), i * p + j] = 1
        noise = chi.diag_embed() + (normals @ as_tensor(place)).reshape(
            tuple(normals.shape[:-1]) + (p, p))
        chol = self._unbroadcasted_scale_tril @ noise
        return chol @ chol.transpose(-2, -1)

    def rsample(self, sample_shape=Size(), max_try_correction=None):
        if max_try_correction is None:
            max_try_correction = 10
        sample_shape = Size(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        for _ in range(max_try_correction):  # redraw singular samples (whole draws, vectorised)
            singular = ~self.support.check(sample)._data
            if not singular.any():
                break
            warnings.warn("Singular sample detected.")
            fresh = self._bartlett_sampling(sample_shape)
            sample = fresh.where(as_tensor(singular)[..., None, None], sample)
        return sample

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        return -nu * (p * _LOG_2 / 2 + diagonal(L).log().sum(-1)) - \
            multigammaln(nu / 2, p) + (nu - p - 1) / 2 * slogdet(value)[1] - \
            diagonal(cholesky_solve(value, L)).sum(-1) / 2

    def entropy(self):
        nu = self.df
        p = self._event_shape[-1]
        return (p + 1) * (p * _LOG_2 / 2 + diagonal(self._unbroadcasted_scale_tril).log()
                          .sum(-1)) + multigammaln(nu / 2, p) - \
            (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2

    @property
    def _natural_params(self):
        nu = self.df
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (nu - p - 1) / 2

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        return (y + (p + 1) / 2) * (-slogdet(-2 * x)[1] + _LOG_2 * p) + \
            multigammaln(y + (p + 1) / 2, p)
