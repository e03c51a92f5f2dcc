"""Finite differences against backprop, for any function the submission computes.

The property: for a scalar objective L(θ), every gradient a submission's backward returns must
agree with central differences of the submission's *own* forward,

    ⟨∇L, v⟩  ≈  (L(θ + εv) − L(θ − εv)) / 2ε        for probe directions v,

which needs no reference at all.

A verdict at the limit. One direction v, joint over all inputs, v_θ = s_θ·z_θ with z_θ standard
Gaussian and s_θ the root mean square of input θ (1 if θ is zero): the step is relative to each
input's own scale. If any gradient is wrong, ⟨∇L − g, v⟩ ≠ 0 with probability 1, so one ± pair
detects it. A passing verdict costs one forward for the cache, the backward, and that pair: 3
forward evaluations, all in one round trip (``Submission.batch``).

Only on failure is it localised, in one more round trip: a ± pair along v_θ for each input alone
(which gradients are wrong; partial credit is the share of correct ones), and on small problems
(at most ``COORDINATE_LIMIT`` = 32 coordinates in all) every unit vector too, so the message and
``failure.discrepancies`` name exact entries ("dWh[1, 0]: backprop 0.12, finite differences 0.43").

Tolerance, with ε = 1e-6 in float64 (unit roundoff u ≈ 1.1e-16). The error of a correct
gradient along a probe d has three parts:

- rounding in L: L(θ ± εd) are each off by about u·Σ|terms of L|, which the quotient divides by
  ε: about 1e-10·Σ|terms|;
- rounding of the inputs: θ_k ± εd_k is stored with an error up to u·|θ_k|, which moves L by
  g_k·u·|θ_k|, and the quotient divides by ε: at most 1e-10·Σ_k |g_k|·|θ_k| over d's support.
  A joint direction sums this over every input (and the rounding in L once), which is why the
  allowance grows with Σ over all of them;
- truncation: ε²/6·L'''[d, d, d], about 1e-12·|d|²·|L'| relative for these tanh networks
  (|d|² up to a few thousand on the LONG example): below 1e-8 relative.

We allow FD_RTOL·(|fd| + |bp|) + FD_ATOL·(1 + Σ|terms| + Σ|g|·|θ|) with FD_RTOL = 1e-7 and
FD_ATOL = 1e-8: a hundred times the rounding bound (on correct implementations the measured error
stays below 4e-11·(1 + Σ|terms| + Σ|g|·|θ|) at the default sizes and on LONG) and ten times the
truncation. A relative part as loose as 1e-5 would let the sum of thousands of other coordinates'
contributions drown one wrong entry; at 1e-7 a 1% error in a single entry of dWh is still caught
on all but ~0.2% of examples (those where that entry's z is tiny), and every check runs dozens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from hypothesis import strategies as st

from checks.engine.isolation.batch_calls import CacheOf
from checks.engine.isolation.contract_returns import RETURNS
from checks.finite_differences import difference_quotient, perturbed_pair
from checks.verdicts import Discrepancy, PartialFailure, how_many_wrong

EPS = 1e-6
FD_RTOL = 1e-7
FD_ATOL = 1e-8
COORDINATE_LIMIT = 32
DISCREPANCIES_KEPT = 5

Objective = Callable[[object], tuple[float, float]]  # one forward output -> (L, Σ|terms of L|)


def probe_seeds() -> st.SearchStrategy[int]:
    """Seeds (0 … 2**32 − 1) for the random probe direction of one example."""
    return st.integers(0, 2**32 - 1)


@dataclass(frozen=True)
class Probe:
    """A direction v, by input name (inputs left out are not moved); ``index`` is set for unit vectors."""

    direction: Mapping[str, np.ndarray]
    index: tuple[int, ...] | None = None

    @property
    def name(self) -> str:
        """The one input a localising probe moves."""
        (name,) = self.direction
        return name


@dataclass(frozen=True)
class Comparison:
    """Backprop's ⟨g, v⟩ against the central difference along one probe, and the error allowed."""

    probe: Probe
    bp: float
    fd: float
    allowed: float

    @property
    def excess(self) -> float:
        """How far past the tolerance the disagreement is (≤ 1 agrees)."""
        return abs(self.fd - self.bp) / self.allowed

    @property
    def agrees(self) -> bool:
        return abs(self.fd - self.bp) <= self.allowed


def joint_direction(inputs: Mapping[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """v_θ = rms(θ)·z_θ, z standard Gaussian from ``seed``, for every input θ (same shapes)."""
    rng = np.random.default_rng(seed)
    return {name: magnitude(a) * rng.standard_normal(np.shape(a)) for name, a in inputs.items()}


def magnitude(a: np.ndarray) -> float:
    """Root mean square of ``a``, or 1 for an all-zero (or empty) array."""
    rms = float(np.sqrt(np.mean(np.square(a)))) if np.size(a) else 0.0
    return rms if rms > 0 else 1.0


def localising_probes(direction: Mapping[str, np.ndarray]) -> list[Probe]:
    """v_θ for each input alone; and on small problems every unit vector too."""
    probes = [Probe({name: v}) for name, v in direction.items()]
    if sum(v.size for v in direction.values()) <= COORDINATE_LIMIT:
        probes += [Probe({name: unit(v.shape, i)}, i) for name, v in direction.items() for i in np.ndindex(v.shape)]
    return probes


def unit(shape: tuple[int, ...], index: tuple[int, ...]) -> np.ndarray:
    e = np.zeros(shape)
    e[index] = 1.0
    return e


def perturbed_arguments(arguments: Mapping[str, np.ndarray], probes: Sequence[Probe]) -> list[dict]:
    """For each probe, the argument dicts at θ + εv and θ − εv (in that order)."""
    calls = []
    for probe in probes:
        pairs = {name: perturbed_pair(arguments[name], v, EPS) for name, v in probe.direction.items()}
        for side in (0, 1):
            calls.append({**arguments, **{name: pair[side] for name, pair in pairs.items()}})
    return calls


def compare(probe: Probe, outputs: Sequence, arguments: Mapping[str, np.ndarray],
            gradients: Mapping[str, np.ndarray], objective: Objective) -> Comparison:
    """The probe's comparison, from the forward outputs at θ + εv and θ − εv (see the tolerance above)."""
    (L_plus, size_plus), (L_minus, size_minus) = objective(outputs[0]), objective(outputs[1])
    fd = difference_quotient(L_plus, L_minus, EPS)
    bp = sum(float(np.sum(gradients[name] * v)) for name, v in probe.direction.items())
    input_rounding = sum(float(np.sum(np.abs(gradients[name] * arguments[name]) * (v != 0)))
                         for name, v in probe.direction.items())
    allowed = FD_RTOL * (abs(fd) + abs(bp)) + FD_ATOL * (1 + max(size_plus, size_minus) + input_rounding)
    return Comparison(probe, bp, fd, allowed)


def assert_gradients_match_finite_differences(
    evaluate_many: Callable[[list[dict]], list],
    arguments: dict[str, np.ndarray],
    gradients: Mapping[str, np.ndarray],
    objective: Objective,
    seed: int,
    gradient_names: Mapping[str, str] | None = None,
    joint_outputs: Sequence | None = None,
) -> None:
    """Fail, with partial credit per input, where backprop disagrees with finite differences.

    - evaluate_many: runs the submission's forward on a list of argument dicts (one round trip)
    - arguments: the inputs θ, by argument name
    - gradients: the submission's dL/dθ for the inputs to probe, by argument name
    - objective: maps one forward output to (L, Σ|terms of L|), the scale of its rounding error
    - seed: for the joint direction (``joint_direction(inputs, seed)``)
    - gradient_names: how to call each gradient in messages (default "d" + name)
    - joint_outputs: the forward outputs at θ ± εv for that direction, if already evaluated
      (``backprop_and_joint_pair``); else evaluate_many computes them first

    One round trip if the gradients agree (none at all with joint_outputs), two if not.
    """
    direction = joint_direction({name: arguments[name] for name in gradients}, seed)
    joint = Probe(direction)
    if joint_outputs is None:
        joint_outputs = evaluate_many(perturbed_arguments(arguments, [joint]))
    if compare(joint, joint_outputs, arguments, gradients, objective).agrees:
        return
    probes = localising_probes(direction)
    outputs = evaluate_many(perturbed_arguments(arguments, probes))
    comparisons = [compare(p, outputs[2 * k:2 * k + 2], arguments, gradients, objective) for k, p in enumerate(probes)]
    raise disagreement(comparisons, list(gradients), gradient_names or {})


def disagreement(comparisons: Sequence[Comparison], names: Sequence[str], labels: Mapping[str, str]) -> PartialFailure:
    """The failure for a joint direction that disagreed, from the localising comparisons.

    An input is wrong if its own direction or one of its unit vectors disagrees; if none does
    alone (contributions each just inside the tolerance, adding up past it), the one closest to
    failing is blamed.
    """
    wrong = {c.probe.name for c in comparisons if not c.agrees}
    if not wrong:
        wrong = {max(comparisons, key=lambda c: c.excess).probe.name}
    label = lambda name: labels.get(name, "d" + name)  # noqa: E731 - a one-line lookup
    entries = sorted((c for c in comparisons if c.probe.index is not None and not c.agrees),
                     key=lambda c: c.excess, reverse=True)
    lines = [f"{how_many_wrong(len(wrong), len(names), 'gradient')}, compared with finite differences of your "
             "own forward pass:"]
    for name in (n for n in names if n in wrong):
        worst_entry = next((c for c in entries if c.probe.name == name), None)
        whole = next(c for c in comparisons if c.probe.name == name and c.probe.index is None)
        lines.append(f"  {describe_disagreement(label(name), worst_entry or whole)}")
    right = [name for name in names if name not in wrong]
    if right:
        lines.append("  correct: " + ", ".join(map(label, right)))
    failure = PartialFailure("\n".join(lines), credit=len(right) / len(names))
    failure.discrepancies = [Discrepancy(label(c.probe.name), c.probe.index, c.fd, c.bp)
                             for c in entries[:DISCREPANCIES_KEPT]]
    return failure


def describe_disagreement(label: str, comparison: Comparison) -> str:
    bp, fd = comparison.bp, comparison.fd
    if comparison.probe.index is not None:
        where = f"{label}[{', '.join(map(str, comparison.probe.index))}]"
        return f"{where}: backprop gives {bp:.6g}, finite differences give {fd:.6g}"
    return (f"{label}: along a random direction v, ⟨{label}, v⟩ = {bp:.6g} but "
            f"(L(θ+εv) − L(θ−εv))/2ε = {fd:.6g}")


def assert_backprop_matches_own_forward(
    sub,
    forward: str,
    backward: str,
    inputs: dict[str, np.ndarray],
    upstream: np.ndarray | tuple[np.ndarray, ...],
    seed: int,
    gradient_names: Sequence[str],
    constants: Sequence[str] = (),
) -> None:
    """The common case: L = Σ output ⊙ upstream of the submission's own ``forward`` (h, next_h, …).

    Forward, ``backward(*upstream, cache)`` and the joint ± pair go in one round trip.

    - inputs: the forward's arguments, by name, in call order
    - upstream: dL/d(output), of the output's shape; or, for a forward returning several arrays (the
      LSTM step's next_h and next_c), a tuple of one upstream gradient per array:
      L = Σ_k Σ output_k ⊙ upstream_k
    - gradient_names: what the backward calls its results, in the order of ``inputs`` less ``constants``
      ("dx", "dh0", …)
    - constants: inputs the backward gives no gradient for and finite differences never move (the
      embedding's word indices)
    """
    upstreams = upstream if isinstance(upstream, tuple) else (upstream,)
    moved = {name: a for name, a in inputs.items() if name not in constants}
    joint = Probe(joint_direction(moved, seed))
    plus, minus = perturbed_arguments(inputs, [joint])
    _, gradients, out_plus, out_minus = sub.batch([
        (forward, tuple(inputs.values())), (backward, (*upstreams, CacheOf(0))),
        (forward, tuple(plus.values())), (forward, tuple(minus.values()))])
    assert_gradients_match_finite_differences(
        sub.evaluator(forward), inputs, dict(zip(moved, gradients)), lambda output: weighted_sums(output, upstreams),
        seed, gradient_names=dict(zip(moved, gradient_names)),
        joint_outputs=(differentiated_outputs(forward, out_plus), differentiated_outputs(forward, out_minus)))


def differentiated_outputs(forward: str, result: tuple) -> np.ndarray | tuple[np.ndarray, ...]:
    """A forward's validated result without its cache, as ``Submission.evaluator`` gives it: one array
    alone, several as a tuple."""
    arrays = tuple(item for spec, item in zip(RETURNS[forward], result) if spec != "cache")
    return arrays[0] if len(arrays) == 1 else arrays


def weighted_sums(output: np.ndarray | tuple[np.ndarray, ...], upstreams: tuple[np.ndarray, ...]) -> tuple[float, float]:
    """L = Σ_k Σ output_k ⊙ upstream_k over a forward's arrays (one, or a tuple); and Σ|terms|."""
    outputs = output if isinstance(output, tuple) else (output,)
    sums = [weighted_sum(o, u) for o, u in zip(outputs, upstreams)]
    return sum(L for L, _ in sums), sum(size for _, size in sums)


def assert_loss_gradients_match_finite_differences(
    sub,
    function: str,
    arguments: dict[str, np.ndarray],
    gradient_names: Sequence[str],
    seed: int,
) -> None:
    """For a function returning (loss, grads) (``rnn_classifier_loss``): grads[name] = dloss/d(name).

    The call and the joint ± pair go in one round trip.

    - arguments: the function's arguments, by name, in call order
    - gradient_names: the arguments whose gradients are checked (keys of grads)
    """
    joint = Probe(joint_direction({name: arguments[name] for name in gradient_names}, seed))
    plus, minus = perturbed_arguments(arguments, [joint])
    (_, grads), (loss_plus, _), (loss_minus, _) = sub.batch(
        [(function, tuple(a.values())) for a in (arguments, plus, minus)])
    assert_gradients_match_finite_differences(
        sub.evaluator(function), arguments, {name: grads[name] for name in gradient_names},
        lambda loss: (loss, abs(loss)), seed, gradient_names={name: f"grads[{name!r}]" for name in gradient_names},
        joint_outputs=(loss_plus, loss_minus))


def weighted_sum(output: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """L = Σ output ⊙ weights, the objective whose gradient is the upstream ``weights``; and Σ|terms|."""
    terms = output * weights
    return float(np.sum(terms)), float(np.sum(np.abs(terms)))
