"""A class's examples, drawn once and kept beside its reports: ``OUT/.rnn-grade-examples``.

Class grading draws every check's examples once (``checks.engine.run.streams``) before any
submission is graded. The streams are kept in the --out folder, so a resumed run, and every shard
graded into the same folder, reuse them instead of drawing again. The file is rnn-grade's own (a
name no student's folder can have: ids never start with a dot), written atomically and read without
following a link. It is used only if the key it records is the key of this run's checks and
settings; any other file is ignored and replaced.

The file is data, never code: a line of JSON (the format and the key), then the streams pickled and
base64-encoded. It is unpickled by a ``pickle.Unpickler`` that builds nothing but NumPy arrays and
scalars, the built-in containers, and the check authors' dataclasses and named tuples (``checks.*``
outside the engine): a file planted in the folder cannot make the grader run anything.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import json
import pickle
import sys
from pathlib import Path
from typing import Sequence

from checks.engine.report.files import ReportWriteError, read_beneath, write_atomically
from checks.engine.run.streams import Stream, StreamSet, draw_streams, stream_key
from checks.registry import Check

CACHE_NAME = ".rnn-grade-examples"
FORMAT = 1
SIZE_LIMIT = 512 * 1024**2  # characters: far above any class's streams (a few MB), far below a machine's memory

# What the numpy arrays, dtypes and scalars of a pickle are rebuilt with (numpy 1 and numpy 2 names).
NUMPY_BUILDERS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}
STREAM_CLASSES = {("checks.engine.run.streams", "Stream"), ("checks.engine.run.streams", "StreamSet")}


def class_streams(checks: Sequence[Check], seed: int, out: Path) -> tuple[StreamSet, bool]:
    """The streams of ``checks`` under ``seed``: those kept in ``out`` if their key is this run's, else drawn
    now and kept there (a folder that cannot be written to only loses the keeping). Also whether they were kept."""
    kept = kept_streams(checks, seed, out)
    if kept is not None:
        return kept, True
    streams = draw_streams(checks, seed)
    try:
        write_streams(out, streams)
    except (OSError, ReportWriteError):
        pass  # the next run draws them again: nothing is lost
    return streams, False


def kept_streams(checks: Sequence[Check], seed: int, out: Path) -> StreamSet | None:
    """The streams kept in ``out`` if they are those of ``checks`` under ``seed`` (their key), else None."""
    kept = read_streams(out)
    if kept is None or kept.key != stream_key(checks, seed) or len(kept.streams) != len(checks):
        return None
    return kept


def write_streams(out: Path, streams: StreamSet) -> None:
    header = json.dumps({"format": FORMAT, "key": streams.key})
    body = base64.b64encode(pickle.dumps(streams, protocol=pickle.HIGHEST_PROTOCOL)).decode("ascii")
    write_atomically(out / CACHE_NAME, f"{header}\n{body}\n", beneath=out)


def read_streams(out: Path) -> StreamSet | None:
    """The streams kept in ``out``; None if there are none, or the file is not one rnn-grade wrote."""
    try:
        text = read_beneath(out, out / CACHE_NAME)
    except (OSError, UnicodeDecodeError):
        return None
    header, _, body = text.partition("\n")
    try:
        described = json.loads(header)
        if type(described) is not dict or described.get("format") != FORMAT or len(body) > SIZE_LIMIT:
            return None
        streams = DataOnly(io.BytesIO(base64.b64decode(body.strip(), validate=True))).load()
    except (ValueError, binascii.Error, pickle.UnpicklingError, EOFError, TypeError, AttributeError,
            ImportError, IndexError, KeyError, RecursionError, MemoryError):
        return None
    if type(streams) is not StreamSet or streams.key != described.get("key"):
        return None
    if not all(stream is None or type(stream) is Stream for stream in streams.streams):
        return None
    return streams


class DataOnly(pickle.Unpickler):
    """An unpickler that builds only data: NumPy arrays, dtypes and scalars, the streams' own classes, and
    dataclasses and named tuples of the check authors' modules (the problems strategies draw). Anything else
    is refused."""

    def find_class(self, module: str, name: str) -> type:
        if (module, name) in NUMPY_BUILDERS or (module, name) in STREAM_CLASSES:
            return super().find_class(module, name)
        if module.startswith("checks.") and not module.startswith("checks.engine.") and module in sys.modules:
            found = getattr(sys.modules[module], name, None)
            if isinstance(found, type) and (dataclasses.is_dataclass(found) or is_named_tuple(found)):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not data the examples can hold")


def is_named_tuple(cls: type) -> bool:
    return issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple)
