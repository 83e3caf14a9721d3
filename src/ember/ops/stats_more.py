"""torch.cov, torch.corrcoef, torch.trapezoid / trapz, torch.vander (composed from existing
differentiable ops, as torch composes them), torch.renorm (RenormBackward0) and torch.poisson
(PoissonBackward0)."""
from __future__ import annotations

import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd.function import once_differentiable
from .base import Op
from .util import wrap_dim

_new = Tensor._new


def _dtype_word(t: Tensor) -> str:
    from .grid_sample import _torch_dtype_name
    return _torch_dtype_name(t._data.dtype)


# ---- covariance and correlation ------------------------------------------------------------------
def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """Covariance of the rows of input (variables) over its columns (observations):
    sum_k w_k (x_ik - m_i)(x_jk - m_j) / (sum w - correction * sum(w a) / sum w), w = fweights *
    aweights, m the weighted means.

    Shape: (V, O) or (O,) -> (V, V) or ()."""
    from .. import _dtype
    if input.dim() > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.dim()} dimensions")
    x = input if input.dim() == 2 else input.reshape(1, -1)
    if x._data.dtype.kind in "biu":
        x = x.to(_dtype._default.dtype)
    n_obs = x.shape[1]
    w = None
    for name, wt, integral in (("fweights", fweights, True), ("aweights", aweights, False)):
        if wt is None:
            continue
        if wt.dim() > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                               f"{name} with {wt.dim()} dimensions")
        kind = wt._data.dtype.kind
        if integral and kind not in "iu":
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got "
                               f"fweights with {_dtype_word(wt)} dtype")
        if not integral and kind != "f":
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got "
                               f"aweights with {_dtype_word(wt)} dtype")
        if wt.numel() != n_obs:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                               f"observations in the input but got {wt.numel()} != {n_obs}")
        if wt.numel() and wt._data.min() < 0:
            raise RuntimeError(f"cov(): {name} cannot be negative")
        w = wt if w is None else w * wt
    if w is None:
        avg = x.mean(1)
        norm = n_obs - correction
    else:
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
        if correction == 0:
            norm = w_sum
        elif aweights is None:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * (w * aweights).sum() / w_sum
    norm_value = float(norm._data) if isinstance(norm, Tensor) else float(norm)
    if norm_value <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        norm = norm * 0 if isinstance(norm, Tensor) else 0
    xm = x - avg.unsqueeze(1)
    c = xm.matmul((xm if w is None else xm * w).t())
    return (c / norm).squeeze()


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of input: cov / (std_i std_j), clipped to
    [-1, 1]."""
    if input.dim() > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got "
                           f"an input with {input.dim()} dimensions")
    c = cov(input)
    if c.dim() == 0:
        return c / c
    std = c.diagonal().sqrt()
    c = c / std.reshape(-1, 1)
    c = c / std.reshape(1, -1)
    return c.clamp(-1, 1)


# ---- trapezoid rule ------------------------------------------------------------------------------
def trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """Integral of y along dim by the trapezoid rule: with spacing dx (default 1),
    (sum y - (y_first + y_last) / 2) dx; with sample points x, sum (x_{k+1} - x_k)(y_k +
    y_{k+1}) / 2."""
    if x is not None and dx is not None:
        raise TypeError("trapezoid() received an invalid combination of arguments - got "
                        "(Tensor, Tensor, dx=...), but expected one of:\n"
                        " * (Tensor y, Tensor x, *, int dim = -1)\n"
                        " * (Tensor y, *, Number dx = 1, int dim = -1)")
    d = wrap_dim(dim, y.dim())
    n = y.shape[d]
    if n == 0:  # as torch: zeros of y.sum(dim)'s dtype, outside the graph
        return y.detach().sum(d).zero_()
    if x is None:
        dx = 1 if dx is None else dx
        ends = y.narrow(d, 0, 1).squeeze(d) + y.narrow(d, n - 1, 1).squeeze(d)
        return (y.sum(d) - ends * 0.5) * dx
    if x.dim() == 1:
        if x.shape[0] != n:
            raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
        shape = [1] * y.dim()
        shape[d] = n
        x = x.reshape(shape)
    elif x.dim() < y.dim():
        x = x.reshape((1,) * (y.dim() - x.dim()) + tuple(x.shape))
    steps = x.narrow(d, 1, x.shape[d] - 1) - x.narrow(d, 0, x.shape[d] - 1)
    return (steps * (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1))).sum(d) / 2


def cumulative_trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None,
                         dim: int = -1) -> Tensor:
    """The running trapezoid-rule integral of y along dim: one entry fewer than y there."""
    if x is not None and dx is not None:
        raise TypeError("cumulative_trapezoid() received an invalid combination of arguments")
    d = wrap_dim(dim, y.dim())
    n = y.shape[d]
    if n == 0:
        return y.narrow(d, 0, 0) * 0.5
    pairs = y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)
    if x is None:
        return (pairs * ((1 if dx is None else dx) / 2)).cumsum(d)
    if x.dim() == 1:
        if x.shape[0] != n:
            raise RuntimeError("cumulative_trapezoid: There must be one `x` value for each "
                               "sample point")
        shape = [1] * y.dim()
        shape[d] = n
        x = x.reshape(shape)
    elif x.dim() < y.dim():
        x = x.reshape((1,) * (y.dim() - x.dim()) + tuple(x.shape))
    steps = x.narrow(d, 1, x.shape[d] - 1) - x.narrow(d, 0, x.shape[d] - 1)
    return (steps * pairs / 2).cumsum(d)


def trapz(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """Alias of trapezoid."""
    return trapezoid(y, x, dx=dx, dim=dim)


# ---- Vandermonde matrix --------------------------------------------------------------------------
def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """Columns x^(N-1), ..., x^0 (x^0, ..., x^(N-1) when increasing); integer and bool x give
    int64.

    Shape: (n,) -> (n, N)."""
    from . import creation
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if x._data.dtype.kind in "biu":
        from .. import _dtype
        x = x.to(_dtype.int64)
    if n == 0:
        return creation.empty((x.shape[0], 0), dtype=x.dtype)
    cols = [creation.ones((x.shape[0], 1), dtype=x.dtype)]
    if n > 1:
        cols.append(x.unsqueeze(1).expand(x.shape[0], n - 1).cumprod(1))
    from .shape import cat
    out = cat(cols, 1) if len(cols) > 1 else cols[0]
    return out if increasing else out.flip(1)


# ---- renorm --------------------------------------------------------------------------------------
class RenormBackward0(Op):
    """out = x * f over each slice x.select(dim, i), f = maxnorm / (||x||_p + 1e-7) where the
    slice's norm n exceeds maxnorm, else 1;  dx = f g + [n > maxnorm] (-maxnorm / (n + 1e-7)^2)
    <g, x> dn/dx, dn/dx = sign(x) |x|^(p-1) / n^(p-1).

    Shape: any -> the same.
    """

    @staticmethod
    def forward(ctx, input, p, dim, maxnorm):
        x = input._data
        axes = tuple(a for a in range(x.ndim) if a != dim)
        a = np.abs(x)
        if p == np.inf:
            norm = a.max(axis=axes, keepdims=True) if x.size else np.zeros_like(x)
        elif p == 2:
            norm = np.sqrt((x * x).sum(axis=axes, keepdims=True))
        elif p == 1:
            norm = a.sum(axis=axes, keepdims=True)
        else:
            norm = (a ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)
        big = norm > maxnorm
        factor = np.where(big, maxnorm / (norm + 1e-7), 1).astype(x.dtype)
        if ctx.needs_input_grad[0]:
            # a copy: renorm_ writes the result into the input array
            ctx.x, ctx.norm, ctx.big, ctx.factor, ctx.p, ctx.axes, ctx.maxnorm = \
                x.copy(), norm, big, factor, p, axes, maxnorm
        return x * factor

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        g = grad._data
        x, n, p = ctx.x, ctx.norm, ctx.p
        gx = g * ctx.factor
        if ctx.big.any():
            s = (g * x).sum(axis=ctx.axes, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                if p == np.inf:
                    dn = np.sign(x) * (np.abs(x) == n)
                elif p == 2:
                    dn = x / n
                elif p == 1:
                    dn = np.sign(x)
                else:
                    dn = np.sign(x) * np.abs(x) ** (p - 1) / n ** (p - 1)
            coef = np.where(ctx.big, -ctx.maxnorm / (n + 1e-7) ** 2 * s, 0)
            gx = gx + np.where(ctx.big, coef * dn, 0).astype(g.dtype)
        return _new(gx.astype(g.dtype, copy=False)), None, None, None


def renorm(input: Tensor, p, dim: int, maxnorm) -> Tensor:
    """Scale each slice along dim whose p-norm exceeds maxnorm down to norm maxnorm."""
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_dtype_word(input)}")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
    d = wrap_dim(dim, max(input.dim(), 1))
    return RenormBackward0.apply(input, float(p), d, float(maxnorm))


def renorm_(self: Tensor, p, dim: int, maxnorm) -> Tensor:
    from .inplace import apply_inplace
    return apply_inplace(self, lambda s: renorm(s, p, dim, maxnorm))


# ---- Poisson draws -------------------------------------------------------------------------------
class PoissonBackward0(Op):
    """out ~ Poisson(rate), elementwise; the draw is not differentiable: drate = 0.

    Draws come from NumPy's Poisson sampler seeded from ember's generator (repeatable under
    manual_seed, but not torch's stream: torch's CPU sampler is not reproduced).
    """

    @staticmethod
    def forward(ctx, rate, generator):
        from ..distributions._sampling import _numpy_rng
        r = rate._data
        return _numpy_rng(generator).poisson(r.astype(np.float64)).astype(r.dtype)

    @staticmethod
    def backward(ctx, grad):
        return _new(np.zeros_like(grad._data)), None


def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson draws with the rates in input (same shape and dtype)."""
    r = input._data
    if r.dtype.kind != "f":
        raise NotImplementedError(f"\"poisson_cpu\" not implemented for '{_dtype_word(input)}'")
    if r.size and not (r >= 0).all():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return PoissonBackward0.apply(input, generator)


TENSOR_METHODS = {"cov": cov, "corrcoef": corrcoef, "renorm": renorm, "renorm_": renorm_}
