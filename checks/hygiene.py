"""hygiene: no contract function modifies its inputs, and returned shapes and dtypes are exact.

A caller reuses its arrays (dh for several backward passes, gradients after clipping), so an
in-place ``dh += …`` or ``grads[k] *= …`` silently corrupts training. Shapes must be exact: a db
of shape (1, H) where (H,) is due is wrong even though broadcasting comparisons let it pass; under
the default policy (``checks.policy``) it is charged here, once, and judged by value elsewhere.

How a hygiene check is scored (partial credit): each check judges several functions, each on its
own. Its points are split equally among its parts (``*_PARTS`` below, registered as the check's
``parts``); a part is one look at one function, and names the functions that look calls: the
backward's look needs its forward, which makes the cache it is given, and judges only the
backward. A part fails on its own: another function's mistake costs nothing here. On a failing
example the check earns the share of the parts that pass (the lowest over every failing example
tried, as for any partial credit; none under ``partial_credit = "all_or_nothing"``). A part with a
function that is missing, or that raises NotImplementedError, loses its share ("not implemented:
..."), exactly as a deleted function would: a stub and a deleted function score the same. So does
a part with a function that hung or crashed twice in earlier checks. A check none of whose parts
can be judged scores 0. An assignment that asks for only some functions (``--assignment cs231n``)
splits the points among the parts it asks for (``registry.scoped_to_assignment``).

For example, a file with only the forward passes implemented earns rnn_step_forward's and
rnn_forward's parts of rnn_functions_leave_inputs_unchanged: 2 of its 4 parts, 1 of its 2 points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from hypothesis import example, given

from checks.engine.isolation.batch_calls import Call, forward_then_backward, in_sequence
from checks.engine.isolation.contract import BatchResults, NotImplementedInSubmission, SubmissionRaised

from checks.examples import DEGENERATE
from checks.registry import check
from checks.strategies import birnn_problems, classifier_problems, gradient_dicts, rnn_problems
from checks.verdicts import PartialFailure, mismatch

RNN_FUNCTIONS = ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward")
OTHER_FUNCTIONS = ("clip_grad_norm", "birnn_forward", "birnn_backward", "rnn_classifier_loss")
SHAPED_FUNCTIONS = (*RNN_FUNCTIONS, "rnn_backward_truncated", "birnn_forward", "birnn_backward")
STEP_ARGUMENTS = ("x", "prev_h", "Wx", "Wh", "b")
SEQUENCE_ARGUMENTS = ("x", "h0", "Wx", "Wh", "b")
BIRNN_ARGUMENTS = ("x", "h0_f", "Wx_f", "Wh_f", "b_f", "h0_b", "Wx_b", "Wh_b", "b_b")

# Each check's parts, in the order of its probes: the functions each part calls, the one it judges last.
RNN_PARTS = (("rnn_step_forward",), ("rnn_step_forward", "rnn_step_backward"),
             ("rnn_forward",), ("rnn_forward", "rnn_backward"))
OTHER_PARTS = (("clip_grad_norm",), ("birnn_forward",), ("birnn_forward", "birnn_backward"),
               ("rnn_classifier_loss",))
SHAPED_PARTS = (("rnn_step_forward",), ("rnn_step_forward", "rnn_step_backward"),
                ("rnn_forward",), ("rnn_forward", "rnn_backward"), ("rnn_forward", "rnn_backward_truncated"),
                ("birnn_forward",), ("birnn_forward", "birnn_backward"))


@dataclass(frozen=True)
class Probe:
    """One look of a hygiene check: its ``calls`` (``CacheOf(k)``: the cache of the probe's own call k),
    and the ``verdict`` on their results, which raises AssertionError on a violation (none: the results'
    own validation is the verdict)."""

    calls: tuple[Call, ...]
    verdict: Callable[[list], None] | None = None

    @property
    def functions(self) -> set[str]:
        return {call.function for call in self.calls}


def unchanged(function: str, names: tuple[str, ...], args: tuple) -> Probe:
    """Probe: ``function`` leaves its arguments ``args`` (named ``names``) as they were."""
    return Probe((Call(function, args, arguments_after=True),),
                 lambda results: assert_unchanged(function, names, args, results[0]))


def unchanged_by_backward(forward: str, forward_args: tuple, backward: str, upstream: np.ndarray, name: str) -> Probe:
    """Probe: ``backward``, given ``forward``'s cache, leaves its upstream gradient ``name`` as it was."""
    forward_call, backward_call = forward_then_backward(forward, forward_args, backward, upstream)
    return Probe((forward_call, backward_call._replace(arguments_after=True)),
                 lambda results: assert_unchanged(backward, (name,), (upstream,), results[1]))


def examine(sub, probes: Sequence[Probe]) -> None:
    """Judge each probe (one part of the check) on its own, in one round trip while the worker answers every call.

    A probe runs if its functions are implemented and still called: not missing, not found raising
    NotImplementedError in this check (``sub.stubs_met``), not condemned for hanging or crashing twice
    (``sub.callable_functions``); the runner takes the other parts' shares off the points
    (``runner.judged_share``). If a probe fails, this raises PartialFailure: every failing part's message,
    and as credit the share of the parts judged that passed.
    """
    failures: list[str] = []
    passed = judged_parts = 0
    pending = list(probes)
    while pending := [probe for probe in pending if probe.functions <= usable(sub)]:
        with sub.batched(in_sequence(*(probe.calls for probe in pending))) as results:
            for index, probe in enumerate(pending):
                failure = judged(probe, results)
                passed += failure is None
                judged_parts += failure != ""
                if failure and failure not in failures:
                    failures.append(failure)
                if len(results.replies) <= results.taken:  # the worker stopped here: send the rest again
                    break
            pending = pending[index + 1:]
    if failures:
        raise PartialFailure("\n".join(failures), credit=passed / judged_parts)


def usable(sub) -> frozenset[str]:
    """The functions a probe may call: implemented, not found raising NotImplementedError, not condemned."""
    return sub.callable_functions - sub.stubs_met


def judged(probe: Probe, results: BatchResults) -> str | None:
    """Why ``probe`` fails, "" if it could not be judged (a function of it is not implemented), None if it passes.

    Only the probe's last call is judged: an earlier one only makes its cache, so a wrong value it returns
    is charged to its own part, not here again; if it raised, this part fails with it, as nothing is left
    to judge.
    """
    *helpers, _ = probe.calls
    end = results.taken + len(probe.calls)
    try:
        for _ in helpers:
            try:
                results.take(1)
            except AssertionError:  # a wrong value, returned: the cache is still this function's own
                continue
        taken = results.take(1)
        if probe.verdict is not None:
            probe.verdict([None] * len(helpers) + taken)
    except NotImplementedInSubmission:
        return ""  # sub.stubs_met now holds the function, as if it were missing
    except (AssertionError, SubmissionRaised) as failure:
        return str(failure)
    finally:
        # The next probe's results start after this one's calls, as far as the worker answered them.
        results.taken = min(end, len(results.replies))
    return None


def assert_unchanged(function: str, names: tuple[str, ...], before: tuple, after: list) -> None:
    for name, original, now in zip(names, before, after):
        if now is None:  # a cache, which the submission owns
            continue
        changed = changed_description(name, original, now)
        if changed:
            raise AssertionError(f"{function} modified its input {name}: {changed}. Work on a copy instead.")


def changed_description(name: str, original, now) -> str | None:
    """How argument ``name`` changed ("grads['W'][0, 1] changed from 1 to 0.5"), or None if it did not."""
    if isinstance(original, dict):
        if type(now) is not dict or set(now) != set(original):
            return f"the keys of {name} changed"
        return next((changed for key in original
                     if (changed := changed_description(f"{name}[{key!r}]", original[key], now[key]))), None)
    if isinstance(original, np.ndarray):
        if type(now) is not np.ndarray:
            return f"{name} was replaced"
        if now.shape != original.shape:
            return f"the shape of {name} changed from {original.shape} to {now.shape}"
        if mismatch(now, original, rtol=0.0) is None:
            return None
        change = np.abs(now.astype(float) - original.astype(float))
        worst = np.unravel_index(np.argmax(np.where(np.isnan(change), np.inf, change)), change.shape)
        where = f"[{', '.join(str(int(i)) for i in worst)}]" if worst else ""
        return f"{name}{where} changed from {float(original[worst]):.6g} to {float(now[worst]):.6g}"
    return None if now == original else f"{name} became {now!r}"


@check(group="hygiene", points=2, needs=RNN_FUNCTIONS, needs_any=True, parts=RNN_PARTS)
@given(p=rnn_problems())
@example(p=DEGENERATE)
def rnn_functions_leave_inputs_unchanged(sub, p):
    """rnn_step_forward/backward and rnn_forward/backward (those you implemented) never modify their arguments."""
    step_args, args = (p.x[:, 0], p.h0, p.Wx, p.Wh, p.b), (p.x, p.h0, p.Wx, p.Wh, p.b)
    examine(sub, [
        unchanged("rnn_step_forward", STEP_ARGUMENTS, step_args),
        unchanged_by_backward("rnn_step_forward", step_args, "rnn_step_backward", p.dh[:, 0], "dnext_h"),
        unchanged("rnn_forward", SEQUENCE_ARGUMENTS, args),
        unchanged_by_backward("rnn_forward", args, "rnn_backward", p.dh, "dh"),
    ])


@check(group="hygiene", points=2, needs=OTHER_FUNCTIONS, needs_any=True, parts=OTHER_PARTS)
@given(grads=gradient_dicts(), bp=birnn_problems(), cp=classifier_problems())
def other_functions_leave_inputs_unchanged(sub, grads, bp, cp):
    """clip_grad_norm, birnn_forward/backward and rnn_classifier_loss (those you implemented) never modify their
    arguments."""
    examine(sub, [
        unchanged("clip_grad_norm", ("grads",), (grads, 1e-3)),
        unchanged("birnn_forward", BIRNN_ARGUMENTS, bp[:9]),
        unchanged_by_backward("birnn_forward", bp[:9], "birnn_backward", bp.dh, "dh"),
        unchanged("rnn_classifier_loss", cp._fields, tuple(cp)),
    ])


@check(group="hygiene", points=2, needs=SHAPED_FUNCTIONS, needs_any=True, parts=SHAPED_PARTS)
@given(p=rnn_problems(max_n=1, max_t=1, max_d=1, max_h=1))
@example(p=DEGENERATE)
def shapes_and_dtypes_are_exact_at_size_one(sub, p):
    """At N = T = D = H = 1 every output still has its exact shape and dtype (db is (H,), not (1, H))."""
    args = (p.x, p.h0, p.Wx, p.Wh, p.b)
    step_args = (p.x[:, 0], p.h0, p.Wx, p.Wh, p.b)
    birnn_args = (*args, *args[1:])  # both directions with the same parameters: only shapes matter here
    birnn_dh = np.concatenate([p.dh, p.dh], axis=2)

    def returns(function: str, inputs: tuple, *backward: Any) -> Probe:
        """``function(*inputs)``, then the backward (name, upstream, *extra) if given: judged by validation alone."""
        calls = forward_then_backward(function, inputs, *backward) if backward else [Call(function, inputs)]
        return Probe(tuple(calls))

    # Validated on return, with exact shapes whatever the policy: this check is where a shape is charged.
    with sub.exact_shapes():
        examine(sub, [
            returns("rnn_step_forward", step_args),
            returns("rnn_step_forward", step_args, "rnn_step_backward", p.dh[:, 0]),
            returns("rnn_forward", args),
            returns("rnn_forward", args, "rnn_backward", p.dh),
            returns("rnn_forward", args, "rnn_backward_truncated", p.dh, 1),
            returns("birnn_forward", birnn_args),
            returns("birnn_forward", birnn_args, "birnn_backward", birnn_dh),
        ])
