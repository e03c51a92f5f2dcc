"""Examples drawn once for a whole class: every check's stream of examples, reused by every submission.

While every example of a check passes, what Hypothesis draws depends only on the seed, the profile
and the check's strategies, never on the submission (``checks.engine.run.lookahead`` explains why,
and draws them ahead for one grade). A class would otherwise redraw the very same examples once per
submission, which is most of what a passing grade costs. So class grading draws each check's
examples once (``draw_streams``), and each submission's grade runs the check's body on them
(``StoredExamples``), exactly as it runs a lookahead's: all pass, the check passes; one fails, the
check runs again the ordinary way under Hypothesis, which reaches the same failure, shrinks it and
scores its partial credit. So a grade in a class is the grade the submission gets alone
(``tests/test_streams.py`` compares them, every row and every check).

A ``Stream`` is one check's examples as plain data: the arguments of each example by name, the
submission's parameter left out. ``StreamSet`` holds them for a list of checks under a ``key``
(``stream_key``): the seed, the profile's settings, the checks (names, examples, points) and the
code they are drawn by (every check file, the strategy modules beside it, and the versions of
Hypothesis, NumPy and Python). A stream set is used only for the checks and settings of its key.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import platform
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Sequence

from checks.engine.run.lookahead import draw_examples
from checks.registry import Check, bound_profile

# The packages whose versions decide what Hypothesis draws (and how the arrays are built).
DRAWING_PACKAGES = ("hypothesis", "numpy", "rnn-grade")


@dataclass(frozen=True)
class Stream:
    """One check's examples, in the order Hypothesis draws them while every one passes.

    ``submission`` is the name of the check's submission parameter; ``examples`` each example's
    other arguments by name; ``complete`` is False when the drawing stopped early (a strategy
    raised, an argument could not be pickled): then the check is run the ordinary way.
    """

    submission: str
    examples: tuple[dict[str, Any], ...]
    complete: bool


class StoredExamples:
    """A check's stream, as a grade reads drawn examples (the interface of ``lookahead.DrawnExamples``).

    Each grading process of a class is a process of its own (forked, or started on a cluster node),
    which runs each check once: an example's arrays are read by exactly one body, never by two.
    """

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.complete = stream.complete

    def arguments(self, sub: Any) -> Iterator[dict[str, Any]]:
        """Each example's arguments by name, ``sub`` among them, as Hypothesis passes them to the body."""
        for arguments in self.stream.examples:
            yield {**arguments, self.stream.submission: sub}


@dataclass(frozen=True)
class StreamSet:
    """Every check's stream under one key; ``None`` for a check with nothing to draw (a plain function)."""

    key: str
    streams: tuple[Stream | None, ...]
    seconds: float = 0.0  # how long the drawing took

    def examples(self, index: int) -> StoredExamples | None:
        """Check number ``index``'s examples; None if it has none (it runs the ordinary way)."""
        stream = self.streams[index]
        return StoredExamples(stream) if stream is not None else None


def draw_streams(checks: Sequence[Check], seed: int) -> StreamSet:
    """Draw every check's examples under ``seed``, in this process (the checks' bodies never run)."""
    started = time.perf_counter()
    streams = [draw_stream(check, seed) for check in checks]
    return StreamSet(stream_key(checks, seed), tuple(streams), time.perf_counter() - started)


def draw_stream(check: Check, seed: int) -> Stream | None:
    """``check``'s stream; None for a plain function, which has nothing to draw."""
    if getattr(check.function, "hypothesis", None) is None:
        return None
    drawn: list[tuple[str, dict[str, Any]]] = []
    complete = draw_examples(check, seed, drawn.append)
    parameters = {parameter for parameter, _ in drawn}
    stream = Stream(next(iter(parameters), ""), tuple(arguments for _, arguments in drawn), complete)
    # One submission parameter (always, in fact), and plain data that can travel to a cluster node and be kept:
    # else the check is run the ordinary way, as a drawing ahead that cannot pickle an example does.
    if len(parameters) > 1 or not picklable(stream):
        return Stream("", (), False)
    return stream


def picklable(stream: Stream) -> bool:
    try:
        pickle.dumps(stream, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - whatever pickling raises
        return False
    return True


def stream_key(checks: Sequence[Check], seed: int) -> str:
    """A hex digest of everything a check's stream depends on (see the module docstring)."""
    described = {
        "seed": seed,
        "profile": bound_profile(),
        "settings": [repr(getattr(check.function, "_hypothesis_internal_use_settings", None)) for check in checks],
        "checks": [[Path(check.file).name, check.group, check.name, check.examples] for check in checks],
        "code": code_digests(checks),
        "versions": {name: package_version(name) for name in DRAWING_PACKAGES},
        "python": platform.python_version(),
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def code_digests(checks: Sequence[Check]) -> list[list[str]]:
    """A digest of every Python file in the folders the checks come from, and in ``checks/`` itself
    (the strategies a check imports live beside it, or in ``checks.strategies`` and its kin). By folder and
    file name, not by path: a cluster node with rnn-grade installed elsewhere draws the same examples."""
    folders = {Path(check.file).parent for check in checks if check.file} | {authors_folder()}
    return sorted([folder.name, path.name, hashlib.sha256(path.read_bytes()).hexdigest()]
                  for folder in folders for path in folder.glob("*.py"))


def authors_folder() -> Path:
    """The folder of the check authors' modules (``checks/``)."""
    return Path(__file__).parents[2]


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"
