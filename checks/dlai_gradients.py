"""The column-major backward functions judged without a reference (checks/dlai.py): finite differences of a
student's own forward, through ``checks.gradcheck``'s verdict and tolerance, and the tanh and σ identities on the
student's own values.

The course's forward takes a parameters dict, and its backward returns a gradient dict keyed "d" + name
("dWax", "dxt", "da0"). Finite differences move the arrays by name: the forward's array arguments (x, a0, …)
and the parameters the backward differentiates (Wax, Waa, ba for the RNN; Wf, bf, … for the LSTM). The output
weights (Wya, by; Wy, by) are never moved: y is not differentiated, as in the course. The objective is
L = Σ⟨a, da⟩ (+ ⟨c_next, dc_next⟩ for the LSTM step), the loss whose gradient the upstream arguments are.

The identities (``rnn_cell_identity_gradients``, ``lstm_cell_identity_gradients``) are the backward equations
written with the forward's own outputs, so no solution is needed. With v = [a_prev; xt] (n_a + n_x, m):

    RNN:  dz = (1 − a_next²) ⊙ da_next      tanh′(z) = 1 − tanh²(z) = 1 − a_next²
          dxt = Waxᵀ·dz   da_prev = Waaᵀ·dz   dWax = dz·xtᵀ   dWaa = dz·a_prevᵀ   dba = Σ_m dz (keepdims)

    LSTM: dc = dc_next + da_next ⊙ ot ⊙ (1 − tanh²(c_next))      σ′(z) = σ(z)(1 − σ(z)), so σ′ = g(1 − g) of a gate g
          dot = da_next ⊙ tanh(c_next) ⊙ ot(1 − ot)     dcct = dc ⊙ it ⊙ (1 − cct²)
          dit = dc ⊙ cct ⊙ it(1 − it)                    dft = dc ⊙ c_prev ⊙ ft(1 − ft)
          dW_g = dg·vᵀ   db_g = Σ_m dg (keepdims)   [da_prev; dxt] = Σ_g W_gᵀ·dg   dc_prev = dc ⊙ ft

A wrong gradient is compared with the same equations written with a known wrong derivative (``WRONG_TANH``,
``WRONG_SIGMOID``), and the one it equals, if any, is named: a diagnosis is true or absent.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from checks.engine.isolation.column_major import ARGUMENTS, FORWARD_OF, GRADIENTS, ColumnMajor, names
from checks.gradcheck import assert_gradients_match_finite_differences, weighted_sums
from checks.verdicts import PartialFailure, how_many_wrong, mismatch, worst_entries


def flat_arguments(forward: str, args: tuple, moved: Sequence[str]) -> dict[str, np.ndarray]:
    """The arrays finite differences move, by name: the forward's array arguments, then the ``moved`` parameters."""
    *arrays, parameters = args
    flat = dict(zip(ARGUMENTS[forward][:-1], arrays))
    return {**flat, **{name: parameters[name] for name in moved}}


def rebuilt(forward: str, flat: dict[str, np.ndarray], parameters: dict[str, np.ndarray]) -> tuple:
    """The forward's argument tuple from a flat dict: its arrays, and ``parameters`` with the moved entries replaced."""
    arrays = [flat[name] for name in ARGUMENTS[forward][:-1]]
    return (*arrays, {**parameters, **{k: v for k, v in flat.items() if k in parameters}})


def gradient_key(backward: str, name: str) -> str:
    """The course's key of the gradient of argument ``name``: "d" + name ("dxt", "da_prev", "dWax", "da0")."""
    key = f"d{name}"
    assert key in names(GRADIENTS[backward]), (backward, name)  # the tables agree (a grader bug otherwise)
    return key


def assert_backward_matches_own_forward(sub, backward: str, args: tuple, upstream: tuple[np.ndarray, ...],
                                        moved: Sequence[str], seed: int) -> None:
    """The student's ``backward`` (gradients of every moved array) against central differences of their own
    forward, for L = Σ_k ⟨output_k, upstream_k⟩ over the outputs it differentiates (``DIFFERENTIATED``).

    - args: the forward's arguments (arrays…, parameters dict); upstream: (da,) or (da_next, dc_next)
    - moved: the parameters' names the backward differentiates (the others stay fixed)

    Round trips: forward (its cache kept), backward, and the joint ± pair; a failure localises in one more.
    """
    forward = FORWARD_OF[backward]
    view = ColumnMajor(sub)
    *_, cache = view.forward(forward, args)
    gradients = view.backward(backward, upstream, cache)
    flat = flat_arguments(forward, args, moved)
    parameters = args[-1]
    evaluate = lambda calls: view.many(forward, [rebuilt(forward, c, parameters) for c in calls])  # noqa: E731
    keys = {name: gradient_key(backward, name) for name in flat}
    assert_gradients_match_finite_differences(
        evaluate, flat, {name: gradients[key] for name, key in keys.items()},
        lambda output: weighted_sums(output, upstream), seed,
        gradient_names={name: f"gradients[{key!r}]" for name, key in keys.items()})


# -- the tanh identity of rnn_cell_backward ------------------------------------------------------------------------

TANH_IDENTITY = "tanh′(z) = 1 − tanh²(z), so dz = (1 − a_next²) ⊙ da_next on your own a_next"

#: Ways tanh′ is miswritten, as functions of (a_next or cct, the pre-activation z) (n_a, m): (what it is, factor).
WRONG_TANH = (
    ("1 − z² of the pre-activation z: tanh′(z) = 1 − tanh²(z) is 1 minus the square of the tanh's output, not of "
     "its input", lambda out, z: 1 - z**2),
    ("tanh′ taken of the tanh's output instead of its pre-activation (1 − tanh²(tanh(z)))",
     lambda out, z: 1 - np.tanh(out)**2),
    ("no tanh′ factor at all (the gradient passed through the tanh unchanged)", lambda out, z: np.ones_like(out)),
)


def rnn_pre_activation(xt: np.ndarray, a_prev: np.ndarray, parameters: dict) -> np.ndarray:
    """z = Wax·xt + Waa·a_prev + ba (n_a, m), from xt (n_x, m) and a_prev (n_a, m)."""
    return parameters["Wax"] @ xt + parameters["Waa"] @ a_prev + parameters["ba"]


def rnn_cell_identity_gradients(xt: np.ndarray, a_prev: np.ndarray, parameters: dict, a_next: np.ndarray,
                                da_next: np.ndarray, tanh_prime: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """rnn_cell_backward's gradients by the tanh identity on a_next (n_a, m), the student's own:
    {dxt (n_x, m), da_prev (n_a, m), dWax (n_a, n_x), dWaa (n_a, n_a), dba (n_a, 1)}.

    tanh_prime (n_a, m): the derivative factor used instead of 1 − a_next² (a known wrong one, for diagnoses)."""
    dz = (1 - a_next**2 if tanh_prime is None else tanh_prime) * da_next
    return {"dxt": parameters["Wax"].T @ dz, "da_prev": parameters["Waa"].T @ dz, "dWax": dz @ xt.T,
            "dWaa": dz @ a_prev.T, "dba": dz.sum(axis=1, keepdims=True)}


def rnn_tanh_note(got: dict[str, np.ndarray], xt: np.ndarray, a_prev: np.ndarray, parameters: dict,
                  a_next: np.ndarray, da_next: np.ndarray) -> str:
    """The known wrong tanh′ whose gradients the student's equal (every key), or the identity restated."""
    z = rnn_pre_activation(xt, a_prev, parameters)
    for what, factor in WRONG_TANH:
        wrong = rnn_cell_identity_gradients(xt, a_prev, parameters, a_next, da_next, factor(a_next, z))
        if all(mismatch(got[key], wrong[key]) is None for key in wrong):
            return f"Your gradients are those of {what}."
    return "dz is the gradient of the pre-activation: dba = np.sum(dz, axis=1, keepdims=True), dWax = dz·xtᵀ, …"


# -- the σ identities of lstm_cell_backward ------------------------------------------------------------------------

#: The gates, as the course names them: (letter of W and b, what it is, its value in the cache, its dg in words).
GATES = (("f", "forget gate", "ft", "dft = dc ⊙ c_prev ⊙ ft(1 − ft)"),
         ("i", "input gate", "it", "dit = dc ⊙ cct ⊙ it(1 − it)"),
         ("c", "candidate", "cct", "dcct = dc ⊙ it ⊙ (1 − cct²)"),
         ("o", "output gate", "ot", "dot = da_next ⊙ tanh(c_next) ⊙ ot(1 − ot)"))

#: Ways σ′ is miswritten, as functions of (a gate's value g = σ(z), z) (n_a, m): (what it is, factor).
WRONG_SIGMOID = (
    ("σ′ written as σ² (g ⊙ g)", lambda g, z: g**2),
    ("σ′ = σ(1 − σ) applied twice ((g(1 − g))²)", lambda g, z: (g * (1 - g))**2),
    ("σ′ taken of the gate's value instead of its pre-activation (σ(g)(1 − σ(g)))",
     lambda g, z: 1 / (1 + np.exp(-g)) * (1 - 1 / (1 + np.exp(-g)))),
    ("no σ′ factor at all (the gradient passed through the σ unchanged)", lambda g, z: np.ones_like(g)),
)
CELL_EQUATIONS = ("The equations: dc = dc_next + da_next ⊙ ot ⊙ (1 − tanh²(c_next)); dft = dc ⊙ c_prev ⊙ ft(1 − ft); "
                  "dit = dc ⊙ cct ⊙ it(1 − it); dcct = dc ⊙ it ⊙ (1 − cct²); dot = da_next ⊙ tanh(c_next) ⊙ "
                  "ot(1 − ot); dW_g = dg·[a_prev; xt]ᵀ, db_g = Σ_m dg (keepdims); [da_prev; dxt] = Σ_g W_gᵀ·dg; "
                  "dc_prev = dc ⊙ ft. σ′(z) = σ(z)(1 − σ(z)) and tanh′(z) = 1 − tanh²(z), written with the gates' "
                  "own values.")
#: What lstm_cell_backward's result is judged in: one part per gradient, the gates' weights and biases together.
LSTM_PARTS = (("dxt",), ("da_prev",), ("dc_prev",), ("dWf", "dbf"), ("dWi", "dbi"), ("dWc", "dbc"), ("dWo", "dbo"))


def gate_derivatives(cache: dict) -> dict[str, np.ndarray]:
    """Each gate's derivative factor from its own value (n_a, m): σ′ = g(1 − g) for f, i, o, tanh′ = 1 − cct²."""
    return {k: (1 - cache["cct"]**2) if k == "c" else cache[value] * (1 - cache[value])
            for k, _, value, _ in GATES}


def gate_upstreams(cache: dict, c_prev: np.ndarray, da_next: np.ndarray,
                   dc_next: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """({gate letter: the gradient of its value}, dc), each (n_a, m): what multiplies each gate's derivative."""
    tanh_c = np.tanh(cache["c_next"])
    dc = dc_next + da_next * cache["ot"] * (1 - tanh_c**2)
    return {"f": dc * c_prev, "i": dc * cache["cct"], "c": dc * cache["it"], "o": da_next * tanh_c}, dc


def lstm_cell_identity_gradients(cache: dict, inputs: tuple, da_next: np.ndarray,
                                 dc_next: np.ndarray) -> dict[str, np.ndarray]:
    """lstm_cell_backward's gradients by the σ and tanh identities on the student's own cache values (ft, it, cct, ot,
    c_next, each (n_a, m)) and the call's inputs (xt (n_x, m), a_prev, c_prev (n_a, m), parameters):
    {dxt (n_x, m), da_prev, dc_prev (n_a, m), dW_g (n_a, n_a + n_x), db_g (n_a, 1) for g in f, i, c, o}."""
    xt, a_prev, c_prev, parameters = inputs
    upstream, dc = gate_upstreams(cache, c_prev, da_next, dc_next)
    factors = gate_derivatives(cache)
    gradients = {"dc_prev": dc * cache["ft"]}
    stacked = np.zeros((a_prev.shape[0] + xt.shape[0], xt.shape[1]))
    for k, *_ in GATES:
        dg = upstream[k] * factors[k]
        gradients.update(gate_weight_gradients(k, dg, xt, a_prev))
        stacked += parameters[f"W{k}"].T @ dg
    n_a = a_prev.shape[0]
    return {"dxt": stacked[n_a:], "da_prev": stacked[:n_a], **gradients}


def gate_weight_gradients(k: str, dg: np.ndarray, xt: np.ndarray, a_prev: np.ndarray) -> dict[str, np.ndarray]:
    """{dW_k: dg·[a_prev; xt]ᵀ (n_a, n_a + n_x), db_k: Σ_m dg (n_a, 1)} of gate k from dg (n_a, m)."""
    return {f"dW{k}": dg @ np.concatenate([a_prev, xt], axis=0).T, f"db{k}": dg.sum(axis=1, keepdims=True)}


def assert_lstm_cell_obeys_identities(got: dict[str, np.ndarray], cache: dict, inputs: tuple, da_next: np.ndarray,
                                      dc_next: np.ndarray) -> None:
    """Judge ``got``, the student's lstm_cell_backward gradients, part by part (``LSTM_PARTS``) against
    ``lstm_cell_identity_gradients``; raise PartialFailure with the share of right parts, naming each wrong gate,
    its equation, and the known wrong derivative it follows (``WRONG_SIGMOID``, ``WRONG_TANH``)."""
    expected = lstm_cell_identity_gradients(cache, inputs, da_next, dc_next)
    problems = {part: next((p for p in (mismatch(got[key], expected[key]) for key in part) if p), None)
                for part in LSTM_PARTS}
    wrong = [part for part, problem in problems.items() if problem]
    if not wrong:
        return
    wrong_gates = [k for k, *_ in GATES if (f"dW{k}", f"db{k}") in wrong]
    named = [f"the {gate}'s dW{k}, db{k}" for k, gate, *_ in GATES if k in wrong_gates]
    named += [part[0] for part in (("dc_prev",), ("da_prev",), ("dxt",)) if part in wrong]
    lines = [f"{how_many_wrong(len(wrong), len(LSTM_PARTS), 'result')} ({'; '.join(named)}), by the LSTM's backward "
             "equations on your own gates ft, it, cct, ot and c_next (from your cache):"]
    for k, gate, value, equation in GATES:
        if k in wrong_gates:
            derivative = "tanh′ = 1 − cct²" if k == "c" else f"σ′ = σ(1 − σ) = {value}(1 − {value})"
            lines.append(f"  the {gate}'s dW{k}, db{k}: {problems[(f'dW{k}', f'db{k}')]}; {equation}, where "
                         f"{derivative}{wrong_derivative_note(k, got, cache, inputs, da_next, dc_next)}")
    for part in (("dc_prev",), ("da_prev",), ("dxt",)):
        if part in wrong:
            lines.append(f"  {part[0]}: {problems[part]}" + ("; dc_prev = dc ⊙ ft" if part == ("dc_prev",) else ""))
    if wrong_gates and {("da_prev",), ("dxt",)} & set(wrong):
        lines.append("  da_prev and dxt are the two parts of Σ_g W_gᵀ·dg over the four gates: a wrong gate makes "
                     "them wrong too.")
    if set(wrong_gates) == {"f", "i", "c"}:
        lines.append("  The forget, input and candidate gates are all wrong, and the output gate is not: all three "
                     "go through dc; check dc = dc_next + da_next ⊙ ot ⊙ (1 − tanh²(c_next)).")
    right = [", ".join(part) for part in LSTM_PARTS if part not in wrong]
    if right:
        lines.append(f"  correct: {'; '.join(right)}")
    lines.append(f"  {CELL_EQUATIONS}")
    raise PartialFailure("\n".join(lines), credit=1 - len(wrong) / len(LSTM_PARTS),
                         discrepancies=[d for part in wrong for key in part
                                        for d in worst_entries(got[key], expected[key], key)])


def wrong_derivative_note(k: str, got: dict[str, np.ndarray], cache: dict, inputs: tuple, da_next: np.ndarray,
                          dc_next: np.ndarray) -> str:
    """". Yours follow <a known wrong derivative>" if gate k's dW and db equal that derivative's, else ""."""
    xt, a_prev, c_prev, parameters = inputs
    upstream, _ = gate_upstreams(cache, c_prev, da_next, dc_next)
    value = next(v for letter, _, v, _ in GATES if letter == k)
    z = parameters[f"W{k}"] @ np.concatenate([a_prev, xt], axis=0) + parameters[f"b{k}"]
    for what, factor in (WRONG_TANH if k == "c" else WRONG_SIGMOID):
        wrong = gate_weight_gradients(k, upstream[k] * factor(cache[value], z), xt, a_prev)
        if all(mismatch(got[key], wrong[key]) is None for key in wrong):
            return f". Yours follow {what}"
    return ""
