"""No option loses work (issue 20, §4): a report path that is an input is refused before grading, an
unwritable one is found before grading, a write that still fails after grading leaves the grade on
the screen, and only --out and --repro-dir create folders, saying so.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from checks.engine import cli
from checks.engine.output_paths import Input, OutputPathError, is_or_is_inside, refuse_inputs, require_writable
from tiny_grading import CORRECT, SUBMISSIONS, make_class, rnn_grade, tiny_options, write_submission


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> list[str]:
    return tiny_options(tmp_path_factory.mktemp("tiny"))


def refused_before_grading(run, *expected: str) -> None:
    """Exit 2, each ``expected`` text in the message, and no grade: the refusal came first."""
    assert run.returncode == 2, run.stdout + run.stderr
    assert "TOTAL" not in run.stdout and "Traceback" not in run.stderr
    for text in expected:
        assert text in run.stderr, run.stderr


# -- an input named as a report path -----------------------------------------------------------------


def test_results_naming_the_submission_is_refused_and_leaves_it_byte_identical(tmp_path, tiny):
    submission = write_submission(tmp_path / "hw", "correct")
    before = submission.read_bytes()
    run = rnn_grade(str(submission), "--results", str(submission), *tiny)
    refused_before_grading(run, f"--results {submission} is the submission", "give a path outside it")
    assert submission.read_bytes() == before


def test_the_path_as_typed_is_named_even_through_another_spelling(tmp_path, tiny):
    submission = write_submission(tmp_path / "hw", "correct")
    typed = f"{tmp_path}/hw/../hw/correct.py"
    run = rnn_grade(str(submission), "--results", typed, *tiny)
    refused_before_grading(run, f"--results {Path(typed)} is the submission")


def test_a_hard_link_to_the_submission_is_the_submission(tmp_path, tiny):
    submission = write_submission(tmp_path / "hw", "correct")
    os.link(submission, tmp_path / "alias.json")
    run = rnn_grade(str(submission), "--results", str(tmp_path / "alias.json"), *tiny)
    refused_before_grading(run, "is the submission")
    assert submission.read_text() == SUBMISSIONS["correct"]


def test_a_report_inside_a_package_submission_is_refused(tmp_path, tiny):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(CORRECT)
    run = rnn_grade(str(package), "--format", "junit", "--junit", str(package / "report.xml"), *tiny)
    refused_before_grading(run, f"--junit {package / 'report.xml'} is the submission ({package})")
    assert sorted(p.name for p in package.iterdir()) == ["__init__.py"]


def test_a_helper_file_beside_a_submission_is_an_input(tmp_path, tiny):
    submission = write_submission(tmp_path / "hw", "correct")
    helper = tmp_path / "hw" / "helpers.py"
    helper.write_text("HELP = 1\n")
    run = rnn_grade(str(submission), "--format", "markdown", "--markdown", str(helper), *tiny)
    refused_before_grading(run, f"--markdown {helper} is a file of the submission")
    assert helper.read_text() == "HELP = 1\n"


def test_the_points_file_and_the_checks_folder_are_inputs(tmp_path, tiny):
    submission = write_submission(tmp_path / "hw", "correct")
    checks, points = Path(tiny[1]), Path(tiny[4])
    run = rnn_grade(str(submission), "--results", str(points), *tiny)
    refused_before_grading(run, f"--results {points} is --points")
    assert points.read_text() == ""
    run = rnn_grade(str(submission), "--format", "prairielearn", "--prairielearn", str(checks / "pl.json"), *tiny)
    refused_before_grading(run, f"--prairielearn {checks / 'pl.json'} is --checks-dir")
    run = rnn_grade(str(submission), "--repro-dir", str(checks / "repro"), *tiny)
    refused_before_grading(run, f"--repro-dir {checks / 'repro'} is --checks-dir")
    assert sorted(p.name for p in checks.iterdir()) == ["tiny.py"]  # no folder created, no script to load


def test_a_path_not_yet_there_is_judged_by_where_it_would_be(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    assert is_or_is_inside(folder / "new" / "results.json", folder)
    assert not is_or_is_inside(tmp_path / "pkg-results.json", folder)
    with pytest.raises(OutputPathError, match="--results .* is --checks-dir"):
        refuse_inputs({"--results": folder / "r.json"}, [Input(folder, "--checks-dir")])


# -- an unwritable report path ---------------------------------------------------------------------


def test_results_in_a_missing_folder_is_refused_and_no_folder_is_created(tmp_path, tiny):
    submission = write_submission(tmp_path / "hw", "correct")
    results = tmp_path / "missing" / "results.json"
    run = rnn_grade(str(submission), "--results", str(results), *tiny)
    refused_before_grading(run, f"--results {results}: the folder {results.parent} does not exist; create it first")
    assert not results.parent.exists()


def test_results_under_a_file_is_refused(tmp_path, tiny):
    submission = write_submission(tmp_path / "hw", "correct")
    (tmp_path / "plain").write_text("mine")
    run = rnn_grade(str(submission), "--results", str(tmp_path / "plain" / "results.json"), *tiny)
    refused_before_grading(run, f"{tmp_path / 'plain'} is not a folder")
    assert (tmp_path / "plain").read_text() == "mine"


def test_results_in_a_folder_that_takes_no_file_is_refused_before_grading(tmp_path, tiny):
    # /sys refuses new files even to root, where permission bits would say yes.
    submission = write_submission(tmp_path / "hw", "correct")
    run = rnn_grade(str(submission), "--results", "/sys/results.json", *tiny)
    refused_before_grading(run, "--results /sys/results.json: cannot write in /sys")


def test_require_writable_tries_the_folder(tmp_path):
    require_writable("--results", tmp_path / "r.json")
    assert list(tmp_path.iterdir()) == []  # the probe is removed
    with pytest.raises(OutputPathError, match="is a folder"):
        require_writable("--results", tmp_path)


def test_a_write_that_fails_after_grading_still_shows_the_grade_and_names_the_users_path(tmp_path, tiny, capsys,
                                                                                        monkeypatch):
    submission = write_submission(tmp_path / "hw", "correct")
    results = tmp_path / "results.json"

    def disk_full(path, text, beneath=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / ".results.json.1234.tmp"))

    monkeypatch.setattr("checks.engine.report.write_atomically", disk_full)
    status = cli.main([str(submission), "--results", str(results), *tiny])
    out, err = capsys.readouterr()
    assert status == 2
    assert "TOTAL" in out and "6 / 6" in out  # the grade, in full
    assert f"rnn-grade: could not write {results}: No space left on device" in err
    assert ".tmp" not in err and not results.exists()


# -- only --out and --repro-dir create folders -------------------------------------------------------


def test_out_and_repro_dir_say_they_created_their_folder(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {"alice": CORRECT})
    out = tmp_path / "new" / "out"
    run = rnn_grade(str(folder), "--out", str(out), *tiny)
    assert run.returncode == 0 and f"rnn-grade: created folder {out}\n" in run.stderr
    run = rnn_grade(str(folder), "--out", str(out), *tiny)
    assert "created folder" not in run.stderr  # it was there already
    submission = write_submission(tmp_path / "hw", "wrong_db")
    repro = tmp_path / "repro"
    run = rnn_grade(str(submission), "--repro-dir", str(repro), *tiny)
    assert f"rnn-grade: created folder {repro}\n" in run.stderr and repro.is_dir()


def test_a_class_whose_summary_cannot_be_written_still_prints_every_grade(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {"alice": CORRECT})
    out = tmp_path / "out"
    (out / "grades.csv").mkdir(parents=True)  # a folder where the summary goes: the rename fails
    (out / "grades.csv" / "mine").write_text("x")
    (out / ".rnn-grade-output").write_text("")
    run = rnn_grade(str(folder), "--out", str(out), *tiny)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout.splitlines()[0].split() == ["alice", "6", "/", "6", "graded"]
    assert f"rnn-grade: could not write the class's summaries in {out}: {out / 'grades.csv'}: Is a directory" \
        in run.stderr
    assert "Traceback" not in run.stderr and (out / "alice" / "results.json").is_file()
