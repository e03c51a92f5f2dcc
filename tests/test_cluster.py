"""Class grading on a Dask cluster (``--cluster ADDRESS``, checks.engine.course.cluster).

A ``LocalCluster`` of two worker processes on 127.0.0.1 grades a small class with the tiny checks
of ``tiny_grading``; everything it writes is compared with what ``--jobs 2`` writes for the same
class. The cluster needs the extra (``pip install -e '.[cluster]'``, as CI and README install).
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from checks.engine.course import cluster
from checks.engine.cli import build_parser, main
from checks.engine.course.fingerprint import fingerprint
from checks.engine.inputs.usage import UsageError
from checks.engine.options import resolve
from tiny_grading import CORRECT, REPO, SUBMISSIONS, clean_environment, make_class, rnn_grade, tiny_options

distributed = pytest.importorskip("distributed", reason="needs the cluster extra: pip install -e '.[cluster]'")

# Mixed on purpose: full marks, partial credit (with a reproduction script), a stub, an import error.
CLASS = {"ana": SUBMISSIONS["correct"], "ben": SUBMISSIONS["wrong_db"], "cid": SUBMISSIONS["backward_stub"],
         "dee": SUBMISSIONS["syntax_error"], "eve": SUBMISSIONS["wrong_db"].replace("2 * da", "3 * da")}


@pytest.fixture(scope="module")
def scheduler() -> str:
    """The address of a local Dask cluster: 2 worker processes of one thread each, on loopback."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=":0") as local:  # any free port: tests may run side by side
        yield local.scheduler_address


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> list[str]:
    return tiny_options(tmp_path_factory.mktemp("tiny"))



def table(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


TIMES = ("seconds", "execution_time")  # how long grading took: the only entries that may differ


def without_seconds(value):
    """``value`` without its TIMES entries, at any depth."""
    if isinstance(value, dict):
        return {key: without_seconds(item) for key, item in value.items() if key not in TIMES}
    if isinstance(value, list):
        return [without_seconds(item) for item in value]
    return value


def files_under(out: Path) -> dict[str, str]:
    """Every file a class run wrote under ``out``'s submission folders, by relative path."""
    return {str(path.relative_to(out)): path.read_text() for path in sorted(out.glob("*/**/*")) if path.is_file()}


@pytest.fixture(scope="module")
def graded_both_ways(tmp_path_factory, scheduler, tiny) -> tuple[Path, Path, Path, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("both")
    folder = make_class(root / "class", CLASS)
    local, remote = root / "local", root / "remote"
    local_run = rnn_grade(str(folder), "--out", str(local), "--jobs", "2", "--format", "gradescope,junit", *tiny)
    assert local_run.returncode == 1, local_run.stderr  # dee cannot be imported
    remote_run = rnn_grade(str(folder), "--out", str(remote), "--cluster", scheduler, "--format", "gradescope,junit",
                           *tiny)
    return folder, local, remote, remote_run


def test_the_cluster_grades_a_class_exactly_as_jobs_does(graded_both_ways):
    folder, local, remote, run = graded_both_ways
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and "5 graded, 0 unchanged" in run.stderr, run.stderr
    rows = table(remote / "grades.csv")
    assert [row["submission"] for row in rows] == list(CLASS)
    assert {row["submission"]: row["score"] for row in rows} == {"ana": "6", "ben": "5.4", "cid": "3", "dee": "0",
                                                                 "eve": "5.4"}
    assert without_seconds(rows) == without_seconds(table(local / "grades.csv"))
    assert (remote / "checks.csv").read_text() == (local / "checks.csv").read_text()
    for row in rows:
        documents = [json.loads((out / row["submission"] / "results.json").read_text()) for out in (local, remote)]
        assert documents[0]["score"] == documents[1]["score"] == float(row["score"])
        # extra_data.sandbox included: the worker is confined alike (in CI, as root, dropped to nobody).
        assert without_seconds(documents[0]) == without_seconds(documents[1])
        # The class's examples, drawn once by the client, reached the node that graded it (not drawn there).
        if row["submission"] != "dee":
            assert re.fullmatch("[0-9a-f]{64}", documents[1]["extra_data"]["examples"]), row["submission"]
    # The other formats and the reproduction scripts come back from the nodes too, the same.
    written = files_under(remote)
    assert "ben/repro/tiny_step_backward.py" in written and "ana/junit.xml" in written
    assert "ana/feedback.md" in written and "ana/feedback.html" in written
    local_files = files_under(local)
    assert written.keys() == local_files.keys()
    for name, text in written.items():
        if name.endswith("results.json"):
            text, local_text = (without_seconds(json.loads(t)) for t in (text, local_files[name]))
        elif name.endswith("junit.xml"):  # the same but for its time="..." attributes
            text, local_text = (re.sub(r' time="[^"]*"', "", t) for t in (text, local_files[name]))
        else:
            local_text = local_files[name]
        assert text == local_text, name
    assert (remote / "report.html").is_file()


def test_a_rerun_on_the_cluster_skips_what_is_up_to_date_and_regrades_what_changed(graded_both_ways, scheduler,
                                                                                     tiny):
    folder, local, remote, _ = graded_both_ways
    before = (remote / "grades.csv").read_text()
    again = rnn_grade(str(folder), "--out", str(remote), "--cluster", scheduler, "--format", "gradescope,junit",
                      *tiny)
    assert "0 graded, 5 unchanged" in again.stderr and (remote / "grades.csv").read_text() == before
    # What --jobs wrote is up to date for the cluster too: the same fingerprints.
    assert "0 graded, 5 unchanged" in rnn_grade(str(folder), "--out", str(local), "--cluster", scheduler,
                                                "--format", "gradescope,junit", *tiny).stderr
    (folder / "ben" / "rnn_layers.py").write_text(CORRECT)
    changed = rnn_grade(str(folder), "--out", str(local), "--cluster", scheduler, "--format", "gradescope,junit",
                        *tiny)
    assert "1 graded, 4 unchanged" in changed.stderr, changed.stderr
    assert {row["submission"]: row["score"] for row in table(local / "grades.csv")}["ben"] == "6"


def grading_processes(scheduler: str) -> list[int]:
    """The pids of the grading processes the cluster's workers are running now (children of the workers)."""
    with distributed.Client(scheduler, set_as_default=False) as client:
        workers = set(client.run(os.getpid).values())
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:  # it has just ended
            continue
        if int(parent) in workers and state != "Z" and b"checks.engine.course.cluster" in command:
            found.append(int(stat.parent.name))
    return found


def test_an_interrupted_cluster_run_keeps_what_was_done_and_stops_the_nodes(tmp_path, scheduler, tiny):
    slow = "import time\ntime.sleep(20)\n" + CORRECT  # under the 30 s import timeout
    folder = make_class(tmp_path / "class", {"s0": CORRECT, "s1": CORRECT, **{f"s{i}": slow for i in range(2, 6)}})
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "checks.engine.cli", str(folder), "--out", str(out),
                                "--cluster", scheduler, *tiny], cwd=REPO, env=clean_environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list(out.glob("*/results.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert grading_processes(scheduler)  # two slow ones are being graded
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    # The nodes stop grading at their next look at the stop event, long before the slow grades would end.
    stopped_by = time.monotonic() + cluster.POLL + 10
    while grading_processes(scheduler) and time.monotonic() < stopped_by:
        time.sleep(0.2)
    assert not grading_processes(scheduler)
    rows = table(out / "grades.csv")
    assert [row["submission"] for row in rows] == [f"s{i}" for i in range(6)]  # every student is listed
    assert [(row["score"], row["status"]) for row in rows] == [("6", "graded")] * 2 + [("", "not-graded-yet")] * 4
    for name in ("s2", "s3", "s4", "s5"):  # quick now: the re-run grades what was not finished
        (folder / name / "rnn_layers.py").write_text(CORRECT)
    run = rnn_grade(str(folder), "--out", str(out), "--cluster", scheduler, *tiny)
    assert "4 graded, 2 unchanged" in run.stderr, run.stderr
    assert len(table(out / "grades.csv")) == 6 and run.returncode == 0


def test_a_node_that_sees_other_files_says_so_instead_of_grading_them(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {"ana": CORRECT, "ben": CORRECT})
    settings = resolve(build_parser().parse_args([str(folder), "--out", str(tmp_path / "out"), *tiny]))
    entry = settings.entries[0]
    portable = replace(settings, checks=(), left_out=())  # as run_on_cluster sends it
    job = cluster.NodeJob(entry, fingerprint(entry, settings), portable, str(REPO), "unused")
    assert pickle.loads(pickle.dumps(job)) == job  # what is sent to a node pickles (the checks do not)
    assert cluster.documents_on_node(job)["results.json"]  # the right stamp: graded
    (folder / "ana" / "rnn_layers.py").write_text(CORRECT + "\n# changed after the client looked\n")
    outcome_file = tmp_path / "outcome.pickle"
    (tmp_path / "job.pickle").write_bytes(pickle.dumps(job))
    assert cluster.grading_process(tmp_path / "job.pickle", outcome_file) == 0
    outcome = pickle.loads(outcome_file.read_bytes())
    assert not outcome.documents and "sees other files or settings than the client" in outcome.problem


def test_a_task_that_failed_on_dasks_side_is_that_rows_grader_error(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {"ana": CORRECT, "ben": CORRECT})
    out = tmp_path / "out"
    settings = resolve(build_parser().parse_args([str(folder), "--out", str(out), *tiny]))

    class LostFuture:  # as when the task's workers died, one after the other
        def result(self):
            raise RuntimeError("the task's workers died; the last was tcp://10.0.0.7:4242")

    out.mkdir()  # as batch.prepare_out makes it: reports are written only beneath an existing --out
    cluster.keep(settings.entries[0], cluster.outcome_of(LostFuture()), settings, out)
    document = json.loads((out / settings.entries[0].id / "results.json").read_text())
    assert document["extra_data"]["status"] == "grader-error" and document["extra_data"]["fingerprint"] is None
    assert "the cluster could not run its grading task: RuntimeError" in document["extra_data"]["reason"]
    assert all("tcp://" not in test["output"] for test in document["tests"])  # the student reads no node address


def test_dask_is_imported_only_for_cluster(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {"ana": CORRECT, "ben": CORRECT})
    code = ("import sys\nfrom checks.engine.cli import build_parser\nfrom checks.engine.options import resolve\n"
            "from checks.engine.course import batch\n"
            f"resolve(build_parser().parse_args({[str(folder), '--out', str(tmp_path / 'out'), *tiny]!r}))\n"
            "print('distributed' in sys.modules, 'dask' in sys.modules)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env=clean_environment(), timeout=120)
    assert run.stdout.split() == ["False", "False"], run.stderr


# -- usage errors --------------------------------------------------------------------------------------


def test_without_the_extra_cluster_says_what_to_install(tmp_path, tiny, monkeypatch, capsys):
    folder = make_class(tmp_path / "class", {"ana": CORRECT, "ben": CORRECT})
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    assert main([str(folder), "--out", str(tmp_path / "out"), "--cluster", "tcp://127.0.0.1:8786", *tiny]) == 2
    message = capsys.readouterr().err
    assert "--cluster needs Dask's distributed package" in message
    assert "pip install 'rnn-grade[cluster]'" in message and "internal error" not in message
    assert not (tmp_path / "out").exists()


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]  # closed again: nothing listens there


def test_an_unreachable_scheduler_is_a_usage_error_said_quickly(tmp_path, tiny):
    folder = make_class(tmp_path / "class", {"ana": CORRECT, "ben": CORRECT})
    address = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    run = rnn_grade(str(folder), "--out", str(tmp_path / "out"), "--cluster", address, *tiny, timeout=120)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"--cluster {address}: no Dask scheduler answered there within {cluster.CONNECT_TIMEOUT} s" in run.stderr
    assert "Traceback" not in run.stderr
    assert time.monotonic() - started < cluster.CONNECT_TIMEOUT + 20
    assert not (tmp_path / "out").exists()  # connected before anything is written


@pytest.mark.parametrize("arguments, message", [
    (["--jobs", "2"], "give --jobs N (grade here) or --cluster ADDRESS"),
    (["--cluster", " "], "give the Dask scheduler's address"),
])
def test_cluster_refuses_what_does_not_go_with_it(tmp_path, tiny, arguments, message):
    folder = make_class(tmp_path / "class", {"ana": CORRECT, "ben": CORRECT})
    extra = arguments if "--cluster" in arguments else ["--cluster", "tcp://127.0.0.1:8786", *arguments]
    with pytest.raises(UsageError, match=re.escape(message)):
        resolve(build_parser().parse_args([str(folder), "--out", str(tmp_path / "out"), *extra, *tiny]))


def test_cluster_is_for_a_class_not_one_submission(tmp_path, tiny):
    (tmp_path / "one.py").write_text(CORRECT)
    with pytest.raises(UsageError, match="--cluster is for grading a class"):
        resolve(build_parser().parse_args([str(tmp_path / "one.py"), "--cluster", "tcp://127.0.0.1:8786", *tiny]))
