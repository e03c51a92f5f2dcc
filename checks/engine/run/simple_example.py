"""The search for a simple failing example of a check, the one a student is shown.

When a check fails, ``search_simple_example`` runs it again in simple-value mode
(``checks.strategies.simple_values``: every value a half in [-1, 1], sizes capped at 1, then 2,
then 3), for a bounded number of examples, deterministically; if none fails there, the main run's
failing example filled with halves (``filled_with_halves``). The example found is then
``narrowed`` to one unit where it still fails. Every candidate must be fair: the reference passes
it (``fair_to_the_student``). Apart from ``checks.engine.run.counterexample``, which notes a run's
failing examples and tells one in a sentence: this is the extra work done on a failing check only.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

import hypothesis
import numpy as np
from hypothesis import HealthCheck, Phase, settings

from checks.engine.isolation.contract import Submission
from checks.engine.run.counterexample import (SUBMISSION_FAULTS, SearchOver, failing_examples, record_example,
                                              search_settings)
from checks.registry import API_GROUPS, Check
from checks.strategies import RNNProblem, simple_values

#: The search for a simple failing example: at most this many examples of the check are run. A
#: count, never a clock: the example found (so the report) must be the same on every run, however
#: busy the machine. A slow submission is bounded by its calls' timeouts.
SEARCH_EXAMPLES = 80
SEARCH_SIZES = (1, 2, 3)  # size caps tried in turn: the first that fails gives the example
SEARCH_SETTINGS = settings(max_examples=12, phases=(Phase.generate, Phase.shrink), database=None,
                           derandomize=True, deadline=None, suppress_health_check=list(HealthCheck),
                           report_multiple_bugs=False, print_blob=False)



def search_simple_example(check: Check, sub: Submission, seed: int,
                          main: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The simplest failing arguments of ``check`` found in simple-value mode, or None.

    The check's @given test runs again with every value drawn from halves (``simple_values``),
    under SEARCH_SETTINGS (generate and shrink, no explicit examples, derandomized) and at most
    SEARCH_EXAMPLES examples in all, first with every size at most 1, then 2, then 3
    (``SEARCH_SIZES``): Hypothesis's shrinker makes the sizes and values of the first that fails small.
    If none fails there, the main run's failing example ``main`` is tried at its own sizes with
    simple values (``filled_with_halves``): a bug that needs T = 300 still gets an example that
    reads as one line per array.
    """
    test = hypothesis.seed(seed)(check.function)
    fair = fair_to_the_student(check)
    # Simple values reach the corners of a check's own arithmetic (0/0 where Wh = 0): numpy's
    # warnings about it would only be noise on the staff's terminal; such examples are unfair anyway.
    with np.errstate(all="ignore"):
        spent = 0
        for max_size in SEARCH_SIZES:
            left = SEARCH_EXAMPLES - spent
            if left <= 0:
                break
            with simple_values(max_size), search_settings(test, SEARCH_SETTINGS), \
                    failing_examples(test, sub, left, fair) as seen:
                try:
                    test(sub)
                except SearchOver:
                    pass
                except Exception:  # noqa: BLE001 - a failure is what the search looks for; its arguments are noted
                    pass
            if seen.simplest is not None:
                return narrowed(check, sub, seen.simplest, fair)
            spent += seen.examples
        filled = filled_with_halves(check, sub, main, fair) if main is not None else None
        return narrowed(check, sub, filled, fair) if filled is not None else None


FILLS = (0.5, -0.5)  # the values tried, in turn, for every entry of an RNN problem at the main run's sizes


def filled_with_halves(check: Check, sub: Submission, arguments: dict[str, Any],
                       fair: Callable[[dict[str, Any]], bool] | None) -> dict[str, Any] | None:
    """``arguments`` with every array of every RNN problem filled with one value of FILLS, the first
    on which the check still fails (and that is ``fair``); None if none does, or there is no RNN problem."""
    problems = [name for name, value in arguments.items() if isinstance(value, RNNProblem)]
    for fill in FILLS if problems else ():
        candidate = {**arguments, **{name: RNNProblem(*(np.full_like(a, fill) for a in arguments[name]))
                                     for name in problems}}
        if fails_fairly(check, sub, candidate, fair):
            return candidate
    return None


def fails_fairly(check: Check, sub: Submission, arguments: dict[str, Any],
                 fair: Callable[[dict[str, Any]], bool] | None) -> bool:
    """The submission fails ``check`` on ``arguments``, and they are ``fair`` (or fairness cannot be told)."""
    return isinstance(record_example(check, sub, arguments)[1], SUBMISSION_FAULTS) and (fair is None or fair(arguments))


def fair_to_the_student(check: Check) -> Callable[[dict[str, Any]], bool] | None:
    """Whether a simple example is fair to show: the check passes on it against the course's reference.

    Simple values reach corners the main run's draws never do (Wh = 0, all-zero gradients), where
    a check's own arithmetic may break down (a property that divides by ‖Wh‖ is NaN there for every
    implementation). Such an example would blame the student for the check's corner: shown, and
    written into a repro script that fails on correct code. So a candidate counts only if the
    reference, answered in-process (``checks.engine.run.in_process``), passes it. None (every example
    is kept) where there is no reference: a student's self-check, or a check of another API, whose functions the
    row-vector reference does not define.
    """
    from checks.engine.run.in_process import reference_in_process  # failing checks only

    reference = reference_in_process()
    if reference is None or check.group in API_GROUPS:
        return None  # no reference, or none of this API (column-major, PyTorch): every example kept, as in a self-check
    return lambda arguments: record_example(check, reference, arguments)[1] is None


def narrowed(check: Check, sub: Submission, arguments: dict[str, Any],
             fair: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """``arguments`` with every RNN problem cut to one example, one input and one hidden unit
    (N = D = H = 1) where the check still fails on the cut (and the cut is ``fair``); else as they are.

    Hypothesis shrinks values well but rarely drops an axis, since the arrays' entries are drawn
    after their sizes: a failure that needs one Wh entry and one dh entry comes back at N = D = H = 2.
    Every choice of one index per axis is tried, in order (at most 3³ runs of the check); the first
    that fails is kept. Smaller examples are easier to read, and tiny ones are explained by
    ``checks.engine.run.symbolic``.
    """
    problems = [name for name, value in arguments.items() if isinstance(value, RNNProblem)]
    if all(arguments[name].dims.N == arguments[name].dims.D == arguments[name].dims.H == 1 for name in problems):
        return arguments  # nothing to cut (or no RNN problem)
    N, _, D, H = arguments[problems[0]].dims
    for n, d, h in itertools.product(range(N), range(D), range(H)):
        cut = {**arguments, **{name: one_unit(arguments[name], n, d, h) for name in problems}}
        if fails_fairly(check, sub, cut, fair):
            return cut
    return arguments


def one_unit(p: RNNProblem, n: int, d: int, h: int) -> RNNProblem:
    """The sub-problem of example n, input feature d and hidden unit h: x (1, T, 1), h0 (1, 1), dh (1, T, 1)."""
    if p.dims.N <= n or p.dims.D <= d or p.dims.H <= h:
        return p
    return RNNProblem(x=p.x[n:n + 1, :, d:d + 1].copy(), h0=p.h0[n:n + 1, h:h + 1].copy(),
                      Wx=p.Wx[d:d + 1, h:h + 1].copy(), Wh=p.Wh[h:h + 1, h:h + 1].copy(), b=p.b[h:h + 1].copy(),
                      dh=p.dh[n:n + 1, :, h:h + 1].copy())

