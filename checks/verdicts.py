"""Comparisons, made in the grading process, and the failures they raise.

Every comparison of a submission's value against an expected one goes through ``assert_close``
or ``assert_all_close`` here, in the grading process, on arrays it decoded itself. A submission
that patches ``numpy.allclose`` in its own process changes nothing here.

Tolerance. Two correct float64 implementations of the same RNN differ only by rounding: the
sums are reordered, so results agree to about 1e-15 relative, and to ~1e-12 after hundreds of
time steps. Real bugs (a missing term, a transposed matrix, a wrong derivative) change values by
far more than 1e-6 relative. ``RTOL = 1e-6`` sits between, with several orders of magnitude of
margin on each side; the absolute part scales with the largest expected entry, so entries that
should be ~0 are judged against the array's own scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

RTOL = 1e-6
WORST_SHOWN = 3  # discrepancies a failure carries per wrong result
TINY = 1e-12  # absolute floor, for arrays that should be exactly zero


@dataclass(frozen=True)
class Discrepancy:
    """One wrong entry, for the student's report: ``name[index]`` is ``got`` where ``expected`` is due.

    Failures carry the worst few as ``failure.discrepancies`` (a list, worst first; empty if none
    is known entry by entry, e.g. a wrong shape or a random-direction probe).
    """

    name: str  # as the contract returns it: "dx", "dh0", "clipped['W']", ...
    index: tuple[int, ...]
    expected: float
    got: float

    @property
    def relative_error(self) -> float:
        return abs(self.got - self.expected) / max(abs(self.expected), TINY)


class PartialFailure(AssertionError):
    """Some parts of a result are wrong: the check earns ``credit`` (0..1) of its points.

    The runner keeps the lowest credit over every failing example Hypothesis tried.
    """

    def __init__(self, message: str, credit: float, discrepancies: list[Discrepancy] | None = None) -> None:
        super().__init__(message)
        self.credit = credit
        self.discrepancies = discrepancies or []


def worst_entries(actual: np.ndarray, expected: np.ndarray, name: str, rtol: float = RTOL,
                  count: int = WORST_SHOWN) -> list[Discrepancy]:
    """The ``count`` entries of ``actual`` furthest beyond the tolerance of ``mismatch``, worst first
    (empty if the shapes differ or every entry is within it)."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        return []
    scale = float(np.max(np.abs(expected), initial=0.0))
    excess = np.abs(actual - expected) - (rtol * (np.abs(expected) + scale) + TINY)
    excess = np.where(np.isnan(excess), np.inf, excess)  # a NaN entry is as wrong as can be
    order = np.argsort(-excess.ravel(), kind="stable")[:count]
    return [Discrepancy(name, tuple(int(i) for i in np.unravel_index(k, actual.shape)),
                        float(expected.ravel()[k]), float(actual.ravel()[k]))
            for k in order if excess.ravel()[k] > 0]


def mismatch(actual: np.ndarray, expected: np.ndarray, rtol: float = RTOL) -> str | None:
    """None if ``actual`` ≈ ``expected`` elementwise, else a phrase locating the worst entry, to follow
    "<name>: " ("off by up to 0.5 at index (0, 1): expected 0.5, got 0 (...)", "shape (1, 3), expected (3,)").

    |actual − expected| ≤ rtol·(|expected| + max|expected|) + TINY, after an exact shape check
    (broadcasting must never make a (1, H) answer look like an (H,) one).
    """
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        return f"shape {actual.shape}, expected {expected.shape}"
    scale = float(np.max(np.abs(expected), initial=0.0))
    error = np.abs(actual - expected)
    allowed = rtol * (np.abs(expected) + scale) + TINY
    if np.all(error <= allowed):
        return None
    worst = np.unravel_index(np.argmax(error - allowed), error.shape)
    where = f" at index {tuple(int(i) for i in worst)}" if worst else ""
    due, got = float(expected[worst]), float(actual[worst])
    digits = digits_to_tell_apart([got], due)
    return (
        f"off by up to {float(np.max(error)):.3g}{where}: expected {due:.{digits}g}, "
        f"got {got:.{digits}g} (largest entry {scale:.3g}, relative tolerance {rtol:g})"
    )


def digits_to_tell_apart(values: Sequence[float], reference: float, at_least: int = 6) -> int:
    """The fewest significant digits (≥ at_least, ≤ 17) at which every value unequal to ``reference``
    prints differently from it: 0.4999964 against 0.5, never 0.5 against 0.5."""
    for digits in range(at_least, 17):
        if all(f"{v:.{digits}g}" != f"{reference:.{digits}g}" for v in values if v != reference):
            return digits
    return 17


def how_many_wrong(wrong: int, total: int, noun: str) -> str:
    """"1 result of 5 is wrong", "2 results of 5 are wrong", "All 5 results are wrong", "The result is
    wrong" (of one), to begin a message: noun and verb agree with the count."""
    if total == 1:
        return f"The {noun} is wrong"
    if wrong == total:
        return f"All {total} {noun}s are wrong"
    return f"1 {noun} of {total} is wrong" if wrong == 1 else f"{wrong} {noun}s of {total} are wrong"


def labelled(name: str, entries: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A dict result's entries under the names a student reads: ``grads['Wx']``, ``clipped['b']``."""
    return {f"{name}[{key!r}]": value for key, value in entries.items()}


def assert_close(actual: np.ndarray, expected: np.ndarray, name: str, against: str, rtol: float = RTOL,
                 note: Callable[[], str] | None = None) -> None:
    """Fail with "wrong <name>, compared with <against>: <mismatch>" unless actual ≈ expected.

    ``note``, called only on failure, gives a last line that explains the numbers (the clipping factor).
    """
    problem = mismatch(actual, expected, rtol)
    if problem:
        failure = AssertionError(f"wrong {name}, compared with {against}: {problem}" + (f"\n{note()}" if note else ""))
        failure.discrepancies = worst_entries(actual, expected, name, rtol)
        raise failure


def assert_all_close(
    actual: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    against: str | Callable[[], str],
    rtol: float = RTOL,
    note: Callable[[], str] | None = None,
) -> None:
    """Compare several named results; fail with partial credit for the share that is correct.

    ``against`` names what was expected; a callable is called only when the comparison fails, as is
    ``note``, which gives a last line that explains the numbers.
    """
    problems = {name: mismatch(actual[name], expected[name], rtol) for name in expected}
    wrong = [name for name, problem in problems.items() if problem]
    if not wrong:
        return
    right = [name for name in expected if name not in wrong]
    source = against() if callable(against) else against
    lines = [f"{how_many_wrong(len(wrong), len(expected), 'result')}, compared with {source}:"]
    lines += [f"  {name}: {problems[name]}" for name in wrong]
    if right:
        lines.append(f"  correct: {', '.join(right)}")
    if note:
        lines.append(note())
    discrepancies = [d for name in wrong for d in worst_entries(actual[name], expected[name], name, rtol)]
    discrepancies.sort(key=lambda d: -np.nan_to_num(d.relative_error, nan=np.inf))  # NaN: the worst
    raise PartialFailure("\n".join(lines), credit=len(right) / len(expected), discrepancies=discrepancies)
