"""Hostile submissions graded whole (``rnn-grade FILE``): links, special files and odd names.

Before ``checks.engine.inputs.intake``, the scratch copy followed links in the grading process (as root,
outside the worker's confinement): a link to the installed reference scored 100/100, helpers
linked to its modules 66/100, a link to a 0600 file put its contents in results.json, and a
dangling link beside the submission ended grading with exit 2, no report and a scratch folder left
behind. Each test here grades such a submission and states exactly what it gets now.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from checks.engine.inputs.intake import OUTSIDE
from tiny_grading import CORRECT, clean_environment, rnn_grade, tiny_options

REFERENCE = Path(__import__("reference").__file__).parent


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> list[str]:
    return tiny_options(tmp_path_factory.mktemp("tiny"))


def graded(submission: Path, results: Path, *options: str, env: dict[str, str] | None = None):
    run = rnn_grade(str(submission), "--results", str(results), *options, env=env)
    assert run.returncode in (0, 1), run.stdout + run.stderr  # a grade, never a grader error
    return run, json.loads(results.read_text())


def test_a_package_linking_the_installed_reference_gets_no_points(tmp_path):
    package = tmp_path / "sub"
    package.mkdir()
    (package / "__init__.py").write_text("from .ref import *\n")
    (package / "ref").symlink_to(REFERENCE)
    run, report = graded(package, tmp_path / "results.json")
    assert report["score"] == 0 and run.returncode == 1
    assert report["extra_data"]["import_error"].startswith("the submission imports module")
    assert f"ref was left out: {OUTSIDE}" in report["extra_data"]["import_error"]
    assert f"ref was left out: {OUTSIDE}" in report["output"]


def test_helpers_linked_to_the_reference_modules_get_no_points(tmp_path):
    (tmp_path / "rnn_layers.py").write_text("from rnn import *\nfrom clipping import *\n")
    for module in ("rnn.py", "clipping.py"):
        (tmp_path / module).symlink_to(REFERENCE / module)
    run, report = graded(tmp_path / "rnn_layers.py", tmp_path / "results.json")
    assert report["score"] == 0
    assert report["extra_data"]["files_left_out"] == [f"clipping.py was left out: {OUTSIDE}",
                                                      f"rnn.py was left out: {OUTSIDE}"]
    assert "imports module 'rnn'" in report["extra_data"]["import_error"]


def test_a_helper_linked_to_a_private_file_never_shows_its_contents(tmp_path, tiny):
    secret = tmp_path / "private" / "token.txt"
    secret.parent.mkdir()
    secret.write_text("SECRET-7d1f")
    secret.chmod(0o600)
    student = tmp_path / "student"
    student.mkdir()
    (student / "data.py").symlink_to(secret)
    # Reads its "helper" as text and raises with it, so a copied secret would land in the message.
    (student / "rnn_layers.py").write_text(CORRECT.replace(
        "    next_h = np.tanh",
        "    import os\n    here = os.path.join(os.path.dirname(__file__), 'data.py')\n"
        "    if os.path.exists(here):\n        raise ValueError(open(here).read())\n    next_h = np.tanh"))
    run, report = graded(student / "rnn_layers.py", tmp_path / "results.json", *tiny)
    assert "SECRET" not in (tmp_path / "results.json").read_text() and "SECRET" not in run.stdout + run.stderr
    assert report["score"] == 6  # the link left out, the code is correct
    assert report["extra_data"]["files_left_out"] == [f"data.py was left out: {OUTSIDE}"]
    assert f"data.py was left out: {OUTSIDE}" in report["output"] and "data.py was left out" in run.stdout


def test_a_dangling_link_beside_the_submission_is_a_note_not_a_grader_error(tmp_path, tiny):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    (tmp_path / "rnn_layers.py").write_text(CORRECT)
    (tmp_path / "ghost.py").symlink_to("gone.py")
    (tmp_path / "loop.py").symlink_to("loop.py")
    run, report = graded(tmp_path / "rnn_layers.py", tmp_path / "results.json", *tiny,
                         env=clean_environment(TMPDIR=str(scratch)))
    assert report["score"] == 6 and run.returncode == 0
    assert report["extra_data"]["files_left_out"] == [
        "ghost.py was left out: it is a link to something that is not a file of your submission",
        "loop.py was left out: it is a link to another link (links are copied only when they name a file directly)"]
    assert list(scratch.iterdir()) == []  # no scratch folder left behind


def test_a_link_between_the_students_own_files_is_graded_as_the_file(tmp_path, tiny):
    (tmp_path / "impl.py").write_text(CORRECT)
    (tmp_path / "rnn_layers.py").symlink_to("impl.py")
    run, report = graded(tmp_path / "rnn_layers.py", tmp_path / "results.json", *tiny)
    assert report["score"] == 6 and report["extra_data"]["files_left_out"] == []


def test_a_named_pipe_beside_the_submission_is_left_out_without_hanging(tmp_path, tiny):
    (tmp_path / "rnn_layers.py").write_text(CORRECT)
    os.mkfifo(tmp_path / "notes.py")
    run = rnn_grade(str(tmp_path / "rnn_layers.py"), "--results", str(tmp_path / "results.json"), *tiny, timeout=120)
    report = json.loads((tmp_path / "results.json").read_text())
    assert run.returncode == 0 and report["score"] == 6
    assert report["extra_data"]["files_left_out"] == ["notes.py was left out: it is a named pipe, not a file"]


def test_a_file_name_with_a_newline_is_one_escaped_line_in_every_report(tmp_path, tiny):
    submission = tmp_path / "bad\n::error::forged.py"
    submission.write_text(CORRECT)
    run, report = graded(submission, tmp_path / "results.json", *tiny)
    assert report["extra_data"]["submission"] == "bad\\n::error::forged.py"
    assert "bad\\n::error::forged.py" in run.stdout
    assert not any(line.lstrip().startswith("::") for line in (run.stdout + run.stderr).splitlines())
