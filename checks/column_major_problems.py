"""Hypothesis strategies for deeplearning.ai's column-major checks (checks/dlai.py).

A column-major problem is the input of the course's rnn_forward or lstm_forward, one step's cell state, and
upstream gradients, in the course's letters (n_x input features, n_a hidden units, n_y outputs, m examples,
T_x steps):

    x (n_x, m, T_x), a0 (n_a, m), c_prev (n_a, m), parameters (a dict), da (n_a, m, T_x), dc_next (n_a, m)

The parameters are the RNN's Wax (n_a, n_x), Waa (n_a, n_a), Wya (n_y, n_a), ba (n_a, 1), by (n_y, 1), or the
LSTM's Wf, Wi, Wc, Wo (n_a, n_a + n_x), bf, bi, bc, bo (n_a, 1), Wy (n_y, n_a), by (n_y, 1). One step's problem
is the sequence's first: xt = x[:, :, 0], a_prev = a0, c_prev, and the upstream da_next = da[:, :, 0], dc_next.

Values, from one drawn seed through numpy's default_rng: x, a0, c_prev, da and dc_next uniform in [-1, 1]; every
weight matrix uniform in [-1, 1]/sqrt(its number of columns); every bias in [-0.5, 0.5]. Every hidden state is in
(-1, 1), so a pre-activation is within sqrt(n_a + n_x) + 0.5 <= 3.5 of its bias (n_a, n_x <= 5): no gate is
saturated, and a wrong derivative is never multiplied away.

Saturated gates (``gates="hold"``, the LSTM only): bf = +HOLD_BIAS and bi = -HOLD_BIAS. HOLD_BIAS = 100 is far
past the 36.7 beyond which σ rounds to exactly 1.0 in float64, while the rest of a pre-activation is below 3.5:
ft == 1.0 and it < 1e-41, so one step keeps its cell, c_next == c_prev up to it·cct.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

CELLS = ("rnn", "lstm")
GATE_MODES = ("free", "hold")
HOLD_BIAS = 100.0
MAX_SIZE = 5  # n_x, n_a, n_y at most: the bound of the module docstring's pre-activations
SEEDS = st.integers(0, 2**32 - 1)


class ColumnProblem(NamedTuple):
    """Inputs of the course's rnn_forward or lstm_forward (x, a0, parameters), one step's c_prev, and upstream
    gradients da (n_a, m, T_x) and dc_next (n_a, m)."""

    cell: str
    x: np.ndarray
    a0: np.ndarray
    c_prev: np.ndarray
    parameters: dict[str, np.ndarray]
    da: np.ndarray
    dc_next: np.ndarray

    @property
    def sequence_args(self) -> tuple:
        """(x, a0, parameters): rnn_forward's or lstm_forward's arguments."""
        return self.x, self.a0, self.parameters

    def step_args(self, t: int = 0, a_prev: np.ndarray | None = None, c_prev: np.ndarray | None = None) -> tuple:
        """The cell forward's arguments at step t: (xt, a_prev, parameters) for the RNN, (xt, a_prev, c_prev,
        parameters) for the LSTM; a_prev = a0 and c_prev = the problem's c_prev unless given."""
        a_prev = self.a0 if a_prev is None else a_prev
        if self.cell == "rnn":
            return self.x[:, :, t], a_prev, self.parameters
        return self.x[:, :, t], a_prev, self.c_prev if c_prev is None else c_prev, self.parameters

    @property
    def step_upstream(self) -> tuple[np.ndarray, ...]:
        """(da_next,) for the RNN's step, (da_next, dc_next) for the LSTM's: da[:, :, 0] and dc_next."""
        return (self.da[:, :, 0],) if self.cell == "rnn" else (self.da[:, :, 0], self.dc_next)

    @property
    def sizes(self) -> str:
        """'n_x=2, n_a=3, n_y=2, m=1, T_x=4', for messages."""
        n_x, m, T_x = self.x.shape
        n_y = self.parameters["Wya" if self.cell == "rnn" else "Wy"].shape[0]
        return f"n_x={n_x}, n_a={self.a0.shape[0]}, n_y={n_y}, m={m}, T_x={T_x}"


def column_problems(cell: str = "rnn", max_m: int = 3, max_t: int = 5, max_x: int = 4, max_a: int = 4,
                    max_y: int = 4, min_t: int = 1, min_y: int = 1,
                    gates: str = "free") -> st.SearchStrategy[ColumnProblem]:
    """A ColumnProblem of ``cell`` ("rnn" or "lstm") with 1 <= m <= max_m, min_t <= T_x <= max_t,
    1 <= n_x <= max_x, 1 <= n_a <= max_a, min_y <= n_y <= max_y, values as the module docstring says from a drawn
    seed; ``gates="hold"`` (LSTM only) saturates ft = 1 and it = 0.

    Raises InvalidArgument, naming the value, for a cell not in CELLS, a size below 1 (or a min above its max),
    n_x or n_a or n_y above MAX_SIZE, or a gates mode the cell has not."""
    _check_cell(cell, gates)
    for name, value in dict(max_m=max_m, max_t=max_t, max_x=max_x, max_a=max_a, max_y=max_y, min_t=min_t,
                            min_y=min_y).items():
        if type(value) is not int or value < 1:
            raise InvalidArgument(f"{name} must be an int >= 1, but got {name}={value!r}")
    for name, value in dict(max_x=max_x, max_a=max_a, max_y=max_y).items():
        if value > MAX_SIZE:
            raise InvalidArgument(f"{name} must be <= {MAX_SIZE}, so that no gate saturates, but got {name}={value!r}")
    if min_t > max_t or min_y > max_y:
        raise InvalidArgument(f"need min_t <= max_t and min_y <= max_y, but got min_t={min_t!r}, max_t={max_t!r}, "
                              f"min_y={min_y!r}, max_y={max_y!r}")
    sizes = st.tuples(st.integers(1, max_x), st.integers(1, max_a), st.integers(min_y, max_y), st.integers(1, max_m),
                      st.integers(min_t, max_t))
    return st.builds(lambda s, seed: column_problem_from_seed(cell, s, seed, gates), sizes, SEEDS)


def _check_cell(cell: object, gates: object) -> None:
    if cell not in CELLS:
        raise InvalidArgument(f"cell must be one of {', '.join(map(repr, CELLS))}, but got cell={cell!r}")
    if gates not in GATE_MODES or (gates == "hold" and cell != "lstm"):
        raise InvalidArgument(f"gates must be 'free', or 'hold' for the LSTM, but got gates={gates!r} for {cell!r}")


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return rng.uniform(-scale, scale, size=shape)


def column_problem_from_seed(cell: str, sizes: tuple[int, int, int, int, int], seed: int,
                             gates: str = "free") -> ColumnProblem:
    """The distribution of ``column_problems`` for fixed sizes (n_x, n_a, n_y, m, T_x), made by
    ``np.random.default_rng(seed)``; numpy's global random state is never used. For explicit examples.

    Raises InvalidArgument for a size below 1 or above MAX_SIZE (n_x, n_a, n_y), or a cell or gates refused."""
    _check_cell(cell, gates)
    for name, value in zip(("n_x", "n_a", "n_y", "m", "T_x"), sizes):
        if type(value) is not int or value < 1 or (name in ("n_x", "n_a", "n_y") and value > MAX_SIZE):
            raise InvalidArgument(f"{name} must be an int from 1 (to {MAX_SIZE} for n_x, n_a, n_y), "
                                  f"but got {name}={value!r}")
    n_x, n_a, n_y, m, T_x = sizes
    rng = np.random.default_rng(seed)
    x, a0, c_prev = _uniform(rng, (n_x, m, T_x)), _uniform(rng, (n_a, m)), _uniform(rng, (n_a, m))
    da, dc_next = _uniform(rng, (n_a, m, T_x)), _uniform(rng, (n_a, m))
    if cell == "rnn":
        parameters = {"Wax": _uniform(rng, (n_a, n_x), 1 / math.sqrt(n_x)),
                      "Waa": _uniform(rng, (n_a, n_a), 1 / math.sqrt(n_a)),
                      "Wya": _uniform(rng, (n_y, n_a), 1 / math.sqrt(n_a)),
                      "ba": _uniform(rng, (n_a, 1), 0.5), "by": _uniform(rng, (n_y, 1), 0.5)}
    else:
        parameters = {}
        for k in "fico":
            parameters[f"W{k}"] = _uniform(rng, (n_a, n_a + n_x), 1 / math.sqrt(n_a + n_x))
            parameters[f"b{k}"] = _uniform(rng, (n_a, 1), 0.5)
        parameters["Wy"] = _uniform(rng, (n_y, n_a), 1 / math.sqrt(n_a))
        parameters["by"] = _uniform(rng, (n_y, 1), 0.5)
        if gates == "hold":
            parameters["bf"] = np.full((n_a, 1), HOLD_BIAS)
            parameters["bi"] = np.full((n_a, 1), -HOLD_BIAS)
    return ColumnProblem(cell, x, a0, c_prev, parameters, da, dc_next)


#: Every size 1, which every check also runs: np.squeeze and biases without keepdims break here.
DEGENERATE_RNN = column_problem_from_seed("rnn", (1, 1, 1, 1, 1), seed=1)
DEGENERATE_LSTM = column_problem_from_seed("lstm", (1, 1, 1, 1, 1), seed=1)
#: Two outputs and two examples: a softmax over the wrong axis shows (with n_y = 1 or m = 1 it may not).
SMALL_RNN = column_problem_from_seed("rnn", (2, 3, 2, 2, 3), seed=2)
SMALL_LSTM = column_problem_from_seed("lstm", (2, 3, 2, 2, 3), seed=2)
