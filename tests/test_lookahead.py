"""checks.engine.run.lookahead: examples drawn ahead in a forked process give the ordinary run's grade.

- Made-up checks on a stand-in submission: the bodies see exactly the examples Hypothesis would
  give them, in the same order; a failing example is graded by the ordinary run (shrunk, with its
  credit); a check whose arguments cannot be pickled, or a drawing process that is killed, leaves
  the checks to the ordinary run; so does a message forged into the pipe, or taken out of it, by
  another process (never unpickled); no drawing process is forked off Linux or while other threads
  run.
- Real grades: a correct submission, a wrong gradient, a hang and a crash get the same report
  drawn ahead as drawn when needed (timing apart); the correct one makes the same calls.

pytest-xdist runs tests beside an I/O thread of its own, which ``Lookahead.start`` would refuse;
the ``one_thread`` fixture lets it fork there (that thread only waits on a socket).
"""

from __future__ import annotations

import json
import os
import pickle
import select
import signal
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from checks.engine.run import lookahead
from checks.engine.isolation.boundary import WorkerOptions
from checks.engine.run.lookahead import Lookahead, drawn_ahead
from checks.engine.report.gradescope import render
from checks.engine.run.runner import UNRELIABLE, grade_submission, run_check
from checks.engine.run.profiles import DEFAULT_SEED
from checks.registry import Check, load_checks
from checks.verdicts import PartialFailure
from test_determinism import drawn_examples

ROOT = Path(__file__).resolve().parent.parent
BUGGY = ROOT / "tests" / "corpus" / "buggy"
HOSTILE = ROOT / "tests" / "hostile"


class Answers:
    """Just what the runner reads of a submission, and the examples its checks were given."""

    import_error = None
    functions = frozenset()

    def __init__(self) -> None:
        self.seen: list[int] = []

    def take_output(self) -> str:
        return ""


def a_check(function) -> Check:
    return Check(function.__name__, "backward", 4.0, (), function, 1.0)


@settings(database=None, max_examples=30)
@given(n=st.integers(0, 1000), m=st.integers(-5, 5))
def passes(sub, n, m):
    sub.seen.append((n, m))


@settings(database=None, max_examples=30)
@given(n=st.integers(0, 1000))
def fails_from_three(sub, n):
    sub.seen.append(n)
    if n >= 3:
        raise AssertionError(f"n = {n}")


@settings(database=None, max_examples=5)
@given(f=st.just(lambda x: x))
def gets_a_function(sub, f):
    sub.seen.append(f(1))


@pytest.fixture
def one_thread(monkeypatch):
    monkeypatch.setattr(threading, "active_count", lambda: 1)


def ordinary_and_ahead(check: Check, drawing: Lookahead, index: int):
    """(result, examples seen) of the ordinary run, then of the run on the examples drawn ahead."""
    ordinary, ahead = Answers(), Answers()
    return (run_check(check, ordinary), ordinary.seen), (run_check(check, ahead, drawn=drawing.examples(index)),
                                                         ahead.seen)


def test_the_bodies_see_the_examples_hypothesis_gives_in_its_order(one_thread):
    check = a_check(passes)
    with drawn_ahead([check], 0, enabled=True) as drawing:
        (ordinary, seen), (ahead, seen_ahead) = ordinary_and_ahead(check, drawing, 0)
    assert ahead.passed and ordinary.passed
    assert seen_ahead == seen and len(seen) == 30


def test_a_failing_example_is_graded_by_the_ordinary_run(one_thread):
    check = a_check(fails_from_three)
    with drawn_ahead([check], 0, enabled=True) as drawing:
        (ordinary, seen), (ahead, seen_ahead) = ordinary_and_ahead(check, drawing, 0)
    assert (ahead.score, ahead.message) == (ordinary.score, ordinary.message) == (0.0, "n = 3")  # shrunk
    # The examples up to the first failure, then the ordinary run's own.
    first_failure = next(k for k, n in enumerate(seen) if n >= 3)
    assert seen_ahead == seen[:first_failure + 1] + seen


@settings(database=None, max_examples=30)
@given(n=st.integers(0, 1000))
def fails_only_on_the_first_call(sub, n):
    sub.seen.append(n)
    if len(sub.seen) == 1:
        raise PartialFailure(f"n = {n}", credit=0.5)


def test_an_example_that_fails_drawn_ahead_and_passes_when_run_again_still_fails(one_thread):
    """A submission must not pass by failing only the first time (the ordinary run calls that flaky)."""
    check = a_check(fails_only_on_the_first_call)
    with drawn_ahead([check], 0, enabled=True) as drawing:
        (ordinary, _), (ahead, seen_ahead) = ordinary_and_ahead(check, drawing, 0)
    assert ordinary.score == ahead.score == 0.0  # a result that changes between runs earns nothing
    assert ordinary.message == ahead.message == f"n = {seen_ahead[0]}\n{UNRELIABLE}"


def test_a_check_whose_arguments_cannot_be_pickled_runs_the_ordinary_way_and_the_next_is_drawn(one_thread):
    checks = [a_check(gets_a_function), a_check(passes)]
    with drawn_ahead(checks, 0, enabled=True) as drawing:
        sub = Answers()
        first = drawing.examples(0)
        assert run_check(checks[0], sub, drawn=first).passed and sub.seen == [1] * len(sub.seen) and sub.seen
        assert not first.complete
        (_, seen), (ahead, seen_ahead) = ordinary_and_ahead(checks[1], drawing, 1)
        assert ahead.passed and seen_ahead == seen


def test_a_killed_drawing_process_leaves_every_check_to_the_ordinary_run(one_thread):
    checks = [a_check(passes), a_check(fails_from_three)]
    with drawn_ahead(checks, 0, enabled=True) as drawing:
        os.kill(drawing.pid, signal.SIGKILL)
        results = [run_check(check, Answers(), drawn=drawing.examples(k)) for k, check in enumerate(checks)]
        assert drawing.examples(1) is None  # given up: the checks left run the ordinary way
    assert [r.score for r in results] == [4.0, 0.0] and results[1].message == "n = 3"


def test_a_message_written_into_the_pipe_by_another_process_is_never_unpickled(one_thread, monkeypatch, tmp_path):
    """Where the worker could open the pipe through /proc (no Landlock), what it writes does not verify."""
    go = tmp_path / "go"

    def once_told(n: int) -> int:  # the drawing waits until the forgery is in the pipe, ahead of its messages
        while not go.exists():
            time.sleep(0.01)
        return n

    @settings(database=None, max_examples=30)
    @given(n=st.integers(0, 1000).map(once_told))
    def waits(sub, n):
        sub.seen.append(n)

    unpickled = []
    monkeypatch.setattr(lookahead.pickle, "loads", lambda data: unpickled.append(data) or pickle.loads(data))
    check, forged = a_check(waits), pickle.dumps((0, "end", None))
    with drawn_ahead([check], 0, enabled=True) as drawing:
        with open(f"/proc/self/fd/{drawing.replies.fd}", "wb", buffering=0) as intruder:
            intruder.write(lookahead.FRAME.pack(len(forged), bytes(32)) + forged)
        go.touch()
        (ordinary, seen), (ahead, seen_ahead) = ordinary_and_ahead(check, drawing, 0)
        assert drawing.given_up
    assert unpickled == []
    assert ahead.passed and seen_ahead == seen  # every example run by the ordinary run


def test_a_message_taken_out_of_the_pipe_leaves_a_gap_that_is_noticed(one_thread):
    check = a_check(passes)
    with drawn_ahead([check], 0, enabled=True) as drawing:
        select.select([drawing.replies.fd], [], [], 10)  # a message is there
        size, _ = lookahead.FRAME.unpack(os.read(drawing.replies.fd, lookahead.FRAME.size))
        os.read(drawing.replies.fd, size)  # the first example, gone
        (ordinary, seen), (ahead, seen_ahead) = ordinary_and_ahead(check, drawing, 0)
        assert drawing.given_up
    assert ahead.passed and seen_ahead == seen  # no example was run from the drawing: all by the ordinary run


def test_no_drawing_process_off_linux(one_thread, monkeypatch):
    monkeypatch.setattr(lookahead.sys, "platform", "darwin")
    assert Lookahead.start([a_check(passes)], 0) is None


def test_no_drawing_process_while_other_threads_run():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert Lookahead.start([a_check(passes)], 0) is None
    finally:
        stop.set()
        thread.join()


def test_the_drawing_process_is_reaped(one_thread):
    with drawn_ahead([a_check(passes)], 0, enabled=True) as drawing:
        pid = drawing.pid
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def report(grade) -> dict:
    """The Gradescope report of ``grade`` without its timings (all else: scores, messages, output, examples)."""
    def timeless(value):
        if isinstance(value, dict):
            return {key: timeless(item) for key, item in value.items() if "time" not in key and "seconds" not in key}
        return [timeless(item) for item in value] if isinstance(value, list) else value
    return timeless(json.loads(render(grade)))


@pytest.mark.parametrize("submission, groups", [
    (ROOT / "reference", None),
    (BUGGY / "dWh_one_entry_one_percent_off.py", None),
    (HOSTILE / "hang_backward.py", {"backward", "tanh"}),
    (HOSTILE / "crash_segfault.py", {"forward", "backward"}),
], ids=["correct", "wrong-gradient", "hang", "crash"])
def test_a_grade_is_the_same_drawn_ahead_or_when_needed(one_thread, submission, groups, monkeypatch):
    checks = [check for check in load_checks(profile="default") if groups is None or check.group in groups]
    options = WorkerOptions(call_timeout=2.0)
    forks, fork = [], os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or fork())
    ahead = grade_submission(submission, checks, options=options, lookahead=True)
    assert forks, "the grade did not draw ahead"
    ordinary = grade_submission(submission, checks, options=options, lookahead=False)
    assert report(ahead) == report(ordinary)
    if ordinary.score == ordinary.max_score:  # every example ran once: the same calls, none left out
        assert ahead.worker_calls == ordinary.worker_calls


def test_a_plain_function_check_runs_the_ordinary_way(one_thread):
    def half_right(sub):
        raise PartialFailure("dx differs", credit=0.5)

    check = a_check(half_right)
    with drawn_ahead([check], 0, enabled=True) as drawing:
        result = run_check(check, Answers(), drawn=drawing.examples(0))
    assert result.score == 2.0 and result.message == "dx differs" and result.grader_error is None


def test_every_default_check_is_drawn_ahead_exactly_as_hypothesis_draws_it(one_thread):
    """The drawing process's examples of every built-in check are the ordinary run's, in order."""
    checks = [check for check in load_checks(profile="default") if getattr(check.function, "hypothesis", None)]
    ordinary = [drawn_examples(check) for check in checks]
    with drawn_ahead(checks, DEFAULT_SEED, enabled=True) as drawing:
        ahead = []
        for index in range(len(checks)):
            examples = drawing.examples(index)
            ahead.append([pickle.dumps({name: value for name, value in arguments.items() if name != "sub"})
                          for arguments in examples.arguments(None)])
            assert examples.complete
    assert ahead == ordinary and sum(map(len, ahead)) > 1000
