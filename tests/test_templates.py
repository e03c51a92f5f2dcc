"""The platform templates under templates/, run locally in folders laid out as each platform lays
them out, with the tiny checks (passed through RNN_GRADE_OPTIONS, or recorded by the bundle), so a
template whose command line stops working fails here rather than in a course.

The class templates (a GitHub Actions matrix, GitLab's parallel:) run each job's command from the
YAML file, one workspace per job, then the merge job's on the jobs' artifacts.

Gradescope's is the slow one (about half a minute): the zip is built by the CLI, unpacked into a
temporary /autograder, and its setup.sh really installs the grader wheel (numpy and the rest from
pip's index) before run_autograder grades each submission.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
import zipfile
from pathlib import Path

import pytest

from checks.engine.bundles.gradescope_bundle import Course, course_members, grader_extras
from tiny_grading import REPO, SUBMISSIONS, TINY, clean_environment, write_tiny_checks

TEMPLATES = REPO / "templates"
BIN = Path(sys.executable).parent  # where this venv's rnn-grade is
TINY_MAX = sum(points for _, points in TINY.values())
WRONG_DB = TINY_MAX - 3 * 1 / 5  # tiny_step_backward loses 1/5 of its 3 points


def run(command: list[str], cwd: Path, **environment: str) -> subprocess.CompletedProcess:
    env = clean_environment(PATH=f"{BIN}:/usr/bin:/bin", **environment)
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def tiny_options(tmp_path_factory) -> str:
    """RNN_GRADE_OPTIONS for the tiny checks only."""
    checks, points = write_tiny_checks(tmp_path_factory.mktemp("course"))
    return f"--checks-dir {checks} --no-builtin-checks --points {points}"


# --- Gradescope ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bundle")
    checks, points = write_tiny_checks(folder)
    out = folder / "autograder.zip"
    built = run([str(BIN / "rnn-grade"), "bundle", "gradescope", "--out", str(out), "--checks-dir", str(checks),
                 "--points", str(points), "--no-builtin-checks"], folder)
    assert built.returncode == 0, built.stdout + built.stderr
    return out


@pytest.fixture(scope="module")
def autograder(autograder_zip, tmp_path_factory) -> Path:
    """A temporary /autograder: the zip unpacked into source/ (modes kept), then setup.sh run."""
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(autograder_zip) as archive:
        for member in archive.infolist():
            archive.extract(member, root / "source")
            (root / "source" / member.filename).chmod(member.external_attr >> 16 & 0o777)
    python = getattr(sys, "_base_executable", sys.executable)  # a plain interpreter, as on Gradescope
    setup = run([str(root / "source" / "setup.sh")], root, AUTOGRADER_ROOT=str(root), PYTHON=python)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    return root


def grade_on_gradescope(autograder: Path, files: dict[str, str], links: dict[str, Path] | None = None) -> dict:
    """Lay out submission/ with ``files`` (and ``links``: name -> target), run run_autograder from
    /autograder, return results.json."""
    for folder in ("submission", "results"):
        subprocess.run(["rm", "-rf", str(autograder / folder)], check=True)
    (autograder / "submission").mkdir()
    for name, text in files.items():
        (autograder / "submission" / name).write_text(text)
    for name, target in (links or {}).items():
        (autograder / "submission" / name).symlink_to(target)
    graded = run([str(autograder / "source" / "run_autograder")], autograder, AUTOGRADER_ROOT=str(autograder))
    assert graded.returncode == 0, graded.stdout + graded.stderr
    return json.loads((autograder / "results" / "results.json").read_text())


def test_the_zip_holds_the_scripts_the_grader_and_the_course(autograder_zip):
    archive = zipfile.ZipFile(autograder_zip)
    modes = {member.filename: member.external_attr >> 16 for member in archive.infolist()}
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    wheel_name, = [name for name in modes if name.endswith(".whl")]
    with archive.open(wheel_name) as wheel:
        assert "reference/rnn.py" in zipfile.ZipFile(wheel).namelist()
    assert "course/checks/tiny_checks/tiny.py" in modes and "course/points.toml" in modes
    assert archive.read("rnn-grade-options").decode().split("\n") == [
        "--points", "course/points.toml", "--checks-dir", "course/checks/tiny_checks", "--no-builtin-checks", ""]
    assert archive.read("rnn-grade-extras") == b""  # no extra: setup.sh installs the wheel alone


def test_setup_makes_the_reference_and_the_source_unreadable_to_other_users(autograder):
    reference, = (autograder / "venv").glob("lib/python*/site-packages/reference")
    for path in (reference, reference / "rnn.py", autograder / "source", autograder / "source" / "course"):
        assert not path.stat().st_mode & stat.S_IRWXO, path


def test_run_autograder_grades_the_submission_with_the_course_checks(autograder):
    correct = grade_on_gradescope(autograder, {"rnn_layers.py": SUBMISSIONS["correct"]})
    assert correct["score"] == TINY_MAX and len(correct["tests"]) == len(TINY)
    assert [test["tags"] for test in correct["tests"]] == [[group] for group, _ in TINY.values()]
    buggy = grade_on_gradescope(autograder, {"my_rnn.py": SUBMISSIONS["wrong_db"]})  # its only .py file
    assert buggy["score"] == pytest.approx(WRONG_DB)
    import nbformat

    notebook = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SUBMISSIONS["correct"])]))
    handed_in = grade_on_gradescope(autograder, {"rnn.ipynb": notebook, "notes.txt": "hello"})  # its only notebook
    assert handed_in["score"] == TINY_MAX


def test_run_autograder_without_the_file_tells_the_student(autograder):
    results = grade_on_gradescope(autograder, {"a.py": "", "b.py": "", "notes.txt": "hello"})
    assert results["score"] == 0 and "rnn_layers.py" in results["output"]


def test_run_autograder_never_grades_the_reference_through_a_link(autograder):
    """Git and Gradescope's GitHub upload keep links: helpers linked to the installed reference, or the
    file itself, score nothing (before checks.engine.inputs.intake, the copy followed them: 66/100 with the
    built-in checks)."""
    reference, = (autograder / "venv").glob("lib/python*/site-packages/reference")
    helpers = grade_on_gradescope(autograder, {"rnn_layers.py": "from rnn import *\n"}, {"rnn.py": reference / "rnn.py"})
    assert helpers["score"] == 0
    assert "rnn.py was left out: it is a link to a place outside your submission" in helpers["output"]
    itself = grade_on_gradescope(autograder, {}, {"rnn_layers.py": reference / "rnn.py"})
    assert itself["score"] == 0
    assert ("there is nothing to import: rnn_layers.py was left out: it is a link to a place outside your "
            "submission") in itself["output"]


def test_the_bundle_never_overwrites_a_file(tmp_path):
    out = tmp_path / "autograder.zip"
    out.write_text("the instructor's")
    refused = run([str(BIN / "rnn-grade"), "bundle", "gradescope", "--out", str(out)], tmp_path)
    assert refused.returncode == 2 and "already exists" in refused.stderr
    assert out.read_text() == "the instructor's"


def test_the_bundle_refuses_a_broken_points_file_before_building(tmp_path):
    (tmp_path / "points.toml").write_text("[nonsense\n")
    refused = run([str(BIN / "rnn-grade"), "bundle", "gradescope", "--out", str(tmp_path / "a.zip"),
                   "--points", str(tmp_path / "points.toml")], tmp_path)
    assert refused.returncode == 2 and "points.toml" in refused.stderr
    assert not (tmp_path / "a.zip").exists()


def test_a_pytorch_assignment_has_setup_install_the_torch_extra(tmp_path):
    assert grader_extras(Course(assignment="torch-cells")) == ("torch",)
    assert grader_extras(Course(assignment="cs231n")) == grader_extras(Course()) == ()
    points = tmp_path / "mine.toml"
    points.write_text('[course]\nrequires = ["torch", "pygments"]\n')  # only torch is an extra of the grader
    assert grader_extras(Course(points=points)) == ("torch",)
    setup = (TEMPLATES / "gradescope" / "setup.sh").read_text()
    assert 'if [ -s "$source/rnn-grade-extras" ]' in setup and "download.pytorch.org/whl/cpu" in setup


def test_a_shipped_assignment_is_named_and_a_points_file_copied(tmp_path):
    assert course_members(Course(assignment="cs231n")) == ({}, ["--assignment", "cs231n"])
    points = tmp_path / "mine.toml"
    points.write_text((REPO / "checks" / "assignments" / "cs231n.toml").read_text())
    assert course_members(Course(assignment=str(points))) == (
        {"course/points.toml": points}, ["--points", "course/points.toml"])


# --- PrairieLearn -------------------------------------------------------------------------------

def grade_on_prairielearn(tmp_path: Path, options: str, text: str | None) -> dict:
    """A temporary /grade with student/rnn_layers.py (unless ``text`` is None) and no results/."""
    (tmp_path / "student").mkdir()
    if text is not None:
        (tmp_path / "student" / "rnn_layers.py").write_text(text)
    graded = run(["bash", str(TEMPLATES / "prairielearn" / "grade.sh")], tmp_path,
                 GRADE_ROOT=str(tmp_path), RNN_GRADE_OPTIONS=options)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    return json.loads((tmp_path / "results" / "results.json").read_text())


def test_prairielearn_entry_point_writes_the_results(tmp_path, tiny_options):
    results = grade_on_prairielearn(tmp_path, tiny_options, SUBMISSIONS["wrong_db"])
    assert results["gradable"] is True and results["score"] == pytest.approx(WRONG_DB / TINY_MAX)
    assert len(results["tests"]) == len(TINY)


@pytest.mark.parametrize("text", [SUBMISSIONS["syntax_error"], None], ids=["syntax-error", "no-file"])
def test_prairielearn_an_ungradable_submission_uses_no_attempt(tmp_path, tiny_options, text):
    results = grade_on_prairielearn(tmp_path, tiny_options, text)
    assert results["gradable"] is False and results["score"] == 0


# --- GitLab -------------------------------------------------------------------------------------

def test_gitlab_job_writes_the_junit_report_it_declares(tmp_path, tiny_options):
    job = (TEMPLATES / "gitlab" / ".gitlab-ci.yml").read_text()
    assert "- bash .gitlab/rnn-grade.sh" in job
    assert re.search(r"artifacts:\n\s+when: always\b.*\n(.*\n)*\s+reports:\n\s+junit: report\.xml", job)
    (tmp_path / "rnn_layers.py").write_text(SUBMISSIONS["wrong_db"])
    graded = run(["bash", str(TEMPLATES / "gitlab" / "rnn-grade.sh")], tmp_path, RNN_GRADE_OPTIONS=tiny_options)
    assert graded.returncode == 1  # points lost: the job fails, and the report says why
    cases = ElementTree.parse(tmp_path / "report.xml").getroot().iter("testcase")
    failed = {case.get("name") for case in cases if case.find("failure") is not None}
    assert failed == {"tiny_step_backward"}


# --- GitHub Classroom ---------------------------------------------------------------------------

def test_github_workflow_grades_with_the_script_and_reports_its_result():
    workflow = (TEMPLATES / "github-classroom" / ".github" / "workflows" / "classroom.yml").read_text()
    # What the reporter requires: these names, a step id, and its result in <ID>_RESULTS.
    assert "name: Autograding Tests\n" in workflow and "\n  run-autograding-tests:\n" in workflow
    grade_step = re.search(r"- name: Grade rnn_layers.py\n((?: {8}.*\n)+)", workflow).group(1)
    assert "id: rnn-grade\n" in grade_step and "run: bash .github/rnn-grade.sh\n" in grade_step
    reporter = workflow[workflow.index("uses: classroom-resources/autograding-grading-reporter@v1"):]
    assert 'RNN-GRADE_RESULTS: "${{ steps.rnn-grade.outputs.result }}"' in reporter
    assert "runners: rnn-grade\n" in reporter and "if: always()" in workflow



def test_github_workflow_grants_the_permissions_the_reporter_documents():
    """classroom-resources/autograding-grading-reporter's README: ``checks: write`` (it reports through a
    check run), ``actions: read`` and ``contents: read``; nothing more."""
    workflow = load_yaml(TEMPLATES / "github-classroom" / ".github" / "workflows" / "classroom.yml")
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}

def test_github_script_writes_the_summary_and_classroom_result(tmp_path, tiny_options):
    (tmp_path / "rnn_layers.py").write_text(SUBMISSIONS["wrong_db"])
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    graded = run(["bash", str(TEMPLATES / "github-classroom" / ".github" / "rnn-grade.sh")], tmp_path,
                 RNN_GRADE_OPTIONS=tiny_options, GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary))
    assert graded.returncode == 0, graded.stderr  # lost points: the reporter fails the job, not this step
    line, = [line for line in output.read_text().splitlines() if line.startswith("result=")]
    result = json.loads(base64.b64decode(line.removeprefix("result=")))
    assert result["version"] == 3 and result["status"] == "fail" and result["max_score"] == TINY_MAX
    assert sum(test["score"] for test in result["tests"]) == pytest.approx(WRONG_DB)
    assert "tiny_step_backward" in summary.read_text()
    assert "::error" in graded.stdout


def test_github_script_passes_on_a_grader_error(tmp_path):
    (tmp_path / "rnn_layers.py").write_text(SUBMISSIONS["correct"])
    graded = run(["bash", str(TEMPLATES / "github-classroom" / ".github" / "rnn-grade.sh")], tmp_path,
                 RNN_GRADE_OPTIONS="--checks-dir /nonexistent", GITHUB_OUTPUT=str(tmp_path / "o"))
    assert graded.returncode == 2



# --- A class in a CI matrix: GitHub Actions and GitLab's parallel: ------------------------------
# Each job's command is taken from the YAML file, run for real in a workspace of its own with the
# variables the platform sets, its artifact laid out as the platform hands it to the merge job,
# and the merge job's command run on them: the result must be the unsharded run's CSVs.

MATRIX_WORKFLOW = TEMPLATES / "github-matrix" / ".github" / "workflows" / "grade-class.yml"
PARALLEL_PIPELINE = TEMPLATES / "gitlab-parallel" / ".gitlab-ci.yml"
CLASS_KINDS = {"ann": "correct", "ben": "wrong_db", "cat": "backward_stub", "dan": "syntax_error", "eve": "correct",
               "fay": "wrong_db"}


def load_yaml(path: Path) -> dict:
    """``path`` parsed by PyYAML, else by the yq command (which brings its own); skipped without either."""
    try:
        import yaml
    except ImportError:
        if shutil.which("yq") is None:
            pytest.skip("no YAML parser here (neither PyYAML nor yq)")
        parsed = subprocess.run(["yq", ".", str(path)], capture_output=True, text=True, check=True)
        return json.loads(parsed.stdout)
    return yaml.safe_load(path.read_text())


def one_match(pattern: str, text: str) -> re.Match:
    matches = list(re.finditer(pattern, text))
    assert len(matches) == 1, (pattern, [match.group(0) for match in matches])
    return matches[0]


@pytest.fixture(scope="module")
def matrix_class(tmp_path_factory, tiny_options) -> tuple[Path, Path]:
    """A class of six tiny submissions (one does not import), and its unsharded --out."""
    root = tmp_path_factory.mktemp("matrix")
    for name, kind in CLASS_KINDS.items():
        (root / "class" / name).mkdir(parents=True)
        (root / "class" / name / "rnn_layers.py").write_text(SUBMISSIONS[kind])
    full = root / "full"
    graded = run([str(BIN / "rnn-grade"), str(root / "class"), "--out", str(full), *tiny_options.split()], root)
    assert graded.returncode == 1, graded.stderr  # the syntax error
    return root / "class", full


def assert_same_class_reports(merged: Path, full: Path) -> None:
    """grades.csv equal but for the seconds column, checks.csv byte for byte."""
    def without_seconds(folder: Path) -> list[list[str]]:
        rows = list(csv.reader(io.StringIO((folder / "grades.csv").read_text())))
        column = rows[0].index("seconds")
        return [row[:column] + row[column + 1:] for row in rows]
    assert len(without_seconds(full)) == len(CLASS_KINDS) + 1
    assert without_seconds(merged) == without_seconds(full)
    assert (merged / "checks.csv").read_bytes() == (full / "checks.csv").read_bytes()
    assert (merged / "report.html").is_file()


def test_github_matrix_workflow_parses_into_shard_jobs_and_a_merge_job():
    workflow = load_yaml(MATRIX_WORKFLOW)
    assert "workflow_dispatch" in workflow.get("on", workflow.get(True, workflow.get("true")))  # YAML 1.1: on = true
    grade, merge = workflow["jobs"]["grade"], workflow["jobs"]["merge"]
    shards = grade["strategy"]["matrix"]["shard"]
    assert shards == [1, 2, 3, 4] and grade["strategy"]["fail-fast"] is False
    runs = [step.get("run", "") for step in grade["steps"]]
    assert any(f"--shard ${{{{ matrix.shard }}}}/{len(shards)} " in command for command in runs)
    upload = next(step for step in grade["steps"] if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"] == {"name": "rnn-grade-shard-${{ matrix.shard }}", "path": "out",
                              "include-hidden-files": True}
    assert merge["needs"] == "grade"
    download = next(step for step in merge["steps"] if step.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"] == {"pattern": "rnn-grade-shard-*", "path": "shards"}
    assert any(step.get("run", "").startswith("rnn-grade merge shards/* --out class") for step in merge["steps"])


def test_github_matrix_jobs_then_the_merge_reproduce_the_unsharded_class(matrix_class, tiny_options, tmp_path):
    class_folder, full = matrix_class
    text = MATRIX_WORKFLOW.read_text()
    shards = [int(s) for s in one_match(r"matrix:\n\s+shard: \[([\d, ]+)\]", text).group(1).split(",")]
    grading = one_match(r"run: (rnn-grade \"\$RNN_GRADE_CLASS\" .*)\n", text).group(1)
    merging = one_match(r"run: (rnn-grade merge .*)\n", text).group(1)
    assert text.count("include-hidden-files: true") == 2  # the marker and the manifest are dot-files
    downloaded = tmp_path / "merge-job" / "shards"  # download-artifact: one folder per artifact, by name
    for shard in shards:
        workspace = tmp_path / f"grade-job-{shard}"
        workspace.mkdir()
        command = grading.replace("${{ matrix.shard }}", str(shard))
        graded = run(["bash", "-e", "-c", command], workspace, RNN_GRADE_CLASS=str(class_folder),
                     RNN_GRADE_OPTIONS=tiny_options)
        assert graded.returncode == 0, graded.stderr  # a submission that does not import is no job failure
        shutil.copytree(workspace / "out", downloaded / f"rnn-grade-shard-{shard}")
    merged = run(["bash", "-e", "-c", merging], downloaded.parent)
    assert merged.returncode == 0, merged.stderr
    assert_same_class_reports(downloaded.parent / "class", full)


def test_gitlab_parallel_pipeline_parses_into_shard_jobs_and_a_merge_job():
    pipeline = load_yaml(PARALLEL_PIPELINE)
    assert pipeline["stages"] == ["grade", "merge"]
    grade, merge = pipeline["grade"], pipeline["merge"]
    assert grade["parallel"] == 4 and grade["stage"] == "grade" and merge["stage"] == "merge"
    assert any('--shard "$CI_NODE_INDEX/$CI_NODE_TOTAL"' in line and '--out "shards/$CI_NODE_INDEX"' in line
               for line in grade["script"])
    assert grade["artifacts"]["paths"] == ["shards/"]
    assert merge["needs"] == [{"job": "grade", "artifacts": True}]
    assert any(line.startswith("rnn-grade merge shards/* --out class") for line in merge["script"])
    assert merge["artifacts"]["paths"] == ["class/"]


def test_gitlab_parallel_jobs_then_the_merge_reproduce_the_unsharded_class(matrix_class, tiny_options, tmp_path):
    class_folder, full = matrix_class
    text = PARALLEL_PIPELINE.read_text()
    total = int(one_match(r"\n  parallel: (\d+)", text).group(1))
    grading = one_match(r"\n    - (rnn-grade \"\$RNN_GRADE_CLASS\" .*)\n", text).group(1)
    merging = one_match(r"\n    - (rnn-grade merge .*)\n", text).group(1)
    artifact = one_match(r"\n  artifacts:\n    paths:\n      - (shards/)\n", text).group(1)
    merge_job = tmp_path / "merge-job"
    for index in range(1, total + 1):
        workspace = tmp_path / f"grade-job-{index}"
        workspace.mkdir()
        graded = run(["bash", "-e", "-c", grading], workspace, RNN_GRADE_CLASS=str(class_folder),
                     RNN_GRADE_OPTIONS=tiny_options, CI_NODE_INDEX=str(index), CI_NODE_TOTAL=str(total))
        assert graded.returncode == 0, graded.stderr
        # needs: with artifacts: each job's artifact is unpacked into the merge job's project folder
        shutil.copytree(workspace / artifact, merge_job / artifact, dirs_exist_ok=True)
    assert sorted(p.name for p in (merge_job / artifact).iterdir()) == [str(i) for i in range(1, total + 1)]
    merged = run(["bash", "-e", "-c", merging], merge_job)
    assert merged.returncode == 0, merged.stderr
    assert_same_class_reports(merge_job / "class", full)


# --- Every template -----------------------------------------------------------------------------

TEMPLATE_FILE = re.compile(r"(?<![\w/.-])(\.(?:github|gitlab)[\w/.-]*\.(?:ya?ml|sh)|\.gitlab-ci\.yml)\b")


def template_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


@pytest.mark.parametrize("folder", sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir()))
def test_template_comments_name_the_files_the_template_has(folder):
    """A script or workflow that names a file of its template (``.github/workflows/classroom.yml``,
    ``.gitlab/rnn-grade.sh``) names one that is there: the classroom script once named grade.yml."""
    root = TEMPLATES / folder
    have = {path.relative_to(root).as_posix() for path in template_files(root)}
    for path in template_files(root):
        for named in TEMPLATE_FILE.findall(path.read_text()):
            # .gitlab/rnn-grade.sh is where the README says to copy the template's rnn-grade.sh
            assert named in have or named.replace(".gitlab/", "") in have, (path.name, named)


@pytest.mark.parametrize("folder", sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir()))
def test_template_readme_states_a_measured_grading_time(folder):
    """Each README says how long a grade takes, as measured: the figure, the command and the date."""
    readme = (TEMPLATES / folder / "README.md").read_text()
    section = readme[readme.index("**How long a grade takes.**"):]
    assert re.search(r"\b\d+(\.\d+)? s\b", section) and re.search(r"\b20\d\d-\d\d-\d\d\b", section)
    assert "median of 3" in section and "example_buggy.py" in section
    assert "tens of seconds" not in readme
