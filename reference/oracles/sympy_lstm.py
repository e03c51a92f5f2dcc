"""Gradient oracle: the LSTM unrolled into explicit scalar formulas and differentiated
symbolically by SymPy, as sympy_rnn does for the vanilla RNN.

Every entry of every argument is its own real ``sympy.Symbol``. The forward pass is
written once, with ``sympy.Matrix`` products, for a fixed shape, in CS231n's gate order
i, f, o, g:

    a = x·Wx + prev_h·Wh + b                     (N, 4H)
    i = σ(a_i)  f = σ(a_f)  o = σ(a_o)  g = tanh(a_g),   σ(u) = 1 / (1 + exp(-u))
    next_c = f ⊙ prev_c + i ⊙ g,   next_h = o ⊙ tanh(next_c)

and reduced to one scalar,

    step:      L = ⟨next_h, dnext_h⟩ + ⟨next_c, dnext_c⟩        (upstream symbolic too)
    sequence:  L = Σ_t ⟨h_t, dh_t⟩, from c0 = 0

whose partial derivative with respect to each input symbol (``sympy.diff``) is what
the backward pass must return. No chain rule is written by hand and no derivative
identity (σ' = σ(1 - σ), tanh' = 1 - tanh²) is used: SymPy differentiates exp and tanh
itself, so the oracle is independent of reference/lstm.py and of autograd_lstm.

Domain: the compiled formula evaluates exp(-a) for every gate pre-activation, so
every a must be above about -709; the public functions raise ValueError rather than
return inf or nan outside it. With O(1) inputs this is never near.

Cost: the step formula is cheap at the shapes the tests use (``lstm_step`` with N, D,
H ≤ 2 derives in about a second). The sequence formula grows geometrically with T,
faster than the RNN's (each h_t holds h_{t-1} 4H times and c_{t-1} twice);
``sympy_lstm_affordable`` names the shapes that stay within a few seconds.

Caching is sympy_cache's: per (kind, shape) in memory for the life of the process, and
on disk as the generated source, in sympy_cache.cache_dir(), under keys of their own
(``lstm_step-…``, ``lstm-…``) with this module's DERIVATION_VERSION, written
atomically under a lock so that parallel workers derive each formula once.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from reference.oracles.sympy_cache import (
    CacheStats,
    as_float_arrays,
    compiled_formula,
    lambdify_source,
    symbol_array,
    sympy_version,
)

if TYPE_CHECKING:  # pragma: no cover - typing only; sympy is imported lazily
    import sympy

# Part of every disk-cache key of this module: bump when the derivation changes.
DERIVATION_VERSION = 1

LSTM_STEP_ARGS = ("x", "prev_h", "prev_c", "Wx", "Wh", "b")
LSTM_ARGS = ("x", "h0", "Wx", "Wh", "b")

StepShape = tuple[int, int, int]  # (N, D, H)
SequenceShape = tuple[int, int, int, int]  # (N, T, D, H)


def sympy_lstm_affordable(N: int, T: int, D: int, H: int) -> bool:
    """Whether the sequence formula derives in at most about 4 s (cold, SymPy 1.14, one
    core of a 2-core machine) for (N, T, D, H). Measured: T = 1 with N, D, H ≤ 2
    (≤ 0.5 s); T = 2 with H = 1 and N, D ≤ 2 (≤ 2 s) or N = D = 1, H = 2 (3.9 s);
    T = 3 with N = D = H = 1 (4 s). Beyond them the cost grows fast: (1, 2, 2, 2)
    takes 5 s and (2, 2, 2, 2) 10 s. Larger shapes work, only slowly."""
    if min(N, T, D, H) < 1:
        return False
    if T == 1:
        return N <= 2 and D <= 2 and H <= 2
    if T == 2:
        return (H == 1 and N <= 2 and D <= 2) or (N == D == 1 and H == 2)
    return T == 3 and N == D == H == 1


# --------------------------------------------------------------------------------------
# Symbolic derivation (SymPy is imported here only)
# --------------------------------------------------------------------------------------


def _symbolic_step(x, prev_h, prev_c, Wx, Wh, b) -> tuple[sympy.Matrix, sympy.Matrix]:
    """(next_h, next_c) as SymPy matrices of shape (N, H).

    Inputs: SymPy matrices x (N, D), prev_h (N, H), prev_c (N, H), Wx (D, 4H),
    Wh (H, 4H), and b a row matrix (1, 4H).
    """
    import sympy as sp

    N, H = prev_h.shape
    a = x * Wx + prev_h * Wh + sp.ones(N, 1) * b  # b broadcast over the batch

    def sigma(u: sympy.Expr) -> sympy.Expr:
        return 1 / (1 + sp.exp(-u))

    i = a[:, 0:H].applyfunc(sigma)
    f = a[:, H:2 * H].applyfunc(sigma)
    o = a[:, 2 * H:3 * H].applyfunc(sigma)
    g = a[:, 3 * H:4 * H].applyfunc(sp.tanh)
    next_c = f.multiply_elementwise(prev_c) + i.multiply_elementwise(g)
    next_h = o.multiply_elementwise(next_c.applyfunc(sp.tanh))
    return next_h, next_c


def symbolic_lstm_step_scalars(x, prev_h, prev_c, Wx, Wh, b) -> tuple[sympy.Expr, sympy.Expr]:
    """(next_h, next_c) of one step at N = D = H = 1 as SymPy expressions of scalar symbols.

    Inputs: SymPy scalars x, prev_h, prev_c, and sequences Wx, Wh, b of four scalars each,
    one per gate in CS231n's block order i, f, o, g (Wx[k] = Wx[0, k], b[k] = b[k]).
    """
    import sympy as sp

    next_h, next_c = _symbolic_step(sp.Matrix([[x]]), sp.Matrix([[prev_h]]), sp.Matrix([[prev_c]]),
                                    sp.Matrix([list(Wx)]), sp.Matrix([list(Wh)]), sp.Matrix([list(b)]))
    return next_h[0, 0], next_c[0, 0]


def _derive_step_source(shape: StepShape) -> str:
    """Source of f(x, prev_h, prev_c, Wx, Wh, b, dnext_h, dnext_c) -> [∂L/∂x…,
    ∂L/∂prev_h…, ∂L/∂prev_c…, ∂L/∂Wx…, ∂L/∂Wh…, ∂L/∂b…], every argument and result
    flattened row-major, L = ⟨next_h, dnext_h⟩ + ⟨next_c, dnext_c⟩."""
    import sympy as sp

    N, D, H = shape
    x, prev_h, prev_c = (symbol_array("x", (N, D)), symbol_array("prev_h", (N, H)),
                         symbol_array("prev_c", (N, H)))
    Wx, Wh, b = (symbol_array("Wx", (D, 4 * H)), symbol_array("Wh", (H, 4 * H)),
                 symbol_array("b", (4 * H,)))
    dnext_h, dnext_c = symbol_array("dnext_h", (N, H)), symbol_array("dnext_c", (N, H))

    M = sp.Matrix
    next_h, next_c = _symbolic_step(M(x.tolist()), M(prev_h.tolist()), M(prev_c.tolist()),
                                    M(Wx.tolist()), M(Wh.tolist()), M([b.tolist()]))
    L = sp.Add(*[next_h[n, j] * dnext_h[n, j] + next_c[n, j] * dnext_c[n, j]
                 for n in range(N) for j in range(H)])
    wrt = [*x.ravel(), *prev_h.ravel(), *prev_c.ravel(), *Wx.ravel(), *Wh.ravel(), *b.ravel()]
    grads = [sp.diff(L, s) for s in wrt]
    return lambdify_source([x, prev_h, prev_c, Wx, Wh, b, dnext_h, dnext_c], grads)


def _derive_sequence_source(shape: SequenceShape) -> str:
    """Source of f(x, h0, Wx, Wh, b, dh) -> [∂L/∂x…, ∂L/∂h0…, ∂L/∂Wx…, ∂L/∂Wh…,
    ∂L/∂b…], L = Σ_t ⟨h_t, dh_t⟩ with h from c0 = 0, flattened row-major."""
    import sympy as sp

    N, T, D, H = shape
    x, h0 = symbol_array("x", (N, T, D)), symbol_array("h0", (N, H))
    Wx, Wh, b = (symbol_array("Wx", (D, 4 * H)), symbol_array("Wh", (H, 4 * H)),
                 symbol_array("b", (4 * H,)))
    dh = symbol_array("dh", (N, T, H))

    M = sp.Matrix
    Wx_m, Wh_m, b_m = M(Wx.tolist()), M(Wh.tolist()), M([b.tolist()])
    h, c = M(h0.tolist()), sp.zeros(N, H)  # c0 = 0, a constant
    terms = []
    for t in range(T):
        h, c = _symbolic_step(M(x[:, t, :].tolist()), h, c, Wx_m, Wh_m, b_m)
        terms += [h[n, j] * dh[n, t, j] for n in range(N) for j in range(H)]
    L = sp.Add(*terms)
    wrt = [*x.ravel(), *h0.ravel(), *Wx.ravel(), *Wh.ravel(), *b.ravel()]
    grads = [sp.diff(L, s) for s in wrt]
    return lambdify_source([x, h0, Wx, Wh, b, dh], grads)


_DERIVERS: dict[str, Callable[[tuple[int, ...]], str]] = {
    "lstm_step": _derive_step_source,
    "lstm": _derive_sequence_source,
}


# --------------------------------------------------------------------------------------
# Compiled-function cache: memory, then disk, then derive
# --------------------------------------------------------------------------------------

CACHE_STATS = CacheStats()


def cache_stats() -> dict[str, int]:
    """Counts, in this process, of LSTM formulas derived by SymPy and loaded from disk."""
    return CACHE_STATS()


def _cache_key(kind: str, shape: tuple[int, ...]) -> str:
    dims = "-".join(f"{name}{size}" for name, size in
                    zip("NDH" if kind == "lstm_step" else "NTDH", shape))
    return f"{kind}-{dims}-sympy{sympy_version()}-v{DERIVATION_VERSION}"


@functools.lru_cache(maxsize=None)
def _compiled(kind: str, shape: tuple[int, ...]) -> Callable[..., list]:
    """The compiled formula for (kind, shape): from disk if present, else derived."""
    return compiled_formula(_cache_key(kind, shape), lambda: _DERIVERS[kind](shape),
                            CACHE_STATS)


# --------------------------------------------------------------------------------------
# Public oracles
# --------------------------------------------------------------------------------------


def _evaluate(kind: str, shape: tuple[int, ...], args: dict[str, np.ndarray],
              shapes: dict[str, tuple[int, ...]], names: tuple[str, ...]) -> dict:
    """Run the compiled formula and cut its flat result into arrays named `names`."""
    f = _compiled(kind, shape)
    with np.errstate(over="ignore", invalid="ignore"):  # reported below as a domain error
        flat = np.asarray(f(*[args[name].ravel().tolist() for name in shapes]),
                          dtype=np.float64)
    if not np.all(np.isfinite(flat)):
        raise ValueError("SymPy LSTM oracle is outside its domain: a gate pre-activation "
                         "below about -709 makes exp(-a) overflow")
    out, start = {}, 0
    for name in names:
        size = math.prod(shapes[name])
        out[name] = flat[start:start + size].reshape(shapes[name]).copy()
        start += size
    return out


def sympy_lstm_step_gradients(
    x: np.ndarray, prev_h: np.ndarray, prev_c: np.ndarray,
    Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
    dnext_h: np.ndarray, dnext_c: np.ndarray,
) -> dict[str, np.ndarray]:
    """Gradients of L = ⟨next_h, dnext_h⟩ + ⟨next_c, dnext_c⟩ for one LSTM step, by
    symbolic differentiation: what lstm_step_backward(dnext_h, dnext_c, cache) must
    return.

    Inputs:
    - x: Input data, of shape (N, D)
    - prev_h, prev_c: Previous hidden and cell states, each of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, 4H)
    - Wh: Hidden-to-hidden weights, of shape (H, 4H)
    - b: Biases, of shape (4H,)
    - dnext_h, dnext_c: Upstream gradients of next_h and next_c, each of shape (N, H)

    Returns:
    - grads: dict of new float64 arrays keyed "x", "prev_h", "prev_c", "Wx", "Wh", "b",
      each of the shape of the argument of the same name
    """
    x, prev_h = np.asarray(x, dtype=np.float64), np.asarray(prev_h, dtype=np.float64)
    if x.ndim != 2 or prev_h.ndim != 2 or min(*x.shape, *prev_h.shape) < 1:
        raise ValueError(f"x must be (N, D) and prev_h (N, H), got {x.shape} and {prev_h.shape}")
    (N, D), H = x.shape, prev_h.shape[1]
    shapes = {"x": (N, D), "prev_h": (N, H), "prev_c": (N, H), "Wx": (D, 4 * H),
              "Wh": (H, 4 * H), "b": (4 * H,), "dnext_h": (N, H), "dnext_c": (N, H)}
    args = as_float_arrays(dict(x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, b=b,
                            dnext_h=dnext_h, dnext_c=dnext_c), shapes)
    return _evaluate("lstm_step", (N, D, H), args, shapes, LSTM_STEP_ARGS)


def sympy_lstm_gradients(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
    dh: np.ndarray,
) -> dict[str, np.ndarray]:
    """Gradients of L = Σ_t ⟨h_t, dh_t⟩ for h = lstm_forward(x, h0, Wx, Wh, b) (c0 = 0),
    by symbolic differentiation of the unrolled sequence: what lstm_backward(dh, cache)
    must return. Slow beyond sympy_lstm_affordable's shapes.

    Inputs:
    - x: Input data, of shape (N, T, D), T >= 1
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, 4H)
    - Wh: Hidden-to-hidden weights, of shape (H, 4H)
    - b: Biases, of shape (4H,)
    - dh: Upstream gradients of h_1 … h_T, of shape (N, T, H)

    Returns:
    - grads: dict of new float64 arrays keyed "x", "h0", "Wx", "Wh", "b"
    """
    x, h0 = np.asarray(x, dtype=np.float64), np.asarray(h0, dtype=np.float64)
    if x.ndim != 3 or h0.ndim != 2 or min(*x.shape, *h0.shape) < 1:
        raise ValueError(f"x must be (N, T, D) and h0 (N, H) with every size >= 1, "
                         f"got {x.shape} and {h0.shape}")
    (N, T, D), H = x.shape, h0.shape[1]
    shapes = {"x": (N, T, D), "h0": (N, H), "Wx": (D, 4 * H), "Wh": (H, 4 * H),
              "b": (4 * H,), "dh": (N, T, H)}
    args = as_float_arrays(dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b, dh=dh), shapes)
    return _evaluate("lstm", (N, T, D, H), args, shapes, LSTM_ARGS)
