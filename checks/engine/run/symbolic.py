"""The expected gradient entry of a tiny failing example, derived by SymPy and written as in the lecture.

When a gradient check of rnn_step_backward or rnn_backward fails on a tiny example, the worst
wrong entry (the failure's first discrepancy) is shown as a formula of the example's inputs::

    dWh[0, 0] = (1 − h_1²)·h0·((1 − h_2²)·Wh·dh_2 + dh_1) + (1 − h_2²)·dh_2·h_1
    where h_1 = tanh(x_1·Wx + h0·Wh + b), h_2 = tanh(x_2·Wx + h_1·Wh + b); x_t = x[0, t−1, 0], dh_t = dh[0, t−1, 0]

Tiny means N = 1, D = H = 1 and T ≤ TINY_STEPS = 2 (a step backward: one step). Every entry is
then one scalar and its formula fits a line; at T = 3 dWh already has three nested terms. An
expression longer than TEXT_LIMIT characters is not shown.

The wrong entry is named by the failure, the call by the trace, and a check may make more than one
gradient call (truncated BPTT beside the rnn_backward of each window, say): so the formula is shown
only if the entry is one of that call's outputs, and the formula's value at the example is the
expected value the failure states. Otherwise it would explain another call's entry, and nothing is
said.

How: the sequence is built from scalar symbols named as the contract's arguments (x_1, x_2, h0,
Wx, Wh, b; a step: x, prev_h, …) by the SymPy oracle (``reference.oracles.sympy_rnn``), and
L = Σ_t h_t·dh_t is differentiated by ``sympy.diff``: no chain rule is written here. Each tanh(a_t)
is then written h_t (next_h), and 1 − h_t² kept as one factor; the terms are collected by the
first step's factor and factored, which gives the lecture's δ form. LaTeX comes from ``sympy.latex``.

SymPy and the reference are imported only here, and this module only when a check failed with
the reference installed (``runner.with_diagnosis``), after ``tiny_gradient_call`` found a tiny
example: a passing grade and the student self-check never import SymPy.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

import numpy as np

from checks.engine.isolation.contract_returns import RETURNS, shape_of
from checks.engine.run.counterexample import Counterexample
from checks.engine.isolation.trace import CacheRef, Trace
# The gated cells' module holds the text helpers both share (it imports nothing from here: no cycle).
from checks.engine.run.symbolic_gates import AGREEMENT, TEXT_LIMIT, gated_explanation, latex_entry, unicode_text

__all__ = ["AGREEMENT", "TEXT_LIMIT", "TINY_STEPS", "latex_entry", "symbolic_explanation", "unicode_text"]

TINY_STEPS = 2  # the largest T explained
FORWARD_OF = {"rnn_step_backward": "rnn_step_forward", "rnn_backward": "rnn_forward"}


@dataclass(frozen=True)
class GradientCall:
    """The tiny forward and backward calls of a failing example.

    - backward: "rnn_step_backward" or "rnn_backward"
    - inputs: the forward's arguments by contract name, x (1, D) or (1, T, D), prev_h / h0 (1, 1), Wx, Wh (1, 1), b (1,)
    - upstream: dnext_h (1, 1) or dh (1, T, 1)
    """

    backward: str
    inputs: dict[str, np.ndarray]
    upstream: np.ndarray

    @property
    def steps(self) -> int:
        """T (1 at a step); called on a tiny call only, whose x has its shape."""
        return 1 if self.backward == "rnn_step_backward" else int(self.inputs["x"].shape[1])


def symbolic_explanation(example: Counterexample) -> tuple[str, str] | None:
    """(text, LaTeX) of the expected value of the example's worst wrong gradient entry, or None when
    the example is not tiny, the entry is not a gradient of that call, SymPy is missing, or it is too long.
    A tiny LSTM or GRU step is written with its gates (``checks.engine.run.symbolic_gates``)."""
    call = tiny_gradient_call(example.trace)
    worst = next(iter(example.discrepancies), None)
    if call is None and worst is not None:  # perhaps a tiny LSTM or GRU step, written with its gates
        return gated_explanation(example.trace, worst.name, tuple(worst.index), worst.expected)
    if call is None or worst is None or not is_entry_of(call, worst.name, tuple(worst.index)):
        return None
    if importlib.util.find_spec("sympy") is None:
        return None
    return written_entry(call, worst.name, tuple(worst.index), worst.expected)


def is_entry_of(call: GradientCall, name: str, index: tuple[int, ...]) -> bool:
    """Whether ``name[index]`` is an entry of one of ``call``'s gradients (not of another call's, larger)."""
    spec = next((spec for spec in RETURNS[call.backward] if spec.split(":")[0] == name), None)
    if spec is None or spec == "cache":
        return False
    shape = shape_of(spec.split(":")[1], {"N": 1, "T": call.steps, "D": 1, "H": 1})
    return len(index) == len(shape) and all(0 <= i < side for i, side in zip(index, shape))


def tiny_gradient_call(trace: Trace) -> GradientCall | None:
    """The first backward call of the trace (on a cache of a forward call in it) if its example is tiny."""
    for call in trace.calls:
        forward = FORWARD_OF.get(call.function)
        if forward is None or len(call.args) != 2 or not isinstance(call.args[1], CacheRef):
            continue
        made_by = trace.calls[call.args[1].call]
        if made_by.function != forward or len(made_by.args) != 5:
            return None
        names = ("x", "prev_h" if forward == "rnn_step_forward" else "h0", "Wx", "Wh", "b")
        found = GradientCall(call.function, dict(zip(names, map(np.asarray, made_by.args))), np.asarray(call.args[0]))
        return found if is_tiny(found) else None
    return None


def is_tiny(call: GradientCall) -> bool:
    """N = 1, D = H = 1 and T ≤ TINY_STEPS: x and the upstream gradient (1, 1) at a step, (1, T, 1) for a
    sequence; the state, Wx and Wh (1, 1); b (1,)."""
    step = call.backward == "rnn_step_backward"
    x, state = call.inputs["x"], call.inputs["prev_h" if step else "h0"]
    T = 1 if step or x.ndim != 3 else x.shape[1]
    per_step = (1, 1) if step else (1, T, 1)
    return (1 <= T <= TINY_STEPS and x.shape == call.upstream.shape == per_step and call.inputs["b"].shape == (1,)
            and state.shape == call.inputs["Wx"].shape == call.inputs["Wh"].shape == (1, 1))


# -- the derivation (SymPy from here on) ----------------------------------------------------------

def written_entry(call: GradientCall, name: str, index: tuple[int, ...], expected: float) -> tuple[str, str] | None:
    """(text, LaTeX) of ∂L/∂(the input entry that gradient ``name`` at ``index`` belongs to), if its value at the
    example is ``expected``, the value the failure says is due (else it is not what the failure is about)."""
    import sympy as sp

    symbols = Symbols(call.backward == "rnn_step_backward", call.steps)
    derivative = sp.diff(symbols.loss(), symbols.input_of(name, index))
    if not np.isclose(symbols.value_at(derivative, call), expected, **AGREEMENT):
        return None
    expression = symbols.lecture_form(derivative)
    if expression is None:
        return None
    entry = f"{name}[{', '.join(map(str, index))}]"
    text = f"{entry} = {unicode_text(expression)}"
    if len(text) > TEXT_LIMIT:
        return None
    latex = sp.latex(expression, symbol_names=symbols.latex_names, mul_symbol="dot")
    return f"{text}\n{symbols.where}", rf"{latex_entry(name, index)} = {latex}"


class Symbols:
    """The scalar symbols of a tiny example, by the contract's names; tanh(a_t) written h_t.

    A step: x, prev_h, Wx, Wh, b, dnext_h and next_h. A sequence of T steps: x_1 … x_T, h0, Wx,
    Wh, b, dh_1 … dh_T and h_1 … h_T. ``slope[t]`` stands for 1 − h_t², the tanh derivative.
    """

    def __init__(self, step: bool, steps: int) -> None:
        import sympy as sp

        real = dict(real=True)
        self.step, self.steps = step, steps
        times = [""] if step else [f"_{t}" for t in range(1, steps + 1)]
        self.x = [sp.Symbol("x" + time, **real) for time in times]
        self.h0 = sp.Symbol("prev_h" if step else "h0", **real)
        self.Wx, self.Wh, self.b = (sp.Symbol(n, **real) for n in ("Wx", "Wh", "b"))
        self.dh = [sp.Symbol(("dnext_h" if step else "dh") + time, **real) for time in times]
        self.h = [sp.Symbol(("next_h" if step else "h") + time, **real) for time in times]
        self.slope = [sp.Symbol(f"(1 − {h}²)", **real) for h in self.h]
        self.latex_names = self.names_in_latex()
        self.where = "where next_h = tanh(x·Wx + prev_h·Wh + b)" if step else self.sequence_where()

    def names_in_latex(self) -> dict[Any, str]:
        """Each symbol as LaTeX: x_{1}, h_{0}, W_{h}, \\mathrm{d}h_{2}, \\left(1 - h_{2}^{2}\\right), …"""
        times = [""] if self.step else [f"_{{{t}}}" for t in range(1, self.steps + 1)]
        h = [r"h_{\mathrm{next}}"] if self.step else [f"h{time}" for time in times]
        return {**dict(zip(self.x, [f"x{time}" for time in times])), **dict(zip(self.h, h)),
                self.h0: r"h_{\mathrm{prev}}" if self.step else "h_{0}", self.Wx: "W_{x}", self.Wh: "W_{h}", self.b: "b",
                **dict(zip(self.dh, [rf"\mathrm{{d}}{name}" for name in h])),
                **{slope: rf"\left(1 - {name}^{{2}}\right)" for slope, name in zip(self.slope, h)}}

    def sequence_where(self) -> str:
        """'where h_1 = tanh(x_1·Wx + h0·Wh + b), h_2 = …; x_t = x[0, t−1, 0], dh_t = dh[0, t−1, 0]'."""
        previous = [self.h0, *self.h[:-1]]
        states = ", ".join(f"{h} = tanh({x}·Wx + {before}·Wh + b)" for h, x, before in zip(self.h, self.x, previous))
        if self.steps == 1:
            return f"where {states}; x_1 = x[0, 0, 0], dh_1 = dh[0, 0, 0]"
        return f"where {states}; x_t = x[0, t−1, 0], dh_t = dh[0, t−1, 0]"

    def states(self) -> list[Any]:
        """tanh(a_1) … tanh(a_T), by the SymPy oracle's forward."""
        from reference.oracles.sympy_rnn import symbolic_states

        x = np.array(self.x, dtype=object).reshape(1, len(self.x), 1)
        states = symbolic_states(x, np.array([[self.h0]], dtype=object), np.array([[self.Wx]], dtype=object),
                                 np.array([[self.Wh]], dtype=object), np.array([self.b], dtype=object))
        return [state[0, 0] for state in states]

    def loss(self) -> Any:
        """L = Σ_t tanh(a_t)·dh_t, whose gradient the backward returns."""
        import sympy as sp

        return sp.Add(*[state * dh for state, dh in zip(self.states(), self.dh)])

    def value_at(self, expression: Any, call: GradientCall) -> float:
        """``expression`` (of the inputs, tanh unexpanded) evaluated at the tiny ``call``'s numbers."""
        x, upstream = call.inputs["x"].reshape(-1), call.upstream.reshape(-1)
        state = call.inputs["prev_h" if self.step else "h0"]
        values = {**dict(zip(self.x, x)), **dict(zip(self.dh, upstream)), self.h0: state.item(),
                  self.Wx: call.inputs["Wx"].item(), self.Wh: call.inputs["Wh"].item(), self.b: call.inputs["b"].item()}
        return float(expression.subs({symbol: float(value) for symbol, value in values.items()}))

    def input_of(self, gradient: str, index: tuple[int, ...]) -> Any:
        """The input symbol gradient ``gradient`` at ``index`` differentiates by (dx[0, 1, 0]: x_2)."""
        if gradient == "dx":
            return self.x[0 if self.step else index[1]]
        return {"dprev_h": self.h0, "dh0": self.h0, "dWx": self.Wx, "dWh": self.Wh, "db": self.b}[gradient]

    def lecture_form(self, derivative: Any) -> Any | None:
        """``derivative`` with h_t for tanh(a_t) and 1 − h_t² as one factor, collected by the first step's
        factor and factored (None if a tanh is left, which the lecture would not write)."""
        import sympy as sp

        states = self.states()
        for state, h in reversed(list(zip(states, self.h))):  # the last step's tanh holds the earlier ones
            derivative = derivative.subs(state, h)
        derivative = derivative.subs({h ** 2: 1 - slope for h, slope in zip(self.h, self.slope)})
        if derivative.has(sp.tanh):
            return None
        expanded = sp.expand(derivative)
        if len(self.slope) < 2:
            return sp.factor(expanded)
        by_first = sp.collect(expanded, self.slope[0], evaluate=False)
        return sp.Add(*[sp.factor(key) * sp.factor(value) for key, value in by_first.items()])
