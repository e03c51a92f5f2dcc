"""Examples drawn once for a class (checks.engine.run.streams, checks.engine.course.example_cache).

- A mixed class graded with its examples drawn once gets, row by row and check by check, the grade
  each submission gets alone (score, status, message and the example shown).
- A stream is exactly what Hypothesis passes the check's body, in its order, while every example passes.
- The examples kept in --out are reused by a second run, never used under another key, and never
  unpickled into anything but data; a link there is not followed.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from checks.engine.cli import build_parser
from checks.engine.course import example_cache
from checks.engine.course.batch import grade_class
from checks.engine.course.documents import RESULTS, submission_documents
from checks.engine.course.example_cache import CACHE_NAME, class_streams, read_streams, write_streams
from checks.engine.isolation.boundary import WorkerOptions
from checks.engine.options import resolve
from checks.engine.run.counterexample import each_example_wrapped
from checks.engine.run.runner import grade_submission
from checks.engine.run.streams import Stream, StreamSet, draw_streams, stream_key
from checks.registry import load_checks
from tiny_grading import SUBMISSIONS, make_class, rnn_grade, tiny_options

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
# Two correct layouts, a wrong gradient, a wrong bidirectional pass (partial credit), functions missing,
# and a backward that keeps state between calls (its failure does not repeat: "unreliable").
CLASS = {
    "consuming_cache.py": CORPUS / "correct" / "consuming_cache.py",
    "cs231n_style.py": CORPUS / "correct" / "cs231n_style.py",
    "backward_only_last_dh.py": CORPUS / "buggy" / "backward_only_last_dh.py",
    "birnn_backward_dh_not_flipped.py": CORPUS / "buggy" / "birnn_backward_dh_not_flipped.py",
    "forward_only.py": CORPUS / "partial" / "forward_only.py",
}
ASSIGNMENT = ["--assignment", "rnn"]  # the vanilla RNN's 28 checks: every kind of check, at a test's cost


def a_class(folder: Path) -> Path:
    folder.mkdir()
    for name, source in CLASS.items():
        shutil.copy(source, folder / name)
    return folder


def class_settings(folder: Path, out: Path, *extra: str):
    return resolve(build_parser().parse_args([str(folder), "--out", str(out), *ASSIGNMENT, *extra]))


def results(out: Path, student: str) -> dict:
    return json.loads((out / student / "results.json").read_text())


def verdicts(report: dict) -> list[tuple]:
    """Every check's name, score, status and the words the student reads (the example shown included)."""
    return [(test["name"], test["score"], test["status"], test.get("output", "")) for test in report["tests"]]


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory) -> tuple:
    folder = a_class(tmp_path_factory.mktemp("class") / "class")
    out = tmp_path_factory.mktemp("out") / "out"
    settings = class_settings(folder, out)
    grade_class(settings, out, jobs=2)
    return folder, out, settings


def test_a_class_graded_on_examples_drawn_once_gets_each_submissions_own_grade(graded_class, tmp_path):
    folder, out, settings = graded_class
    assert (out / CACHE_NAME).is_file()
    key = stream_key(settings.checks, settings.seed)
    for entry in settings.entries:
        in_class = results(out, entry.id)
        assert in_class["extra_data"]["examples"] == key  # graded on the class's examples, not its own
        report = json.loads(submission_documents(entry, "stamp", settings)[RESULTS])  # alone: its own examples
        assert report["extra_data"]["examples"] is None
        assert verdicts(in_class) == verdicts(report), entry.id
        assert in_class["score"] == report["score"]
    scores = {entry.id: results(out, entry.id)["score"] for entry in settings.entries}
    assert scores["consuming_cache"] == scores["cs231n_style"] == 100  # the mix really is mixed
    assert 0 < scores["birnn_backward_dh_not_flipped"] < 100 and scores["forward_only"] < 50


def test_a_second_run_reuses_the_examples_kept_in_out(graded_class, monkeypatch):
    folder, out, settings = graded_class
    monkeypatch.setattr(example_cache, "draw_streams", lambda *a: pytest.fail("drew again"))
    streams, kept = class_streams(settings.checks, settings.seed, out)
    assert kept and streams.key == stream_key(settings.checks, settings.seed)


def test_examples_of_another_key_are_never_used(graded_class, tmp_path):
    _, out, settings = graded_class
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    other_seed = settings.seed + 1
    streams, kept = class_streams(settings.checks, other_seed, copy)
    assert not kept and streams.key == stream_key(settings.checks, other_seed)
    assert read_streams(copy).key == streams.key  # replaced by this run's
    # A grade given streams of another key draws its own: the same grade, never the wrong examples.
    wrong = replace(streams, key="0" * 64)
    grade = grade_submission(CLASS["forward_only.py"], settings.checks, settings.seed, streams=wrong,
                             options=WorkerOptions())
    assert grade.examples_key == ""


class Planted:
    def __reduce__(self):
        return (os.system, ("touch planted",))


def test_a_planted_file_is_never_unpickled_into_anything_but_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    body = base64.b64encode(pickle.dumps(StreamSet("k", (Stream("sub", ({"x": Planted()},), True),)))).decode()
    (tmp_path / CACHE_NAME).write_text(json.dumps({"format": 1, "key": "k"}) + "\n" + body + "\n")
    assert read_streams(tmp_path) is None
    assert not (tmp_path / "planted").exists()
    for garbage in ["", "not json\n", json.dumps({"format": 1, "key": "k"}) + "\n!!!\n", "[1]\nAAAA\n"]:
        (tmp_path / CACHE_NAME).write_text(garbage)
        assert read_streams(tmp_path) is None


def test_a_link_in_place_of_the_kept_examples_is_not_followed(tmp_path):
    checks = load_checks(profile="default")[:2]
    target = tmp_path / "elsewhere"
    write_streams(tmp_path, draw_streams(checks, 0))
    os.replace(tmp_path / CACHE_NAME, target)
    (tmp_path / CACHE_NAME).symlink_to(target)
    assert read_streams(tmp_path) is None
    before = target.read_bytes()
    write_streams(tmp_path, draw_streams(checks, 1))  # replaces the link, never writes through it
    assert not (tmp_path / CACHE_NAME).is_symlink() and target.read_bytes() == before
    assert read_streams(tmp_path).key == stream_key(checks, 1)


def test_a_stream_is_what_hypothesis_gives_the_body_in_its_order():
    checks = load_checks(profile="default")
    streams = draw_streams(checks, 0)

    class Passing:  # every body passes: whatever it is given, it records and returns
        pass

    for check, stream in zip(checks, streams.streams):
        if stream is None:
            continue
        seen: list[dict] = []

        def recording(inner):
            def example(**arguments):
                seen.append({name: value for name, value in arguments.items() if not isinstance(value, Passing)})
            return example

        import hypothesis

        test = hypothesis.seed(0)(check.function)
        with each_example_wrapped(test, recording):
            test(Passing())
        assert stream.complete, check.name
        assert len(seen) == len(stream.examples), check.name
        assert [pickle.dumps(example) for example in seen] == [pickle.dumps(e) for e in stream.examples], check.name


def test_a_lone_submission_draws_its_own_examples_ahead_and_a_class_keeps_them(tmp_path):
    tiny = tiny_options(tmp_path / "tiny")
    lone = make_class(tmp_path / "lone", {"ana": SUBMISSIONS["correct"]})
    run = rnn_grade(str(lone), "--out", str(tmp_path / "out_lone"), *tiny)
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "out_lone" / CACHE_NAME).exists()  # drawing first would only have made it wait
    pair = make_class(tmp_path / "pair", {"ana": SUBMISSIONS["correct"], "ben": SUBMISSIONS["wrong_db"]})
    run = rnn_grade(str(pair), "--out", str(tmp_path / "out_pair"), *tiny)
    assert run.returncode == 0, run.stderr
    assert read_streams(tmp_path / "out_pair") is not None
