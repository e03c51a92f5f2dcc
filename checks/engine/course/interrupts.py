"""Ctrl-C while a class is graded: noted where it arrives, acted on where the grader waits.

Python raises KeyboardInterrupt wherever the main thread happens to be when SIGINT arrives. If
that is inside a weakref callback or a finalizer (multiprocessing runs some), the exception is
printed as "Exception ignored in …" and lost: the class would go on as if never interrupted.
So while the class's grading processes run, SIGINT only notes itself and wakes the waiting loop
(``signal.set_wakeup_fd``), which raises KeyboardInterrupt itself, at a point of its choosing.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator


@dataclass
class NotedInterrupts:
    """What the waiting loop reads: ``wakeup`` is a file descriptor that becomes readable on SIGINT
    (None where signals cannot be handled here), and ``arrived`` says whether one came."""

    wakeup: int | None = None
    signals: list[int] = field(default_factory=list)

    @property
    def arrived(self) -> bool:
        return bool(self.signals)

    def raise_if_arrived(self) -> None:
        if self.signals:
            raise KeyboardInterrupt


@contextmanager
def interrupts_noted() -> Iterator[NotedInterrupts]:
    """While the block runs, SIGINT is noted (and wakes ``wakeup``) instead of raised at random.

    Only the main thread may handle signals; elsewhere nothing changes and ``wakeup`` is None.
    A process forked inside the block must call ``interrupts_raised_again`` first.
    """
    if threading.current_thread() is not threading.main_thread():
        yield NotedInterrupts()
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    noted = NotedInterrupts(read_end)
    previous_handler = signal.signal(signal.SIGINT, lambda signum, frame: noted.signals.append(signum))
    previous_wakeup = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    try:
        yield noted
    finally:
        signal.set_wakeup_fd(previous_wakeup)
        signal.signal(signal.SIGINT, previous_handler)
        os.close(read_end)
        os.close(write_end)
    noted.raise_if_arrived()  # one that came after the loop's last look is not lost either


def interrupts_raised_again() -> None:
    """In a process forked inside ``interrupts_noted``: Ctrl-C raises KeyboardInterrupt again, as usual."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.default_int_handler)
