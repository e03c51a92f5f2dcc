"""Misconception models: variants of the reference that each make one known mistake.

When a check fails, diagnosis (``checks.engine.run.diagnosis``) replays the failing calls on every
model; a misconception is named only when the student's wrong outputs are exactly a model's.

A ``Misconception`` is one variant of one mistake: its id (the same id may have several
variants, e.g. weights overwritten for dWx, dWh or db), the reference functions it replaces,
and one sentence for the student. ``{outputs}`` in the sentence becomes the wrong outputs
("dWh", "dx and dh0") and ``{equal}`` agrees with them ("equals", "equal").

Some mistakes are seen in the calls themselves rather than through a model (an input changed
in place, an array off by an axis of length 1): their sentences are in ``SEEN_IN_CALLS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

from . import batching, bidirectional, classifier, clipping, embedding, gated, sequences, steps, truncation
from .composition import affected, compose


@dataclass(frozen=True)
class Misconception:
    """One variant of one known mistake.

    - id: the mistake's id, e.g. "no-recurrent-carry" (shared by its variants)
    - variant: what this variant does differently, for the course's staff
    - explanation: one sentence for the student, with {outputs} and {equal} to fill in
    - replaces: the reference functions it replaces, by name
    """

    id: str
    variant: str
    explanation: str
    replaces: dict[str, Callable] = field(hash=False, compare=False)

    @cached_property
    def functions(self) -> dict[str, Callable]:
        """The model as a whole submission: every reference function, the replaced ones changed."""
        return compose(self.replaces)

    @cached_property
    def affects(self) -> frozenset[str]:
        """The contract functions whose outputs this mistake can change (callers included)."""
        return affected(self.replaces)


def _collect() -> tuple[Misconception, ...]:
    models = []
    for module in (steps, sequences, truncation, clipping, bidirectional, classifier, batching, gated, embedding):
        for id, variant, explanation, replaces in module.MODELS:
            models.append(Misconception(id, variant, explanation, replaces))
    return tuple(models)


LIBRARY: tuple[Misconception, ...] = _collect()

# Mistakes seen directly in the calls (checks.engine.run.diagnosis), with their sentences.
SEEN_IN_CALLS: dict[str, str] = {
    "mutates-input": "your {function} changes the caller's {argument} in place; work on a copy instead",
    "shape-keepdims": "your {outputs} {has} an extra axis of length 1 (as keepdims=True gives) where the "
                      "shape {shape} is due",
    "degenerate-size-squeeze": "your {outputs} {has} lost an axis of length 1 (as np.squeeze does) where "
                               "the shape {shape} is due",
    "scalar-where-array-due": "your {outputs} {is} a 0-d scalar where an array of shape {shape} is due",
}

IDS: frozenset[str] = frozenset(m.id for m in LIBRARY) | frozenset(SEEN_IN_CALLS)
