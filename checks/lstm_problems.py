"""Hypothesis strategies for the LSTM checks (checks/lstm.py), in the style of checks/strategies.py.

An LSTM problem is the input of lstm_forward, a cell state for one step, and upstream gradients:

    x (N, T, D), h0 (N, H), prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,), dh (N, T, H), dnext_c (N, H)

Every weight and bias is four blocks of H columns, in the order i, f, o, g (reference/lstm.py).
One step's problem is the sequence's first step: x[:, 0], prev_h = h0, prev_c, and the upstream
gradients dnext_h = dh[:, 0] and dnext_c. lstm_forward takes no prev_c: its c0 is zero.

Values, as strategies.py's RNN problems (one drawn seed, numpy's default_rng): x, h0, prev_c, dh and
dnext_c in [-1, 1]; Wx in [-1, 1]/sqrt(D), Wh in [-1, 1]/sqrt(H); b in [-0.5, 0.5]. Since every hidden
state is o ⊙ tanh(c), inside (-1, 1), every pre-activation is then within sqrt(D) + sqrt(H) + 0.5 <= 5
of its bias block's value (D, H <= 5): no gate is saturated (σ'(a) >= σ'(5) ≈ 0.007, 1 - g² >= 1.8e-4),
so a wrong gate derivative is never multiplied away. In simple-value mode (``strategies.simple_values``)
every entry is drawn through Hypothesis from halves instead, b from {-0.5, 0, 0.5}, without the
1/sqrt scales: pre-activations are then within D + H + 0.5 of the bias.

Saturated gates (``gates=``), for the checks of what gating is for. GATE_SATURATION = 100 is far past
the 36.74 beyond which σ(a) rounds to exactly 1.0 in float64 (exp(-a) < 2**-53, half an ulp of 1), and
σ(-a) is below 1e-16 there; the rest of each pre-activation is at most D + H + 0.5, which the strategy
keeps below 60 (max_d + max_h <= 59), so a gate set to ±GATE_SATURATION is at least 40 from zero:

- ``"hold"``: b_i = -100 (input gate shut, i < 1e-17) and b_f = +100 (forget gate open, f == 1.0):
  one step keeps its cell, next_c == prev_c, up to i·g < 1e-17 (below rounding unless |prev_c| < 0.04).
- ``"memory"``: also b_o = +100 (output gate open, o == 1.0), the first input feature a write flag
  (x[:, 0, 0] = 1, x[:, t, 0] = 0 for t >= 1) with Wx[0, :H] = 200, so the input gate is open
  (i == 1.0) at the first step only, and dh is zero except at the last step. From c0 = 0 the cell
  is written once, c_1 = g_1, then held: every h_t = tanh(c_1), and the gradient of the last step
  reaches the first through the cell unchanged (checks/lstm.py, the memory check). T >= 2.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from checks.strategies import SEEDS, Dims, _check_int, _uniform, _Values, dims, in_simple_mode

#: Order of the four gate blocks of Wx, Wh, b and every (N, 4H) pre-activation, as CS231n writes them.
GATE_ORDER = ("i", "f", "o", "g")
#: The bias of a saturated gate block: σ(±(100 - 60)) is 1.0 or < 1e-17 in float64.
GATE_SATURATION = 100.0
#: The largest D + H whose unsaturated part of a pre-activation (at most D + H + 0.5) stays below 60.
SATURATION_SIZE_LIMIT = 59
GATE_MODES = ("free", "hold", "memory")


class LSTMProblem(NamedTuple):
    """Inputs of lstm_forward (x, h0, Wx, Wh, b), the step's cell state prev_c (N, H), and upstream
    gradients dh (N, T, H) and dnext_c (N, H)."""

    x: np.ndarray
    h0: np.ndarray
    prev_c: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    b: np.ndarray
    dh: np.ndarray
    dnext_c: np.ndarray

    @property
    def dims(self) -> Dims:
        N, T, D = self.x.shape
        return Dims(N, T, D, self.h0.shape[1])

    @property
    def sequence_inputs(self) -> dict[str, np.ndarray]:
        """lstm_forward's arguments, by name, in call order."""
        return {"x": self.x, "h0": self.h0, "Wx": self.Wx, "Wh": self.Wh, "b": self.b}

    def step_inputs(self, t: int = 0) -> dict[str, np.ndarray]:
        """lstm_step_forward's arguments at step t (x[:, t], prev_h = h0, prev_c), by name, in call order."""
        return {"x": self.x[:, t], "prev_h": self.h0, "prev_c": self.prev_c, "Wx": self.Wx, "Wh": self.Wh,
                "b": self.b}

    @property
    def step_upstream(self) -> tuple[np.ndarray, np.ndarray]:
        """(dnext_h, dnext_c) for one step: dh[:, 0] and dnext_c."""
        return self.dh[:, 0], self.dnext_c


def lstm_problems(
    max_n: int = 4,
    max_t: int = 6,
    max_d: int = 5,
    max_h: int = 5,
    min_t: int = 1,
    gates: str = "free",
) -> st.SearchStrategy[LSTMProblem]:
    """An LSTMProblem with sizes from ``dims(max_n, max_t, max_d, max_h, min_t)`` (D = H and D ≠ H both
    drawn) and values from ``lstm_problem_from_seed`` with a drawn seed: x (N, T, D), h0, prev_c (N, H),
    dh (N, T, H) and dnext_c (N, H) in [-1, 1]; Wx (D, 4H) in [-1, 1]/sqrt(D), Wh (H, 4H) in
    [-1, 1]/sqrt(H); b (4H,) in [-0.5, 0.5]. ``gates`` = "hold" or "memory" then saturates gates as the
    module docstring says.

    Raises InvalidArgument for sizes that ``dims`` refuses, a ``gates`` not in GATE_MODES, saturated gates
    with max_d + max_h > SATURATION_SIZE_LIMIT (a gate might not saturate), or "memory" with min_t < 2.
    """
    sizes = dims(max_n, max_t, max_d, max_h, min_t)
    _check_gates(gates, max_d, max_h, min_t)
    return _lstm_problems(sizes, gates)


def memory_problems(
    max_n: int = 3,
    min_t: int = 20,
    max_t: int = 30,
    max_d: int = 4,
    max_h: int = 4,
) -> st.SearchStrategy[LSTMProblem]:
    """``lstm_problems(..., gates="memory")`` with long sequences, min_t <= T <= max_t (20 … 30 steps by
    default): the cell is written at the first step and held to the last, where alone dh is nonzero.

    Raises InvalidArgument as ``lstm_problems`` does."""
    return lstm_problems(max_n=max_n, max_t=max_t, max_d=max_d, max_h=max_h, min_t=min_t, gates="memory")


def _check_gates(gates: object, max_d: int, max_h: int, min_t: int) -> None:
    if gates not in GATE_MODES:
        raise InvalidArgument(f"gates must be one of {', '.join(map(repr, GATE_MODES))}, but got gates={gates!r}")
    if gates != "free" and max_d + max_h > SATURATION_SIZE_LIMIT:
        raise InvalidArgument(f"saturated gates need max_d + max_h <= {SATURATION_SIZE_LIMIT}, so that "
                              f"±{GATE_SATURATION:g} saturates every gate, but got max_d={max_d!r}, max_h={max_h!r}")
    if gates == "memory" and min_t < 2:
        raise InvalidArgument(f"gates='memory' writes the cell at the first step and reads it later: it needs "
                              f"min_t >= 2, but got min_t={min_t!r}")


@st.composite
def _lstm_problems(draw: st.DrawFn, sizes: st.SearchStrategy[Dims], gates: str) -> LSTMProblem:
    if not in_simple_mode():
        return lstm_problem_from_seed(draw(sizes), draw(SEEDS), gates)
    N, T, D, H = draw(sizes)
    values = _Values(draw)
    p = LSTMProblem(x=values.uniform((N, T, D)), h0=values.uniform((N, H)), prev_c=values.uniform((N, H)),
                    Wx=values.uniform((D, 4 * H)), Wh=values.uniform((H, 4 * H)), b=values.bias((4 * H,), 0.5),
                    dh=values.uniform((N, T, H)), dnext_c=values.uniform((N, H)))
    return saturated(p, gates)


def lstm_problem_from_seed(dims: Dims, seed: int, gates: str = "free") -> LSTMProblem:
    """The distribution of ``lstm_problems`` for fixed sizes, made by ``np.random.default_rng(seed)``:
    the same seed gives the same problem, and numpy's global random state is never used. For explicit
    examples (the degenerate N = T = D = H = 1).

    Raises InvalidArgument for sizes below 1 or a ``gates`` that ``lstm_problems`` refuses."""
    N, T, D, H = dims
    for name, value in dict(N=N, T=T, D=D, H=H).items():
        _check_int(value, name, minimum=1)
    _check_gates(gates, D, H, T)
    rng = np.random.default_rng(seed)
    p = LSTMProblem(x=_uniform(rng, (N, T, D)), h0=_uniform(rng, (N, H)), prev_c=_uniform(rng, (N, H)),
                    Wx=_uniform(rng, (D, 4 * H), 1 / math.sqrt(D)), Wh=_uniform(rng, (H, 4 * H), 1 / math.sqrt(H)),
                    b=_uniform(rng, (4 * H,), 0.5), dh=_uniform(rng, (N, T, H)), dnext_c=_uniform(rng, (N, H)))
    return saturated(p, gates)


def gate_block(k: int, H: int) -> slice:
    """The columns of gate block k (0 = i, 1 = f, 2 = o, 3 = g) of an (…, 4H) array."""
    return slice(k * H, (k + 1) * H)


def saturated(p: LSTMProblem, gates: str) -> LSTMProblem:
    """``p`` with its gates saturated as ``gates`` says (module docstring); new arrays, ``p`` is left alone."""
    if gates == "free":
        return p
    H = p.h0.shape[1]
    i, f, o, _ = (gate_block(k, H) for k in range(4))
    b = p.b.copy()
    b[i], b[f] = -GATE_SATURATION, GATE_SATURATION
    if gates == "hold":
        return p._replace(b=b)
    b[o] = GATE_SATURATION
    x, Wx, dh = p.x.copy(), p.Wx.copy(), np.zeros_like(p.dh)
    x[:, :, 0] = 0.0
    x[:, 0, 0] = 1.0  # the write flag: opens the input gate at the first step only
    Wx[0, i] = 2 * GATE_SATURATION
    dh[:, -1] = p.dh[:, -1]
    return p._replace(x=x, Wx=Wx, b=b, dh=dh)


#: N = T = D = H = 1, which every LSTM check also runs: np.squeeze and (1, 4H) biases break here.
DEGENERATE_LSTM = lstm_problem_from_seed(Dims(N=1, T=1, D=1, H=1), seed=1)
#: The degenerate step with the input gate shut and the forget gate open.
DEGENERATE_HOLD = lstm_problem_from_seed(Dims(N=1, T=1, D=1, H=1), seed=1, gates="hold")
#: The shortest memory: N = D = H = 1, written at the first of two steps and read at the second.
DEGENERATE_MEMORY = lstm_problem_from_seed(Dims(N=1, T=2, D=1, H=1), seed=1, gates="memory")
