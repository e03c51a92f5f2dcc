"""Nothing that a passing grade does not need is imported at start-up (issue 10 §5).

A passing grade of the reference, with the real checks, in a fresh interpreter: ``checks.engine.cli.main``
as ``rnn-grade reference`` runs it, then the names in ``sys.modules``. The oracles (SymPy, autograd)
are the reference's proof and the misconception models' tools, loaded when a check fails; class
grading (``checks.engine.course.batch``, with multiprocessing) and the bundles are loaded only when asked
for. Every module the grade does import is paid for on each cold start (``bench/cold_start.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tiny_grading import REPO, clean_environment

DRIVER = """
import json, sys
from checks.engine.cli import main
status = main(["reference", "--quiet"])
with open(sys.argv[1], "w") as out:
    json.dump({"status": status, "modules": sorted(sys.modules)}, out)
"""

NOT_NEEDED = {
    "sympy": "the symbolic oracle (failing checks only)",
    "autograd": "the automatic-differentiation oracle (never in a grade)",
    "mpmath": "SymPy's arithmetic",
    "checks.engine.course.batch": "class grading",
    "checks.engine.course.summary": "class grading's tables",
    "checks.engine.bundles.gradescope_bundle": "rnn-grade bundle gradescope",
    "checks.engine.bundles.student_package": "rnn-grade bundle student",
    "multiprocessing": "class grading's --jobs",
    "checks.engine.run.diagnosis": "the misconception models (failing checks only)",
    "checks.engine.run.in_process": "the reference in-process, for the counterexample search (failing checks only)",
}


@pytest.fixture(scope="module")
def passing_grade(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("cold") / "modules.json"
    run = subprocess.run([sys.executable, "-c", DRIVER, str(out)], capture_output=True, text=True, cwd=REPO,
                         env=clean_environment(), timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(out.read_text())


def test_the_grade_passed_and_its_modules_were_listed(passing_grade):
    assert passing_grade["status"] == 0
    # What any grade needs is there: the list is the grading process's own.
    needed = {"checks.engine.run.runner", "checks.engine.isolation.worker", "hypothesis", "numpy", "reference"}
    assert needed <= set(passing_grade["modules"])


@pytest.mark.parametrize("module", sorted(NOT_NEEDED))
def test_a_passing_grade_does_not_import(passing_grade, module):
    imported = [name for name in passing_grade["modules"] if name == module or name.startswith(module + ".")]
    assert not imported, f"{module} ({NOT_NEEDED[module]}) was imported by a passing grade: {imported[:5]}"
