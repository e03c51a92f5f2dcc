"""Finite differences of a student's own column-major forward against their backward (checks/dlai.py), through
``checks.gradcheck``'s verdict and tolerance.

The course's forward takes a parameters dict, and its backward returns a gradient dict keyed "d" + name
("dWax", "dxt", "da0"). Finite differences move the arrays by name: the forward's array arguments (x, a0, …)
and the parameters the backward differentiates (Wax, Waa, ba for the RNN; Wf, bf, … for the LSTM). The output
weights (Wya, by; Wy, by) are never moved: y is not differentiated, as in the course. The objective is
L = Σ⟨a, da⟩ (+ ⟨c_next, dc_next⟩ for the LSTM step), the loss whose gradient the upstream arguments are.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from checks.engine.isolation.column_major import ARGUMENTS, FORWARD_OF, GRADIENTS, ColumnMajor, names
from checks.gradcheck import assert_gradients_match_finite_differences, weighted_sums


def flat_arguments(forward: str, args: tuple, moved: Sequence[str]) -> dict[str, np.ndarray]:
    """The arrays finite differences move, by name: the forward's array arguments, then the ``moved`` parameters."""
    *arrays, parameters = args
    flat = dict(zip(ARGUMENTS[forward][:-1], arrays))
    return {**flat, **{name: parameters[name] for name in moved}}


def rebuilt(forward: str, flat: dict[str, np.ndarray], parameters: dict[str, np.ndarray]) -> tuple:
    """The forward's argument tuple from a flat dict: its arrays, and ``parameters`` with the moved entries replaced."""
    arrays = [flat[name] for name in ARGUMENTS[forward][:-1]]
    return (*arrays, {**parameters, **{k: v for k, v in flat.items() if k in parameters}})


def gradient_key(backward: str, name: str) -> str:
    """The course's key of the gradient of argument ``name``: "d" + name ("dxt", "da_prev", "dWax", "da0")."""
    key = f"d{name}"
    assert key in names(GRADIENTS[backward]), (backward, name)  # the tables agree (a grader bug otherwise)
    return key


def assert_backward_matches_own_forward(sub, backward: str, args: tuple, upstream: tuple[np.ndarray, ...],
                                        moved: Sequence[str], seed: int) -> None:
    """The student's ``backward`` (gradients of every moved array) against central differences of their own
    forward, for L = Σ_k ⟨output_k, upstream_k⟩ over the outputs it differentiates (``DIFFERENTIATED``).

    - args: the forward's arguments (arrays…, parameters dict); upstream: (da,) or (da_next, dc_next)
    - moved: the parameters' names the backward differentiates (the others stay fixed)

    Round trips: forward (its cache kept), backward, and the joint ± pair; a failure localises in one more.
    """
    forward = FORWARD_OF[backward]
    view = ColumnMajor(sub)
    *_, cache = view.forward(forward, args)
    gradients = view.backward(backward, upstream, cache)
    flat = flat_arguments(forward, args, moved)
    parameters = args[-1]
    evaluate = lambda calls: view.many(forward, [rebuilt(forward, c, parameters) for c in calls])  # noqa: E731
    keys = {name: gradient_key(backward, name) for name in flat}
    assert_gradients_match_finite_differences(
        evaluate, flat, {name: gradients[key] for name, key in keys.items()},
        lambda output: weighted_sums(output, upstream), seed,
        gradient_names={name: f"gradients[{key!r}]" for name, key in keys.items()})

