"""Class grading: many submissions, in parallel, resumable, each one's fault its own.

Each submission is graded in a grading process of its own, forked from this one once the checks
are loaded (so all start from the same state, and ``--jobs`` cannot change a grade), which
starts the submission's worker as single-submission grading does. Processes rather than threads:
a check run mutates its Hypothesis test (``runner.credits_of_every_example``), the same check
runs for several submissions at once, and Hypothesis itself is only recently thread-safe; forked
processes share nothing. At most ``jobs`` run at a time.

Each grading process writes its submission's folder ``OUT/<id>/`` (``id`` names the student:
``checks.engine.course.classroom``): the feedback page and ``results.json``, written atomically as
soon as its submission is done (``checks.engine.course.documents``); results.json's ``extra_data``
holds the submission's id, status, reason, seconds and fingerprint
(``checks.engine.course.fingerprint``). A re-run skips a submission whose report carries the same
fingerprint (unless ``force``), so an interrupted class resumes where it stopped, and the
summaries (``checks.engine.course.summary``) are rebuilt from the reports on disk, with a
``not-graded-yet`` row for every submission the run did not get to.

An --out folder written before submissions were named by student (``OUT/alice/rnn_layers.py/``)
resumes safely: the fingerprint records the layout, so no old report is taken as up to date;
every submission is graded again into its new folder, and the old folders are left where they are
(rnn-grade removes nothing), outside the summaries. Everything under OUT
is written and read without following a symbolic link (``report.files``): if ``OUT/<id>`` (or a
file in it) is a link, nothing goes through it, and that submission's row is a grader error that
says so (not the student's doing: regraded once the link is gone); the class goes on.

A row's status is one of ``checks.engine.course.statuses``.
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import tempfile
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

from checks.engine.course.classroom import Entry
from checks.engine.course.documents import (RESULTS, STOP_GRACE, record_grader_error, submission_documents,
                                            write_documents)
from checks.engine.course.example_cache import class_streams, kept_streams
from checks.engine.course.fingerprint import fingerprint
from checks.engine.inputs.intake import OUTPUT_MARKER
from checks.engine.course.interrupts import NotedInterrupts, interrupts_noted, interrupts_raised_again
from checks.engine.run.cpus import cores
from checks.engine.run.results import out_of
from checks.engine.run.streams import StreamSet
from checks.engine.inputs.display import inert, shown
from checks.engine.course.settings import GradingSettings
from checks.engine.inputs.usage import UsageError
from checks.engine.course.progress import SECONDS_PER_CHECK, ProgressBar
from checks.engine.report import write_atomically
from checks.engine.report.files import read_beneath
from checks.engine.course.shards import Manifest, write_manifest
from checks.engine.course.statuses import GRADED, GRADER_ERROR, NOT_GRADABLE, NOT_GRADED_YET
from checks.engine.course.summary import Row, class_table, not_graded_row, row_of, write_summaries

MARKER = OUTPUT_MARKER  # marks a folder as ours: only such a folder is ever written into (and none is graded)
MARKER_TEXT = "This folder is written by rnn-grade --out; re-running it there skips what is unchanged.\n"
INTERRUPTED = (130, -signal.SIGINT)  # how a grading process ends when interrupted
TICK = 1.0  # seconds between redraws of the progress bar while grading processes run


@dataclass
class ClassRun:
    """What a class run did: every submission's summary row, in the order given, and the counts."""

    rows: list[Row] = field(default_factory=list)
    graded: int = 0  # grading processes started in this run
    skipped: int = 0  # reports already up to date
    unwritten: list[str] = field(default_factory=list)  # summaries that could not be written, and why


def prepare_out(out: Path, option: str = "--out") -> None:
    """Create ``out`` (saying so on stderr), or accept it if an earlier run made it; refuse anything
    else (never overwrite)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option} {out} is a file; give a folder for the class's reports")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UsageError(f"{option} {out} already exists and was not written by rnn-grade; give a new folder "
                         "(rnn-grade never overwrites files it did not write)")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_atomically(out / MARKER, MARKER_TEXT, beneath=out)
    except OSError as error:
        raise UsageError(f"could not write to {option} {out}: {error.strerror or error}") from None
    if created:
        print(inert(f"rnn-grade: created folder {shown(out)}"), file=sys.stderr)


def grade_class(settings: GradingSettings, out: Path, jobs: int | None = None, force: bool = False,
                on_done: Callable[[Row, bool], None] | None = None,
                on_tick: Callable[[], None] | None = None) -> ClassRun:
    """Grade every entry of ``settings`` into ``out``; ``on_done(row, skipped)`` after each, ``on_tick()``
    about every ``TICK`` seconds in between (with --jobs; a cluster's completions only come as they come).

    On KeyboardInterrupt the grading processes are stopped, the summaries are written for what
    was finished (every other submission's row ``not-graded-yet``), and the interrupt goes on.
    """
    with grading_backend(settings, jobs, on_tick) as grade_pending:
        prepare_out(out)
        run = ClassRun()
        max_score = out_of(settings.checks)
        row = partial(read_row, out, max_score=max_score)
        pending: list[tuple[Entry, str]] = []
        current: set[str] = set()  # ids whose report on disk is this run's or up to date (not a stale one)
        for entry in settings.entries:
            stamp = fingerprint(entry, settings)
            if not force and stored_fingerprint(out, entry) == stamp:
                run.skipped += 1
                current.add(entry.id)
                if on_done:
                    on_done(row(entry), True)
            else:
                pending.append((entry, stamp))

        def finished(entry: Entry) -> None:
            current.add(entry.id)
            if on_done:
                on_done(row(entry), False)

        try:
            streams = examples_for(pending, settings, out)
            run.graded = grade_pending(pending, settings, out, finished, streams)
        finally:
            # A report written as the run was stopped, before its process was reaped, is finished work too.
            current |= {entry.id for entry, stamp in pending
                        if entry.id not in current and stored_fingerprint(out, entry) == stamp}
            run.rows = [row(entry) if entry.id in current else not_graded_row(entry.id, max_score)
                        for entry in settings.entries]
            # For rnn-grade merge: the class's order and the reports this shard holds (none unsharded).
            held = tuple(entry.id for entry in settings.entries if entry.id in current)
            try:  # a full disk now must not hide the grades: the table is still printed, with why
                write_summaries(run.rows, out)
                write_manifest(out, Manifest(settings.shard, settings.class_ids, held) if settings.shard else None)
            except OSError as error:
                run.unwritten.append(f"could not write the class's summaries in {out}: "
                                     f"{error.filename or out}: {error.strerror or error}")
    return run


def examples_for(pending: list[tuple[Entry, str]], settings: GradingSettings, out: Path) -> StreamSet | None:
    """The class's examples (``checks.engine.run.streams``), drawn or read back once, here, before any grading
    process forks: each inherits them. A lone submission draws its own ahead, beside its worker, unless they
    are already kept: drawing them first would only make it wait."""
    if len(pending) > 1:
        return class_streams(settings.checks, settings.seed, out)[0]
    return kept_streams(settings.checks, settings.seed, out) if pending else None


Backend = Callable[[list[tuple[Entry, str]], GradingSettings, Path, Callable[[Entry], None], StreamSet | None], int]


@contextmanager
def grading_backend(settings: GradingSettings, jobs: int | None,
                    on_tick: Callable[[], None] | None = None) -> Iterator[Backend]:
    """What grades the pending submissions: forked processes here (``--jobs``), or tasks on a Dask
    cluster (``--cluster``: connected first, so an unreachable scheduler is said before anything is written)."""
    if settings.cluster is None:
        yield lambda pending, settings, out, finished, streams: run_in_parallel(pending, settings, out, jobs or cores(),
                                                                                finished, on_tick, streams)
        return
    from checks.engine.course import cluster  # only with --cluster: it imports Dask (and this module)

    with cluster.connected(settings.cluster) as client:
        yield partial(cluster.run_on_cluster, client)


def report_path(out: Path, entry: Entry) -> Path:
    return out / entry.id / RESULTS


def stored_fingerprint(out: Path, entry: Entry) -> str | None:
    """The fingerprint an earlier run recorded in ``entry``'s report (None: none, or unreadable: regrade)."""
    try:
        return json.loads(read_beneath(out, report_path(out, entry)))["extra_data"]["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_row(out: Path, entry: Entry, max_score: float = 0.0) -> Row:
    """``entry``'s summary row from its report, read without following links; a report that cannot be read
    (its folder was a link, say) is a grader-error row of 0 out of ``max_score`` that says why."""
    path = report_path(out, entry)
    try:
        return row_of(json.loads(read_beneath(out, path)))
    except FileNotFoundError:
        reason = f"no report was written in {path.parent}"
    except OSError as error:
        reason = f"its report cannot be read: {error.filename or path}: {error.strerror or error}"
    except (ValueError, KeyError, TypeError, IndexError) as error:
        reason = f"its report {path} is not one rnn-grade wrote ({type(error).__name__}); grade it again with --force"
    return Row(entry.id, 0.0, max_score, {}, GRADER_ERROR, 0.0, reason, ())


def run_in_parallel(pending: list[tuple[Entry, str]], settings: GradingSettings, out: Path, jobs: int,
                    finished: Callable[[Entry], None], on_tick: Callable[[], None] | None = None,
                    streams: StreamSet | None = None) -> int:
    """Grade ``pending``, at most ``jobs`` at a time, each in a forked process (which inherits the class's
    ``streams``); return how many started."""
    context = multiprocessing.get_context("fork")  # the children inherit the loaded checks
    queue, running = list(pending), {}
    try:
        with interrupts_noted() as interrupts:
            return grade_queue(queue, running, context, settings, out, jobs, finished, interrupts, on_tick, streams)
    except BaseException:
        stop(process for process, _ in running.values())
        raise


def grade_queue(queue: list[tuple[Entry, str]], running: dict, context, settings: GradingSettings, out: Path,
                jobs: int, finished: Callable[[Entry], None], interrupts: NotedInterrupts,
                on_tick: Callable[[], None] | None = None, streams: StreamSet | None = None) -> int:
    """Start grading processes as places free up, and wait on them and on Ctrl-C (and ``on_tick`` every
    ``TICK`` seconds: a timer in this loop, not a thread, since threads and fork do not mix); return how
    many started."""
    started = 0
    while queue or running:
        interrupts.raise_if_arrived()
        while queue and len(running) < jobs:
            entry, stamp = queue.pop(0)
            sys.stdout.flush()  # nothing buffered is written twice, by parent and child
            sys.stderr.flush()
            process = context.Process(target=grading_process, args=(entry, stamp, settings, out, streams),
                                      daemon=True)
            process.start()
            running[process.sentinel] = (process, entry)
            started += 1
        wakeup = [] if interrupts.wakeup is None else [interrupts.wakeup]
        ready_ones = multiprocessing.connection.wait([*running, *wakeup], timeout=TICK)
        if on_tick:
            on_tick()
        for ready in ready_ones:
            if ready not in running:  # Ctrl-C: raised at the top of the loop
                continue
            process, entry = running.pop(ready)
            process.join()
            if process.exitcode in INTERRUPTED:  # Ctrl-C reached the child first
                raise KeyboardInterrupt
            if process.exitcode != 0:
                record_grader_error(entry, settings, out, f"the grading process ended with status "
                                                          f"{process.exitcode}")
            finished(entry)
    return started


def grading_process(entry: Entry, stamp: str, settings: GradingSettings, out: Path,
                    streams: StreamSet | None = None) -> None:
    """In the forked child: grade one submission and write its report; exit 130 when interrupted."""
    interrupts_raised_again()
    try:
        write_documents(out, entry.id, submission_documents(entry, stamp, settings, streams))
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED[0])
    except Exception as error:  # noqa: BLE001 - a grader bug: this row says so, the class goes on
        if os.environ.get("RNN_GRADE_DEBUG"):
            traceback.print_exc()
        record_grader_error(entry, settings, out, f"internal error: {type(error).__name__}: {error}")


def stop(processes) -> None:
    """Interrupt grading processes (each stops its worker), then kill any still there."""
    processes = [process for process in processes if process.is_alive()]
    for process in processes:
        os.kill(process.pid, signal.SIGINT)
    for process in processes:
        process.join(STOP_GRACE)
        if process.is_alive():
            process.kill()
            process.join()


def exit_status(rows: list[Row]) -> int:
    """Class mode: 0 every submission graded, 1 some could not be (or are not yet), 2 a grader error."""
    statuses = {row.status for row in rows}
    if GRADER_ERROR in statuses:
        return 2
    return 1 if statuses & (NOT_GRADABLE | {NOT_GRADED_YET}) else 0


def run_class(settings: GradingSettings) -> int:
    """The class command: grade, show progress, print a table, write the summaries; the exit status."""
    with output_folder(settings.out) as out:
        progress = ProgressBar(len(settings.entries), enabled=not settings.quiet,
                               expected_seconds=SECONDS_PER_CHECK * len(settings.checks),
                               parallel=1 if settings.cluster else settings.jobs or cores())
        progress.draw()
        try:
            run = grade_class(settings, out, settings.jobs, settings.force,
                              on_done=lambda row, skipped: progress.advance(row.status != GRADED, skipped,
                                                                            row.seconds),
                              on_tick=progress.tick)
        finally:
            progress.close()
        print(class_table(run.rows, quiet=settings.quiet), flush=True)
        where = f"; reports in {out}" if settings.out else ""
        print(f"rnn-grade: {run.graded} graded, {run.skipped} unchanged since the last run (skipped){where}",
              file=sys.stderr)
        for problem in run.unwritten:
            print(inert(f"rnn-grade: {shown(problem)}"), file=sys.stderr)
    return 2 if run.unwritten else exit_status(run.rows)


@contextmanager
def output_folder(out: Path | None) -> Iterator[Path]:
    """``out``, or a temporary folder removed afterwards (the table on stdout is then all there is)."""
    if out is not None:
        yield out
        return
    with tempfile.TemporaryDirectory(prefix="rnn-grade-class-") as temporary:
        yield Path(temporary)
