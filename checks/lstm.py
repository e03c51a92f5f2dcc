"""lstm: the LSTM step and sequence (CS231n's gates i, f, o, g), forward and backward.

The lecture's LSTM step, row-vector convention, shapes x (N, D), prev_h and prev_c (N, H),
Wx (D, 4H), Wh (H, 4H), b (4H,), with the (N, 4H) pre-activation split into blocks i, f, o, g:

    a = x·Wx + prev_h·Wh + b        i = σ(a_i)   f = σ(a_f)   o = σ(a_o)   g = tanh(a_g)
    next_c = f ⊙ prev_c + i ⊙ g     next_h = o ⊙ tanh(next_c)

and its backward, with σ′ = σ(1 − σ) and tanh′ = 1 − tanh² written with the gate values (the gated
counterpart of the vanilla RNN's tanh′ = 1 − next_h²):

    dc   = dnext_c + dnext_h ⊙ o ⊙ (1 − tanh²(next_c))        dprev_c = dc ⊙ f
    da_i = dc ⊙ g ⊙ i(1 − i)      da_f = dc ⊙ prev_c ⊙ f(1 − f)
    da_o = dnext_h ⊙ tanh(next_c) ⊙ o(1 − o)      da_g = dc ⊙ i ⊙ (1 − g²)
    dx = da·Wxᵀ   dprev_h = da·Whᵀ   dWx = xᵀ·da   dWh = prev_hᵀ·da   db = Σ_n da

lstm_forward runs the step over x (N, T, D) from h0 and c0 = 0 and returns h (N, T, H); lstm_backward
(dh, cache) returns (dx, dh0, dWx, dWh, db), with no dc0.

The checks, and their points (24):

- finite differences of your own forward against your backward: the step (3), the sequence (4);
- the step's backward obeys the equations above, on your own next_c (4); its message names the gate
  block of db that is wrong;
- what gating is for: with the forget gate open and the input gate shut the step keeps its cell (1);
  a cell written once and held carries the last step's gradient back to the first undiminished (2);
- lstm_forward is your own lstm_step_forward composed over time from c0 = 0 (2);
- agreement with the reference: step forward (1), step backward (1), sequence forward (1) and
  backward (2);
- hygiene: no input modified (1), lstm_step_backward leaves dnext_h and dnext_c alone (1), exact
  shapes and dtypes at N = T = D = H = 1 (1).

Cost: thirteen checks would draw 650 examples at the profile's 50 each. Every bug of the corpus shows on
almost every example, so the gradient and gate-equation checks keep 0.4 of them, the others 0.2 (the
size-one shapes 0.1), about 155 in all (3 100 under the thorough profile): the group grades a correct
submission in about as long as the vanilla backward group. Every passing gradient verdict is one round
trip of 3 forward evaluations (checks/gradcheck.py).
"""

from __future__ import annotations

import numpy as np
from hypothesis import example, given

from checks.engine.isolation.batch_calls import CacheOf, Call, forward_then_backward
from checks.gradcheck import assert_backprop_matches_own_forward, probe_seeds
from checks.hygiene import Probe, changed_description, examine, unchanged, unchanged_by_backward
from checks.lstm_problems import (DEGENERATE_HOLD, DEGENERATE_LSTM, DEGENERATE_MEMORY, GATE_SATURATION, LSTMProblem,
                                  gate_block, lstm_problems, memory_problems)
from checks.registry import check
from checks.verdicts import PartialFailure, assert_all_close, assert_close, how_many_wrong, mismatch, worst_entries

STEP_FUNCTIONS = ("lstm_step_forward", "lstm_step_backward")
SEQUENCE_FUNCTIONS = ("lstm_forward", "lstm_backward")
LSTM_FUNCTIONS = (*STEP_FUNCTIONS, *SEQUENCE_FUNCTIONS)
STEP_GRADIENTS = ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")
SEQUENCE_GRADIENTS = ("dx", "dh0", "dWx", "dWh", "db")
STEP_ARGUMENTS = ("x", "prev_h", "prev_c", "Wx", "Wh", "b")
SEQUENCE_ARGUMENTS = ("x", "h0", "Wx", "Wh", "b")

# The four blocks of db, as a student reads them: name, the equation of its da, and the derivative used.
GATE_BLOCKS = (
    ("input-gate block (i)", "da_i = dc ⊙ g ⊙ i(1 − i)", "σ′ = σ(1 − σ), so σ′(a_i) = i(1 − i)"),
    ("forget-gate block (f)", "da_f = dc ⊙ prev_c ⊙ f(1 − f)", "σ′ = σ(1 − σ), so σ′(a_f) = f(1 − f)"),
    ("output-gate block (o)", "da_o = dnext_h ⊙ tanh(next_c) ⊙ o(1 − o)", "σ′ = σ(1 − σ), so σ′(a_o) = o(1 − o)"),
    ("candidate block (g)", "da_g = dc ⊙ i ⊙ (1 − g²)", "tanh′ = 1 − tanh², so tanh′(a_g) = 1 − g²"),
)
DC_EQUATION = "dc = dnext_c + dnext_h ⊙ o ⊙ (1 − tanh²(next_c))"
EQUATIONS = (f"  The equations: {DC_EQUATION}; dprev_c = dc ⊙ f; da_i = dc ⊙ g ⊙ i(1 − i); "
             "da_f = dc ⊙ prev_c ⊙ f(1 − f); da_o = dnext_h ⊙ tanh(next_c) ⊙ o(1 − o); da_g = dc ⊙ i ⊙ (1 − g²); "
             "dx = da·Wxᵀ, dprev_h = da·Whᵀ, dWx = xᵀ·da, dWh = prev_hᵀ·da, db = Σ_n da (blocks i, f, o, g).")
UPSTREAM_REUSE = ("This is harmless inside your own lstm_backward loop, but any other caller that reuses dnext_c "
                  "(for example to run a second backward pass) gets a corrupted array.")


# -- the lecture's gates, recomputed here from the inputs (no solution needed) ---------------------------


def sigmoid(a: np.ndarray) -> np.ndarray:
    """σ(a) = 1 / (1 + exp(−a)), without overflow: exp is only taken of −|a|."""
    z = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + z), z / (1 + z))


def lecture_gates(x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                  b: np.ndarray) -> tuple[np.ndarray, ...]:
    """(i, f, o, g), each (N, H): the gates of x (N, D), prev_h (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,)."""
    a = x @ Wx + prev_h @ Wh + b
    H = prev_h.shape[1]
    i, f, o = (sigmoid(a[:, gate_block(k, H)]) for k in range(3))
    return i, f, o, np.tanh(a[:, gate_block(3, H)])


def lecture_step_gradients(inputs: dict, next_c: np.ndarray, dnext_h: np.ndarray,
                           dnext_c: np.ndarray) -> tuple[dict, np.ndarray]:
    """The backward equations (module docstring) on the lecture's gates and the given next_c (N, H):
    ({dx, dprev_h, dprev_c, dWx, dWh, db}, dc)."""
    x, prev_h, prev_c, Wx, Wh, b = inputs.values()
    i, f, o, g = lecture_gates(x, prev_h, Wx, Wh, b)
    tanh_c = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    da = np.concatenate([dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tanh_c * o * (1 - o),
                         dc * i * (1 - g**2)], axis=1)
    gradients = {"dx": da @ Wx.T, "dprev_h": da @ Wh.T, "dprev_c": dc * f, "dWx": x.T @ da, "dWh": prev_h.T @ da,
                 "db": da.sum(axis=0)}
    return gradients, dc


# -- 1. finite differences of your own forward ------------------------------------------------------


@check(group="lstm", points=3, needs=STEP_FUNCTIONS, examples=0.4)
@given(p=lstm_problems(max_t=1), seed=probe_seeds())
@example(p=DEGENERATE_LSTM, seed=0)
def lstm_step_backward_matches_finite_differences(sub, p: LSTMProblem, seed: int):
    """lstm_step_backward's gradients equal central differences of your own lstm_step_forward
    (L = ⟨next_h, dnext_h⟩ + ⟨next_c, dnext_c⟩)."""
    assert_backprop_matches_own_forward(sub, "lstm_step_forward", "lstm_step_backward", p.step_inputs(),
                                        p.step_upstream, seed, STEP_GRADIENTS)


@check(group="lstm", points=4, needs=SEQUENCE_FUNCTIONS, examples=0.4)
@given(p=lstm_problems(), seed=probe_seeds())
@example(p=DEGENERATE_LSTM, seed=0)
def lstm_backward_matches_finite_differences(sub, p: LSTMProblem, seed: int):
    """lstm_backward's gradients equal central differences of your own lstm_forward (L = Σ_t ⟨h_t, dh_t⟩)."""
    assert_backprop_matches_own_forward(sub, "lstm_forward", "lstm_backward", p.sequence_inputs, p.dh, seed,
                                        SEQUENCE_GRADIENTS)


# -- 2. the gate identities ---------------------------------------------------------------------------


def step_then_backward(p: LSTMProblem, t: int = 0) -> list[Call]:
    """lstm_step_forward on step t's inputs, then lstm_step_backward(dnext_h, dnext_c, its cache)."""
    return [Call("lstm_step_forward", tuple(p.step_inputs(t).values())),
            Call("lstm_step_backward", (*p.step_upstream, CacheOf(0)))]


@check(group="lstm", points=4, needs=STEP_FUNCTIONS, examples=0.4)
@given(p=lstm_problems(max_t=1))
@example(p=DEGENERATE_LSTM)
def lstm_step_backward_obeys_the_gate_equations(sub, p: LSTMProblem):
    """lstm_step_backward follows dc = dnext_c + dnext_h ⊙ o ⊙ (1 − tanh²(next_c)), dprev_c = dc ⊙ f and
    da = dc ⊙ (g ⊙ i(1 − i), prev_c ⊙ f(1 − f), …) with σ′ = σ(1 − σ), on your own next_c."""
    inputs = p.step_inputs()
    (next_h, next_c, _), gradients = sub.batch(step_then_backward(p))
    expected, dc = lecture_step_gradients(inputs, next_c, *p.step_upstream)
    actual = dict(zip(STEP_GRADIENTS, gradients))
    wrong = [name for name in STEP_GRADIENTS if mismatch(actual[name], expected[name])]
    if wrong:
        raise PartialFailure(gate_equations_message(actual, expected, dc, wrong, inputs, next_h, next_c),
                             credit=1 - len(wrong) / len(STEP_GRADIENTS),
                             discrepancies=[d for name in wrong for d in worst_entries(actual[name], expected[name],
                                                                                        name)])


def gate_equations_message(actual: dict, expected: dict, dc: np.ndarray, wrong: list[str], inputs: dict,
                           next_h: np.ndarray, next_c: np.ndarray) -> str:
    """What is wrong, gate by gate: the blocks of db that disagree (each with its da equation and the
    derivative it uses), dprev_c, the other gradients, and the equations."""
    H = next_c.shape[1]
    lines = [f"{how_many_wrong(len(wrong), len(STEP_GRADIENTS), 'gradient')}, by the LSTM's backward equations on "
             "the gates i, f, o, g recomputed from your inputs and your own next_c:"]
    wrong_blocks = []
    for k, (block, equation, derivative) in enumerate(GATE_BLOCKS):
        # Block by block only if db as a whole is wrong: each block is then judged at its own scale.
        problem = ("db" in wrong and np.shape(actual["db"]) == (4 * H,)
                   and mismatch(actual["db"][gate_block(k, H)], expected["db"][gate_block(k, H)]))
        if problem:
            wrong_blocks.append(block)
            lines.append(f"  the {block} of db, db[{k}H:{k + 1}H] = Σ_n da_{'ifog'[k]}, is wrong ({problem}): "
                         f"{equation}, where {derivative}")
    if "db" in wrong and not wrong_blocks:
        lines.append(f"  db: {mismatch(actual['db'], expected['db'])}")
    if "dprev_c" in wrong:
        lines.append(f"  dprev_c: {mismatch(actual['dprev_c'], expected['dprev_c'])}; dprev_c = dc ⊙ f: the cell's "
                     "gradient passes back through the forget gate f" + without_forget_gate(actual["dprev_c"], dc))
    if wrong_blocks == ["output-gate block (o)", "candidate block (g)"]:
        lines.append("  The output-gate and candidate blocks are both wrong: check that the blocks of a (and of "
                     "Wx, Wh, b) are taken in the order i, f, o, g.")
    if len(wrong_blocks) == 3 and "output-gate block (o)" not in wrong_blocks:
        lines.append(f"  The wrong blocks i, f, g all go through dc and the output-gate block does not: check "
                     f"{DC_EQUATION} (next_c reaches the loss through next_h too).")
    lines += [f"  {name}: {mismatch(actual[name], expected[name])}" for name in wrong if name not in ("db", "dprev_c")]
    right = [name for name in STEP_GRADIENTS if name not in wrong]
    if right:
        lines.append(f"  correct: {', '.join(right)}")
    lines.append(EQUATIONS)
    forward_note = forward_disagreement(inputs, next_h, next_c)
    if forward_note:
        lines.append(forward_note)
    return "\n".join(lines)


def without_forget_gate(dprev_c: np.ndarray, dc: np.ndarray) -> str:
    """A note if ``dprev_c`` is dc itself, the forget gate's factor f left out."""
    return "; yours equals dc, without the factor f" if mismatch(dprev_c, dc) is None else ""


def forward_disagreement(inputs: dict, next_h: np.ndarray, next_c: np.ndarray) -> str | None:
    """A note if the step's own forward is not the lecture's (then its backward cannot be either)."""
    x, prev_h, prev_c, Wx, Wh, b = inputs.values()
    i, f, o, g = lecture_gates(x, prev_h, Wx, Wh, b)
    if mismatch(next_c, f * prev_c + i * g) is None and mismatch(next_h, o * np.tanh(next_c)) is None:
        return None
    return ("  Note: your lstm_step_forward itself does not compute next_c = f ⊙ prev_c + i ⊙ g, next_h = o ⊙ "
            "tanh(next_c) with the blocks of a in the order i, f, o, g: fix the forward pass first.")


# -- 3. what gating is for ------------------------------------------------------------------------------


@check(group="lstm", points=1, needs=("lstm_step_forward",), examples=0.2)
@given(p=lstm_problems(max_t=1, gates="hold"))
@example(p=DEGENERATE_HOLD)
def lstm_step_with_open_forget_gate_keeps_the_cell(sub, p: LSTMProblem):
    """With the forget gate open (f = 1) and the input gate shut (i = 0), next_c = prev_c and
    next_h = o ⊙ tanh(prev_c)."""
    inputs = p.step_inputs()
    next_h, next_c, _ = sub.lstm_step_forward(*inputs.values())
    saturation = f"b_f = +{GATE_SATURATION:g}, b_i = −{GATE_SATURATION:g}, so f = 1 and i = 0 to float64 precision"
    # i·g < 1e-17: next_c is prev_c up to rounding, whatever the other gates are.
    assert_close(next_c, p.prev_c, "next_c", f"prev_c, kept unchanged by the gates ({saturation})", rtol=1e-12)
    _, _, o, _ = lecture_gates(*(inputs[name] for name in ("x", "prev_h", "Wx", "Wh", "b")))
    assert_close(next_h, o * np.tanh(p.prev_c), "next_h", f"o ⊙ tanh(prev_c) ({saturation})")


@check(group="lstm", points=2, needs=SEQUENCE_FUNCTIONS, examples=0.2)
@given(p=memory_problems())
@example(p=DEGENERATE_MEMORY)
def lstm_memory_carries_the_gradient_to_the_first_step(sub, p: LSTMProblem):
    """A cell written at the first step and held (f = o = 1, i = 0 after) keeps h_t = h_1, and lstm_backward
    carries the last step's gradient back to the first step undiminished.

    The threshold: the gradient reaching step 1 must equal the last step's dc_T = dh_T ⊙ (1 − h_T²),
    carried unchanged through the cell (dprev_c = dc ⊙ f with f == 1.0 exactly), to RTOL = 1e-6. Every
    term left out is below 1e-17 relative (i < e^-40 after the write, o(1 − o) = f(1 − f) = 0), so a
    correct submission passes. A vanilla RNN with the same candidate weights multiplies its gradient by
    diag(1 − h_t²)·Wh_gᵀ at each of the T − 1 >= 19 steps instead: it vanishes (tests/test_checks_lstm.py).
    """
    (h, _), (dx, dh0, *_) = sub.batch(forward_then_backward("lstm_forward", tuple(p.sequence_inputs.values()),
                                                            "lstm_backward", p.dh))
    T = p.x.shape[1]
    held = ("with the forget and output gates open and the input gate open only at the first step, h_t = h_1 at "
            "every step")
    assert_close(h, np.repeat(h[:, :1], T, axis=1), "h", f"your own h_1 ({held})")
    expected = held_memory_gradients(p, h)
    assert_all_close({"dh0": dh0, "dx": dx}, expected,
                     f"the last step's dc_T = dh_T ⊙ (1 − h_T²) carried back unchanged through the held cell over "
                     f"{T - 1} steps (dprev_c = dc ⊙ f, f = 1), into the first step's da_g = dc ⊙ (1 − g_1²): "
                     "dh0 = da_g·Wh_gᵀ and dx_1 = da_g·Wx_gᵀ, every later dx_t = 0",
                     note=lambda: vanishing_note((dh0, dx[:, 0]), (expected["dh0"], expected["dx"][:, 0]), T))


def held_memory_gradients(p: LSTMProblem, h: np.ndarray) -> dict[str, np.ndarray]:
    """{dh0 (N, H), dx (N, T, D)} of a memory problem (``memory_problems``), given its forward's h (N, T, H).

    With o = 1, h_T = tanh(c_T), so the last step's cell gradient is dc_T = dh_T ⊙ (1 − h_T²). With f = 1 it
    reaches the first step unchanged, where only the candidate is open to it (i = 1, i(1 − i) = 0, c0 = 0):
    da_g = dc_T ⊙ (1 − g_1²), g_1 recomputed from the inputs; every other block of every step's da is 0.
    """
    H = p.h0.shape[1]
    _, _, _, g_1 = lecture_gates(p.x[:, 0], p.h0, p.Wx, p.Wh, p.b)
    dc_T = p.dh[:, -1] * (1 - h[:, -1]**2)
    da_g = dc_T * (1 - g_1**2)
    dx = np.zeros_like(p.x)
    dx[:, 0] = da_g @ p.Wx[:, gate_block(3, H)].T
    return {"dh0": da_g @ p.Wh[:, gate_block(3, H)].T, "dx": dx}


def vanishing_note(first_step: tuple[np.ndarray, ...], expected: tuple[np.ndarray, ...], T: int) -> str:
    """Whether the gradient reaching the first step (dh0 and dx_1) vanished on its way back, or only changed."""
    size = float(np.sqrt(sum(np.sum(a**2) for a in first_step)))
    due = float(np.sqrt(sum(np.sum(a**2) for a in expected)))
    if due == 0:
        return ("Nothing reaches the first step from these inputs (dh_T ⊙ (1 − h_T²) ⊙ (1 − g_1²) and the weights' "
                "g blocks give 0).")
    if size < 1e-3 * due:
        return (f"The gradient reaching the first step has vanished (|(dh0, dx_1)| = {size:.3g} where {due:.3g} is "
                f"due) over {T - 1} steps: it must pass back through the cell, dc = dnext_c + …, dprev_c = dc ⊙ f.")
    return f"|(dh0, dx_1)| = {size:.3g} where {due:.3g} is due, after {T - 1} steps back through the cell."


# -- 4. composition -----------------------------------------------------------------------------------------


@check(group="lstm", points=2, needs=("lstm_step_forward", "lstm_forward"), examples=0.2)
@given(p=lstm_problems(max_t=5))
@example(p=DEGENERATE_LSTM)
def lstm_forward_is_the_step_composed_from_a_zero_cell(sub, p: LSTMProblem):
    """lstm_forward's h_t are your own lstm_step_forward applied step after step, from h0 and c0 = 0.

    The step needs the cell state, which lstm_forward does not return, and a batch passes only caches
    between calls: so one round trip per step, T in all (T <= 5).
    """
    N, T, _ = p.x.shape
    weights = (p.Wx, p.Wh, p.b)
    (h, _), (prev_h, prev_c, _) = sub.batch([("lstm_forward", tuple(p.sequence_inputs.values())),
                                             ("lstm_step_forward", (p.x[:, 0], p.h0, np.zeros_like(p.h0), *weights))])
    composed = [prev_h]
    for t in range(1, T):
        prev_h, prev_c, _ = sub.lstm_step_forward(p.x[:, t], prev_h, prev_c, *weights)
        composed.append(prev_h)
    composed = np.stack(composed, axis=1)
    first = next((t for t in range(T) if mismatch(h[:, t], composed[:, t])), None)
    assert_close(h, composed, "h", "your own lstm_step_forward composed over time from h0 and c0 = 0",
                 note=lambda: first_difference(first))


def first_difference(t: int | None) -> str:
    """Where the composition first goes wrong: at h_1 (the start, c0) or later (the states passed on)."""
    if t is None:
        return "Each h_t alone is within the tolerance, but h as a whole is not."
    if t == 0:
        return ("Already h_1 is wrong: the first step must be lstm_step_forward(x_1, h0, c0) with "
                "c0 = np.zeros((N, H)), not h0 or anything else.")
    return (f"h_1 … h_{t} are correct and h_{t + 1} is the first wrong one: pass each step's next_h and next_c "
            "to the next.")


# -- 5. the reference ------------------------------------------------------------------------------------------


@check(group="lstm", points=1, needs=("lstm_step_forward",), reference=True, examples=0.2)
@given(p=lstm_problems(max_t=1))
@example(p=DEGENERATE_LSTM)
def lstm_step_forward_matches_reference(sub, p: LSTMProblem):
    """lstm_step_forward returns the reference's next_h = o ⊙ tanh(next_c) and next_c = f ⊙ prev_c + i ⊙ g."""
    import reference

    next_h, next_c, _ = sub.lstm_step_forward(*p.step_inputs().values())
    expected_h, expected_c, _ = reference.lstm_step_forward(*p.step_inputs().values())
    assert_all_close({"next_h": next_h, "next_c": next_c}, {"next_h": expected_h, "next_c": expected_c},
                     "the reference (gate blocks i, f, o, g)")


@check(group="lstm", points=1, needs=STEP_FUNCTIONS, reference=True, examples=0.2)
@given(p=lstm_problems(max_t=1))
@example(p=DEGENERATE_LSTM)
def lstm_step_backward_matches_reference(sub, p: LSTMProblem):
    """lstm_step_backward returns the reference's (dx, dprev_h, dprev_c, dWx, dWh, db)."""
    import reference

    _, gradients = sub.batch(step_then_backward(p))
    *_, reference_cache = reference.lstm_step_forward(*p.step_inputs().values())
    assert_all_close(dict(zip(STEP_GRADIENTS, gradients)),
                     dict(zip(STEP_GRADIENTS, reference.lstm_step_backward(*p.step_upstream, reference_cache))),
                     "the reference")


@check(group="lstm", points=1, needs=("lstm_forward",), reference=True, examples=0.2)
@given(p=lstm_problems())
@example(p=DEGENERATE_LSTM)
def lstm_forward_matches_reference(sub, p: LSTMProblem):
    """lstm_forward returns the reference's h_1..h_T, from h0 and c0 = 0."""
    import reference

    h, _ = sub.lstm_forward(*p.sequence_inputs.values())
    expected, _ = reference.lstm_forward(*p.sequence_inputs.values())
    assert_close(h, expected, "h", "the reference forward pass (c0 = 0, gate blocks i, f, o, g)")


@check(group="lstm", points=2, needs=SEQUENCE_FUNCTIONS, reference=True, examples=0.2)
@given(p=lstm_problems())
@example(p=DEGENERATE_LSTM)
def lstm_backward_matches_reference(sub, p: LSTMProblem):
    """lstm_backward returns the reference's (dx, dh0, dWx, dWh, db) for full BPTT."""
    import reference

    _, gradients = sub.forward_and_backward("lstm_forward", p.sequence_inputs.values(), "lstm_backward", p.dh)
    _, reference_cache = reference.lstm_forward(*p.sequence_inputs.values())
    assert_all_close(dict(zip(SEQUENCE_GRADIENTS, gradients)),
                     dict(zip(SEQUENCE_GRADIENTS, reference.lstm_backward(p.dh, reference_cache))), "the reference")


# -- 6. hygiene ----------------------------------------------------------------------------------------------------

UNCHANGED_PARTS = (("lstm_step_forward",), ("lstm_forward",), ("lstm_forward", "lstm_backward"))
SHAPED_PARTS = (("lstm_step_forward",), STEP_FUNCTIONS, ("lstm_forward",), SEQUENCE_FUNCTIONS)


@check(group="lstm", points=1, needs=("lstm_step_forward", *SEQUENCE_FUNCTIONS), needs_any=True, parts=UNCHANGED_PARTS,
       examples=0.2)
@given(p=lstm_problems())
@example(p=DEGENERATE_LSTM)
def lstm_functions_leave_inputs_unchanged(sub, p: LSTMProblem):
    """lstm_step_forward, lstm_forward and lstm_backward (those you implemented) never modify their arguments."""
    step_args, args = tuple(p.step_inputs().values()), tuple(p.sequence_inputs.values())
    examine(sub, [
        unchanged("lstm_step_forward", STEP_ARGUMENTS, step_args),
        unchanged("lstm_forward", SEQUENCE_ARGUMENTS, args),
        unchanged_by_backward("lstm_forward", args, "lstm_backward", p.dh, "dh"),
    ])


@check(group="lstm", points=1, needs=STEP_FUNCTIONS, examples=0.2)
@given(p=lstm_problems(max_t=1))
@example(p=DEGENERATE_LSTM)
def lstm_step_backward_leaves_upstream_unchanged(sub, p: LSTMProblem):
    """lstm_step_backward leaves its upstream gradients dnext_h and dnext_c as they were."""
    calls = step_then_backward(p)
    _, after = sub.batch([calls[0], calls[1]._replace(arguments_after=True)])
    changes = [changed for name, before, now in zip(("dnext_h", "dnext_c"), p.step_upstream, after)
               if (changed := changed_description(name, before, now))]
    if changes:
        raise AssertionError(f"lstm_step_backward modified its input {'; '.join(changes)}. Work on a copy "
                             f"(dc = dnext_c + …, not dnext_c += …). {UPSTREAM_REUSE}")


@check(group="lstm", points=1, needs=LSTM_FUNCTIONS, needs_any=True, parts=SHAPED_PARTS, examples=0.1)
@given(p=lstm_problems(max_n=1, max_t=1, max_d=1, max_h=1))
@example(p=DEGENERATE_LSTM)
def lstm_shapes_and_dtypes_are_exact_at_size_one(sub, p: LSTMProblem):
    """At N = T = D = H = 1 every LSTM output still has its exact shape and dtype (db is (4H,), not (1, 4H))."""
    step, sequence = step_then_backward(p), forward_then_backward("lstm_forward", tuple(p.sequence_inputs.values()),
                                                                  "lstm_backward", p.dh)
    # Validated on return, with exact shapes whatever the policy: this check is where a shape is charged.
    with sub.exact_shapes():
        examine(sub, [Probe((step[0],)), Probe(tuple(step)), Probe((sequence[0],)), Probe(tuple(sequence))])
