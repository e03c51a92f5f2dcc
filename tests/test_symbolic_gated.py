"""On a tiny failing LSTM or GRU step (N = D = H = 1), the expected entry is a SymPy formula with the gates (issue 22 §5).

Buggy steps of the corpus (dprev_c without the forget gate, the output gate's σ' as 1 − o², the update gate's σ'
as 1 − σ²) fail the lstm / gru group's step gradient checks on a tiny example: the failing result carries
``symbolic_text`` naming the worst wrong entry, written with i, f, o, g (r, z, n), and that formula, read back with
SymPy and evaluated with the gates computed here from the example's inputs, is the reference's gradient entry, not
the student's. The reference passes and gets none; an entry that is not the step backward's own, or an expected
value other than the formula's, gets none.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import sympy

import reference
from checks.engine.isolation.contract_returns import OUTPUT_NAMES
from checks.engine.isolation.trace import CacheRef
from checks.engine.run.runner import grade_submission
from checks.engine.run.symbolic import TEXT_LIMIT, symbolic_explanation
from checks.registry import load_checks

REPO = Path(__file__).resolve().parent.parent
BUGGY = REPO / "tests" / "corpus" / "buggy"
BUGS = {"lstm_dprev_c_without_forget_gate": ("lstm", "dprev_c", "f"),
        "lstm_sigma_prime_output_gate_one_minus_o_squared": ("lstm", "db", "(1 − o)"),
        "gru_update_sigma_prime_one_minus_sigma_squared": ("gru", None, "(1 − z)")}
STEP = {"lstm": ("lstm_step_forward", "lstm_step_backward"), "gru": ("gru_step_forward", "gru_step_backward")}
UNICODE_TO_PYTHON = {"·": "*", "−": "-", "²": "**2"}


def sigma(a: float) -> float:
    return 1 / (1 + np.exp(-a))


@pytest.fixture(scope="module")
def graded():
    """{bug: [failing CheckResult of its group's checks]}."""
    checks = load_checks()
    return {bug: [r for r in grade_submission(BUGGY / f"{bug}.py", [c for c in checks if c.group == group]).results
                  if not r.passed]
            for bug, (group, _, _) in BUGS.items()}


def step_calls(example, group: str):
    """(the forward's arguments, the upstream gradients) of the example's step backward call."""
    forward, backward = STEP[group]
    call = next(c for c in example.trace.calls if c.function == backward and isinstance(c.args[-1], CacheRef))
    return [np.asarray(a, dtype=float) for a in example.trace.calls[call.args[-1].call].args], \
        [np.asarray(a, dtype=float) for a in call.args[:-1]]


def values_at(group: str, args, upstream) -> dict[str, float]:
    """Every name a formula may use, computed here from the inputs: inputs by gate, gates, next_c."""
    if group == "lstm":
        x, prev_h, prev_c, Wx, Wh, b = (a.reshape(-1) for a in args)
        a = x[0] * Wx + prev_h[0] * Wh + b
        gates = {"i": sigma(a[0]), "f": sigma(a[1]), "o": sigma(a[2]), "g": np.tanh(a[3])}
        blocks = {"Wx": Wx, "Wh": Wh, "b": b}
        values = {"x": x[0], "prev_h": prev_h[0], "prev_c": prev_c[0], "next_c": gates["f"] * prev_c[0] + gates["i"] * gates["g"],
                  "dnext_h": upstream[0].item(), "dnext_c": upstream[1].item(), **gates}
        names = "ifog"
    else:
        x, prev_h, Wx, Wh, bx, bh = (a.reshape(-1) for a in args)
        r = sigma(x[0] * Wx[0] + bx[0] + prev_h[0] * Wh[0] + bh[0])
        z = sigma(x[0] * Wx[1] + bx[1] + prev_h[0] * Wh[1] + bh[1])
        n = np.tanh(x[0] * Wx[2] + bx[2] + r * (prev_h[0] * Wh[2] + bh[2]))
        blocks = {"Wx": Wx, "Wh": Wh, "bx": bx, "bh": bh}
        values = {"x": x[0], "prev_h": prev_h[0], "dnext_h": upstream[0].item(), "r": r, "z": z, "n": n}
        names = "rzn"
    values.update({f"{name}_{k}": block[j] for name, block in blocks.items() for j, k in enumerate(names)})
    return {name: float(value) for name, value in values.items()}


def reference_entry(group: str, args, upstream, name: str, index: tuple) -> float:
    forward, backward = STEP[group]
    cache = getattr(reference, forward)(*args)[-1]
    gradients = getattr(reference, backward)(*upstream, cache)
    return float(gradients[OUTPUT_NAMES[backward].index(name)][index])


def read_back(text: str, names) -> sympy.Expr:
    """The first line's expression ('db[2] = <expression>') as SymPy reads Python, with ``names`` as symbols."""
    expression = text.splitlines()[0].split(" = ", 1)[1]
    for unicode, python in UNICODE_TO_PYTHON.items():
        expression = expression.replace(unicode, python)
    return sympy.sympify(expression, locals={name: sympy.Symbol(name) for name in names})


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_a_tiny_failing_step_is_explained_with_its_gates(graded, bug):
    group, entry_name, factor = BUGS[bug]
    explained = [r for r in graded[bug] if r.symbolic_text]
    assert explained, [(r.check.name, r.symbolic_text) for r in graded[bug]]
    for result in explained:
        worst = result.example.discrepancies[0]
        if entry_name is not None:
            assert worst.name == entry_name, worst
        line, where = result.symbolic_text.splitlines()
        assert line.startswith(f"{worst.name}[{', '.join(map(str, worst.index))}] = ") and len(line) <= TEXT_LIMIT
        assert factor in line, line  # the gate of the bug, as the lecture writes it
        assert "σ" not in line and "exp" not in line
        assert where.startswith("where i = σ(x·Wx_i + prev_h·Wh_i + b_i)" if group == "lstm"
                                else "where r = σ(x·Wx_r + bx_r + prev_h·Wh_r + bh_r)")
        assert result.symbolic_latex.startswith(r"\mathrm{" + worst.name.replace("_", r"\_") + "}[")


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_the_formula_is_the_reference_gradient_of_the_worst_entry(graded, bug):
    group = BUGS[bug][0]
    checked = 0
    for result in (r for r in graded[bug] if r.symbolic_text):
        worst = result.example.discrepancies[0]
        args, upstream = step_calls(result.example, group)
        values = values_at(group, args, upstream)
        expression = read_back(result.symbolic_text, values)
        assert {s.name for s in expression.free_symbols} <= set(values), expression
        value = float(expression.subs({sympy.Symbol(k): v for k, v in values.items()}))
        expected = reference_entry(group, args, upstream, worst.name, tuple(worst.index))
        assert value == pytest.approx(expected, rel=1e-10, abs=1e-12), (result.check.name, result.symbolic_text)
        assert value == pytest.approx(worst.expected, rel=1e-5, abs=1e-8)
        assert value != pytest.approx(worst.got, rel=1e-6, abs=1e-9), "the student's own value: not the expected one"
        checked += 1
    assert checked >= 2


def test_the_reference_passes_and_gets_no_formula():
    checks = [c for c in load_checks() if c.group in ("lstm", "gru")]
    grade = grade_submission(REPO / "reference", checks)
    assert grade.score == grade.max_score
    assert all(r.passed and not r.symbolic_text for r in grade.results)


def test_an_entry_that_is_not_the_step_backwards_own_is_not_explained(graded):
    """The same tiny example naming an entry the step backward does not return (lstm_backward's dh0, a fifth db
    entry, the GRU's db), or stating another expected value, gets no formula; the sequence checks' failures
    (lstm_backward, gru_backward: not a step) get none either."""
    for bug, (group, _, _) in BUGS.items():
        result = next(r for r in graded[bug] if r.symbolic_text)
        worst, *rest = result.example.discrepancies
        assert symbolic_explanation(result.example) == (result.symbolic_text, result.symbolic_latex)
        bias = "db" if group == "lstm" else "dbx"
        others = [dict(name="dh0", index=(0, 0)), dict(name=bias, index=(4 if group == "lstm" else 3,)),
                  dict(name="db" if group == "gru" else "dbx", index=(0,)), dict(expected=worst.expected + 0.01),
                  dict(expected=worst.got)]
        for other in others:
            stated = dataclasses.replace(result.example, discrepancies=(dataclasses.replace(worst, **other), *rest))
            assert symbolic_explanation(stated) is None, (bug, other)
        sequence = [r for r in graded[bug] if "sequence" in r.check.name or r.check.name.startswith("lstm_backward")]
        assert sequence and all(not r.symbolic_text for r in sequence), [(r.check.name, r.symbolic_text) for r in sequence]
