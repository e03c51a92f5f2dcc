"""``--shard i/n``: one n-th of a class, chosen by submission id, for a CI matrix of n jobs.

A submission belongs to shard ``sha256(id) mod n + 1``: a hash of its id alone (not Python's
``hash()``, which changes from one process to the next), so every job of the matrix, on whatever
machine, agrees on the split, and every submission is graded by exactly one of shards 1..n.

Each sharded run writes a manifest, ``OUT/.rnn-grade-shard.json``, rewritten on every run: the
shard, the whole class's ids in discovery order (the order of an unsharded run's rows), and the
ids whose reports this shard holds. ``rnn-grade merge`` (``checks.engine.course.merge``) reads it to put
the rows back in that order and to check that the shards are of one class and none is missing.
The name starts with a dot, so no submission's id (``checks.engine.course.classroom`` skips hidden
names) can clash with it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from checks.engine.course.classroom import Entry
from checks.engine.report import write_atomically

MANIFEST = ".rnn-grade-shard.json"
SHARD_FORM = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


class ShardError(ValueError):
    """A bad --shard value or an unreadable manifest; the message says what is wrong."""


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1 <= index <= count)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, submission_id: str) -> bool:
        return shard_of(submission_id, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """``"i/n"`` as a Shard; ShardError, naming the value and the form expected, for anything else."""
    match = SHARD_FORM.fullmatch(text)
    if not match:
        raise ShardError(f"--shard {text}: expected i/n, two whole numbers with 1 <= i <= n, such as 1/4 "
                         "(shard 1 of 4)")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= index <= count:
        raise ShardError(f"--shard {text}: there is no shard {index} of {count}; give i/n with 1 <= i <= n, such "
                         "as 1/4 (shard 1 of 4)")
    return Shard(index, count)


def shard_of(submission_id: str, count: int) -> int:
    """The shard (1..count) that grades ``submission_id``: the same on every machine and every run."""
    digest = hashlib.sha256(submission_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def select(entries: Sequence[Entry], shard: Shard | None) -> tuple[Entry, ...]:
    """The entries ``shard`` grades, in their order; all of them without a shard."""
    return tuple(entries if shard is None else (entry for entry in entries if shard.holds(entry.id)))


@dataclass(frozen=True)
class Manifest:
    """What a sharded run records in its --out folder for ``rnn-grade merge``."""

    shard: Shard
    class_ids: tuple[str, ...]  # every submission of the class, in discovery order
    ids: tuple[str, ...]  # the submissions whose reports this folder holds

    def as_json(self) -> str:
        return json.dumps({"shard": str(self.shard), "class": list(self.class_ids), "ids": list(self.ids)},
                          indent=1) + "\n"


def write_manifest(out: Path, manifest: Manifest | None) -> None:
    """Record ``manifest`` in ``out``; None (an unsharded run) removes an earlier shard's, now stale."""
    if manifest is None:
        (out / MANIFEST).unlink(missing_ok=True)
    else:
        write_atomically(out / MANIFEST, manifest.as_json(), beneath=out)


def read_manifest(out: Path) -> Manifest | None:
    """The manifest of a sharded run's folder; None if there is none; ShardError if it is unreadable."""
    path = out / MANIFEST
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(parse_shard(document["shard"]), tuple(map(str, document["class"])),
                        tuple(map(str, document["ids"])))
    except (OSError, ValueError, KeyError, TypeError) as problem:
        raise ShardError(f"{path} cannot be read ({problem}); grade that shard again") from None
