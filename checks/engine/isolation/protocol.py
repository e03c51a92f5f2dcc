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
    {"scalar": "float64", "value": v}      a numpy scalar such as ``np.float64(0.5)``; a complex
                                           one's value is [real, imag]
    {"handle": n}                          an opaque cache that stayed in the worker
    {"foreign": "description"}             anything else, described, never sent

Encoding never fails: what cannot be sent (including values nested deeper than ``MAX_NESTING``
and ints too long for JSON) becomes ``Foreign``. Decoding accepts exactly these shapes: any other
input raises ``ProtocolError`` (or ``EOFError`` when the stream ends mid-frame), whatever it is.
"""

from __future__ import annotations

import json
import math
import reprlib
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

# Tuples, lists and dicts nest at most this deep. Contract values nest two or three levels; the
# limit keeps encoding and decoding (both recursive) far from Python's recursion limit.
MAX_NESTING = 100

# json writes an int through str(), which CPython refuses beyond sys.get_int_max_str_digits()
# digits (at least 640): 2048 bits (617 digits) always fit.
MAX_INT_BITS = 2048

_LENGTH = struct.Struct("<Q")

# Beside the pipes, the worker notes which call of a batch it is starting in a small file the grader
# opened (``checks.engine.isolation.boundary``): a little-endian uint32 at offset 0, all ones for none.
PROGRESS = struct.Struct("<I")
NOT_RUNNING = PROGRESS.pack(2**32 - 1)

# Exact numpy scalar types of a plain dtype (int64 and its alias longlong both: they share "<i8"),
# by the dtype name they travel under. A subclass is not in here, so it travels as Foreign.
_SCALAR_NAMES = {np.dtype(code).type: np.dtype(code).name for code in np.typecodes["All"]
                 if np.dtype(code).str in PLAIN_DTYPES}
_SCALAR_DTYPES = {np.dtype(code).name: np.dtype(code) for code in PLAIN_DTYPES}
_ARRAY_DTYPES = {code: np.dtype(code) for code in PLAIN_DTYPES}


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
    if kind is dict:
        key_type = next((type(key) for key in value if type(key) is not str), str)
        return f"a dict with a key of type {key_type.__qualname__} (keys must be str)"
    if kind is int:
        return f"an int of {value.bit_length()} bits"
    return f"an object of type {kind.__module__}.{kind.__qualname__}"


def encode(value: Any, blobs: list[bytes], depth: int = 0) -> Any:
    """Turn ``value`` into JSON-able plain data, appending array bytes to ``blobs``.

    ``depth`` is how many tuples, lists and dicts enclose ``value`` in the message.
    ``type(x) is ...`` (never ``isinstance``) is deliberate: subclasses of ndarray, float or dict
    can override comparisons, so they travel only as ``Foreign`` descriptions.
    """
    kind = type(value)
    if value is None or kind is float or kind is bool or kind is str or \
            (kind is int and value.bit_length() <= MAX_INT_BITS):
        return value
    if kind is np.ndarray:
        code = value.dtype.str
        if code not in PLAIN_DTYPES:
            return {"foreign": describe(value)}
        blobs.append(value.tobytes())  # C order, whatever the array's own layout
        return {"nd": len(blobs) - 1, "dtype": code, "shape": list(value.shape)}
    if kind is tuple or kind is list or kind is dict:
        if depth >= MAX_NESTING:
            return {"foreign": f"a {kind.__name__} nested more than {MAX_NESTING} levels deep"}
        if kind is not dict:
            return {kind.__name__: [encode(item, blobs, depth + 1) for item in value]}
        if all(type(key) is str for key in value):
            return {"dict": [[key, encode(item, blobs, depth + 1)] for key, item in value.items()]}
    if kind in _SCALAR_NAMES:
        item = value.item()
        return {"scalar": _SCALAR_NAMES[kind], "value": [item.real, item.imag] if type(item) is complex else item}
    if kind is Handle:
        return {"handle": value.number}
    return {"foreign": describe(value)}


def decode(data: Any, blobs: list[bytes], depth: int = 0) -> Any:
    """Rebuild a value from ``encode``'s output. Only plain Python and numpy types come out.

    Raises ProtocolError for anything ``encode`` could not have written.
    """
    kind = type(data)
    if data is None or kind is float or kind is int or kind is str or kind is bool:
        return data
    if kind is dict and len(data) == 1:
        (tag, content), = data.items()
        if tag in _CONTAINERS:
            if depth >= MAX_NESTING:
                raise ProtocolError(f"values nested more than {MAX_NESTING} levels deep")
            if type(content) is not list:
                raise ProtocolError(f"{tag!r} must hold a list, got {_show(content)}")
            if tag == "dict":
                return _decode_dict(content, blobs, depth + 1)
            items = [decode(item, blobs, depth + 1) for item in content]
            return tuple(items) if tag == "tuple" else items
        if tag == "handle" and type(content) is int:
            return Handle(content)
        if tag == "foreign" and type(content) is str:
            return Foreign(content)
    elif kind is dict and data.keys() == _ARRAY_TAGS:
        return _decode_array(data, blobs)
    elif kind is dict and data.keys() == _SCALAR_TAGS:
        return _decode_scalar(data["scalar"], data["value"])
    if kind is not dict:
        raise ProtocolError(f"expected an encoded value, got {_show(data)}")
    raise ProtocolError(f"unexpected encoded value {_show(data)}")


_CONTAINERS = frozenset({"tuple", "list", "dict"})
_ARRAY_TAGS = frozenset({"nd", "dtype", "shape"})
_SCALAR_TAGS = frozenset({"scalar", "value"})


def _show(data: Any) -> str:
    """A bounded repr for messages (reprlib's: a few levels, a few items): the data may be huge
    or deeply nested."""
    return reprlib.repr(data)


def _decode_dict(pairs: list, blobs: list[bytes], depth: int) -> dict:
    if not all(type(p) is list and len(p) == 2 and type(p[0]) is str for p in pairs):
        raise ProtocolError(f"'dict' must hold [str key, value] pairs, got {_show(pairs)}")
    result = {key: decode(item, blobs, depth) for key, item in pairs}
    if len(result) != len(pairs):
        raise ProtocolError("a dict with a repeated key")
    return result


def _decode_array(data: dict, blobs: list[bytes]) -> np.ndarray:
    dtype_code, index, shape = data["dtype"], data["nd"], data["shape"]
    dtype = _ARRAY_DTYPES.get(dtype_code) if type(dtype_code) is str else None
    if dtype is None:
        raise ProtocolError(f"refusing dtype {_show(dtype_code)}")
    if type(index) is not int or not 0 <= index < len(blobs):
        raise ProtocolError(f"array data {_show(index)} is not one of the message's {len(blobs)} blobs")
    if type(shape) is not list or not all(type(side) is int and side >= 0 for side in shape):
        raise ProtocolError(f"an array shape must be a list of ints >= 0, got {_show(shape)}")
    blob = blobs[index]
    if math.prod(shape) * dtype.itemsize != len(blob):
        raise ProtocolError(f"shape {_show(shape)} of dtype {dtype} does not fit the {len(blob)} bytes of blob {index}")
    if dtype.kind == "b" and blob.translate(None, delete=b"\0\1"):
        raise ProtocolError("a bool array holds bytes other than 0 and 1")
    try:
        # frombuffer + copy gives a fresh, writable, exact numpy.ndarray owned by the grader.
        return np.frombuffer(blob, dtype=dtype).reshape(shape).copy()
    except ValueError as error:  # numpy's own limits: more than 64 dimensions, a size beyond intp
        raise ProtocolError(f"shape {_show(shape)}: {error}") from None


def _decode_scalar(name: Any, value: Any) -> np.generic:
    dtype = _SCALAR_DTYPES.get(name) if type(name) is str else None
    if dtype is None:
        raise ProtocolError(f"refusing scalar dtype {_show(name)}")
    if not _fits(dtype, value):
        raise ProtocolError(f"{_show(value)} is not a {dtype} value")
    if dtype.kind == "c":
        value = complex(*value)
    with np.errstate(over="ignore"):  # a float too large for float16 or float32 becomes inf ...
        scalar = dtype.type(value)
    # ... and one between two of their values is rounded: neither is what encode writes.
    if dtype.kind in "fc" and not _same_number(complex(scalar), complex(value)):
        raise ProtocolError(f"{_show(value)} is not a {dtype} value")
    return scalar


def _fits(dtype: np.dtype, value: Any) -> bool:
    """Whether the JSON ``value`` has the type ``encode`` writes for a scalar of ``dtype``."""
    if dtype.kind == "b":
        return type(value) is bool
    if dtype.kind in "iu":
        return type(value) is int and np.iinfo(dtype).min <= value <= np.iinfo(dtype).max
    if dtype.kind == "f":
        return type(value) is float
    return type(value) is list and len(value) == 2 and all(type(part) is float for part in value)


def _same_number(a: complex, b: complex) -> bool:
    return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in ((a.real, b.real), (a.imag, b.imag)))


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
    """Read one frame and decode it.

    Raises EOFError if the stream ends before the frame does (the other side has gone), and
    ProtocolError if the frame is longer than ``limit`` bytes (before reading, or allocating, more
    than ``limit``) or is not a well-formed message.
    """
    frame = _FrameReader(stream, limit)
    header = frame.chunk()
    blobs = [frame.chunk() for _ in range(frame.count())]
    try:
        data = json.loads(header)
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, an int too long, too deep
        raise ProtocolError(f"the header is not JSON: {type(error).__name__}: {str(error)[:100]}") from None
    return decode(data, blobs)


class _FrameReader:
    """Reads a frame's lengths and chunks, counting every byte (lengths too) against a limit."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self.stream, self.limit, self.remaining = stream, limit, limit

    def length(self) -> int:
        return _LENGTH.unpack(self._read(_LENGTH.size))[0]

    def count(self) -> int:
        """The number of blobs; each needs at least its 8-byte length, so check that first."""
        count = self.length()
        self._reserve(count * _LENGTH.size)
        return count

    def chunk(self) -> bytes:
        return self._read(self.length())

    def _reserve(self, size: int) -> None:
        if size > self.remaining:
            raise ProtocolError(f"message larger than {self.limit / 2**20:g} MiB")

    def _read(self, size: int) -> bytes:
        self._reserve(size)
        self.remaining -= size
        data = self.stream.read(size)
        if data is None or len(data) < size:
            raise EOFError("the other side closed the connection mid-message")
        return data
