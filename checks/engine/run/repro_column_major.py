"""Reproduction scripts for deeplearning.ai's column-major checks (``--assignment dlai-c5w1``): numpy only.

A column-major check's calls go through ``ColumnMajor``, outside the row-vector contract's trace, so there is no
trace to replay (``checks.engine.run.repro.script_for``). As for the PyTorch checks (``repro_torch``), the script
checks the check's property itself, on the failing example's exact inputs, rebuilt from
``Counterexample.arguments`` (p: the ColumnProblem, seed: the finite differences' seed) as the check builds them::

    python <check>.py SUBMISSION        # a .py file, a folder with __init__.py, or the notebook

Per kind of check (``checks/dlai.py``), in the course's letters:

- matches_reference: the forward's outputs, or the backward's gradient dict (on your own forward's cache), equal
  the reference's (``reference.column_major``), computed here and embedded, with the grader's tolerance
  |got − expected| ≤ RTOL·(|expected| + max|expected|) + TINY (``checks.verdicts``). For rnn_backward and
  lstm_backward, the gradients of the course's printed mistake (no gradient between steps) are embedded too, to
  name it as the check does;
- yt_pred a softmax of each column, the open forget gate, the cell composed (c0 = 0), the tanh and σ identities:
  the equations on your own values (your a_next, your gates from your cache), computed in the script;
- matches_finite_differences: your backward against central differences of your own forward, L = Σ⟨a, da⟩
  (+ ⟨c_next, dc_next⟩), along the check's own random direction (``checks.gradcheck.joint_direction`` of its
  seed over ``checks.dlai_gradients.flat_arguments``, embedded), with its tolerance; then each input alone;
- shapes_are_exact_at_size_one: every returned array float64 of exactly its shape (elsewhere, as the grader's
  policy ``shape_mistakes = "charged_once"``, a shape differing by axes of length 1 is judged by value).

The student's code does ``from rnn_utils import *``: the course's helpers (checks/assignments/dlai-c5w1/) are
embedded and installed as the module rnn_utils when the script cannot import one. Exit status: 0 the property holds
on this example, 1 it fails (the message says why), 2 bad usage. The script's code is
``repro_column_major_runtime``; arrays are written by ``repro_values`` (exact: repr of floats, base64 of bytes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from checks.column_major_problems import ColumnProblem
from checks.dlai import LSTM_MOVED, RNN_MOVED  # the parameters the backward checks differentiate
from checks.dlai_gradients import CELL_EQUATIONS, TANH_IDENTITY, flat_arguments
from checks.engine.isolation.column_major import (ARGUMENTS, DIFFERENTIATED, FORWARD_OF, FORWARD_RETURNS, GRADIENTS,
                                                  LSTM_CACHE, undefined_name_hint)
from checks.engine.run.counterexample import Counterexample
from checks.engine.inputs.intake import REPRO_SCRIPT_MARKER
from checks.engine.run.repro_column_major_runtime import RUNTIME
from checks.engine.run.repro_values import Names, NotReproducible, literal
from checks.gradcheck import EPS, FD_ATOL, FD_RTOL, joint_direction
from checks.registry import ASSIGNMENTS_FOLDER, Check
from checks.verdicts import RTOL, TINY

TIME_LIMIT = 60  # seconds per call of the student's code before the script calls it a hang
RNN_UTILS = ASSIGNMENTS_FOLDER / "dlai-c5w1" / "rnn_utils.py"  # the course's helpers, which [course] paths gives

HOW = {
    "reference": "it compares your results with the reference's, embedded below, with the grader's tolerance.",
    "finite_differences": ("it compares your backward's gradients with central differences of your own forward, "
                           "along the check's own random direction, with the grader's tolerance."),
    "shapes": "it checks that every array you return is float64 of exactly its shape.",
    "softmax": "it checks that yt_pred is the softmax over axis 0 of your own W·a_next + by.",
    "hold": "it holds the forget gate open and the input gate shut, and checks that your cell keeps c_prev.",
    "composed": "it checks that your sequence forward is your own cell applied step after step (c0 = 0).",
    "tanh_identity": f"it checks the tanh identity: {TANH_IDENTITY}.",
    "gate_identities": "it checks the LSTM's backward equations on your own gates, read from your cache.",
}

HEADER = '''{marker}
"""Reproduces the failing check {name} ({group}) of rnn-grade.

The property: {description}
The example's sizes: {sizes}.

Run it on your submission (your .py file, a folder with __init__.py, or your notebook):

    python {name}.py SUBMISSION

It needs only numpy. It runs your code on the exact inputs of the failing example and checks the property
itself: {how}

Exit status: 0 the property holds on this example, 1 it does not (shown below), 2 bad usage.
"""
import base64
import importlib.util
import linecache
import signal
import sys
import traceback
import types
from pathlib import Path

import numpy as np

RTOL, TINY = {rtol!r}, {tiny!r}  # |got - expected| <= RTOL * (|expected| + max |expected|) + TINY
FD_EPS, FD_RTOL, FD_ATOL = {eps!r}, {fd_rtol!r}, {fd_atol!r}  # finite differences as the grader takes them
TIME_LIMIT = {time_limit!r}  # seconds per call
TANH_IDENTITY = {tanh_identity!r}
CELL_EQUATIONS = {cell_equations!r}
NAME_ERROR = {name_error!r}  # a NameError's likely cause, as the grader words it

# The course's helpers (checks/assignments/dlai-c5w1/rnn_utils.py), which your code imports with
# `from rnn_utils import *`: installed as the module rnn_utils when none can be imported (install_helpers).
RNN_UTILS = {rnn_utils!r}
'''


def header_text(check: Check, sizes: str, how: str) -> str:
    """The script's docstring, imports, tolerances and helpers (``HEADER``) for ``check``; ``sizes`` in the course's
    letters, ``how`` what the script checks."""
    return HEADER.format(marker=REPRO_SCRIPT_MARKER, name=check.name, group=check.group, description=check.description,
                         sizes=sizes, how=how, rtol=RTOL, tiny=TINY, eps=EPS, fd_rtol=FD_RTOL, fd_atol=FD_ATOL,
                         time_limit=TIME_LIMIT, tanh_identity=TANH_IDENTITY, cell_equations=CELL_EQUATIONS,
                         name_error=name_error(), rnn_utils=RNN_UTILS.read_text(encoding="utf-8"))


def name_error() -> str:
    """``undefined_name_hint``'s sentence (the grader's), a format string of the undefined {name}."""
    raised = "NameError: name 'UNDEFINED' is not defined"
    return undefined_name_hint(raised)[len(raised) + 2:].replace("{", "{{").replace("}", "}}").replace(
        "UNDEFINED", "{name}")


FUNCTIONS = tuple(FORWARD_RETURNS) + tuple(GRADIENTS)
# The check names' endings, by kind (checks/dlai.py): "dlai_<function>_<ending>".
KINDS = {"matches_reference": "reference", "matches_finite_differences": "finite_differences",
         "shapes_are_exact_at_size_one": "shapes", "yt_pred_is_a_softmax_of_each_column": "softmax",
         "is_the_cell_composed": "composed", "is_the_cell_composed_from_a_zero_cell": "composed",
         "obeys_the_tanh_identity": "tanh_identity", "obeys_the_gate_identities": "gate_identities"}
HOLD_CHECK = "dlai_lstm_cell_with_open_forget_gate_keeps_the_cell"


def kind_of(check: Check) -> tuple[str, str] | None:
    """(the function judged, the kind of property) of a dlai check, or None for another check."""
    if check.name == HOLD_CHECK:
        return "lstm_cell_forward", "hold"
    for function in FUNCTIONS:  # a prefix "dlai_<function>_" followed by a kind's ending names one function only
        prefix = f"dlai_{function}_"
        if check.name.startswith(prefix) and check.name[len(prefix):] in KINDS:
            return function, KINDS[check.name[len(prefix):]]
    return None


def has_column_major_script(check: Check) -> bool:
    """True if ``check`` is a dlai-c5w1 check this module writes a script for."""
    return kind_of(check) is not None


def forward_call(function: str, p: ColumnProblem) -> tuple[str, tuple, tuple]:
    """(the forward, its arguments, the upstream gradients of its differentiated outputs) that ``function`` is
    judged on: one step's (xt, a_prev[, c_prev], parameters) for a cell, (x, a0, parameters) for a sequence."""
    forward = FORWARD_OF.get(function, function)
    if "cell" in forward:
        return forward, p.step_args(), p.step_upstream
    return forward, p.sequence_args, (p.da,)


def reference_values(function: str, forward: str, args: tuple, upstream: tuple) -> dict[str, np.ndarray]:
    """The reference's outputs (forward) or gradient dict (backward, on the reference's own cache), by name."""
    from reference import column_major

    results = getattr(column_major, forward)(*args)
    if function == forward:
        return {spec.split(":")[0]: value for spec, value in zip(FORWARD_RETURNS[forward], results)
                if not spec.startswith("cache")}
    return dict(getattr(column_major, function)(*upstream, results[-1]))


def mistake(function: str, forward: str, args: tuple, upstream: tuple) -> tuple[dict, str] | None:
    """The course's printed mistake for the sequence backwards (no gradient between steps): (its gradients, the
    check's sentence), as ``checks.dlai`` adds it; None for the other functions."""
    from reference import column_major
    from reference.misconceptions import column_major as models

    known = {"rnn_backward": (models.rnn_backward_no_gradient_between_steps, models.RNN_NO_GRADIENT_BETWEEN_STEPS),
             "lstm_backward": (models.lstm_backward_no_gradient_between_steps, models.NO_GRADIENT_BETWEEN_STEPS)}
    if function not in known:
        return None
    model, sentence = known[function]
    return dict(model(*upstream, getattr(column_major, forward)(*args)[-1])), sentence


def case_for(function: str, kind: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The script's CASE: what the check judges on the example (its function, forward, arguments by name, upstream
    gradients), and what the kind needs embedded (the reference's values, the check's direction)."""
    p = arguments["p"]
    forward, args, upstream = forward_call(function, p)
    case: dict[str, Any] = {"kind": kind, "cell": p.cell, "function": function, "forward": forward,
                            "arguments": dict(zip(ARGUMENTS[forward], args)), "upstream": tuple(upstream)}
    if kind == "reference":
        case["expected"] = reference_values(function, forward, args, upstream)
        known = mistake(function, forward, args, upstream)
        if known:
            case["mistake"], case["mistake_note"] = known
    if kind == "finite_differences":
        moved = RNN_MOVED if p.cell == "rnn" else LSTM_MOVED
        case["direction"] = joint_direction(flat_arguments(forward, args, moved), arguments["seed"])
    return case


def tables() -> str:
    """The column-major tables the script needs (``checks.engine.isolation.column_major``), as Python source."""
    return "\n".join(f"{name} = {value!r}" for name, value in (
        ("FORWARD_RETURNS", FORWARD_RETURNS), ("GRADIENTS", GRADIENTS), ("ARGUMENTS", ARGUMENTS),
        ("DIFFERENTIATED", DIFFERENTIATED), ("LSTM_CACHE", LSTM_CACHE)))


def case_text(case: dict[str, Any], names: Names) -> str:
    """CASE as Python source, one entry a line, its arrays named after what they are."""
    labels = {"arguments": "", "expected": "expected_", "mistake": "mistake_", "direction": "v_"}
    items = []
    for key, value in case.items():
        if key in labels:
            text = "{" + ", ".join(f"{k!r}: {literal(v, names, labels[key] + k)}" for k, v in value.items()) + "}"
        elif key == "upstream":
            upstream_names = ("da_next", "dc_next") if "cell" in case["forward"] else ("da",)
            text = "(" + "".join(f"{literal(v, names, n)}, " for v, n in zip(value, upstream_names)) + ")"
        else:
            text = literal(value, names, key)
        items.append(f"    {key!r}: {text},")
    return "{\n" + "\n".join(items) + "\n}"


def column_major_script_for(check: Check, example: Counterexample) -> str:
    """The text of a standalone script (numpy only) checking ``check``'s property on ``example``.

    Raises NotReproducible if the example cannot be rebuilt or written as plain Python and numpy."""
    function, kind = kind_of(check) or ("", "")
    try:
        case, sizes = case_for(function, kind, example.arguments), example.arguments["p"].sizes
    except (KeyError, TypeError, AttributeError) as error:  # an example not drawn as the check draws its own
        raise NotReproducible(f"its example is not one this script can rebuild ({type(error).__name__})") from None
    except ImportError:
        raise NotReproducible("the course's reference is not installed here") from None
    names = Names()
    body = case_text(case, names)
    return "\n".join([header_text(check, sizes, HOW[kind]), tables(), RUNTIME,
                      "# -- the failing example " + "-" * 88, *names.definitions, "",
                      "# What the check judges: your function, the forward it runs (arguments by name, in call order),",
                      "# the upstream gradients, and what this kind of check needs (expected values, a direction).",
                      f"CASE = {body}", "", 'if __name__ == "__main__":', "    sys.exit(main(sys.argv[1:]))", ""])

