"""gradcheck / gradgradcheck: compare autograd's gradients with central finite differences.

The numerical Jacobian of input i is built column by column: perturb one element by ±eps and
take (f(x + eps) - f(x - eps)) / (2 eps). The analytical one row by row: backward with a one-hot
grad_output. Both are compared elementwise with |analytical - numerical| <= atol + rtol |numerical|.
Inputs should be float64: in float32 the differences are dominated by rounding.

When the full Jacobians would be expensive (`fast_mode=True`, or more than `_FULL_LIMIT` forward
plus backward evaluations) each output/input pair is checked through random projections instead:
v^T J u, numerically from one pair of evaluations along u, analytically from one backward with
grad_output v, dotted with u. A mismatch there is recomputed in full for the error message when
that is affordable.
"""
from __future__ import annotations

import warnings

import numpy as np

from .._tensor import Tensor
from . import grad_mode
from .engine import grad as _autograd_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]

# Above this many forward + backward evaluations, the check switches to random projections.
_FULL_LIMIT = 4096
_N_PROJECTIONS = 2
_SEED = 20240601  # projections come from a private generator: checks never move the user's seed


class GradcheckError(RuntimeError):
    """Raised by gradcheck/gradgradcheck when a gradient disagrees (a RuntimeError, as in torch)."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _differentiable_outputs(outputs):
    return [o for o in outputs if isinstance(o, Tensor) and o._rg]


def _float64_tensor(a: np.ndarray) -> Tensor:
    return Tensor._new(np.asarray(a, dtype=np.float64))


def _evaluate(fn, inputs):
    """The float outputs of fn(*inputs), flattened to float64 copies. Grad mode stays on:
    gradgradcheck's function differentiates inside."""
    with grad_mode.enable_grad():
        outs = _as_tuple(fn(*inputs))
    return [np.array(o._data, dtype=np.float64).reshape(-1) for o in outs
            if isinstance(o, Tensor) and o._data.dtype.kind == "f"]


def _out_mask(fn, inputs):
    """Which float outputs of fn are differentiable (require grad when recorded)."""
    outs = _as_tuple(fn(*inputs))
    return [o._rg for o in outs if isinstance(o, Tensor) and o._data.dtype.kind == "f"]


def _numerical_jacobians(fn, inputs, idx, eps, mask):
    """{(output o, input i): ndarray (numel_i, numel_o)} by central differences."""
    jac = {}
    for i in idx:
        x = inputs[i]._data
        flat = [np.unravel_index(k, x.shape) if x.ndim else () for k in range(x.size)]
        cols = []
        for pos in flat:
            orig = x[pos].copy()
            x[pos] = orig + eps
            plus = _evaluate(fn, inputs)
            x[pos] = orig - eps
            minus = _evaluate(fn, inputs)
            x[pos] = orig
            cols.append([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
        for o, keep in enumerate(mask):
            if keep:
                n_out = cols[0][o].size if cols else 0
                jac[(o, i)] = np.array([c[o] for c in cols]).reshape(x.size, n_out)
    return jac


def _vjp(fn, inputs, idx, o, grad_output):
    """J_o^T grad_output for every input in idx (float64 arrays shaped like the inputs)."""
    with grad_mode.enable_grad():
        outs = _as_tuple(fn(*inputs))
        floats = [t for t in outs if isinstance(t, Tensor) and t._data.dtype.kind == "f"]
        out = floats[o]
        go = Tensor._new(np.asarray(grad_output, out._data.dtype).reshape(out._data.shape))
        grads = _autograd_grad(out, [inputs[i] for i in idx], go, allow_unused=True)
    res = []
    for i, g in zip(idx, grads):
        if g is None:
            res.append(np.zeros(inputs[i]._data.shape))
            continue
        if g._data.shape != inputs[i]._data.shape:
            raise GradcheckError(f"Gradient for input {i} has incorrect size: got "
                                 f"{list(g._data.shape)}, expected {list(inputs[i]._data.shape)}")
        res.append(np.array(g._data, dtype=np.float64))
    return res


def _analytical_jacobians(fn, inputs, idx, mask, sizes, nondet_tol):
    """{(output o, input i): ndarray (numel_i, numel_o)} from one backward per output element."""
    jac = {}
    for o, keep in enumerate(mask):
        if not keep:
            continue
        n_out = sizes[o]
        rows = {i: np.zeros((inputs[i]._data.size, n_out)) for i in idx}
        for k in range(n_out):
            onehot = np.zeros(n_out)
            onehot[k] = 1.0
            for i, g in zip(idx, _vjp(fn, inputs, idx, o, onehot)):
                rows[i][:, k] = g.reshape(-1)
        if n_out:
            # reentrancy: the same backward again must give the same numbers
            again = _vjp(fn, inputs, idx, o, onehot)
            for i, g in zip(idx, again):
                if np.abs(g.reshape(-1) - rows[i][:, n_out - 1]).max(initial=0.0) > nondet_tol:
                    raise GradcheckError(
                        "Backward is not reentrant, i.e., running backward with same input and "
                        "grad_output multiple times gives different values, although analytical "
                        "gradient matches numerical gradient.The tolerance for nondeterminism was "
                        f"{nondet_tol}.")
        for i in idx:
            jac[(o, i)] = rows[i]
    return jac


def _show(a: np.ndarray) -> str:
    return repr(_float64_tensor(a))


def _mismatch(o, i, num, ana) -> str:
    return (f"Jacobian mismatch for output {o} with respect to input {i},\n"
            f"numerical:{_show(num)}\nanalytical:{_show(ana)}\n")


def _full_check(fn, inputs, idx, eps, atol, rtol, nondet_tol, mask, sizes):
    num = _numerical_jacobians(fn, inputs, idx, eps, mask)
    ana = _analytical_jacobians(fn, inputs, idx, mask, sizes, nondet_tol)
    for (o, i), n in num.items():
        a = ana[(o, i)]
        if not np.allclose(a, n, rtol=rtol, atol=atol):
            raise GradcheckError(_mismatch(o, i, n, a))


def _fast_check(fn, inputs, idx, eps, atol, rtol, mask, sizes):
    from ..random import Generator
    rng = Generator().manual_seed(_SEED)
    for _ in range(_N_PROJECTIONS):
        us = {}
        for i in idx:
            u = rng.normal(inputs[i]._data.shape, 0.0, 1.0, np.float64)
            n = np.linalg.norm(u)
            us[i] = u / n if n else u
        # numerical J u for every output, one input at a time
        ju = {}
        for i in idx:
            x = inputs[i]._data
            orig = x.copy()
            x += eps * us[i]
            plus = _evaluate(fn, inputs)
            x[...] = orig - eps * us[i]
            minus = _evaluate(fn, inputs)
            x[...] = orig
            for o, keep in enumerate(mask):
                if keep:
                    ju[(o, i)] = (plus[o] - minus[o]) / (2 * eps)
        for o, keep in enumerate(mask):
            if not keep:
                continue
            v = rng.normal((sizes[o],), 0.0, 1.0, np.float64)
            grads = _vjp(fn, inputs, idx, o, v)
            for i, g in zip(idx, grads):
                numerical = float(v @ ju[(o, i)])
                analytical = float(g.reshape(-1) @ us[i].reshape(-1))
                if abs(analytical - numerical) > atol + rtol * abs(numerical):
                    msg = (f"Jacobian mismatch for output {o} with respect to input {i},\n"
                           f"numerical:{numerical}\nanalytical:{analytical}\n\n"
                           "The above quantities relating the numerical and analytical jacobians "
                           "are computed in fast mode (random projections v^T J u).")
                    if inputs[i]._data.size * 2 + sizes[o] <= _FULL_LIMIT:
                        num = _numerical_jacobians(fn, inputs, [i], eps, mask)[(o, i)]
                        ana = _analytical_jacobians(fn, inputs, [i], mask, sizes,
                                                    float("inf"))[(o, i)]
                        msg += (f" Below, the jacobians recomputed in full:\n\nNumerical:\n "
                                f"{_show(num)}\nAnalytical:\n{_show(ana)}\n\nThe max per-element "
                                f"difference (slow mode) is: {np.abs(num - ana).max()}.\n")
                    raise GradcheckError(msg)


def _check_inputs(inputs):
    idx = []
    for i, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t._rg):
            continue
        idx.append(i)
        if t._data.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point or complex. This check will likely fail if all the inputs are "
                          "not of double precision floating point or complex. ", UserWarning,
                          stacklevel=3)
        if any(s == 0 and n > 1 for s, n in zip(t._data.strides, t._data.shape)):
            raise RuntimeError(f"The {i}th input has a dimension with stride 0. gradcheck only "
                               "supports inputs that are non-overlapping to be able to compute the "
                               "numerical gradients correctly. You should call .contiguous on the "
                               "input before passing it to gradcheck.")
    if not idx:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")
    return idx


def _unsupported(**flags):
    for name, on in flags.items():
        if on:
            raise NotImplementedError(f"gradcheck: {name}=True is not supported by ember "
                                      "(it has no forward-mode AD or vmap)")


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked=None) -> bool:
    """Check the gradients of `func(*inputs)` against central finite differences.

    Returns True when every differentiable output's Jacobian with respect to every input with
    requires_grad matches; otherwise raises GradcheckError (or returns False when
    raise_exception=False). Inputs are perturbed in place and restored.
    """
    _unsupported(check_batched_grad=check_batched_grad,
                 check_batched_forward_grad=check_batched_forward_grad,
                 check_forward_ad=check_forward_ad)
    inputs = _as_tuple(inputs)
    idx = _check_inputs(inputs)
    if not check_backward_ad:
        return True
    try:
        with grad_mode.enable_grad():
            mask = _out_mask(func, inputs)
        sizes = [a.size for a in _evaluate(func, inputs)]
        n_in = sum(inputs[i]._data.size for i in idx)
        n_out = sum(s for s, keep in zip(sizes, mask) if keep)
        if fast_mode or 2 * n_in + n_out > _FULL_LIMIT:
            _fast_check(func, inputs, idx, eps, atol, rtol, mask, sizes)
        else:
            _full_check(func, inputs, idx, eps, atol, rtol, nondet_tol, mask, sizes)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False,
                  masked: bool = False) -> bool:
    """Check second derivatives: gradcheck of (inputs, grad_outputs) -> autograd.grad(func(inputs),
    inputs, grad_outputs, create_graph=True). Random grad_outputs are drawn when none are given."""
    _unsupported(check_batched_grad=check_batched_grad, check_fwd_over_rev=check_fwd_over_rev)
    inputs = _as_tuple(inputs)
    _check_inputs(inputs)
    if not check_rev_over_rev:
        return True
    n_in = len(inputs)
    if grad_outputs is None:
        from ..random import Generator
        rng = Generator().manual_seed(_SEED + 1)
        with grad_mode.enable_grad():
            outs = _differentiable_outputs(_as_tuple(func(*inputs)))
        grad_outputs = []
        for o in outs:
            g = rng.normal(o._data.shape, 0.0, 1.0, o._data.dtype)
            if gen_non_contig_grad_outputs and g.ndim:
                g = np.repeat(g[..., None], 2, axis=-1)[..., 0]
            grad_outputs.append(Tensor._new(g, requires_grad=True))
    grad_outputs = _as_tuple(grad_outputs)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t._rg]

    def first_grads(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs = _differentiable_outputs(_as_tuple(func(*ins)))
        grads = _autograd_grad(outs, [ins[i] for i in diff_idx], gos, create_graph=True,
                               allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_grads, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, fast_mode=fast_mode, masked=masked)
