"""The grader's view of the contract agrees with the reference and the starter."""

from __future__ import annotations

import ast
from pathlib import Path

import reference
from checks.engine.isolation.contract_functions import CONTRACT_CLASSES, CONTRACT_FUNCTIONS
from checks.engine.isolation.contract_returns import RETURNS

STARTER = Path(__file__).resolve().parent.parent / "submissions" / "starter.py"


def test_reference_exports_exactly_the_contract():
    assert sorted(reference.__all__) == sorted((*CONTRACT_FUNCTIONS, *CONTRACT_CLASSES))


def test_starter_stubs_every_contract_function_with_a_docstring():
    functions = {node.name: node for node in ast.parse(STARTER.read_text()).body if isinstance(node, ast.FunctionDef)}
    assert set(CONTRACT_FUNCTIONS) <= set(functions)
    assert all(ast.get_docstring(functions[name]) for name in CONTRACT_FUNCTIONS)


def test_every_tuple_returning_function_has_a_returns_spec():
    tuple_returning = set(CONTRACT_FUNCTIONS) - {"clip_grad_norm", "rnn_classifier_loss", "tbptt_batches",
                                                 "temporal_softmax_loss"}
    assert set(RETURNS) == tuple_returning
