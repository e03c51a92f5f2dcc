"""The wire format between the grading process and the submission's worker.

Everything that crosses the process boundary is *plain data*: JSON for structure, raw bytes for
array contents. Decoding never imports, calls or unpickles anything the submission defined, so a
value whose ``__eq__`` or ``__array_ufunc__`` lies can only arrive as a description of itself
(``Foreign``), which the validators then reject.

A message is framed as::

    [8 bytes: header length][header JSON][8 bytes: blob count][for each blob: 8 bytes length, bytes]

Encoded shapes of values (the JSON side):

    null, true/false, int, float, str     themselves (Python's json round-trips nan and inf)
    {"nd": i, "dtype": "<f8", "shape": s}  an exact ``numpy.ndarray``; its bytes are blob i
    {"tuple": [...]} / {"list": [...]}     sequences, kept apart so "a list where an array is due"
                                           can be reported as such
    {"dict": [[key, value], ...]}          a dict with str keys
    {"scalar": "float64", "value": v}      a numpy scalar such as ``np.float64(0.5)``
    {"handle": n}                          an opaque cache that stayed in the worker
    {"foreign": "description"}             anything else, described, never sent
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

# Dtypes allowed across the boundary. Object and void dtypes never cross: their bytes would be
# pointers or arbitrary records, and reconstructing them is exactly what we refuse to do.
PLAIN_DTYPES = frozenset(
    np.dtype(name).str
    for name in (
        "float64", "float32", "float16", "complex128", "complex64", "bool",
        "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    )
)

# The grading process refuses to read more than this in one message (a submission returning a
# gigantic array is a fault of that call, not a reason to exhaust the grader's memory).
MAX_MESSAGE_BYTES = 256 * 1024 * 1024

_LENGTH = struct.Struct("<Q")


@dataclass(frozen=True)
class Handle:
    """An opaque reference to a value (a cache) that stays inside the worker."""

    number: int


@dataclass(frozen=True)
class Foreign:
    """A value the worker would not send, described in words (e.g. "an ndarray subclass EvilArray")."""

    description: str


class ProtocolError(Exception):
    """The bytes on the wire are not a well-formed message."""


def describe(value: Any) -> str:
    """A short human description of an unsendable value's type."""
    kind = type(value)
    if isinstance(value, np.ndarray):
        if kind is not np.ndarray:
            return f"an ndarray subclass {kind.__qualname__}"
        return f"an ndarray of dtype {value.dtype}"
    return f"an object of type {kind.__module__}.{kind.__qualname__}"


def encode(value: Any, blobs: list[bytes], keep: dict[int, Any] | None = None) -> Any:
    """Turn ``value`` into JSON-able plain data, appending array bytes to ``blobs``.

    ``type(x) is ...`` (never ``isinstance``) is deliberate: subclasses of ndarray, float or dict
    can override comparisons, so they travel only as ``Foreign`` descriptions.
    """
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is np.ndarray:
        if value.dtype.str not in PLAIN_DTYPES:
            return {"foreign": describe(value)}
        blobs.append(np.ascontiguousarray(value).tobytes())
        return {"nd": len(blobs) - 1, "dtype": value.dtype.str, "shape": list(value.shape)}
    if kind is tuple or kind is list:
        return {kind.__name__: [encode(item, blobs, keep) for item in value]}
    if kind is dict and all(type(key) is str for key in value):
        return {"dict": [[key, encode(item, blobs, keep)] for key, item in value.items()]}
    if isinstance(value, np.generic) and kind.__module__ == "numpy" and np.dtype(kind).str in PLAIN_DTYPES:
        return {"scalar": np.dtype(kind).name, "value": value.item()}
    if kind is Handle:
        return {"handle": value.number}
    return {"foreign": describe(value)}


def decode(data: Any, blobs: list[bytes]) -> Any:
    """Rebuild a value from ``encode``'s output. Only plain Python and numpy types come out."""
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is not dict or len(data) == 0:
        raise ProtocolError(f"unexpected encoded value {data!r:.80}")
    if "nd" in data:
        return _decode_array(data, blobs)
    if "tuple" in data:
        return tuple(decode(item, blobs) for item in data["tuple"])
    if "list" in data:
        return [decode(item, blobs) for item in data["list"]]
    if "dict" in data:
        return {str(key): decode(item, blobs) for key, item in data["dict"]}
    if "scalar" in data:
        return _decode_scalar(data)
    if "handle" in data:
        return Handle(int(data["handle"]))
    if "foreign" in data:
        return Foreign(str(data["foreign"]))
    raise ProtocolError(f"unexpected encoded value {data!r:.80}")


def _decode_array(data: dict, blobs: list[bytes]) -> np.ndarray:
    dtype = str(data["dtype"])
    if dtype not in PLAIN_DTYPES:
        raise ProtocolError(f"refusing dtype {dtype!r}")
    shape = tuple(int(n) for n in data["shape"])
    # frombuffer + copy gives a fresh, writable, exact numpy.ndarray owned by the grader.
    return np.frombuffer(blobs[int(data["nd"])], dtype=np.dtype(dtype)).reshape(shape).copy()


def _decode_scalar(data: dict) -> np.generic:
    dtype = np.dtype(str(data["scalar"]))
    if dtype.str not in PLAIN_DTYPES:
        raise ProtocolError(f"refusing scalar dtype {dtype}")
    return dtype.type(data["value"])


def write_message(stream: BinaryIO, message: Any) -> None:
    """Encode ``message`` and write it as one frame."""
    blobs: list[bytes] = []
    header = json.dumps(encode(message, blobs)).encode()
    parts = [_LENGTH.pack(len(header)), header, _LENGTH.pack(len(blobs))]
    for blob in blobs:
        parts += [_LENGTH.pack(len(blob)), blob]
    stream.write(b"".join(parts))
    stream.flush()


def read_message(stream: BinaryIO, limit: int = MAX_MESSAGE_BYTES) -> Any:
    """Read one frame and decode it. Raises EOFError if the other side has gone."""
    budget = [limit]
    header = json.loads(_read_chunk(stream, budget))
    blobs = [_read_chunk(stream, budget) for _ in range(_read_length(stream))]
    return decode(header, blobs)


def _read_length(stream: BinaryIO) -> int:
    return _LENGTH.unpack(_read_exactly(stream, _LENGTH.size))[0]


def _read_chunk(stream: BinaryIO, budget: list[int]) -> bytes:
    size = _read_length(stream)
    budget[0] -= size
    if budget[0] < 0:
        raise ProtocolError(f"message larger than {MAX_MESSAGE_BYTES // 2**20} MiB")
    return _read_exactly(stream, size)


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) < size:
        raise EOFError("the worker closed the connection")
    return data
