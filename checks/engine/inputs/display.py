"""How text that comes from a submission is shown: names escaped, lines inert.

File and folder names, ids, module names and printed output are the submission's, so they are
data, never layout or commands. Two rules hold wherever such text reaches a report, a terminal,
stderr or a CI log:

- ``shown(name)``: a name is one line of printable text. A newline, a tab, any other control
  character, a lone surrogate (a byte that is not UTF-8, as ``os.fsdecode`` keeps it) and a
  backslash are written as Python escapes (``\\n``, ``\\t``, ``\\x1b``, ``\\xff``, ``\\\\``), so
  two different names never show alike and none can start a new line.
- ``inert(line)``: a line that a CI runner would read as a command (GitHub Actions' workflow
  commands ``::error …`` and their older form ``##[error]…``, even after leading blanks) has its
  first character escaped (``\\x3a:error …``), so it is printed, not run.

This module sits below every stage: discovery names submissions with it, reports and notes show
them with it.
"""

from __future__ import annotations

import os
import re

# Workflow commands, read by the runner from the start of any line of a step's output, after
# leading whitespace: "::name ...::value" and the older "##[name ...]value".
COMMAND_START = re.compile(r"^(\s*)(::|##\[)")
ESCAPED = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
NAMED_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown(name: str | bytes | os.PathLike) -> str:
    """``name`` as one printable line: control characters, lone surrogates and backslashes escaped."""
    text = os.fsdecode(name) if not isinstance(name, str) else name
    return ESCAPED.sub(escape_character, text)


def escape_character(match: re.Match) -> str:
    character = match.group()
    if character in NAMED_ESCAPES:
        return NAMED_ESCAPES[character]
    code = ord(character)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as os.fsdecode's surrogateescape keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """``text`` with every line that would start a CI workflow command made harmless."""
    return "\n".join(COMMAND_START.sub(first_character_escaped, line) for line in text.split("\n"))


def first_character_escaped(match: re.Match) -> str:
    blanks, opening = match.groups()
    return f"{blanks}\\x{ord(opening[0]):02x}{opening[1:]}"


def shorten(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters at the end of a line, saying how much was left out.

    Only a first line longer than ``limit`` is cut inside, at a space. Failure messages put what
    matters first (the verdict, then the worst entries), so their first lines are the ones to keep.
    """
    if len(text) <= limit:
        return text
    end = text.rfind("\n", 0, limit + 1)
    if end <= 0:
        end = text.rfind(" ", 0, limit + 1)
    end = end if end > 0 else limit
    left_out = text[end:].lstrip("\n")
    lines = left_out.count("\n") + 1
    what = f"{lines} more lines" if lines > 1 else "the rest of the line"
    return f"{text[:end]}\n... [{what}, {len(left_out)} more characters not shown]"
