"""Drawing the examples ahead: every check's Hypothesis search in a forked process, its bodies here.

A check run alternates: Hypothesis draws an example, the check's body sends it to the worker and
waits, the worker computes while Hypothesis waits, and round again. Hypothesis alone is some 40% of
a default grade (``bench/in_process.py``), and the two never overlap. They can: while every example
passes, what Hypothesis draws next depends only on what it drew so far (the seed, the strategies,
the choices made), never on what the body computed, as long as the body draws nothing, assumes
nothing and targets nothing (the checks' bodies do none of these). So a process forked from this
one, before the worker starts, runs each check's search with the body replaced by "send these
arguments", in check order, and this process runs the bodies on the arguments as they arrive. The
drawing runs on the second core while the worker and the bodies take turns on the first.

What a check run makes of it (``checks.engine.run.runner``):

- every drawn example passes: the check passes, as the ordinary run would, for it would have drawn
  the same examples in the same order and made the same calls;
- an example fails: the drawn examples are dropped and the check runs again the ordinary way, under
  Hypothesis here, which reaches the same failure, shrinks it and notes its partial credit, so a
  failure is always the ordinary run's own;
- a worker fault (a hang, a crash) or a missing function ends the run as it ends an ordinary one,
  at once on the example it happens on (the same example here);
- the check's drawing stopped early (an argument that cannot be pickled, a strategy that raised):
  the check runs the ordinary way, and the next is drawn ahead again;
- the drawing process is gone, silent for ``SILENCE_LIMIT`` seconds, or sent a message that does
  not verify: the drawing is given up, and this check and every later one run the ordinary way.

Only on Linux, and only while this process runs a single thread: forking a process with other
threads can copy a lock one of them held (a Dask worker has threads; it grades the ordinary way),
and on macOS a forked child may crash in a system library that started threads of its own (why
Python's multiprocessing no longer forks there).
And only where it pays (``worth_drawing_ahead``): a grade drawing ahead keeps up to two cores
busy, so a class graded with as many jobs as cores grades the ordinary way. The drawing process
runs nothing of the submission's, only the checks' strategies; its output goes to /dev/null, and it
ends when its pipe is closed, when it has drawn everything, or when killed. Its messages are
numbered and signed with a key that exists only in the two processes' memory (``FRAME``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
import signal
import struct
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

import hypothesis

from checks.engine.run.counterexample import each_example_wrapped
from checks.engine.run.cpus import cores
from checks.engine.isolation.pipes import ReplyReader
from checks.registry import Check

# Each message: the length of its pickle, an HMAC of its number and pickle, then the pickle of
# (check index, kind, payload). The key is made before the fork and never leaves the two processes'
# memory: where the worker is not kept out of /proc (no Landlock), it could open this pipe through
# /proc/PID/fd, but a message it wrote would not verify and one it took would leave a gap in the
# numbers. Either way the drawing is given up and the checks run the ordinary way: the verdict is
# never the worker's to change, and the grader never unpickles what it did not check.
FRAME = struct.Struct("<I32s")
NUMBER = struct.Struct("<Q")
EXAMPLE, END, NOT_DRAWN = "example", "end", "not-drawn"
SILENCE_LIMIT = 30.0  # seconds without a message before the drawing is given up (it draws one in milliseconds)


class Placeholder:
    """What the drawing process passes as the submission: the body never runs there."""


class NotPicklable(BaseException):
    """An example's arguments could not be pickled: this check's drawing stops (a BaseException, so
    that Hypothesis stops at once instead of shrinking)."""


class PipeClosed(BaseException):
    """The grader closed the pipe: the drawing process exits."""


class DrawnExamples:
    """One check's examples, as the drawing process sends them; ``complete`` once all have come."""

    def __init__(self, lookahead: "Lookahead", index: int) -> None:
        self.lookahead, self.index = lookahead, index
        self.complete = False

    def arguments(self, sub: Any) -> Iterator[dict[str, Any]]:
        """Each example's arguments by name, as Hypothesis passes them to the body, ``sub`` among them."""
        while True:
            message = self.lookahead.next_for(self.index)
            if message is None:
                return
            kind, payload = message
            if kind != EXAMPLE:
                self.complete = kind == END
                return
            submission_parameter, arguments = payload
            yield {**arguments, submission_parameter: sub}


class Lookahead:
    """Every check's examples under ``seed``, drawn in a forked process while the checks run here."""

    def __init__(self, pid: int, fd: int, key: bytes) -> None:
        self.pid, self.key = pid, key
        self.replies = ReplyReader(fd)
        self.received = 0  # messages verified so far: the next must carry this number
        self.given_up = False

    @classmethod
    def start(cls, checks: Sequence[Check], seed: int) -> "Lookahead | None":
        """Fork the drawing process; None where that is not safe (not Linux, other threads running)."""
        if not sys.platform.startswith("linux") or threading.active_count() != 1:
            return None
        key = secrets.token_bytes(32)
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no process to spare: grade the ordinary way
            os.close(read_end)
            os.close(write_end)
            return None
        if pid == 0:  # the drawing process: it never returns
            os.close(read_end)
            draw_and_exit(checks, seed, Sender(write_end, key))
        os.close(write_end)
        return cls(pid, read_end, key)

    def examples(self, index: int) -> DrawnExamples | None:
        """Check number ``index``'s drawn examples; None once the drawing was given up."""
        return None if self.given_up else DrawnExamples(self, index)

    def next_for(self, index: int) -> tuple[str, Any] | None:
        """The next message about check ``index`` (those about checks before it were not needed);
        None if the drawing is over."""
        while not self.given_up:
            message = self._receive()
            if message is None:
                self.close()
            elif message[0] == index:
                return message[1], message[2]
            elif message[0] > index:  # cannot happen: messages come in check order
                self.close()
        return None

    def _receive(self) -> tuple[int, str, Any] | None:
        """The next message, verified; None at the end, after SILENCE_LIMIT, or if it does not verify."""
        try:
            header = self.replies.wait_until(SILENCE_LIMIT).read(FRAME.size)
            if len(header) < FRAME.size:
                return None
            size, mac = FRAME.unpack(header)
            data = self.replies.read(size)
        except (TimeoutError, OSError):
            return None
        if len(data) < size or not hmac.compare_digest(mac, signature(self.key, self.received, data)):
            return None
        self.received += 1
        return pickle.loads(data)

    def close(self) -> None:
        """Stop the drawing process (if it still runs) and reap it; later checks run the ordinary way."""
        if self.given_up:
            return
        self.given_up = True
        os.close(self.replies.fd)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)


def worth_drawing_ahead(grades_at_once: int = 1) -> bool:
    """Whether each of ``grades_at_once`` grades running side by side has a core to spare for its
    drawing process. Without one the drawing only competes with the grades: on this project's
    2-core machine a class graded 2 at a time took 74 s drawing ahead against 70 s without."""
    return 2 * grades_at_once <= cores()


@contextmanager
def drawn_ahead(checks: Sequence[Check], seed: int, enabled: bool | None = None) -> Iterator[Lookahead | None]:
    """A ``Lookahead`` over ``checks`` while in the block; None if not ``enabled`` (None: if it pays,
    ``worth_drawing_ahead()``) or not possible."""
    if enabled is None:
        enabled = worth_drawing_ahead()
    lookahead = Lookahead.start(checks, seed) if enabled else None
    try:
        yield lookahead
    finally:
        if lookahead is not None:
            lookahead.close()


def draw_and_exit(checks: Sequence[Check], seed: int, sender: "Sender") -> None:
    """In the forked process: draw every check's examples, send them, and exit."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is the grader's to handle
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        for index, check in enumerate(checks):
            drew_all = draw_examples(check, seed, lambda arguments: sender.send(index, EXAMPLE, arguments))
            sender.send(index, END if drew_all else NOT_DRAWN, None)
    except BaseException:  # noqa: BLE001 - the pipe closed, or anything else: the grader runs the ordinary way
        code = 1
    finally:
        os._exit(code)


def draw_examples(check: Check, seed: int, emit: Callable[[Any], None]) -> bool:
    """Run ``check``'s Hypothesis search with its body replaced by ``emit(arguments)``; whether it ran to its end."""
    test = hypothesis.seed(seed)(check.function)
    if getattr(test, "hypothesis", None) is None:
        return False  # a plain function: one call, nothing to draw

    placeholder = Placeholder()

    def emitting(inner):
        def example(**arguments):  # Hypothesis passes every argument by name, the submission too
            submission = next(name for name, value in arguments.items() if value is placeholder)
            emit((submission, {name: value for name, value in arguments.items() if name != submission}))
        return example

    try:
        with each_example_wrapped(test, emitting):
            test(placeholder)
    except (PipeClosed, KeyboardInterrupt):  # the grader is done with the drawing, or the user stopped the run
        raise
    except BaseException:  # noqa: BLE001 - a pickling failure, a strategy that raised: run it the ordinary way
        return False
    return True


def signature(key: bytes, number: int, data: bytes) -> bytes:
    return hmac.new(key, NUMBER.pack(number) + data, hashlib.sha256).digest()


class Sender:
    """The drawing process's end of the pipe: numbered, signed messages (see FRAME)."""

    def __init__(self, fd: int, key: bytes) -> None:
        self.fd, self.key = fd, key
        self.sent = 0

    def send(self, index: int, kind: str, payload: Any) -> None:
        try:
            data = pickle.dumps((index, kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # noqa: BLE001 - whatever pickling raises
            raise NotPicklable(str(error)) from None
        view = memoryview(FRAME.pack(len(data), signature(self.key, self.sent, data)) + data)
        self.sent += 1
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError:
            raise PipeClosed from None
