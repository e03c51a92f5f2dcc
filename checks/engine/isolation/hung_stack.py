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

The text is hostile: the submission can write to that file, or install its own handler for the
signal. So the text is bounded (``STACK_BYTES``), only a known contract name ever leaves this
module, and the raw text is never shown to anyone. A forged stack can only blame a function of the
submission's own; no dump, or one without a contract frame, leaves the call's own name to blame.
"""

from __future__ import annotations

import faulthandler
import re
from pathlib import Path

from checks.engine.isolation.contract_functions import RECORDED_FUNCTIONS
from checks.engine.isolation.supervisor import STACK_SIGNAL

STACK_BYTES = 64 * 1024  # faulthandler writes at most 100 frames, each path cut at 500 characters
HARNESS = str(Path(__file__).parents[1])  # checks/engine, as the worker's frames name it (worker.HARNESS)
FRAME = re.compile(r'  File "(?P<path>[^\n]*)", line \d+ in (?P<name>\S+)')


def dump_stack_on_signal(fd: int) -> None:
    """In the worker, before its lock-down: on STACK_SIGNAL, write the Python stack of the thread it
    reaches (the main thread, which runs the calls) to ``fd``. Never chained: the signal's default
    action would end the worker before the grader has read the dump."""
    faulthandler.register(STACK_SIGNAL, file=fd, all_threads=False, chain=False)


def running_function(dump: bytes) -> str | None:
    """The innermost contract function of the submission's in ``dump`` (a faulthandler stack), or None.

    - dump: at most ``STACK_BYTES`` bytes (more are ignored), most recent call first.

    Returns a name of ``RECORDED_FUNCTIONS``, or None when no frame names one outside ``HARNESS``.
    """
    text = dump[:STACK_BYTES].decode("utf-8", errors="replace")
    for line in text.splitlines():
        frame = FRAME.fullmatch(line)
        if frame and frame["name"] in RECORDED_FUNCTIONS and not in_harness(frame["path"]):
            return frame["name"]
    return None


def in_harness(path: str) -> bool:
    """True if ``path`` is one of the grader's own files (the worker's wrappers, its torch calls)."""
    return path == HARNESS or path.startswith(HARNESS + "/")
