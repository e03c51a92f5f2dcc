"""``rnn-grade merge OUT... --out MERGED``: the --out folders of a class's shards, as one class.

Each OUT is the folder of one ``rnn-grade CLASS --out OUT --shard I/N`` run (a CI matrix job's
artifact). MERGED gets the layout of an unsharded ``--out``: each submission's folder
(``<id>/results.json``, the other reports beside it, and its ``repro/`` scripts), the marker
file, and ``grades.csv``, ``checks.csv`` and ``report.html`` rebuilt from those reports by
``checks.engine.course.summary``, with the rows in the unsharded run's order (the class's discovery
order, recorded in each shard's manifest: ``checks.engine.course.shards``). A submission whose
shard was interrupted before grading it is still a row, ``not-graded-yet``: every student of the
class is listed, and re-running that shard then merging again completes it.

Refused, with exit 2 and before anything is written: a folder that is not an rnn-grade output, or
was not graded with --shard; shards of different splits or of different classes; a submission in
two shards; a shard given twice or missing. MERGED must be new, empty or an earlier rnn-grade
output (``batch.prepare_out``: a user's files are never overwritten).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Sequence

from checks.engine.course.batch import MARKER, exit_status, prepare_out, read_row, report_path
from checks.engine.course.documents import REPRO
from checks.engine.course.classroom import Entry
from checks.engine.inputs.usage import UsageError
from checks.engine.report.files import files_beneath, read_beneath, write_atomically
from checks.engine.course.shards import MANIFEST, Manifest, ShardError, read_manifest, write_manifest
from checks.engine.course.summary import Row, class_table, not_graded_row, write_summaries

DESCRIPTION = "Combine the --out folders of a class's shards (rnn-grade CLASS --out OUT --shard I/N) into one."


@dataclass(frozen=True)
class ShardOutput:
    folder: Path
    manifest: Manifest


def main(argv: Sequence[str]) -> int:
    """``rnn-grade merge OUT... --out MERGED``; the exit status is the unsharded class run's."""
    parser = argparse.ArgumentParser(prog="rnn-grade merge", description=DESCRIPTION)
    parser.add_argument("folders", nargs="+", type=Path, metavar="OUT", help="the --out folder of each shard")
    parser.add_argument("--out", type=Path, required=True, metavar="MERGED",
                        help="the folder to write: new, empty, or an earlier rnn-grade output")
    parser.add_argument("--quiet", action="store_true", help="list only the submissions that were not graded")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on bad options, 0 after --help
        return int(exit_.code or 0)
    rows = merge(args.folders, args.out)
    print(class_table(rows, quiet=args.quiet), flush=True)
    print(f"rnn-grade: merged {len(rows)} submissions from {len(args.folders)} shards into {args.out}",
          file=sys.stderr)
    return exit_status(rows)


def merge(folders: Sequence[Path], merged: Path) -> list[Row]:
    """Copy every shard's submissions into ``merged`` and write its summaries; the rows, in class order."""
    shards = [shard_output(folder) for folder in folders]
    check_one_split(shards)
    owners = owner_of_each_submission(shards)
    check_every_shard_once_of_one_class(shards)
    refuse_a_shard_as_output(merged, folders)
    prepare_out(merged)
    write_manifest(merged, None)  # an earlier shard's, if any: MERGED is the whole class now
    class_ids = shards[0].manifest.class_ids
    for submission in class_ids:
        if submission in owners:
            copy_submission(owners[submission], merged, submission)
    graded = {submission: read_row(merged, Entry(submission, merged, merged))
              for submission in class_ids if submission in owners}
    max_score = max((row.max_score for row in graded.values()), default=0.0)
    rows = [graded.get(submission) or not_graded_row(submission, max_score) for submission in class_ids]
    write_summaries(rows, merged)
    return rows


def shard_output(folder: Path) -> ShardOutput:
    """``folder`` with its manifest, or a UsageError saying why it cannot be merged."""
    if not (folder / MARKER).is_file():
        what = "no such folder" if not folder.exists() else f"not an rnn-grade output folder (no {MARKER} in it)"
        raise UsageError(f"merge: {folder}: {what}; give the --out folders of rnn-grade --shard I/N runs")
    try:
        manifest = read_manifest(folder)
    except ShardError as problem:
        raise UsageError(f"merge: {problem}") from None
    if manifest is None:
        raise UsageError(f"merge: {folder} was not graded with --shard (no {MANIFEST} in it); merge combines the "
                         "--out folders of rnn-grade CLASS --out DIR --shard I/N runs")
    for submission in manifest.ids:
        if not safe_id(submission) or submission not in manifest.class_ids:
            raise UsageError(f"merge: {folder}/{MANIFEST} lists {submission!r}, not one of its class's "
                             "submissions; grade that shard again")
        if not report_path(folder, Entry(submission, folder, folder)).is_file():
            raise UsageError(f"merge: {folder} has no report for {submission} ({submission}/results.json); "
                             "grade that shard again")
    return ShardOutput(folder, manifest)


def safe_id(submission: str) -> bool:
    """An id is a relative path inside its folder (never absolute, never through ..)."""
    path = PurePosixPath(submission)
    return bool(submission) and not path.is_absolute() and ".." not in path.parts


def owner_of_each_submission(shards: Sequence[ShardOutput]) -> dict[str, Path]:
    """{id: the folder holding its report}; a submission in two folders is a UsageError naming it."""
    owners: dict[str, Path] = {}
    for shard in shards:
        for submission in shard.manifest.ids:
            if submission in owners:
                raise UsageError(f"merge: submission {submission} is in two shards, {owners[submission]} and "
                                 f"{shard.folder}; give each shard's folder once")
            owners[submission] = shard.folder
    return owners


def check_one_split(shards: Sequence[ShardOutput]) -> None:
    """Every folder a shard of the same N (--shard I/N): else a UsageError naming two that differ."""
    first = shards[0]
    for shard in shards:
        if shard.manifest.shard.count != first.manifest.shard.count:
            raise UsageError(f"merge: {first.folder} is shard {first.manifest.shard} but {shard.folder} is shard "
                             f"{shard.manifest.shard}; give the folders of one --shard I/{first.manifest.shard.count} "
                             "split")


def check_every_shard_once_of_one_class(shards: Sequence[ShardOutput]) -> None:
    """Shards 1/N to N/N of one class, each once: else a UsageError saying which is not."""
    first = shards[0]
    count = first.manifest.shard.count
    seen: dict[int, Path] = {}
    for shard in shards:
        index = shard.manifest.shard.index
        if index in seen:
            raise UsageError(f"merge: shard {index}/{count} is given twice, {seen[index]} and {shard.folder}")
        if shard.manifest.class_ids != first.manifest.class_ids:
            raise UsageError(f"merge: {first.folder} and {shard.folder} are shards of different classes (their "
                             "submissions differ); grade every shard from the same class folder")
        seen[index] = shard.folder
    missing = [f"{index}/{count}" for index in range(1, count + 1) if index not in seen]
    if missing:
        said = f"shard {missing[0]} is" if len(missing) == 1 else f"shards {', '.join(missing)} are"
        raise UsageError(f"merge: {said} missing; give the --out folder of every shard 1/{count} to {count}/{count}")


def refuse_a_shard_as_output(merged: Path, folders: Sequence[Path]) -> None:
    if any(merged.resolve() == folder.resolve() for folder in folders):
        raise UsageError(f"merge: --out {merged} is one of the shards' folders; give a new folder")


def copy_submission(shard: Path, merged: Path, submission: str) -> None:
    """One submission's reports (the files beside its results.json) and its repro/ scripts: regular files
    only, neither read from a shard nor written into MERGED through a link (``report.files``)."""
    copy_files(shard, merged, Path(submission))
    stale = merged / submission / REPRO
    if stale.is_symlink():
        stale.unlink()
    elif stale.is_dir():  # an earlier merge's scripts: this one's replace them
        shutil.rmtree(stale)
    if (shard / submission / REPRO).is_dir() and not (shard / submission / REPRO).is_symlink():
        copy_files(shard, merged, Path(submission) / REPRO)


def copy_files(shard: Path, merged: Path, folder: Path) -> None:
    for name in files_beneath(shard, shard / folder):
        if not name.startswith("."):  # not a writer's left-over temporary file
            write_atomically(merged / folder / name, read_beneath(shard, shard / folder / name), beneath=merged)
