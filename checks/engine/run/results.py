"""What grading one submission produces: a result per check, and the grade that holds them.

Every report format renders a ``Grade`` (through ``checks.engine.report.model``); nothing else
crosses from grading to reporting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from checks.engine.inputs.display import shown
from checks.engine.isolation.confinement import Confinement
from checks.engine.run.counterexample import Counterexample
from checks.registry import Check


# A check's message is the check's own text (a verdict and its worst entries, some 20 lines); the
# example, the misconception and the repro are kept beside it. 3000 characters keep such a message
# whole and bound what an exception message the submission makes up can cost every report.
MESSAGE_LIMIT = 3000


@dataclass
class CheckResult:
    check: Check
    score: float
    message: str = ""  # for the student
    output: str = ""
    seconds: float = 0.0
    grader_error: str | None = None  # for the course's staff: the check's own code raised, where and what
    # Feedback on a failing check, added after it is scored (all for the student):
    example: Counterexample | None = None  # the simplest failing example found, with its calls
    misconception: str | None = None  # id of the misconception model that matches (checks.engine.run.diagnosis)
    misconception_explanation: str = ""  # one sentence saying what that model gets wrong
    symbolic_text: str = ""  # on a tiny example, the SymPy expression of the expected entry, as text
    symbolic_latex: str = ""  # ... and as LaTeX (Markdown reports)
    repro_script: str = ""  # a standalone script that reproduces the failure (checks.engine.run.repro)
    repro_path: str = ""  # where --repro-dir wrote it
    consequence_of: str = ""  # the more basic failing function this failure probably follows from
    cut_short_by: str = ""  # the function that hung (or crashed twice) earlier, whose refusal cut this check short
    feedback_left_out: list[str] = field(default_factory=list)  # for the staff: feedback that raised (best_effort)

    @property
    def passed(self) -> bool:
        # A failure always carries a message; without that test a failing 0-point check "passed".
        return not self.message and self.score >= self.check.points

    @property
    def status(self) -> str:
        """passed, failed, or error (the check itself is broken: not a verdict on the submission)."""
        if self.grader_error:
            return "error"
        return "passed" if self.passed else "failed"


@dataclass
class Grade:
    """Everything a report needs about one graded submission."""

    submission: Path
    profile: str
    seed: int
    results: list[CheckResult] = field(default_factory=list)
    import_error: str | None = None
    seconds: float = 0.0
    worker_calls: int = 0
    sandbox: Confinement = field(default_factory=Confinement)  # the worker's layers, for the instructor
    missing_module: str | None = None  # the import failed for want of this module (instructor advice)
    worker_seconds: float = 0.0
    left_out: tuple[Check, ...] = ()  # not run by a self-check: they need the reference solution
    id: str = ""  # how reports name the submission (class grading: its path in the class folder)
    import_timed_out: bool = False  # the import hung (import_error says so), rather than raised or crashed
    root_cause: RootCause | None = None  # the most basic failing function (checks.engine.run.root_cause)
    feedback_left_out: list[str] = field(default_factory=list)  # for the staff: the root cause, if it raised
    files_left_out: tuple[str, ...] = ()  # files of the submission not copied, each a sentence (checks.engine.inputs.intake)
    examples_key: str = ""  # the key of the class's examples, drawn once, that it was graded on (checks.engine.run.streams)

    def __post_init__(self) -> None:
        self.id = self.id or shown(self.submission.name)  # the file's name: one printable line

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        """What the grade is out of: every check's points but extra credit's (``out_of``)."""
        return out_of(r.check for r in self.results)


def out_of(checks: Iterable[Check]) -> float:
    """The total a grade of ``checks`` is out of: extra-credit checks add to the score only."""
    return sum(check.points for check in checks if not check.extra_credit)


@dataclass(frozen=True)
class RootCause:
    """The most basic failing function, its own failing checks, and the failing checks that build on it."""

    function: str
    checks: tuple[str, ...]  # names of the failing checks whose subject it is
    consequences: tuple[str, ...]  # names of the other failing checks that probably follow from it
    missing: bool = False  # its own checks fail because it is not implemented

    @property
    def line(self) -> str:
        """'Fix rnn_step_backward first: 7 other failing checks call it.' (one line, for the top of a report)."""
        count = len(self.consequences)
        others = "1 other failing check calls it" if count == 1 else f"{count} other failing checks call it"
        return f"{'Implement' if self.missing else 'Fix'} {self.function} first: {others}."

    def as_data(self) -> dict:
        return {"function": self.function, "checks": list(self.checks), "consequences": list(self.consequences)}
