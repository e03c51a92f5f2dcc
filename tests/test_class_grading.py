"""Class grading: ``rnn-grade CLASS_FOLDER --out DIR`` (checks.engine.course.classroom, batch, summary).

Most classes are graded with the three tiny checks of ``tiny_grading``; one small class uses the
real checks. Every number in grades.csv and checks.csv is compared with the per-submission
results.json files, and those with what each tiny submission is known to score.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from checks.engine.course.classroom import discover
from checks.engine.course.progress import ProgressBar
from checks.engine.isolation.sandbox import copy_into
from checks.registry import load_checks
from tiny_grading import CORRECT, REPO, SUBMISSIONS, TINY, clean_environment, make_class, rnn_grade, tiny_options

CORPUS = REPO / "tests" / "corpus"
# What each tiny submission scores with the tiny checks (6 points), and its status.
EXPECTED = {"correct": (6.0, "graded"), "wrong_db": (5.4, "graded"), "backward_stub": (3.0, "graded"),
            "syntax_error": (0.0, "syntax-error"), "crashes_on_import": (0.0, "import-error"),
            "hangs_on_import": (0.0, "timeout")}
STUDENTS = {**SUBMISSIONS, "crashes_on_import": "import os\nos._exit(3)\n"}
GROUPS = list(dict.fromkeys(group for group, _ in TINY.values()))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> list[str]:
    return tiny_options(tmp_path_factory.mktemp("tiny"))



def grades(out: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))


def report(out: Path, submission_id: str) -> dict:
    return json.loads((out / submission_id / "results.json").read_text())


def without_seconds(rows: list[dict]) -> list[dict]:
    return [{key: value for key, value in row.items() if key != "seconds"} for row in rows]


class PageParser(HTMLParser):
    """The text of every table cell by table id, and the histogram bins' counts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[str]] = {}
        self.table: str | None = None
        self.in_cell = False
        self.bins: list[int] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append(tag)
        if tag == "table":
            self.table = attributes.get("id")
            self.tables[self.table] = []
        elif tag == "td":
            self.in_cell = True
            self.tables[self.table].append("")
        elif tag == "rect" and attributes.get("class") == "bin":
            self.bins.append(int(attributes["data-count"]))

    def handle_endtag(self, tag):
        if tag == "td":
            self.in_cell = False

    def handle_data(self, data):
        if self.in_cell:
            self.tables[self.table][-1] += data


def parse_page(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text())
    parser.close()
    return parser


# -- which submissions, under which ids ------------------------------------------------------------


def test_a_class_folder_lists_bare_files_packages_and_student_folders_with_unique_ids(tmp_path):
    first, second = tmp_path / "section1", tmp_path / "section2"
    for path in ["alice/rnn_layers.py", "bob/solution.py", "carol/rnn_layers.py", "carol/helpers.py",
                 "dave/__init__.py", "erin/a.py", "erin/b.py", "frank.py", "_notes.py", ".hidden/rnn_layers.py"]:
        (first / path).parent.mkdir(parents=True, exist_ok=True)
        (first / path).write_text("")
    make_class(second, {"alice": ""})
    entries = {entry.id: entry for entry in discover([first, second])}
    assert list(entries) == ["section1/alice", "bob", "carol", "dave", "erin", "frank", "section2/alice"]
    assert entries["frank"].alone and not entries["carol"].alone
    assert entries["carol"].path == first / "carol" / "rnn_layers.py"
    assert "expected its only .py file, or rnn_layers.py" in entries["erin"].problem
    assert "found a.py, b.py" in entries["erin"].problem
    chosen = {entry.id: entry.problem for entry in discover([first], file_name="a.py")}
    assert chosen["erin"] is None and "expected --file a.py" in chosen["bob"]


def test_two_rnn_layers_files_named_directly_are_told_apart_by_their_folders(tmp_path):
    make_class(tmp_path, {"a": "", "b": ""})
    ids = [entry.id for entry in discover([tmp_path / "a" / "rnn_layers.py", tmp_path / "b" / "rnn_layers.py"])]
    assert ids == ["a/rnn_layers", "b/rnn_layers"]
    assert [entry.id for entry in discover([tmp_path / "a" / "rnn_layers.py"])] == ["rnn_layers"]


def test_a_bare_file_is_copied_alone_and_a_student_file_with_its_helpers(tmp_path):
    (tmp_path / "alice.py").write_text("a")
    (tmp_path / "bob.py").write_text("b")
    assert sorted(p.name for p in copy_into(tmp_path / "alice.py", tmp_path / "alone", False).parent.iterdir()) \
        == ["alice.py"]
    assert sorted(p.name for p in copy_into(tmp_path / "alice.py", tmp_path / "with", True).parent.iterdir()) \
        == ["alice.py", "bob.py"]


def test_a_bare_file_cannot_import_its_classmate_but_a_student_folder_keeps_its_helper(tmp_path, tiny):
    classroom = tmp_path / "class"
    classroom.mkdir()
    (classroom / "bob.py").write_text(CORRECT)
    (classroom / "copier.py").write_text("from bob import *\n")
    (classroom / "carol").mkdir()
    (classroom / "carol" / "rnn_layers.py").write_text("from helpers import *\n")
    (classroom / "carol" / "helpers.py").write_text(CORRECT)
    run = rnn_grade(str(classroom), "--out", str(tmp_path / "out"), "--jobs", "2", *tiny)
    rows = {row["submission"]: row for row in grades(tmp_path / "out")}
    assert rows["copier"]["status"] == "import-error" and "bob" in rows["copier"]["reason"]
    assert rows["carol"]["score"] == "6" and rows["bob"]["score"] == "6"
    assert run.returncode == 1, run.stdout + run.stderr


# -- a class of 40+ -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_class(tmp_path_factory, tiny) -> tuple[Path, Path, dict[str, str], subprocess.CompletedProcess]:
    """44 student folders: tiny submissions of every kind (one hangs), the corpus, an empty folder."""
    folder = tmp_path_factory.mktemp("big") / "class"
    kinds = ["correct", "wrong_db", "backward_stub", "syntax_error", "crashes_on_import"]
    students = {f"student{i:02d}": STUDENTS[kinds[i % len(kinds)]] for i in range(30)}
    students["student_hang"] = STUDENTS["hangs_on_import"]
    for path in [*sorted((CORPUS / "correct").glob("*.py")), *sorted((CORPUS / "buggy").glob("*.py"))[:10]]:
        students[f"corpus_{path.stem}"] = path.read_text()
    make_class(folder, students)
    (folder / "nobody_home").mkdir()
    out = folder.parent / "out"
    run = rnn_grade(str(folder), "--out", str(out), "--jobs", "2", *tiny)
    kind_of = {f"student{i:02d}": kinds[i % len(kinds)] for i in range(30)}
    kind_of["student_hang"] = "hangs_on_import"
    return folder, out, kind_of, run


def test_every_row_of_grades_csv_is_right(big_class):
    folder, out, kind_of, run = big_class
    assert "Traceback" not in run.stdout + run.stderr
    rows = grades(out)
    assert len(rows) == 45 >= 40
    assert list(rows[0]) == ["submission", "score", "max_score", *GROUPS, "status", "seconds", "reason"]
    for row in rows:
        if row["submission"] == "nobody_home":
            assert row["status"] == "import-error" and "expected its only .py file" in row["reason"]
        document = report(out, row["submission"])
        assert float(row["score"]) == pytest.approx(document["score"])
        assert float(row["max_score"]) == document["extra_data"]["max_score"] == 6
        for group in GROUPS:
            in_group = [test["score"] for test in document["tests"] if test["tags"] == [group]]
            assert float(row[group]) == pytest.approx(sum(in_group))
        assert row["status"] == document["extra_data"]["status"]
        assert document["extra_data"]["submission"] == row["submission"]
        if row["submission"] in kind_of:
            assert (float(row["score"]), row["status"]) == EXPECTED[kind_of[row["submission"]]], row
        if row["submission"].startswith("corpus_correct") or "einsum" in row["submission"]:
            assert row["score"] == "6"
        assert (row["status"] == "graded") == (row["reason"] == ""), row
        assert (out / row["submission"] / "feedback.md").is_file() and (out / row["submission"] / "feedback.html").is_file()
    assert run.returncode == 1  # some submissions could not be graded at all


def test_checks_csv_gives_every_checks_pass_rate_and_mean_points(big_class):
    _, out, _, _ = big_class
    documents = [report(out, row["submission"]) for row in grades(out)]
    stats = list(csv.DictReader(io.StringIO((out / "checks.csv").read_text())))
    assert [row["check"] for row in stats] == list(TINY)
    for row in stats:
        tests = [test for document in documents for test in document["tests"]
                 if test["extra_data"]["check"] == row["check"]]
        assert int(row["submissions"]) == len(tests) == 45
        assert int(row["passed"]) == sum(test["status"] == "passed" for test in tests)
        assert float(row["pass_rate"]) == pytest.approx(int(row["passed"]) / 45, abs=1e-4)
        assert float(row["mean_points"]) == pytest.approx(sum(test["score"] for test in tests) / 45, abs=1e-4)


def test_report_html_parses_and_shows_every_submission(big_class):
    _, out, _, _ = big_class
    page = parse_page(out / "report.html")
    ids = [row["submission"] for row in grades(out)]
    assert sum(page.bins) == len(ids) and len(page.bins) == 11  # a tenth each below 100%, and 100%
    assert page.tables["submissions"][::5] == ids  # 5 cells a row, the id first
    assert page.tables["slowest"][0] == "student_hang"  # the 30 s import timeout
    assert "script" not in page.tags and "link" not in page.tags  # self-contained


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_report_html_renders_in_a_headless_browser_without_network(big_class, tmp_path):
    _, out, _, _ = big_class
    browser = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
               f"--user-data-dir={tmp_path / 'profile'}", "--proxy-server=127.0.0.1:9"]  # no network, should it try
    page = (out / "report.html").as_uri()
    dom = subprocess.run([*browser, "--dump-dom", page], capture_output=True, text=True, timeout=120).stdout
    shot = tmp_path / "report.png"
    subprocess.run([*browser, f"--screenshot={shot}", "--window-size=1000,1600", page], capture_output=True,
                   timeout=120)
    assert shot.stat().st_size > 10_000  # something was drawn
    assert dom.count('class="bin"') == 11
    assert all(row["submission"] in dom for row in grades(out))


def test_a_rerun_skips_every_unchanged_submission(big_class, tiny):
    folder, out, _, _ = big_class
    before = (out / "grades.csv").read_text()
    started = time.monotonic()
    run = rnn_grade(str(folder), "--out", str(out), *tiny)
    assert "0 graded, 45 unchanged" in run.stderr, run.stderr
    assert time.monotonic() - started < 20  # the hanging import alone takes 30 s
    assert (out / "grades.csv").read_text() == before and run.returncode == 1


# -- resuming, forcing, determinism, escaping ----------------------------------------------------------


@pytest.fixture
def small_class(tmp_path) -> Path:
    kinds = ["correct", "wrong_db", "backward_stub", "syntax_error"]
    return make_class(tmp_path / "class", {f"s{i}": STUDENTS[kinds[i % 4]] for i in range(8)})


def test_a_changed_submission_is_regraded_and_force_regrades_all(small_class, tiny, tmp_path):
    out = tmp_path / "out"
    assert "8 graded, 0 unchanged" in rnn_grade(str(small_class), "--out", str(out), *tiny).stderr
    (small_class / "s1" / "rnn_layers.py").write_text(CORRECT)
    run = rnn_grade(str(small_class), "--out", str(out), *tiny)
    assert "1 graded, 7 unchanged" in run.stderr
    assert {row["submission"]: row["score"] for row in grades(out)}["s1"] == "6"
    with_seed = [str(small_class), "--out", str(out), "--seed", "4", *tiny]
    assert "8 graded, 0 unchanged" in rnn_grade(*with_seed).stderr  # a setting that changes grades
    assert "0 graded, 8 unchanged" in rnn_grade(*with_seed).stderr
    assert "8 graded, 0 unchanged" in rnn_grade(*with_seed, "--force").stderr


def test_jobs_1_and_jobs_2_give_the_same_grades(small_class, tiny, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    rnn_grade(str(small_class), "--out", str(one), "--jobs", "1", *tiny)
    rnn_grade(str(small_class), "--out", str(two), "--jobs", "2", *tiny)
    assert without_seconds(grades(one)) == without_seconds(grades(two))
    assert (one / "checks.csv").read_text() == (two / "checks.csv").read_text()
    for row in grades(one):
        tests = [report(folder, row["submission"])["tests"] for folder in (one, two)]
        assert tests[0] == tests[1]


def test_an_interrupted_class_keeps_what_was_done_and_the_rerun_completes(tmp_path, tiny):
    slow = "import time\ntime.sleep(1.5)\n" + CORRECT
    folder = make_class(tmp_path / "class", {f"s{i}": slow for i in range(8)})
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "checks.engine.cli", str(folder), "--out", str(out),
                                "--jobs", "1", *tiny], cwd=REPO, env=clean_environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list(out.glob("*/results.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    rows = grades(out)
    assert [row["submission"] for row in rows] == [f"s{i}" for i in range(8)]  # every student, in class order
    done = [row for row in rows if row["status"] == "graded"]
    waiting = [row for row in rows if row["status"] == "not-graded-yet"]
    assert 2 <= len(done) < 8 and len(done) + len(waiting) == 8 and all(row["score"] == "6" for row in done)
    assert all(row["score"] == "" and row["max_score"] == "6" and "run the same command again" in row["reason"]
               for row in waiting)
    assert int(next(csv.DictReader(io.StringIO((out / "checks.csv").read_text())))["submissions"]) == len(done)
    page = parse_page(out / "report.html")
    assert sum(page.bins) == len(done) and page.tables["submissions"][::5] == [row["submission"] for row in rows]
    run = rnn_grade(str(folder), "--out", str(out), "--jobs", "2", *tiny)
    assert f"{len(waiting)} graded, {len(done)} unchanged" in run.stderr, run.stderr
    assert [row["status"] for row in grades(out)] == ["graded"] * 8 and run.returncode == 0


def test_ids_and_reasons_are_escaped_in_the_page(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {"<img src=x onerror=alert(1)>": CORRECT})
    (folder / "a&b").mkdir()
    out = tmp_path / "out"
    rnn_grade(str(folder), "--out", str(out), *tiny)
    text = (out / "report.html").read_text()
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;</a>" in text
    assert "a&amp;b" in text
    assert "<img src=x onerror=alert(1)>" in parse_page(out / "report.html").tables["submissions"]


def test_an_out_folder_with_a_users_files_is_refused_and_left_alone(tmp_path, tiny, small_class):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "grades.csv").write_text("my own grades")
    run = rnn_grade(str(small_class), "--out", str(out), *tiny)
    assert run.returncode == 2 and "was not written by rnn-grade" in run.stderr
    assert [p.name for p in out.iterdir()] == ["grades.csv"] and (out / "grades.csv").read_text() == "my own grades"


# -- exit codes ----------------------------------------------------------------------------------------


def test_a_class_graded_in_full_exits_0_even_with_low_scores(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {"a": STUDENTS["correct"], "b": STUDENTS["backward_stub"]})
    run = rnn_grade(str(folder), "--quiet", *tiny)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().splitlines() == ["2 submissions: 2 graded"]  # --quiet: only what was not graded
    assert "\r" not in run.stderr  # not a terminal: no progress bar


def test_a_broken_check_is_a_grader_error_row_and_exit_2(tmp_path):
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "broken.py").write_text(
        "from checks.registry import check\n\n\n"
        "@check(group='forward', points=1, needs=('rnn_step_forward',))\n"
        "def broken(sub):\n    \"\"\"a check with a typo\"\"\"\n    return undefined_name\n")
    (tmp_path / "points.toml").write_text("")
    folder = make_class(tmp_path / "class", {"a": CORRECT, "b": CORRECT})
    out = tmp_path / "out"
    run = rnn_grade(str(folder), "--out", str(out), "--checks-dir", str(checks), "--no-builtin-checks",
                    "--points", str(tmp_path / "points.toml"))
    assert run.returncode == 2, run.stdout + run.stderr
    rows = grades(out)
    assert [row["status"] for row in rows] == ["grader-error"] * 2 and "NameError" in rows[0]["reason"]
    assert "0 unchanged" in rnn_grade(str(folder), "--out", str(out), "--checks-dir", str(checks),
                                      "--no-builtin-checks", "--points", str(tmp_path / "points.toml")).stderr


# -- the progress bar ---------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_done_failures_and_eta_on_a_terminal_only():
    terminal = Terminal()
    bar = ProgressBar(40, terminal)
    bar.advance(failed=False, skipped=True)
    bar.advance(failed=True)
    assert terminal.getvalue().endswith("\r" + bar.line())
    assert "2/40" in bar.line() and "1 not graded" in bar.line() and "ETA 0:" in bar.line()
    quiet, piped = Terminal(), io.StringIO()
    for silent in (ProgressBar(40, quiet, enabled=False), ProgressBar(40, piped)):
        silent.advance(failed=False)
        silent.close()
    assert quiet.getvalue() == piped.getvalue() == ""


# -- the real checks -------------------------------------------------------------------------------------


def test_a_small_class_on_the_real_checks(tmp_path):
    folder = make_class(tmp_path / "class", {
        "ada": (CORPUS / "correct" / "einsum_dict_cache.py").read_text(),
        "bo": (CORPUS / "buggy" / "db_keepdims.py").read_text(),
    })
    shutil.copy(CORPUS / "correct" / "consuming_cache.py", folder / "cy.py")
    out = tmp_path / "out"
    run = rnn_grade(str(folder), "--out", str(out), "--jobs", "2")
    assert run.returncode == 0, run.stdout + run.stderr
    rows = {row["submission"]: row for row in grades(out)}
    assert list(rows) == ["ada", "bo", "cy"]
    # ada and cy implement the whole contract: full marks on the default assignment (160)
    total = sum(check.points for check in load_checks())
    assert rows["ada"]["score"] == rows["cy"]["score"] == rows["cy"]["max_score"] == f"{total:g}"
    # bo (vanilla RNN only) loses points for its bug, not only for the groups it does not implement
    assert float(rows["bo"]["score"]) < total
    hygiene = [test for test in report(out, "bo")["tests"] if test["tags"][0] == "hygiene"]
    assert hygiene and any(test["score"] < test["max_score"] for test in hygiene)
    for submission_id, row in rows.items():
        assert float(row["score"]) == pytest.approx(report(out, submission_id)["score"])


# -- a hostile or unlucky class: links, special files, odd names (checks.engine.inputs.intake) ----------------


OUTSIDE_LINK = "it is a link to a place outside your submission"


@pytest.fixture(scope="module")
def odd_class(tmp_path_factory, tiny) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """One student folder for each thing that used to stop, hang or bend a class."""
    folder = make_class(tmp_path_factory.mktemp("odd") / "class", {
        "alice": CORRECT, "dora": CORRECT, "eve": CORRECT, "old.py": CORRECT, "fifo": CORRECT,
        os.fsdecode(b"caf\xe9"): CORRECT, "new\nline": CORRECT, "::error title=x::forged": CORRECT})
    (folder / "aaron").mkdir()
    (folder / "aaron" / "rnn_layers.py").symlink_to("../alice/rnn_layers.py")  # a classmate's file
    (folder / "carl").symlink_to("alice")  # a classmate's folder
    (folder / "dora" / "ghost.py").symlink_to("gone.py")  # dangling
    (folder / "eve" / "old.py").mkdir()  # a folder named like a helper
    os.mkfifo(folder / "fifo" / "notes.py")  # opening it would block
    os.mkfifo(folder / "pipe.py")
    for package in ("grades.csv", "loopy"):
        (folder / package).mkdir()
        (folder / package / "__init__.py").write_text(CORRECT)
    (folder / "loopy" / "a").symlink_to("b")
    (folder / "loopy" / "b").symlink_to("a")
    out = folder.parent / "out"
    run = rnn_grade(str(folder), "--out", str(out), "--jobs", "2", *tiny, timeout=300)
    return folder, out, run


def test_no_file_of_one_student_stops_or_hangs_the_class(odd_class):
    _, out, run = odd_class
    assert run.returncode == 1, run.stdout + run.stderr  # some not graded, none a grader error
    rows = {row["submission"]: (row["score"], row["status"], row["reason"]) for row in grades(out)}
    correct = ("6", "graded", "")
    assert rows == {
        "alice": correct,
        "aaron": ("0", "import-error", f"there is nothing to import: rnn_layers.py was left out: "
                                                     f"{OUTSIDE_LINK}"),
        "carl": ("0", "import-error", "carl is a link, and links are never followed: put your own file or folder "
                                      "there"),
        "dora": correct,
        "eve": correct,
        "old.py": correct,  # a folder keeps its whole name
        "fifo": correct,
        "pipe": ("0", "import-error", "there is nothing to import: pipe.py was left out: it is a named pipe, "
                                         "not a file"),
        "caf\\xe9": correct,
        "new\\nline": correct,
        "::error title=x::forged": correct,
        "class/grades.csv": correct,  # never where the class's grades.csv goes
        "loopy": correct,
    }


def test_what_was_left_out_is_in_that_students_report_only(odd_class):
    _, out, _ = odd_class
    left_out = {submission: report(out, submission)["extra_data"]["files_left_out"]
                for submission in ("dora", "eve", "fifo", "loopy", "alice")}
    assert left_out == {
        "dora": ["ghost.py was left out: it is a link to something that is not a file of your "
                               "submission"],
        "eve": ["old.py was left out: it is a folder, not a Python file"],
        "fifo": ["notes.py was left out: it is a named pipe, not a file"],
        "loopy": ["a was left out: it is a link to another link (links are copied only when they name a file "
                  "directly)", "b was left out: it is a link to another link (links are copied only when they "
                               "name a file directly)"],
        "alice": [],
    }


def test_a_classmates_link_never_merges_two_students(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {"alice": CORRECT})
    (folder / "aaron").mkdir()
    (folder / "aaron" / "rnn_layers.py").symlink_to(folder / "alice" / "rnn_layers.py")  # absolute this time
    ids = [entry.id for entry in discover([folder])]
    assert ids == ["aaron", "alice"]
    run = rnn_grade(str(folder), "--out", str(tmp_path / "out"), *tiny)
    rows = {row["submission"]: row["score"] for row in grades(tmp_path / "out")}
    assert rows == {"aaron": "0", "alice": "6"} and run.returncode == 1


def test_what_rnn_grade_wrote_is_never_taken_for_a_submission(tmp_path, tiny):
    from checks.engine.run.repro import MARKER

    folder = make_class(tmp_path / "class", {"alice": CORRECT})
    (folder / "repro").mkdir()  # a --repro-dir an instructor put in the class folder
    (folder / "repro" / "tiny_step_forward.py").write_text(MARKER + "\nprint('reproduce')\n")
    out = folder / "grades"  # --out inside the class folder
    first = rnn_grade(str(folder), "--out", str(out), *tiny)
    second = rnn_grade(str(folder), "--out", str(out), *tiny)
    assert first.returncode == second.returncode == 0, second.stdout + second.stderr
    assert [row["submission"] for row in grades(out)] == ["alice"]
    assert [entry.id for entry in discover([folder])] == ["alice"]
    # ... and the instructor is told which folders were passed over, since a student could forge a marker
    assert "grades was not graded: it holds rnn-grade's own output" in second.stderr
    assert "repro was not graded" in second.stderr


def test_the_class_reports_discovery_keeps_clear_of_are_the_summaries_own():
    from checks.engine.course import summary
    from checks.engine.course.classroom import CLASS_REPORTS

    assert CLASS_REPORTS == {summary.GRADES_CSV, summary.CHECKS_CSV, summary.REPORT_HTML}


def test_a_student_folder_holding_only_a_course_package_is_graded_through_that_package(tmp_path):
    """alice/cs231n/ (a package, no .py file beside it) is alice's submission; a second package, or a .py file
    beside it, makes the choice ambiguous and the usual rules apply."""
    package = tmp_path / "class" / "alice" / "cs231n"
    (package / "classifiers").mkdir(parents=True)
    for name in ("__init__.py", "rnn_layers.py", "classifiers/__init__.py", "classifiers/rnn.py"):
        (package / name).write_text("")
    (tmp_path / "class" / "bob").mkdir()
    (tmp_path / "class" / "bob" / "rnn_layers.py").write_text("")
    entries = {entry.id: entry for entry in discover([tmp_path / "class"])}
    assert entries["alice"].path == package and entries["alice"].problem is None
    assert entries["bob"].path.name == "rnn_layers.py"
    (package.parent / "other").mkdir()
    (package.parent / "other" / "__init__.py").write_text("")
    assert discover([tmp_path / "class"])[0].problem.startswith("nothing to grade in alice/")
