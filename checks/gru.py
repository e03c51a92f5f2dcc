"""gru: the GRU step and sequence (torch.nn.GRU's equations, gates r, z, n), forward and backward.

The contract (docs/contract.md, reference/gru.py), row vectors; every weight and bias is three
blocks of H columns in the order r, z, n (``W_z`` is ``W[:, H:2H]``):

    r       = σ(x·Wx_r + bx_r + prev_h·Wh_r + bh_r)          reset gate
    z       = σ(x·Wx_z + bx_z + prev_h·Wh_z + bh_z)          update gate
    n       = tanh(x·Wx_n + bx_n + r ⊙ (prev_h·Wh_n + bh_n))   candidate state
    next_h  = (1 − z) ⊙ n + z ⊙ prev_h

Shapes: x (N, D), prev_h (N, H), Wx (D, 3H), Wh (H, 3H), bx and bh (3H,); over a sequence
x (N, T, D), h0 (N, H) and h (N, T, H), h0 excluded.

The properties, with their points (20 in all):

- Backprop equals central differences of your own forward, for the step (3) and the sequence
  (3): checks/gradcheck.py, 3 forward evaluations per passing verdict, in one round trip.
- The gate chain (4), on your own values. r and z depend on the inputs only, so they are
  computed here; n is the one your own next_h implies, n = (next_h − z ⊙ prev_h) / (1 − z), so
  that a mistake in the forward pass is not charged again to the backward one. Then

      dn   = dnext_h ⊙ (1 − z)          dz   = dnext_h ⊙ (prev_h − n)
      da_n = dn ⊙ (1 − n²)              da_z = dz ⊙ z ⊙ (1 − z)
      dr   = da_n ⊙ (prev_h·Wh_n + bh_n)          da_r = dr ⊙ r ⊙ (1 − r)
      dax  = [da_r, da_z, da_n]         dah  = [da_r, da_z, r ⊙ da_n]
      dx = dax·Wxᵀ   dWx = xᵀ·dax   dbx = Σ_n dax
      dprev_h = dnext_h ⊙ z + dah·Whᵀ   dWh = prev_hᵀ·dah   dbh = Σ_n dah

  and next_h itself must satisfy next_h − prev_h = (1 − z) ⊙ (n − prev_h) with n computed from
  the inputs. dbx and dbh are compared block by block, which names the gate whose derivative is
  wrong: a wrong da_z shows in the z blocks only, a wrong da_r in the r blocks only, a wrong
  da_n in both n blocks (and, through dr, both r blocks), and a hidden-side n block that forgot
  r in dbh's n block only.
- What gating is for (1 + 1 + 1): with the update gate saturated (bx_z = 100, so z = 1), the
  state is copied, next_h = prev_h and h_t = h0 for every t, and the gradient flows back
  through the copy untouched: dh0 = Σ_t dh_t, every other gradient 0.
- gru_forward is your own gru_step_forward composed over time (1).
- Agreement with the reference for each of the four functions (1 each, ``reference=True``).
- No function modifies its inputs, and every output has its exact shape and dtype at
  N = T = D = H = 1 (1 + 1).

Exactness of the saturated gate: in float64, σ(a) = 1 / (1 + e^(−a)) rounds to exactly 1.0 once
e^(−a) < 2^(−53), i.e. for a > 53·ln 2 ≈ 36.74 (half an ulp of 1 is 2^(−53)). A numerically stable
sigmoid (e^(−|a|) only) gives the same 1.0, and so does 0.5·(1 + tanh(a/2)) past a ≈ 36.97 (both
tested in tests/test_checks_gru.py). With bx_z = 100 the z pre-activation is at least 87
(checks/gru_problems.py), so z is exactly 1.0 and the reference's next_h is prev_h bit for bit. The
checks still allow rounding (``verdicts.RTOL``): next_h = n + z ⊙ (prev_h − n), or 1 − z computed as
σ(−a) < 1e-37, are correct too and may differ from prev_h by an ulp, while a real mistake (z and
1 − z swapped gives next_h = n) is off by O(1).

Every problem also runs the degenerate N = T = D = H = 1 (``DEGENERATE_GRU``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from hypothesis import example, given

from checks.engine.isolation.batch_calls import Call, forward_then_backward
from checks.gradcheck import assert_backprop_matches_own_forward, probe_seeds
from checks.gru_problems import DEGENERATE_GRU, DEGENERATE_SATURATED_GRU, GRUProblem, gru_problems
from checks.hygiene import Probe, examine, unchanged, unchanged_by_backward
from checks.registry import check
from checks.verdicts import RTOL, TINY, assert_all_close, assert_close, mismatch

STEP_GRADIENTS = ("dx", "dprev_h", "dWx", "dWh", "dbx", "dbh")
SEQUENCE_GRADIENTS = ("dx", "dh0", "dWx", "dWh", "dbx", "dbh")
GRU_FUNCTIONS = ("gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward")
# Each hygiene check's parts, in the order of its probes: the functions each calls, the one it judges last.
GRU_PARTS = (("gru_step_forward",), ("gru_step_forward", "gru_step_backward"),
             ("gru_forward",), ("gru_forward", "gru_backward"))
GATES = ("r", "z", "n")
# Shares of the profile's examples (50 by default), to keep the group's thirteen checks fast (well under a
# second on a correct submission). The bugs this group targets show on nearly every example (finite
# differences along a random direction, values off by O(1); dWh overwritten needs T >= 2, 5 draws in 6), so
# fewer examples lose little power; the gradient and gate-chain checks, the most informative, keep more.
FEW, FEWEST = 0.3, 0.1
GATE_NAMES = {"r": "the reset gate r", "z": "the update gate z", "n": "the candidate n"}


# -- the contract's equations, computed here from the inputs ------------------------------------


def sigmoid(a: np.ndarray) -> np.ndarray:
    """σ(a) = 1 / (1 + e^(−a)), stable: e is only ever taken of −|a|."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


class Gates(NamedTuple):
    """One step's gates, each (N, H): r, z, n, and hh_n = prev_h·Wh_n + bh_n (which r scales)."""

    r: np.ndarray
    z: np.ndarray
    n: np.ndarray
    hh_n: np.ndarray


def gates(x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
          bx: np.ndarray, bh: np.ndarray) -> Gates:
    """The contract's gates for x (N, D), prev_h (N, H), Wx (D, 3H), Wh (H, 3H), bx, bh (3H,)."""
    H = prev_h.shape[1]
    ax, ah = x @ Wx + bx, prev_h @ Wh + bh  # input and hidden sides, (N, 3H) each
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    hh_n = ah[:, 2 * H:]
    return Gates(r, z, np.tanh(ax[:, 2 * H:] + r * hh_n), hh_n)


def gate_chain(inputs: dict[str, np.ndarray], dnext_h: np.ndarray, g: Gates, n: np.ndarray) -> dict[str, np.ndarray]:
    """The step's gradients (STEP_GRADIENTS) by the chain rule through r, z (of ``g``) and the candidate ``n``."""
    x, prev_h, Wx, Wh = inputs["x"], inputs["prev_h"], inputs["Wx"], inputs["Wh"]
    da_n = dnext_h * (1 - g.z) * (1 - n**2)
    da_z = dnext_h * (prev_h - n) * g.z * (1 - g.z)
    da_r = da_n * g.hh_n * g.r * (1 - g.r)
    dax = np.concatenate([da_r, da_z, da_n], axis=1)  # (N, 3H)
    dah = np.concatenate([da_r, da_z, g.r * da_n], axis=1)  # r scales hh_n, bias bh_n included
    return {"dx": dax @ Wx.T, "dprev_h": dnext_h * g.z + dah @ Wh.T, "dWx": x.T @ dax, "dWh": prev_h.T @ dah,
            "dbx": dax.sum(axis=0), "dbh": dah.sum(axis=0)}


def own_candidate(next_h: np.ndarray, prev_h: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The n that ``next_h`` = (1 − z) ⊙ n + z ⊙ prev_h implies.

    Dividing by 1 − z amplifies next_h's rounding, but every use of n in the chain is multiplied by
    (1 − z) again (dn directly, dz through z(1 − z)), so the gradients keep their float64 accuracy.
    Unsaturated problems have z ≤ σ(13) here, so 1 − z > 2e-6 and nothing divides by zero."""
    return (next_h - z * prev_h) / (1 - z)


def wrong_blocks(actual: np.ndarray, expected: np.ndarray) -> list[str]:
    """The gates (r, z, n) whose H-column block of a (3H,) bias gradient is off, by ``mismatch``'s tolerance
    (the whole array's scale)."""
    H = expected.shape[0] // 3
    scale = float(np.max(np.abs(expected), initial=0.0))
    off = np.abs(actual - expected) > RTOL * (np.abs(expected) + scale) + TINY
    return [gate for k, gate in enumerate(GATES) if off[k * H:(k + 1) * H].any()]


def gate_diagnosis(input_side: list[str], hidden_side: list[str]) -> str:
    """Which gate's derivative the wrong blocks of dbx (``input_side``) and dbh (``hidden_side``) point at.

    The chain runs n → r (dr = da_n ⊙ hh_n), and z on its own: a wrong da_n explains wrong r blocks too,
    so the candidate is named first and the reset gate only when da_n is right."""
    if not input_side and not hidden_side:
        return ("Your dbx and dbh agree block by block (r, z, n), so every gate's derivative is right: the mistake "
                "is in how the gate gradients dax = [da_r, da_z, da_n] and dah = [da_r, da_z, r ⊙ da_n] are "
                "multiplied back (dx = dax·Wxᵀ, dWx = xᵀ·dax, dWh = prev_hᵀ·dah, dprev_h = dnext_h ⊙ z + dah·Whᵀ).")
    lines = ["Compared block by block (r, z, n), your dbx and dbh point at:"]
    if "n" in input_side:
        lines.append(f"  {GATE_NAMES['n']} (n block of dbx): da_n = dnext_h ⊙ (1 − z) ⊙ (1 − n²); the reset "
                     "gate's blocks depend on it through dr = da_n ⊙ (prev_h·Wh_n + bh_n)")
    else:
        if "n" in hidden_side:
            lines.append(f"  the hidden side of {GATE_NAMES['n']} (n block of dbh only): r scales "
                         "prev_h·Wh_n + bh_n, bias included, so dbh's n block is Σ r ⊙ da_n while dbx's is Σ da_n")
        if "r" in input_side or "r" in hidden_side:
            lines.append(f"  {GATE_NAMES['r']} (r blocks): dr = da_n ⊙ (prev_h·Wh_n + bh_n), "
                         "da_r = dr ⊙ r ⊙ (1 − r)")
    if "z" in input_side or "z" in hidden_side:
        lines.append(f"  {GATE_NAMES['z']} (z blocks): dz = dnext_h ⊙ (prev_h − n), da_z = dz ⊙ z ⊙ (1 − z)")
    return "\n".join(lines)


def forward_note(next_h: np.ndarray, prev_h: np.ndarray, g: Gates) -> str:
    """What a wrong next_h (not (1 − z) ⊙ n + z ⊙ prev_h of the contract's gates) most likely comes from."""
    if mismatch(next_h, g.z * g.n + (1 - g.z) * prev_h) is None:
        return ("Your next_h is z ⊙ n + (1 − z) ⊙ prev_h: z and 1 − z are swapped. In this contract "
                "(torch.nn.GRU's) z is the share of prev_h that is kept: next_h = (1 − z) ⊙ n + z ⊙ prev_h.")
    return ("Your next_h is not (1 − z) ⊙ n + z ⊙ prev_h of the gates r = σ(x·Wx_r + bx_r + prev_h·Wh_r + bh_r), "
            "z = σ(x·Wx_z + bx_z + prev_h·Wh_z + bh_z) and n = tanh(x·Wx_n + bx_n + r ⊙ (prev_h·Wh_n + bh_n)).")


# -- finite differences -------------------------------------------------------------------------


@check(group="gru", points=3, needs=("gru_step_forward", "gru_step_backward"), examples=FEW)
@given(p=gru_problems(max_t=1), seed=probe_seeds())
@example(p=DEGENERATE_GRU, seed=0)
def gru_step_backward_matches_finite_differences(sub, p: GRUProblem, seed: int):
    """gru_step_backward's gradients equal central differences of your own gru_step_forward."""
    assert_backprop_matches_own_forward(sub, "gru_step_forward", "gru_step_backward", p.step_inputs, p.dh[:, 0],
                                        seed, STEP_GRADIENTS)


@check(group="gru", points=3, needs=("gru_forward", "gru_backward"), examples=FEW)
@given(p=gru_problems(), seed=probe_seeds())
@example(p=DEGENERATE_GRU, seed=0)
def gru_sequence_backward_matches_finite_differences(sub, p: GRUProblem, seed: int):
    """gru_backward's gradients equal central differences of your own gru_forward (L = Σ h·dh)."""
    assert_backprop_matches_own_forward(sub, "gru_forward", "gru_backward", p.sequence_inputs, p.dh, seed,
                                        SEQUENCE_GRADIENTS)


# -- the gate chain -----------------------------------------------------------------------------


@check(group="gru", points=4, needs=("gru_step_forward", "gru_step_backward"), examples=FEW)
@given(p=gru_problems(max_t=1))
@example(p=DEGENERATE_GRU)
def gru_step_backward_follows_the_gate_chain(sub, p: GRUProblem):
    """gru_step_backward follows the chain rule through the gates r, z, n, and next_h = (1 − z) ⊙ n + z ⊙ prev_h.

    r and z are computed from the inputs, n from your own next_h; dbx and dbh are compared gate block by gate
    block, so that a failure names the gate whose derivative is wrong.
    """
    inputs, dnext_h = p.step_inputs, p.dh[:, 0]
    (next_h, _), gradients = sub.forward_and_backward("gru_step_forward", tuple(inputs.values()),
                                                      "gru_step_backward", dnext_h)
    g = gates(**inputs)
    prev_h = inputs["prev_h"]
    actual = {"next_h": next_h, **dict(zip(STEP_GRADIENTS, gradients))}
    expected = {"next_h": (1 - g.z) * g.n + g.z * prev_h,
                **gate_chain(inputs, dnext_h, g, own_candidate(next_h, prev_h, g.z))}

    def note() -> str:
        lines = []
        if mismatch(next_h, expected["next_h"]) is not None:
            lines.append(forward_note(next_h, prev_h, g))
        if any(mismatch(actual[name], expected[name]) is not None for name in STEP_GRADIENTS):
            lines.append(gate_diagnosis(wrong_blocks(actual["dbx"], expected["dbx"]),
                                        wrong_blocks(actual["dbh"], expected["dbh"])))
        return "\n".join(lines)

    assert_all_close(actual, expected, "the chain rule through the gates r, z (from your inputs) and n (from your "
                                       "own next_h)", note=note)


# -- what gating is for: a saturated update gate copies the state ------------------------------


@check(group="gru", points=1, needs=("gru_step_forward",), examples=FEWEST)
@given(p=gru_problems(max_t=1, saturated_update=True))
@example(p=DEGENERATE_SATURATED_GRU)
def gru_saturated_update_gate_keeps_the_state(sub, p: GRUProblem):
    """With the update gate saturated (bx_z = 100, so z = 1), gru_step_forward returns next_h = prev_h."""
    next_h, _ = sub.gru_step_forward(*p.step_inputs.values())
    assert_close(next_h, p.h0, "next_h", "prev_h, which (1 − z) ⊙ n + z ⊙ prev_h is when z = 1")


@check(group="gru", points=1, needs=("gru_forward",), examples=FEWEST)
@given(p=gru_problems(saturated_update=True))
@example(p=DEGENERATE_SATURATED_GRU)
def gru_saturated_update_gate_keeps_h0_over_time(sub, p: GRUProblem):
    """With the update gate saturated (z = 1 at every step), gru_forward returns h_t = h0 for every t."""
    h, _ = sub.gru_forward(*p.sequence_inputs.values())
    assert_close(h, np.broadcast_to(p.h0[:, None, :], p.dh.shape), "h",
                 "h0 at every step, which the GRU keeps when z = 1")


@check(group="gru", points=1, needs=("gru_forward", "gru_backward"), examples=FEWEST)
@given(p=gru_problems(saturated_update=True))
@example(p=DEGENERATE_SATURATED_GRU)
def gru_saturated_update_gate_passes_the_gradient_back_unchanged(sub, p: GRUProblem):
    """With the update gate saturated (z = 1), gru_backward gives dh0 = Σ_t dh_t and every other gradient 0."""
    _, gradients = sub.forward_and_backward("gru_forward", tuple(p.sequence_inputs.values()), "gru_backward", p.dh)
    # With z = 1 exactly, 1 − z = 0 and z(1 − z) = 0: every gate gradient vanishes, and only the copy
    # dprev_h = dnext_h ⊙ z is left, carrying each dh_t back to h0.
    expected = {"dx": np.zeros(p.x.shape), "dh0": p.dh.sum(axis=1), "dWx": np.zeros(p.Wx.shape),
                "dWh": np.zeros(p.Wh.shape), "dbx": np.zeros(p.bx.shape), "dbh": np.zeros(p.bh.shape)}
    assert_all_close(dict(zip(SEQUENCE_GRADIENTS, gradients)), expected,
                     "z = 1: the state is copied, so dh0 = Σ_t dh_t and no weight, bias or input has any gradient")


# -- composition --------------------------------------------------------------------------------


@check(group="gru", points=1, needs=("gru_step_forward", "gru_forward"), examples=FEWEST)
@given(p=gru_problems())
@example(p=DEGENERATE_GRU)
def gru_sequence_forward_is_the_step_composed(sub, p: GRUProblem):
    """gru_forward's h_t equals your own gru_step_forward applied to x_t and h_(t−1), from h0."""
    h, _ = sub.gru_forward(*p.sequence_inputs.values())
    T = p.x.shape[1]
    # Each step from gru_forward's own h_(t−1) (h0 first), in one round trip: the first wrong state shows.
    previous = [p.h0, *(h[:, t] for t in range(T - 1))]
    steps = sub.batch([Call("gru_step_forward", (p.x[:, t], previous[t], p.Wx, p.Wh, p.bx, p.bh)) for t in range(T)])
    expected = np.stack([next_h for next_h, _ in steps], axis=1)
    assert_close(h, expected, "h", "your own gru_step_forward applied to x_t and h_(t−1), from h0 at t = 0")


# -- the reference ------------------------------------------------------------------------------


@check(group="gru", points=1, needs=("gru_step_forward",), reference=True, examples=FEWEST)
@given(p=gru_problems(max_t=1))
@example(p=DEGENERATE_GRU)
def gru_step_forward_matches_reference(sub, p: GRUProblem):
    """gru_step_forward returns the reference's next_h = (1 − z) ⊙ n + z ⊙ prev_h."""
    import reference

    next_h, _ = sub.gru_step_forward(*p.step_inputs.values())
    expected, _ = reference.gru_step_forward(*p.step_inputs.values())
    assert_close(next_h, expected, "next_h", "the reference")


@check(group="gru", points=1, needs=("gru_step_forward", "gru_step_backward"), reference=True, examples=FEWEST)
@given(p=gru_problems(max_t=1))
@example(p=DEGENERATE_GRU)
def gru_step_backward_matches_reference(sub, p: GRUProblem):
    """gru_step_backward returns the reference's (dx, dprev_h, dWx, dWh, dbx, dbh)."""
    import reference

    args, dnext_h = tuple(p.step_inputs.values()), p.dh[:, 0]
    _, gradients = sub.forward_and_backward("gru_step_forward", args, "gru_step_backward", dnext_h)
    _, reference_cache = reference.gru_step_forward(*args)
    assert_all_close(dict(zip(STEP_GRADIENTS, gradients)),
                     dict(zip(STEP_GRADIENTS, reference.gru_step_backward(dnext_h, reference_cache))), "the reference")


@check(group="gru", points=1, needs=("gru_forward",), reference=True, examples=FEWEST)
@given(p=gru_problems())
@example(p=DEGENERATE_GRU)
def gru_sequence_forward_matches_reference(sub, p: GRUProblem):
    """gru_forward returns the reference's h_1 … h_T, starting from h0."""
    import reference

    h, _ = sub.gru_forward(*p.sequence_inputs.values())
    expected, _ = reference.gru_forward(*p.sequence_inputs.values())
    assert_close(h, expected, "h", "the reference")


@check(group="gru", points=1, needs=("gru_forward", "gru_backward"), reference=True, examples=FEWEST)
@given(p=gru_problems())
@example(p=DEGENERATE_GRU)
def gru_sequence_backward_matches_reference(sub, p: GRUProblem):
    """gru_backward returns the reference's (dx, dh0, dWx, dWh, dbx, dbh)."""
    import reference

    args = tuple(p.sequence_inputs.values())
    _, gradients = sub.forward_and_backward("gru_forward", args, "gru_backward", p.dh)
    _, reference_cache = reference.gru_forward(*args)
    assert_all_close(dict(zip(SEQUENCE_GRADIENTS, gradients)),
                     dict(zip(SEQUENCE_GRADIENTS, reference.gru_backward(p.dh, reference_cache))), "the reference")


# -- hygiene ------------------------------------------------------------------------------------


@check(group="gru", points=1, needs=GRU_FUNCTIONS, needs_any=True, parts=GRU_PARTS, examples=FEWEST)
@given(p=gru_problems())
@example(p=DEGENERATE_GRU)
def gru_functions_leave_inputs_unchanged(sub, p: GRUProblem):
    """gru_step_forward/backward and gru_forward/backward (those you implemented) never modify their arguments."""
    step, sequence = p.step_inputs, p.sequence_inputs
    examine(sub, [
        unchanged("gru_step_forward", tuple(step), tuple(step.values())),
        unchanged_by_backward("gru_step_forward", tuple(step.values()), "gru_step_backward", p.dh[:, 0], "dnext_h"),
        unchanged("gru_forward", tuple(sequence), tuple(sequence.values())),
        unchanged_by_backward("gru_forward", tuple(sequence.values()), "gru_backward", p.dh, "dh"),
    ])


@check(group="gru", points=1, needs=GRU_FUNCTIONS, needs_any=True, parts=GRU_PARTS, examples=FEWEST)
@given(p=gru_problems(max_n=1, max_t=1, max_d=1, max_h=1))
@example(p=DEGENERATE_GRU)
def gru_shapes_and_dtypes_are_exact_at_size_one(sub, p: GRUProblem):
    """At N = T = D = H = 1 every GRU output still has its exact shape and dtype (dbx is (3H,), not (1, 3H))."""
    step, sequence = tuple(p.step_inputs.values()), tuple(p.sequence_inputs.values())

    def returns(function: str, inputs: tuple, *backward: Any) -> Probe:
        """``function(*inputs)``, then the backward (name, upstream) if given: judged by validation alone."""
        calls = forward_then_backward(function, inputs, *backward) if backward else [Call(function, inputs)]
        return Probe(tuple(calls))

    # Validated on return with exact shapes, whatever the policy: this check is where a shape is charged.
    with sub.exact_shapes():
        examine(sub, [
            returns("gru_step_forward", step),
            returns("gru_step_forward", step, "gru_step_backward", p.dh[:, 0]),
            returns("gru_forward", sequence),
            returns("gru_forward", sequence, "gru_backward", p.dh),
        ])
