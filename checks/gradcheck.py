"""Finite differences against backprop, for any function the submission computes.

The property: for a scalar objective L(θ), every gradient a submission's backward returns must
agree with central differences of the submission's *own* forward,

    ⟨dθ, v⟩  ≈  (L(θ + εv) − L(θ − εv)) / 2ε        for probe directions v,

which needs no reference at all. Two kinds of probe directions:

- on small problems (at most ``COORDINATE_LIMIT`` = 32 coordinates in all), every unit vector, so a
  failure names the exact entry ("dWh[1, 0]: backprop 0.12, finite differences 0.43");
- on larger ones, ``RANDOM_PROBES`` random ±1 directions per input. Each compares a whole
  gradient at once and cannot be fooled the way PyTorch's lenient "fast mode" gradcheck was: the
  tolerance stays tight.

All perturbed forwards of one example go to the worker in one round trip.

Tolerance, with ε = 1e-6 in float64 (unit roundoff u ≈ 1.1e-16): truncation error ε²/6·|L'''|
≈ 1e-13 for these well-scaled problems; rounding error ≈ u·Σ|terms of L|/ε ≈ 1e-10·Σ|terms|.
We allow FD_RTOL·(|fd| + |bp|) + FD_ATOL·(1 + Σ|terms|) with FD_RTOL = 1e-5, FD_ATOL = 1e-7:
about a thousand times the rounding error, and far below what any real gradient bug changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from hypothesis import strategies as st

from checks.finite_differences import difference_quotient, perturbed_pair
from checks.verdicts import PartialFailure

EPS = 1e-6
FD_RTOL = 1e-5
FD_ATOL = 1e-7
COORDINATE_LIMIT = 32
RANDOM_PROBES = 3


def probe_seeds() -> st.SearchStrategy[int]:
    """Seeds (0 … 2**32 − 1) for the random probe directions of one example."""
    return st.integers(0, 2**32 - 1)


@dataclass(frozen=True)
class Probe:
    """One direction v in the space of input ``name``; ``index`` is set for unit vectors."""

    name: str
    direction: np.ndarray
    index: tuple[int, ...] | None = None


def probes(inputs: Mapping[str, np.ndarray], seed: int) -> list[Probe]:
    """Unit vectors for every coordinate when the problem is small, else random ±1 directions."""
    if sum(a.size for a in inputs.values()) <= COORDINATE_LIMIT:
        return [Probe(name, unit(a.shape, i), i) for name, a in inputs.items() for i in np.ndindex(a.shape)]
    rng = np.random.default_rng(seed)
    return [Probe(name, rng.choice([-1.0, 1.0], size=a.shape)) for name, a in inputs.items()
            for _ in range(RANDOM_PROBES)]


def unit(shape: tuple[int, ...], index: tuple[int, ...]) -> np.ndarray:
    e = np.zeros(shape)
    e[index] = 1.0
    return e


def perturbed_arguments(arguments: dict[str, np.ndarray], probe_list: Sequence[Probe]) -> list[dict]:
    """For each probe, the argument dicts at θ + εv and θ − εv (in that order)."""
    calls = []
    for probe in probe_list:
        for point in perturbed_pair(arguments[probe.name], probe.direction, EPS):
            calls.append({**arguments, probe.name: point})
    return calls


def assert_gradients_match_finite_differences(
    evaluate_many: Callable[[list[dict]], list],
    arguments: dict[str, np.ndarray],
    gradients: Mapping[str, np.ndarray],
    objective: Callable[[object], tuple[float, float]],
    seed: int,
    gradient_names: Mapping[str, str] | None = None,
) -> None:
    """Fail, with partial credit per input, where backprop disagrees with finite differences.

    - evaluate_many: runs the submission's forward on a list of argument dicts (one round trip)
    - arguments: the inputs θ, by argument name
    - gradients: the submission's dL/dθ for the inputs to probe, by argument name
    - objective: maps one forward output to (L, Σ|terms of L|), the scale of its rounding error
    - gradient_names: how to call each gradient in messages (default "d" + name)
    """
    inputs = {name: arguments[name] for name in gradients}
    probe_list = probes(inputs, seed)
    outputs = evaluate_many(perturbed_arguments(arguments, probe_list))
    problems: dict[str, str] = {}
    for k, probe in enumerate(probe_list):
        (L_plus, size_plus), (L_minus, size_minus) = objective(outputs[2 * k]), objective(outputs[2 * k + 1])
        fd = difference_quotient(L_plus, L_minus, EPS)
        bp = float(np.sum(gradients[probe.name] * probe.direction))
        allowed = FD_RTOL * (abs(fd) + abs(bp)) + FD_ATOL * (1 + max(size_plus, size_minus))
        if abs(fd - bp) > allowed and probe.name not in problems:
            label = (gradient_names or {}).get(probe.name, "d" + probe.name)
            problems[probe.name] = describe_disagreement(label, probe, bp, fd)
    if problems:
        right = [name for name in gradients if name not in problems]
        lines = [f"{len(problems)} of {len(gradients)} gradients disagree with finite differences of "
                 "your own forward pass:", *(f"  {text}" for text in problems.values())]
        if right:
            lines.append("  agreeing: " + ", ".join((gradient_names or {}).get(n, "d" + n) for n in right))
        raise PartialFailure("\n".join(lines), credit=len(right) / len(gradients))


def assert_backprop_matches_own_forward(
    sub,
    forward: str,
    inputs: dict[str, np.ndarray],
    gradients: Mapping[str, np.ndarray],
    upstream: np.ndarray,
    seed: int,
    gradient_names: Sequence[str],
) -> None:
    """The common case: L = Σ output ⊙ upstream of the submission's own ``forward`` (h, next_h, …).

    - inputs: the forward's arguments, by name, in call order
    - gradients: the backward's results, by input name
    - gradient_names: what the backward calls them, in the order of ``inputs`` ("dx", "dh0", …)
    """
    assert_gradients_match_finite_differences(
        sub.evaluator(forward), inputs, gradients, lambda output: weighted_sum(output, upstream), seed,
        gradient_names=dict(zip(inputs, gradient_names)))


def describe_disagreement(label: str, probe: Probe, bp: float, fd: float) -> str:
    if probe.index is not None:
        where = f"{label}[{', '.join(map(str, probe.index))}]"
        return f"{where}: backprop gives {bp:.6g}, finite differences give {fd:.6g}"
    return (f"{label}: along a random ±1 direction v, ⟨{label}, v⟩ = {bp:.6g} but "
            f"(L(θ+εv) − L(θ−εv))/2ε = {fd:.6g}")


def weighted_sum(output: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """L = Σ output ⊙ weights, the objective whose gradient is the upstream ``weights``; and Σ|terms|."""
    terms = output * weights
    return float(np.sum(terms)), float(np.sum(np.abs(terms)))
