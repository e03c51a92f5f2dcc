"""hygiene: no contract function modifies its inputs, and returned shapes and dtypes are exact.

A caller reuses its arrays (dh for several backward passes, gradients after clipping), so an
in-place ``dh += …`` or ``grads[k] *= …`` silently corrupts training. Shapes must be exact: a db
of shape (1, H) where (H,) is due is wrong even though broadcasting comparisons let it pass; under
the default policy (``checks.policy``) it is charged here, once, and judged by value elsewhere.

Each check looks only at the functions the submission implements (``needs_any``): a missing
function already costs its own checks' points, so hygiene never charges for it again. A check
none of whose functions can be called scores 0 ("not implemented").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from hypothesis import example, given

from checks.engine.contract import Call, NotImplementedInSubmission, forward_then_backward, in_sequence

from checks.examples import DEGENERATE
from checks.registry import check
from checks.strategies import birnn_problems, classifier_problems, gradient_dicts, rnn_problems
from checks.verdicts import mismatch

RNN_FUNCTIONS = ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward")
OTHER_FUNCTIONS = ("clip_grad_norm", "birnn_forward", "birnn_backward", "rnn_classifier_loss")
SHAPED_FUNCTIONS = (*RNN_FUNCTIONS, "rnn_backward_truncated", "birnn_forward", "birnn_backward")
STEP_ARGUMENTS = ("x", "prev_h", "Wx", "Wh", "b")
SEQUENCE_ARGUMENTS = ("x", "h0", "Wx", "Wh", "b")
BIRNN_ARGUMENTS = ("x", "h0_f", "Wx_f", "Wh_f", "b_f", "h0_b", "Wx_b", "Wh_b", "b_b")


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
    """Run every probe whose functions the submission implements, all in one round trip, and judge them in
    order; if none can run, it implements nothing this check could look at.

    A function that hung or crashed twice in an earlier check (``sub.callable_functions``) is left
    out like a missing one: its own checks already lost those points. If that leaves nothing, the
    first probe runs, and its call of that function fails at once, saying why.
    """
    implemented = [probe for probe in probes if probe.functions <= sub.functions]
    if not implemented:
        needed = sorted(set().union(*(probe.functions for probe in probes)) - sub.functions)
        raise NotImplementedInSubmission(f"not implemented: {', '.join(needed)}")
    runnable = [probe for probe in probes if probe.functions <= sub.callable_functions] or implemented[:1]
    with sub.batched(in_sequence(*(probe.calls for probe in runnable))) as results:
        for probe in runnable:
            taken = results.take(len(probe.calls))
            if probe.verdict is not None:
                probe.verdict(taken)


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


@check(group="hygiene", points=2, needs=RNN_FUNCTIONS, needs_any=True)
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


@check(group="hygiene", points=2, needs=OTHER_FUNCTIONS, needs_any=True)
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


@check(group="hygiene", points=2, needs=SHAPED_FUNCTIONS, needs_any=True)
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
