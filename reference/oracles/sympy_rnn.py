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
- on disk, as the generated Python source, so that another process (a second test
  run, a pytest-xdist worker) loads it without deriving again. The directory is
  ``$RNN_GRADE_CACHE_DIR``, else ``~/.cache/rnn-grade/sympy``, else a per-user
  temporary directory if neither is writable. Files are keyed by kind, shape, SymPy
  version and ``DERIVATION_VERSION``, written atomically (temporary file +
  ``os.replace``), and a file that fails to load is derived again and replaced.
  While one process derives a formula it holds a lock (flock) on it, so a parallel
  worker needing the same formula waits and loads the result instead of repeating
  the derivation. The cache holds executable Python: it must be a directory only you
  can write.

SymPy itself is imported only when a formula has to be derived, so a warm process
never pays for importing it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import inspect
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only; sympy is imported lazily
    import sympy

# Bump when the derivation below changes in a way that changes the generated code:
# it is part of every disk-cache key, so stale files are never loaded.
DERIVATION_VERSION = 1

CACHE_DIR_ENV = "RNN_GRADE_CACHE_DIR"

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


def _symbol_array(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """An object array of distinct real symbols name_i_j_k, one per entry.

    NumPy object arrays give the symbols the same indexing and row-major ravel order
    as the numeric arguments, so x[:, t, :] means the same thing in both worlds.
    """
    import sympy as sp

    symbols = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        symbols[index] = sp.Symbol("_".join([name, *map(str, index)]), real=True)
    return symbols


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


def _lambdify_source(arg_groups: list[np.ndarray], outputs: list[sympy.Expr]) -> str:
    """Python source of ``f(*flat_arg_groups) -> list of floats`` computing outputs.

    Each argument of the generated function is one flat list (row-major) of the
    symbols in the matching group. cse=True shares the many repeated subexpressions
    (every tanh(a_t) appears in every derivative).
    """
    import sympy as sp

    f = sp.lambdify([list(group.ravel()) for group in arg_groups], outputs,
                    modules="numpy", cse=True)
    return inspect.getsource(f)


def _derive_rnn_source(shape: Shape) -> str:
    """Source of f(x, h0, Wx, Wh, b, dh) -> [∂L/∂x…, ∂L/∂h0…, ∂L/∂Wx…, ∂L/∂Wh…, ∂L/∂b…]
    with L = Σ_t ⟨h_t, dh_t⟩, every argument and result flattened row-major."""
    import sympy as sp

    N, T, D, H = shape
    x, h0 = _symbol_array("x", (N, T, D)), _symbol_array("h0", (N, H))
    Wx, Wh, b = _symbol_array("Wx", (D, H)), _symbol_array("Wh", (H, H)), _symbol_array("b", (H,))
    dh = _symbol_array("dh", (N, T, H))

    states = _symbolic_states(x, h0, Wx, Wh, b)
    L = sp.Add(*[states[t][n, j] * dh[n, t, j]
                 for t in range(T) for n in range(N) for j in range(H)])

    wrt = [*x.ravel(), *h0.ravel(), *Wx.ravel(), *Wh.ravel(), *b.ravel()]
    grads = [sp.diff(L, s) for s in wrt]
    return _lambdify_source([x, h0, Wx, Wh, b, dh], grads)


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
    x, h0 = _symbol_array("x", (N, T, D)), _symbol_array("h0", (N, H))
    Wx, Wh, b = _symbol_array("Wx", (D, H)), _symbol_array("Wh", (H, H)), _symbol_array("b", (H,))
    W2, b2, y = _symbol_array("W2", (H,)), _symbol_array("b2", (1,)), _symbol_array("y", (N,))

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
    return _lambdify_source([x, y, h0, Wx, Wh, b, W2, b2], outputs)


_DERIVERS: dict[str, Callable[[Shape], str]] = {
    "rnn": _derive_rnn_source,
    "classifier": _derive_classifier_source,
}


# --------------------------------------------------------------------------------------
# Compiled-function cache: memory, then disk, then derive
# --------------------------------------------------------------------------------------

# How each compiled function was obtained in this process. Tests use it to prove that a
# warm process loads from disk instead of deriving (a count, not a timing).
_cache_stats = {"derived": 0, "loaded_from_disk": 0}


def cache_stats() -> dict[str, int]:
    """Counts, in this process, of formulas derived by SymPy and loaded from disk."""
    return dict(_cache_stats)


def cache_dir() -> Path:
    """The directory of the disk cache, created if needed.

    ``$RNN_GRADE_CACHE_DIR`` if set, else ``~/.cache/rnn-grade/sympy``; if that cannot
    be created or written, a per-user directory under the system temporary directory.
    """
    configured = os.environ.get(CACHE_DIR_ENV)
    candidates = []
    if configured:
        candidates.append(Path(configured).expanduser())
    else:
        try:
            candidates.append(Path.home() / ".cache" / "rnn-grade" / "sympy")
        except RuntimeError:  # no home directory can be determined
            pass
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    candidates.append(Path(tempfile.gettempdir()) / f"rnn-grade-sympy-{user}")

    for directory in candidates:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(directory, os.W_OK):
            return directory
    raise OSError(f"no writable cache directory among {[str(c) for c in candidates]}")


def _cache_key(kind: str, shape: Shape) -> str:
    """File stem naming everything the generated code depends on."""
    N, T, D, H = shape
    sympy_version = importlib.metadata.version("sympy")  # without importing sympy
    return f"{kind}-N{N}-T{T}-D{D}-H{H}-sympy{sympy_version}-v{DERIVATION_VERSION}"


def _header(key: str) -> str:
    """First line of a cache file; a file whose first line differs is not trusted."""
    return f"# rnn-grade sympy oracle: {key}\n"


def _global_names(code: CodeType) -> set[str]:
    """Names a code object (and any code nested in it) looks up globally or as attributes."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _global_names(const)
    return names


def _exec_source(source: str) -> Callable[..., list]:
    """Turn lambdify's generated source back into a function.

    lambdify runs modules="numpy" code in ``import numpy; from numpy import *``: the
    code calls tanh, exp, log1p unqualified. ``from numpy import *`` itself costs
    ~0.3 s (it imports numpy's lazily loaded submodules), so the namespace here gets
    only the NumPy names the code uses. Both the cold and the warm path go through
    this function, so a name missing here fails on the first (cold) run already.
    """
    namespace: dict = {"numpy": np}
    exec(compile(source, "<rnn-grade sympy oracle>", "exec"), namespace)  # defines f only
    f = namespace["_lambdifygenerated"]
    for name in _global_names(f.__code__) - namespace.keys():
        if hasattr(np, name):
            namespace[name] = getattr(np, name)
    return f


def _load_from_disk(path: Path, key: str) -> Callable[..., list] | None:
    """The cached formula at path, or None if it is missing, for another key, or
    damaged (then it is derived again and the file replaced)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    header = _header(key)
    if not text.startswith(header):
        return None
    try:
        f = _exec_source(text[len(header):])
    except Exception:  # e.g. a SyntaxError from a truncated file
        return None
    _cache_stats["loaded_from_disk"] += 1
    return f


def _write_atomically(path: Path, text: str) -> None:
    """Write text to path so that readers see the old file or the whole new one.

    If two processes do write the same formula (see _derivation_lock for when),
    os.replace makes the last writer win without a reader ever seeing a half-written
    file.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            tmp.write(text)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _derivation_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on path's lock file while deriving its formula.

    pytest-xdist workers often need the same shape at the same time; with the lock,
    one derives and the others wait and then load its file, instead of each spending
    seconds on the same derivation. Where locking is unavailable (no fcntl, or a file
    system that refuses flock) this does nothing, and the atomic write still keeps
    the cache consistent.
    """
    try:
        import fcntl

        fd = os.open(path.with_name(f".{path.stem}.lock"), os.O_CREAT | os.O_RDWR, 0o600)
    except (ImportError, OSError):
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass
        yield
    finally:
        os.close(fd)  # releases the lock


def _derive(kind: str, shape: Shape) -> tuple[str, Callable[..., list]]:
    """Derive the formula with SymPy: (generated source, compiled function)."""
    source = _DERIVERS[kind](shape)
    f = _exec_source(source)
    _cache_stats["derived"] += 1
    return source, f


@functools.lru_cache(maxsize=None)
def _compiled(kind: str, shape: Shape) -> Callable[..., list]:
    """The compiled formula for (kind, shape): from disk if present, else derived."""
    key = _cache_key(kind, shape)
    try:
        path = cache_dir() / f"{key}.py"
    except OSError as error:
        warnings.warn(f"SymPy oracle disk cache disabled: {error}", stacklevel=3)
        return _derive(kind, shape)[1]

    f = _load_from_disk(path, key)
    if f is not None:
        return f
    with _derivation_lock(path):
        # Another process may have derived it while this one waited for the lock.
        f = _load_from_disk(path, key)
        if f is not None:
            return f
        source, f = _derive(kind, shape)
        try:
            _write_atomically(path, _header(key) + source)
        except OSError as error:
            warnings.warn(f"could not write SymPy oracle cache {path}: {error}", stacklevel=3)
    return f


# --------------------------------------------------------------------------------------
# Public oracles
# --------------------------------------------------------------------------------------


def _checked_shape(N: int, T: int, D: int, H: int) -> Shape:
    shape = (int(N), int(T), int(D), int(H))
    if min(shape) < 1:
        raise ValueError(f"the SymPy oracle needs N, T, D, H >= 1, got {shape}")
    return shape


def _as_float_arrays(
    arrays: dict[str, np.ndarray], expected: dict[str, tuple[int, ...]]
) -> dict[str, np.ndarray]:
    """float64 copies of the arguments, after checking each shape."""
    out = {}
    for name, value in arrays.items():
        value = np.asarray(value, dtype=np.float64)
        if value.shape != expected[name]:
            raise ValueError(f"{name} has shape {value.shape}, expected {expected[name]}")
        out[name] = value
    return out


def _split(flat: np.ndarray, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Cut a flat row-major vector into named arrays of the given shapes, in order."""
    out, start = {}, 0
    for name, shape in shapes.items():
        size = math.prod(shape)
        out[name] = flat[start:start + size].reshape(shape).copy()
        start += size
    return out


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
    args = _as_float_arrays({"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b, "dh": dh}, shapes)

    f = _compiled("rnn", _checked_shape(N, T, D, H))
    flat = np.asarray(f(*[args[name].ravel().tolist() for name in shapes]), dtype=np.float64)
    return _split(flat, {name: shapes[name] for name in RNN_ARGS})


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
    args = _as_float_arrays(
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
    return loss, _split(flat[1:], {name: shapes[name] for name in CLASSIFIER_ARGS})
