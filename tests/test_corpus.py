"""The harness proves itself on a corpus of student-style submissions (tests/corpus/).

- Every correct implementation (the reference and alternatives written differently) scores full marks.
- Every buggy submission (one realistic bug each, declared in the file as BUG_GROUP and AFFECTED)
  loses points in BUG_GROUP, and keeps full points on every check that calls none of the
  AFFECTED functions: a bug costs points where it belongs, and nowhere else. A buggy file of the
  gated cells, the embedding or the captioning model defines only its own group's functions, so it is
  graded with the checks whose functions it defines (``defined_functions``); what it leaves out is
  not part of its bug.

Graded with the default profile, exactly as students are.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from checks.registry import load_checks
from checks.engine.run.results import Grade
from checks.engine.run.runner import grade_submission

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"
CORRECT = [ROOT / "reference", *sorted((CORPUS / "correct").glob("*.py"))]
BUGGY = sorted((CORPUS / "buggy").glob("*.py"))


def declared(path: Path) -> dict:
    """The module-level constants BUG_GROUP and AFFECTED, read without importing the file."""
    tree = ast.parse(path.read_text())
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id in ("BUG_GROUP", "AFFECTED")
    }


def defined_functions(path: Path) -> set[str]:
    """The contract names a file defines at top level, read without importing it: its functions, and
    "Class.method" for each method of its classes."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {f"{node.name}.{item.name}" for item in node.body if isinstance(item, ast.FunctionDef)}
    return names


def runnable(checks: list, defined: set[str]) -> list:
    """The checks that call only ``defined`` functions (a hygiene-like check: any of them)."""
    return [c for c in checks if (set(c.needs) & defined if c.needs_any else set(c.needs) <= defined)]


def failures(grade: Grade) -> str:
    return "\n".join(f"{r.check.group}/{r.check.name}: {r.score:g}/{r.check.points:g} {r.message[:400]}"
                     for r in grade.results if not r.passed)


@pytest.fixture(scope="module")
def checks():
    """Every built-in check, the captioning model's included (the default assignment leaves those out)."""
    return load_checks(points_table=None)


@pytest.mark.parametrize("path", CORRECT, ids=lambda p: p.stem)
def test_correct_implementation_scores_full_marks(path, checks):
    grade = grade_submission(path, checks)
    assert grade.score == grade.max_score == sum(c.points for c in checks), failures(grade)


def test_corpus_is_large_enough():
    assert len(BUGGY) >= 20 and len(CORRECT) >= 3


@pytest.mark.parametrize("path", BUGGY, ids=lambda p: p.stem)
def test_buggy_submission_loses_points_only_where_it_belongs(path, checks):
    bug = declared(path)
    assert bug.get("BUG_GROUP") and bug.get("AFFECTED"), f"{path.name} must declare BUG_GROUP and AFFECTED"
    grade = grade_submission(path, runnable(checks, defined_functions(path)))
    lost_in_group = [r for r in grade.results if r.check.group == bug["BUG_GROUP"] and not r.passed]
    assert lost_in_group, f"the bug went unnoticed by the {bug['BUG_GROUP']} checks"
    untouched = [r for r in grade.results if not set(r.check.needs) & set(bug["AFFECTED"])]
    defined = defined_functions(path)  # a hygiene check's parts of functions the file leaves out are not its bug
    wrongly_failed = [r for r in untouched if r.score < r.check.points * r.check.share_judged(defined) - 1e-9]
    assert not wrongly_failed, "checks that call no affected function lost points:\n" + "\n".join(
        f"{r.check.name}: {r.message[:300]}" for r in wrongly_failed)


def test_tanh_failures_quote_the_sympy_identity(checks):
    """The tanh group's message states the identity SymPy derived (computed only on failure)."""
    tanh_checks = [c for c in checks if c.group == "tanh"]
    grade = grade_submission(CORPUS / "buggy" / "tanh_derivative_from_preactivation.py", tanh_checks)
    assert grade.results and all(not r.passed for r in grade.results)
    for result in grade.results:
        assert "d/dz tanh(z) = 1 - tanh(z)**2" in result.message, result.message
