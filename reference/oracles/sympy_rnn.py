"""Gradient oracle: the RNN unrolled into explicit scalar formulas and differentiated
symbolically by SymPy.

Every entry of x, h0, Wx, Wh, b (and dh, or W2, b2, y for the classifier) is its own
``sympy.Symbol``. The forward pass is written once, with ``sympy.Matrix`` products,
for a fixed shape (N, T, D, H):

    a_t = x_t·Wx + h_{t-1}·Wh + b        (pre-activation, (N, H))
    h_t = tanh(a_t)

and reduced to one scalar,

    RNN:        L = Σ_t ⟨h_t, dh_t⟩                       (dh is symbolic too)
    classifier: z = h_T·W2 + b2,  L = mean_n BCE(sigmoid(z_n), y_n)

whose partial derivative with respect to each input symbol (``sympy.diff``) is the
gradient a backward pass must return. Nothing here knows about backpropagation: no
chain rule is written by hand and no derivative identity (tanh' = 1 - tanh², BCE' =
sigmoid - y) is used, so the oracle is independent of the reference and of
``autograd_rnn``. (The one identity used, softplus(-z) = softplus(z) - z, only rewrites
the loss into a numerically stable form; identities.py proves it.)

Why scalar symbols and not ``MatrixSymbol``: SymPy's matrix calculus cannot
differentiate through the recurrence. With SymPy 1.14 and T = 2, differentiating
tr(h_2·dhᵀ) with respect to h0 raises ``ValueError: index is larger than expression
shape`` and the Wh gradient comes back as a malformed expression (it adds h0, an
(N, H) matrix, to an (H, H) one) instead of an error. Unrolled scalars are slow but
plainly correct.

Cost: the formula for h_T contains h_{T-1} H times, so the symbolic derivatives grow
geometrically with T (about 1.5-2x per step at N = D = H = 2). ``sympy_affordable``
says which shapes are cheap enough; bench/sympy_oracle.py measures them. Each derived
formula is compiled with ``sympy.lambdify(..., modules="numpy", cse=True)`` and cached
twice:

- in memory, per (kind, N, T, D, H), for the life of the process;
- on disk, as the generated Python source, by sympy_cache (``$RNN_GRADE_CACHE_DIR``,
  else ``~/.cache/rnn-grade/sympy``; atomic writes, a per-formula lock, a header
  check; see sympy_cache), so that another process (a second test run, a
  pytest-xdist worker) loads it without deriving again. Files are keyed by kind,
  shape, SymPy version and ``DERIVATION_VERSION``. The cache holds executable
  Python: it must be a directory only you can write.

SymPy itself is imported only when a formula has to be derived, so a warm process
never pays for importing it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from reference.oracles.sympy_cache import (
    CACHE_DIR_ENV,
    CacheStats,
    as_float_arrays,
    cache_dir,
    compiled_formula,
    lambdify_source,
    split_flat,
    symbol_array,
    sympy_version,
)

if TYPE_CHECKING:  # pragma: no cover - typing only; sympy is imported lazily
    import sympy

# Bump when the derivation below changes in a way that changes the generated code:
# it is part of every disk-cache key, so stale files are never loaded.
DERIVATION_VERSION = 1

__all__ = [  # CACHE_DIR_ENV and cache_dir are sympy_cache's, re-exported
    "CACHE_DIR_ENV", "CACHE_STATS", "CLASSIFIER_ARGS", "DERIVATION_VERSION", "RNN_ARGS",
    "SYMPY_AFFORDABLE", "AffordableShapes", "cache_dir", "cache_stats",
    "symbolic_states", "sympy_affordable", "sympy_classifier_gradients",
    "sympy_rnn_gradients",
]

RNN_ARGS = ("x", "h0", "Wx", "Wh", "b")
CLASSIFIER_ARGS = ("x", "h0", "Wx", "Wh", "b", "W2", "b2")

Shape = tuple[int, int, int, int]  # (N, T, D, H)


# --------------------------------------------------------------------------------------
# Which shapes are affordable
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AffordableShapes:
    """Largest shape, per dimension, for which the SymPy oracle is cheap.

    Measured with SymPy 1.14 (bench/sympy_oracle.py, CPU time of a cold process): the
    most expensive affordable shape, (N, T, D, H) = (2, 4, 2, 2), derives and compiles
    in ~2.5 s for the RNN gradients and ~5 s for the classifier; smaller shapes in
    0.5-2 s. The next shapes out cost about twice as much ((2, 5, 2, 2): 4.4 s / 9.3 s;
    (2, 3, 2, 3): 3.6 s / 8.7 s) and the cost keeps growing geometrically in T, too
    slow for a cold CI run that derives every drawn shape. Loading a derived formula
    from the disk cache takes 5-20 ms at any of these shapes.

    The instance is callable: ``SYMPY_AFFORDABLE(N, T, D, H) -> bool``. Strategies can
    read the limits (``SYMPY_AFFORDABLE.T`` …) to draw affordable shapes.
    """

    N: int = 2
    T: int = 4
    D: int = 2
    H: int = 2

    def __call__(self, N: int, T: int, D: int, H: int) -> bool:
        return 1 <= N <= self.N and 1 <= T <= self.T and 1 <= D <= self.D and 1 <= H <= self.H


SYMPY_AFFORDABLE = AffordableShapes()


def sympy_affordable(N: int, T: int, D: int, H: int) -> bool:
    """Whether the SymPy oracle is cheap enough for shape (N, T, D, H).

    True for 1 ≤ N ≤ 2, 1 ≤ T ≤ 4, 1 ≤ D ≤ 2, 1 ≤ H ≤ 2 (see ``AffordableShapes``).
    Larger shapes still work, only slowly: derivation time grows geometrically in T.
    """
    return SYMPY_AFFORDABLE(N, T, D, H)


# --------------------------------------------------------------------------------------
# Symbolic derivation (SymPy is imported here and nowhere else)
# --------------------------------------------------------------------------------------


def _symbolic_states(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> list[sympy.Matrix]:
    """h_1 … h_T as SymPy matrices, from symbol arrays.

    Inputs:
    - x: Symbols of shape (N, T, D)
    - h0: Symbols of shape (N, H)
    - Wx: Symbols of shape (D, H)
    - Wh: Symbols of shape (H, H)
    - b: Symbols of shape (H,)

    Returns:
    - states: List of T matrices, states[t] = h_{t+1} of shape (N, H)
    """
    import sympy as sp

    N, T, _ = x.shape
    Wx_m, Wh_m = sp.Matrix(Wx.tolist()), sp.Matrix(Wh.tolist())
    b_rows = sp.ones(N, 1) * sp.Matrix([b.tolist()])  # b broadcast over the batch, (N, H)
    h_prev = sp.Matrix(h0.tolist())
    states = []
    for t in range(T):
        x_t = sp.Matrix(x[:, t, :].tolist())
        a_t = x_t * Wx_m + h_prev * Wh_m + b_rows
        h_t = a_t.applyfunc(sp.tanh)
        states.append(h_t)
        h_prev = h_t
    return states


def symbolic_states(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> list[sympy.Matrix]:
    """h_1 … h_T as SymPy matrices of tanh expressions, from object arrays of symbols of the
    shapes x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,), named as the caller likes
    (``checks.engine.run.symbolic`` writes a tiny example's gradient with them)."""
    return _symbolic_states(x, h0, Wx, Wh, b)


def _derive_rnn_source(shape: Shape) -> str:
    """Source of f(x, h0, Wx, Wh, b, dh) -> [∂L/∂x…, ∂L/∂h0…, ∂L/∂Wx…, ∂L/∂Wh…, ∂L/∂b…]
    with L = Σ_t ⟨h_t, dh_t⟩, every argument and result flattened row-major."""
    import sympy as sp

    N, T, D, H = shape
    x, h0 = symbol_array("x", (N, T, D)), symbol_array("h0", (N, H))
    Wx, Wh, b = symbol_array("Wx", (D, H)), symbol_array("Wh", (H, H)), symbol_array("b", (H,))
    dh = symbol_array("dh", (N, T, H))

    states = _symbolic_states(x, h0, Wx, Wh, b)
    L = sp.Add(*[states[t][n, j] * dh[n, t, j]
                 for t in range(T) for n in range(N) for j in range(H)])

    wrt = [*x.ravel(), *h0.ravel(), *Wx.ravel(), *Wh.ravel(), *b.ravel()]
    grads = [sp.diff(L, s) for s in wrt]
    return lambdify_source([x, h0, Wx, Wh, b, dh], grads)


def _derive_classifier_source(shape: Shape) -> str:
    """Source of f(x, y, h0, Wx, Wh, b, W2, b2) -> [L, ∂L/∂x…, ∂L/∂h0…, ∂L/∂Wx…,
    ∂L/∂Wh…, ∂L/∂b…, ∂L/∂W2…, ∂L/∂b2] for the many-to-one classifier.

    The loss of one example is written as

        y·softplus(-z) + (1 - y)·softplus(z),   softplus(u) = log1p(exp(u)),

    which equals the contract's softplus(z) - y·z for every real y, because
    softplus(-z) = softplus(z) - z (proved in reference.oracles.identities). This form
    has no cancellation for y in {0, 1}: only one branch is nonzero, and both it and its
    derivative ±exp(∓z)/(1 + exp(∓z)) are accurate to a few ulps. The naive form
    log(1 + exp(z)) - y·z would lose all relative precision of the gradient
    sigmoid(z) - 1 for y = 1, z ≳ 20. Domain: exp(±z) must not overflow, i.e. |z| < 709;
    sympy_classifier_gradients raises outside it.
    """
    import sympy as sp
    from sympy.codegen.cfunctions import log1p  # prints as numpy.log1p

    N, T, D, H = shape
    x, h0 = symbol_array("x", (N, T, D)), symbol_array("h0", (N, H))
    Wx, Wh, b = symbol_array("Wx", (D, H)), symbol_array("Wh", (H, H)), symbol_array("b", (H,))
    W2, b2, y = symbol_array("W2", (H,)), symbol_array("b2", (1,)), symbol_array("y", (N,))

    h_T = _symbolic_states(x, h0, Wx, Wh, b)[-1]

    def softplus(u: sympy.Expr) -> sympy.Expr:
        return log1p(sp.exp(u))

    per_example = []
    for n in range(N):
        z_n = sp.Add(*[h_T[n, j] * W2[j] for j in range(H)]) + b2[0]
        per_example.append(y[n] * softplus(-z_n) + (1 - y[n]) * softplus(z_n))
    L = sp.Add(*per_example) / N

    wrt = [*x.ravel(), *h0.ravel(), *Wx.ravel(), *Wh.ravel(), *b.ravel(), *W2.ravel(), b2[0]]
    outputs = [L, *[sp.diff(L, s) for s in wrt]]
    return lambdify_source([x, y, h0, Wx, Wh, b, W2, b2], outputs)


_DERIVERS: dict[str, Callable[[Shape], str]] = {
    "rnn": _derive_rnn_source,
    "classifier": _derive_classifier_source,
}


# --------------------------------------------------------------------------------------
# Compiled-function cache: memory, then disk, then derive
# --------------------------------------------------------------------------------------

# How each compiled function was obtained in this process, for the RNN and classifier
# formulas here and sympy_gru's (one count for both). Tests use it to prove that a warm
# process loads from disk instead of deriving (a count, not a timing).
CACHE_STATS = CacheStats()


def cache_stats() -> dict[str, int]:
    """Counts, in this process, of formulas derived by SymPy and loaded from disk
    (this module's and sympy_gru's)."""
    return CACHE_STATS()


def _cache_key(kind: str, shape: Shape) -> str:
    """File stem naming everything the generated code depends on."""
    N, T, D, H = shape
    return f"{kind}-N{N}-T{T}-D{D}-H{H}-sympy{sympy_version()}-v{DERIVATION_VERSION}"


@functools.lru_cache(maxsize=None)
def _compiled(kind: str, shape: Shape) -> Callable[..., list]:
    """The compiled formula for (kind, shape): from disk if present, else derived."""
    return compiled_formula(_cache_key(kind, shape), lambda: _DERIVERS[kind](shape),
                            CACHE_STATS)


# --------------------------------------------------------------------------------------
# Public oracles
# --------------------------------------------------------------------------------------


def _checked_shape(N: int, T: int, D: int, H: int) -> Shape:
    shape = (int(N), int(T), int(D), int(H))
    if min(shape) < 1:
        raise ValueError(f"the SymPy oracle needs N, T, D, H >= 1, got {shape}")
    return shape


def sympy_rnn_gradients(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
    dh: np.ndarray,
) -> dict[str, np.ndarray]:
    """Gradients of L = Σ_t ⟨h_t, dh_t⟩ for h = rnn_forward(x, h0, Wx, Wh, b), by
    symbolic differentiation: what rnn_backward(dh, cache) must return.

    The first call for a shape derives and compiles the formula (seconds; see
    sympy_affordable) unless the disk cache has it; later calls take microseconds to
    milliseconds.

    Inputs:
    - x: Input data, of shape (N, T, D), T >= 1
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, H)
    - Wh: Hidden-to-hidden weights, of shape (H, H)
    - b: Biases, of shape (H,)
    - dh: Upstream gradients of h_1 … h_T, of shape (N, T, H)

    Returns:
    - grads: dict of new float64 arrays keyed "x", "h0", "Wx", "Wh", "b", each of the
      shape of the argument of the same name
    """
    x = np.asarray(x, dtype=np.float64)
    h0 = np.asarray(h0, dtype=np.float64)
    if x.ndim != 3 or h0.ndim != 2:
        raise ValueError(f"x must be (N, T, D) and h0 (N, H), got {x.shape} and {h0.shape}")
    (N, T, D), H = x.shape, h0.shape[1]
    shapes = {"x": (N, T, D), "h0": (N, H), "Wx": (D, H), "Wh": (H, H), "b": (H,),
              "dh": (N, T, H)}
    args = as_float_arrays({"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b, "dh": dh}, shapes)

    f = _compiled("rnn", _checked_shape(N, T, D, H))
    flat = np.asarray(f(*[args[name].ravel().tolist() for name in shapes]), dtype=np.float64)
    return split_flat(flat, {name: shapes[name] for name in RNN_ARGS})


def sympy_classifier_gradients(
    x: np.ndarray, y: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
    b: np.ndarray, W2: np.ndarray, b2: np.ndarray,
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of the many-to-one binary classifier, by symbolic
    differentiation: what rnn_classifier_loss must return.

        z = h_T·W2 + b2,   loss = mean_n [softplus(z_n) - y_n·z_n]

    Domain: the compiled formula evaluates exp(±z_n), so every |z_n| must be below
    about 709; within it, loss and gradients are accurate to a few ulps for y in
    {0, 1} (see _derive_classifier_source). Outside it a ValueError is raised rather
    than returning inf or nan.

    Inputs:
    - x: Input data, of shape (N, T, D), T >= 1
    - y: Labels in {0, 1}, of shape (N,)
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, H)
    - Wh: Hidden-to-hidden weights, of shape (H, H)
    - b: Biases, of shape (H,)
    - W2: Output weights, of shape (H,)
    - b2: Output bias, of shape (1,)

    Returns a tuple of:
    - loss: Mean binary cross-entropy over the batch, a float
    - grads: dict of new float64 arrays keyed "x", "h0", "Wx", "Wh", "b", "W2", "b2",
      each of the shape of the argument of the same name
    """
    x = np.asarray(x, dtype=np.float64)
    h0 = np.asarray(h0, dtype=np.float64)
    if x.ndim != 3 or h0.ndim != 2:
        raise ValueError(f"x must be (N, T, D) and h0 (N, H), got {x.shape} and {h0.shape}")
    (N, T, D), H = x.shape, h0.shape[1]
    shapes = {"x": (N, T, D), "y": (N,), "h0": (N, H), "Wx": (D, H), "Wh": (H, H),
              "b": (H,), "W2": (H,), "b2": (1,)}
    args = as_float_arrays(
        {"x": x, "y": y, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b, "W2": W2, "b2": b2}, shapes)

    f = _compiled("classifier", _checked_shape(N, T, D, H))
    # Overflow of exp(±z) is reported below as a domain error, not as a warning.
    with np.errstate(over="ignore", invalid="ignore"):
        flat = np.asarray(f(*[args[name].ravel().tolist() for name in shapes]),
                          dtype=np.float64)
    if not np.all(np.isfinite(flat)):
        raise ValueError("SymPy classifier oracle is outside its domain: some logit "
                         "|z_n| ≳ 709 makes exp(±z_n) overflow")
    loss = float(flat[0])
    return loss, split_flat(flat[1:], {name: shapes[name] for name in CLASSIFIER_ARGS})
