"""What a student reads under one failing check, composed once for every report format.

``feedback_blocks`` turns a failing ``CheckResult`` into blocks, in this order:

1. the check's message;
2. the failing example in one sentence (``result.example.sentence``), when there is one;
3. the misconception that fits (``misconception_explanation``), or nothing;
4. "probably follows from ...", when the failure is a consequence of a more basic one: the failing
   example shows a call into it (``consequence_of``, see ``checks.engine.run.root_cause``);
5. the expected entry as a SymPy expression (``symbolic_text``; ``symbolic_latex`` in Markdown);
6. how to reproduce it: ``python <repro_path> <submission>`` when a script was written, else the
   ``rnn-grade`` command that writes one; every file name in them is shell-quoted.

Each field may be empty (the helpers that fill them may not have run): its block is left out.
The report model (``checks.engine.report.model``) keeps each check's blocks; every format renders
the same blocks: ``plain_text`` for plain text (PrairieLearn, JUnit, GitHub Classroom and
annotations; ``plain_feedback`` for the pytest plugin), ``markdown_blocks`` for Gradescope and the
Markdown summary, and ``checks.engine.report.terminal`` wraps them to the terminal's width.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from checks.engine.report.markup import escaped, fenced
from checks.engine.report.text import OUTPUT_HEADING, clip, points_text
from checks.engine.run.results import CheckResult, Grade

MESSAGE, PROSE, CODE, COMMAND = "message", "prose", "code", "command"
REPRO_DIR = "repro"  # the folder the suggested --repro-dir writes to


@dataclass(frozen=True)
class Block:
    """One piece of feedback: ``style`` says how formats show it.

    - ``message``: the check's own text, as written (fenced in Markdown);
    - ``prose``: ``label`` and ``body`` make one sentence, wrapped like text;
    - ``code``: ``label``, then ``body`` as written (and ``latex`` as math in Markdown);
    - ``command``: ``label``, then shell commands to paste, one a line.
    """

    style: str
    body: str
    label: str = ""
    latex: str = ""


def feedback_blocks(result: CheckResult, submission: str, self_check: bool = False) -> list[Block]:
    """The blocks for ``result`` (none when it passed); ``submission`` is the path commands name, and
    ``self_check`` says the grade was a self-check (so is the command that writes the script)."""
    if result.passed:
        return []
    blocks = [Block(MESSAGE, result.message)]
    if result.example is not None and result.example.sentence:
        # Its first line is the sentence; the rest (inputs to paste, worst entries) is kept line by line.
        said, _, shown = result.example.sentence.partition("\n")
        blocks.append(Block(CODE, shown, f"Example: {said}") if shown else Block(PROSE, said, "Example:"))
    if result.misconception_explanation:
        blocks.append(Block(PROSE, result.misconception_explanation, "Likely mistake:" if result.misconception else ""))
    if result.consequence_of:
        blocks.append(Block(PROSE, f"this probably follows from {result.consequence_of}, which fails its own "
                                   f"checks: fix {result.consequence_of} first, then grade again.", "Note:"))
    if result.symbolic_text:
        blocks.append(Block(CODE, result.symbolic_text, "The expected entry, symbolically:", result.symbolic_latex))
    if reproducible(result):
        blocks.append(reproduction(result, submission, self_check))
    return blocks


def reproducible(result: CheckResult) -> bool:
    """Whether ``result`` has a reproduction script (``run.repro.attach_scripts`` made it): only then is a
    command to run it shown. A broken check, a missing function or a failure without a kept example has
    none, and a command that would write nothing is not offered."""
    return bool(result.repro_script or result.repro_path)


def reproduction(result: CheckResult, submission: str, self_check: bool = False) -> Block:
    """The command that reproduces ``result``: its script if one was written, else how to write it."""
    if result.repro_path:
        return Block(COMMAND, repro_command(result, submission), "To reproduce it, run:")
    return Block(COMMAND, f"{scripts_command(submission, self_check)}\n{repro_command(result, submission)}",
                 "To reproduce it, write its script and run it:")


def repro_command(result: CheckResult, submission: str) -> str:
    """``python SCRIPT SUBMISSION``, each a quoted shell word: the script written for ``result``, or
    where ``scripts_command`` writes it. ``'Renée Müller rnn (final).py'`` pastes as one word."""
    script = result.repro_path or (Path(REPRO_DIR) / f"{result.check.name}.py").as_posix()
    return f"python {shlex.quote(script)} {shlex.quote(submission)}"


def scripts_command(submission: str, self_check: bool = False) -> str:
    """The quoted command that writes each failing check's script into ``repro/``."""
    return f"rnn-grade {shlex.quote(submission)}{' --self-check' if self_check else ''} --repro-dir {REPRO_DIR}"


def command_path(grade: Grade) -> str:
    """How commands in the feedback name the submission: its path as given, or its name if that is
    absolute (a grading machine's /autograder/... means nothing to the student)."""
    return grade.submission.name if grade.submission.is_absolute() else grade.submission.as_posix()


def plain_text(block: Block) -> str:
    if block.style == MESSAGE:
        return block.body
    if block.style == PROSE:
        return f"{block.label} {block.body}" if block.label else block.body
    body = "\n".join(f"    {line}" for line in block.body.splitlines())
    return f"{block.label}\n{body}"


def plain_feedback(result: CheckResult, submission: str, limit: int | None = None, self_check: bool = False) -> str:
    """``result``'s blocks as plain text (``plain_blocks``)."""
    return plain_blocks(feedback_blocks(result, submission, self_check), limit)


def plain_blocks(blocks: Sequence[Block], limit: int | None = None) -> str:
    """The blocks as plain text, separated by blank lines; each block cut to ``limit`` characters if given."""
    texts = [plain_text(block) for block in blocks]
    return "\n\n".join(texts if limit is None else [clip(text, limit) for text in texts])


def check_output(result: CheckResult, submission: str) -> str:
    """What a student sees under one check, as plain text: the feedback and points, then what the code printed."""
    parts = []
    if not result.passed:
        parts.append(f"{plain_feedback(result, submission)}\n\nPoints: {points_text(result.score, result.check.points)}")
    if result.output.strip():
        parts.append(f"{OUTPUT_HEADING}\n{result.output.rstrip()}")
    return "\n\n".join(parts)


def markdown_blocks(blocks: Sequence[Block], limit: int) -> str:
    """The blocks as Markdown: what comes from a check or the submission fenced or escaped, so it shows as written."""
    parts = []
    for block in blocks:
        if block.style == MESSAGE:
            parts.append(fenced(clip(block.body, limit)))
        elif block.style == PROSE:
            parts.append(escaped(clip(plain_text(block), limit)))
        else:
            parts += [escaped(block.label), fenced(clip(block.body, limit))]
            if block.latex:
                parts.append(f"$$\n{block.latex}\n$$")
    return "\n\n".join(parts)
