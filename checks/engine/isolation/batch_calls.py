"""The calls of a ``Submission.batch``: what a check writes, and how each call travels and is traced.

A check lists ``Call``s (``forward_then_backward``, ``in_sequence``), an argument ``CacheOf(k)``
standing for the cache call k returns; ``batch_request`` turns one into the worker's request,
``noted_arguments`` into what the trace notes, and ``downstream`` and ``describe_call`` name the
call a fault is charged to. Apart from ``checks.engine.isolation.contract``, which sends them: these
are plain records, which checks build without a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

from checks.engine.isolation.contract_returns import RETURNS, call_sizes, describe_inputs, letters
from checks.engine.isolation.trace import CacheRef


@dataclass(frozen=True)
class CacheOf:
    """In ``Submission.batch``: the cache returned by the batch's call number ``call`` (0-based)."""

    call: int


class Call(NamedTuple):
    """One call of a ``Submission.batch``: ``function`` on ``args`` (``CacheOf`` arguments included).

    ``arguments_after``: its result is not its validated value but its arguments as they are after the
    call, caches as None (a hygiene check's look at what the call did to its inputs); it is not validated.
    """

    function: str
    args: tuple
    arguments_after: bool = False


def forward_then_backward(forward: str, args: Sequence, backward: str, upstream: Any, *extra: Any) -> list[Call]:
    """The calls ``forward(*args)``, then ``backward(upstream, its cache, *extra)``: one group of a batch."""
    return [Call(forward, tuple(args)), Call(backward, (upstream, CacheOf(0), *extra))]


def in_sequence(*groups: Sequence[tuple]) -> list[Call]:
    """Groups of batch calls, each counting its ``CacheOf(k)`` from its own first call, as one batch's calls."""
    calls: list[Call] = []
    for group in groups:
        first = len(calls)
        calls += [Call(function, tuple(CacheOf(first + a.call) if isinstance(a, CacheOf) else a for a in args), *rest)
                  for function, args, *rest in group]
    return calls


def batch_request(call: "Call", keep_cache: bool) -> dict:
    """One call of a "batch" request: ``CacheOf`` arguments travel as [position, call] pairs."""
    function, args, arguments_after = call
    cache_at = RETURNS[function].index("cache") if "cache" in RETURNS.get(function, ()) else None
    return {"fn": function, "args": [None if isinstance(a, CacheOf) else a for a in args], "cache_at": cache_at,
            "keep_cache": keep_cache, "caches_of": [[i, a.call] for i, a in enumerate(args) if isinstance(a, CacheOf)],
            "return_arguments": arguments_after}


def noted_arguments(args: tuple, first: int, calls: Sequence["Call"]) -> tuple:
    """The arguments as a trace notes them: ``CacheOf(k)`` of a batch whose first call is the
    trace's call ``first`` is ``CacheRef(first + k, position of call k's cache)``."""
    return tuple(CacheRef(first + a.call, RETURNS[calls[a.call].function].index("cache")) if isinstance(a, CacheOf)
                 else a for a in args)


def downstream(calls: Sequence["Call"]) -> str:
    """The function a batch is about, named if it hangs and the worker did not say which call was running:
    the first that uses an earlier call's cache (the backward of forward, backward, perturbed forwards),
    else the first."""
    return next((call.function for call in calls if any(isinstance(a, CacheOf) for a in call.args)),
                calls[0].function)


def describe_call(calls: Sequence["Call"], k: int) -> str:
    """``describe_inputs`` of call k of a batch, a ``CacheOf`` argument sized as the call that made it."""
    function, args, _ = calls[k]
    made_by = next((calls[arg.call] for arg in args if isinstance(arg, CacheOf)), None)
    if made_by is not None and made_by.function in RETURNS:
        return letters(function, call_sizes(made_by.function, made_by.args))
    return describe_inputs(function, args)

