"""The submission contract, as the grading process sees it.

``Submission`` exposes the ten contract functions as methods. Each call goes to the worker
process; each result comes back as plain data and is validated against the table ``RETURNS``
(types, dtypes, exact shapes, finiteness) before a check ever compares a value. Checks therefore
read like the math: ``h, cache = sub.rnn_forward(x, h0, Wx, Wh, b)``.

Shapes: N batch, T steps, D input features, H hidden units (row-vector convention, CS231n).
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple, Sequence

import numpy as np

from checks.engine.isolation.confinement import Confinement
from checks.engine.isolation.contract_functions import CONTRACT_FUNCTIONS  # noqa: F401 - the checks read it from here
from checks.engine.isolation.faults import FaultRecord
from checks.engine.isolation.boundary import Worker, WorkerFault, WorkerOptions, WorkerStats
from checks.engine.isolation.protocol import Handle
from checks.engine.isolation.replies import Answer, MalformedReply, parse_batch, parse_call, parse_hello, parse_map
from checks.engine.isolation.trace import CacheRef, Trace
from checks.engine.isolation.validation import ContractViolation, expect_array, expect_dict, expect_float, expect_tuple

# Which contract function the standard assignment builds on which (as reference/ does): a wrong
# rnn_step_backward makes rnn_backward wrong too, and everything built on rnn_backward. Static, so
# only where a consequence may be looked for: a student may inline a step instead of calling it, and
# ``checks.engine.run.root_cause`` says "probably follows" only where the student's own calls show it.
# rnn_backward_truncated walks rnn_forward's cache with rnn_step_backward; the bidirectional and
# classifier functions run the sequence functions; clipping and batching stand on their own.
CALLS: dict[str, tuple[str, ...]] = {
    "rnn_step_forward": (),
    "rnn_step_backward": (),
    "rnn_forward": ("rnn_step_forward",),
    "rnn_backward": ("rnn_step_backward",),
    "rnn_backward_truncated": ("rnn_forward", "rnn_step_backward"),
    "clip_grad_norm": (),
    "birnn_forward": ("rnn_forward",),
    "birnn_backward": ("rnn_backward",),
    "rnn_classifier_loss": ("rnn_forward", "rnn_backward"),
    "tbptt_batches": (),
}

# From the most basic to the most derived: a check's subject is the last of its needs in this order
# (step forward < sequence forward < step backward < sequence backward < truncated, bidirectional,
# classifier; clipping and batching last, as they call none of the others and none calls them).
DEPENDENCY_ORDER: tuple[str, ...] = (
    "rnn_step_forward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_backward",
    "rnn_backward_truncated",
    "birnn_forward",
    "birnn_backward",
    "rnn_classifier_loss",
    "clip_grad_norm",
    "tbptt_batches",
)


def builds_on(function: str) -> frozenset[str]:
    """Every contract function ``function`` calls, directly or through others (``CALLS``), and itself."""
    reached, waiting = {function}, [function]
    while waiting:
        for callee in CALLS.get(waiting.pop(), ()):
            if callee not in reached:
                reached.add(callee)
                waiting.append(callee)
    return frozenset(reached)


_BACKWARD = ("dx:N T D", "dh0:N H", "dWx:D H", "dWh:H H", "db:H")

# What each array-returning function returns, "name:SHAPE" in the letters N, T, D, H ("2H" for
# the bidirectional width); "cache" is the opaque cache, which never leaves the worker.
RETURNS: dict[str, tuple[str, ...]] = {
    "rnn_step_forward": ("next_h:N H", "cache"),
    "rnn_step_backward": ("dx:N D", "dprev_h:N H", "dWx:D H", "dWh:H H", "db:H"),
    "rnn_forward": ("h:N T H", "cache"),
    "rnn_backward": _BACKWARD,
    "rnn_backward_truncated": _BACKWARD,
    "birnn_forward": ("h:N T 2H", "cache"),
    "birnn_backward": ("dx:N T D", "dh0_f:N H", "dWx_f:D H", "dWh_f:H H", "db_f:H",
                       "dh0_b:N H", "dWx_b:D H", "dWh_b:H H", "db_b:H"),
}

CLASSIFIER_GRADIENTS = ("x", "h0", "Wx", "Wh", "b", "W2", "b2")

#: The names of each function's results, in order: RETURNS's, and those of the three functions
#: whose results are not arrays sized by the letters (diagnosis and reproduction scripts name them).
OUTPUT_NAMES: dict[str, tuple[str, ...]] = {
    **{function: tuple(spec.split(":")[0] for spec in specs) for function, specs in RETURNS.items()},
    "clip_grad_norm": ("clipped", "total_norm"),
    "rnn_classifier_loss": ("loss", "grads"),
    "tbptt_batches": ("batches",),
}

# Argument names of the functions that finite differences evaluate many times.
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "rnn_step_forward": ("x", "prev_h", "Wx", "Wh", "b"),
    "rnn_forward": ("x", "h0", "Wx", "Wh", "b"),
    "birnn_forward": ("x", "h0_f", "Wx_f", "Wh_f", "b_f", "h0_b", "Wx_b", "Wh_b", "b_b"),
    "rnn_classifier_loss": ("x", "y", "h0", "Wx", "Wh", "b", "W2", "b2"),
}


class NotImplementedInSubmission(BaseException):
    """A function the check needs is missing or raises NotImplementedError.

    A BaseException so that Hypothesis stops at once: there is nothing to shrink.
    """


class SubmissionRaised(Exception):
    """The submission's function raised an exception (shrunk by Hypothesis like any failure)."""


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


class BatchResults:
    """The replies of one batch, validated and handed out in order by ``take``: a failed call raises
    when its turn comes, as its method called alone would have. What a check asserts about the
    results it took first comes first, so one round trip judges as several would have."""

    def __init__(self, sub: "Submission", calls: Sequence[Call], replies: list[Answer]) -> None:
        self.sub, self.calls, self.replies = sub, calls, replies
        self.taken = 0  # the results handed out (or raised)

    def take(self, count: int) -> list:
        """The next ``count`` results (raising the first failure among them)."""
        return [self._next() for _ in range(count)]

    def _next(self) -> Any:
        k = self.taken
        if k >= len(self.replies):
            raise ContractViolation(f"the worker stopped after {len(self.replies)} of {len(self.calls)} calls")
        self.taken += 1
        reply = self.replies[k]
        if reply.not_implemented:
            self.sub.stubs_met.add(self.calls[k].function)
            raise NotImplementedInSubmission(f"not implemented: {self.calls[k].function}")
        if reply.raised is not None:
            raise SubmissionRaised(reply.raised)
        return self.sub._validated(self.calls, k, reply)


@dataclass(frozen=True)
class Cache:
    """The grader's stand-in for a cache: a one-use handle, and the sizes it was made with."""

    handle: Handle
    sizes: dict[str, int]


class Submission:
    """One submission behind its worker process, with validated contract methods.

    It owns the worker: made here from ``options``, stopped by ``close``. The runner reads what
    it needs through ``take_output``, ``stats`` and ``confinement``, never through the worker.
    """

    def __init__(self, path: Path, options: WorkerOptions = WorkerOptions()) -> None:
        self.path = Path(path)
        self._worker = self._new_worker(options)
        try:
            hello = self._worker.hello()
        except WorkerFault:
            self._worker.stop()
            raise
        try:  # the reply is the worker's, so potentially the submission's (checks.engine.isolation.replies)
            imported = parse_hello(hello)
        except MalformedReply as error:
            self._worker.stop()
            raise WorkerFault(f"the worker sent a malformed reply while importing the submission: {error}") from None
        self.functions: frozenset[str] = imported.functions
        self.import_error: str | None = imported.import_error
        self.missing_module: str | None = imported.missing_module  # the module whose absence made the import fail
        # The policy's shape_mistakes = "charged_once": arrays off by axes of length 1 are judged
        # by value (set by the runner for each check; exact_shapes turns it off for a block).
        self.allow_unit_axes = False
        self.trace: Trace | None = None  # while recording(): every call of the running example
        self.faults = FaultRecord()  # the functions that hung or crashed twice: not called again
        # The functions that raised NotImplementedError since the runner last cleared it (at the start of
        # a needs_any check): to that check, a stub is as missing as a deleted function.
        self.stubs_met: set[str] = set()

    def _new_worker(self, options: WorkerOptions) -> Worker:
        """The isolated worker of this submission. Only ``checks.engine.run.in_process`` overrides it, for
        trusted code (the reference, and bench/in_process.py); a student's code always goes through here."""
        return Worker(self.path, options)

    def __repr__(self) -> str:
        # Hypothesis prints this in falsifying examples; keep it short.
        return f"<submission {self.path.name}>"

    def close(self) -> None:
        self._worker.stop()

    @property
    def callable_functions(self) -> frozenset[str]:
        """The functions implemented and still called: not those that hung or crashed twice (``faults``)."""
        return self.functions - self.faults.condemned.keys()

    @contextmanager
    def exact_shapes(self) -> Iterator[None]:
        """In the block every returned array must have exactly its shape, whatever the policy."""
        allowed, self.allow_unit_axes = self.allow_unit_axes, False
        try:
            yield
        finally:
            self.allow_unit_axes = allowed

    @contextmanager
    def recording(self) -> Iterator[Trace]:
        """In the block every call into the worker is noted in the Trace yielded (``checks.engine.isolation.trace``)."""
        previous, self.trace = self.trace, Trace()
        try:
            yield self.trace
        finally:
            self.trace = previous

    def take_output(self) -> str:
        """What the submission printed since the last call (capped); the next call starts afresh."""
        return self._worker.output.take()

    @property
    def stats(self) -> WorkerStats:
        return self._worker.stats

    @property
    def files_left_out(self) -> tuple[str, ...]:
        """A sentence for each file of the submission that was not copied for the worker, and why."""
        return self._worker.files_left_out

    @property
    def confinement(self) -> Confinement:
        """The layers of confinement the worker applied (checks.engine.isolation.confinement); for the instructor."""
        return self._worker.confinement

    # -- the contract -------------------------------------------------------------------------

    def rnn_step_forward(self, x, prev_h, Wx, Wh, b) -> tuple[np.ndarray, Cache]:
        return self._call("rnn_step_forward", (x, prev_h, Wx, Wh, b), sizes_of(x, prev_h))

    def rnn_step_backward(self, dnext_h, cache: Cache) -> tuple[np.ndarray, ...]:
        return self._call("rnn_step_backward", (dnext_h, cache.handle), cache.sizes)

    def rnn_forward(self, x, h0, Wx, Wh, b) -> tuple[np.ndarray, Cache]:
        return self._call("rnn_forward", (x, h0, Wx, Wh, b), sizes_of(x, h0))

    def rnn_backward(self, dh, cache: Cache) -> tuple[np.ndarray, ...]:
        return self._call("rnn_backward", (dh, cache.handle), cache.sizes)

    def rnn_backward_truncated(self, dh, cache: Cache, window: int) -> tuple[np.ndarray, ...]:
        return self._call("rnn_backward_truncated", plain_numbers("rnn_backward_truncated", (dh, cache.handle, window)),
                          cache.sizes)

    def birnn_forward(self, x, h0_f, Wx_f, Wh_f, b_f, h0_b, Wx_b, Wh_b, b_b) -> tuple[np.ndarray, Cache]:
        args = (x, h0_f, Wx_f, Wh_f, b_f, h0_b, Wx_b, Wh_b, b_b)
        return self._call("birnn_forward", args, sizes_of(x, h0_f))

    def birnn_backward(self, dh, cache: Cache) -> tuple[np.ndarray, ...]:
        return self._call("birnn_backward", (dh, cache.handle), cache.sizes)

    def clip_grad_norm(self, grads: dict[str, np.ndarray], max_norm: float) -> tuple[dict[str, np.ndarray], float]:
        args = plain_numbers("clip_grad_norm", (grads, max_norm))
        return validate_clip(self._request("clip_grad_norm", args), args)

    def rnn_classifier_loss(self, x, y, h0, Wx, Wh, b, W2, b2) -> tuple[float, dict[str, np.ndarray]]:
        args = (x, y, h0, Wx, Wh, b, W2, b2)
        return validate_classifier(self._request("rnn_classifier_loss", args), args)

    def tbptt_batches(self, series: np.ndarray, batch_size: int, window: int) -> np.ndarray:
        args = plain_numbers("tbptt_batches", (series, batch_size, window))
        return validate_batches(self._request("tbptt_batches", args), args)

    # -- many calls in one round trip (finite differences) ----------------------------------

    def outputs_of_many(self, function: str, args_list: Sequence[tuple]) -> list:
        """The validated first output of ``function`` on every argument tuple, in one round trip.

        For forward functions that is h (or next_h); for the classifier, the loss. Caches are
        dropped inside the worker.
        """
        cache_at = 1 if function in RETURNS and "cache" in RETURNS[function] else None
        answer = self._send({"op": "map", "fn": function, "args_list": [list(a) for a in args_list],
                             "cache_at": cache_at}, function, describe_inputs(function, args_list[0]) if args_list else "")
        return [first_output(function, value, args, self.allow_unit_axes) for value, args in zip(answer.value, args_list)]

    def evaluator(self, function: str) -> Callable[[list[dict]], list]:
        """A function mapping argument dicts (keyed as in ``ARGUMENTS``) to first outputs, batched."""
        names = ARGUMENTS[function]
        return lambda calls: self.outputs_of_many(function, [tuple(c[n] for n in names) for c in calls])

    def batch(self, calls: Sequence[tuple]) -> list:
        """Several calls of one example in one round trip; each result validated as if called alone.

        - calls: ``Call``s, or (function, arguments) pairs, run in order; an argument ``CacheOf(k)`` is
          the cache call k returned (a forward of ``RETURNS`` or ``rnn_classifier_loss`` only).

        Returns the validated results, as the methods of the same name return them (an
        ``arguments_after`` call: its arguments afterwards). The first call that raises, is not
        implemented or returns an invalid value raises as that method would; later calls are not
        run (or their results not looked at).
        """
        with self.batched(calls) as results:
            return results.take(len(calls))

    @contextmanager
    def batched(self, calls: Sequence[tuple]) -> Iterator["BatchResults"]:
        """``batch``, its results handed out in order by ``BatchResults.take``, so that a check can judge the
        first calls' results before a later call's failure is raised: as if each group of calls had been
        made on its own, in one round trip. Calls whose results were not taken leave the trace."""
        calls = [Call(*call) for call in calls]
        calls = [call._replace(args=plain_numbers(call.function, call.args)) for call in calls]
        for call in calls:
            if call.function not in self.functions:
                raise NotImplementedInSubmission(f"not implemented: {call.function}")
            self.faults.refuse(call.function)
        kept = {arg.call for call in calls for arg in call.args if isinstance(arg, CacheOf)}
        message = {"op": "batch", "calls": [batch_request(call, k in kept) for k, call in enumerate(calls)]}
        if self.trace is not None:  # what the trace notes: CacheOf(k) as a CacheRef to call k
            first = len(self.trace.calls)
            message["noted_args"] = [noted_arguments(call.args, first, calls) for call in calls]
        answers = self._send(message, downstream(calls), describe_call(calls, 0), calls)
        results = BatchResults(self, calls, answers)
        try:
            yield results
        finally:
            # Called alone, the calls after a failed or unexamined result would not have run: the
            # example recorded for the student must not show them.
            self._forget_last_calls(len(answers) - results.taken)

    def forward_and_backward(self, forward: str, args: Sequence, backward: str, upstream: np.ndarray,
                             *extra: Any) -> tuple[tuple, tuple]:
        """``forward(*args)``, then ``backward(upstream, its cache, *extra)``, in one round trip.

        Returns both validated results, as the two methods return them: (output, Cache) and the
        gradients. A hang or crash is charged to the one of the two that was running.
        """
        forward_result, gradients = self.batch(forward_then_backward(forward, args, backward, upstream, *extra))
        return forward_result, gradients

    def _forget_last_calls(self, count: int) -> None:
        """Take the last ``count`` calls out of the trace being recorded (if any)."""
        if self.trace is not None and count > 0:
            self.trace.discard(self.trace.calls[-count:])

    def _validated(self, calls: Sequence["Call"], k: int, reply: Answer) -> Any:
        """Call k's ``reply`` validated as the method of its function validates it (a backward's sizes are
        its cache's), or, for an ``arguments_after`` call, the arguments it reports."""
        function, args, arguments_after = calls[k]
        if arguments_after:
            return list(reply.arguments_after)
        value = reply.value
        if function in VALIDATORS:
            return VALIDATORS[function](value, args)
        made_by = next((calls[arg.call].args for arg in args if isinstance(arg, CacheOf)), args)
        return validate_returns(function, value, sizes_of(made_by[0], made_by[1]), self.allow_unit_axes)

    # -- transport -----------------------------------------------------------------------------

    def _call(self, function: str, args: tuple, sizes: dict[str, int]) -> tuple:
        cache_at = RETURNS[function].index("cache") if "cache" in RETURNS[function] else None
        value = self._send({"op": "call", "fn": function, "args": list(args), "cache_at": cache_at}, function,
                           letters(function, sizes))
        return validate_returns(function, value.value, sizes, self.allow_unit_axes)

    def _request(self, function: str, args: tuple) -> Any:
        return self._send({"op": "call", "fn": function, "args": list(args), "cache_at": None}, function,
                          describe_inputs(function, args)).value

    def _send(self, message: dict, function: str, inputs: str, calls: Sequence[Call] = ()) -> Answer | list[Answer]:
        """Send ``message``, a call of ``function`` on ``inputs`` (their sizes, in words), and return the answer,
        checked into typed values (``parsed_reply``): a batch's, one ``Answer`` per call run.

        For a batch (``calls``), a fault is charged to the call the worker says was running, if it said."""
        if function not in self.functions:
            raise NotImplementedInSubmission(f"not implemented: {function}")
        self.faults.refuse(function)
        noted = self._note(message)
        doing = f"running {function}" + (f" on {inputs}" if inputs else "")
        try:
            answer = parsed_reply(message, self._worker.request(message, doing=doing))
        except (WorkerFault, MalformedReply) as error:
            raise self._charged(error, function, doing, inputs, calls) from None
        self._noted(noted, message["op"], answer)
        if isinstance(answer, Answer) and answer.not_implemented:
            self.stubs_met.add(function)
            raise NotImplementedInSubmission(f"not implemented: {function}")
        if isinstance(answer, Answer) and answer.raised is not None:
            raise SubmissionRaised(answer.raised)
        return answer

    def _charged(self, error: WorkerFault | MalformedReply, function: str, doing: str, inputs: str,
                 calls: Sequence[Call]) -> WorkerFault:
        """The fault to raise for ``error``, met while ``doing``: charged, in a batch, to the call the worker said
        was running, or whose answer is malformed. A malformed reply is a fault like a crash: the worker is stopped
        (the next call starts a fresh one), and the submission is charged, never the grader."""
        if isinstance(error, MalformedReply):
            self._worker.stop()
            fault, running = WorkerFault(f"the worker sent a malformed reply while {doing}: {error}", doing), error.call
        else:
            fault, running = error, self._worker.call_running() if calls else None
        if running is not None and 0 <= running < len(calls):
            function, inputs = calls[running].function, describe_call(calls, running)
            sent, doing = doing, f"running {function}" + (f" on {inputs}" if inputs else "")
            fault = fault.retold(doing) if fault.doing == sent else fault
        return self.faults.judge(fault, function, doing, inputs)

    def _note(self, message: dict) -> list:
        if self.trace is None:
            return []
        if message["op"] == "map":
            return [self.trace.start(message["fn"], tuple(args)) for args in message["args_list"]]
        if message["op"] == "batch":
            noted = message.pop("noted_args")  # the grader's own, not sent
            return [self.trace.start(call["fn"], args) for call, args in zip(message["calls"], noted)]
        return [self.trace.start(message["fn"], tuple(message["args"]))]

    def _noted(self, calls: list, op: str, answer: Answer | list[Answer]) -> None:
        """Note the checked ``answer`` to a request of kind ``op`` in the trace, call by call."""
        if not calls:  # not recording
            return
        if isinstance(answer, list):  # a batch: one answer per call run, in order
            for call, reply in zip(calls, answer):
                self.trace.finish(call, reply)
            self.trace.discard(calls[len(answer):])  # the worker stops a batch at the first call that raised
        elif op == "map" and answer.returned:
            for call, value in zip(calls, answer.value):
                self.trace.finish(call, Answer(value=value, entered=answer.entered))
        else:
            for call in calls:
                self.trace.finish(call, answer)


#: The arguments that reach the submission as plain Python numbers, whatever number a check passed (a numpy
#: int or float would arrive as a numpy scalar): per function, {position: int or float}.
PLAIN_NUMBERS: dict[str, dict[int, type]] = {
    "rnn_backward_truncated": {2: int},
    "clip_grad_norm": {1: float},
    "tbptt_batches": {1: int, 2: int},
}


def plain_numbers(function: str, args: Sequence) -> tuple:
    """``args`` of ``function`` with its ``PLAIN_NUMBERS`` made plain ints or floats."""
    kinds = PLAIN_NUMBERS.get(function, {})
    return tuple(kinds[i](arg) if i in kinds else arg for i, arg in enumerate(args))


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
    if made_by is not None and made_by.function in ARGUMENTS and made_by.function != "rnn_classifier_loss":
        return letters(function, sizes_of(made_by.args[0], made_by.args[1]))
    return describe_inputs(function, args)


def parameter_names(function: str) -> list[str]:
    """The contract's names of ``function``'s arguments (docs/contract.md), from ``Submission``'s methods."""
    return list(inspect.signature(getattr(Submission, function)).parameters)[1:]  # without self


def sizes_of(x: np.ndarray, h: np.ndarray) -> dict[str, int]:
    """The letters N, T, D, H (and 2H) from an input x of shape (N, D) or (N, T, D) and a state (N, H)."""
    N, H = h.shape
    return {"N": N, "T": x.shape[1] if x.ndim == 3 else 1, "D": x.shape[-1], "H": H, "2H": 2 * H}


def letters(function: str, sizes: dict[str, int]) -> str:
    """'N=2, T=300, D=3, H=2': the sizes of a call, in the contract's letters (no T for a single step)."""
    names = ("N", "D", "H") if function.startswith("rnn_step") else ("N", "T", "D", "H")
    return ", ".join(f"{name}={sizes[name]}" for name in names if name in sizes)


def describe_inputs(function: str, args: Sequence) -> str:
    """The sizes of a call's arguments, in words: letters for the RNN functions, shapes otherwise.

    ``args`` are as a check passes them (caches as ``Cache``). Used only to explain a fault, so
    anything unexpected gives a shorter text rather than an error.
    """
    cache = next((a for a in args if isinstance(a, Cache)), None)
    try:
        if cache is not None:
            return letters(function, cache.sizes)
        if function == "rnn_classifier_loss":
            return letters(function, sizes_of(args[0], args[2]))
        if function in ARGUMENTS:
            return letters(function, sizes_of(args[0], args[1]))
        if function == "clip_grad_norm":
            return "gradients of shapes " + ", ".join(f"{name} {np.shape(g)}" for name, g in args[0].items())
        if function == "tbptt_batches":
            return f"a series of shape {np.shape(args[0])}, batch_size={args[1]}, window={args[2]}"
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        pass
    return ""


def shape_of(spec: str, sizes: dict[str, int]) -> tuple[int, ...]:
    return tuple(sizes[letter] for letter in spec.split())


def symbolic_shape(spec: str) -> str:
    """"N T H" -> "(N, T, H)", "H" -> "(H,)": written as Python writes the shape it stands for."""
    letters = spec.split()
    return f"({letters[0]},)" if len(letters) == 1 else f"({', '.join(letters)})"


def validate_returns(function: str, value: Any, sizes: dict[str, int], allow_unit_axes: bool = False) -> tuple:
    """Validate a tuple return against ``RETURNS[function]``; caches become ``Cache`` objects.

    ``allow_unit_axes``: arrays off by axes of length 1 are reshaped (``expect_array``)."""
    specs = RETURNS[function]
    names = tuple(spec.split(":")[0] for spec in specs)
    items = expect_tuple(value, names, function)
    validated = []
    for spec, item in zip(specs, items):
        if spec == "cache":
            validated.append(Cache(item, sizes) if isinstance(item, Handle) else None)
            continue
        name, dims = spec.split(":")
        validated.append(expect_array(item, shape_of(dims, sizes), f"{name} returned by {function}",
                                      symbolic_shape(dims), allow_unit_axes))
    return tuple(validated)


def first_output(function: str, value: Any, args: tuple, allow_unit_axes: bool = False) -> Any:
    if function == "rnn_classifier_loss":
        return validate_classifier(value, args)[0]
    return validate_returns(function, value, sizes_of(args[0], args[1]), allow_unit_axes)[0]


def validate_clip(value: Any, args: tuple) -> tuple[dict[str, np.ndarray], float]:
    """clip_grad_norm's (clipped, total_norm) for ``args`` = (grads, max_norm)."""
    grads = args[0]
    clipped, total_norm = expect_tuple(value, ("clipped", "total_norm"), "clip_grad_norm")
    expect_dict(clipped, set(grads), "clipped returned by clip_grad_norm")
    for name, grad in grads.items():
        expect_array(clipped[name], grad.shape, f"clipped[{name!r}] returned by clip_grad_norm",
                     f"the shape of grads[{name!r}]")
    return clipped, expect_float(total_norm, "total_norm returned by clip_grad_norm")


def validate_classifier(value: Any, args: tuple) -> tuple[float, dict[str, np.ndarray]]:
    loss, grads = expect_tuple(value, ("loss", "grads"), "rnn_classifier_loss")
    loss = expect_float(loss, "loss returned by rnn_classifier_loss")
    expect_dict(grads, set(CLASSIFIER_GRADIENTS), "grads returned by rnn_classifier_loss")
    shapes = dict(zip(("x", "y", "h0", "Wx", "Wh", "b", "W2", "b2"), (np.shape(a) for a in args)))
    for name in CLASSIFIER_GRADIENTS:
        expect_array(grads[name], shapes[name], f"grads[{name!r}] returned by rnn_classifier_loss",
                     f"the shape of {name}")
    return loss, grads


def validate_batches(value: Any, args: tuple) -> np.ndarray:
    """tbptt_batches' array for ``args`` = (series, batch_size, window)."""
    return expect_array(value, batches_shape(*args), "batches returned by tbptt_batches",
                        "(num_windows, batch_size, window, *features)")


#: The validators of the functions whose results are not sized by the letters N, T, D, H (the others
#: are ``RETURNS``'), each given the result and the call's arguments.
VALIDATORS: dict[str, Callable[[Any, tuple], Any]] = {
    "clip_grad_norm": validate_clip,
    "rnn_classifier_loss": validate_classifier,
    "tbptt_batches": validate_batches,
}


def parsed_reply(message: dict, reply: dict) -> Answer | list[Answer]:
    """The worker's ``reply`` to ``message``, checked into typed values (``checks.engine.isolation.replies``), or MalformedReply."""
    if message["op"] == "batch":
        return parse_batch(reply, [len(call["args"]) if call["return_arguments"] else None for call in message["calls"]])
    if message["op"] == "map":
        return parse_map(reply, len(message["args_list"]))
    return parse_call(reply)


def batches_shape(series: np.ndarray, batch_size: int, window: int) -> tuple[int, ...]:
    """(num_windows, batch_size, window, *features), num_windows = (L // batch_size) // window."""
    return ((len(series) // batch_size) // window, batch_size, window, *series.shape[1:])
