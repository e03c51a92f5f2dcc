"""Reproduction scripts (issue 9 §2): standalone, numpy only, exit 1 on the bug and 0 on correct code.

For every bug of the corpus and every check it fails on a cheap fixed search (the check's explicit
examples, then a few derandomized draws), the check's script must exit 1 on the bug and 0 on the
reference and every correct implementation. The scripts run with ``runpy`` in one subprocess per
submission; a sample also runs as ``python script.py SUBMISSION``, as a student would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from checks.engine.isolation.contract import Submission
from checks.engine.run.counterexample import Counterexample, record_example
from checks.engine.run.repro import MARKER, ReproFolderError, attach_scripts, prepare_folder, script_for
from checks.engine.run.results import CheckResult, Grade
from checks.registry import load_checks
from repro_scripts import script_imports
from test_corpus import BUGGY, CORRECT, declared

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_IMPORTS = {"base64", "copy", "importlib", "linecache", "signal", "sys", "traceback", "types", "pathlib", "numpy"}
DRAWS = 8  # derandomized draws per (bug, check) after the explicit examples
RUN_ALL = textwrap.dedent("""
    import json, runpy, sys
    codes = {}
    for script, submission in json.loads(sys.argv[1]):
        sys.argv = [script, submission]
        try:
            runpy.run_path(script, run_name="__main__")
            codes[script] = 0
        except SystemExit as exit_:
            codes[script] = exit_.code
    print(json.dumps(codes))
""")


@pytest.fixture(scope="module")
def checks():
    """Every built-in check, the captioning model's included (the default assignment leaves those out)."""
    return {check.name: check for check in load_checks(points_table=None)}


def failing_example(check, sub) -> Counterexample | None:
    """A failing example of ``check`` on ``sub``: an explicit example, else a derandomized draw; None if none."""
    for example in getattr(check.function, "hypothesis_explicit_examples", []):
        trace, error = record_example(check, sub, example.kwargs)
        if error is not None:
            return Counterexample(example.kwargs, trace, str(error))
    found = []

    def fails(arguments) -> bool:
        trace, error = record_example(check, sub, arguments)
        if error is not None and not found:
            found.append(Counterexample(arguments, trace, str(error)))
        return error is not None

    strategy = st.fixed_dictionaries(check.function.hypothesis._given_kwargs)
    quick = settings(max_examples=DRAWS, derandomize=True, database=None, phases=[Phase.generate],
                     suppress_health_check=list(HealthCheck))
    try:
        find(strategy, fails, settings=quick)
    except NoSuchExample:
        return None
    return found[0]


def run_scripts(pairs: list[tuple[Path, Path]]) -> dict[str, int]:
    """{script: exit code} of every (script, submission) run, all in one subprocess."""
    done = subprocess.run([sys.executable, "-c", RUN_ALL, json.dumps([[str(s), str(sub)] for s, sub in pairs])],
                          capture_output=True, text=True, timeout=600, cwd="/")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def corpus_scripts(checks, tmp_path_factory) -> dict[Path, list[Path]]:
    """{bug: the scripts of the checks it fails}, each written to its own folder."""
    folder = tmp_path_factory.mktemp("repro")
    scripts: dict[Path, list[Path]] = {}
    for bug in BUGGY:
        affected = set(declared(bug)["AFFECTED"])
        sub = Submission(bug)
        try:
            for check in checks.values():
                if not set(check.needs) & affected:
                    continue
                example = failing_example(check, sub)
                if example is not None:
                    path = folder / bug.stem / f"{check.name}.py"
                    path.parent.mkdir(exist_ok=True)
                    path.write_text(script_for(check, example))
                    scripts.setdefault(bug, []).append(path)
        finally:
            sub.close()
    return scripts


def test_every_bug_has_a_script(corpus_scripts):
    assert set(corpus_scripts) == set(BUGGY), sorted(b.stem for b in set(BUGGY) - set(corpus_scripts))


def test_scripts_exit_1_on_their_bug(corpus_scripts):
    codes = run_scripts([(script, bug) for bug, scripts in corpus_scripts.items() for script in scripts])
    assert {script: code for script, code in codes.items() if code != 1} == {}


@pytest.mark.parametrize("correct", CORRECT, ids=lambda p: p.stem)
def test_scripts_exit_0_on_correct_implementations(corpus_scripts, correct):
    codes = run_scripts([(script, correct) for scripts in corpus_scripts.values() for script in scripts])
    assert {script: code for script, code in codes.items() if code != 0} == {}


def test_a_script_runs_standalone(corpus_scripts, tmp_path):
    """As a student runs it: `python script.py SUBMISSION`, anywhere, with only numpy."""
    bug = BUGGY[0]
    script = tmp_path / corpus_scripts[bug][0].name
    script.write_text(corpus_scripts[bug][0].read_text())
    on_bug = subprocess.run([sys.executable, str(script), str(bug)], capture_output=True, text=True, cwd=tmp_path)
    on_reference = subprocess.run([sys.executable, str(script), str(ROOT / "reference")], capture_output=True,
                                  text=True, cwd=tmp_path)
    assert on_bug.returncode == 1, on_bug.stdout + on_bug.stderr
    assert "WRONG" in on_bug.stdout and "expected" in on_bug.stdout
    assert on_reference.returncode == 0, on_reference.stdout + on_reference.stderr


def test_scripts_import_only_the_standard_library_and_numpy(corpus_scripts):
    """Only numpy and the standard library, but for rnn-grade's notebook reader, imported for a notebook alone
    and said to be missing if it is (``load_notebook``)."""
    for scripts in corpus_scripts.values():
        for script in scripts:
            imported = script_imports(script.read_text())
            assert imported <= ALLOWED_IMPORTS, (script, imported - ALLOWED_IMPORTS)


@pytest.fixture(scope="module")
def tanh_script(checks) -> str:
    """The script of the tanh identity check on the tanh-from-pre-activation bug (N = T = D = H = 1)."""
    from checks.examples import DEGENERATE

    check = checks["step_backward_uses_one_minus_h_squared"]
    sub = Submission(ROOT / "tests/corpus/buggy/tanh_derivative_from_preactivation.py")
    try:
        trace, error = record_example(check, sub, {"p": DEGENERATE})
    finally:
        sub.close()
    assert error is not None
    return script_for(check, Counterexample({"p": DEGENERATE}, trace, str(error)))


def test_header_names_the_check_and_how_to_run_it(tanh_script):
    assert tanh_script.splitlines()[0] == MARKER
    assert "step_backward_uses_one_minus_h_squared (tanh)" in tanh_script
    assert "python step_backward_uses_one_minus_h_squared.py SUBMISSION" in tanh_script
    assert "N=1, T=1, D=1, H=1" in tanh_script


def test_the_same_example_gives_the_same_script(checks, tanh_script):
    from checks.examples import DEGENERATE

    check = checks["step_backward_uses_one_minus_h_squared"]
    sub = Submission(ROOT / "tests/corpus/buggy/tanh_derivative_from_preactivation.py")
    try:
        trace, error = record_example(check, sub, {"p": DEGENERATE})
    finally:
        sub.close()
    assert script_for(check, Counterexample({"p": DEGENERATE}, trace, str(error))) == tanh_script


def run(script_text: str, tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    script = tmp_path / "script.py"
    script.write_text(script_text)
    return subprocess.run([sys.executable, str(script), *arguments], capture_output=True, text=True, cwd=tmp_path,
                          timeout=60)


def test_bad_usage_exits_2(tanh_script, tmp_path):
    assert run(tanh_script, tmp_path).returncode == 2
    assert run(tanh_script, tmp_path, "a", "b").returncode == 2
    missing = run(tanh_script, tmp_path, str(tmp_path / "nowhere.py"))
    assert missing.returncode == 2 and "no such" in missing.stderr


def test_an_exception_is_reported_with_the_submissions_line(tanh_script, tmp_path):
    sub = tmp_path / "crashing.py"
    sub.write_text((ROOT / "reference/rnn.py").read_text() + textwrap.dedent("""

        def rnn_step_backward(dnext_h, cache):
            raise ValueError("not today")
    """))
    done = run(tanh_script, tmp_path, str(sub))
    assert done.returncode == 1
    raising = 1 + next(i for i, line in enumerate(sub.read_text().splitlines()) if "not today" in line)
    assert "raised ValueError: not today" in done.stdout
    assert f"    at rnn_step_backward line {raising}: raise ValueError(\"not today\")\n" in done.stdout, done.stdout


def test_a_hang_is_stopped_by_the_alarm(checks, tmp_path):
    from checks.examples import DEGENERATE

    check = checks["step_forward_matches_reference"]
    sub = Submission(ROOT / "tests/corpus/buggy/step_forward_forgets_bias.py")
    try:
        trace, error = record_example(check, sub, {"p": DEGENERATE})
    finally:
        sub.close()
    hanging = tmp_path / "hanging.py"
    hanging.write_text("def rnn_step_forward(x, prev_h, Wx, Wh, b):\n    while True:\n        pass\n")
    done = run(script_for(check, Counterexample({}, trace, str(error)), time_limit=1), tmp_path, str(hanging))
    assert done.returncode == 1 and "did not finish within 1 s" in done.stdout


def test_a_modified_input_is_caught(corpus_scripts):
    bug = ROOT / "tests/corpus/buggy/inplace_dnext_h.py"
    script = next(s for s in corpus_scripts[bug] if s.stem == "rnn_functions_leave_inputs_unchanged")
    done = subprocess.run([sys.executable, str(script), str(bug)], capture_output=True, text=True)
    assert done.returncode == 1 and "dnext_h was modified" in done.stdout


# -- writing the scripts (--repro-dir) ------------------------------------------------------------


def failing_grade(checks, tanh_script_example) -> Grade:
    check = checks["step_backward_uses_one_minus_h_squared"]
    result = CheckResult(check, 0.0, "wrong", example=tanh_script_example)
    passing = CheckResult(checks["step_forward_matches_reference"], checks["step_forward_matches_reference"].points)
    return Grade(Path("sub.py"), "default", 0, [result, passing])


@pytest.fixture(scope="module")
def tanh_example(checks) -> Counterexample:
    from checks.examples import DEGENERATE

    sub = Submission(ROOT / "tests/corpus/buggy/tanh_derivative_from_preactivation.py")
    try:
        trace, error = record_example(checks["step_backward_uses_one_minus_h_squared"], sub, {"p": DEGENERATE})
    finally:
        sub.close()
    return Counterexample({"p": DEGENERATE}, trace, str(error))


def test_attach_scripts_writes_one_file_per_failing_check(checks, tanh_example, tmp_path):
    grade = failing_grade(checks, tanh_example)
    attach_scripts(grade, tmp_path / "new" / "repro")
    failing, passing = grade.results
    assert failing.repro_path == str(tmp_path / "new/repro/step_backward_uses_one_minus_h_squared.py")
    assert Path(failing.repro_path).read_text() == failing.repro_script
    assert passing.repro_script == passing.repro_path == ""
    attach_scripts(grade, tmp_path / "new" / "repro")  # its own file: rewritten without complaint


def test_a_result_without_example_gets_no_script(checks, tmp_path):
    grade = Grade(Path("sub.py"), "default", 0, [CheckResult(checks["step_forward_matches_reference"], 0.0, "wrong")])
    attach_scripts(grade, tmp_path)
    assert grade.results[0].repro_script == "" and not list(tmp_path.iterdir())


def test_a_foreign_file_is_never_overwritten(checks, tanh_example, tmp_path):
    foreign = tmp_path / "step_backward_uses_one_minus_h_squared.py"
    foreign.write_text("my notes\n")
    with pytest.raises(ReproFolderError, match="not written by rnn-grade"):
        prepare_folder(tmp_path, ["step_backward_uses_one_minus_h_squared"])
    with pytest.raises(ReproFolderError, match="not written by rnn-grade"):
        attach_scripts(failing_grade(checks, tanh_example), tmp_path)
    assert foreign.read_text() == "my notes\n"


def rnn_grade(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("rnn-grade")), *arguments], capture_output=True,
                          text=True, timeout=120)


def test_cli_refuses_a_foreign_file_before_grading(tmp_path):
    foreign = tmp_path / "step_backward_uses_one_minus_h_squared.py"
    foreign.write_text("my notes\n")
    done = rnn_grade(str(ROOT / "reference"), "--repro-dir", str(tmp_path))
    assert done.returncode == 2 and "not written by rnn-grade" in done.stderr
    assert foreign.read_text() == "my notes\n"


def test_cli_refuses_an_unwritable_folder(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    done = rnn_grade(str(ROOT / "reference"), "--repro-dir", str(not_a_folder / "repro"))
    assert done.returncode == 2 and "--repro-dir" in done.stderr


def test_cli_refuses_repro_dir_in_class_mode(tmp_path):
    done = rnn_grade(str(ROOT / "reference"), "--out", str(tmp_path / "out"), "--repro-dir", str(tmp_path / "r"))
    assert done.returncode == 2 and "DIR/<id>/repro/" in done.stderr


def test_the_command_line_writes_the_scripts_of_its_grade(checks, tanh_example, tmp_path, monkeypatch):
    """Wiring: rnn-grade SUB --repro-dir DIR writes DIR/<check>.py for a result that carries an example."""
    from checks.engine import cli

    grade = failing_grade(checks, tanh_example)
    monkeypatch.setattr(cli, "grade_submission", lambda *args, **kwargs: grade)
    assert cli.main([str(ROOT / "reference"), "--repro-dir", str(tmp_path / "repro"), "--quiet"]) == 1
    written = tmp_path / "repro" / "step_backward_uses_one_minus_h_squared.py"
    assert grade.results[0].repro_path == str(written) and written.read_text().startswith(MARKER)


def test_class_grading_writes_the_scripts_under_each_submission(checks, tanh_example, tmp_path, monkeypatch):
    from checks.engine.course import batch, documents
    from checks.engine.cli import build_parser
    from checks.engine.options import resolve

    settings = resolve(build_parser().parse_args([str(ROOT / "reference"), "--out", str(tmp_path / "out")]))
    monkeypatch.setattr(documents, "grade_entry", lambda entry, settings, streams=None: failing_grade(checks, tanh_example))
    entry = settings.entries[0]
    (tmp_path / "out").mkdir()
    batch.grading_process(entry, "stamp", settings, tmp_path / "out")
    assert (tmp_path / "out" / entry.id / "repro" / "step_backward_uses_one_minus_h_squared.py").is_file()


# -- a self-check's scripts: no reference, so the check itself runs again on the example ---------


def without_reference(monkeypatch) -> None:
    """As in a student's installation: the scripts cannot compare with the reference."""
    from checks.engine.run import repro

    monkeypatch.setattr(repro, "reference_installed", lambda: False)


def test_without_the_reference_a_script_runs_the_check_again_on_the_example(checks, tanh_example, tmp_path,
                                                                            monkeypatch):
    without_reference(monkeypatch)
    grade = failing_grade(checks, tanh_example)
    assert attach_scripts(grade, tmp_path / "repro") == []
    script = tmp_path / "repro" / "step_backward_uses_one_minus_h_squared.py"
    assert script.read_text().splitlines()[0] == MARKER and "self-check" in script.read_text()
    bug = ROOT / "tests/corpus/buggy/tanh_derivative_from_preactivation.py"
    on_bug = subprocess.run([sys.executable, str(script), str(bug)], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120)
    assert on_bug.returncode == 1 and "FAILS on this example" in on_bug.stdout, on_bug.stdout + on_bug.stderr
    assert "d/dz tanh(z) = 1 - tanh(z)**2" in on_bug.stdout  # the check's own message
    for correct in [*CORRECT, ROOT / "reference"]:
        on_correct = subprocess.run([sys.executable, str(script), str(correct)], capture_output=True, text=True,
                                    cwd=tmp_path, timeout=120)
        assert on_correct.returncode == 0 and "passes on this example" in on_correct.stdout, on_correct.stdout
    for arguments in ([], ["a", "b"], [str(tmp_path / "nowhere.py")]):
        usage = subprocess.run([sys.executable, str(script), *arguments], capture_output=True, text=True,
                               cwd=tmp_path, timeout=120)
        assert usage.returncode == 2 and "Traceback" not in usage.stderr, usage.stderr


@pytest.fixture(scope="module")
def self_check_scripts(checks, tmp_path_factory) -> dict[Path, Path]:
    """{bug: the script of the first self-check check (forward stand-ins included) it fails}, without the reference."""
    from checks.engine.run.repro_property import property_script_for
    from checks.registry import self_check_split

    run, _ = self_check_split(checks.values())
    folder = tmp_path_factory.mktemp("self-check-repro")
    scripts = {}
    for bug in BUGGY:
        affected = set(declared(bug)["AFFECTED"])
        sub = Submission(bug)
        try:
            for check in (c for c in run if set(c.needs) & affected):
                sub.allow_unit_axes = check.policy.charges_shape_once  # as the runner judges shapes
                example = failing_example(check, sub)
                if example is not None:
                    scripts[bug] = folder / f"{bug.stem}__{check.name}.py"
                    scripts[bug].write_text(property_script_for(check, example))
                    break
        finally:
            sub.close()
    return scripts


def test_self_check_scripts_exit_1_on_their_bug_and_0_on_correct_code(self_check_scripts):
    assert len(self_check_scripts) >= len(BUGGY) - 5, sorted(b.stem for b in set(BUGGY) - set(self_check_scripts))
    assert {path.name.split("__")[1] for path in self_check_scripts.values()} & {
        "step_forward_is_the_lecture_step.py", "sequence_forward_is_the_lecture_step_over_time.py"}
    on_bugs = run_scripts([(script, bug) for bug, script in self_check_scripts.items()])
    assert {script: code for script, code in on_bugs.items() if code != 1} == {}
    on_correct = run_scripts([(script, CORRECT[0]) for script in self_check_scripts.values()])
    assert {script: code for script, code in on_correct.items() if code != 0} == {}


def test_a_check_without_a_script_is_said_plainly(checks, tanh_example, tmp_path, monkeypatch):
    """A course's own check (from --checks-dir) cannot be imported by a script; a result without an
    example has none to write: with --repro-dir, each is named with the reason, nothing is silent."""
    from dataclasses import replace

    without_reference(monkeypatch)

    def course_check(sub, p):
        """A course's check."""

    course_check.__module__ = "rnn_grade_extra_checks.attention_0123456789ab"
    tanh = checks["step_backward_uses_one_minus_h_squared"]
    grade = Grade(Path("sub.py"), "default", 0, [
        CheckResult(replace(tanh, function=course_check), 0.0, "wrong", example=tanh_example),
        CheckResult(checks["step_forward_matches_reference"], 0.0, "wrong")])
    missing = attach_scripts(grade, tmp_path)
    assert missing == [
        "no reproduction script for step_backward_uses_one_minus_h_squared: it is a course's own check "
        "(from --checks-dir), which a script cannot import",
        "no reproduction script for step_forward_matches_reference: no single failing example was kept "
        "(the failure did not repeat, or the search for one stopped)"]
    assert not list(tmp_path.iterdir()) and attach_scripts(grade) == []  # without a folder: nothing to say


def notebook_of(source: str, path: Path) -> Path:
    """``source`` as a notebook's cells (one per top-level block), with a magic and a demo cell besides."""
    import nbformat

    cells = [nbformat.v4.new_code_cell("%matplotlib inline"), nbformat.v4.new_code_cell(source),
             nbformat.v4.new_code_cell("h, cache = rnn_step_forward(x, h0, Wx, Wh, b)  # a demo: not run")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    return path


def test_a_script_reads_a_notebook_as_the_grader_does(tanh_script, tmp_path):
    """The report's command passes the student's own notebook: the script reads its definitions as rnn-grade does
    (the demo cell is not run), exits 1 on the bug and 0 on the correct functions."""
    buggy = (ROOT / "tests/corpus/buggy/tanh_derivative_from_preactivation.py").read_text()
    failing = run(tanh_script, tmp_path, str(notebook_of(buggy, tmp_path / "buggy.ipynb")))
    assert failing.returncode == 1, failing.stdout + failing.stderr
    correct = (ROOT / "tests/corpus/correct/cs231n_style.py").read_text()
    passing = run(tanh_script, tmp_path, str(notebook_of(correct, tmp_path / "correct.ipynb")))
    assert passing.returncode == 0, passing.stdout + passing.stderr
