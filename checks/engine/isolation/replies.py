"""The worker's replies, checked field by field into typed values where they are read.

The worker runs the submission in its own process, so every reply is the submission's data: it can
replace the worker's reply writer and send any well-framed message (``tests/hostile/forge_*.py``).
``protocol.decode`` guarantees only plain values; this module guarantees the *shape* of each reply,
so that no check, trace, diagnosis or reproduction script ever meets a forged field (an int where
the error's text is due, a number where the arguments are). What does not fit raises
``MalformedReply``, which ``contract.Submission`` turns into a fault of the call that was running,
exactly as if the worker had crashed: the submission's fault, never the grader's.

Replies (``checks.engine.isolation.worker``), and what they become:

    hello     {"functions": [str], "import_error": str|None, "missing_module": str|None} -> Hello
    call      {"value": v} | {"value": v, "arguments_after": [...]} | {"raised": str}
              | {"not_implemented": str}                                                -> Answer
    map       {"values": [v, ...]} (one per argument tuple) | {"raised"} | {"not_implemented"} -> Answer
    batch     {"answers": [call answer, ...]}: 1 to len(calls), each a value but the last -> [Answer]

A key a reply is not expected to have is ignored: it reaches nothing, since only these dataclasses
leave this module. ``arguments_after`` is expected exactly where the call asked for it. Any call or
map answer may hold ``"entered"``: the other contract functions the call ran, distinct names of
``RECORDED_FUNCTIONS`` (absent: none). Forged, it can only change what the student's own feedback
says follows from what (``checks.engine.run.root_cause``).
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any, Sequence

from checks.engine.isolation.contract_functions import RECORDED_FUNCTIONS

# The keys that say how a call ended; a call's answer holds exactly one of them.
OUTCOMES = ("value", "raised", "not_implemented")


class MalformedReply(Exception):
    """A reply of the worker does not have the shape its request calls for.

    ``call``: in a batch's reply, the position of the call whose answer is malformed (None: the
    reply as a whole).
    """

    def __init__(self, message: str, call: int | None = None) -> None:
        super().__init__(message)
        self.call = call


@dataclass(frozen=True)
class Hello:
    """The worker's reply once it has imported the submission."""

    functions: frozenset[str]
    import_error: str | None
    missing_module: str | None  # the module whose absence made the import fail


@dataclass(frozen=True)
class Answer:
    """How one call ended: it returned ``value`` (for a "map", the list of values), raised (its text),
    or was not implemented. ``arguments_after``: the call's arguments after it ran, where it asked.
    ``entered``: the other contract functions it ran, sorted (for a "map", all its calls together)."""

    value: Any = None
    raised: str | None = None
    not_implemented: bool = False
    arguments_after: tuple | None = None
    entered: tuple[str, ...] = ()

    @property
    def returned(self) -> bool:
        return self.raised is None and not self.not_implemented


def parse_hello(reply: dict) -> Hello:
    """The worker's import reply, or MalformedReply."""
    functions = reply.get("functions")
    if type(functions) is not list or not all(type(name) is str for name in functions):
        raise MalformedReply(f"'functions' must be a list of names, got {_shown(functions)}")
    return Hello(frozenset(functions), _text_or_none(reply, "import_error"), _text_or_none(reply, "missing_module"))


def parse_call(reply: Any, arguments: int | None = None) -> Answer:
    """The answer to one call; ``arguments``: how many arguments it reports afterwards (None: it was not asked)."""
    if type(reply) is not dict:
        raise MalformedReply(f"an answer must be a dict, got {_shown(reply)}")
    outcome, entered = _one_outcome(reply), _entered(reply)
    if outcome == "raised":
        return Answer(raised=_text(reply, "raised"), entered=entered)
    if outcome == "not_implemented":
        _text(reply, "not_implemented")  # the function's name: checked, not kept (the caller knows what it called)
        return Answer(not_implemented=True, entered=entered)
    if arguments is None:
        if "arguments_after" in reply:
            raise MalformedReply("'arguments_after' was not asked for")
        return Answer(value=reply["value"], entered=entered)
    after = reply.get("arguments_after")
    if type(after) is not list or len(after) != arguments:
        raise MalformedReply(f"'arguments_after' must list the call's {arguments} arguments, got {_shown(after)}")
    return Answer(value=reply["value"], arguments_after=tuple(after), entered=entered)


def parse_map(reply: dict, count: int) -> Answer:
    """The answer to a "map" of ``count`` calls: ``value`` is the list of their values."""
    if "values" not in reply:
        failed = parse_call(reply)
        if failed.returned:
            raise MalformedReply("a map's reply must hold 'values'")
        return failed
    values = reply["values"]
    if type(values) is not list or len(values) != count:
        raise MalformedReply(f"'values' must list the {count} calls' values, got {_shown(values)}")
    return Answer(value=values, entered=_entered(reply))


def parse_batch(reply: dict, arguments: Sequence[int | None]) -> list[Answer]:
    """The answers to a batch's calls (``arguments``: ``parse_call``'s, call by call), in order.

    The worker stops at the first call that does not return: so there is at least one answer, at
    most one per call, and every answer but the last is a value.
    """
    answers = reply.get("answers")
    if type(answers) is not list or not 1 <= len(answers) <= len(arguments):
        raise MalformedReply(f"'answers' must hold 1 to {len(arguments)} answers, got {_shown(answers)}")
    parsed = []
    for k, (answer, asked) in enumerate(zip(answers, arguments)):
        try:
            parsed.append(parse_call(answer, asked))
        except MalformedReply as error:
            raise MalformedReply(str(error), call=k) from None
        if not parsed[-1].returned and k < len(answers) - 1:
            raise MalformedReply("answers went on after a call that did not return", call=k + 1)
    return parsed


def _one_outcome(reply: dict) -> str:
    present = [key for key in OUTCOMES if key in reply]
    if len(present) != 1:
        raise MalformedReply(f"an answer must hold exactly one of {', '.join(OUTCOMES)}, got {_shown(sorted(reply))}")
    return present[0]


def _entered(reply: dict) -> tuple[str, ...]:
    """The answer's ``entered``, sorted: distinct contract function names, at most all of them (absent: none)."""
    entered = reply.get("entered", [])
    if (type(entered) is not list or len(entered) > len(RECORDED_FUNCTIONS)
            or not all(type(name) is str and name in RECORDED_FUNCTIONS for name in entered)
            or len(set(entered)) != len(entered)):
        raise MalformedReply(f"'entered' must list distinct contract functions, got {_shown(entered)}")
    return tuple(sorted(entered))


def _text(reply: dict, key: str) -> str:
    value = reply.get(key)
    if type(value) is not str:
        raise MalformedReply(f"{key!r} must be text, got {_shown(value)}")
    return value


def _text_or_none(reply: dict, key: str) -> str | None:
    return None if reply.get(key) is None else _text(reply, key)


def _shown(value: Any) -> str:
    """A bounded repr: the value is the submission's, and may be huge."""
    return reprlib.repr(value)
