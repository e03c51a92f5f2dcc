"""Hypothesis strategies for the nn.Module cell checks (checks/torch_cells.py), in the style of checks/strategies.py.

A cell problem is one call of a cell built as ``torch.nn.RNNCell(D, H, bias)`` or ``torch.nn.LSTMCell(D, H,
bias)``, its parameters as torch.nn names and shapes them (k = 1 for the RNN cell, 4 for the LSTM cell), and
upstream gradients for a projection L = Σ_k ⟨output_k, upstream_k⟩:

    input (N, D), h (N, H), c (N, H) (LSTM only), weight_ih (kH, D), weight_hh (kH, H), bias_ih (kH,),
    bias_hh (kH,) (absent when bias=False), dh (N, H), dc (N, H) (LSTM only)

torch.nn's order of the LSTM's four gate blocks is i, f, g, o (``TORCH_GATE_ORDER``), not CS231n's i, f, o, g.

Values, as strategies.py's RNN problems (one drawn seed, numpy's default_rng), all float64: input, h, c, dh and
dc in [-1, 1]; weight_ih in [-1, 1]/sqrt(D), weight_hh in [-1, 1]/sqrt(H); each bias in [-0.5, 0.5]. Each
pre-activation is then within sqrt(D) + sqrt(H) + 1 <= 5.5 of zero (D, H <= 5): no tanh or σ is saturated
(tanh′ >= 6e-5, σ′ >= 4e-3), so a wrong gate or a cut gradient is never multiplied away. In simple-value mode
(``strategies.simple_values``) every entry is drawn through Hypothesis from halves instead, biases from
{-0.5, 0, 0.5}, without the 1/sqrt scales.

Sizes come from ``strategies.dims`` (T = 1), which draws D = H and D ≠ H both: a weight used untransposed
(``input @ weight_ih``) is only caught, or only runs at all, at D ≠ H.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from checks.strategies import SEEDS, Dims, _check_bool, _check_int, _uniform, _Values, dims, in_simple_mode

#: The cells, as torch.nn names them, and how many gate blocks of H rows each weight holds.
GATE_COUNT = {"RNNCell": 1, "LSTMCell": 4}
#: torch.nn.LSTMCell's order of the gate blocks of weight_ih, weight_hh and the biases.
TORCH_GATE_ORDER = ("i", "f", "g", "o")
#: The parameters of a cell built with bias=True, in torch.nn's order (named_parameters); bias=False keeps two.
PARAMETER_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class CellProblem(NamedTuple):
    """One call of a cell (``cell`` is "RNNCell" or "LSTMCell"): the input (N, D), the state h (N, H) and,
    for the LSTM, c (N, H); torch.nn's parameters; upstream gradients dh (N, H) and, for the LSTM, dc (N, H).
    A bias is None when the cell is built with bias=False."""

    cell: str
    input: np.ndarray
    h: np.ndarray
    c: np.ndarray | None
    weight_ih: np.ndarray
    weight_hh: np.ndarray
    bias_ih: np.ndarray | None
    bias_hh: np.ndarray | None
    dh: np.ndarray
    dc: np.ndarray | None

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(N, D, H)."""
        N, D = self.input.shape
        return N, D, self.h.shape[1]

    @property
    def has_bias(self) -> bool:
        return self.bias_ih is not None

    @property
    def init(self) -> dict:
        """The constructor's keywords: input_size and hidden_size, and bias=False for a cell without biases. bias=True
        is torch.nn's default and is left out, so a cell whose constructor takes no bias argument still has every
        check but the bias=False ones."""
        _, D, H = self.sizes
        return {"input_size": D, "hidden_size": H, **({} if self.has_bias else {"bias": False})}

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The parameters, by torch.nn's names, in its order: weight_ih, weight_hh (and bias_ih, bias_hh)."""
        named = {name: getattr(self, name) for name in PARAMETER_NAMES}
        return {name: value for name, value in named.items() if value is not None}

    @property
    def state(self) -> dict[str, np.ndarray]:
        """The state hx as named arrays: {"h"} for the RNN cell, {"h", "c"} for the LSTM cell."""
        return {"h": self.h} if self.c is None else {"h": self.h, "c": self.c}

    @property
    def hx(self) -> np.ndarray | list[np.ndarray]:
        """hx as the cell takes it: h, or [h, c] (the worker makes it the tuple (h, c))."""
        return self.h if self.c is None else [self.h, self.c]

    @property
    def upstream(self) -> list[np.ndarray]:
        """One upstream gradient per output: [dh], or [dh, dc]."""
        return [self.dh] if self.dc is None else [self.dh, self.dc]

    def zero_state(self) -> "CellProblem":
        """The same problem with h (and c) all zeros: what hx=None means."""
        zeros = np.zeros_like(self.h)
        return self._replace(h=zeros, c=None if self.c is None else zeros.copy())


def cell_problems(cell: str, max_n: int = 4, max_d: int = 5, max_h: int = 5,
                  bias: bool = True) -> st.SearchStrategy[CellProblem]:
    """A CellProblem for ``cell`` ("RNNCell" or "LSTMCell") with sizes 1 <= N <= max_n, 1 <= D <= max_d,
    1 <= H <= max_h (D = H and D ≠ H both drawn), and values as the module docstring says; with bias=False
    the problem has no biases.

    Raises InvalidArgument for an unknown cell, sizes ``strategies.dims`` refuses, a non-bool bias, or
    max_d, max_h above 5 (the bound on the pre-activations, module docstring, assumes D, H <= 5).
    """
    _check_cell(cell)
    _check_bool(bias, "bias")
    for name, value in dict(max_d=max_d, max_h=max_h).items():
        _check_int(value, name, minimum=1)
        if value > 5:
            raise InvalidArgument(f"{name} must be at most 5, so that no gate saturates, but got {name}={value!r}")
    return _cell_problems(cell, dims(max_n, 1, max_d, max_h), bias)


def _check_cell(cell: object) -> None:
    if cell not in GATE_COUNT:
        raise InvalidArgument(f"cell must be one of {', '.join(map(repr, GATE_COUNT))}, but got cell={cell!r}")


@st.composite
def _cell_problems(draw: st.DrawFn, cell: str, sizes: st.SearchStrategy[Dims], bias: bool) -> CellProblem:
    N, _, D, H = draw(sizes)
    if not in_simple_mode():
        return cell_problem_from_seed(cell, N, D, H, draw(SEEDS), bias)
    values, k, lstm = _Values(draw), GATE_COUNT[cell], cell == "LSTMCell"
    return CellProblem(
        cell, input=values.uniform((N, D)), h=values.uniform((N, H)), c=values.uniform((N, H)) if lstm else None,
        weight_ih=values.uniform((k * H, D)), weight_hh=values.uniform((k * H, H)),
        bias_ih=values.bias((k * H,), 0.5) if bias else None, bias_hh=values.bias((k * H,), 0.5) if bias else None,
        dh=values.uniform((N, H)), dc=values.uniform((N, H)) if lstm else None)


def cell_problem_from_seed(cell: str, N: int, D: int, H: int, seed: int, bias: bool = True) -> CellProblem:
    """The distribution of ``cell_problems`` for fixed sizes, made by ``np.random.default_rng(seed)``: the same
    seed gives the same problem. For explicit examples (the degenerate N = D = H = 1).

    Raises InvalidArgument for an unknown cell or sizes below 1."""
    _check_cell(cell)
    for name, value in dict(N=N, D=D, H=H).items():
        _check_int(value, name, minimum=1)
    rng, k, lstm = np.random.default_rng(seed), GATE_COUNT[cell], cell == "LSTMCell"
    input_, h = _uniform(rng, (N, D)), _uniform(rng, (N, H))
    c = _uniform(rng, (N, H)) if lstm else None
    weight_ih, weight_hh = _uniform(rng, (k * H, D), 1 / math.sqrt(D)), _uniform(rng, (k * H, H), 1 / math.sqrt(H))
    bias_ih, bias_hh = _uniform(rng, (k * H,), 0.5), _uniform(rng, (k * H,), 0.5)
    dh, dc = _uniform(rng, (N, H)), (_uniform(rng, (N, H)) if lstm else None)
    return CellProblem(cell, input_, h, c, weight_ih, weight_hh, bias_ih if bias else None,
                       bias_hh if bias else None, dh, dc)


def torch_gate_block(k: int, H: int) -> slice:
    """The rows of torch.nn.LSTMCell's gate block k (0 = i, 1 = f, 2 = g, 3 = o) of a (4H, …) weight or bias."""
    return slice(k * H, (k + 1) * H)


def cs231n_gate_order(p: CellProblem) -> CellProblem:
    """The LSTM problem with the g and o blocks of every weight and bias swapped: torch.nn's cell given these
    computes what a cell reading the blocks in CS231n's order i, f, o, g computes with ``p``'s."""
    H = p.h.shape[1]
    order = np.r_[torch_gate_block(0, H), torch_gate_block(1, H), torch_gate_block(3, H), torch_gate_block(2, H)]
    swapped = {name: value[order] for name, value in p.params.items()}
    return p._replace(**swapped)


#: N = D = H = 1, which every cell check also runs: a squeezed (H,) output or a (1, kH) bias breaks here.
DEGENERATE_RNN_CELL = cell_problem_from_seed("RNNCell", 1, 1, 1, seed=1)
DEGENERATE_LSTM_CELL = cell_problem_from_seed("LSTMCell", 1, 1, 1, seed=1)
#: N = 2, D = 3, H = 2: a weight used untransposed fails here whatever Hypothesis draws.
OBLONG_RNN_CELL = cell_problem_from_seed("RNNCell", 2, 3, 2, seed=2)
OBLONG_LSTM_CELL = cell_problem_from_seed("LSTMCell", 2, 3, 2, seed=2)
