"""The process boundary: one worker process per submission, with timeouts, restarts and capture.

The grading process never imports student code. ``Worker`` starts ``python -m checks.engine.isolation.worker`` in a
scratch directory with a minimal environment, sends it requests, and waits for answers with a
deadline. A worker that hangs is stopped; a worker that dies is noticed. Either way the fault is
raised as ``WorkerFault``, and the next request starts a fresh worker, so only the check in
progress is lost.

Each worker runs under its own supervisor process (``checks.engine.isolation.supervisor``), which the
grader starts and stops: the supervisor kills the worker's process group and every daemon that
escaped it, and exits as the worker did, so the grader still learns how the worker died. The
grading process itself adopts nothing and kills nothing but its supervisors, so a caller's own
child processes (a pytest session's, say) are left alone.
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Collection

from checks.engine.isolation import supervisor
from checks.engine.isolation.confinement import Confinement
from checks.engine.isolation.hung_stack import (COUNTED_FOR, ENTRY_COUNTS, ENTRY_COUNTS_AT, PROGRESS_FILE_BYTES,
                                                STACK_BYTES, entry_counts, running_function)
from checks.engine.isolation.pipes import OutputCapture, OutputPipe, ReplyReader
from checks.engine.isolation.protocol import NOT_RUNNING, PROGRESS, read_message, write_message
from checks.engine.inputs.display import shown
from checks.engine.inputs.intake import Snapshot, SubmissionUnreadable, read_submission
from checks.engine.isolation.sandbox import Scratch, prepare_scratch

DEFAULT_CALL_TIMEOUT = 10.0
DEFAULT_MEMORY_LIMIT = 2 * 1024**3
# Starting the worker means starting Python and importing numpy and the submission: on a loaded
# machine that alone can take seconds, so it gets at least this long whatever --call-timeout says.
IMPORT_TIMEOUT = 30.0
# Stopping a worker is the supervisor's job; if it has not exited this long after being told to
# (stopped by a signal, say), it is killed, and daemons the worker started may then escape.
SUPERVISOR_GRACE = 5.0
TIMED_OUT = "timed out"  # why a request was given up: its own timeout (not the whole-run deadline)
# A hung worker's stack dump (checks.engine.isolation.hung_stack) takes a millisecond, its C handler
# runs even in a numpy operation: poll its file this often, at most this long, before the worker is stopped.
STACK_POLL, STACK_WAIT = 0.005, 0.3
# What a signal that killed the worker means, in plain words (the caps: checks.engine.isolation.limits).
DEATH_HINTS = {"SIGSEGV": " (a segmentation fault)", "SIGXCPU": " (it used up the CPU time a submission is allowed)",
               "SIGXFSZ": " (it wrote a file larger than a submission is allowed)"}

# Variables that change numerics (OpenBLAS kernel selection, needed on some CPUs for correct
# results) are passed through; everything else of the grader's environment stays out of reach.
PASSED_ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG", "LC_ALL", "TZ")


class WorkerFault(BaseException):
    """The worker hung, died or broke the protocol during a request.

    A BaseException on purpose: Hypothesis stops at once instead of shrinking, which would re-run
    a 10-second hang dozens of times. ``doing`` is what the worker was asked to do when it failed
    (the ``doing`` of ``Worker.request``, or its restart's "importing the submission"), empty
    when nothing was sent.
    """

    def __init__(self, message: str, doing: str = "") -> None:
        super().__init__(message)
        self.doing = doing

    def retold(self, doing: str) -> "WorkerFault":
        """The same fault, met while ``doing`` instead (the call of a batch the worker said was running)."""
        fault = copy.copy(self)
        fault.args, fault.doing = (str(self).replace(self.doing, doing, 1),), doing
        return fault


class WorkerTimeout(WorkerFault):
    """The worker did not answer in time (a hang, or the whole-run deadline).

    ``seconds`` is how long it was given; ``by_deadline`` is True when that was cut short by the
    whole-run deadline, so the hang says nothing about the code that was running. ``running`` is
    the contract function that was running when it was stopped, from its stack (``hung_stack``; None: unknown).
    """

    def __init__(self, message: str, doing: str = "", seconds: float = 0.0, by_deadline: bool = False,
                 running: str | None = None) -> None:
        super().__init__(message, doing)
        self.seconds, self.by_deadline, self.running = seconds, by_deadline, running


# The packages a worker imports before its lock-down when the assignment requires them (worker.preload).
PRELOADED = ("torch",)


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker runs its submission, fixed when the worker is made.

    ``memory_limit`` is in bytes (None: no limit). ``deadline`` is a ``time.monotonic()`` instant
    after which no request is sent (the whole-run bound). ``allowed_packages`` are what the
    submission may import besides numpy; ``require_sandbox`` refuses to grade unconfined.
    """

    import_paths: tuple[Path, ...] = ()
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT
    deadline: float | None = None
    allowed_packages: tuple[str, ...] = ()
    preload: tuple[str, ...] = ()  # packages the worker imports before its lock-down (the assignment's torch)
    require_sandbox: bool = False
    copy_siblings: bool = True  # a file's sibling .py files come along (False in a class folder: classmates)


@dataclass(frozen=True)
class WorkerStats:
    """What one submission's grading cost inside the worker: round trips, and the time spent waiting."""

    calls: int
    seconds_waiting: float


class Worker:
    """One live worker process for one submission, restarted on demand after a fault."""

    def __init__(self, submission: Path, options: WorkerOptions = WorkerOptions()) -> None:
        # The path as given (links above the submission are the user's), never resolved: what is
        # beneath it is read once, here, without following a link (checks.engine.inputs.intake), and every
        # restart writes the same bytes out again.
        self.submission = Path(os.path.abspath(submission))
        self.snapshot = read_or_explain(self.submission, options.copy_siblings)
        self.options = options
        self.import_paths = tuple(str(Path(p).resolve()) for p in options.import_paths)
        self.confinement = Confinement()  # the layers the last worker applied (checks.engine.isolation.confinement)
        self.output = OutputCapture()
        self.process: subprocess.Popen | None = None
        self.scratch: str | None = None
        self.requests_sent = 0
        self.seconds_waiting = 0.0
        self.last_call_running: int | None = None  # call_running() of a worker that was stopped
        # The functions no longer called (checks.engine.isolation.faults): each new worker refuses to enter
        # them. Any collection of names; the Submission hands it its FaultRecord's live view.
        self.condemned: Collection[str] = ()

    def hello(self) -> dict:
        """Start and confine the worker, import the submission: {"functions", "import_error", "missing_module"}.

        The worker's first reply, the layers of confinement it applied, comes before any student
        code runs, so it is the worker's own account, not the submission's.
        """
        if self.process is not None:
            self.stop()
        if not self.snapshot.complete:  # nothing to import: no worker to start
            return {"functions": [], "import_error": nothing_to_import(self.snapshot), "missing_module": None}
        scratch = self._spawn()
        confined = self._exchange(
            {"submission": str(scratch.submission), "paths": list(scratch.import_paths),
             "memory_limit": self.options.memory_limit, "plan": scratch.plan.as_data(),
             "allowed_packages": [package.as_data() for package in scratch.packages],
             "preload": list(self.options.preload), "condemned": sorted(self.condemned)},
            doing="confining the worker",
            at_least=IMPORT_TIMEOUT,
        )
        try:
            self.confinement = Confinement.from_data(confined.get("confinement"))
        except ValueError as error:
            self.stop()
            raise WorkerFault(f"the worker sent a malformed reply while confining itself: {error}") from None
        return self._exchange(None, doing="importing the submission", at_least=IMPORT_TIMEOUT)

    def request(self, message: dict, doing: str) -> dict:
        """Send one request; return the answer or raise WorkerFault (and leave the worker stopped)."""
        if self.process is None:
            self.hello()
        if self.process is None:  # nothing to import (hello said so): no worker to ask
            raise WorkerFault(nothing_to_import(self.snapshot), doing)
        self.requests_sent += 1
        os.pwrite(self._progress.fileno(), NOT_RUNNING, 0)
        return self._exchange(message, doing)

    def call_running(self) -> int | None:
        """Which call of the last batch the worker had started last (None if it did not say): after a
        fault, the call that hung or crashed. The worker writes it (``checks.engine.isolation.worker``) before
        each call; the submission could overwrite it, but only to misplace a fault of its own."""
        return self._read_progress() if self.process is not None else self.last_call_running

    def _read_progress(self) -> int | None:
        try:
            noted = os.pread(self._progress.fileno(), PROGRESS.size, 0)
        except (OSError, ValueError):
            return None
        return PROGRESS.unpack(noted)[0] if len(noted) == PROGRESS.size and noted != NOT_RUNNING else None

    @property
    def stats(self) -> WorkerStats:
        return WorkerStats(self.requests_sent, self.seconds_waiting)

    @property
    def files_left_out(self) -> tuple[str, ...]:
        """A sentence for each file of the submission that was not copied, and why (for the student)."""
        return self.snapshot.left_out

    def _exchange(self, message: dict | None, doing: str, at_least: float = 0.0) -> dict:
        """Send ``message`` (None: nothing, the worker has more to say) and wait for the reply."""
        timeout, reason = self._time_allowed(max(self.options.call_timeout, at_least))
        started = time.perf_counter()
        try:
            if message is not None:
                write_message(self._requests, message)
            answer = read_message(self._replies.wait_until(timeout))
            self._output.drain_ready()  # flushed before the reply: this request's output is all in
        except TimeoutError:
            running = self._running_function() if reason == TIMED_OUT else None
            self.stop()
            raise WorkerTimeout(f"{doing} did not finish within {timeout:g} s ({reason})", doing, timeout,
                                by_deadline=reason != TIMED_OUT, running=running) from None
        except (EOFError, BrokenPipeError, OSError):
            raise WorkerFault(f"the worker process died while {doing}: {self._death_reason()}", doing) from None
        except Exception as error:  # noqa: BLE001 - any undecodable reply (even a RecursionError)
            self.stop()  # the pipe may be mid-message: never read the next reply from it
            raise WorkerFault(f"the worker sent an unreadable reply while {doing}: "
                              f"{type(error).__name__}: {str(error)[:200]}", doing) from None
        finally:
            self.seconds_waiting += time.perf_counter() - started
        if type(answer) is not dict:
            self.stop()
            raise WorkerFault(f"the worker sent a malformed reply while {doing}", doing)
        return answer

    def _running_function(self) -> str | None:
        """The contract function the hung worker is running, from the stack it dumps when its supervisor
        sends it STACK_SIGNAL, and its entry counts (``checks.engine.isolation.hung_stack``); None if it
        dumps no stack in time."""
        stack, started = self._stack.fileno(), time.monotonic()
        start = os.fstat(stack).st_size  # anything the submission wrote there earlier is not the dump
        counts = self._entry_counts()
        try:
            os.write(self._control, supervisor.STACK)
        except OSError:  # the supervisor is gone: no one to send the signal
            return None
        size = start
        while time.monotonic() - started < STACK_WAIT:
            time.sleep(STACK_POLL)
            grown = os.fstat(stack).st_size
            if size > start and grown == size:  # written, and no longer growing
                break
            size = grown
        if size == start:
            return None
        time.sleep(max(0.0, started + COUNTED_FOR - time.monotonic()))  # long enough to see a loop's entries
        return running_function(os.pread(stack, STACK_BYTES, start), counts, self._entry_counts())

    def _entry_counts(self) -> tuple[int, ...] | None:
        """How many times the worker has entered each contract function (``hung_stack.entry_counts``)."""
        return entry_counts(os.pread(self._progress.fileno(), ENTRY_COUNTS.size, ENTRY_COUNTS_AT))

    def _time_allowed(self, limit: float) -> tuple[float, str]:
        """The timeout of the next request: ``limit``, or less if the whole-run deadline is nearer."""
        deadline = self.options.deadline
        if deadline is None or deadline - time.monotonic() >= limit:
            return limit, TIMED_OUT
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.stop()
            raise WorkerFault("not finished: the whole-run deadline was reached")
        return remaining, "the whole-run deadline was reached"

    def _spawn(self) -> Scratch:
        scratch = prepare_scratch(self.snapshot, self.submission, self.import_paths, self.options.allowed_packages)
        self.scratch = self.output.scratch = str(scratch.folder)
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        output_read, output_write = os.pipe()
        control_read, control_write = os.pipe()
        self._progress = tempfile.TemporaryFile(prefix="rnn-grade-progress-")
        self._stack = tempfile.TemporaryFile(prefix="rnn-grade-stack-")  # where a hung worker dumps its stack
        progress, stack = self._progress.fileno(), self._stack.fileno()
        os.ftruncate(progress, PROGRESS_FILE_BYTES)  # room for the worker's entry counts (hung_stack)
        # -s -P: no user site-packages, no script folder on sys.path (what -I does, but -I
        # would also ignore PYTHONHASHSEED and PYTHONDONTWRITEBYTECODE, which we set).
        worker = [sys.executable, "-s", "-P", "-B", "-m", "checks.engine.isolation.worker",
                  str(request_read), str(response_write), str(progress), str(stack)]
        self.process = subprocess.Popen(
            supervisor.command(worker, control_read, output_write, (request_read, response_write, progress, stack)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # the worker prints into output_write; the supervisor's errors reach our stderr
            pass_fds=(request_read, response_write, output_write, control_read, progress, stack),
            cwd=self.scratch,
            env=worker_environment(self.scratch),
            start_new_session=True,  # no terminal signals; its own process group for the last-resort kill
        )
        for fd in (request_read, response_write, output_write, control_read):
            os.close(fd)
        self._control = control_write
        self._requests = os.fdopen(request_write, "wb")
        self._output = OutputPipe(output_read, self.output)
        self._replies = ReplyReader(response_read, self._output)
        return scratch

    def _death_reason(self) -> str:
        process, self.process = self.process, None
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self._cleanup(process)
        if code is None:
            return "it closed its pipes and was killed"
        if code < 0:
            name = signal.Signals(-code).name
            return f"killed by signal {name}{DEATH_HINTS.get(name, '')}"
        return f"it exited with status {code} (sys.exit or os._exit in the submission?)"

    def stop(self) -> None:
        """Stop the worker and everything it started (its supervisor does the killing)."""
        process, self.process = self.process, None
        if process is not None:
            self._cleanup(process)

    def _cleanup(self, process: subprocess.Popen) -> None:
        os.close(self._control)  # the supervisor's cue: kill the worker and all it started, then exit
        try:
            process.wait(timeout=SUPERVISOR_GRACE)
        except subprocess.TimeoutExpired:  # unreaped, so its pid (and group id) is still ours
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self._output.drain_ready()  # what it printed before it hung or died belongs to this check
        self.last_call_running = self._read_progress()
        self._output.close()
        for close in (self._requests.close, lambda: os.close(self._replies.fd), self._progress.close,
                      self._stack.close):
            try:
                close()
            except OSError:
                pass
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None


def read_or_explain(submission: Path, with_siblings: bool) -> Snapshot:
    """The submission as read, or, when it cannot be read at all, an empty snapshot that says so."""
    try:
        return read_submission(submission, with_siblings)
    except SubmissionUnreadable:
        return Snapshot(submission.name, False, left_out=(f"{shown(submission.name)} could not be read",))


def nothing_to_import(snapshot: Snapshot) -> str:
    """The import error of a submission whose file to import was left out."""
    wanted = f"{snapshot.name}/__init__.py" if snapshot.package else snapshot.name
    reasons = "; ".join(snapshot.left_out) or f"{shown(wanted)} was not found"
    return f"there is nothing to import: {reasons}"


def worker_environment(home: str) -> dict[str, str]:
    """A minimal environment: no report paths, no tokens, single-threaded BLAS for determinism."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,  # the only place the worker may write
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    env.update({name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ})
    return env


def probe_confinement(options: WorkerOptions = WorkerOptions()) -> Confinement:
    """The layers of confinement a worker gets on this machine: one started on an empty submission."""
    folder = Path(tempfile.mkdtemp(prefix="rnn-grade-probe-"))
    try:
        empty = folder / "probe.py"
        empty.write_text("")
        worker = Worker(empty, options)
        try:
            worker.hello()
        finally:
            worker.stop()
        return worker.confinement
    finally:
        shutil.rmtree(folder, ignore_errors=True)
