"""JUnit XML, as GitLab's unit-test reports and Jenkins' JUnit plugin read it.

GitLab (doc/ci/testing/unit_test_reports.md, lib/gitlab/ci/parsers/test/junit.rb) takes a
``testsuites`` or ``testsuite`` root, reads ``testcase@classname`` (its suite), ``@name``, ``@file``
and ``@time`` (seconds), and shows the *text* of ``failure`` and ``error`` (the ``message``
attribute was long ignored, so both carry the message). Two testcases of one name keep only the
first, hence ``classname`` = submission id + "." + group. Jenkins wants ``tests``, ``failures``,
``errors``, ``skipped`` and ``time`` on each ``testsuite``.

One ``testcase`` per check: a ``failure`` when it lost points, an ``error`` when the check itself
is broken (a grader fault, never the student's), and ``properties`` with its score and max_score.
XML 1.0 cannot carry most control characters at all, even escaped, so they are written as ``\\xNN``
(``text.visible``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from checks.engine.report.feedback import plain_blocks
from checks.engine.report.model import CheckView, ReportModel, as_model
from checks.engine.report.text import visible
from checks.engine.run.results import Grade


def junit_xml(report: Grade | ReportModel) -> ElementTree.Element:
    """The ``testsuites`` element for a grade: one ``testsuite`` (the submission), a ``testcase`` per check."""
    model = as_model(report)
    grade = model.grade
    counts = {
        "tests": len(grade.results),
        "failures": sum(result.status == "failed" for result in grade.results),
        "errors": sum(result.status == "error" for result in grade.results),
        "skipped": 0,
        "time": seconds(sum(result.seconds for result in grade.results)),
    }
    root = element("testsuites", name="rnn-grade", **counts)
    suite = ElementTree.SubElement(root, "testsuite", xml_attributes(name=model.id, **counts))
    properties = ElementTree.SubElement(suite, "properties")
    for name, value in (("score", round(grade.score, 4)), ("max_score", round(grade.max_score, 4)),
                        ("profile", grade.profile), ("seed", grade.seed)):
        ElementTree.SubElement(properties, "property", xml_attributes(name=name, value=value))
    if grade.import_error:
        ElementTree.SubElement(suite, "system-err").text = visible(
            f"The submission could not be imported, so every check scored 0:\n{grade.import_error}")
    for view in model.checks:
        suite.append(testcase(model, view))
    return root


def render(report: Grade | ReportModel) -> str:
    root = junit_xml(report)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def testcase(model: ReportModel, view: CheckView) -> ElementTree.Element:
    result, check = view.result, view.result.check
    case = element("testcase", classname=f"{model.id}.{check.group}", name=check.name,
                   file=model.grade.submission.name, time=seconds(result.seconds))
    properties = ElementTree.SubElement(case, "properties")
    named = (("misconception", result.misconception),) if result.misconception else ()
    for name, value in (("score", round(result.score, 4)), ("max_score", round(check.points, 4)), *named):
        ElementTree.SubElement(properties, "property", xml_attributes(name=name, value=value))
    if result.status != "passed":
        kind = "error" if result.status == "error" else "failure"
        first_line = result.message.partition("\n")[0]
        verdict = ElementTree.SubElement(case, kind, xml_attributes(message=first_line, type=result.status))
        verdict.text = visible(f"{plain_blocks(view.blocks)}\n\nPoints: {view.points}")
    if result.output.strip():
        ElementTree.SubElement(case, "system-out").text = visible(result.output)
    return case


def element(tag: str, **attributes: object) -> ElementTree.Element:
    return ElementTree.Element(tag, xml_attributes(**attributes))


def xml_attributes(**attributes: object) -> dict[str, str]:
    return {name: visible(str(value)) for name, value in attributes.items()}


def seconds(value: float) -> str:
    return f"{value:.3f}"
