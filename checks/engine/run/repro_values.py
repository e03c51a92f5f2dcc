"""Writing an example's values as Python source that rebuilds them exactly, for reproduction scripts.

Floats are written with ``repr`` (which round-trips), NaN and infinities by name; arrays of at most
LITERAL_LIMIT entries as ``np.array`` of nested lists, larger ones as ``array(dtype, shape, chunks)``:
base64 of their little-endian bytes, which the script's own ``array`` function decodes. A value that
cannot be written so (one that never crossed the worker's boundary as plain data) raises NotReproducible.
"""

from __future__ import annotations

import base64
import textwrap
from typing import Any, Callable

import numpy as np

from checks.engine.isolation.trace import CacheRef

LITERAL_LIMIT = 24  # arrays with at most this many entries are written as literals


class NotReproducible(Exception):
    """The example holds something a script cannot rebuild (a value that never crossed as plain data)."""


class Names:
    """Module-level names for the arrays of a script, each distinct array defined once."""

    def __init__(self) -> None:
        self.definitions: list[str] = []
        self._by_content: dict[tuple, str] = {}
        self._taken: set[str] = set()

    def array(self, value: np.ndarray, wanted: str) -> str:
        key = (value.dtype.str, value.shape, value.tobytes())
        if key not in self._by_content:
            name = self._fresh(wanted)
            self._by_content[key] = name
            self.definitions.append(f"{name} = {array_literal(value)}")
        return self._by_content[key]

    def _fresh(self, wanted: str) -> str:
        name, number = wanted, 2
        while name in self._taken:
            name, number = f"{wanted}_{number}", number + 1
        self._taken.add(name)
        return name


def literal(value: Any, names: Names, wanted: str) -> str:
    """``value`` as Python source that rebuilds it exactly (arrays through ``names``)."""
    if isinstance(value, np.ndarray):
        return names.array(value, wanted)
    if isinstance(value, CacheRef):
        return f"Cache({value.call}, {value.position})"
    if isinstance(value, dict) and all(type(key) is str for key in value):
        items = ", ".join(f"{key!r}: {literal(item, names, f'{wanted}_{key}')}" for key, item in value.items())
        return "{" + items + "}"
    if isinstance(value, (tuple, list)):
        items = [literal(item, names, f"{wanted}_{i}") for i, item in enumerate(value)]
        return f"({', '.join(items)}{',' if len(items) == 1 else ''})" if isinstance(value, tuple) \
            else f"[{', '.join(items)}]"
    if isinstance(value, (bool, int, str)) or value is None:
        return repr(value)
    if isinstance(value, (float, np.floating)):
        return number_literal(float(value))
    raise NotReproducible(f"a value of type {type(value).__name__} cannot be written into a script")


def number_literal(value: float) -> str:
    if np.isnan(value):
        return "float('nan')"
    if np.isinf(value):
        return "float('inf')" if value > 0 else "-float('inf')"
    return repr(value)  # the shortest text that reads back as exactly this float


def array_literal(value: np.ndarray) -> str:
    """Small arrays as nested lists of exact floats; larger ones as base64 of their little-endian bytes."""
    dtype = value.dtype.newbyteorder("<")
    if value.dtype.kind not in "fiub":
        raise NotReproducible(f"an array of dtype {value.dtype} cannot be written into a script")
    if value.size <= LITERAL_LIMIT and value.ndim > 0:
        entries = nested(value.tolist(), number_literal if value.dtype.kind == "f" else repr)
        return f"np.array({entries})" if dtype.str == "<f8" else f"np.array({entries}, dtype={dtype.str!r})"
    data = base64.b64encode(value.astype(dtype).tobytes()).decode("ascii")
    lines = textwrap.wrap(data, 96)
    text = "\n".join(f"    {line!r}" for line in lines)
    return f"array({dtype.str!r}, {value.shape!r}, (\n{text}\n))"


def nested(entries: Any, write: Callable[[Any], str]) -> str:
    if isinstance(entries, list):
        return "[" + ", ".join(nested(entry, write) for entry in entries) + "]"
    return write(entries)
