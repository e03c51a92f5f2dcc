"""Which contract function a hung worker was running: read from the stack it dumped when told to.

When a call times out, the grader asks the worker's supervisor to send the worker ``STACK_SIGNAL``
(``checks.engine.isolation.supervisor``); ``faulthandler``'s C handler, registered by the worker
before its lock-down, writes the Python stack of the thread the signal reached to a file the grader
made (``boundary.Worker``), even while that thread is stuck in C code (a huge numpy operation).
The dump reads, most recent call first::

    Stack (most recent call first):
      File "/scratch/submission.py", line 51 in rnn_backward
      File "/scratch/submission.py", line 140 in rnn_classifier_loss
      File "/…/checks/engine/isolation/worker.py", line 245 in recorded

The innermost frame named after a contract function (``RECORDED_FUNCTIONS``) and not in the
grader's own files (``HARNESS``) is the function that was running: ``rnn_backward`` above, though
the call was ``rnn_classifier_loss``'s.

Unless that function is being entered again and again: a slow loop of quick calls (an
``rnn_backward`` that spends seconds calling a correct ``rnn_step_backward`` thousands of times)
also has the quick function innermost at any instant, and blaming it would refuse its own checks,
which it passes. So the worker counts every entry of each contract function in memory it shares
with the grader (``ENTRY_COUNTS``, after the batch progress in the progress file: no system call per
entry), and a function entered again while the grader waited (``COUNTED_FOR`` seconds or more) is
passed over for the next contract frame outward: a function that hangs is entered once.

The text and the counts are hostile: the submission can write to both files, or install its own
handler for the signal. So the text is bounded (``STACK_BYTES``), only a known contract name ever leaves this
module, and the raw text is never shown to anyone. A forged stack can only blame a function of the
submission's own; no dump, or one without a contract frame, leaves the call's own name to blame.
"""

from __future__ import annotations

import faulthandler
import mmap
import re
import struct
from pathlib import Path
from typing import Sequence

from checks.engine.isolation.contract_functions import RECORDED_FUNCTIONS
from checks.engine.isolation.supervisor import STACK_SIGNAL

STACK_BYTES = 64 * 1024  # faulthandler writes at most 100 frames, each path cut at 500 characters
HARNESS = str(Path(__file__).parents[1])  # checks/engine, as the worker's frames name it (worker.HARNESS)
FRAME = re.compile(r'  File "(?P<path>[^\n]*)", line \d+ in (?P<name>\S+)')
# How many times each function of RECORDED_FUNCTIONS was entered (mod 2**32), in the progress file from
# ENTRY_COUNTS_AT on (the batch's progress, protocol.PROGRESS, is before it).
ENTRY_COUNTS_AT = 64
ENTRY_COUNTS = struct.Struct(f"={len(RECORDED_FUNCTIONS)}I")
PROGRESS_FILE_BYTES = ENTRY_COUNTS_AT + ENTRY_COUNTS.size  # the grader makes the file this long
# A hung function is not entered again; a quick one in a slow loop is, many times in this long (the
# 600 steps of a T = 300 backward and its forward, in 10 s, are one entry every 17 ms).
COUNTED_FOR = 0.2
_counts: list[memoryview | None] = [None]  # in the worker: its entry counts, mapped (watch_for_hangs)


def watch_for_hangs(progress: int, stack: int) -> None:
    """In the worker, before its lock-down: count the entries of contract functions in the ``progress``
    file (``note_entry``), and on STACK_SIGNAL write the Python stack of the thread it reaches (the main
    thread, which runs the calls) to ``stack``. Never chained: the signal's default action would end
    the worker before the grader has read the dump."""
    faulthandler.register(STACK_SIGNAL, file=stack, all_threads=False, chain=False)
    try:
        shared = mmap.mmap(progress, PROGRESS_FILE_BYTES)
    except (OSError, ValueError):  # a file too short (not the grader's): no counts, the stack alone decides
        return
    _counts[0] = memoryview(shared)[ENTRY_COUNTS_AT:].cast("I")


def note_entry(index: int) -> None:
    """In the worker: count an entry of ``RECORDED_FUNCTIONS[index]`` (an add in shared memory, no system call)."""
    counts = _counts[0]
    if counts is not None:
        counts[index] = (counts[index] + 1) & 0xFFFFFFFF


def entry_counts(noted: bytes) -> tuple[int, ...] | None:
    """The entry counts in ``noted`` (the progress file's bytes from ENTRY_COUNTS_AT on), or None."""
    return ENTRY_COUNTS.unpack(noted) if len(noted) == ENTRY_COUNTS.size else None


def running_function(dump: bytes, before: Sequence[int] | None = None, after: Sequence[int] | None = None
                     ) -> str | None:
    """The innermost contract function of the submission's in ``dump`` (a faulthandler stack) that was not
    entered again between the entry counts ``before`` and ``after`` (``entry_counts``, COUNTED_FOR seconds
    or more apart; None: not known, and then only the stack decides), or None.

    - dump: at most ``STACK_BYTES`` bytes (more are ignored), most recent call first.

    Returns a name of ``RECORDED_FUNCTIONS``, or None when no frame names one outside ``HARNESS``.
    """
    entered_again = set()
    if before is not None and after is not None:
        entered_again = {name for name, b, a in zip(RECORDED_FUNCTIONS, before, after) if a != b}
    text = dump[:STACK_BYTES].decode("utf-8", errors="replace")
    for line in text.splitlines():
        frame = FRAME.fullmatch(line)
        if frame and frame["name"] in RECORDED_FUNCTIONS and not in_harness(frame["path"]):
            if frame["name"] not in entered_again:
                return frame["name"]
    return None


def in_harness(path: str) -> bool:
    """True if ``path`` is one of the grader's own files (the worker's wrappers, its torch calls)."""
    return path == HARNESS or path.startswith(HARNESS + "/")
