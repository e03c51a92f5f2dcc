"""The expected gradient entry of a tiny failing LSTM or GRU step, derived by SymPy and written with the gates.

When a gradient check of lstm_step_backward or gru_step_backward fails on a tiny example (N = D = H = 1:
one unit per gate), the worst wrong entry is shown as the lecture writes it, with the gate values::

    dprev_c[0, 0] = f·(dnext_c + (1 − tanh(next_c)²)·dnext_h·o)
    where i = σ(x·Wx_i + prev_h·Wh_i + b_i), f = σ(…), o = σ(…), g = tanh(x·Wx_g + prev_h·Wh_g + b_g), next_c = f·prev_c + i·g

The LSTM's gates are i, f, o, g in CS231n's block order (Wx_i = Wx[0, 0], …, b_g = b[3]); the GRU's r, z, n
(torch.nn.GRU's): r = σ(x·Wx_r + bx_r + prev_h·Wh_r + bh_r), z likewise, n = tanh(x·Wx_n + bx_n + r·(prev_h·Wh_n + bh_n)).

How: the step's outputs come from the SymPy oracles (``symbolic_lstm_step_scalars``,
``symbolic_gru_step_scalar``) on scalar symbols named as the contract's arguments, and
L = next_h·dnext_h (+ next_c·dnext_c) is differentiated by ``sympy.diff``. Then σ(a_k) is written as its
gate k and σ'(a_k) as k·(1 − k), tanh(a_g) as g and its derivative's g² as 1 − g², f·prev_c + i·g as next_c
(tanh(next_c) kept, 1 − tanh(next_c)² one factor), and the terms collected by the upstream gradients.

Trust, as for the vanilla RNN (``checks.engine.run.symbolic``): the formula is shown only if the entry is one
of that call's own gradients, the derivative's value at the example is the expected value the failure states,
and so is the written formula's (the gates evaluated at the example); and its line fits TEXT_LIMIT.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from checks.engine.isolation.trace import CacheRef, Trace

# backward -> (its forward, the gates in block order, the forward's argument names, the upstream names)
GATED = {
    "lstm_step_backward": ("lstm_step_forward", "ifog", ("x", "prev_h", "prev_c", "Wx", "Wh", "b"),
                           ("dnext_h", "dnext_c")),
    "gru_step_backward": ("gru_step_forward", "rzn", ("x", "prev_h", "Wx", "Wh", "bx", "bh"), ("dnext_h",)),
}
TEXT_LIMIT = 160  # characters of the expression's line (the vanilla RNN's too: checks.engine.run.symbolic)
# How close the formula's value must be to the expected value the failure states: a reference's is
# the same up to rounding, central differences (a finite-difference check's) up to their error.
AGREEMENT = {"rtol": 1e-5, "atol": 1e-8}
SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
STATES = ("x", "prev_h", "prev_c")  # the (1, 1) inputs; the others are one row (1, K) or (K,) of K gates


@dataclass(frozen=True)
class GatedCall:
    """The tiny forward and backward calls of a failing example.

    - backward: "lstm_step_backward" or "gru_step_backward"
    - inputs: the forward's arguments by contract name: x, prev_h (, prev_c) (1, 1); Wx, Wh (1, K); b / bx, bh (K,)
    - upstream: dnext_h (, dnext_c), each (1, 1)
    """

    backward: str
    inputs: dict[str, np.ndarray]
    upstream: tuple[np.ndarray, ...]

    @property
    def gates(self) -> str:
        return GATED[self.backward][1]


def gated_explanation(trace: Trace, name: str, index: tuple[int, ...], expected: float) -> tuple[str, str] | None:
    """(text, LaTeX) of the expected value of ``name[index]``, the worst wrong entry, or None when the trace's
    first gated step backward is not tiny, the entry is not one of its gradients, SymPy is missing, the value
    is not ``expected`` or the line is too long."""
    call = tiny_gated_call(trace)
    if call is None or not is_gated_entry_of(call, name, index) or importlib.util.find_spec("sympy") is None:
        return None
    return GateSymbols(call.backward).written_entry(call, name, index, expected)


def tiny_gated_call(trace: Trace) -> GatedCall | None:
    """The first gated step backward of the trace (on a cache of its forward in it) if its example is tiny."""
    for call in trace.calls:
        if call.function not in GATED or not call.args or not isinstance(call.args[-1], CacheRef):
            continue
        forward, _, names, upstream_names = GATED[call.function]
        made_by = trace.calls[call.args[-1].call]
        if made_by.function != forward or len(made_by.args) != len(names) or len(call.args) != len(upstream_names) + 1:
            return None
        found = GatedCall(call.function, dict(zip(names, map(np.asarray, made_by.args))),
                          tuple(map(np.asarray, call.args[:-1])))
        return found if is_tiny(found) else None
    return None


def is_tiny(call: GatedCall) -> bool:
    """N = D = H = 1: x, the states and the upstream gradients (1, 1); Wx, Wh (1, K) and the biases (K,), K gates."""
    K = len(call.gates)
    return (all(np.shape(u) == (1, 1) for u in call.upstream)
            and all(np.shape(a) == expected_shape(n, K) for n, a in call.inputs.items()))


def expected_shape(name: str, K: int) -> tuple[int, ...]:
    """An argument's (or its gradient's, without the d) shape at N = D = H = 1 with K gates."""
    return (1, 1) if name in STATES else (1, K) if name in ("Wx", "Wh") else (K,)


def is_gated_entry_of(call: GatedCall, name: str, index: tuple[int, ...]) -> bool:
    """Whether ``name[index]`` is an entry of one of the step backward's gradients (d + an input's name)."""
    if not name.startswith("d") or name[1:] not in call.inputs:
        return False
    shape = expected_shape(name[1:], len(call.gates))
    return len(index) == len(shape) and all(0 <= i < side for i, side in zip(index, shape))


class GateSymbols:
    """The scalar symbols of a tiny gated step by the contract's names (Wx_i = Wx[0, 0], b_g = b[3], …), and
    the gate symbols (i, f, o, g; r, z, n) with their derivative factors (1 − i), (1 − g²), …"""

    def __init__(self, backward: str) -> None:
        import sympy as sp

        real = dict(real=True)
        _, self.gate_names, names, upstream = GATED[backward]
        self.lstm = backward == "lstm_step_backward"
        self.inputs = {n: sp.Symbol(n, **real) for n in names if n in STATES}
        self.inputs.update({n: [sp.Symbol(f"{n}_{k}", **real) for k in self.gate_names]
                            for n in names if n not in STATES})
        self.upstream = [sp.Symbol(n, **real) for n in upstream]
        self.gate = {k: sp.Symbol(k, **real) for k in self.gate_names}
        tanh_gate = "g" if self.lstm else "n"
        self.slope = {k: sp.Symbol(f"(1 − {k}²)" if k == tanh_gate else f"(1 − {k})", **real) for k in self.gate_names}
        self.next_c = sp.Symbol("next_c", **real)
        self.cell_slope = sp.Symbol("(1 − tanh(next_c)²)", **real)

    # -- the forward, from the oracles, and the gates' expressions in it
    def outputs(self) -> list[Any]:
        """next_h (, next_c) as SymPy expressions of the inputs, by the oracle's forward."""
        if self.lstm:
            from reference.oracles.sympy_lstm import symbolic_lstm_step_scalars

            return list(symbolic_lstm_step_scalars(*self.inputs.values()))
        from reference.oracles.sympy_gru import symbolic_gru_step_scalar

        return [symbolic_gru_step_scalar(*self.inputs.values())]

    def preactivation(self, k: str, with_gates: bool) -> Any:
        """a_k of the forward; the GRU's a_n holds r, written r if ``with_gates`` else σ(a_r)."""
        s, j = self.inputs, self.gate_names.index(k)
        if self.lstm:
            return s["x"] * s["Wx"][j] + s["prev_h"] * s["Wh"][j] + s["b"][j]
        hidden = s["prev_h"] * s["Wh"][j] + s["bh"][j]
        if k == "n":
            hidden *= self.gate["r"] if with_gates else self.sigma(self.preactivation("r", False))
        return s["x"] * s["Wx"][j] + s["bx"][j] + hidden

    @staticmethod
    def sigma(a: Any) -> Any:
        import sympy as sp

        return 1 / (1 + sp.exp(-a))

    # -- the entry
    def written_entry(self, call: GatedCall, name: str, index: tuple[int, ...], expected: float) -> tuple[str, str] | None:
        """(text, LaTeX) of ∂L/∂(the input entry of gradient ``name`` at ``index``), if both the derivative and
        its gate form are ``expected`` at the example."""
        import sympy as sp

        loss = sp.Add(*[out * up for out, up in zip(self.outputs(), self.upstream)])
        derivative = sp.diff(loss, self.input_of(name, index))
        values = self.values(call)
        if not np.isclose(float(derivative.subs(values)), expected, **AGREEMENT):
            return None
        expression = self.lecture_form(derivative)
        if expression is None or not np.isclose(float(expression.subs(self.gate_values(values))), expected, **AGREEMENT):
            return None
        entry = f"{name}[{', '.join(map(str, index))}]"
        text = f"{entry} = {unicode_text(expression)}"
        if len(text) > TEXT_LIMIT:
            return None
        latex = sp.latex(expression, symbol_names=self.latex_names(), mul_symbol="dot")
        return f"{text}\n{self.where()}", rf"{latex_entry(name, index)} = {latex}"

    def input_of(self, gradient: str, index: tuple[int, ...]) -> Any:
        """The symbol gradient ``gradient`` at ``index`` differentiates by (dWx[0, 2]: Wx_o; db[3]: b_g)."""
        symbol = self.inputs[gradient[1:]]
        return symbol[index[-1]] if isinstance(symbol, list) else symbol

    def values(self, call: GatedCall) -> dict[Any, float]:
        """Every input and upstream symbol's number in the tiny ``call``."""
        values = {up: float(np.asarray(u).item()) for up, u in zip(self.upstream, call.upstream)}
        for n, symbol in self.inputs.items():
            numbers = np.asarray(call.inputs[n], dtype=float).reshape(-1)
            values.update(zip(symbol, map(float, numbers)) if isinstance(symbol, list) else {symbol: float(numbers[0])})
        return values

    def gate_values(self, values: dict[Any, float]) -> dict[Any, float]:
        """``values`` with the gates, their derivative factors, next_c and tanh(next_c) evaluated at them."""
        import sympy as sp

        gates: dict[Any, float] = {}
        for k in self.gate_names:
            a = float(self.preactivation(k, True).subs({**values, **gates}))
            tanh = k in "gn"
            gates[self.gate[k]] = float(np.tanh(a)) if tanh else float(1 / (1 + np.exp(-a)))
            gates[self.slope[k]] = 1 - gates[self.gate[k]] ** (2 if tanh else 1)
        if self.lstm:
            c = values[self.inputs["prev_c"]] * gates[self.gate["f"]] + gates[self.gate["i"]] * gates[self.gate["g"]]
            gates.update({self.next_c: c, self.cell_slope: 1 - float(np.tanh(c)) ** 2})
        return {**values, **gates, **({sp.tanh(self.next_c): float(np.tanh(gates[self.next_c]))} if self.lstm else {})}

    def lecture_form(self, derivative: Any) -> Any | None:
        """``derivative`` written with the gates, collected by the upstream gradients (None if an exp or a tanh
        other than tanh(next_c) is left, which the lecture would not write)."""
        import sympy as sp

        for k in self.gate_names:
            if k in "gn":
                continue
            j, bias = self.gate_names.index(k), self.inputs["b" if self.lstm else "bx"]
            sigma = self.sigma(self.preactivation(k, False))
            derivative = derivative.subs(sp.diff(sigma, bias[j]), self.gate[k] * self.slope[k]).subs(sigma, self.gate[k])
        tanh_gate = self.gate["g" if self.lstm else "n"]
        derivative = derivative.subs(sp.tanh(self.preactivation(str(tanh_gate), True)), tanh_gate)
        squares = {tanh_gate ** 2: 1 - self.slope[str(tanh_gate)]}
        if self.lstm:
            cell = self.gate["f"] * self.inputs["prev_c"] + self.gate["i"] * self.gate["g"]
            derivative = derivative.subs(sp.tanh(cell), sp.tanh(self.next_c))
            squares[sp.tanh(self.next_c) ** 2] = 1 - self.cell_slope
        derivative = derivative.subs(squares)
        if derivative.has(sp.exp) or derivative.atoms(sp.tanh) - {sp.tanh(self.next_c)}:
            return None
        return sp.factor_terms(sp.collect(sp.expand(derivative), self.upstream))

    def where(self) -> str:
        """'where i = σ(x·Wx_i + prev_h·Wh_i + b_i), …': the gates as the forward computes them."""
        if self.lstm:
            gates = [f"{k} = {'tanh' if k == 'g' else 'σ'}(x·Wx_{k} + prev_h·Wh_{k} + b_{k})" for k in "ifog"]
            return f"where {', '.join(gates)}, next_c = f·prev_c + i·g; blocks of Wx, Wh, b in the order i, f, o, g"
        gates = [f"{k} = σ(x·Wx_{k} + bx_{k} + prev_h·Wh_{k} + bh_{k})" for k in "rz"]
        return (f"where {', '.join(gates)}, n = tanh(x·Wx_n + bx_n + r·(prev_h·Wh_n + bh_n)); "
                "blocks of Wx, Wh, bx, bh in the order r, z, n")

    def latex_names(self) -> dict[Any, str]:
        """Each symbol as LaTeX: W_{x,i}, b_{g}, h_{\\mathrm{prev}}, \\mathrm{d}c_{\\mathrm{next}}, \\left(1 - i\\right), …"""
        words = {"x": "x", "prev_h": r"h_{\mathrm{prev}}", "prev_c": r"c_{\mathrm{prev}}"}
        names = {s: words[n] for n, s in self.inputs.items() if n in STATES}
        for n, symbols in self.inputs.items():
            if n not in STATES:
                names.update({s: f"{n[0]}_{{{n[1:]},{k}}}" if n[1:] else f"b_{{{k}}}"
                              for s, k in zip(symbols, self.gate_names)})
        names.update({up: rf"\mathrm{{d}}{up.name[-1]}_{{\mathrm{{next}}}}" for up in self.upstream})
        names.update({self.next_c: r"c_{\mathrm{next}}", self.cell_slope: r"\left(1 - \tanh^{2} c_{\mathrm{next}}\right)"})
        for k in self.gate_names:
            names[self.gate[k]] = k
            names[self.slope[k]] = rf"\left(1 - {k}^{{2}}\right)" if k in "gn" else rf"\left(1 - {k}\right)"
        return names


# -- the text, shared with checks.engine.run.symbolic ------------------------------------------------

def unicode_text(expression: Any) -> str:
    """SymPy's text with · for products, superscript powers and a true minus sign."""
    import sympy as sp

    text = sp.sstr(expression)
    text = re.sub(r"\*\*(\d+)", lambda power: power.group(1).translate(SUPERSCRIPTS), text)
    return text.replace("*", "·").replace("-", "−")


def latex_entry(name: str, index: tuple[int, ...]) -> str:
    """\\mathrm{dW_h}[0, 0] style: the gradient's name as the contract returns it, and the entry."""
    return rf"\mathrm{{{name}}}[{', '.join(map(str, index))}]".replace("_", r"\_")
