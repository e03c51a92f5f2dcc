"""What a class run leaves an instructor: folders named by student, a feedback page for each,
statuses of their own for empty and unreadable files, every student listed, an ETA from the start,
a 100% bar, and a single student's folder graded as one submission.

(checks.engine.course.classroom, documents, source_problems, feedback_page, summary, progress.)
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import pytest

from checks.engine.course.classroom import discover
from checks.engine.course.progress import ProgressBar
from checks.engine.course.source_problems import source_problem
from checks.engine.course.summary import HISTOGRAM_BINS, Row, histogram_counts, not_graded_row, report_html
from tiny_grading import CORRECT, SUBMISSIONS, make_class, rnn_grade, tiny_options


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> list[str]:
    return tiny_options(tmp_path_factory.mktemp("tiny"))


def grades(out: Path) -> dict[str, dict]:
    return {row["submission"]: row for row in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


# -- 1. ids name students ------------------------------------------------------------------------------


def test_a_loose_file_is_named_by_its_stem_and_a_student_folder_by_its_name(tmp_path, tiny):
    folder = write(tmp_path / "class", {"alice.py": CORRECT, "bob/rnn_layers.py": CORRECT})
    out = tmp_path / "out"
    assert rnn_grade(str(folder), "--out", str(out), *tiny).returncode == 0
    assert list(grades(out)) == ["alice", "bob"]
    assert (out / "alice" / "results.json").is_file() and (out / "bob" / "results.json").is_file()
    assert not (out / "alice.py").exists() and not (out / "bob" / "rnn_layers.py").exists()


def test_colliding_names_get_distinct_ids_deterministically(tmp_path):
    first, second = tmp_path / "section1", tmp_path / "section2"
    write(first, {"carol/rnn_layers.py": "", "carol.py": "", "Dan.py": "", "dan/rnn_layers.py": "",
                  "grades.csv.py": "", "new\nline.py": ""})
    write(second, {"carol/rnn_layers.py": "", "erin.py": ""})
    ids = [entry.id for entry in discover([first, second])]
    # Same folder: the file keeps its .py; case alone does not tell folders apart (macOS); other folders:
    # prefixed by the folder they came from; a class file's name is never an id's first part.
    assert ids == ["Dan.py", "section1/carol", "carol.py", "dan", "section1/grades.csv", "new\\nline",
                   "section2/carol", "erin"]
    assert len({id_.casefold() for id_ in ids}) == len(ids)
    assert [entry.id for entry in discover([first, second])] == ids  # the same every time


def test_names_alike_but_for_case_are_numbered_within_their_folder(tmp_path):
    write(tmp_path / "class", {"Alice.py": "", "alice.py": "", "alice/rnn_layers.py": ""})
    write(tmp_path / "other", {"alice.py": ""})
    ids = [entry.id for entry in discover([tmp_path / "class", tmp_path / "other"])]
    assert ids == ["Alice.py", "class/alice", "alice.py~2", "other/alice"]


def test_an_out_folder_of_the_previous_layout_is_regraded_into_the_new_one(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {"alice": CORRECT, "bob": SUBMISSIONS["wrong_db"]})
    out = tmp_path / "out"
    assert rnn_grade(str(folder), "--out", str(out), *tiny).returncode == 0
    # Make it look as the previous layout left it: OUT/<student>/rnn_layers.py/results.json, no feedback page.
    for student in ("alice", "bob"):
        old = out / student / "rnn_layers.py"
        old.mkdir()
        report = json.loads((out / student / "results.json").read_text())
        report["extra_data"]["submission"] = f"{student}/rnn_layers.py"
        (old / "results.json").write_text(json.dumps(report))
        for name in ("results.json", "feedback.md", "feedback.html"):
            (out / student / name).unlink()
    run = rnn_grade(str(folder), "--out", str(out), *tiny)
    assert "2 graded, 0 unchanged" in run.stderr, run.stderr
    assert list(grades(out)) == ["alice", "bob"] and grades(out)["alice"]["score"] == "6"
    assert (out / "alice" / "feedback.html").is_file()
    assert (out / "alice" / "rnn_layers.py" / "results.json").is_file()  # the old report is left alone


def test_a_report_of_another_layout_is_never_up_to_date(tmp_path, tiny, monkeypatch):
    from checks.engine.course import fingerprint as fingerprints
    from checks.engine.cli import build_parser
    from checks.engine.options import resolve

    folder = make_class(tmp_path / "class", {"alice": CORRECT})
    settings = resolve(build_parser().parse_args([str(folder), "--out", str(tmp_path / "out"), *tiny]))
    now = fingerprints.fingerprint(settings.entries[0], settings)
    monkeypatch.setattr(fingerprints, "OUT_LAYOUT", 1)
    assert fingerprints.fingerprint(settings.entries[0], settings) != now


# -- 6. a single student's folder ------------------------------------------------------------------------


def test_a_student_folder_is_one_submission_and_its_helper_is_not_another(tmp_path, tiny):
    alice = write(tmp_path / "alice", {"rnn_layers.py": "from utils import *\n", "utils.py": CORRECT})
    entries = discover([alice])
    assert [(entry.id, entry.path.name, entry.alone) for entry in entries] == [("alice", "rnn_layers.py", False)]
    out = tmp_path / "out"
    run = rnn_grade(str(alice), "--out", str(out), *tiny)
    assert run.returncode == 0, run.stdout + run.stderr
    assert {id_: row["score"] for id_, row in grades(out).items()} == {"alice": "6"}  # utils.py imported, not graded
    assert run.stdout.splitlines()[0].split()[:2] == ["alice", "6"]


def test_the_current_folder_named_as_dot_is_named_by_its_own_name(tmp_path, monkeypatch):
    alice = write(tmp_path / "alice", {"rnn_layers.py": "", "utils.py": ""})
    monkeypatch.chdir(alice)
    assert [entry.id for entry in discover([Path(".")])] == ["alice"]


def test_a_class_folder_is_told_from_a_student_folder_by_where_the_graded_file_is(tmp_path):
    loose = write(tmp_path / "loose", {"alice.py": "", "bob.py": ""})
    assert [entry.id for entry in discover([loose])] == ["alice", "bob"]
    folders = write(tmp_path / "folders", {"alice/rnn_layers.py": "", "bob/rnn_layers.py": ""})
    assert [entry.id for entry in discover([folders])] == ["alice", "bob"]
    # A stray rnn_layers.py beside students' folders does not turn the class into one student.
    stray = write(tmp_path / "stray", {"rnn_layers.py": "", "alice/rnn_layers.py": "", "bob/__init__.py": ""})
    assert [entry.id for entry in discover([stray])] == ["alice", "bob", "rnn_layers"]
    # A student's own subfolders (tests, data) do not either; --file names the graded file.
    student = write(tmp_path / "carol", {"rnn_layers.py": "", "tests/test_rnn.py": "", "data/x.py": ""})
    assert [entry.id for entry in discover([student])] == ["carol"]
    chosen = write(tmp_path / "dan", {"solution.py": "", "helpers.py": ""})
    assert [entry.id for entry in discover([chosen])] == ["helpers", "solution"]
    assert [(entry.id, entry.path.name) for entry in discover([chosen], "solution.py")] == [("dan", "solution.py")]


# -- 3. empty and unreadable files -----------------------------------------------------------------------


@pytest.mark.parametrize("content, status, words", [
    (b"", "empty", "it holds nothing at all"),
    (b"# TODO\n\n   \n", "empty", "only comments and blank lines"),
    (b"def f(:\n    pass\n", "syntax-error", "SyntaxError on line 1: invalid syntax (`def f(:`)"),
    (b"x = 1\nreturn x\n", "syntax-error", "SyntaxError on line 2: 'return' outside function"),
    (b"x = '\xe9t\xe9'\n", "encoding-error", "line 1 holds the byte 0xe9, which is not utf-8"),
    (b"x = 1\n\ny = '\xff'\n", "encoding-error", "line 3 holds the byte 0xff"),
    (b"# coding: klingon\nx = 1\n", "encoding-error", "unknown encoding: klingon"),
])
def test_an_empty_or_unreadable_file_has_its_own_status_and_a_reason(tmp_path, content, status, words):
    (tmp_path / "alice.py").write_bytes(content)
    problem = source_problem(discover([tmp_path])[0])
    assert problem is not None and problem.status == status and words in problem.reason, problem
    assert "alice.py" in problem.reason and "\n" not in problem.reason


@pytest.mark.parametrize("content", [b"def f():\n    return 1\n", b'"""Only a docstring."""\n',
                                     b"# -*- coding: latin-1 -*-\nx = '\xe9'\n", b"\xef\xbb\xbfx = 1\n"])
def test_a_readable_file_is_left_to_the_import(tmp_path, content):
    (tmp_path / "alice.py").write_bytes(content)
    assert source_problem(discover([tmp_path])[0]) is None


def test_an_empty_package_is_empty_but_an_empty_init_beside_code_is_not(tmp_path):
    write(tmp_path / "class", {"empty/__init__.py": "", "empty/notes.py": "# later\n", "full/__init__.py": "",
                               "full/layers.py": CORRECT})
    problems = {entry.id: source_problem(entry) for entry in discover([tmp_path / "class"])}
    assert problems["empty"].status == "empty" and problems["full"] is None


def test_a_class_row_for_an_empty_or_unreadable_file_says_why_and_never_reads_graded(tmp_path, tiny):
    folder = write(tmp_path / "class", {"ann.py": "", "ben.py": SUBMISSIONS["syntax_error"],
                                        "cat.py": b"x = '\xff'\n", "dee.py": CORRECT})
    out = tmp_path / "out"
    run = rnn_grade(str(folder), "--out", str(out), *tiny)
    assert run.returncode == 1, run.stdout + run.stderr  # some could not be graded
    rows = grades(out)
    assert {id_: (row["status"], row["score"]) for id_, row in rows.items()} == {
        "ann": ("empty", "0"), "ben": ("syntax-error", "0"), "cat": ("encoding-error", "0"), "dee": ("graded", "6")}
    assert "ann.py is empty" in rows["ann"]["reason"] and "SyntaxError on line 4" in rows["ben"]["reason"]
    assert "not saved as utf-8" in rows["cat"]["reason"]
    assert "ann.py is empty" in (out / "ann" / "feedback.md").read_text()
    assert "4 submissions: 1 empty, 1 syntax-error, 1 encoding-error, 1 graded" in run.stdout


# -- 2. a feedback page for every student ------------------------------------------------------------------


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, str] = {}
        self.tags: list[str] = []
        self.href: str | None = None
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append(tag)
        self.sources += [value for name, value in attrs if name in ("src", "srcset", "xlink:href", "action")]
        self.href = attributes.get("href") if tag == "a" else None

    def handle_data(self, data):
        if self.href is not None:
            self.links[data] = self.href

    def handle_endtag(self, tag):
        if tag == "a":
            self.href = None


def parsed(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text())
    return parser


HOSTILE = '"><img src=x onerror=alert(1)>javascript:x'


def test_every_student_gets_a_feedback_page_linked_from_the_class_report(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {"alice": CORRECT, "bob": SUBMISSIONS["wrong_db"], HOSTILE: CORRECT,
                                             "Ren\u00e9e M\u00fcller (final)": SUBMISSIONS["syntax_error"]})
    write(folder, {"bob/notes.py": "# <script>alert('notes')</script> ![x](http://example.com/t.png)\n"})
    out = tmp_path / "out"
    rnn_grade(str(folder), "--out", str(out), *tiny)  # no --format: the pages are written by default
    rows = grades(out)
    page = parsed(out / "report.html")
    for id_ in rows:
        assert (out / id_ / "feedback.md").is_file(), id_
        target = page.links[id_]
        assert not re.match(r"^[a-z]+:", target) and target.endswith("/feedback.html")  # relative, no scheme
        assert (out / urllib.parse.unquote(target)).resolve() == (out / id_ / "feedback.html").resolve()
    assert page.links["Ren\u00e9e M\u00fcller (final)"] == "./Ren%C3%A9e%20M%C3%BCller%20%28final%29/feedback.html"
    assert "wrong" not in page.links  # nothing else is linked
    bob = (out / "bob" / "feedback.html").read_text()
    assert "tiny_step_backward" in bob and "5.4" in bob
    assert "default-src 'none'" in bob


def test_a_feedback_page_is_self_contained_and_shows_hostile_text_as_text(tmp_path, tiny):
    evil = ("import numpy as np\nprint('<script>alert(1)</script> [click](javascript:alert(2)) "
            "![i](http://example.com/x.png) <http://example.com>')\n" + CORRECT.replace("import numpy as np\n", "")
            .replace("return next_h, cache", "return next_h + 1, cache", 1))
    folder = make_class(tmp_path / "class", {HOSTILE: evil})
    out = tmp_path / "out"
    rnn_grade(str(folder), "--out", str(out), *tiny)
    (id_,) = grades(out)
    page = parsed(out / id_ / "feedback.html")
    text = (out / id_ / "feedback.html").read_text()
    assert "script" not in page.tags and "img" not in page.tags and "a" not in page.tags and not page.sources
    assert "<script>" not in text and "http://example.com" not in re.sub(r"&[a-z]+;", "", "".join(
        re.findall(r'(?:href|src)="([^"]*)"', text)))
    assert "onerror" not in "".join(re.findall(r"<[^>]*>", text))  # only ever inside text, escaped


def test_a_report_html_link_cannot_leave_the_submission_folder():
    row = Row("a/../../etc", 1, 1, {}, "graded", 0.1, "", (), "feedback.html")
    odd = Row("javascript:alert(1)", 1, 1, {}, "graded", 0.1, "", (), "feedback.html")
    html = report_html([row, odd])
    assert 'href="./javascript%3Aalert%281%29/feedback.html"' in html
    assert 'href="javascript' not in html


# -- 4. every student listed; 5. the histogram and the ETA ------------------------------------------------


def test_full_marks_have_a_bar_of_their_own():
    rows = [Row(f"s{i}", score, 10, {}, "graded", 1, "", ()) for i, score in enumerate([10, 10, 9.5, 9, 0.5, 0])]
    rows.append(not_graded_row("late", 10))
    counts = histogram_counts(rows)
    assert len(counts) == HISTOGRAM_BINS + 1
    assert counts[-1] == 2 and counts[-2] == 2 and counts[0] == 2 and sum(counts) == 6  # not-graded-yet left out
    assert histogram_counts([Row("s", 6 - 1e-12, 6, {}, "graded", 1, "", ())])[-1] == 1  # a float sum's full marks
    page = report_html(rows)
    assert page.count('class="bin"') == 11 and ">100%</text>" in page and "100% (full marks): 2" in page


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def seconds(eta: str) -> int:
    minutes, rest = eta.split(":")
    return int(minutes) * 60 + int(rest)


def test_the_eta_is_an_estimate_from_the_start_and_counts_down_between_completions():
    clock = Clock()
    bar = ProgressBar(10, Terminal(), expected_seconds=4.0, parallel=2, clock=clock)
    assert bar.eta() == "0:20"  # 10 submissions of 4 s, two at a time: before anything is done
    clock.now += 3
    assert bar.eta() == "0:17"  # not frozen: it counts down on the timer's redraws
    clock.now += 1
    bar.advance(failed=False)  # the first took 4 s, as expected
    first = seconds(bar.eta())
    clock.now += 1
    assert seconds(bar.eta()) == first - 1
    clock.now += 60  # far slower than estimated: re-estimated from the time spent, never stuck at 0:00
    late = seconds(bar.eta())
    assert late > 60
    clock.now += 1
    assert seconds(bar.eta()) == late - 1


def test_skipped_reports_tell_the_eta_what_a_submission_takes():
    clock = Clock()
    bar = ProgressBar(4, Terminal(), expected_seconds=1.0, parallel=1, clock=clock)
    bar.advance(failed=False, skipped=True, seconds=10.0)
    bar.advance(failed=False, skipped=True, seconds=20.0)
    assert bar.eta() == "0:30"  # two left at the 15 s the earlier run's reports took


def test_the_class_loop_redraws_the_bar_between_completions(tmp_path, tiny):
    from checks.engine.cli import build_parser
    from checks.engine.course.batch import grade_class
    from checks.engine.options import resolve

    slow = "import time\ntime.sleep(2.5)\n" + CORRECT
    folder = make_class(tmp_path / "class", {"a": slow})
    out = tmp_path / "out"
    settings = resolve(build_parser().parse_args([str(folder), "--out", str(out), "--jobs", "1", *tiny]))
    ticks: list[int] = []
    grade_class(settings, out, jobs=1, on_tick=lambda: ticks.append(1))
    assert len(ticks) >= 2  # about once a second while the one submission is graded


def test_the_bar_writes_nothing_to_a_pipe():
    piped = io.StringIO()
    bar = ProgressBar(3, piped, expected_seconds=1.0)
    bar.tick()
    bar.advance(failed=False)
    bar.close()
    assert piped.getvalue() == ""


def test_the_feedback_page_renders_no_link_image_or_raw_html_even_if_the_markdown_held_one():
    """Defence in depth: the report's Markdown fences the student's text, and the page would not link out
    even if some text slipped through unfenced."""
    from checks.engine.course.feedback_page import feedback_html

    page = feedback_html("[x](http://example.com) ![i](http://example.com/x.png) <http://example.com> "
                         "<img src=x onerror=alert(1)> <script>alert(1)</script>\n", HOSTILE)
    parser = Links()
    parser.feed(page)
    assert not {"a", "img", "script"} & set(parser.tags) and not parser.sources
    assert "<title>rnn-grade: feedback for &quot;&gt;&lt;img src=x onerror=alert(1)&gt;javascript:x</title>" in page
