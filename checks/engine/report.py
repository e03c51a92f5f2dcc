"""Reports of a ``Grade``: Gradescope's ``results.json`` and a summary for the terminal.

results.json follows https://gradescope-autograders.readthedocs.io/en/latest/specs/. That spec
documents a fixed set of top-level keys and offers ``extra_data`` for anything else, so the
machine-readable profile and seed go into ``extra_data`` (and, for people, into ``output``).
Every output is declared ``"text"``: the top-level default, ``simple_format``, renders HTML,
and a falsifying example such as ``<submission rnn.py>`` would be swallowed as a tag.

What students see (``output`` and each test's ``output``) is about their code only. Notes for the
instructor (the layers of confinement, what to pass so a missing module is found) go into
``extra_data`` and ``instructor_notes``, which the command line prints on stderr; on Gradescope that
is the autograder's captured output, shown to instructors only: ``stdout_visibility`` is "hidden".

Both reports are deterministic for a given submission, profile and seed, apart from
``execution_time`` (and the timing line of the terminal summary): no timings, temporary paths
or addresses go into the per-check text.
"""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from checks.engine.runner import CheckResult, Grade

# Gradescope keeps results.json small; the runner already caps each message (3000 chars) and each
# check's captured output (4 KB), and this budget guards the whole file whatever the check count.
RESULTS_BYTES_BUDGET = 512 * 1024
TEST_OUTPUT_LIMIT = 8000
OUTPUT_HEADING = "What your code printed during this check:"
WIDTH = 100
POINTS_WIDTH = 13  # "123.45 / 100" fits
MESSAGE_LINES = 2  # of each failing check, in the terminal summary
HYPOTHESIS_NOTES = ("Falsifying", "Failing ", "Trying example")


# -- results.json -------------------------------------------------------------------------------


def gradescope_results(grade: Grade) -> dict:
    """The results.json document for ``grade``, kept under ``RESULTS_BYTES_BUDGET`` when encoded."""
    limit = TEST_OUTPUT_LIMIT
    while True:
        document = _document(grade, limit)
        if len(json.dumps(document).encode()) <= RESULTS_BYTES_BUDGET or limit < 200:
            return document
        limit //= 2


def _document(grade: Grade, output_limit: int) -> dict:
    tests = [_test(result, output_limit) for result in grade.results]
    return {
        "score": round(sum(test["score"] for test in tests), 4),
        "execution_time": int(round(grade.seconds)),
        "output": submission_output(grade),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {
            "submission": grade.id,
            "profile": grade.profile,
            "seed": grade.seed,
            "max_score": round(grade.max_score, 4),
            "import_error": grade.import_error,
            "sandbox": grade.sandbox.as_data(),
            "instructor_notes": instructor_notes(grade),
        },
        "tests": tests,
    }


def _test(result: CheckResult, output_limit: int) -> dict:
    check = result.check
    return {
        "name": f"{check.group}: {check.description}",
        "score": round(result.score, 4),
        "max_score": round(check.points, 4),
        # Gradescope knows only passed and failed; a broken check is told apart in extra_data.
        "status": "passed" if result.passed else "failed",
        "output": _clip(check_output(result), output_limit),
        "tags": [check.group],
        "visibility": "visible",
        "extra_data": {"check": check.name, "status": result.status,
                       **({"grader_error": result.grader_error} if result.grader_error else {})},
    }


def check_output(result: CheckResult) -> str:
    """What a student sees under one check: the verdict, then anything the code printed."""
    parts = []
    if not result.passed:
        parts.append(f"{result.message}\n\nPoints: {points_text(result.score, result.check.points)}")
    if result.output.strip():
        parts.append(f"{OUTPUT_HEADING}\n{result.output.rstrip()}")
    return "\n\n".join(parts)


def submission_output(grade: Grade) -> str:
    """The text at the top of the Gradescope page: who, how, the total, and the group subtotals."""
    lines = [
        f"rnn-grade: {points_text(grade.score, grade.max_score)} points for {grade.id}",
        f"profile: {grade.profile}, seed: {grade.seed}",
    ]
    if grade.import_error:
        lines += ["", "The submission could not be imported, so every check scored 0:", grade.import_error]
    broken = [r.check.name for r in grade.results if r.status == "error"]
    if broken:
        lines += ["", f"{len(broken)} check(s) could not be run because of a fault in the grader, not in your "
                  f"code: {', '.join(broken)}"]
    lines.append("")
    for group, results in _by_group(grade.results):
        lines.append(f"{group}: {points_text(sum(r.score for r in results), sum(r.check.points for r in results))}")
    return "\n".join(lines)


def write_results(grade: Grade, path: Path, extra_data: Mapping[str, Any] | None = None) -> None:
    """Write results.json atomically: a reader (Gradescope) never sees a half-written file.

    ``extra_data`` is merged into the document's own (class grading records its bookkeeping there).
    """
    document = gradescope_results(grade)
    document["extra_data"].update(extra_data or {})
    write_atomically(Path(path), json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` in one rename, creating its folder if need be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder, so os.replace is a rename on one file system. The temporary name is random and
    # created exclusively (O_EXCL, never through a symlink): a submission that guesses a fixed
    # name and plants a link there cannot make a root grader write to the link's target.
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(descriptor, 0o666 & ~current_umask())
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- terminal summary ----------------------------------------------------------------------------


def terminal_summary(grade: Grade, width: int = WIDTH) -> str:
    """A table by group, then check: mark, check name, points; failing checks' first message lines."""
    lines = [f"rnn-grade: {grade.id}   (profile {grade.profile}, seed {grade.seed})", ""]
    if grade.import_error:
        # Wrapped, not cut: the end of this message says what to do (e.g. "pass ... with --path").
        lines += ["The submission could not be imported, so every check scored 0:"]
        for line in grade.import_error.splitlines():
            lines += textwrap.wrap(line, width, initial_indent="    ", subsequent_indent="      ") or [""]
        lines.append("")
    for group, results in _by_group(grade.results):
        earned, available = sum(r.score for r in results), sum(r.check.points for r in results)
        lines.append(_row(group, points_text(earned, available), width))
        for result in results:
            lines += _check_rows(result, width, show_message=not grade.import_error)
        lines.append("")
    lines.append(_row("TOTAL", points_text(grade.score, grade.max_score), width))
    lines.append(f"profile {grade.profile}, seed {grade.seed}; graded in {grade.seconds:.1f} s")
    return "\n".join(lines)


def instructor_notes(grade: Grade) -> list[str]:
    """What the instructor should know and students need not: protections missing, modules to provide."""
    notes = [f"missing protection: {layer.title}: {layer.detail}" for layer in grade.sandbox.missing]
    if grade.missing_module:
        notes.append(f"the submission imports {grade.missing_module!r}, which the worker could not find: if the "
                     "course provides it, pass its folder with --path FOLDER, or allow an installed package with "
                     f"--allow-package {grade.missing_module.partition('.')[0]}")
    return notes


def _check_rows(result: CheckResult, width: int, show_message: bool) -> list[str]:
    rows = [_row(f"  {mark(result)}  {result.check.name}", points_text(result.score, result.check.points), width)]
    if show_message and not result.passed:
        rows += [_fit(f"          {line}", width) for line in headline(result.message)]
    return rows


def headline(message: str) -> list[str]:
    """The first lines of a failure message, before Hypothesis's example (too long for a table)."""
    lines = []
    for line in message.splitlines():
        if line.startswith(HYPOTHESIS_NOTES) or len(lines) == MESSAGE_LINES:
            break
        if line.strip():
            lines.append(line.strip())
    return lines


def mark(result: CheckResult) -> str:
    """PASS, PART (partial credit), FAIL or ERROR (the check is broken); plain ASCII, since graders
    run in C-locale containers."""
    if result.status == "error":
        return "ERROR"
    if result.passed:
        return "PASS"
    return "PART" if result.score > 0 else "FAIL"


def total_line(grade: Grade) -> str:
    """One line for --quiet: the total, the submission, the profile and the seed."""
    return (
        f"{points_text(grade.score, grade.max_score)} points: {grade.id} "
        f"(profile {grade.profile}, seed {grade.seed})"
    )


def points_text(earned: float, available: float) -> str:
    return f"{number_text(earned)} / {number_text(available)}"


def number_text(value: float) -> str:
    """5 -> "5", 2.5 -> "2.5", 10/3 -> "3.33": points read as points, not as floats."""
    return f"{round(value, 2):g}"


def _row(label: str, points: str, width: int) -> str:
    room = width - POINTS_WIDTH - 1
    return f"{_fit(label, room):<{room}} {points:>{POINTS_WIDTH}}"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [{len(text) - limit} more characters not shown]"


def _by_group(results: list[CheckResult]) -> Iterator[tuple[str, list[CheckResult]]]:
    """Groups in order of first appearance (load_checks sorts them), each with its results."""
    groups: dict[str, list[CheckResult]] = {}
    for result in results:
        groups.setdefault(result.check.group, []).append(result)
    yield from groups.items()
