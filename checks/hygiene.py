"""hygiene: no contract function modifies its inputs, and returned shapes and dtypes are exact.

A caller reuses its arrays (dh for several backward passes, gradients after clipping), so an
in-place ``dh += …`` or ``grads[k] *= …`` silently corrupts training. Shapes must be exact: a db
of shape (1, H) where (H,) is due is wrong even though broadcasting comparisons let it pass.
"""

from __future__ import annotations

import numpy as np
from hypothesis import example, given

from checks.examples import DEGENERATE
from checks.registry import check
from checks.strategies import birnn_problems, classifier_problems, gradient_dicts, rnn_problems
from checks.verdicts import mismatch

RNN_FUNCTIONS = ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward")


def assert_unchanged(function: str, names: tuple[str, ...], before: tuple, after: list) -> None:
    for name, original, now in zip(names, before, after):
        if now is None:  # a cache, which the submission owns
            continue
        changed = changed_description(original, now)
        if changed:
            raise AssertionError(f"{function} modified its input {name}: {changed}. Work on a copy instead.")


def changed_description(original, now) -> str | None:
    if isinstance(original, dict):
        if type(now) is not dict or set(now) != set(original):
            return "the dict's keys changed"
        return next((f"[{key!r}] {changed}" for key in original
                     if (changed := changed_description(original[key], now[key]))), None)
    if isinstance(original, np.ndarray):
        if type(now) is not np.ndarray:
            return "it was replaced"
        return "its values " + problem if (problem := mismatch(now, original, rtol=0.0)) else None
    return None if now == original else f"it became {now!r}"


@check(group="hygiene", points=2, needs=RNN_FUNCTIONS)
@given(p=rnn_problems())
@example(p=DEGENERATE)
def rnn_functions_leave_inputs_unchanged(sub, p):
    """rnn_step_forward/backward and rnn_forward/backward never modify their arguments."""
    step_args = (p.x[:, 0], p.h0, p.Wx, p.Wh, p.b)
    assert_unchanged("rnn_step_forward", ("x", "prev_h", "Wx", "Wh", "b"), step_args,
                     sub.arguments_after("rnn_step_forward", step_args))
    _, cache = sub.rnn_step_forward(*step_args)
    assert_unchanged("rnn_step_backward", ("dnext_h",), (p.dh[:, 0],),
                     sub.arguments_after("rnn_step_backward", (p.dh[:, 0], cache)))
    args = (p.x, p.h0, p.Wx, p.Wh, p.b)
    assert_unchanged("rnn_forward", ("x", "h0", "Wx", "Wh", "b"), args, sub.arguments_after("rnn_forward", args))
    _, cache = sub.rnn_forward(*args)
    assert_unchanged("rnn_backward", ("dh",), (p.dh,), sub.arguments_after("rnn_backward", (p.dh, cache)))


@check(group="hygiene", points=2, needs=("clip_grad_norm", "birnn_forward", "birnn_backward", "rnn_classifier_loss"))
@given(grads=gradient_dicts(), bp=birnn_problems(), cp=classifier_problems())
def other_functions_leave_inputs_unchanged(sub, grads, bp, cp):
    """clip_grad_norm, birnn_forward/backward and rnn_classifier_loss never modify their arguments."""
    assert_unchanged("clip_grad_norm", ("grads",), (grads,),
                     sub.arguments_after("clip_grad_norm", (grads, 1e-3)))
    names = ("x", "h0_f", "Wx_f", "Wh_f", "b_f", "h0_b", "Wx_b", "Wh_b", "b_b")
    assert_unchanged("birnn_forward", names, bp[:9], sub.arguments_after("birnn_forward", bp[:9]))
    _, cache = sub.birnn_forward(*bp[:9])
    assert_unchanged("birnn_backward", ("dh",), (bp.dh,), sub.arguments_after("birnn_backward", (bp.dh, cache)))
    assert_unchanged("rnn_classifier_loss", cp._fields, tuple(cp), sub.arguments_after("rnn_classifier_loss", tuple(cp)))


@check(group="hygiene", points=2, needs=RNN_FUNCTIONS)
@given(p=rnn_problems(max_n=1, max_t=1, max_d=1, max_h=1))
@example(p=DEGENERATE)
def shapes_and_dtypes_are_exact_at_size_one(sub, p):
    """At N = T = D = H = 1 every output still has its exact shape and dtype (db is (H,), not (1, H))."""
    next_h, cache = sub.rnn_step_forward(p.x[:, 0], p.h0, p.Wx, p.Wh, p.b)  # validated on return
    sub.rnn_step_backward(p.dh[:, 0], cache)
    h, cache = sub.rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    sub.rnn_backward(p.dh, cache)
