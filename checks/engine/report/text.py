"""Wording shared by every report: points, a check's verdict, groups, clipping, and the instructor's notes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence

from checks.engine.inputs.display import shorten, shown
from checks.engine.run.results import CheckResult, Grade
from checks.registry import Check

OUTPUT_HEADING = "What your code printed during this check:"
# Characters no report should carry as they are: C0 controls but tab, newline and return (an ANSI
# escape would recolour a CI log; XML 1.0 cannot hold them at all), DEL, lone surrogates (not
# encodable as UTF-8), and U+FFFE/U+FFFF (not characters).
INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def submission_id(grade: Grade) -> str:
    """The submission's name in reports: its id in a class, else its file or folder name."""
    return grade.id or grade.submission.name


def total_line(grade: Grade) -> str:
    """One line for --quiet: the total, the submission, the profile and the seed."""
    return (
        f"{points_text(grade.score, grade.max_score)} points: {submission_id(grade)} "
        f"(profile {grade.profile}, seed {grade.seed})"
    )


def points_text(earned: float, available: float) -> str:
    return f"{number_text(earned)} / {number_text(available)}"


def number_text(value: float) -> str:
    """5 -> "5", 2.5 -> "2.5", 10/3 -> "3.33": points read as points, not as floats."""
    return f"{round(value, 2):g}"


def mark(result: CheckResult) -> str:
    """PASS, PART (partial credit), FAIL or ERROR (the check is broken); plain ASCII, since graders
    run in C-locale containers."""
    if result.status == "error":
        return "ERROR"
    if result.passed:
        return "PASS"
    return "PART" if result.score > 0 else "FAIL"


def by_group(results: list[CheckResult]) -> Iterator[tuple[str, list[CheckResult]]]:
    """Groups in order of first appearance (load_checks sorts them), each with its results."""
    groups: dict[str, list[CheckResult]] = {}
    for result in results:
        groups.setdefault(result.check.group, []).append(result)
    yield from groups.items()


def group_points(results: list[CheckResult]) -> str:
    return points_text(sum(r.score for r in results), sum(r.check.points for r in results))


def broken_checks(grade: Grade) -> list[str]:
    """The checks that could not be run because their own code is broken (not the submission's fault)."""
    return [result.check.name for result in grade.results if result.status == "error"]


def visible(text: str) -> str:
    """``text`` with each ``INVISIBLE`` character written out as Python writes it: ``\\x1b``, ``\\ud800``."""
    return INVISIBLE.sub(lambda match: ascii(match.group())[1:-1], text)


def clip(text: str, limit: int) -> str:
    """``text`` cut at a line's end to about ``limit`` characters, saying how much was left out."""
    return shorten(text, limit)


def within_budget(build: Callable[[int], object], budget: int, size: Callable[[object], int] | None = None,
                  floor: int = 200) -> object:
    """``build(limit)`` for the largest halving of 8000 whose result fits ``budget`` bytes.

    ``limit`` bounds each piece of per-check text; ``size`` measures a result (default: its JSON
    encoding). Below ``floor`` characters a check's text says too little to be worth shrinking further
    (``floor=0``: down to ``build(0)``, which must fit).
    """
    measure = size or (lambda document: len(json.dumps(document).encode()))
    limit = 8000
    while True:
        document = build(limit)
        if measure(document) <= budget or limit <= floor:
            return document
        limit //= 2


LEFT_OUT_REASON = "the reference solution, which is not shipped to students"


def left_out_lines(left_out: Sequence[Check]) -> list[str]:
    """What a self-check did not run, and why (nothing for a full grade)."""
    if not left_out:
        return []
    count = f"1 check ({number_text(left_out[0].points)} points) compares" if len(left_out) == 1 else \
        f"{len(left_out)} checks ({number_text(sum(c.points for c in left_out))} points) compare"
    return ["self-check: the total is out of the checks that need no reference solution",
            f"left out: {count} with {LEFT_OUT_REASON}: {', '.join(f'{c.group}/{c.name}' for c in left_out)}"]


FILES_LEFT_OUT_HEADING = "Some files of your submission were left out, so they were not graded:"
NOTEBOOK_HEADING = "Your notebook was read as Python: only its definitions were graded, nothing else was run:"


def files_left_out_lines(grade: Grade) -> list[str]:
    """What of the submission was not copied for grading, and why (``checks.engine.inputs.intake``); nothing
    when the import error already says it. A notebook's account of its cells (``checks.engine.inputs.notebook``)
    comes by the same path, under a heading of its own."""
    if not grade.files_left_out or grade.import_error:
        return []
    heading = NOTEBOOK_HEADING if grade.submission.suffix == ".ipynb" else FILES_LEFT_OUT_HEADING
    return [heading, *(f"- {note}" for note in grade.files_left_out)]


def instructor_notes(grade: Grade) -> list[str]:
    """What the instructor should know and students need not: protections missing, modules to provide,
    feedback left out because it raised (``runner.best_effort``)."""
    notes = [f"missing protection: {layer.title}: {layer.detail}" for layer in grade.sandbox.missing]
    notes += [*(note for result in grade.results for note in result.feedback_left_out), *grade.feedback_left_out]
    if grade.missing_module and grade.missing_module.partition(".")[0] == "torch":
        notes.append("the submission imports torch: grade PyTorch code with --assignment cs231n-pytorch or "
                     "torch-cells (with torch installed: pip install 'rnn-grade[torch]')")
    elif grade.missing_module:  # the submission's text: one escaped line, never a forged line of stderr
        notes.append(f"the submission imports '{shown(grade.missing_module)}', which the worker could not find: if "
                     "the course provides it, pass its folder with --path FOLDER, or allow an installed package with "
                     f"--allow-package {shown(grade.missing_module.partition('.')[0])}")
    return notes
