"""Recurrent layers (torch.nn.RNN, LSTM, GRU) and their cells.

Each layer-direction runs as one op with a hand-written backward through time
(ops/rnn.py); this module owns the parameters, torch's argument checks, the stacking of layers
and directions, dropout between layers, packed sequences and unbatched input.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ..._tensor import Tensor
from ...ops import creation
from ...ops.rnn import rnn_layer
from ...ops.shape import cat, stack
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _apply_permutation(t: Tensor, permutation, dim: int = 1) -> Tensor:
    return t.index_select(dim, permutation)


class RNNBase(Module):
    """The parameters and the forward shared by RNN, LSTM and GRU.

    Parameters per layer k and direction ('' or '_reverse'): weight_ih_l{k} (G*H, in),
    weight_hh_l{k} (G*H, Hout), bias_ih_l{k} (G*H), bias_hh_l{k} (G*H) and, for an LSTM with
    proj_size, weight_hr_l{k} (proj_size, H); G = 4 (LSTM), 3 (GRU), 1 (RNN), Hout = proj_size or
    H. All ~ U(-1/sqrt(H), 1/sqrt(H)), drawn in that order (torch's)."""

    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                     "dropout", "bidirectional", "proj_size"]

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1

        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or \
                isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size

        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                real_hidden = proj_size if proj_size > 0 else hidden_size
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for kind, shape in shapes:
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(creation.empty(shape, dtype=dtype,
                                                                 device=device)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, w) for w in weights] for weights in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op: ember keeps no fused weight buffer."""

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    # ---- torch's checks ---------------------------------------------------------------------
    def check_input(self, input: Tensor, batch_sizes) -> None:
        w = self._flat_weights[0]
        if input.dtype != w.dtype:
            raise ValueError(f"input must have the type {w.dtype}, got type {input.dtype}")
        expected = 2 if batch_sizes is not None else 3
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes) -> tuple:
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, real_hidden)

    def check_hidden_size(self, hx: Tensor, expected_hidden_size,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return _apply_permutation(hx, permutation)

    # ---- forward ----------------------------------------------------------------------------
    def _unpack_input(self, input, hx, hidden_is_pair: bool):
        """(input, batch_sizes, sorted_indices, unsorted_indices, is_batched, hx) with hx made
        batched and put in sorted order."""
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            input, batch_sizes, sorted_indices, unsorted_indices = input
            if hx is not None:
                hx = (tuple(self.permute_hidden(h, sorted_indices) for h in hx)
                      if hidden_is_pair else self.permute_hidden(hx, sorted_indices))
            return input, batch_sizes, sorted_indices, unsorted_indices, True, hx
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D "
                             "instead")
        is_batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if hx is not None:
            dims = [h.dim() for h in hx] if hidden_is_pair else [hx.dim()]
            want = 3 if is_batched else 2
            if any(d != want for d in dims):
                kind = "batched 3-D" if is_batched else "unbatched 2-D"
                if hidden_is_pair:
                    raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D "
                                       f"but got ({dims[0]}-D, {dims[1]}-D) tensors")
                raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                                   f"{dims[0]}-D tensor")
        if not is_batched:
            input = input.unsqueeze(batch_dim)
            if hx is not None:
                hx = tuple(h.unsqueeze(1) for h in hx) if hidden_is_pair else hx.unsqueeze(1)
        return input, None, None, None, is_batched, hx

    def _run(self, input: Tensor, batch_sizes, hx, cx):
        """The stacked layers over input (packed rows (N, I) when batch_sizes is given, else a
        (T, B, I) or batch-first batch). Returns (output, h_n, c_n or None)."""
        packed = batch_sizes is not None
        if packed:
            bs = batch_sizes.tolist()
            x = input
        else:
            if self.batch_first:
                input = input.transpose(0, 1)
            T, B = input.shape[0], input.shape[1]
            bs = [B] * T
            x = input.reshape(T * B, input.shape[2])
        mode = self.mode
        lstm = mode == "LSTM"
        D = 2 if self.bidirectional else 1
        weights = self._flat_weights
        per = len(weights) // (self.num_layers * D)
        has_bias = self.bias
        hs = []
        cs = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                w = weights[k * per:(k + 1) * per]
                w_ih, w_hh = w[0], w[1]
                b_ih, b_hh = (w[2], w[3]) if has_bias else (None, None)
                w_hr = w[-1] if self.proj_size > 0 else None
                h0 = hx[k] if hx is not None else None
                c0 = cx[k] if cx is not None else None
                res = rnn_layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, bs, d == 1)
                outs.append(res[0])
                hs.append(res[1])
                if lstm:
                    cs.append(res[2])
            x = outs[0] if D == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        h_n = stack(hs, 0)
        c_n = stack(cs, 0) if lstm else None
        if not packed:
            x = x.reshape(T, B, x.shape[-1])
            if self.batch_first:
                x = x.transpose(0, 1)
        return x, h_n, c_n

    def forward(self, input, hx=None):
        input, batch_sizes, sorted_indices, unsorted_indices, is_batched, hx = \
            self._unpack_input(input, hx, False)
        self.check_input(input, batch_sizes)
        if hx is not None:
            self.check_hidden_size(hx, self.get_expected_hidden_size(input, batch_sizes))
        output, h_n, _ = self._run(input, batch_sizes, hx, None)
        return self._finish(output, (h_n,), batch_sizes, sorted_indices, unsorted_indices,
                            is_batched)

    def _finish(self, output, hidden, batch_sizes, sorted_indices, unsorted_indices, is_batched):
        if batch_sizes is not None:
            output = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
            hidden = tuple(self.permute_hidden(h, unsorted_indices) for h in hidden)
        elif not is_batched:
            output = output.squeeze(0 if self.batch_first else 1)
            hidden = tuple(h.squeeze(1) for h in hidden)
        return output, (hidden[0] if len(hidden) == 1 else hidden)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    Shape: input (L, N, H_in) / (N, L, H_in) with batch_first / (L, H_in) unbatched, or a
    PackedSequence; h_0 (D*num_layers, N, H) or (D*num_layers, H). Returns (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
                 **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"RNN.__init__() got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        self.nonlinearity = nonlinearity
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory, with torch's gates (i, f, g, o) and optional projection
    (proj_size): h_t = (o_t * tanh(c_t)) W_hr^T.

    Shape: input as RNN's; hx = (h_0 (D*num_layers, N, Hout), c_0 (D*num_layers, N, H)).
    Returns (output, (h_n, c_n))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)

    def get_expected_cell_size(self, input: Tensor, batch_sizes) -> tuple:
        L, B, _ = self.get_expected_hidden_size(input, batch_sizes)
        return (L, B, self.hidden_size)

    def check_forward_args(self, input: Tensor, hidden, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        if isinstance(hx, tuple):
            return tuple(_apply_permutation(h, permutation) for h in hx)
        return _apply_permutation(hx, permutation)

    def forward(self, input, hx=None):
        input, batch_sizes, sorted_indices, unsorted_indices, is_batched, hx = \
            self._unpack_input(input, hx, True)
        if hx is None:
            self.check_input(input, batch_sizes)
            h0 = c0 = None
        else:
            self.check_forward_args(input, hx, batch_sizes)
            h0, c0 = hx
        output, h_n, c_n = self._run(input, batch_sizes, h0, c0)
        return self._finish(output, (h_n, c_n), batch_sizes, sorted_indices, unsorted_indices,
                            is_batched)


class GRU(RNNBase):
    """Gated recurrent unit with torch's gates (r, z, n):
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h.

    Shape: as RNN's. Returns (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"GRU.__init__() got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


# ---- cells ------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """Parameters weight_ih (G*H, in), weight_hh (G*H, H), bias_ih, bias_hh (G*H), all
    ~ U(-1/sqrt(H), 1/sqrt(H))."""

    __constants__ = ["input_size", "hidden_size", "bias"]

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(creation.empty((num_chunks * hidden_size, input_size),
                                                  dtype=dtype, device=device))
        self.weight_hh = Parameter(creation.empty((num_chunks * hidden_size, hidden_size),
                                                  dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(creation.empty(num_chunks * hidden_size, dtype=dtype,
                                                    device=device))
            self.bias_hh = Parameter(creation.empty(num_chunks * hidden_size, dtype=dtype,
                                                    device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nl = getattr(self, "nonlinearity", "tanh")
        if nl != "tanh":
            s += f", nonlinearity={nl}"
        return s

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _check_input(self, input: Tensor, hx, n_states: int) -> bool:
        """torch's cell checks; returns whether the input is batched."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        if hx is not None:
            states = hx if n_states == 2 else (hx,)
            for k, h in enumerate(states):
                if h.dim() not in (1, 2):
                    label = f"hx[{k}]" if n_states == 2 else "hidden"
                    raise ValueError(f"{name}: Expected {label} to be 1D or 2D, got {h.dim()}D "
                                     "instead")
        return input.dim() == 2

    def _check_forward(self, input: Tensor, states) -> None:
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} "
                               f"expected {self.input_size}")
        if input.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"expected scalar type {self.weight_ih.dtype} but found "
                               f"{input.dtype}")
        for k, h in enumerate(states):
            if h is None:
                continue
            if h.size(0) != input.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{k} "
                                   f"batch size {h.size(0)}")
            if h.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {h.size(1)}, "
                                   f"expected {self.hidden_size}")

    def _step(self, mode: str, input: Tensor, h, c):
        return rnn_layer(mode, input, h, c, self.weight_ih, self.weight_hh, self.bias_ih,
                         self.bias_hh, None, [input.shape[0]], False)


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).  Shape: (N, in) or (in,)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._check_input(input, hx, 1)
        if not batched:
            input = input.unsqueeze(0)
            if hx is not None:
                hx = hx.unsqueeze(0)
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        self._check_forward(input, (hx,))
        h = self._step(mode, input, hx, None)[1]
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """(h', c') of one LSTM step.  Shape: input (N, in) or (in,); hx = (h, c), each (N, H) or
    (H,)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx=None):
        batched = self._check_input(input, hx, 2)
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            h = c = None
        else:
            h, c = hx
            if not batched:
                h, c = h.unsqueeze(0), c.unsqueeze(0)
        self._check_forward(input, (h, c))
        _, h1, c1 = self._step("LSTM", input, h, c)
        return (h1, c1) if batched else (h1.squeeze(0), c1.squeeze(0))


class GRUCell(RNNCellBase):
    """h' of one GRU step.  Shape: input (N, in) or (in,); hx (N, H) or (H,)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._check_input(input, hx, 1)
        if not batched:
            input = input.unsqueeze(0)
            if hx is not None:
                hx = hx.unsqueeze(0)
        self._check_forward(input, (hx,))
        h = self._step("GRU", input, hx, None)[1]
        return h if batched else h.squeeze(0)
