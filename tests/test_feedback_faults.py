"""Feedback is best effort (issue 20 §2): a feedback stage that raises costs only itself.

A failing submission (tests/corpus/buggy/dWh_overwritten.py) is graded on four checks, once as it is
and once with each feedback stage made to raise in turn: the search for a failing example, the
diagnosis, the symbolic explanation, the root cause and the reproduction scripts. Each time the
score, every check's status and message, and every report in the five formats are exactly those of
the ordinary grade without that piece of feedback (and what depends on it: no example, no
diagnosis of it), the exit status is the same, and the instructor notes, never the student's text,
say which stage raised.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import checks.engine.run.diagnosis
import checks.engine.run.repro
import checks.engine.run.runner
import checks.engine.run.symbolic
from checks.engine.cli import exit_status
from checks.engine.report import gradescope, junit, markdown, prairielearn
from checks.engine.report.github import annotations, classroom_result
from checks.engine.run.repro import attach_scripts
from checks.engine.run.results import RootCause
from checks.engine.run.root_cause import attribute_root_cause
from checks.engine.run.results import Grade
from checks.engine.run.runner import grade_submission
from checks.registry import load_checks

SUBMISSION = Path(__file__).resolve().parent / "corpus" / "buggy" / "dWh_overwritten.py"
# One that passes; three that fail on rnn_backward's dWh (tiny examples, a misconception, a formula), and
# birnn_backward's, which calls it.
CHECKS = ("step_forward_matches_reference", "sequence_backward_matches_finite_differences",
          "sequence_backward_matches_reference", "birnn_backward_matches_finite_differences")
FAULT = "injected fault"

# stage -> (module, function made to raise, the stage's name in the instructor's note)
STAGES = {
    "example": (checks.engine.run.runner, "find_counterexample", "the failing example"),
    "diagnosis": (checks.engine.run.diagnosis, "diagnose", "the diagnosis"),
    "symbolic": (checks.engine.run.symbolic, "symbolic_explanation", "the symbolic explanation"),
    "root-cause": (checks.engine.run.runner, "attribute_root_cause", "the root cause"),
    "repro": (checks.engine.run.repro, "script_for", "the reproduction script"),
}


def injected(*args, **kwargs):
    raise RuntimeError(FAULT)


def root_cause_then_fault(grade: Grade) -> None:
    """The root cause set, then a fault: what it had set must be taken back. (This submission's failures show
    no evidence that one follows from another, so the stage sets one here, as a root cause would.)"""
    attribute_root_cause(grade)
    failed = [result for result in grade.results if not result.passed]
    grade.root_cause = RootCause("rnn_backward", (failed[0].check.name,), (failed[-1].check.name,))
    failed[-1].consequence_of = "rnn_backward"
    raise RuntimeError(FAULT)


def graded(checks: list, simplify: bool = True) -> Grade:
    """The grade as the command line makes it: graded, then given its reproduction scripts."""
    grade = grade_submission(SUBMISSION, checks, simplify=simplify, lookahead=False)
    attach_scripts(grade)
    return grade


def reports(grade: Grade) -> dict[str, str]:
    """The five formats, timings set aside (they differ from run to run)."""
    grade = dataclasses.replace(grade, seconds=0.0, worker_seconds=0.0, worker_calls=0,
                                results=[dataclasses.replace(result, seconds=0.0) for result in grade.results])
    return {"gradescope": gradescope.render(grade), "prairielearn": prairielearn.render(grade),
            "junit": junit.render(grade), "markdown": markdown.render(grade),
            "github": "\n".join([*annotations(grade), json.dumps(classroom_result(grade))])}


def without(grade: Grade, stage: str) -> Grade:
    """``grade`` without the piece of feedback ``stage`` gives (results copied, ``grade`` left as it is)."""
    results = [dataclasses.replace(result, feedback_left_out=[]) for result in grade.results]
    stripped = dataclasses.replace(grade, results=results, feedback_left_out=[])
    for result in results:
        if stage == "diagnosis":
            result.misconception, result.misconception_explanation = None, ""
        elif stage == "symbolic":
            result.symbolic_text = result.symbolic_latex = ""
        elif stage == "root-cause":
            result.consequence_of = ""
        elif stage == "repro":
            result.repro_script = ""
    if stage == "root-cause":
        stripped.root_cause = None
    return stripped


@pytest.fixture(scope="module")
def chosen() -> list:
    by_name = {check.name: check for check in load_checks()}
    return [by_name[name] for name in CHECKS]


@pytest.fixture(scope="module")
def ordinary(chosen) -> Grade:
    """The grade with every piece of feedback, each of which the test needs to be there to be left out."""
    grade = graded(chosen)
    passed, *failed = grade.results
    assert passed.passed and all(not result.passed for result in failed)
    assert all(result.example is not None and result.repro_script for result in failed)
    assert any(result.misconception for result in failed) and any(result.symbolic_text for result in failed)
    assert not [note for result in grade.results for note in result.feedback_left_out] and not grade.feedback_left_out
    return grade


@pytest.fixture(scope="module")
def without_examples(chosen) -> Grade:
    """The grade without the search for failing examples: what a fault of that search must leave."""
    return graded(chosen, simplify=False)


@pytest.mark.parametrize("stage", STAGES)
def test_a_feedback_stage_that_raises_leaves_out_only_itself(stage, chosen, ordinary, without_examples, monkeypatch):
    module, function, name = STAGES[stage]
    monkeypatch.setattr(module, function, root_cause_then_fault if stage == "root-cause" else injected)
    faulted = graded(chosen)

    expected = without(without_examples if stage == "example" else ordinary, stage)
    # The notes: one per check whose stage ran (a failing check's; the root cause once, for the grade).
    failing = [result.check.name for result in ordinary.results if not result.passed]
    if stage == "root-cause":
        assert [r.feedback_left_out for r in faulted.results] == [[]] * len(CHECKS)
        assert [note.split(" (at ")[0] for note in faulted.feedback_left_out] == [
            f"the root cause was left out: it raised RuntimeError: {FAULT}"]
    else:
        assert not faulted.feedback_left_out
        notes = {r.check.name: [note.split(" (at ")[0] for note in r.feedback_left_out] for r in faulted.results}
        assert notes == {check: [f"{name} of {check} was left out: it raised RuntimeError: {FAULT}"]
                         if check in failing else [] for check in CHECKS}
    for result, copied in zip(faulted.results, expected.results):
        copied.feedback_left_out = list(result.feedback_left_out)
    expected.feedback_left_out = list(faulted.feedback_left_out)

    assert faulted.score == ordinary.score
    assert [(r.check.name, r.score, r.status, r.message) for r in faulted.results] == \
           [(r.check.name, r.score, r.status, r.message) for r in expected.results]
    assert reports(faulted) == reports(expected)
    assert exit_status(faulted) == exit_status(ordinary)
    # The staff read the fault; the student never does.
    written = reports(faulted)
    instructor_notes = json.loads(written["gradescope"])["extra_data"]["instructor_notes"]
    assert any(FAULT in note and name in note for note in instructor_notes), instructor_notes
    assert all(FAULT not in test["output"] for test in json.loads(written["gradescope"])["tests"])
    assert all(FAULT not in text for format, text in written.items() if format != "gradescope")
