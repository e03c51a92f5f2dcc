"""torch_functions: CS231n 2025's ``cs231n/rnn_layers_pytorch.py``, forward only, the backward by autograd.

The student writes, with tensors (row-vector layout, shapes as in the NumPy file):

    rnn_step_forward(x, prev_h, Wx, Wh, b) -> next_h             next_h = tanh(x·Wx + prev_h·Wh + b)
    rnn_forward(x, h0, Wx, Wh, b) -> h                            the step over t = 1 … T from h0
    word_embedding_forward(x, W) -> out                           out[n, t] = W[x[n, t]]
    lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b) -> (next_h, next_c)   gate blocks i, f, o, g
    lstm_forward(x, h0, Wx, Wh, b) -> h                           the step from h0 and c0 = 0

They run in the worker with torch (``checks.engine.isolation.torch_calls``); the grader reads numpy copies of
the outputs, their dtype, and autograd's gradients (``checks.engine.isolation.torch_contract``). The checks:

- forward values against the NumPy reference on the same float64 arrays (one tensor from rnn_step_forward,
  two from lstm_step_forward: a tuple where one is due is said so). The LSTM, which the course's notebook never
  tests, is graded all the same; an LSTM whose outputs are those of torch.nn's gate order i, f, g, o is told so;
- gradients by autograd through the student's own forward, ``backward()`` of L = Σ ⟨output, upstream⟩,
  against central differences of the same forward in float64 along a random direction (``checks.gradcheck``:
  the same tolerance, reasoned there; a torch forward in float64 rounds as a NumPy one). When they disagree,
  or autograd refuses, the message names the cause autograd leaves: an in-place write it rejects, or a graph
  cut by ``.detach()``, ``.numpy()`` or ``torch.no_grad()``;
- dtype kept: float64 in gives float64 out; a float32 result names a buffer made without a dtype.

Autograd differentiates exactly what the forward computed. So where a float64 forward's gradients disagree
with its own finite differences, some value entered the computation outside autograd's graph: that is what
the message says, never a guess at which line.

Groups (``checks.registry.API_GROUPS``) and points (100, ``checks/assignments/cs231n-pytorch.toml``): torch_rnn 45,
torch_embedding 14, torch_lstm 41; forwards 40, gradients 52, dtype 8.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from hypothesis import example, given

from checks.embedding_problems import embedding_problems
from checks.engine.isolation.contract import NotImplementedInSubmission, SubmissionRaised
from checks.engine.isolation.torch_contract import NotATensor, TensorOut, TorchView
from checks.examples import DEGENERATE
from checks.gradcheck import assert_gradients_match_finite_differences, probe_seeds, weighted_sums
from checks.lstm_problems import DEGENERATE_LSTM, lstm_problems
from checks.registry import check
from checks.strategies import rnn_problems
from checks.forward import LECTURE_SEQUENCE, LECTURE_STEP, lecture_step
from checks.torch_problems import (TorchCase, embedding_case, lecture_lstm, lecture_lstm_step, lstm_case,
                                   lstm_step_case, rnn_case, rnn_step_case, torch_gate_order)
from checks.verdicts import PartialFailure, assert_all_close, mismatch

RNN, EMBEDDING, LSTM = "torch_rnn", "torch_embedding", "torch_lstm"  # checks.registry.API_GROUPS

IN_PLACE = ("autograd refused to compute the gradients: an in-place write (h[:, t] = …, +=, *=, an out= or a "
            "method ending in _) changed a tensor autograd had saved for the backward. Keep each step's result "
            "in a Python list and torch.stack it, and use out-of-place operations (a = a + b).")
LECTURE_LSTM = ("the lecture's LSTM: next_c = f ⊙ prev_c + i ⊙ g, next_h = o ⊙ tanh(next_c), gate blocks i, f, o, g "
                "of a = x·Wx + prev_h·Wh + b")
CUT = ("the graph from your inputs to your output is cut: .detach(), a .numpy() round trip, torch.tensor(...) "
       "of a computed tensor, or a torch.no_grad() block made a value autograd cannot differentiate through.")
CUT_SOMEWHERE = ("Autograd's gradients disagree with finite differences of your own forward. Autograd "
                 "differentiates exactly what your forward computed, so a value entered it outside autograd's "
                 "graph: look for .detach(), .data, a .numpy() round trip, torch.tensor(...) of a computed tensor, "
                 "or torch.no_grad(){where}.")
GATE_ORDER = ("Your outputs are those of an LSTM that reads the blocks of Wx, Wh and b in torch.nn's order "
              "i, f, g, o; CS231n's order is i, f, o, g (o = σ(a[:, 2H:3H]), g = tanh(a[:, 3H:])).")
FLOAT32 = ("{name} is {dtype}, from float64 inputs: the likely cause is a buffer made without a dtype "
           "(torch.zeros(N, T, H) is float32): give it the inputs' dtype, torch.zeros(N, T, H, dtype=x.dtype), "
           "or torch.zeros_like(...)")


# -- the student's outputs -----------------------------------------------------------------------------


def tensors(outputs: tuple, case: TorchCase) -> tuple[TensorOut, ...]:
    """The outputs, each a tensor of its exact shape, as many as the function returns; else a plain failure."""
    fn, expected = case.function, case.outputs
    if len(outputs) != len(expected):
        wanted = " and ".join(name for name, _ in expected)
        raise AssertionError(f"{fn} returned {len(outputs)} values; CS231n's PyTorch {fn} returns {wanted}"
                             + (" alone (a tensor, not a tuple)" if len(expected) == 1 else ""))
    for output, (name, shape) in zip(outputs, expected):
        if isinstance(output, NotATensor):
            raise AssertionError(f"{fn} returned a {output.type_name} as {name}, where a torch tensor is due")
        if output.array.shape != tuple(shape):
            raise AssertionError(f"{name} from {fn} has shape {output.array.shape}, expected {tuple(shape)}")
    return outputs


def values(outputs: tuple, case: TorchCase) -> np.ndarray | tuple[np.ndarray, ...]:
    """The outputs' values as float64 arrays: one alone, several as a tuple (``checks.gradcheck``'s objective)."""
    arrays = tuple(np.asarray(out.array, dtype=np.float64) for out in tensors(outputs, case))
    return arrays[0] if len(arrays) == 1 else arrays


# -- 1. forward values against the reference -------------------------------------------------------------


def assert_forward_matches(sub, case: TorchCase, expected: dict[str, np.ndarray], against: str,
                           cause: Callable[[], str] | None = None) -> None:
    """The function's outputs on ``case`` equal ``expected`` (by output name), compared as values. ``cause``, called
    on failure only, may name what the wrong values are (a sentence, or ""): it opens the message."""
    outputs = tensors(TorchView(sub).call(case.function, list(case.arguments.values())).outputs, case)
    got = {name: np.asarray(out.array, dtype=np.float64) for (name, _), out in zip(case.outputs, outputs)}
    try:
        assert_all_close(got, expected, against)
    except PartialFailure as failure:  # the cause first: a short report shows a message's opening lines
        named = cause() if cause else ""
        if not named:
            raise
        raise PartialFailure(f"{named}\n{failure}", failure.credit, failure.discrepancies) from None


@check(group=RNN, points=8, needs=("rnn_step_forward",), reference=True, examples=0.4)
@given(p=rnn_problems(max_t=1))
@example(p=DEGENERATE)
def torch_rnn_step_forward_matches_reference(sub, p):
    """rnn_step_forward returns next_h = tanh(x·Wx + prev_h·Wh + b), one tensor."""
    import reference

    case = rnn_step_case(p)
    expected = reference.rnn_step_forward(*case.arguments.values())[0]
    assert_forward_matches(sub, case, {"next_h": expected}, "tanh(x·Wx + prev_h·Wh + b) from the reference")


@check(group=RNN, points=10, needs=("rnn_forward",), reference=True, examples=0.4)
@given(p=rnn_problems())
@example(p=DEGENERATE)
def torch_rnn_forward_matches_reference(sub, p):
    """rnn_forward returns h_1..h_T, each h_t = tanh(x_t·Wx + h_{t−1}·Wh + b), from h0."""
    import reference

    case = rnn_case(p)
    assert_forward_matches(sub, case, {"h": reference.rnn_forward(*case.arguments.values())[0]},
                           "the reference forward pass")


@check(group=EMBEDDING, points=6, needs=("word_embedding_forward",), reference=True, examples=0.4)
@given(p=embedding_problems())
def torch_word_embedding_forward_matches_reference(sub, p):
    """word_embedding_forward returns out[n, t] = W[x[n, t]]."""
    import reference

    case = embedding_case(p)
    assert_forward_matches(sub, case, {"out": reference.word_embedding_forward(p.x, p.W)[0]},
                           "W[x] from the reference")


def gate_order_note(sub, case: TorchCase) -> str:
    """A true sentence if the outputs are those of an LSTM reading the blocks as torch.nn does (i, f, g, o): the
    lecture's LSTM on parameters whose blocks o and g are swapped computes exactly that. Else ""."""
    args = dict(case.arguments)
    for name in ("Wx", "Wh", "b"):
        args[name] = torch_gate_order(args[name])
    swapped = lecture_lstm_step(*args.values()) if case.function == "lstm_step_forward" else (lecture_lstm(*args.values()),)
    outputs = TorchView(sub).call(case.function, list(case.arguments.values())).outputs
    got = [np.asarray(out.array, dtype=np.float64) for out in outputs if isinstance(out, TensorOut)]
    if len(got) == len(swapped) and all(mismatch(g, s) is None for g, s in zip(got, swapped)):
        return GATE_ORDER
    return ""


@check(group=LSTM, points=8, needs=("lstm_step_forward",), reference=True, examples=0.4)
@given(p=lstm_problems(max_t=1))
@example(p=DEGENERATE_LSTM)
def torch_lstm_step_forward_matches_reference(sub, p):
    """lstm_step_forward returns (next_h, next_c) of the LSTM with gate blocks i, f, o, g."""
    import reference

    case = lstm_step_case(p)
    next_h, next_c, _ = reference.lstm_step_forward(*case.arguments.values())
    assert_forward_matches(sub, case, {"next_h": next_h, "next_c": next_c}, "the reference LSTM step",
                           cause=lambda: gate_order_note(sub, case))


@check(group=LSTM, points=8, needs=("lstm_forward",), reference=True, examples=0.4)
@given(p=lstm_problems())
@example(p=DEGENERATE_LSTM)
def torch_lstm_forward_matches_reference(sub, p):
    """lstm_forward returns h_1..h_T of the LSTM from h0 and c0 = 0."""
    import reference

    case = lstm_case(p)
    assert_forward_matches(sub, case, {"h": reference.lstm_forward(*case.arguments.values())[0]},
                           "the reference LSTM", cause=lambda: gate_order_note(sub, case))


# -- the self-check's stand-ins: the lecture's definitions, no solution (as checks/forward.py's) ------------------


@check(group=RNN, points=8, needs=("rnn_step_forward",), examples=0.4,
       stands_in_for="torch_rnn_step_forward_matches_reference")
@given(p=rnn_problems(max_t=1))
@example(p=DEGENERATE)
def torch_rnn_step_forward_follows_the_definition(sub, p):
    """rnn_step_forward returns next_h = tanh(x·Wx + prev_h·Wh + b), one tensor."""
    case = rnn_step_case(p)
    assert_forward_matches(sub, case, {"next_h": lecture_step(*case.arguments.values())}, LECTURE_STEP)


@check(group=RNN, points=10, needs=("rnn_forward",), examples=0.4,
       stands_in_for="torch_rnn_forward_matches_reference")
@given(p=rnn_problems())
@example(p=DEGENERATE)
def torch_rnn_forward_follows_the_definition(sub, p):
    """rnn_forward returns h_1..h_T, each the lecture's step from the h before it (h0 first)."""
    case = rnn_case(p)
    h, = tensors(TorchView(sub).call(case.function, list(case.arguments.values())).outputs, case)
    previous = np.concatenate([p.h0[:, None], np.asarray(h.array, dtype=np.float64)[:, :-1]], axis=1)
    expected = np.stack([lecture_step(p.x[:, t], previous[:, t], p.Wx, p.Wh, p.b) for t in range(p.x.shape[1])], 1)
    assert_all_close({"h": np.asarray(h.array, dtype=np.float64)}, {"h": expected}, LECTURE_SEQUENCE)


@check(group=EMBEDDING, points=6, needs=("word_embedding_forward",), examples=0.4,
       stands_in_for="torch_word_embedding_forward_matches_reference")
@given(p=embedding_problems())
def torch_word_embedding_forward_follows_the_definition(sub, p):
    """word_embedding_forward returns out[n, t] = W[x[n, t]]."""
    assert_forward_matches(sub, embedding_case(p), {"out": p.W[p.x]}, "the definition out[n, t] = W[x[n, t]]")


@check(group=LSTM, points=8, needs=("lstm_step_forward",), examples=0.4,
       stands_in_for="torch_lstm_step_forward_matches_reference")
@given(p=lstm_problems(max_t=1))
@example(p=DEGENERATE_LSTM)
def torch_lstm_step_forward_follows_the_definition(sub, p):
    """lstm_step_forward returns (next_h, next_c) of the lecture's LSTM, gate blocks i, f, o, g."""
    case = lstm_step_case(p)
    next_h, next_c = lecture_lstm_step(*case.arguments.values())
    assert_forward_matches(sub, case, {"next_h": next_h, "next_c": next_c}, LECTURE_LSTM,
                           cause=lambda: gate_order_note(sub, case))


@check(group=LSTM, points=8, needs=("lstm_forward",), examples=0.4, stands_in_for="torch_lstm_forward_matches_reference")
@given(p=lstm_problems())
@example(p=DEGENERATE_LSTM)
def torch_lstm_forward_follows_the_definition(sub, p):
    """lstm_forward returns h_1..h_T of the lecture's LSTM from h0 and c0 = 0."""
    case = lstm_case(p)
    assert_forward_matches(sub, case, {"h": lecture_lstm(*case.arguments.values())}, LECTURE_LSTM + ", from c0 = 0",
                           cause=lambda: gate_order_note(sub, case))


# -- 2. autograd's gradients against finite differences of the same forward ----------------------------------


def assert_autograd_matches_finite_differences(sub, case: TorchCase, seed: int, between_steps: bool = False) -> None:
    """Autograd's gradients of L = Σ_k ⟨output_k, upstream_k⟩ through the student's forward equal central
    differences of the same forward in float64, along a random direction (``checks.gradcheck``).

    Before any number: the outputs must be tensors in autograd's graph, float64, and autograd must not refuse."""
    view = TorchView(sub)
    names = list(case.arguments)
    moved = [name for name in names if name not in case.constants]
    result = view.call(case.function, list(case.arguments.values()), [names.index(n) for n in moved],
                       case.upstream)
    outputs = tensors(result.outputs, case)
    for (name, _), out in zip(case.outputs, outputs):
        if out.dtype != "float64":
            raise AssertionError(f"{case.function}'s gradients cannot be checked in float64: "
                                 + FLOAT32.format(name=name, dtype=out.dtype))
        if not out.has_grad_fn:
            raise AssertionError(f"{name} from {case.function} has no grad_fn, so autograd cannot give any gradient: "
                                 + CUT)
    if result.backward_error is not None:
        raise AssertionError(backward_refused(case.function, result.backward_error))
    grads = dict(zip(moved, result.grads))
    unreached = [name for name, grad in grads.items() if grad is None]
    gradients = {name: np.zeros_like(case.arguments[name]) if grad is None else grad for name, grad in grads.items()}

    def evaluate_many(calls: list[dict]) -> list:
        return [values(outputs, case) for outputs in view.call_many(case.function, [list(c.values()) for c in calls])]

    try:
        assert_gradients_match_finite_differences(
            evaluate_many, case.arguments, gradients, lambda output: weighted_sums(output, case.upstream), seed,
            gradient_names={name: f"{name}.grad" for name in moved})
    except PartialFailure as failure:  # the cause first: a short report shows a message's opening lines
        where = (f", in {case.function} or in the step it calls (prev_h = next_h.detach() between steps, say)"
                 if between_steps else "")
        unreached_text = f" No gradient reached {', '.join(unreached)} (autograd gave None)." if unreached else ""
        raise PartialFailure(f"{CUT_SOMEWHERE.format(where=where)}{unreached_text}\n{failure}", failure.credit,
                             failure.discrepancies) from None


def backward_refused(function: str, error: str) -> str:
    """Autograd's refusal, in plain words naming the cause, with autograd's own message last."""
    if "modified by an inplace operation" in error:
        cause = IN_PLACE
    elif "does not require grad" in error or "does not have a grad_fn" in error:
        cause = CUT
    else:
        cause = "autograd could not compute the gradients of your forward."
    said = error.splitlines()[0].split(" Hint:")[0][:300]  # torch's hint is about its anomaly mode, not this code
    return f"backward() through {function}: {cause}\n  autograd said: {said}"


@check(group=RNN, points=10, needs=("rnn_step_forward",), examples=0.4)
@given(p=rnn_problems(max_t=1), seed=probe_seeds())
@example(p=DEGENERATE, seed=0)
def torch_rnn_step_gradients_match_finite_differences(sub, p, seed):
    """Autograd's gradients through rnn_step_forward equal finite differences of it (x, prev_h, Wx, Wh, b)."""
    assert_autograd_matches_finite_differences(sub, rnn_step_case(p), seed)


@check(group=RNN, points=14, needs=("rnn_forward",), examples=0.4)
@given(p=rnn_problems(min_t=2), seed=probe_seeds())
def torch_rnn_forward_gradients_match_finite_differences(sub, p, seed):
    """Autograd's gradients through rnn_forward equal finite differences of it, through every step."""
    assert_autograd_matches_finite_differences(sub, rnn_case(p), seed, between_steps=True)


@check(group=EMBEDDING, points=6, needs=("word_embedding_forward",), examples=0.4)
@given(p=embedding_problems(), seed=probe_seeds())
def torch_word_embedding_gradient_matches_finite_differences(sub, p, seed):
    """Autograd's gradient of W through word_embedding_forward equals finite differences (repeated words add up)."""
    assert_autograd_matches_finite_differences(sub, embedding_case(p), seed)


@check(group=LSTM, points=10, needs=("lstm_step_forward",), examples=0.4)
@given(p=lstm_problems(max_t=1), seed=probe_seeds())
@example(p=DEGENERATE_LSTM, seed=0)
def torch_lstm_step_gradients_match_finite_differences(sub, p, seed):
    """Autograd's gradients through lstm_step_forward (L = ⟨next_h, dnext_h⟩ + ⟨next_c, dnext_c⟩) equal finite
    differences of it."""
    assert_autograd_matches_finite_differences(sub, lstm_step_case(p), seed)


@check(group=LSTM, points=12, needs=("lstm_forward",), examples=0.4)
@given(p=lstm_problems(min_t=2), seed=probe_seeds())
def torch_lstm_forward_gradients_match_finite_differences(sub, p, seed):
    """Autograd's gradients through lstm_forward equal finite differences of it, through every step."""
    assert_autograd_matches_finite_differences(sub, lstm_case(p), seed, between_steps=True)


# -- 3. float64 in, float64 out --------------------------------------------------------------------------------


def assert_float64_kept(sub, cases: list[TorchCase]) -> None:
    """Each implemented function of ``cases`` returns float64 tensors from float64 inputs; partial credit by function."""
    failures, judged = [], 0
    for case in cases:
        if case.function not in sub.callable_functions - sub.stubs_met:
            continue
        try:
            outputs = tensors(TorchView(sub).call(case.function, list(case.arguments.values())).outputs, case)
        except NotImplementedInSubmission:
            continue  # a stub: the runner takes its share off (sub.stubs_met)
        except (SubmissionRaised, AssertionError) as failure:  # nothing to judge the dtype of: this part fails
            judged += 1
            failures.append(f"{case.function}: {failure}")
            continue
        judged += 1
        wrong = [FLOAT32.format(name=name, dtype=out.dtype)
                 for (name, _), out in zip(case.outputs, outputs) if out.dtype != "float64"]
        if wrong:
            failures.append(f"{case.function}: {wrong[0]}")
    if failures:
        raise PartialFailure("\n".join(failures), credit=(judged - len(failures)) / judged)


@check(group=RNN, points=3, needs=("rnn_step_forward", "rnn_forward"), needs_any=True, examples=0.2)
@given(p=rnn_problems(min_t=2))
def torch_rnn_functions_keep_float64(sub, p):
    """rnn_step_forward and rnn_forward (those you implemented) return float64 from float64 inputs."""
    assert_float64_kept(sub, [rnn_step_case(p), rnn_case(p)])


@check(group=EMBEDDING, points=2, needs=("word_embedding_forward",), examples=0.2)
@given(p=embedding_problems())
def torch_word_embedding_keeps_float64(sub, p):
    """word_embedding_forward returns float64 from a float64 W."""
    assert_float64_kept(sub, [embedding_case(p)])


@check(group=LSTM, points=3, needs=("lstm_step_forward", "lstm_forward"), needs_any=True, examples=0.2)
@given(p=lstm_problems(min_t=2))
def torch_lstm_functions_keep_float64(sub, p):
    """lstm_step_forward and lstm_forward (those you implemented) return float64 from float64 inputs."""
    assert_float64_kept(sub, [lstm_step_case(p), lstm_case(p)])
