"""The grading policy: how a failing check turns into lost points.

A points file may set it in a ``[policy]`` table; every check graded with that file follows it.

``partial_credit``
    ``"per_output"`` (default): a check comparing several outputs (dx, dh0, dWx, dWh, db) earns
    the share that is right, so one wrong gradient costs a fifth of the check, not all of it.
    ``"all_or_nothing"``: any failure scores 0.
``shape_mistakes``
    ``"charged_once"`` (default): an array whose values are right but whose shape differs only by
    axes of length 1 (db of shape (1, H) where (H,) is due: keepdims) is compared by value in every
    check, and charged once, in hygiene's exact-shape check. ``"every_check"``: every check that
    receives it fails (the behaviour before policies existed).

Why these defaults: a shape slip is one mistake, visible at a glance in its message; charged in
every backward and tanh check it cost 20 points, four times a genuinely wrong dWh, which computes
wrong numbers. A bug in the values is still charged in every check whose property it breaks,
since each check tests a different property and a bug that breaks more of them is a bigger bug.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

PARTIAL_CREDIT = ("per_output", "all_or_nothing")
SHAPE_MISTAKES = ("charged_once", "every_check")
CHOICES = {"partial_credit": PARTIAL_CREDIT, "shape_mistakes": SHAPE_MISTAKES}


@dataclass(frozen=True)
class Policy:
    """How the checks of one points file are scored (see the module's docstring)."""

    partial_credit: str = "per_output"
    shape_mistakes: str = "charged_once"

    @property
    def gives_partial_credit(self) -> bool:
        return self.partial_credit == "per_output"

    @property
    def charges_shape_once(self) -> bool:
        return self.shape_mistakes == "charged_once"


DEFAULT_POLICY = Policy()


def policy_problem(key: str, value: object) -> str | None:
    """Why ``key = value`` is not a valid line of a ``[policy]`` table, or None."""
    if key not in CHOICES:
        return f"unknown policy setting {key!r}; the settings are {', '.join(f.name for f in fields(Policy))}"
    if value not in CHOICES[key]:
        return f"{key} = {value!r}: use one of {', '.join(repr(choice) for choice in CHOICES[key])}"
    return None
