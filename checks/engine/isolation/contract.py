"""The submission contract, as the grading process sees it.

``Submission`` exposes the ten contract functions as methods. Each call goes to the worker
process; each result comes back as plain data and is validated against the table ``RETURNS``
(types, dtypes, exact shapes, finiteness) before a check ever compares a value. Checks therefore
read like the math: ``h, cache = sub.rnn_forward(x, h0, Wx, Wh, b)``.

Shapes: N batch, T steps, D input features, H hidden units (row-vector convention, CS231n).

What each function returns and its validation are ``checks.engine.isolation.contract_returns``'s;
the calls of a batch (``Call``, ``CacheOf``) are ``checks.engine.isolation.batch_calls``'s. Here: the
proxy itself, and which contract function builds on which.
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from checks.engine.isolation.batch_calls import (CacheOf, Call, batch_request, describe_call, downstream,
                                                 forward_then_backward, noted_arguments)
from checks.engine.isolation.confinement import Confinement
from checks.engine.isolation.faults import FaultRecord
from checks.engine.isolation.boundary import Worker, WorkerFault, WorkerOptions, WorkerStats
from checks.engine.isolation.contract_returns import (ARGUMENTS, RETURNS, VALIDATORS, Cache, describe_inputs,
                                                      call_sizes, first_output, letters, plain_numbers, sizes_of,
                                                      validate_batches,
                                                      validate_captioning_loss, validate_captions, validate_classifier,
                                                      validate_clip, validate_returns, validate_softmax_loss)
from checks.engine.isolation.replies import Answer, MalformedReply, parse_batch, parse_call, parse_hello, parse_map
from checks.engine.isolation.trace import Trace
from checks.engine.isolation.validation import ContractViolation

class NotImplementedInSubmission(BaseException):
    """A function the check needs is missing or raises NotImplementedError.

    A BaseException so that Hypothesis stops at once: there is nothing to shrink.
    """


class SubmissionRaised(Exception):
    """The submission's function raised an exception (shrunk by Hypothesis like any failure)."""


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


class Submission:
    """One submission behind its worker process, with validated contract methods.

    It owns the worker: made here from ``options``, stopped by ``close``. The runner reads what
    it needs through ``take_output``, ``stats`` and ``confinement``, never through the worker.
    """

    def __init__(self, path: Path, options: WorkerOptions = WorkerOptions()) -> None:
        self.path = Path(path)
        self.preloaded = options.preload  # what its worker imported before its lock-down (torch)
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
        self._worker.condemned = self.faults.condemned.keys()  # live: each new worker refuses to enter them
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

    def lstm_step_forward(self, x, prev_h, prev_c, Wx, Wh, b) -> tuple[np.ndarray, np.ndarray, Cache]:
        return self._forward("lstm_step_forward", (x, prev_h, prev_c, Wx, Wh, b))

    def lstm_step_backward(self, dnext_h, dnext_c, cache: Cache) -> tuple[np.ndarray, ...]:
        return self._call("lstm_step_backward", (dnext_h, dnext_c, cache.handle), cache.sizes)

    def lstm_forward(self, x, h0, Wx, Wh, b) -> tuple[np.ndarray, Cache]:
        return self._forward("lstm_forward", (x, h0, Wx, Wh, b))

    def lstm_backward(self, dh, cache: Cache) -> tuple[np.ndarray, ...]:
        return self._call("lstm_backward", (dh, cache.handle), cache.sizes)

    def gru_step_forward(self, x, prev_h, Wx, Wh, bx, bh) -> tuple[np.ndarray, Cache]:
        return self._forward("gru_step_forward", (x, prev_h, Wx, Wh, bx, bh))

    def gru_step_backward(self, dnext_h, cache: Cache) -> tuple[np.ndarray, ...]:
        return self._call("gru_step_backward", (dnext_h, cache.handle), cache.sizes)

    def gru_forward(self, x, h0, Wx, Wh, bx, bh) -> tuple[np.ndarray, Cache]:
        return self._forward("gru_forward", (x, h0, Wx, Wh, bx, bh))

    def gru_backward(self, dh, cache: Cache) -> tuple[np.ndarray, ...]:
        return self._call("gru_backward", (dh, cache.handle), cache.sizes)

    def word_embedding_forward(self, x, W) -> tuple[np.ndarray, Cache]:
        return self._forward("word_embedding_forward", (x, W))

    def word_embedding_backward(self, dout, cache: Cache) -> tuple[np.ndarray]:
        """(dW,): the one array the function returns, as a tuple of one like every validated result."""
        return self._call("word_embedding_backward", (dout, cache.handle), cache.sizes)

    def temporal_affine_forward(self, x, w, b) -> tuple[np.ndarray, Cache]:
        return self._forward("temporal_affine_forward", (x, w, b))

    def temporal_affine_backward(self, dout, cache: Cache) -> tuple[np.ndarray, ...]:
        return self._call("temporal_affine_backward", (dout, cache.handle), cache.sizes)

    def temporal_softmax_loss(self, x, y, mask) -> tuple[float, np.ndarray]:
        args = (x, y, mask)
        return validate_softmax_loss(self._request("temporal_softmax_loss", args), args)

    def captioning_loss(self, model: dict, params: dict, features, captions) -> tuple[float, dict[str, np.ndarray]]:
        """``CaptioningRNN(**model).loss(features, captions)`` with the object's params set to ``params``."""
        args = (model, params, features, captions)
        return validate_captioning_loss(self._request("CaptioningRNN.loss", args), args)

    def captioning_sample(self, model: dict, params: dict, features, max_length: int) -> tuple[np.ndarray]:
        """``CaptioningRNN(**model).sample(features, max_length)`` with the object's params set to ``params``."""
        args = plain_numbers("CaptioningRNN.sample", (model, params, features, max_length))
        return validate_captions(self._request("CaptioningRNN.sample", args), args)

    def _forward(self, function: str, args: tuple) -> tuple:
        return self._call(function, args, call_sizes(function, args))

    # -- many calls in one round trip (finite differences) ----------------------------------

    def outputs_of_many(self, function: str, args_list: Sequence[tuple]) -> list:
        """The validated first output of ``function`` on every argument tuple, in one round trip.

        For forward functions that is h (or next_h; the LSTM step's (next_h, next_c)); for a function
        returning (loss, grads), the loss. Caches are dropped inside the worker.
        """
        cache_at = RETURNS[function].index("cache") if "cache" in RETURNS.get(function, ()) else None
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
        return tuple(self.batch(forward_then_backward(forward, args, backward, upstream, *extra)))

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
        made_by = next((calls[arg.call] for arg in args if isinstance(arg, CacheOf)), calls[k])
        return validate_returns(function, value, call_sizes(made_by.function, made_by.args), self.allow_unit_axes)

    # -- transport -----------------------------------------------------------------------------

    def send(self, message: dict, function: str, inputs: str = "") -> Answer | list[Answer]:
        """A request of another API's view (``column_major``, ``torch_contract``), its faults charged as ours are."""
        return self._send(message, function, inputs)

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
        for k, reply in enumerate(answer if isinstance(answer, list) else [answer]):  # reached one that hung?
            self.faults.refuse_entered(calls[k].function if calls else function, reply.entered)
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


#: The methods' names, which are not those of ``Submission``'s (``captioning_loss``): what a report calls their arguments.
METHOD_PARAMETERS: dict[str, list[str]] = {
    "CaptioningRNN.loss": ["model", "params", "features", "captions"],
    "CaptioningRNN.sample": ["model", "params", "features", "max_length"],
}


def parameter_names(function: str) -> list[str]:
    """The contract's names of ``function``'s arguments (docs/contract.md), from ``Submission``'s methods."""
    if function in METHOD_PARAMETERS:
        return METHOD_PARAMETERS[function]
    return list(inspect.signature(getattr(Submission, function)).parameters)[1:]  # without self


def parsed_reply(message: dict, reply: dict) -> Answer | list[Answer]:
    """The worker's ``reply`` to ``message``, checked into typed values (``checks.engine.isolation.replies``), or MalformedReply."""
    if message["op"] == "batch":
        return parse_batch(reply, [len(call["args"]) if call["return_arguments"] else None for call in message["calls"]])
    if message["op"] == "map":
        return parse_map(reply, len(message["args_list"]))
    return parse_call(reply)
