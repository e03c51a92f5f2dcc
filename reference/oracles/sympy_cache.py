"""Shared machinery of the SymPy gradient oracles (sympy_rnn, sympy_lstm, sympy_gru,
sympy_temporal): symbols, code generation, and the disk cache of generated code.

Each oracle derives, per shape, a formula with SymPy, turns it into Python source with
``sympy.lambdify(..., modules="numpy", cse=True)`` and compiles it. Deriving takes
seconds, so the source is cached on disk and another process (a second test run, a
pytest-xdist worker) loads it instead of deriving again:

- the directory is ``$RNN_GRADE_CACHE_DIR``, else ``~/.cache/rnn-grade/sympy``, else a
  per-user temporary directory if neither is writable (``cache_dir``);
- each formula is one file ``<key>.py``, where the key, chosen by the oracle, names
  everything the code depends on (kind, shape, SymPy version, the oracle's
  ``DERIVATION_VERSION``); its first line is ``header(key)``, and a file whose first
  line differs, or that fails to compile, is not trusted but derived again and
  replaced (``load_from_disk``);
- files are written atomically, temporary file + ``os.replace`` (``write_atomically``);
- while one process derives a formula it holds a lock (flock) on it, so a parallel
  worker needing the same formula waits and then loads the result
  (``derivation_lock``);
- ``compiled_formula`` does all of that for one key; the oracles keep the result in
  memory per shape with ``functools.lru_cache``.

The cache holds executable Python: it must be a directory only you can write.

SymPy is imported only when a formula has to be derived (``symbol_array`` and
``lambdify_source`` import it), so a warm process never pays for importing it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only; sympy is imported lazily
    import sympy

CACHE_DIR_ENV = "RNN_GRADE_CACHE_DIR"


# --------------------------------------------------------------------------------------
# Symbols and generated code
# --------------------------------------------------------------------------------------


def symbol_array(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """An object array of distinct real symbols name_i_j_k, one per entry.

    NumPy object arrays give the symbols the same indexing and row-major ravel order
    as the numeric arguments, so x[:, t, :] means the same thing in both worlds.
    """
    import sympy as sp

    symbols = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        symbols[index] = sp.Symbol("_".join([name, *map(str, index)]), real=True)
    return symbols


def lambdify_source(arg_groups: list[np.ndarray], outputs: list[sympy.Expr]) -> str:
    """Python source of ``f(*flat_arg_groups) -> list of floats`` computing outputs.

    Each argument of the generated function is one flat list (row-major) of the
    symbols in the matching group. cse=True shares the many repeated subexpressions
    (every tanh(a_t) appears in every derivative).
    """
    import sympy as sp

    f = sp.lambdify([list(group.ravel()) for group in arg_groups], outputs,
                    modules="numpy", cse=True)
    return inspect.getsource(f)


def _global_names(code: CodeType) -> set[str]:
    """Names a code object (and any code nested in it) looks up globally or as attributes."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _global_names(const)
    return names


def exec_source(source: str) -> Callable[..., list]:
    """Turn lambdify's generated source (from ``lambdify_source``) back into a function.

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


# --------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------


class CacheStats:
    """Counts, in this process, of formulas derived by SymPy and loaded from disk.

    Each oracle module owns one (sympy_gru shares sympy_rnn's) and passes it to
    ``compiled_formula``. Tests use the counts to prove that a warm process loads
    from disk instead of deriving (a count, not a timing). Calling the instance
    returns a copy: ``{"derived": …, "loaded_from_disk": …}``.
    """

    def __init__(self) -> None:
        self.counts = {"derived": 0, "loaded_from_disk": 0}

    def __call__(self) -> dict[str, int]:
        return dict(self.counts)


# --------------------------------------------------------------------------------------
# The disk cache
# --------------------------------------------------------------------------------------


def sympy_version() -> str:
    """The installed SymPy version, read without importing SymPy (for cache keys)."""
    return importlib.metadata.version("sympy")


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


def header(key: str) -> str:
    """First line of a cache file; a file whose first line differs is not trusted."""
    return f"# rnn-grade sympy oracle: {key}\n"


def load_from_disk(path: Path, key: str, stats: CacheStats | None = None
                   ) -> Callable[..., list] | None:
    """The cached formula at path, or None if it is missing, for another key, or
    damaged (then the caller derives it again and replaces the file). A successful
    load is counted in stats, if given."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    first_line = header(key)
    if not text.startswith(first_line):
        return None
    try:
        f = exec_source(text[len(first_line):])
    except Exception:  # e.g. a SyntaxError from a truncated file
        return None
    if stats is not None:
        stats.counts["loaded_from_disk"] += 1
    return f


def write_atomically(path: Path, text: str) -> None:
    """Write text to path so that readers see the old file or the whole new one.

    If two processes do write the same formula (see ``derivation_lock`` for when),
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
def derivation_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on path's lock file (``.<stem>.lock`` beside it) while
    deriving its formula.

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


def compiled_formula(
    key: str, derive_source: Callable[[], str], stats: CacheStats, *, stacklevel: int = 4,
) -> Callable[..., list]:
    """The compiled formula cached under key: loaded from ``cache_dir()/<key>.py`` if a
    good file is there, else derived with ``derive_source()`` (SymPy; seconds), written
    there atomically and compiled.

    The derivation runs under ``derivation_lock``, after checking the file once more,
    since another process may have derived it while this one waited. If the cache
    directory is unusable the formula is derived in memory, with a warning; if the
    file cannot be written, likewise. stats counts derivations and loads. stacklevel
    is that of the warnings: the default 4 points at the caller of an oracle's public
    function, which calls its lru_cache'd ``_compiled``, which calls this.

    No in-memory cache here: callers memoize per shape (``functools.lru_cache``).
    """

    def derive() -> tuple[str, Callable[..., list]]:
        source = derive_source()
        f = exec_source(source)
        stats.counts["derived"] += 1
        return source, f

    try:
        path = cache_dir() / f"{key}.py"
    except OSError as error:
        warnings.warn(f"SymPy oracle disk cache disabled: {error}", stacklevel=stacklevel)
        return derive()[1]

    f = load_from_disk(path, key, stats)
    if f is not None:
        return f
    with derivation_lock(path):
        # Another process may have derived it while this one waited for the lock.
        f = load_from_disk(path, key, stats)
        if f is not None:
            return f
        source, f = derive()
        try:
            write_atomically(path, header(key) + source)
        except OSError as error:
            warnings.warn(f"could not write SymPy oracle cache {path}: {error}",
                          stacklevel=stacklevel)
    return f


# --------------------------------------------------------------------------------------
# Numeric arguments and results
# --------------------------------------------------------------------------------------


def as_float_arrays(
    arrays: dict[str, np.ndarray], expected: dict[str, tuple[int, ...]]
) -> dict[str, np.ndarray]:
    """float64 copies of the arguments, after checking each shape against expected."""
    out = {}
    for name, value in arrays.items():
        value = np.asarray(value, dtype=np.float64)
        if value.shape != expected[name]:
            raise ValueError(f"{name} has shape {value.shape}, expected {expected[name]}")
        out[name] = value
    return out


def split_flat(flat: np.ndarray, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Cut a flat row-major vector into named arrays (copies) of the given shapes, in
    order."""
    out, start = {}, 0
    for name, shape in shapes.items():
        size = math.prod(shape)
        out[name] = flat[start:start + size].reshape(shape).copy()
        start += size
    return out
