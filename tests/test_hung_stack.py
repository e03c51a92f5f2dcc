"""Which contract function a hung worker was running (checks.engine.isolation.hung_stack), and what follows.

Read from the stack the worker dumps when its supervisor sends it STACK_SIGNAL after a call timed out:
tested on a parsed text, then on real workers with the kernel sandbox on (the default), hanging in pure
Python, in C code (``time.sleep``, a numpy product), and hostile (its own handler for the signal, bytes
written to the dump's file). Then a worker told the condemned functions in its hello, and a Submission
that refuses an answer whose call entered one, whatever the student's code made of the refusal.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from checks.engine.isolation.boundary import Worker, WorkerOptions, WorkerTimeout
from checks.engine.isolation.contract import Submission
from checks.engine.isolation.faults import NotCalledAgain
from checks.engine.isolation.contract_functions import RECORDED_FUNCTIONS
from checks.engine.isolation.hung_stack import HARNESS, STACK_BYTES, running_function

CALL_TIMEOUT = 1.0
# A call that hangs costs its timeout, the dump (at most STACK_WAIT, 0.3 s) and stopping the worker;
# well under this. One that is refused at once costs a round trip.
HANG_SECONDS, AT_ONCE = CALL_TIMEOUT + 1.5, 0.5


def dump(*frames: tuple[str, str]) -> bytes:
    """A faulthandler stack of ``frames`` ((path, name), innermost first), as the worker writes it."""
    lines = ["Stack (most recent call first):", *(f'  File "{path}", line 7 in {name}' for path, name in frames)]
    return ("\n".join(lines) + "\n").encode()


STUDENT = "/tmp/rnn-grade-x/cs231n_style.py"


def test_the_innermost_contract_function_of_the_student_is_the_one_running():
    stack = dump((STUDENT, "helper"), (STUDENT, "rnn_backward"), (STUDENT, "rnn_classifier_loss"),
                 (f"{HARNESS}/isolation/worker.py", "recorded"), (f"{HARNESS}/isolation/worker.py", "serve"))
    assert running_function(stack) == "rnn_backward"


def test_the_graders_own_frames_and_other_names_are_not_the_students():
    # A frame of the harness named like a contract function (torch_calls' wrappers, say) is not the student's.
    assert running_function(dump((f"{HARNESS}/isolation/torch_calls.py", "rnn_forward"),
                                 (STUDENT, "rnn_forward"))) == "rnn_forward"
    assert running_function(dump((f"{HARNESS}/isolation/worker.py", "rnn_forward"))) is None
    assert running_function(dump((STUDENT, "helper"), (STUDENT, "<module>"))) is None


@pytest.mark.parametrize("text", [b"", b"\xff\xfe garbage \x00" * 100, b'  File "x", line 1 in os.system\n',
                                  b'  File "x", line 1 in rnn_forward; rm -rf /\n'])
def test_garbage_names_no_function(text):
    assert running_function(text) is None


def test_a_function_entered_again_while_the_grader_waited_is_passed_over():
    """A quick rnn_step_backward in rnn_backward's slow loop is innermost at any instant, but entered again."""
    stack = dump((STUDENT, "rnn_step_backward"), (STUDENT, "rnn_backward"), (STUDENT, "rnn_classifier_loss"))
    before = [0] * len(RECORDED_FUNCTIONS)
    looping = list(before)
    looping[RECORDED_FUNCTIONS.index("rnn_step_backward")] = 4096
    assert running_function(stack, before, looping) == "rnn_backward"
    assert running_function(stack, before, before) == "rnn_step_backward"  # entered once: it hangs
    assert running_function(stack) == "rnn_step_backward"  # no counts: the stack alone
    everything = [1] * len(RECORDED_FUNCTIONS)
    assert running_function(stack, before, everything) is None  # then the call's own name is blamed


def test_only_the_first_stack_bytes_are_read():
    padding = b"x" * STACK_BYTES
    assert running_function(padding + dump((STUDENT, "rnn_backward"))) is None
    assert running_function(dump((STUDENT, "rnn_backward")) + padding) == "rnn_backward"


# -- real workers, the sandbox on ----------------------------------------------------------------

HANGING = '''
import os, signal, sys, time
import numpy as np

def rnn_step_backward(dnext_h, cache):
    while cache == "hang":
        pass
    if cache == "slow":  # a millisecond a call: the stack nearly always shows it innermost
        sum(range(20000))
    return dnext_h

def rnn_backward(mode, cache):
    while mode == "slow loop":  # a quick, correct step called forever: the loop is rnn_backward's
        rnn_step_backward(1.0, "slow")
    if mode == "step hangs":
        rnn_step_backward(1.0, "hang")
    if mode == "python":
        while True:
            pass
    if mode == "sleep":
        time.sleep(1000)
    if mode == "numpy":  # a product of big arrays, over and over: the signal comes in C code
        a = np.ones((600, 600))
        while True:
            a = np.tanh(a @ a)
    if mode == "own handler":
        signal.signal(signal.SIGUSR1, lambda *_: None)
        while True:
            pass
    if mode == "garbage":  # the dump's file is the worker's last argument
        os.write(int(sys.argv[4]), b'  File "x.py", line 1 in rnn_forward\\n' * 50 + b"\\xff" * 1000)
        while True:
            pass
    return np.zeros(1), None, None, None, None

def rnn_classifier_loss(mode, *_):
    try:
        return rnn_backward(mode, None)
    except Exception:  # swallows what it can: the refusal to enter a condemned function is not an Exception
        return 0.0, {}
'''


@pytest.fixture(scope="module")
def hanging(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hung") / "hanging.py"
    path.write_text(HANGING)
    return path


@pytest.fixture(scope="module")
def worker(hanging):
    worker = Worker(hanging, WorkerOptions(call_timeout=CALL_TIMEOUT))
    yield worker
    worker.stop()


def timeout_of(worker: Worker, function: str, args: list) -> WorkerTimeout:
    started = time.perf_counter()
    with pytest.raises(WorkerTimeout) as raised:
        worker.request({"op": "call", "fn": function, "args": args, "cache_at": None}, doing=f"running {function}")
    assert time.perf_counter() - started < HANG_SECONDS
    return raised.value


@pytest.mark.parametrize("mode, function", [("python", "rnn_backward"), ("sleep", "rnn_classifier_loss"),
                                            ("numpy", "rnn_classifier_loss"), ("slow loop", "rnn_classifier_loss")])
def test_a_hang_names_the_function_that_was_running_in_python_or_in_c(worker, mode, function):
    """Including a loop that calls a quick function forever: the loop's function is blamed, not the quick one."""
    args = [mode, None] if function == "rnn_backward" else [mode]
    assert timeout_of(worker, function, args).running == "rnn_backward"


def test_a_hang_in_a_function_called_once_names_it(worker):
    assert timeout_of(worker, "rnn_backward", ["step hangs", None]).running == "rnn_step_backward"
    # With the kernel sandbox on: seccomp and Landlock let the signal in and the dump out.
    active = {layer.name for layer in worker.confinement.layers if layer.state == "active"}
    assert {"seccomp", "landlock-fs", "landlock-scope"} <= active or not worker.confinement.layers


@pytest.mark.parametrize("mode", ["own handler", "garbage"])
def test_a_submission_that_meddles_with_the_dump_is_charged_by_the_calls_name(worker, mode):
    """Its own handler: no dump, so ``running`` is unknown and the call's name is blamed, as before. Bytes
    written to the file before the hang are not read as the dump; at worst, forged text names a function of
    its own."""
    running = timeout_of(worker, "rnn_classifier_loss", [mode]).running
    assert running is None if mode == "own handler" else running == "rnn_backward"


def test_a_new_worker_refuses_to_enter_a_condemned_function_whatever_the_student_catches(hanging):
    """Told in its hello that rnn_backward hung, the worker raises at once on entering it; ``except Exception``
    does not swallow that, and the answer says the call entered it."""
    worker = Worker(hanging, WorkerOptions(call_timeout=CALL_TIMEOUT))
    worker.condemned = {"rnn_backward", "os.system"}  # a name that is no contract function is dropped
    try:
        started = time.perf_counter()
        answer = worker.request({"op": "call", "fn": "rnn_classifier_loss", "args": ["python"], "cache_at": None},
                                doing="running rnn_classifier_loss")
        assert time.perf_counter() - started < AT_ONCE + 1.0  # the first request starts the worker
    finally:
        worker.stop()
    assert answer["entered"] == ["rnn_backward"]
    assert answer["raised"].startswith("rnn_classifier_loss raised NotEntered")


def call(sub: Submission):
    """rnn_classifier_loss("done"), sent as another API's view sends its calls (``Submission.send``)."""
    return sub.send({"op": "call", "fn": "rnn_classifier_loss", "args": ["done"], "cache_at": None},
                    "rnn_classifier_loss")


def test_an_answer_that_entered_a_condemned_function_is_refused_even_if_it_returned(tmp_path):
    """The grader's side: the call's ``entered`` is the evidence, whatever the value."""
    path = tmp_path / "swallows.py"
    path.write_text(HANGING)
    sub = Submission(path, WorkerOptions(call_timeout=CALL_TIMEOUT))
    try:
        sub.faults.condemned["rnn_backward"] = "rnn_backward did not finish within 10 s on N=1, T=1, D=1, H=1"
        with pytest.raises(NotCalledAgain) as raised:
            call(sub)  # returns normally, having entered rnn_backward
        assert str(raised.value) == ("in an earlier check, rnn_backward did not finish within 10 s on N=1, T=1, "
                                     "D=1, H=1, so it was not called again (rnn_classifier_loss calls it)")
        assert sub.faults.cut_short == "rnn_backward"
        # Called again, it is refused without a worker call, with the same words.
        with pytest.raises(NotCalledAgain, match=r"\(rnn_classifier_loss calls it\)$"):
            call(sub)
        assert "rnn_classifier_loss" not in sub.callable_functions
    finally:
        sub.close()
