"""Hypothesis strategies for the GRU checks (checks/gru.py), in the style of checks/strategies.py.

A GRU problem is the input of gru_forward and an upstream gradient:

    x (N, T, D), h0 (N, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,), dh (N, T, H)

Every weight and bias is three blocks of H columns, in the order r, z, n (reference/gru.py).
One step's problem is the sequence's first step: x[:, 0], prev_h = h0, dnext_h = dh[:, 0].

Values, as strategies.py's RNN problems (one drawn seed, numpy's default_rng): x, h0, dh in
[-1, 1]; Wx in [-1, 1]/sqrt(D), Wh in [-1, 1]/sqrt(H); bx, bh in [-0.5, 0.5]. Every
pre-activation is then within sqrt(D) + sqrt(H) + 1 <= 5.5 of zero (D, H <= 5), so no gate is
saturated: σ'(a) >= σ'(5.5) ≈ 0.004 and 1 - n² >= 1 - tanh²(5.5) ≈ 7e-5, and a wrong gate
derivative is never multiplied away. In simple-value mode (``strategies.simple_values``) every
entry is drawn through Hypothesis from halves instead, biases from {-0.5, 0, 0.5}.

``saturated_update=True`` sets the update gate's input bias bx_z (``bx[H:2H]``) to
SATURATED_UPDATE_BIAS = 100, in both modes: the z pre-activation is then at least 100 - 5.5
(100 - 13 in simple mode, where the 1/sqrt scales are left out and sizes stay <= 6), far above
the 36.74 past which σ rounds to exactly 1.0 in float64 (exp(-a) < 2**-53, half an ulp of 1).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st

from checks.strategies import (
    SEEDS,
    Dims,
    _check_bool,
    _uniform,
    _Values,
    dims,
    in_simple_mode,
)

#: bx_z of a saturated-update problem: σ(100 ± 13) is exactly 1.0 in float64.
SATURATED_UPDATE_BIAS = 100.0


class GRUProblem(NamedTuple):
    """Inputs of gru_forward (x, h0, Wx, Wh, bx, bh) and an upstream gradient dh (N, T, H)."""

    x: np.ndarray
    h0: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    bx: np.ndarray
    bh: np.ndarray
    dh: np.ndarray

    @property
    def dims(self) -> Dims:
        N, T, D = self.x.shape
        return Dims(N, T, D, self.h0.shape[1])

    @property
    def sequence_inputs(self) -> dict[str, np.ndarray]:
        """gru_forward's arguments, by name, in call order."""
        return {"x": self.x, "h0": self.h0, "Wx": self.Wx, "Wh": self.Wh, "bx": self.bx, "bh": self.bh}

    @property
    def step_inputs(self) -> dict[str, np.ndarray]:
        """gru_step_forward's arguments for the first step (x[:, 0], prev_h = h0), by name, in call order."""
        return {"x": self.x[:, 0], "prev_h": self.h0, "Wx": self.Wx, "Wh": self.Wh, "bx": self.bx, "bh": self.bh}


def gru_problems(
    max_n: int = 4,
    max_t: int = 6,
    max_d: int = 5,
    max_h: int = 5,
    min_t: int = 1,
    saturated_update: bool = False,
) -> st.SearchStrategy[GRUProblem]:
    """A GRUProblem with sizes from ``dims(max_n, max_t, max_d, max_h, min_t)`` (D = H and D ≠ H
    both drawn) and values from ``gru_problem_from_seed`` with a drawn seed: x (N, T, D), h0 (N, H)
    and dh (N, T, H) in [-1, 1]; Wx (D, 3H) in [-1, 1]/sqrt(D), Wh (H, 3H) in [-1, 1]/sqrt(H); bx and
    bh (3H,) in [-0.5, 0.5]. With saturated_update, bx[H:2H] (the update gate's bias) is
    SATURATED_UPDATE_BIAS = 100, so that z = σ(…) is exactly 1.0.

    Raises InvalidArgument for sizes that ``dims`` refuses, or a saturated_update that is not a bool.
    """
    _check_bool(saturated_update, "saturated_update")
    return _gru_problems(dims(max_n, max_t, max_d, max_h, min_t), saturated_update)


@st.composite
def _gru_problems(draw: st.DrawFn, sizes: st.SearchStrategy[Dims], saturated_update: bool) -> GRUProblem:
    if not in_simple_mode():
        return gru_problem_from_seed(draw(sizes), draw(SEEDS), saturated_update)
    N, T, D, H = draw(sizes)
    values = _Values(draw)
    p = GRUProblem(x=values.uniform((N, T, D)), h0=values.uniform((N, H)),
                   Wx=values.uniform((D, 3 * H)), Wh=values.uniform((H, 3 * H)),
                   bx=values.bias((3 * H,), 0.5), bh=values.bias((3 * H,), 0.5), dh=values.uniform((N, T, H)))
    return saturate_update_gate(p) if saturated_update else p


def gru_problem_from_seed(dims: Dims, seed: int, saturated_update: bool = False) -> GRUProblem:
    """The distribution of ``gru_problems`` for fixed sizes, made by ``np.random.default_rng(seed)``:
    the same seed gives the same problem, and numpy's global random state is never used. For explicit
    examples (the degenerate N = T = D = H = 1)."""
    N, T, D, H = dims
    rng = np.random.default_rng(seed)
    p = GRUProblem(x=_uniform(rng, (N, T, D)), h0=_uniform(rng, (N, H)),
                   Wx=_uniform(rng, (D, 3 * H), 1 / math.sqrt(D)), Wh=_uniform(rng, (H, 3 * H), 1 / math.sqrt(H)),
                   bx=_uniform(rng, (3 * H,), 0.5), bh=_uniform(rng, (3 * H,), 0.5), dh=_uniform(rng, (N, T, H)))
    return saturate_update_gate(p) if saturated_update else p


def saturate_update_gate(p: GRUProblem) -> GRUProblem:
    """``p`` with the update gate's input bias bx[H:2H] set to SATURATED_UPDATE_BIAS (a new bx)."""
    H = p.h0.shape[1]
    bx = p.bx.copy()
    bx[H:2 * H] = SATURATED_UPDATE_BIAS
    return p._replace(bx=bx)


#: N = T = D = H = 1, which every GRU check also runs: np.squeeze and (1, 3H) biases break here.
DEGENERATE_GRU = gru_problem_from_seed(Dims(N=1, T=1, D=1, H=1), seed=1)
DEGENERATE_SATURATED_GRU = gru_problem_from_seed(Dims(N=1, T=1, D=1, H=1), seed=1, saturated_update=True)
