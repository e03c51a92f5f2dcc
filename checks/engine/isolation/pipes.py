"""The worker's pipes as the grader reads them: its output, kept to a head per check, and its replies.

``OutputCapture`` keeps what the submission printed; ``OutputPipe`` copies the worker's output
pipe into it; ``ReplyReader`` reads replies with a deadline, draining the output while it waits.
Apart from ``checks.engine.isolation.boundary``'s ``Worker``, which starts and stops the process:
these only read bytes, and the lookahead's forked process reads its replies the same way.
"""

from __future__ import annotations

import math
import os
import select
import threading
import time
from dataclasses import dataclass, field

OUTPUT_KEPT_PER_CHECK = 4096


@dataclass
class OutputCapture:
    """What the submission printed, kept to a head of ``limit`` bytes per check."""

    limit: int = OUTPUT_KEPT_PER_CHECK
    kept: bytearray = field(default_factory=bytearray)
    dropped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The worker's scratch folder, shown as "." where the submission printed it (a warning names its
    # file by its copy's path): a random temporary path says nothing to a student, and reports
    # must be the same on every run.
    scratch: str | None = None

    def append(self, data: bytes) -> None:
        with self.lock:
            room = max(0, self.limit - len(self.kept))
            self.kept += data[:room]
            self.dropped += len(data) - min(room, len(data))

    def take(self) -> str:
        """Return what was printed since the last call, and start a new segment."""
        with self.lock:
            text = self.kept.decode("utf-8", "replace")
            if self.dropped:
                text += f"\n... [{self.dropped} more bytes of output not shown]"
            self.kept, self.dropped = bytearray(), 0
        if self.scratch:
            text = text.replace(f"{self.scratch}/submission/", "").replace(self.scratch, ".")
        return text


class OutputPipe:
    """The read end of the worker's stdout/stderr pipe, copied into an ``OutputCapture`` on demand.

    It is read in the same thread that waits for replies (no drain thread): the worker flushes its
    output before it replies, so draining what is ready once a reply is in attributes every byte
    to the request that printed it. A drain thread could still be holding those bytes, and they
    would land in the next check's output, or in none.
    """

    def __init__(self, fd: int, capture: OutputCapture) -> None:
        self.fd: int | None = fd
        self.capture = capture

    def drain_ready(self, budget: int = 1 << 20) -> None:
        """Copy whatever can be read without waiting (at most ~``budget`` bytes); close at end of file.

        The budget matters only if an escaped grandchild keeps writing: the loop must end.
        """
        while self.fd is not None and budget > 0 and select.select([self.fd], [], [], 0)[0]:
            budget -= self.read_once()

    def read_once(self) -> int:
        chunk = os.read(self.fd, 65536)
        if chunk:
            self.capture.append(chunk)
        else:
            self.close()
        return max(len(chunk), 1)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class ReplyReader:
    """A file-like ``read(n)`` over the worker's reply pipe that gives up at a deadline (a half-sent
    reply must not hang us).

    One per worker, for all its replies: it reads whatever the pipe holds into a buffer (a reply's
    frame is many small pieces, and one ``select`` and ``os.read`` per piece cost more than the
    call they carry), so bytes past the end of one reply wait there for the next, as they would in
    the pipe. While it waits it also copies the worker's output, so a flooding submission never
    blocks on a full output pipe.
    """

    CHUNK = 1 << 20

    def __init__(self, fd: int, output: OutputPipe | None = None) -> None:
        self.fd, self.output = fd, output
        self.buffer = bytearray()
        self.deadline = math.inf

    def wait_until(self, timeout: float) -> "ReplyReader":
        """Give the next reads ``timeout`` seconds from now."""
        self.deadline = time.monotonic() + timeout
        return self

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size and self._fill():
            pass
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def _fill(self) -> bool:
        """Wait for more of the reply and append it; False at end of file."""
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            watched = [self.fd] + ([self.output.fd] if self.output and self.output.fd is not None else [])
            ready = select.select(watched, [], [], remaining)[0]
            if not ready:
                raise TimeoutError
            if self.output and self.output.fd in ready:
                self.output.read_once()
            if self.fd in ready:
                chunk = os.read(self.fd, self.CHUNK)
                self.buffer += chunk
                return bool(chunk)
