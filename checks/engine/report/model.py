"""One report model per grade: every format renders it, none works anything out on its own.

``report_model(grade)`` is built once per grade and holds what every format shows:

- the checks in grading order, each with its mark (PASS, PART, FAIL, ERROR), its points as text,
  its feedback blocks (``feedback.feedback_blocks``) and, when it lost points, its ``Brief``;
- the groups in order of first appearance, with their subtotals;
- the failing checks in the order to read them, most basic function first (``root_cause``);
- the root cause's line ("Fix rnn_step_backward first: ..."), the total, and the notes on what was
  left out (a self-check's checks, the submission's files);
- a line for each function that hung (or crashed twice) and the later checks it cut short
  (``CheckResult.cut_short_by``), shown beside the root cause;
- the shell commands, each file name quoted with ``shlex.quote``: ``python repro/x.py
  'Renée Müller rnn (final).py'`` pastes as one command whatever the name holds.

Formats clip texts to their own byte budgets while rendering; the model keeps every text whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.engine.report.feedback import (Block, command_path, feedback_blocks, repro_command, reproducible,
                                           scripts_command)
from checks.engine.report.text import (
    broken_checks, by_group, files_left_out_lines, group_points, left_out_lines, mark, points_text, submission_id,
)
from checks.engine.run.counterexample import problem_sizes, sizes_text, worst_entry_line
from checks.engine.run.results import CheckResult, Grade
from checks.engine.run.root_cause import most_basic_first

INPUTS_CLAUSE = ", with these inputs (import numpy as np):"  # how an example's first line ends (counterexample)


@dataclass(frozen=True)
class Brief:
    """A failing check in a few lines, for the default terminal report.

    - ``verdict``: the first line of the check's message (what is wrong);
    - ``example``: the failing example in one sentence, or "";
    - ``mistake``: the likely misconception ("Likely mistake: ..."), or "" when none fits;
    - ``mistake_told_for``: the earlier failing check that told the same misconception, or "";
    - ``follows_from``: the more basic failing function this failure probably follows from, or "";
    - ``command``: the shell command that reproduces it, file names quoted.
    """

    verdict: str
    example: str
    mistake: str
    mistake_told_for: str
    follows_from: str
    command: str


@dataclass(frozen=True)
class CheckView:
    """One check as every report shows it: ``blocks`` is its whole feedback (empty when it passed)."""

    result: CheckResult
    mark: str
    points: str
    blocks: tuple[Block, ...]
    brief: Brief | None  # None when it passed

    @property
    def name(self) -> str:
        return self.result.check.name

    @property
    def qualified_name(self) -> str:
        return f"{self.result.check.group}/{self.result.check.name}"


@dataclass(frozen=True)
class GroupView:
    """A group of checks, in grading order, and its subtotal."""

    name: str
    checks: tuple[CheckView, ...]
    points: str

    @property
    def losing(self) -> int:
        """How many of its checks lost points."""
        return sum(view.brief is not None for view in self.checks)


@dataclass(frozen=True)
class ReportModel:
    """What every format shows of one grade (see the module's docstring)."""

    grade: Grade
    id: str  # the submission's name in reports
    path: str  # how commands name the submission, unquoted (its name when the path is absolute)
    checks: tuple[CheckView, ...]
    groups: tuple[GroupView, ...]
    failing: tuple[CheckView, ...]  # most basic function first; empty when the import failed
    root_cause: str  # "Fix X first: ..." or ""
    cut_short: tuple[str, ...]  # "rnn_backward did not finish within 10 s, so 3 later checks ... were cut short: ..."
    total: str
    self_check: bool
    write_scripts: str  # the quoted command that writes the repro scripts, when a failing check has none yet
    left_out: tuple[str, ...]  # what a self-check did not run
    files_left_out: tuple[str, ...]  # the heading, then one "- note" a file
    broken: tuple[str, ...]  # checks whose own code is broken


def report_model(grade: Grade) -> ReportModel:
    """The model of ``grade``: built once, rendered by each format."""
    path, self_check = command_path(grade), bool(grade.left_out)
    briefs = briefs_of(grade, path, self_check)
    views = tuple(CheckView(result, mark(result), check_points_text(result),
                            tuple(feedback_blocks(result, path, self_check)), briefs.get(id(result)))
                  for result in grade.results)
    by_result = {id(view.result): view for view in views}
    groups = tuple(GroupView(name, tuple(by_result[id(result)] for result in results), group_points(results))
                   for name, results in by_group(grade.results))
    failing = () if grade.import_error else tuple(by_result[id(r)] for r in most_basic_first(grade.results))
    needs_scripts = any(reproducible(view.result) and not view.result.repro_path for view in failing)
    return ReportModel(
        grade=grade, id=submission_id(grade), path=path, checks=views, groups=groups, failing=failing,
        root_cause=grade.root_cause.line if grade.root_cause else "", cut_short=cut_short_lines(grade),
        total=points_text(grade.score, grade.max_score), self_check=self_check,
        write_scripts=scripts_command(path, self_check) if needs_scripts else "",
        left_out=tuple(left_out_lines(grade.left_out)), files_left_out=tuple(files_left_out_lines(grade)),
        broken=tuple(broken_checks(grade)),
    )


def cut_short_lines(grade: Grade) -> tuple[str, ...]:
    """For each function whose earlier hang (or second crash) cut later checks short, one line: "rnn_backward
    did not finish within 10 s on N=1, T=1, D=1, H=1, so 3 later checks that reach it were cut short:
    truncated/a, bidirectional/b, classifier/c." (the reason as the checks' own messages give it)."""
    cut: dict[str, list[CheckResult]] = {}
    for result in grade.results:
        if result.cut_short_by:
            cut.setdefault(result.cut_short_by, []).append(result)
    lines = []
    for function, results in cut.items():
        reason = next(filter(None, (refused_reason(result.message, function) for result in results)),
                      f"{function} was not called again")
        checks = "1 later check that reaches it was" if len(results) == 1 else f"{len(results)} later checks that reach it were"
        names = ", ".join(f"{r.check.group}/{r.check.name}" for r in results)
        lines.append(f"{reason}, so {checks} cut short: {names}.")
    return tuple(lines)


def refused_reason(message: str, function: str) -> str:
    """The reason ``function`` was not called again, as a refusal in ``message`` words it
    (``faults.FaultRecord.refusal``: "in an earlier check, REASON, so it was not called again"), or ""."""
    start = message.find(f"in an earlier check, {function} ")
    end = message.find(", so it was not called again", start)
    return message[start + len("in an earlier check, "):end] if 0 <= start < end else ""


def check_points_text(result: CheckResult) -> str:
    """'3/4', or '3/4 extra credit' for a check whose points the total is not out of."""
    text = points_text(result.score, result.check.points)
    return f"{text} extra credit" if result.check.extra_credit else text


def as_model(report: Grade | ReportModel) -> ReportModel:
    """``report`` as a model: formats take either, so a caller with one grade need not build it."""
    return report if isinstance(report, ReportModel) else report_model(report)


def briefs_of(grade: Grade, path: str, self_check: bool) -> dict[int, Brief]:
    """{id(result): its Brief} for each check that lost points, in reading order: a misconception
    already told for an earlier check is referred to, not told again."""
    told: dict[str, str] = {}  # misconception id -> the check that told it
    briefs = {}
    for result in most_basic_first(grade.results):
        briefs[id(result)] = brief(result, path, self_check, told.get(result.misconception or ""))
        if result.misconception:
            told.setdefault(result.misconception, result.check.name)
    return briefs


def brief(result: CheckResult, path: str, self_check: bool, told_by: str | None = None) -> Brief:
    """``result`` in a few lines; ``told_by`` names an earlier check with the same misconception."""
    verdict = result.message.strip().partition("\n")[0]  # as written: its colon leads to the example below
    mistake = ""
    if result.misconception_explanation:
        said = f"the same as for {told_by}." if told_by else result.misconception_explanation
        mistake = f"Likely mistake: {said}" if result.misconception else said
    return Brief(verdict, example_sentence(result), mistake, told_by or "", result.consequence_of,
                 repro_command(result, path) if reproducible(result) else "")


def example_sentence(result: CheckResult) -> str:
    """The failing example in one sentence: its sizes and its worst entry, else its own first line."""
    example = result.example
    if example is None or not example.sentence:
        return ""
    sizes = problem_sizes(example.arguments)
    if sizes is not None and example.discrepancies:
        worst = worst_entry_line(example.discrepancies[0]).strip().partition(" (relative error")[0]
        return f"Example: {sizes_text(sizes)}, {worst}."
    first = example.sentence.partition("\n")[0]
    if first.endswith(INPUTS_CLAUSE):
        first = first.removesuffix(INPUTS_CLAUSE) + " (-v shows the inputs)."
    return f"Example: {first}"
