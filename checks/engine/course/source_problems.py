"""A submission's graded file that is empty, or that Python cannot read: told apart before any import.

Such a file would fail to import (or import as nothing), and every check would score 0 with a
reason that hides the cause. Found here, the row gets a status of its own (``empty``,
``syntax-error``, ``encoding-error``: ``checks.engine.course.statuses``) and a sentence the student
understands, and no worker is started.

The file is read through ``checks.engine.inputs.intake`` (the one code path that reads a submission)
and only parsed and compiled, never run, by this interpreter: the one the worker imports with, so a
file this finds unreadable is one the import would refuse too. What Python itself gives up on
(a parse too deep to recurse) is left to the import, which reports it as usual.
"""

from __future__ import annotations

import ast
import shlex
import io
import tokenize
from dataclasses import dataclass

from checks.engine.course.classroom import Entry
from checks.engine.course.statuses import EMPTY, ENCODING_ERROR, SYNTAX_ERROR
from checks.engine.inputs.display import shown
from checks.engine.inputs.intake import SubmissionUnreadable, read_submission

CODE_SHOWN = 80  # characters of the offending line quoted in a syntax error's reason


@dataclass(frozen=True)
class SourceProblem:
    status: str
    reason: str  # one line, for the student: what is wrong and what to do


def source_problem(entry: Entry) -> SourceProblem | None:
    """Why ``entry``'s graded file cannot be graded at all, or None (then the import judges it)."""
    if entry.problem:
        return None
    try:
        snapshot = read_submission(entry.path, with_siblings=False)
    except SubmissionUnreadable:
        return None  # the grade says why, as for any submission that cannot be read
    files = dict(snapshot.files)
    graded = "__init__.py" if snapshot.package else snapshot.name
    if graded not in files:
        return None  # left out (a link, a pipe, too big): the import's reason says so
    if snapshot.package:
        sources = [content for name, content in files.items() if name.endswith(".py")]
        if not any(holds_code(content) for content in sources):
            return SourceProblem(EMPTY, f"your package {shown(snapshot.name)} is empty: none of its .py files holds "
                                        "any Python code. Submit the files in which you wrote your functions.")
        return unreadable(shown(graded), files[graded])
    return empty(shown(graded), files[graded]) or unreadable(shown(graded), files[graded])


def holds_code(content: bytes) -> bool:
    """True unless ``content`` is blanks and comments only (what cannot be parsed counts as code)."""
    try:
        return bool(ast.parse(content).body)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True


def empty(name: str, content: bytes) -> SourceProblem | None:
    if holds_code(content):
        return None
    what = "nothing at all" if not content.strip() else "only comments and blank lines"
    return SourceProblem(EMPTY, f"your file {name} is empty: it holds {what}, no Python code. Submit the file "
                                "in which you wrote your functions.")


def unreadable(name: str, content: bytes) -> SourceProblem | None:
    """An encoding or syntax error in ``content``, the file ``name``, found by compiling it (never running it)."""
    encoding_problem = undecodable(name, content)
    if encoding_problem:
        return encoding_problem
    try:
        compile(content, name, "exec", dont_inherit=True)
    except SyntaxError as error:
        return SourceProblem(SYNTAX_ERROR, syntax_reason(name, error))
    except ValueError as error:  # a null byte, on Pythons before 3.12
        return SourceProblem(SYNTAX_ERROR, f"Python cannot read your file {name}: {shown(str(error))}. Save it "
                                           "again as plain text and submit it.")
    except (RecursionError, MemoryError):
        return None  # too deep for this parse: the import reports it
    return None


def undecodable(name: str, content: bytes) -> SourceProblem | None:
    """An encoding problem: bytes that are not text in the file's encoding (UTF-8 unless declared)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(content).readline)
    except SyntaxError as error:  # bytes not UTF-8 in the first two lines, or a declaration Python does not know
        return not_in(name, content, "utf-8") or SourceProblem(
            ENCODING_ERROR, f"Python cannot read your file {name}: {shown(error.msg)}. Save it as UTF-8 text (and "
                            "remove the coding: line) and submit it again.")
    return not_in(name, content, encoding)


def not_in(name: str, content: bytes, encoding: str) -> SourceProblem | None:
    """The first byte of ``content`` that is not ``encoding`` text, as a reason; None if it all is."""
    try:
        content.decode(encoding)
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        byte = content[error.start]
        return SourceProblem(ENCODING_ERROR, f"your file {name} is not saved as {encoding} text: line {line} holds "
                                             f"the byte 0x{byte:02x}, which is not {encoding}. Save the file as "
                                             "UTF-8 in your editor and submit it again.")
    return None


def syntax_reason(name: str, error: SyntaxError) -> str:
    """``error`` in one line: where, what, the offending line quoted (escaped and cut), and what to do."""
    where = f" on line {error.lineno}" if error.lineno else ""
    code = " ".join((error.text or "").split())
    quoted = f" (`{shown(code[:CODE_SHOWN])}{'…' if len(code) > CODE_SHOWN else ''}`)" if code else ""
    return (f"Python cannot read your file {name}: SyntaxError{where}: {shown(error.msg)}{quoted}. Fix that line "
            f"(python -m py_compile {shlex.quote(name)} shows it) and submit again.")
