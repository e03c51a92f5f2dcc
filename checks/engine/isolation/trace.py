"""What a check asked of a submission, call by call, so that a failing example can be replayed.

While ``Submission.recording()`` is active every call into the worker is noted as a ``Call``:
the contract function, its arguments exactly as sent (copies), and what came back (before the
contract's validation, but after ``checks.engine.isolation.replies`` checked the reply's shape: a forged reply
never reaches a trace) or what the submission raised. A cache never leaves the worker, so an argument that
was a cache is noted as ``CacheRef``: "the cache output ``position`` of call ``call``".

A ``Trace`` replays on any module that provides the contract functions (the reference, a
misconception model, or a student's file in a reproduction script), each cache being that
module's own.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from checks.engine.isolation.protocol import Foreign, Handle
from checks.engine.isolation.replies import Answer


@dataclass(frozen=True)
class CacheRef:
    """Argument that was the cache output number ``position`` of the trace's call number ``call``."""

    call: int
    position: int


@dataclass(eq=False)  # compared by identity: arrays have no truth value
class Call:
    """One call of a contract function.

    - function: its name ("rnn_forward", ...)
    - args: the arguments as sent (arrays, floats, ints, dicts of arrays; caches as CacheRef)
    - result: what it returned, raw (tuples as sent back; caches as protocol Handles); None if it raised
    - raised: the submission's error message if it raised, else None
    - arguments_after: for hygiene calls, the arguments as they were after the call (else None)
    - entered: the other contract functions the call ran, as the worker recorded them (sorted);
      empty where it recorded none, which proves nothing (a function held in a closure is not recorded)
    """

    function: str
    args: tuple
    result: Any = None
    raised: str | None = None
    arguments_after: tuple | None = None
    entered: tuple[str, ...] = ()


@dataclass
class Trace:
    """The calls of one example, in order."""

    calls: list[Call] = field(default_factory=list)
    _handles: dict[int, CacheRef] = field(default_factory=dict, repr=False)

    def start(self, function: str, args: tuple) -> Call:
        """Note a call about to be sent; its handles become CacheRefs to the calls that made them."""
        call = Call(function, tuple(self._as_reference(copy.deepcopy(arg)) for arg in args))
        self.calls.append(call)
        return call

    def finish(self, call: Call, answer: Answer) -> None:
        """Note the worker's answer to ``call``, checked (``checks.engine.isolation.replies``)."""
        call.raised = answer.raised
        call.result = answer.value if answer.returned else None
        call.arguments_after = answer.arguments_after
        call.entered = answer.entered
        index = next(i for i in range(len(self.calls) - 1, -1, -1) if self.calls[i] is call)
        for position, item in enumerate(call.result if isinstance(call.result, (tuple, list)) else ()):
            if isinstance(item, Handle):
                self._handles[item.number] = CacheRef(index, position)

    def discard(self, unanswered: list[Call]) -> None:
        """Forget calls noted but never run (the rest of a batch after a call raised): they are the last."""
        kept = len(self.calls) - len(unanswered)
        assert all(a is b for a, b in zip(self.calls[kept:], unanswered)), "only the last calls can be discarded"
        del self.calls[kept:]

    def _as_reference(self, arg: Any) -> Any:
        if isinstance(arg, Handle):
            return self._handles.get(arg.number, Foreign("a cache this trace did not see made"))
        return arg


def replay(trace: Trace, functions: Callable[[str], Callable]) -> Iterator[tuple[Call, Any, BaseException | None]]:
    """Run every call of ``trace`` again on ``functions(name)``; yield (call, result, error).

    Arguments are fresh copies, so a function that mutates its inputs changes nothing that later
    calls see. A CacheRef becomes the cache this replay's own earlier call returned.
    """
    results: list[Any] = []
    for call in trace.calls:
        try:
            args = tuple(resolve(copy.deepcopy(arg), results) for arg in call.args)
            result, error = functions(call.function)(*args), None
        except Exception as raised:  # noqa: BLE001 - a model or a student's function may raise anything
            result, error = None, raised
        results.append(result)
        yield call, result, error


def resolve(arg: Any, results: list[Any]) -> Any:
    if isinstance(arg, CacheRef):
        return results[arg.call][arg.position]
    return arg
