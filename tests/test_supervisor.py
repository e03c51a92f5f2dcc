"""The grader owns only what it started: a supervisor process, not the grading process, adopts and
kills what a worker leaves behind (checks/engine/isolation/supervisor.py).

The first test is the promise to a caller: a pytest session (or any program) that grades in
process keeps its own child processes, however the workers it grades fault, and whatever daemons
they start. The others test the supervisor itself: it exits as its worker did (so the grader can
say how the worker died), it kills the worker's daemons when told to stop by the grader (the
control pipe closing) or by SIGTERM, and a supervisor that is stuck is killed after a grace period.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from checks.engine.isolation import boundary as isolation, sandbox, supervisor
from checks.engine.isolation.boundary import Worker, WorkerOptions
from checks.engine.run.runner import grade_submission
from test_hostile import copy_case, kill_marked, load_hostile_checks, marked_processes, survivors
from tiny_grading import write_submission

PR_GET_CHILD_SUBREAPER = 37


def is_child_subreaper() -> bool:
    """Whether this process is a Linux child subreaper (prctl(PR_GET_CHILD_SUBREAPER))."""
    flag = ctypes.c_int(0)
    assert ctypes.CDLL(None, use_errno=True).prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0
    return bool(flag.value)


def test_grading_in_process_leaves_the_callers_own_children_alive(tmp_path):
    """A child this session started before grading outlives grades whose workers crash (SIGSEGV),
    exit (os._exit), start setsid daemons (which must still die) and hang (killed at the timeout)."""
    checks = load_hostile_checks(tmp_path / "checks")
    own = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for case in ("crash_segfault", "exit_os_exit", "escape_setsid_daemon", "hang_sleep"):
            path, token = copy_case(case, tmp_path / case)
            try:
                grade = grade_submission(path, checks, options=WorkerOptions(call_timeout=2.0))
                left = survivors(token)
            finally:
                kill_marked(token)
            assert grade.import_error is None and grade.score > 0, (case, grade.results)
            assert not left, f"{case}: processes started by the submission outlived grading: {left}"
            assert own.poll() is None, f"grading {case} killed a process the caller started"
        assert not is_child_subreaper(), "the grading process made itself a child subreaper"
    finally:
        own.kill()
        own.wait()


def supervise(worker: list[str]) -> tuple[subprocess.Popen, int]:
    """Start ``worker`` under a supervisor as Worker does; return the supervisor and the control pipe's write end."""
    control_read, control_write = os.pipe()
    output_read, output_write = os.pipe()
    os.close(output_read)  # these workers print nothing
    process = subprocess.Popen(supervisor.command(worker, control_read, output_write, ()),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               pass_fds=(control_read, output_write), start_new_session=True)
    os.close(control_read)
    os.close(output_write)
    return process, control_write


@pytest.mark.parametrize("code, returncode", [
    ("import sys; sys.exit(3)", 3),
    ("pass", 0),
    ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", -signal.SIGSEGV),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", -signal.SIGKILL),
    # The caps' signals (checks.engine.isolation.limits), which Python ignores or handles unless restored.
    ("import os, signal; signal.signal(signal.SIGXFSZ, signal.SIG_DFL); os.kill(os.getpid(), signal.SIGXFSZ)",
     -signal.SIGXFSZ),
    ("import os, signal; os.kill(os.getpid(), signal.SIGXCPU)", -signal.SIGXCPU),
])
def test_the_supervisor_exits_as_its_worker_did(code, returncode):
    process, control = supervise([sys.executable, "-c", code])
    try:
        assert process.wait(timeout=30) == returncode
    finally:
        os.close(control)


# A worker that starts a setsid daemon (double fork), then sleeps: both carry the marker, the
# daemon as MARKER-daemon.
DAEMON_WORKER = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", sys.argv[1] + "-daemon"])
    os._exit(0)
time.sleep(60)
"""


def wait_for_the_daemon(marker: str, supervisor_pid: int) -> None:
    """Until the daemon runs and its parent has exited (the supervisor, the worker and the daemon are left)."""
    ends = time.monotonic() + 30
    while time.monotonic() < ends:
        if marked_processes(f"{marker}-daemon") and len(set(marked_processes(marker)) - {supervisor_pid}) == 2:
            return
        time.sleep(0.05)
    pytest.fail("the worker did not start its daemon")


@pytest.mark.parametrize("how", ["control pipe closed", "SIGTERM"])
def test_a_supervisor_told_to_stop_kills_the_worker_and_its_daemons(how):
    marker = f"rnn-grade-supervisor-test-{uuid.uuid4().hex}"
    process, control = supervise([sys.executable, "-c", DAEMON_WORKER, marker])
    try:
        wait_for_the_daemon(marker, process.pid)
        if how == "SIGTERM":
            process.send_signal(signal.SIGTERM)
        else:
            os.close(control)
        process.wait(timeout=10)
        assert not survivors(marker), "the supervisor left the worker or its daemon running"
    finally:
        kill_marked(marker)
        if how == "SIGTERM":
            os.close(control)


def test_a_stuck_supervisor_is_killed_after_the_grace_period(tmp_path, monkeypatch):
    monkeypatch.setattr(isolation, "SUPERVISOR_GRACE", 0.5)
    worker = Worker(write_submission(tmp_path, "correct"))
    assert worker.hello()["import_error"] is None
    process = worker.process
    os.kill(process.pid, signal.SIGSTOP)
    started = time.monotonic()
    worker.stop()
    assert process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_a_worker_past_its_cpu_time_is_killed_and_the_student_told_plainly(tmp_path, monkeypatch):
    """With a CPU cap of 1 s (RLIMIT_CPU), a busy loop ends by SIGXCPU long before its 30 s call
    timeout, and the fault says why in words; a fresh worker answers the next call. (Without the
    cap the call would time out instead.)"""
    monkeypatch.setattr(sandbox, "CPU_SECONDS", 1)
    path = tmp_path / "busy.py"
    path.write_text("def spin():\n    while True:\n        pass\n\ndef answer():\n    return 42\n")
    worker = Worker(path, WorkerOptions(call_timeout=30.0))
    try:
        assert worker.hello()["import_error"] is None
        for layer in worker.confinement.missing:
            if layer.name == "cpu-time":
                pytest.skip(f"no CPU cap here: {layer.detail}")
        started = time.monotonic()
        with pytest.raises(isolation.WorkerFault) as fault:
            worker.request({"op": "call", "fn": "spin", "args": []}, doing="calling spin")
        assert time.monotonic() - started < 20
        assert "killed by signal SIGXCPU (it used up the CPU time a submission is allowed)" in str(fault.value)
        assert worker.request({"op": "call", "fn": "answer", "args": []}, doing="calling answer") == {"value": 42}
    finally:
        worker.stop()
