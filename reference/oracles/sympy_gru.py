"""Gradient oracle: the GRU unrolled into explicit scalar formulas and differentiated
symbolically by SymPy.

Every entry of x, h0, Wx, Wh, bx, bh and dh is its own ``sympy.Symbol``. The forward
pass is torch.nn.GRU's, written once with ``sympy.Matrix`` products for a fixed shape
(N, T, D, H), in the row-vector convention and gate order r, z, n of reference/gru.py:

    r_t = σ(x_t·Wx_r + bx_r + h_{t-1}·Wh_r + bh_r)
    z_t = σ(x_t·Wx_z + bx_z + h_{t-1}·Wh_z + bh_z)
    n_t = tanh(x_t·Wx_n + bx_n + r_t ⊙ (h_{t-1}·Wh_n + bh_n))
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

with σ(a) written out as 1 / (1 + exp(-a)), and reduced to one scalar
L = Σ_t ⟨h_t, dh_t⟩ (dh symbolic too), whose partial derivative with respect to each
input symbol (``sympy.diff``) is the gradient a backward pass must return. No chain
rule is written by hand and no derivative identity (σ' = σ(1 - σ), tanh' = 1 - tanh²)
is used, so the oracle is independent of the reference and of ``autograd_gru``.

- ``sympy_gru_step_gradients``: one step (T = 1, h0 = prev_h), what
  gru_step_backward must return. This is the oracle the issue asks for.
- ``sympy_gru_gradients``: a short sequence, what gru_backward must return. The
  formula for h_T contains h_{T-1} about 4H times (in r, z, n and the skip path), so
  its cost grows much faster in T than the vanilla RNN's (two steps at
  N = D = H = 2 take 14 s, three steps at N = D = 1, H = 2 76 s);
  ``GRU_SYMPY_AFFORDABLE`` says which shapes are cheap.

Caching is sympy_cache's, as for sympy_rnn: each formula is compiled with
``sympy.lambdify(..., modules="numpy", cse=True)`` and kept in memory per shape and on
disk (same directory, ``$RNN_GRADE_CACHE_DIR`` else ``~/.cache/rnn-grade/sympy``,
same atomic writes, per-file lock and header check), under file names beginning with
``gru-`` and carrying this module's own ``DERIVATION_VERSION``, counted in
sympy_rnn's ``cache_stats`` (one count for both). SymPy is imported only when a formula
has to be derived.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from reference.oracles.sympy_cache import (
    as_float_arrays,
    compiled_formula,
    lambdify_source,
    split_flat,
    symbol_array,
    sympy_version,
)
from reference.oracles.sympy_rnn import CACHE_STATS

if TYPE_CHECKING:  # pragma: no cover - typing only; sympy is imported lazily
    import sympy

# Bump when the derivation below changes the generated code: it is part of every
# disk-cache key, so stale files are never loaded.
DERIVATION_VERSION = 1

GRU_ARGS = ("x", "h0", "Wx", "Wh", "bx", "bh")
GRU_STEP_ARGS = ("x", "prev_h", "Wx", "Wh", "bx", "bh")

Shape = tuple[int, int, int, int]  # (N, T, D, H)


@dataclass(frozen=True)
class AffordableShapes:
    """Which shapes the GRU SymPy oracle derives cheaply.

    Measured with SymPy 1.14 (CPU time of a cold derivation and compilation, one
    process): one step, (N, T, D, H) = (1, 1, 1, 1) 0.6 s and (2, 1, 2, 2) 1.0 s; two
    steps, (1, 2, 1, 2) 4.8 s but (2, 2, 2, 2) 14 s; three steps, (1, 3, 1, 2) 76 s.
    So: one step up to N = D = H = 2, and two steps only with N = D = 1, H <= 2.
    Loading a derived formula from the disk cache takes milliseconds.

    Callable: ``GRU_SYMPY_AFFORDABLE(N, T, D, H) -> bool``.
    """

    N: int = 2
    D: int = 2
    H: int = 2
    T: int = 2  # only with N = D = 1

    def __call__(self, N: int, T: int, D: int, H: int) -> bool:
        if not (1 <= N <= self.N and 1 <= D <= self.D and 1 <= H <= self.H):
            return False
        return T == 1 or (1 <= T <= self.T and N == 1 and D == 1)


GRU_SYMPY_AFFORDABLE = AffordableShapes()


# --------------------------------------------------------------------------------------
# Symbolic derivation (SymPy is imported here and nowhere else)
# --------------------------------------------------------------------------------------


def symbolic_gru_states(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
    bx: np.ndarray, bh: np.ndarray,
) -> list[sympy.Matrix]:
    """h_1 … h_T as SymPy matrices, from object arrays of symbols.

    Inputs:
    - x: Symbols of shape (N, T, D)
    - h0: Symbols of shape (N, H)
    - Wx: Symbols of shape (D, 3H), blocks r, z, n
    - Wh: Symbols of shape (H, 3H), blocks r, z, n
    - bx, bh: Symbols of shape (3H,)

    Returns:
    - states: List of T matrices, states[t] = h_{t+1} of shape (N, H)
    """
    import sympy as sp

    N, T, _ = x.shape
    H = h0.shape[1]

    def sigma(a):
        return 1 / (1 + sp.exp(-a))

    def block(W: np.ndarray, k: int) -> sympy.Matrix:  # columns of gate k (0 r, 1 z, 2 n)
        return sp.Matrix(W[:, k * H:(k + 1) * H].tolist())

    def bias_rows(b: np.ndarray, k: int) -> sympy.Matrix:  # bias of gate k, broadcast to (N, H)
        return sp.ones(N, 1) * sp.Matrix([b[k * H:(k + 1) * H].tolist()])

    Wx_r, Wx_z, Wx_n = (block(Wx, k) for k in range(3))
    Wh_r, Wh_z, Wh_n = (block(Wh, k) for k in range(3))
    bx_r, bx_z, bx_n = (bias_rows(bx, k) for k in range(3))
    bh_r, bh_z, bh_n = (bias_rows(bh, k) for k in range(3))

    h_prev = sp.Matrix(h0.tolist())
    states = []
    for t in range(T):
        x_t = sp.Matrix(x[:, t, :].tolist())
        r = (x_t * Wx_r + bx_r + h_prev * Wh_r + bh_r).applyfunc(sigma)
        z = (x_t * Wx_z + bx_z + h_prev * Wh_z + bh_z).applyfunc(sigma)
        n = (x_t * Wx_n + bx_n + r.multiply_elementwise(h_prev * Wh_n + bh_n)).applyfunc(sp.tanh)
        h_t = (sp.ones(N, H) - z).multiply_elementwise(n) + z.multiply_elementwise(h_prev)
        states.append(h_t)
        h_prev = h_t
    return states


def symbolic_gru_step_scalar(x, prev_h, Wx, Wh, bx, bh) -> sympy.Expr:
    """next_h of one step at N = D = H = 1 as a SymPy expression of scalar symbols.

    Inputs: SymPy scalars x, prev_h, and sequences Wx, Wh, bx, bh of three scalars each,
    one per gate in the order r, z, n (Wx[k] = Wx[0, k], bx[k] = bx[k]).
    """
    def row(values) -> np.ndarray:
        return np.array(list(values), dtype=object)

    states = symbolic_gru_states(np.array([[[x]]], dtype=object), np.array([[prev_h]], dtype=object),
                                 row(Wx).reshape(1, 3), row(Wh).reshape(1, 3), row(bx), row(bh))
    return states[0][0, 0]


def _derive_gru_source(shape: Shape) -> str:
    """Source of f(x, h0, Wx, Wh, bx, bh, dh) -> [∂L/∂x…, ∂L/∂h0…, ∂L/∂Wx…, ∂L/∂Wh…,
    ∂L/∂bx…, ∂L/∂bh…] with L = Σ_t ⟨h_t, dh_t⟩, every argument and result flattened
    row-major."""
    import sympy as sp

    N, T, D, H = shape
    x, h0 = symbol_array("x", (N, T, D)), symbol_array("h0", (N, H))
    Wx, Wh = symbol_array("Wx", (D, 3 * H)), symbol_array("Wh", (H, 3 * H))
    bx, bh = symbol_array("bx", (3 * H,)), symbol_array("bh", (3 * H,))
    dh = symbol_array("dh", (N, T, H))

    states = symbolic_gru_states(x, h0, Wx, Wh, bx, bh)
    L = sp.Add(*[states[t][n, j] * dh[n, t, j]
                 for t in range(T) for n in range(N) for j in range(H)])

    wrt = [*x.ravel(), *h0.ravel(), *Wx.ravel(), *Wh.ravel(), *bx.ravel(), *bh.ravel()]
    grads = [sp.diff(L, s) for s in wrt]
    return lambdify_source([x, h0, Wx, Wh, bx, bh, dh], grads)


# --------------------------------------------------------------------------------------
# Cache (sympy_cache's machinery, under gru- keys, counted in sympy_rnn's CACHE_STATS)
# --------------------------------------------------------------------------------------


def _cache_key(shape: Shape) -> str:
    N, T, D, H = shape
    return f"gru-N{N}-T{T}-D{D}-H{H}-sympy{sympy_version()}-v{DERIVATION_VERSION}"


@functools.lru_cache(maxsize=None)
def _compiled(shape: Shape) -> Callable[..., list]:
    """The compiled formula for shape: from disk if present, else derived."""
    return compiled_formula(_cache_key(shape), lambda: _derive_gru_source(shape), CACHE_STATS)


# --------------------------------------------------------------------------------------
# Public oracles
# --------------------------------------------------------------------------------------


def sympy_gru_gradients(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
    bx: np.ndarray, bh: np.ndarray, dh: np.ndarray,
) -> dict[str, np.ndarray]:
    """Gradients of L = Σ_t ⟨h_t, dh_t⟩ for h = gru_forward(x, h0, Wx, Wh, bx, bh), by
    symbolic differentiation: what gru_backward(dh, cache) must return.

    The first call for a shape derives and compiles the formula (seconds; see
    GRU_SYMPY_AFFORDABLE) unless the disk cache has it; later calls are fast.

    Inputs:
    - x: Input data, of shape (N, T, D), T >= 1
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, 3H)
    - Wh: Hidden-to-hidden weights, of shape (H, 3H)
    - bx, bh: Input-side and hidden-side biases, of shape (3H,)
    - dh: Upstream gradients of h_1 … h_T, of shape (N, T, H)

    Returns:
    - grads: dict of new float64 arrays keyed "x", "h0", "Wx", "Wh", "bx", "bh", each
      of the shape of the argument of the same name
    """
    x = np.asarray(x, dtype=np.float64)
    h0 = np.asarray(h0, dtype=np.float64)
    if x.ndim != 3 or h0.ndim != 2:
        raise ValueError(f"x must be (N, T, D) and h0 (N, H), got {x.shape} and {h0.shape}")
    (N, T, D), H = x.shape, h0.shape[1]
    shape = (int(N), int(T), int(D), int(H))
    if min(shape) < 1:
        raise ValueError(f"the SymPy oracle needs N, T, D, H >= 1, got {shape}")
    shapes = {"x": (N, T, D), "h0": (N, H), "Wx": (D, 3 * H), "Wh": (H, 3 * H),
              "bx": (3 * H,), "bh": (3 * H,), "dh": (N, T, H)}
    args = as_float_arrays(
        {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "bx": bx, "bh": bh, "dh": dh}, shapes)

    f = _compiled(shape)
    flat = np.asarray(f(*[args[name].ravel().tolist() for name in shapes]), dtype=np.float64)
    return split_flat(flat, {name: shapes[name] for name in GRU_ARGS})


def sympy_gru_step_gradients(
    x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
    bx: np.ndarray, bh: np.ndarray, dnext_h: np.ndarray,
) -> dict[str, np.ndarray]:
    """Gradients of L = ⟨next_h, dnext_h⟩ for next_h = gru_step_forward(x, prev_h, …),
    by symbolic differentiation: what gru_step_backward(dnext_h, cache) must return.

    Inputs:
    - x: Input data, of shape (N, D)
    - prev_h: Previous hidden state, of shape (N, H)
    - Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,): as gru_step_forward
    - dnext_h: Upstream gradient of next_h, of shape (N, H)

    Returns:
    - grads: dict of new float64 arrays keyed "x", "prev_h", "Wx", "Wh", "bx", "bh"
    """
    x = np.asarray(x, dtype=np.float64)
    dnext_h = np.asarray(dnext_h, dtype=np.float64)
    if x.ndim != 2 or dnext_h.ndim != 2:
        raise ValueError(f"x must be (N, D) and dnext_h (N, H), got {x.shape} and {dnext_h.shape}")
    grads = sympy_gru_gradients(x[:, None, :], prev_h, Wx, Wh, bx, bh, dnext_h[:, None, :])
    return dict(x=grads["x"][:, 0, :], prev_h=grads["h0"], Wx=grads["Wx"], Wh=grads["Wh"],
                bx=grads["bx"], bh=grads["bh"])
