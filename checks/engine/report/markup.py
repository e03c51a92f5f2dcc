"""Markdown that shows a student's text as written: fenced blocks and code spans sized to their content.

Failure messages quote the student's values and code: ``<submission rnn.py>``, ``*``, ``_``,
backslashes, ``⊙``. Rendered as Markdown they would turn into tags (swallowed by a sanitizer),
emphasis or escapes. So every such text goes into a fenced block or a code span whose fence is
longer than any run of backticks inside it (CommonMark: the content of either is literal). Control
characters are written out (``text.visible``): an escape sequence must not recolour a CI log.
"""

from __future__ import annotations

import re

from checks.engine.report.text import visible

PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # ASCII punctuation: CommonMark lets a backslash escape each


def fenced(text: str) -> str:
    """``text`` as a fenced code block, shown exactly as it is."""
    text = visible(text)
    fence = "`" * max(3, longest_backtick_run(text) + 1)
    return f"{fence}text\n{text.rstrip(chr(10))}\n{fence}"


def code_span(text: str) -> str:
    """``text`` (one line) as an inline code span."""
    text = visible(" ".join(text.splitlines()))
    fence = "`" * (longest_backtick_run(text) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def escaped(text: str) -> str:
    """Plain ``text`` (one line) with every Markdown punctuation character backslash-escaped."""
    return PUNCTUATION.sub(r"\\\1", visible(" ".join(text.splitlines())))


def longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
