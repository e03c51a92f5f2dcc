"""Reproduction scripts of deeplearning.ai's column-major checks (``checks.engine.run.repro_column_major``): numpy only.

Each bug of tests/corpus/dlai/ is graded once, on the checks it fails (test_checks_dlai's CAUGHT), which get their
scripts (``attach_scripts``, as ``--repro-dir`` does): every kind of check has a script there (reference, softmax,
open forget gate, composition, finite differences, the tanh and σ identities, shapes). Then every script runs on
its bug (exit 1, the named check naming the cause as the grader does) and on the correct file, as a .py and as a
notebook (exit 0). Scripts run in this process (``run_script``), but for one, run as a student runs it.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from checks.column_major_problems import SMALL_LSTM
from checks.dlai_gradients import WRONG_SIGMOID, WRONG_TANH, flat_arguments
from checks.engine.isolation.boundary import WorkerOptions
from checks.engine.run.counterexample import Counterexample
from checks.engine.run.repro import MARKER, attach_scripts
from checks.engine.run.repro_column_major import KINDS, LSTM_MOVED, column_major_script_for, kind_of
from checks.engine.isolation.trace import Trace
from checks.engine.run.runner import grade_submission
from checks.gradcheck import joint_direction
from checks.registry import load_checks
from repro_scripts import run_script, script_imports
from test_checks_dlai import CAUGHT, CAUSES, CORPUS, HELPERS, TABLE, as_notebook

CORRECT = CORPUS / "correct.py"
STANDARD = set(sys.stdlib_module_names)


@pytest.fixture(scope="module")
def checks():
    return load_checks(points_table=TABLE, assignment=True)


@pytest.fixture(scope="module")
def scripts(checks, tmp_path_factory) -> dict[str, list[Path]]:
    """{bug: the scripts of its failing checks}, written as --repro-dir writes them (each bug graded on the checks it
    fails only: the scripts are the same, the grade shorter)."""
    folder = tmp_path_factory.mktemp("repro_dlai")
    written = {}
    for bug, caught in CAUGHT.items():
        grade = grade_submission(CORPUS / f"{bug}.py", [c for c in checks if c.name in caught],
                                 options=WorkerOptions(import_paths=(HELPERS,)))
        assert attach_scripts(grade, folder / bug) == []  # every failing check got its script
        written[bug] = sorted((folder / bug).glob("*.py"))
        assert {path.stem for path in written[bug]} == caught
    return written


@pytest.fixture(scope="module")
def notebook(tmp_path_factory) -> Path:
    return as_notebook(CORRECT, tmp_path_factory.mktemp("notebook"))


def test_every_kind_of_check_has_a_script_that_a_corpus_bug_writes(checks, scripts):
    assert all(kind_of(check) for check in checks)  # no dlai check is left without a script
    written = {kind_of(check)[1] for check in checks if any(check.name in {p.stem for p in paths}
                                                            for paths in scripts.values())}
    assert written == set(KINDS.values()) | {"hold"}


@pytest.mark.parametrize("bug", sorted(CAUGHT))
def test_a_script_fails_on_its_bug_and_the_named_check_names_the_cause(scripts, bug):
    named_check, phrase = CAUSES[bug]
    for script in scripts[bug]:
        code, output = run_script(script, str(CORPUS / f"{bug}.py"))
        assert code == 1 and "WRONG" in output and "The check fails on your code." in output, (script.name, output)
        if script.stem == named_check:
            assert phrase in " ".join(output.split()), output


def test_every_script_passes_on_the_correct_file_and_the_correct_notebook(scripts, notebook):
    """The notebook (magics, a demo cell using a global, a training loop, an unparsable cell) is read as rnn-grade
    reads it: its definitions only; rnn_utils is the embedded course helpers'."""
    every = sorted({script for paths in scripts.values() for script in paths})
    for submission in (CORRECT, notebook):
        wrong = {script.name: output for script in every
                 if (result := run_script(script, str(submission)))[0] != 0 for output in [result[1]]}
        assert wrong == {}, (submission.name, wrong)


def test_scripts_import_only_the_standard_library_and_numpy(scripts):
    """Only numpy beyond the standard library (rnn-grade's notebook reader for a notebook only: ``script_imports``);
    rnn_utils, which the student's code imports, is embedded when it cannot be imported."""
    for script in (script for paths in scripts.values() for script in paths):
        text = script.read_text()
        assert text.splitlines()[0] == MARKER  # rnn-grade's own file: --repro-dir may write over it
        imported = script_imports(text)
        assert imported - {"rnn_utils"} <= STANDARD | {"numpy"}, (script.name, imported)


def test_the_scripts_name_the_graders_known_wrong_derivatives(scripts):
    """The wrong derivatives a script names are checks.dlai_gradients' own, in its order, on the same values."""
    script = runpy.run_path(str(scripts["lstm_cell_backward_sigmoid_derivative_squared"][0]))
    g, z = np.array([[0.2, 0.7]]), np.array([[-1.3, 0.8]])
    for ours, graders in ((script["WRONG_TANH"], WRONG_TANH), (script["WRONG_SIGMOID"], WRONG_SIGMOID)):
        assert [what for what, _ in ours] == [what for what, _ in graders]
        assert all(np.array_equal(a(g, z), b(g, z)) for (_, a), (_, b) in zip(ours, graders))


def test_a_gradient_script_embeds_the_checks_direction_and_bites(checks, tmp_path):
    """The lstm_cell_backward finite-difference script: its direction is the check's (joint_direction of the seed
    over the forward's arrays and the moved parameters); a backward whose dWo is scaled by 1.01 fails it, naming
    dWo alone; the correct file passes; bad usage exits 2."""
    check = next(c for c in checks if c.name == "dlai_lstm_cell_backward_matches_finite_differences")
    script = tmp_path / f"{check.name}.py"
    script.write_text(column_major_script_for(check, Counterexample({"p": SMALL_LSTM, "seed": 7}, Trace([]), "")))
    embedded = runpy.run_path(str(script))["CASE"]["direction"]
    expected = joint_direction(flat_arguments("lstm_cell_forward", SMALL_LSTM.step_args(), LSTM_MOVED), 7)
    assert list(embedded) == list(expected) and all(np.array_equal(embedded[n], v) for n, v in expected.items())
    source = CORRECT.read_text()
    wrong = tmp_path / "scaled.py"
    wrong.write_text(source.replace("dWo = np.dot(dot, concat.T)", "dWo = 1.01 * np.dot(dot, concat.T)"))
    assert wrong.read_text() != source
    code, output = run_script(script, str(wrong))
    assert code == 1 and "gradients['dWo']: WRONG" in output and "gradients['dWf']: correct" in output, output
    assert run_script(script, str(CORRECT))[0] == 0
    assert run_script(script)[0] == run_script(script, str(tmp_path / "nothing.py"))[0] == 2


def test_a_script_runs_standalone_as_a_student_runs_it(scripts, tmp_path):
    """``python script.py SUBMISSION`` in a folder of its own, rnn_utils nowhere on the path: the embedded helpers."""
    script = scripts["rnn_cell_forward_softmax_wrong_axis"][0]
    run = subprocess.run([sys.executable, "-I", str(script), str(CORRECT)], capture_output=True, text=True,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "The property holds on this example." in run.stdout


def test_an_rnn_utils_beside_the_submission_is_the_one_imported(scripts, tmp_path):
    """The embedded helpers stand in only where no rnn_utils can be imported: a student's own, beside their file,
    is used (here one whose softmax normalises rows, which the softmax check's script then finds wrong)."""
    script = next(p for p in scripts["rnn_cell_forward_softmax_wrong_axis"] if "softmax" in p.stem)
    (tmp_path / "correct.py").write_text(CORRECT.read_text())
    assert run_script(script, str(tmp_path / "correct.py"))[0] == 0
    (tmp_path / "rnn_utils.py").write_text(HELPERS.joinpath("rnn_utils.py").read_text().replace("axis=0", "axis=1"))
    code, output = run_script(script, str(tmp_path / "correct.py"))
    assert code == 1 and "Each row sums to 1 instead of each column" in " ".join(output.split()), output
