"""Gradient oracle: the word embedding, the temporal affine layer and the masked
temporal softmax loss written as explicit scalar formulas and differentiated
symbolically by SymPy, on tiny shapes.

Every entry of every argument is its own real ``sympy.Symbol``, as in sympy_rnn. The
discrete arguments become symbols too, so that one derivation serves every value of
them and the formulas are cached per shape only:

- the word indices x of the embedding as a one-hot array X (N, T, V):
  out[n, t, d] = Σ_v X[n, t, v]·W[v, d];
- the labels y of the softmax loss as a one-hot array Y (N, T, V), and the mask as
  0/1 weights m (N, T):

      L = -(1/N) Σ_{n,t} m[n,t] Σ_v Y[n,t,v]·(s[n,t,v] - log Σ_u exp(s[n,t,u]))

- upstream gradients dout as symbols, reduced to L = ⟨out, dout⟩ for the embedding
  and the affine layer.

``sympy.diff`` of L with respect to each symbol of W (embedding), of x, w, b (affine),
or of s (softmax) is the gradient a backward pass must return. No chain rule and no
derivative identity (softmax - onehot) is written here, so the oracle is independent of
reference/embedding.py and of autograd_embedding.

Numerics of the softmax loss: the generated code evaluates exp(s) as written, which
would overflow for scores above ~709. Because Σ_v Y[n,t,v] = 1 for a one-hot Y, L is
unchanged when a constant is added to one row s[n, t, :], and so is its gradient;
sympy_temporal_softmax_loss therefore evaluates the formula at s minus each row's
maximum, where every exp lies in (0, 1] and Σ_u exp ≥ 1. That is a property of the
function, not of its derivative, so it keeps the oracle independent while making it
valid for scores of any finite magnitude (tested against unshifted evaluation at
moderate scores in tests/test_reference_embedding.py).

Caching: derived formulas are compiled with ``sympy.lambdify(..., cse=True)`` and kept
in memory per (kind, shape), and on disk by sympy_cache (the directory the other
oracles use, atomic writes, per-formula lock and header check; see sympy_cache), under
keys prefixed ``temporal-`` so they never collide with the RNN's. Derivations here are
cheap (no recurrence: well under a second at the shapes the tests use); SymPy is
imported only when a formula has to be derived.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from reference.oracles.sympy_cache import (
    CacheStats,
    compiled_formula,
    lambdify_source,
    symbol_array,
    sympy_version,
)

# Bump when a derivation below changes the generated code: part of every cache key.
DERIVATION_VERSION = 1

EMBEDDING_DIMS = ("N", "T", "V", "D")
AFFINE_DIMS = ("N", "T", "D", "M")
SOFTMAX_DIMS = ("N", "T", "V")

# Counts, in this process, of formulas derived by SymPy and loaded from disk.
CACHE_STATS = CacheStats()


def cache_stats() -> dict[str, int]:
    """Counts, in this process, of this module's formulas derived and loaded from disk."""
    return CACHE_STATS()


# --------------------------------------------------------------------------------------
# Symbolic derivations
# --------------------------------------------------------------------------------------


def _derive_embedding_source(shape: tuple[int, ...]) -> str:
    """Source of f(X, W, dout) -> [∂L/∂W…] with L = ⟨onehot(x)·W, dout⟩."""
    import sympy as sp

    N, T, V, D = shape
    X, W = symbol_array("X", (N, T, V)), symbol_array("W", (V, D))
    dout = symbol_array("dout", (N, T, D))
    L = sp.Add(*[X[n, t, v] * W[v, d] * dout[n, t, d]
                 for n in range(N) for t in range(T) for v in range(V) for d in range(D)])
    return lambdify_source([X, W, dout], [sp.diff(L, s) for s in W.ravel()])


def _derive_affine_source(shape: tuple[int, ...]) -> str:
    """Source of f(x, w, b, dout) -> [∂L/∂x…, ∂L/∂w…, ∂L/∂b…] with
    L = Σ_{n,t,m} (Σ_d x[n,t,d]·w[d,m] + b[m])·dout[n,t,m]."""
    import sympy as sp

    N, T, D, M = shape
    x, w, b = symbol_array("x", (N, T, D)), symbol_array("w", (D, M)), symbol_array("b", (M,))
    dout = symbol_array("dout", (N, T, M))
    L = sp.Add(*[(sp.Add(*[x[n, t, d] * w[d, m] for d in range(D)]) + b[m]) * dout[n, t, m]
                 for n in range(N) for t in range(T) for m in range(M)])
    wrt = [*x.ravel(), *w.ravel(), *b.ravel()]
    return lambdify_source([x, w, b, dout], [sp.diff(L, s) for s in wrt])


def _derive_softmax_source(shape: tuple[int, ...]) -> str:
    """Source of f(s, Y, m) -> [L, ∂L/∂s…] for the masked loss of the module docstring."""
    import sympy as sp

    N, T, V = shape
    s, Y, m = symbol_array("s", (N, T, V)), symbol_array("Y", (N, T, V)), symbol_array("m", (N, T))
    terms = []
    for n in range(N):
        for t in range(T):
            log_norm = sp.log(sp.Add(*[sp.exp(s[n, t, u]) for u in range(V)]))
            terms.append(m[n, t] * sp.Add(*[Y[n, t, v] * (s[n, t, v] - log_norm) for v in range(V)]))
    L = -sp.Add(*terms) / N
    return lambdify_source([s, Y, m], [L, *[sp.diff(L, sym) for sym in s.ravel()]])


_DERIVERS: dict[str, tuple[tuple[str, ...], Callable[[tuple[int, ...]], str]]] = {
    "embedding": (EMBEDDING_DIMS, _derive_embedding_source),
    "affine": (AFFINE_DIMS, _derive_affine_source),
    "softmax": (SOFTMAX_DIMS, _derive_softmax_source),
}


# --------------------------------------------------------------------------------------
# Compiled-function cache: memory, then disk, then derive
# --------------------------------------------------------------------------------------


def _cache_key(kind: str, shape: tuple[int, ...]) -> str:
    dim_names, _ = _DERIVERS[kind]
    dims = "-".join(f"{name}{size}" for name, size in zip(dim_names, shape))
    return f"temporal-{kind}-{dims}-sympy{sympy_version()}-v{DERIVATION_VERSION}"


@functools.lru_cache(maxsize=None)
def _compiled(kind: str, shape: tuple[int, ...]) -> Callable[..., list]:
    """The compiled formula for (kind, shape): from disk if present, else derived."""
    return compiled_formula(_cache_key(kind, shape), lambda: _DERIVERS[kind][1](shape),
                            CACHE_STATS)


# --------------------------------------------------------------------------------------
# Public oracles
# --------------------------------------------------------------------------------------


def _float_array(value, name: str, shape: tuple[int, ...]) -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    if value.shape != shape:
        raise ValueError(f"{name} has shape {value.shape}, expected {shape}")
    return value


def _one_hot(indices, size: int, name: str, shape: tuple[int, ...]) -> np.ndarray:
    indices = np.asarray(indices)
    if indices.shape != shape or not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array of shape {shape}, "
                         f"got {indices.dtype} {indices.shape}")
    if indices.size and (indices.min() < 0 or indices.max() >= size):
        raise ValueError(f"{name} must lie in [0, {size})")
    return (indices[..., None] == np.arange(size)).astype(np.float64)


def _checked(shape: tuple[int, ...]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if min(shape) < 1:
        raise ValueError(f"the SymPy oracle needs every dimension >= 1, got {shape}")
    return shape


def _evaluate(kind: str, shape: tuple[int, ...], *args: np.ndarray) -> np.ndarray:
    f = _compiled(kind, _checked(shape))
    return np.asarray(f(*[a.ravel().tolist() for a in args]), dtype=np.float64)


def sympy_embedding_gradient(x: np.ndarray, W: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """Gradient of L = ⟨out, dout⟩ for out = word_embedding_forward(x, W), by symbolic
    differentiation: what word_embedding_backward(dout, cache) must return.

    Inputs:
    - x: Integer indices of shape (N, T), each in [0, V)
    - W: Word vectors, of shape (V, D)
    - dout: Upstream gradient of out, of shape (N, T, D)

    Returns:
    - dW: New float64 array of shape (V, D)
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or np.ndim(x) != 2:
        raise ValueError(f"x must be (N, T) and W (V, D), got {np.shape(x)} and {W.shape}")
    (N, T), (V, D) = np.shape(x), W.shape
    X = _one_hot(x, V, "x", (N, T))
    dout = _float_array(dout, "dout", (N, T, D))
    return _evaluate("embedding", (N, T, V, D), X, W, dout).reshape(V, D)


def sympy_temporal_affine_gradients(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, dout: np.ndarray
) -> dict[str, np.ndarray]:
    """Gradients of L = ⟨out, dout⟩ for out = temporal_affine_forward(x, w, b), by
    symbolic differentiation: what temporal_affine_backward(dout, cache) must return.

    Inputs:
    - x: Input data, of shape (N, T, D)
    - w: Weights, of shape (D, M)
    - b: Biases, of shape (M,)
    - dout: Upstream gradient of out, of shape (N, T, M)

    Returns:
    - dict of new float64 arrays keyed "x", "w", "b", each of its argument's shape
    """
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    if x.ndim != 3 or w.ndim != 2:
        raise ValueError(f"x must be (N, T, D) and w (D, M), got {x.shape} and {w.shape}")
    (N, T, D), M = x.shape, w.shape[1]
    shapes = {"x": (N, T, D), "w": (D, M), "b": (M,)}
    args = [_float_array(v, name, s) for (name, s), v in zip(shapes.items(), (x, w, b))]
    flat = _evaluate("affine", (N, T, D, M), *args, _float_array(dout, "dout", (N, T, M)))
    out, start = {}, 0
    for name, s in shapes.items():
        out[name] = flat[start:start + math.prod(s)].reshape(s).copy()
        start += math.prod(s)
    return out


def sympy_temporal_softmax_loss(
    x: np.ndarray, y: np.ndarray, mask: np.ndarray, *, shift: bool = True
) -> tuple[float, np.ndarray]:
    """Loss and gradient of temporal_softmax_loss(x, y, mask), by symbolic
    differentiation.

    Inputs:
    - x: Scores, of shape (N, T, V), finite
    - y: Integer labels, of shape (N, T), each in [0, V)
    - mask: Boolean array of shape (N, T)
    - shift: Evaluate at x minus each row's maximum (see the module docstring), valid
      for any finite x; False evaluates at x itself, for scores below ~709 only

    Returns a tuple of:
    - loss: The masked cross-entropy summed over (n, t) and divided by N, a float
    - dx: New float64 array of shape (N, T, V)
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must be (N, T, V), got {x.shape}")
    N, T, V = x.shape
    Y = _one_hot(y, V, "y", (N, T))
    mask = np.asarray(mask)
    if mask.shape != (N, T):
        raise ValueError(f"mask has shape {mask.shape}, expected {(N, T)}")
    weight = mask.astype(bool).astype(np.float64)
    s = x - x.max(axis=-1, keepdims=True) if shift else x
    with np.errstate(over="ignore", invalid="ignore"):
        flat = _evaluate("softmax", (N, T, V), s, Y, weight)
    if not np.all(np.isfinite(flat)):
        raise ValueError("SymPy softmax oracle is outside its domain (exp overflowed); "
                         "use shift=True")
    return float(flat[0]), flat[1:].reshape(N, T, V).copy()
