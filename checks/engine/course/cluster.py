"""Class grading on a Dask cluster: ``rnn-grade CLASS --out DIR --cluster tcp://HOST:8786``.

Why Dask (``distributed``): it is pure Python, installs with pip on every node, its scheduler and
workers start with one command each (``dask scheduler``, ``dask worker ADDRESS``), and its
``LocalCluster`` runs the same protocol on loopback, so the backend is tested as it runs.

The client (this process) sends one task per submission to the scheduler. Each task, on the node
that runs it, starts a **grading process** of its own, ``python -m checks.engine.course.cluster JOB OUTCOME``,
which loads the checks (``CheckSource.load``, as ``resolve`` did here), checks that its
fingerprint of the submission is the client's, and runs ``documents.submission_documents``: the same
function as the forked grading process of ``--jobs``, so the submission's worker is started and
confined exactly as in local grading. The task returns the report's files (results.json, the
other formats, ``repro/<check>.py``) as text, and the client writes them into ``OUT/<id>/``, so
the summaries, the fingerprints and the skipping of up-to-date reports are those of ``--jobs``.

Why a process per task rather than grading in the Dask worker's thread: a check run mutates its
Hypothesis test (see ``checks.engine.course.batch``), and Dask runs tasks in threads (``--nthreads``,
several by default), so two submissions graded at once in one worker would share that state; a
fresh process also starts every submission from the same state, whatever ran before on that node
(same grade, however tasks are spread), may install signal handlers (only a main thread can), and
cannot take the Dask worker down when it fails. So any ``--nthreads`` is safe: a node grades that
many submissions at a time. The cost is one interpreter start and one loading of the checks per
submission, small next to a grade.

What the nodes need: the same rnn-grade (and Python packages) installed, and the same paths as
the client: the class folder, ``--checks-dir``, ``--points`` and ``--path`` (a shared file system).
The grading process runs in the client's working folder, so relative paths mean the same. A node
that sees other files or other checks gets a fingerprint of its own, and the submission's row
says so (status grader-error) instead of a grade from different files.

Ctrl-C on the client cancels the futures and sets a Dask ``Event`` that each running task polls
(one small request to the scheduler every ``POLL`` seconds; Dask cannot stop a running task
itself): the task interrupts its grading process, which stops the submission's worker, so nothing
goes on grading; what was finished is kept, and a re-run grades the rest.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import tempfile
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from checks.engine.course.documents import STOP_GRACE, deliver, record_grader_error, submission_documents
from checks.engine.course.classroom import Entry
from checks.engine.inputs.display import inert
from checks.engine.course.fingerprint import fingerprint
from checks.engine.course.settings import CLUSTER_EXTRA, GradingSettings
from checks.engine.inputs.usage import UsageError
from checks.engine.run.streams import StreamSet

if TYPE_CHECKING:
    import distributed

CONNECT_TIMEOUT = 5  # seconds to reach the scheduler: an unreachable address is said quickly
POLL = 0.5  # seconds between a task's looks at the stop event
INTERRUPTED = 130  # the grading process's exit status when interrupted (as batch.grading_process)


@dataclass(frozen=True)
class NodeJob:
    """What a task needs to grade one submission on a node: plain data, pickled.

    ``settings`` has no checks (``checks`` and ``left_out`` are empty): the node loads them again
    from ``settings.check_source``.
    """

    entry: Entry
    stamp: str  # the client's fingerprint of the submission (checks.engine.course.fingerprint)
    settings: GradingSettings
    cwd: str  # the client's working folder, where relative paths start
    stop_event: str  # the name of the Dask Event set when the client is interrupted
    streams: StreamSet | None = None  # the class's examples, drawn once by the client: added on the node


@dataclass(frozen=True)
class NodeOutcome:
    """What a task sends back: the report's files ``{path in OUT/<id>: text}``, or why there are none."""

    documents: dict[str, str] = field(default_factory=dict)
    problem: str = ""  # a grader fault on the node: the row becomes grader-error with this reason
    log: str = ""  # what the grading process wrote on stderr (for the instructor)
    node: str = ""
    interrupted: bool = False


def require_distributed() -> Any:
    """The ``distributed`` module, or a UsageError that says how to install it."""
    try:
        import distributed
    except ImportError as error:
        raise UsageError(f"--cluster needs Dask's distributed package, which is not installed here ({error}); "
                         f"install it with: pip install '{CLUSTER_EXTRA}'") from None
    return distributed


@contextmanager
def connected(address: str) -> Iterator[distributed.Client]:
    """A client of the Dask scheduler at ``address``, closed afterwards; UsageError if none answers."""
    distributed = require_distributed()
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as error:
        raise UsageError(f"--cluster {address}: no Dask scheduler answered there within {CONNECT_TIMEOUT} s "
                         f"({type(error).__name__}: {error}); check the address (tcp://HOST:PORT, as `dask scheduler` "
                         "prints it) and that the scheduler is running and reachable from here") from None
    try:
        if not client.scheduler_info().get("workers"):
            print(f"rnn-grade: note: the scheduler at {address} has no workers yet; the submissions wait until one "
                  "joins (dask worker ADDRESS)", file=sys.stderr)
        yield client
    finally:
        client.close()


def run_on_cluster(client: distributed.Client, pending: Sequence[tuple[Entry, str]], settings: GradingSettings,
                   out: Path, finished: Callable[[Entry], None], streams: StreamSet | None = None) -> int:
    """Grade ``pending`` as one task each on ``client``'s cluster, writing each report as it comes back.

    The class's ``streams`` (its examples, drawn once here) are sent to every worker once (scattered,
    broadcast), and each task is given them there, not once per task through the scheduler.

    Returns how many were sent. On KeyboardInterrupt, the running tasks are told to stop and the
    futures are cancelled; the reports already written stay.
    """
    distributed = require_distributed()
    run = uuid.uuid4().hex
    stop = distributed.Event(f"rnn-grade-stop-{run}", client=client)
    portable = replace(settings, checks=(), left_out=())  # the node loads the checks itself
    cwd = os.getcwd()
    examples = client.scatter(streams, broadcast=True, hash=False) if streams is not None else None
    futures = {client.submit(grade_on_node, NodeJob(entry, stamp, portable, cwd, stop.name), examples,
                             key=f"rnn-grade-{run}-{number}", pure=False): entry
               for number, (entry, stamp) in enumerate(pending)}
    try:
        for future in distributed.as_completed(list(futures), loop=client.loop):
            entry = futures[future]
            keep(entry, outcome_of(future), settings, out)
            finished(entry)
    except BaseException:
        stop.set()
        client.cancel(list(futures))
        raise
    return len(futures)


def outcome_of(future: distributed.Future) -> NodeOutcome:
    """The task's outcome; a task that failed on Dask's side (its worker died, say) as a problem."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - a node's failure is that row's grader error, the class goes on
        return NodeOutcome(problem=f"the cluster could not run its grading task: {type(error).__name__}: {error}")


def keep(entry: Entry, outcome: NodeOutcome, settings: GradingSettings, out: Path) -> None:
    """Write what the node sent into ``OUT/<id>/`` (or a grader-error report), and show its log on stderr."""
    if outcome.log.strip():
        # The node's log quotes the submission (its id, its messages): no line of it may run a CI command.
        print(inert(f"rnn-grade: from {outcome.node or 'a node'}, grading {entry.id}:\n{outcome.log.rstrip()}"),
              file=sys.stderr)
    if outcome.interrupted:
        record_grader_error(entry, settings, out, f"its grading process on {outcome.node} was interrupted")
    elif outcome.problem:
        record_grader_error(entry, settings, out, outcome.problem)
    else:
        deliver(out, entry.id, outcome.documents)


# -- on the node -----------------------------------------------------------------------------------


def grade_on_node(job: NodeJob, streams: StreamSet | None = None) -> NodeOutcome:
    """The task: grade ``job`` in a grading process of its own on this node (see the module docstring), with the
    class's ``streams``, which the grading process gets with its job."""
    node = node_name()
    with tempfile.TemporaryDirectory(prefix="rnn-grade-task-") as folder:
        job_file, outcome_file, log_file = (Path(folder) / name for name in ("job.pickle", "outcome.pickle", "log"))
        job_file.write_bytes(pickle.dumps(replace(job, streams=streams)))
        if not Path(job.cwd).is_dir():
            return NodeOutcome(problem=f"the client's working folder {job.cwd} does not exist on {node}: the nodes "
                                       "need the same paths as the client (a shared file system)", node=node)
        with open(log_file, "wb") as log:
            process = subprocess.Popen([sys.executable, "-m", "checks.engine.course.cluster", str(job_file),
                                        str(outcome_file)], cwd=job.cwd, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=log)
            interrupted = wait_unless_stopped(process, job.stop_event)
        log_text = log_file.read_text(encoding="utf-8", errors="replace")
        if interrupted or process.returncode == INTERRUPTED:
            return NodeOutcome(log=log_text, node=node, interrupted=True)
        try:
            outcome = pickle.loads(outcome_file.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError):
            return NodeOutcome(problem=f"the grading process on {node} ended with status {process.returncode}",
                               log=log_text, node=node)
    return replace(outcome, log=log_text, node=node)


def wait_unless_stopped(process: subprocess.Popen, stop_event: str) -> bool:
    """Wait for ``process``; True if the client's stop event came first (the process is then stopped)."""
    import distributed

    stop = distributed.Event(stop_event)
    while True:
        try:
            process.wait(POLL)
            return False
        except subprocess.TimeoutExpired:
            pass
        if stop.is_set():
            interrupt(process)
            return True


def interrupt(process: subprocess.Popen) -> None:
    """Ctrl-C for a grading process (it stops the submission's worker), then kill it if it lingers."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def node_name() -> str:
    try:
        import distributed

        return distributed.get_worker().address
    except (ImportError, ValueError):  # not inside a Dask worker (called directly, as the tests do)
        return os.uname().nodename


def documents_on_node(job: NodeJob) -> dict[str, str]:
    """In the node's grading process: load the checks, make sure this node grades what the client
    fingerprinted, and grade (``documents.submission_documents``)."""
    checks, left_out = job.settings.check_source.load()
    settings = replace(job.settings, checks=tuple(checks), left_out=tuple(left_out))
    if fingerprint(job.entry, settings) != job.stamp:
        raise NodeMismatch(f"{node_name()} sees other files or settings than the client (the submission's "
                           "files, the checks, a --path folder or rnn-grade's version differ): the nodes need the "
                           "client's paths on a shared file system, and the same rnn-grade installed")
    return submission_documents(job.entry, job.stamp, settings, job.streams)


class NodeMismatch(Exception):
    """The node's fingerprint of a submission is not the client's: it would grade something else."""


def grading_process(job_file: Path, outcome_file: Path) -> int:
    """``python -m checks.engine.course.cluster JOB OUTCOME``: grade the pickled job, pickle its NodeOutcome."""
    job = pickle.loads(job_file.read_bytes())
    try:
        outcome = NodeOutcome(documents=documents_on_node(job))
    except KeyboardInterrupt:
        return INTERRUPTED
    except (UsageError, NodeMismatch) as problem:
        outcome = NodeOutcome(problem=str(problem))
    except Exception as error:  # noqa: BLE001 - a grader bug: this row says so, the class goes on
        if os.environ.get("RNN_GRADE_DEBUG"):
            traceback.print_exc()
        outcome = NodeOutcome(problem=f"internal error: {type(error).__name__}: {error}")
    outcome_file.write_bytes(pickle.dumps(outcome))
    return 0


if __name__ == "__main__":
    # Through the module's own name: what it pickles must unpickle as checks.engine.course.cluster's, not __main__'s.
    from checks.engine.course import cluster

    sys.exit(cluster.grading_process(Path(sys.argv[1]), Path(sys.argv[2])))
