"""A class in shards: ``rnn-grade CLASS --out OUT --shard I/N`` and ``rnn-grade merge OUT... --out MERGED``
(checks.engine.course.shards, checks.engine.course.merge), graded with the three tiny checks of ``tiny_grading``.

The class is two class folders given in an order that is not the ids' sorted order, so a merge
that sorted its rows (rather than keeping the unsharded run's discovery order) would fail here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checks.engine.course.classroom import discover
from checks.engine.course.shards import MANIFEST, Shard, ShardError, parse_shard, select, shard_of
from tiny_grading import REPO, SUBMISSIONS, clean_environment, write_tiny_checks

SHARDS = 3


def rnn_grade(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "checks.engine.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=clean_environment(), timeout=600)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def grades(out: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))


def without_seconds(out: Path) -> list[list[str]]:
    """grades.csv's cells without the seconds column (timing is the one thing a regrade may change)."""
    rows = list(csv.reader(io.StringIO((out / "grades.csv").read_text())))
    column = rows[0].index("seconds")
    return [row[:column] + row[column + 1:] for row in rows]


def manifest(out: Path) -> dict:
    return json.loads((out / MANIFEST).read_text())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> list[str]:
    checks, points = write_tiny_checks(tmp_path_factory.mktemp("tiny"))
    return ["--checks-dir", str(checks), "--no-builtin-checks", "--points", str(points)]


def make_class(root: Path) -> list[Path]:
    """Two class folders, zeta before alpha: student folders and bare files of every tiny kind."""
    files = {
        "zeta/wrong_db/rnn_layers.py": "wrong_db", "zeta/carol.py": "correct", "zeta/syntax/rnn_layers.py":
        "syntax_error", "alpha/stub/rnn_layers.py": "backward_stub", "alpha/dave/rnn_layers.py": "correct",
        "alpha/amy.py": "wrong_db", "alpha/erin.py": "correct",
    }
    for name, kind in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(SUBMISSIONS[kind])
    return [root / "zeta", root / "alpha"]


@pytest.fixture(scope="module")
def sharded(tmp_path_factory, tiny):
    """The class graded unsharded, then as shards 1/3..3/3, then merged: (folders, full, shards, merged, run)."""
    root = tmp_path_factory.mktemp("sharded")
    folders = [str(folder) for folder in make_class(root / "class")]
    full = root / "full"
    assert rnn_grade(*folders, "--out", str(full), *tiny).returncode == 1  # one syntax error
    shards = [root / f"shard{i}" for i in range(1, SHARDS + 1)]
    for i, out in enumerate(shards, 1):
        assert rnn_grade(*folders, "--out", str(out), "--shard", f"{i}/{SHARDS}", *tiny).returncode in (0, 1)
    merged = root / "merged"
    run = rnn_grade("merge", *map(str, shards), "--out", str(merged))
    return folders, full, shards, merged, run


# -- which shard grades which submission ------------------------------------------------------------


def test_a_submission_belongs_to_the_shard_its_ids_sha256_names():
    for submission in ["alice", "section1/bob", "é"]:
        expected = int.from_bytes(hashlib.sha256(submission.encode()).digest()[:8], "big") % 5 + 1
        assert shard_of(submission, 5) == expected
    assert {shard_of(f"s{i}", 4) for i in range(100)} == {1, 2, 3, 4}  # every shard gets some


def test_the_split_is_the_same_in_every_process():
    """Python's hash() of a str changes with PYTHONHASHSEED; the shard must not."""
    code = "from checks.engine.course.shards import shard_of; print([shard_of(f's{i}', 7) for i in range(50)])"
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True,
                           env=clean_environment(PYTHONHASHSEED=seed)).stdout for seed in ("1", "2", "3")}
    assert len(seen) == 1


def test_shards_1_to_n_select_every_submission_exactly_once(tmp_path):
    entries = discover(make_class(tmp_path))
    assert len(entries) == 7
    for count in (1, 2, 3, 7):
        chosen = [entry.id for index in range(1, count + 1) for entry in select(entries, Shard(index, count))]
        assert sorted(chosen) == sorted(entry.id for entry in entries)  # each once, none left out
    assert [entry.id for entry in select(entries, None)] == [entry.id for entry in entries]


@pytest.mark.parametrize("text, shard", [("1/1", Shard(1, 1)), ("3/4", Shard(3, 4)), (" 2 / 2 ", Shard(2, 2))])
def test_a_shard_is_i_of_n(text, shard):
    assert parse_shard(text) == shard


@pytest.mark.parametrize("text", ["3/2", "0/3", "1/0", "0/0", "a/b", "1/2/3", "2", "1.5/2", ""])
def test_a_bad_shard_names_the_value_and_the_form(text):
    with pytest.raises(ShardError) as raised:
        parse_shard(text)
    assert str(raised.value).startswith(f"--shard {text}: ") and "i/n" in str(raised.value)


def test_a_bad_shard_on_the_command_line_is_a_usage_error(tmp_path, tiny):
    folders = [str(folder) for folder in make_class(tmp_path / "class")]
    refused = rnn_grade(*folders, "--out", str(tmp_path / "out"), "--shard", "3/2", *tiny)
    assert refused.returncode == 2 and "--shard 3/2: there is no shard 3 of 2" in refused.stderr
    assert "1 <= i <= n" in refused.stderr and not (tmp_path / "out").exists()
    without_out = rnn_grade(*folders, "--shard", "1/2", *tiny)
    assert without_out.returncode == 2 and "--shard 1/2 needs --out DIR" in without_out.stderr


# -- shards and merge against the unsharded run ----------------------------------------------------


def test_the_shards_partition_the_class(sharded):
    _, full, shards, _, _ = sharded
    class_ids = [row["submission"] for row in grades(full)]
    held = [manifest(out)["ids"] for out in shards]
    assert sorted(sum(held, [])) == sorted(class_ids)  # every submission graded once across the shards
    for i, (out, ids) in enumerate(zip(shards, held), 1):
        assert manifest(out)["shard"] == f"{i}/{SHARDS}" and manifest(out)["class"] == class_ids
        assert [row["submission"] for row in grades(out)] == ids  # the shard's grades.csv: its own only
        assert all(shard_of(submission, SHARDS) == i for submission in ids)


def test_merge_reproduces_the_unsharded_csvs(sharded):
    _, full, _, merged, run = sharded
    assert run.returncode == 1, run.stderr  # as the unsharded run: a submission could not be imported
    ids = [row["submission"] for row in grades(full)]
    assert ids[0] == "carol" and ids != sorted(ids)  # discovery order, not sorted: kept
    assert without_seconds(merged) == without_seconds(full)
    assert (merged / "checks.csv").read_bytes() == (full / "checks.csv").read_bytes()
    assert "merged 7 submissions from 3 shards" in run.stderr and "7 submissions: 6 graded, 1 syntax-error" in run.stdout


def test_merge_copies_each_report_and_its_repro_scripts(sharded):
    _, full, _, merged, _ = sharded
    assert (merged / ".rnn-grade-output").is_file() and not (merged / MANIFEST).exists()
    for row in grades(full):
        submission = row["submission"]
        documents = [json.loads((out / submission / "results.json").read_text()) for out in (full, merged)]
        assert documents[0]["tests"] == documents[1]["tests"]
        scripts = [sorted(p.name for p in (out / submission / "repro").glob("*.py")) for out in (full, merged)]
        assert scripts[0] == scripts[1]
    assert list((merged / "amy" / "repro").glob("*.py"))  # wrong_db fails a check: it has a script
    page = (merged / "report.html").read_text()
    assert all(f'<a href="./{row["submission"]}/feedback.html">{row["submission"]}</a>' in page
               for row in grades(full))
    assert all((merged / row["submission"] / "feedback.html").is_file() for row in grades(full))


def test_a_merge_of_an_interrupted_shard_lists_what_it_did_not_grade_as_not_graded_yet(sharded, tmp_path):
    """A shard stopped by Ctrl-C records only the reports it finished: merge still lists every student."""
    _, full, shards, _, _ = sharded
    interrupted = [tmp_path / f"shard{i}" for i in range(1, SHARDS + 1)]
    for source, copy in zip(shards, interrupted):
        shutil.copytree(source, copy)
    with_ids = next(out for out in interrupted if manifest(out)["ids"])
    document = manifest(with_ids)
    unfinished = document["ids"][-1]
    (with_ids / MANIFEST).write_text(json.dumps({**document, "ids": document["ids"][:-1]}))
    shutil.rmtree(with_ids / unfinished)
    run = rnn_grade("merge", *map(str, interrupted), "--out", str(tmp_path / "merged"))
    rows = grades(tmp_path / "merged")
    assert [row["submission"] for row in rows] == [row["submission"] for row in grades(full)]
    waiting = next(row for row in rows if row["submission"] == unfinished)
    assert waiting["status"] == "not-graded-yet" and waiting["score"] == "" and waiting["max_score"] == "6"
    assert run.returncode == 1 and "1 not-graded-yet" in run.stdout, run.stdout + run.stderr


def test_merge_into_an_earlier_merge_replaces_it(sharded, tmp_path):
    _, full, shards, merged, _ = sharded
    again = tmp_path / "again"
    shutil.copytree(merged, again)
    (again / "grades.csv").write_text("stale\n")
    assert rnn_grade("merge", *map(str, shards), "--out", str(again)).returncode == 1
    assert without_seconds(again) == without_seconds(full)


def test_an_empty_shard_writes_valid_empty_summaries(tmp_path, tiny):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "only.py").write_text(SUBMISSIONS["correct"])
    empty = 2 if shard_of("only", 2) == 1 else 1
    out = tmp_path / "out"
    done = rnn_grade(str(tmp_path / "class"), "--out", str(out), "--shard", f"{empty}/2", *tiny)
    assert done.returncode == 0, done.stderr
    assert grades(out) == [] and (out / "grades.csv").read_text().startswith("submission,score,max_score,")
    assert (out / "checks.csv").read_text().count("\n") == 1 and "0 submissions" in (out / "report.html").read_text()
    assert manifest(out) == {"shard": f"{empty}/2", "class": ["only"], "ids": []}
    other = tmp_path / "other"
    rnn_grade(str(tmp_path / "class"), "--out", str(other), "--shard", f"{3 - empty}/2", *tiny)
    assert f"shard {empty}/2 is given twice" in refused(str(out), str(out), str(other), "--out", str(tmp_path / "m"))
    merged = rnn_grade("merge", str(out), str(other), "--out", str(tmp_path / "merged"))
    assert merged.returncode == 0 and [row["submission"] for row in grades(tmp_path / "merged")] == ["only"]


def test_an_unsharded_rerun_in_a_shards_folder_drops_its_manifest(tmp_path, tiny):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "only.py").write_text(SUBMISSIONS["correct"])
    out = tmp_path / "out"
    rnn_grade(str(tmp_path / "class"), "--out", str(out), "--shard", "1/1", *tiny)
    assert manifest(out)["ids"] == ["only"]
    assert rnn_grade(str(tmp_path / "class"), "--out", str(out), *tiny).returncode == 0
    assert not (out / MANIFEST).exists()  # a stale one would let merge take this folder for a shard


# -- what merge refuses ----------------------------------------------------------------------------


def refused(*args: str) -> str:
    done = rnn_grade("merge", *args)
    assert done.returncode == 2, done.stdout + done.stderr
    return done.stderr


def test_merge_refuses_a_folder_that_is_not_an_rnn_grade_output(sharded, tmp_path):
    folders, full, shards, _, _ = sharded
    message = refused(folders[0], *map(str, shards[1:]), "--out", str(tmp_path / "m"))
    assert f"{folders[0]}: not an rnn-grade output folder (no .rnn-grade-output" in message
    assert "no such folder" in refused(str(tmp_path / "nowhere"), "--out", str(tmp_path / "m"))
    assert "was not graded with --shard" in refused(str(full), "--out", str(tmp_path / "m"))
    assert not (tmp_path / "m").exists()


def test_merge_refuses_a_submission_in_two_shards(sharded, tmp_path):
    _, _, shards, _, _ = sharded
    with_ids = next(out for out in shards if manifest(out)["ids"])
    copy = tmp_path / "copy"
    shutil.copytree(with_ids, copy)
    others = [str(out) for out in shards if out != with_ids]
    message = refused(str(with_ids), str(copy), *others, "--out", str(tmp_path / "m"))
    assert f"submission {manifest(with_ids)['ids'][0]} is in two shards" in message
    assert not (tmp_path / "m").exists()


def test_merge_refuses_a_missing_shard_another_split_and_another_class(sharded, tmp_path, tiny):
    folders, _, shards, _, _ = sharded
    assert f"shard 3/{SHARDS} is missing" in refused(*map(str, shards[:2]), "--out", str(tmp_path / "m"))
    half = tmp_path / "half"
    rnn_grade(*folders, "--out", str(half), "--shard", "1/2", *tiny)
    assert "is shard 1/2" in refused(*map(str, shards), str(half), "--out", str(tmp_path / "m"))
    other = tmp_path / "other"
    shutil.copytree(shards[0], other)
    document = manifest(other)
    (other / MANIFEST).write_text(json.dumps({**document, "class": document["class"] + ["newcomer.py"]}))
    assert "shards of different classes" in refused(str(other), *map(str, shards[1:]), "--out", str(tmp_path / "m"))
    assert not (tmp_path / "m").exists()


def test_merge_never_writes_over_a_users_folder_or_a_shard(sharded, tmp_path):
    _, _, shards, _, _ = sharded
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    assert "was not written by rnn-grade" in refused(*map(str, shards), "--out", str(mine))
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and (mine / "notes.txt").read_text() == "my notes"
    before = (shards[0] / "grades.csv").read_text()
    assert "is one of the shards' folders" in refused(*map(str, shards), "--out", str(shards[0]))
    assert (shards[0] / "grades.csv").read_text() == before
