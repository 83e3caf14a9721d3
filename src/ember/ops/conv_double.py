"""A convolution's backward as a graph of differentiable ops, for create_graph=True.

The convolution ops' own backward passes compute in NumPy and record nothing. A gradient that
must itself be differentiated (WGAN-GP's and R1's gradient penalties, meta-learning,
Hessian-vector products) needs the gradients built from recorded ops, so under create_graph
each convolution op hands its backward to `backward` here:

  conv:            dx = conv_transpose(g, W), placed in the padded input and cropped to it;
                   dW = per group, sum over samples of g_n unfold(x_n)^T;  db = sum of g
  conv_transpose:  dx = conv(g, W) with the same stride, padding, dilation and groups;
                   dW = per group, sum over samples of x_n unfold(g_n)^T;  db = sum of g

Each op records the call it served in `node.conv_call` (see `record`) and its class is marked
`twice_differentiable`; 1-d convolutions run as 2-d ones over a height-1 image, as the ops do.
"""
from __future__ import annotations

from .._tensor import Tensor


def record(out: Tensor, x: Tensor, weight: Tensor, stride, padding, dilation, groups,
           out_hw=None) -> Tensor:
    """Keep on out's node the call a graph of its backward needs: padding (top, bottom, left,
    right) for a convolution, (h, w) with the output size `out_hw` for a transposed one."""
    node = out.grad_fn
    if node is not None:
        node.conv_call = (x, weight, tuple(stride), tuple(padding), tuple(dilation), groups,
                          out_hw)
    return out


def twice_differentiable(cls):
    """Class decorator for a convolution op: under create_graph its backward is `backward`
    below (recorded ops) instead of the class's NumPy one, and the call `record` kept on the
    node is dropped when the graph is freed."""
    from ..autograd.grad_mode import state as grad_state
    numpy_backward = cls.__dict__["backward"].__func__

    def dispatch(ctx, grad):
        if grad_state.enabled:
            return backward(ctx, grad)
        return numpy_backward(ctx, grad)

    dispatch.__doc__ = numpy_backward.__doc__
    cls.backward = staticmethod(dispatch)
    cls._free_attrs = ("conv_call",)
    return cls


def backward(ctx, grad: Tensor):
    """The gradients of (x, weight, bias, *the op's other arguments) as recorded tensors."""
    call = getattr(ctx, "conv_call", None)
    if call is None:  # freed with the graph (or an op applied without `record`)
        ctx._saved_arrays()  # torch's error for a graph already freed
        raise RuntimeError(f"{type(ctx).__name__}: double backward needs the convolution's "
                           "call (ops/conv_double.record)")
    x, w, stride, padding, dilation, groups, out_hw = call
    need = ctx.needs_input_grad
    one_d = x.dim() == 3
    g = grad
    if one_d:  # as a 2-d convolution over a height-1 image
        x, w, g = x.unsqueeze(2), w.unsqueeze(2), g.unsqueeze(2)
        if len(stride) == 1:  # (conv_transpose records the 2-d form already)
            stride, dilation, padding = (1,) + stride, (1,) + dilation, (0, 0) + padding
    if out_hw is None:
        gx, gw = _conv(g, x, w, stride, padding, dilation, groups, need[0], need[1])
    else:
        gx, gw = _conv_transpose(g, x, w, stride, padding, dilation, groups, need[0], need[1])
    gb = g.sum((0, 2, 3)) if len(need) > 2 and need[2] else None
    if one_d:
        gx = None if gx is None else gx.squeeze(2)
        gw = None if gw is None else gw.squeeze(2)
    n_rest = 4 if out_hw is None else 5  # stride, padding, dilation, groups [, out_hw]
    return (gx, gw, gb) + (None,) * n_rest


def _weight_grad(a: Tensor, cols: Tensor, groups: int, shape) -> Tensor:
    """sum_n a_n cols_n^T per group: a (N, A, L), cols (N, B, L) -> weight of `shape`."""
    N, A, L = a.shape
    B = cols.shape[1]
    prod = a.reshape(N, groups, A // groups, L).matmul(
        cols.reshape(N, groups, B // groups, L).transpose(-1, -2))
    return prod.sum(0).reshape(shape)


def _conv(g, x, w, stride, padding, dilation, groups, need_x, need_w):
    from ..nn import functional as F
    N, C, H, W = x.shape
    pt, pb, pl, pr = padding
    gx = gw = None
    if need_x:
        full = F.conv_transpose2d(g, w, stride=stride, dilation=dilation, groups=groups)
        # rows/columns of the padded input past the last window get no gradient
        ext_h = H + pt + pb - full.shape[2]
        ext_w = W + pl + pr - full.shape[3]
        if ext_h or ext_w:
            full = F.pad(full, (0, ext_w, 0, ext_h))
        gx = full[:, :, pt:pt + H, pl:pl + W]
    if need_w:
        xp = F.pad(x, (pl, pr, pt, pb)) if pt or pb or pl or pr else x
        cols = F.unfold(xp, w.shape[2:], dilation=dilation, stride=stride)
        gw = _weight_grad(g.reshape(N, g.shape[1], -1), cols, groups, w.shape)
    return gx, gw


def _conv_transpose(g, x, w, stride, padding, dilation, groups, need_x, need_w):
    from ..nn import functional as F
    N, C, H, W = x.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    kh, kw = w.shape[2:]
    gx = gw = None
    if need_x:
        gx = F.conv2d(g, w, stride=stride, padding=padding, dilation=dilation,
                      groups=groups)[:, :, :H, :W]
    if need_w:
        Ho, Wo = g.shape[2:]
        # input pixel p's window of the output: rows s*p + d*i - pad (outside the output: 0)
        ext_h = max(0, sh * (H - 1) + dh * (kh - 1) + 1 - (Ho + ph))
        ext_w = max(0, sw * (W - 1) + dw * (kw - 1) + 1 - (Wo + pw))
        gp = F.pad(g, (pw, ext_w, ph, ext_h))
        cols = F.unfold(gp, (kh, kw), dilation=dilation, stride=stride)
        lh = (gp.shape[2] - dh * (kh - 1) - 1) // sh + 1
        lw = (gp.shape[3] - dw * (kw - 1) - 1) // sw + 1
        if lh != H or lw != W:
            cols = cols.reshape(N, cols.shape[1], lh, lw)[:, :, :H, :W].reshape(
                N, cols.shape[1], H * W)
        gw = _weight_grad(x.reshape(N, C, H * W), cols, groups, w.shape)
    return gx, gw
