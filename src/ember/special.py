"""torch.special: the special functions (their ops live in ops/special.py), under torch's names."""
from __future__ import annotations

from .ops.elementwise import erfinv, log1p, round, sigmoid as expit
from .ops.special import (digamma, entr, erf, erfc, erfcx, exp2, expm1, i0, log_ndtr, logit,
                          ndtr, ndtri, polygamma, sinc, xlog1py, xlogy, zeta)
from .ops.special import lgamma as gammaln
from .ops.special import mvlgamma as multigammaln
from .ops.special import special_i0e as i0e, special_i1 as i1, special_i1e as i1e

psi = digamma

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
           "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit",
           "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "sinc",
           "softmax", "xlog1py", "xlogy", "zeta"]


def softmax(input, dim, *, dtype=None):
    from .nn import functional as F
    return F.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    from .nn import functional as F
    return F.log_softmax(input, dim, dtype=dtype)


def logsumexp(input, dim, keepdim=False):
    from .ops.reduce import logsumexp as _lse
    return _lse(input, dim, keepdim)
