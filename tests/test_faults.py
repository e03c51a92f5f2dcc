"""Faults that cost seconds (checks.engine.isolation.faults): a function that hung, or crashed the worker
twice, is not called again; every later check that needs it fails at once with the reason.

One grade with the real checks (forward, backward, truncated and hygiene groups) of
tests/hostile/hang_backward.py, a correct submission whose rnn_backward hangs on sequences of
101 steps or more, with a call timeout of 1.5 s: only the long example (T = 300) hangs. The
twice-crashing function is a hostile case (crash_segfault_every_call.py, tests/test_hostile.py);
here the rules of ``FaultRecord.judge`` are checked on faults made by hand.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from checks.engine.isolation.faults import FaultRecord, NotCalledAgain
from checks.engine.isolation.boundary import WorkerFault, WorkerOptions, WorkerTimeout
from checks.engine.run.runner import grade_submission
from checks.registry import load_checks

HOSTILE = Path(__file__).resolve().parent / "hostile"
CALL_TIMEOUT = 1.5
GROUPS = ("forward", "backward", "truncated", "hygiene")
HUNG = "rnn_backward did not finish within 1.5 s on N=2, T=300, D=3, H=2"
# Seconds a check may take beyond the call timeout it waits out: stopping the worker, the check's
# other calls, a loaded machine. Below a second timeout, which is what must never happen.
SLACK = 1.4


@pytest.fixture(scope="module")
def hanging_grade(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hang")
    path = folder / "hang_backward.py"
    path.write_text((HOSTILE / "hang_backward.py").read_text().replace("HANGS_FROM_T = 1\n", "HANGS_FROM_T = 101\n"))
    checks = [check for check in load_checks() if check.group in GROUPS]
    return grade_submission(path, checks, options=WorkerOptions(call_timeout=CALL_TIMEOUT))


def needs_backward(result) -> bool:
    return "rnn_backward" in result.check.needs and not result.check.needs_any


def test_the_first_hang_names_the_input_size_it_hung_on(hanging_grade):
    hung = [r for r in hanging_grade.results if r.message.startswith(HUNG)]
    assert [r.check.name for r in hung] == ["sequence_backward_matches_finite_differences"], \
        [(r.check.name, r.message[:120]) for r in hanging_grade.results]
    assert hung[0].score == 0
    # Hypothesis stopped at the hang: the check waited out one timeout, not one per example.
    assert hung[0].seconds < CALL_TIMEOUT + SLACK


def test_every_later_check_that_needs_it_fails_at_once_with_the_same_reason(hanging_grade):
    later = [r for r in hanging_grade.results if needs_backward(r)][1:]
    assert {r.check.name for r in later} >= {"sequence_backward_matches_reference", "truncated_is_sum_of_window_backprops"}
    for result in later:
        assert result.score == 0
        assert result.message == f"in an earlier check, {HUNG}, so it was not called again"
        assert result.seconds < 0.5  # no worker call at all, let alone a timeout


def test_checks_that_do_not_need_it_are_graded_normally(hanging_grade):
    others = [r for r in hanging_grade.results if not needs_backward(r)]
    assert {r.check.group for r in others} == set(GROUPS)
    # Including hygiene, which judges rnn_backward in parts of their own: only those parts' shares are
    # lost, with the reason (checks/hygiene.py).
    for result in others:
        judged = result.check.share_judged(set(result.check.needs) - {"rnn_backward"})
        assert result.score == pytest.approx(result.check.points * judged), (result.check.name, result.message[:200])
        assert result.message == ("" if judged == 1 else f"in an earlier check, {HUNG}, so it was not called again")
    assert any(r.check.needs_any and not r.passed for r in others)


def test_the_hang_costs_one_call_timeout_in_all(hanging_grade):
    """Everything beyond the checks that passed: one timeout and a restart, however many checks need it."""
    failing = sum(r.seconds for r in hanging_grade.results if not r.passed)
    assert failing < CALL_TIMEOUT + SLACK, failing
    assert hanging_grade.seconds < sum(r.seconds for r in hanging_grade.results) + SLACK


# -- the rules, on faults made by hand -----------------------------------------------------------

DOING = "running rnn_backward on N=2, T=300, D=3, H=2"
INPUTS = "N=2, T=300, D=3, H=2"


def test_a_timeout_condemns_at_once_and_later_calls_are_refused():
    record = FaultRecord()
    fault = record.judge(WorkerTimeout("slow", DOING, 10.0), "rnn_backward", DOING, INPUTS)
    assert isinstance(fault, WorkerTimeout)
    assert str(fault) == "rnn_backward did not finish within 10 s on N=2, T=300, D=3, H=2"
    with pytest.raises(NotCalledAgain, match="in an earlier check, rnn_backward did not finish within 10 s on N=2"):
        record.refuse("rnn_backward")
    record.refuse("rnn_forward")  # the others are still called


def test_a_hang_inside_another_function_condemns_that_one_and_names_both():
    """The worker's stack said rnn_backward was running when the classifier's call hung."""
    record = FaultRecord()
    doing = "running rnn_classifier_loss on N=1, T=1, D=1, H=1"
    fault = record.judge(WorkerTimeout("slow", doing, 10.0, running="rnn_backward"), "rnn_classifier_loss", doing,
                         "N=1, T=1, D=1, H=1")
    assert str(fault) == "rnn_classifier_loss did not finish within 10 s on N=1, T=1, D=1, H=1: it was still running rnn_backward"
    with pytest.raises(NotCalledAgain) as refused:
        record.refuse("rnn_backward")
    assert str(refused.value) == ("in an earlier check, rnn_backward did not finish within 10 s when rnn_classifier_loss "
                                  "called it on N=1, T=1, D=1, H=1, so it was not called again")
    # The caller is not called again either, for rnn_backward's reason, and says why.
    with pytest.raises(NotCalledAgain, match=r"called it on N=1, T=1, D=1, H=1, so it was not called again "
                                             r"\(rnn_classifier_loss calls it\)$"):
        record.refuse("rnn_classifier_loss")
    assert record.cut_short == "rnn_backward"  # what cut the check short: the function that hung
    record.refuse_entered("rnn_forward", ["rnn_step_forward"])  # entering what did not hang is fine
    with pytest.raises(NotCalledAgain, match=r"\(birnn_backward calls it\)$"):
        record.refuse_entered("birnn_backward", ["rnn_forward", "rnn_backward"])
    assert record.reaches == {"rnn_classifier_loss": "rnn_backward", "birnn_backward": "rnn_backward"}


def test_a_crash_condemns_only_the_second_time():
    record = FaultRecord()
    died = WorkerFault(f"the worker process died while {DOING}: killed by signal SIGSEGV", DOING)
    assert record.judge(died, "rnn_backward", DOING, INPUTS) is died
    record.refuse("rnn_backward")
    second = record.judge(died, "rnn_backward", DOING, INPUTS)
    assert "rnn_backward has now crashed twice" in str(second)
    with pytest.raises(NotCalledAgain, match="crashed the worker process twice, the second time on N=2, T=300"):
        record.refuse("rnn_backward")


@pytest.mark.parametrize("fault", [
    WorkerTimeout("the deadline", DOING, 0.5, by_deadline=True),  # the whole run's deadline cut it short
    WorkerTimeout("importing the submission did not finish", "importing the submission", 30.0),  # the restart
    WorkerFault("not finished: the whole-run deadline was reached"),  # nothing was sent
], ids=["deadline", "restart-import", "deadline-before-sending"])
def test_faults_that_say_nothing_about_the_function_condemn_nothing(fault):
    record = FaultRecord()
    for _ in range(3):
        assert record.judge(fault, "rnn_backward", DOING, INPUTS) is fault
    assert not record.condemned


# -- a fault inside a batch is the fault of the call that was running -----------------------------

BATCH_SUBMISSION = '''
import os, time
import numpy as np

def rnn_forward(x, h0, Wx, Wh, b):
    if x.shape[1] == 7:  # the batch's third call
        if FAULT == "hang":
            while True:
                time.sleep(1000)
        os._exit(3)
    return np.tanh(x @ Wx + b), (x, Wx)

def rnn_backward(dh, cache):  # right shapes, wrong values: only the fault matters here
    x, Wx = cache
    return np.zeros_like(x), dh[:, 0], np.zeros_like(Wx), np.zeros((dh.shape[2],) * 2), dh[0, 0]
'''


@pytest.mark.parametrize("fault", ["hang", "crash"])
def test_a_fault_in_a_batch_is_charged_to_the_call_that_was_running(tmp_path, fault):
    """A batch of a forward, a backward and another forward: when the second forward hangs or crashes, the
    fault names it and its sizes (the worker says which call was running), not the batch's backward."""
    import numpy as np

    from checks.engine.isolation.batch_calls import CacheOf
    from checks.engine.isolation.contract import Submission

    path = tmp_path / "batch_fault.py"
    path.write_text(f"FAULT = {fault!r}\n" + BATCH_SUBMISSION)
    rng = np.random.default_rng(0)

    def args(T):
        return rng.normal(size=(2, T, 3)), np.zeros((2, 4)), rng.normal(size=(3, 4)), np.zeros((4, 4)), np.zeros(4)

    sub = Submission(path, WorkerOptions(call_timeout=1.0))
    try:
        with pytest.raises(WorkerFault) as raised:
            sub.batch([("rnn_forward", args(3)), ("rnn_backward", (np.ones((2, 3, 4)), CacheOf(0))),
                       ("rnn_forward", args(7))])
    finally:
        sub.close()
    if fault == "hang":
        assert str(raised.value) == "rnn_forward did not finish within 1 s on N=2, T=7, D=3, H=4"
        assert list(sub.faults.condemned) == ["rnn_forward"]
    else:
        assert "while running rnn_forward on N=2, T=7, D=3, H=4: it exited with status 3" in str(raised.value)
        assert sub.faults.crashes == {"rnn_forward": 1}


# -- a hang inside a function others call costs one timeout in all (issue 24 §2) ------------------

CS231N = Path(__file__).resolve().parent / "corpus" / "correct" / "cs231n_style.py"
# In CS231n's layout these call rnn_backward: each check of them used to wait out a timeout of its own.
CALLERS = ("rnn_backward_truncated", "birnn_backward", "rnn_classifier_loss")
CS231N_GROUPS = ("backward", "truncated", "bidirectional", "classifier", "hygiene")
HUNG_EARLIER = "in an earlier check, rnn_backward did not finish within 1.5 s on N=1, T=1, D=1, H=1"


@pytest.fixture(scope="module")
def cs231n_hang(tmp_path_factory):
    """The CS231n-style correct submission with ``while True: pass`` at the top of rnn_backward, graded."""
    path = tmp_path_factory.mktemp("cs231n_hang") / "cs231n_hang.py"
    source = CS231N.read_text()
    path.write_text(source.replace("def rnn_backward(dh, cache):\n",
                                   "def rnn_backward(dh, cache):\n    while True:\n        pass\n", 1))
    checks = [check for check in load_checks() if check.group in CS231N_GROUPS]
    return grade_submission(path, checks, options=WorkerOptions(call_timeout=CALL_TIMEOUT))


def reaches_backward(result) -> bool:
    return bool({"rnn_backward", *CALLERS} & set(result.check.needs))


def test_a_hang_inside_rnn_backward_costs_one_timeout_whoever_calls_it(cs231n_hang):
    timed_out = [r for r in cs231n_hang.results if "did not finish within" in r.message
                 and not r.message.startswith("in an earlier check")]
    assert [r.message for r in timed_out] == ["rnn_backward did not finish within 1.5 s on N=1, T=1, D=1, H=1"]
    # The needs_any checks (hygiene) still judge their other parts: their time is not the hang's.
    failing = [r for r in cs231n_hang.results if not r.passed and not r.check.needs_any]
    assert sum(r.seconds for r in failing) < CALL_TIMEOUT + SLACK, [(r.check.name, round(r.seconds, 2)) for r in failing]


def test_the_callers_checks_fail_at_once_naming_rnn_backward_and_the_caller(cs231n_hang):
    by_name = {r.check.name: r for r in cs231n_hang.results}
    for name, caller in [("truncated_matches_reference", "rnn_backward_truncated"),
                         ("birnn_backward_matches_finite_differences", "birnn_backward"),
                         ("classifier_matches_reference", "rnn_classifier_loss")]:
        result = by_name[name]
        # Well under a timeout: at most the restarted worker's start, which a loaded machine makes slow.
        assert result.score == 0 and result.seconds < CALL_TIMEOUT
        assert result.message == f"{HUNG_EARLIER}, so it was not called again ({caller} calls it)"
        assert result.cut_short_by == "rnn_backward"
    # The first check that reached it through each caller keeps the example it was cut short on, with a correct
    # submission's calls (none of the student's results): its reproduction script shows the hang.
    for name, caller in [("truncated_matches_reference", "rnn_backward_truncated"),
                         ("birnn_backward_matches_finite_differences", "birnn_backward"),
                         ("classifier_gradients_match_finite_differences", "rnn_classifier_loss")]:
        example = by_name[name].example
        assert example is not None and example.not_finished, name
        assert any(call.function == caller for call in example.trace.calls)
        assert all(call.result is None and not call.entered for call in example.trace.calls)
    # Checks that reach none of them lose nothing; a needs_any check loses only the parts that reach it.
    for result in cs231n_hang.results:
        if not reaches_backward(result):
            assert result.passed, (result.check.name, result.message[:200])
    hygiene = by_name["other_functions_leave_inputs_unchanged"]  # clip_grad_norm, birnn_*, classifier
    assert hygiene.score == pytest.approx(hygiene.check.points * hygiene.check.share_judged({"clip_grad_norm",
                                                                                            "birnn_forward"}))


def test_the_report_says_which_checks_were_cut_short(cs231n_hang):
    from checks.engine.report.markdown import markdown_summary
    from checks.engine.report.markup import escaped
    from checks.engine.report.model import report_model
    from checks.engine.report.terminal import Screen, terminal_summary

    cut = [f"{r.check.group}/{r.check.name}" for r in cs231n_hang.results if r.cut_short_by == "rnn_backward"]
    assert len(cut) >= 8 and "backward/sequence_backward_matches_finite_differences" not in cut  # the one that hung
    line = (f"rnn_backward did not finish within 1.5 s on N=1, T=1, D=1, H=1, so {len(cut)} later checks that reach "
            f"it were cut short: {', '.join(cut)}.")
    assert report_model(cs231n_hang).cut_short == (line,)
    assert escaped(line) in markdown_summary(cs231n_hang)
    assert " ".join(terminal_summary(cs231n_hang, Screen(width=100)).split()).count(line) == 1


def test_the_reproduction_script_of_a_check_cut_short_shows_the_hang(cs231n_hang, tmp_path):
    from checks.engine.run.repro import script_for

    result = next(r for r in cs231n_hang.results if r.check.name == "truncated_matches_reference")
    script = tmp_path / "truncated_matches_reference.py"
    script.write_text(script_for(result.check, result.example, time_limit=2))
    run = subprocess.run([sys.executable, str(script), str(cs231n_hang.submission)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "rnn_backward_truncated did not finish within 2 s" in run.stdout
