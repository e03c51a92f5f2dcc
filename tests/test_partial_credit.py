"""Fair partial credit: a missing function, or one that raises NotImplementedError, costs exactly the
checks that need it, and nothing else (README: "It may define any subset of the contract functions").

- Each partial submission of tests/corpus/partial/ (built from the reference's vanilla RNN, with the starter's
  stubs in several combinations, declared in the file as STUBBED), graded as the vanilla RNN assignment
  (``--assignment rnn``, out of 100), scores exactly what its implemented functions earn,
  computed here from the registry: a check's points if it needs only implemented functions; for a check that
  judges several functions each on its own (hygiene, ``needs_any``), the share of its parts whose functions
  are all implemented.
- The same file with its stubs deleted scores the same, check by check: a stub is a missing function.
- What a student reads on a check that lost points names the functions not implemented.
"""

from __future__ import annotations

import ast
from contextlib import nullcontext
from pathlib import Path

import pytest
from hypothesis import find

import checks.hygiene as hygiene
from checks.engine.isolation.contract_functions import CONTRACT_FUNCTIONS
from checks.engine.run.assignments import assignment_table
from checks.engine.run.results import Grade
from checks.engine.run.runner import grade_submission
from checks.examples import DEGENERATE
from checks.registry import Check, CheckDefinitionError, check, load_checks
from checks.strategies import birnn_problems, classifier_problems

PARTIAL = sorted((Path(__file__).resolve().parent / "corpus" / "partial").glob("*.py"))


@pytest.fixture(scope="module")
def checks() -> list[Check]:
    return load_checks()


@pytest.fixture(scope="module")
def rnn_checks() -> list[Check]:
    """The vanilla RNN assignment's checks (``--assignment rnn``): what the partial corpus implements."""
    return load_checks(points_table=assignment_table(None, "rnn"), assignment=True)


def vanilla_functions(rnn_checks: list[Check]) -> set[str]:
    """The contract functions the vanilla RNN assignment's checks call: the starter's ten."""
    return {function for c in rnn_checks for function in c.needs}


def declared_stubs(source: str) -> set[str]:
    """The file's STUBBED constant, read without importing it."""
    return next(set(ast.literal_eval(node.value)) for node in ast.parse(source).body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "STUBBED")


def raises_not_implemented(function: ast.FunctionDef) -> bool:
    """Its body, after the docstring, is only ``raise NotImplementedError(...)``."""
    body = function.body[1:] if ast.get_docstring(function) is not None else function.body
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    raised = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"


def without_stubs(source: str) -> tuple[str, set[str]]:
    """``source`` with its stub functions deleted, and the aliases of them (``rnn_backward = bptt``);
    and the contract functions that deleting them removed."""
    tree = ast.parse(source)
    stubs = {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and raises_not_implemented(node)}
    aliases = {node.targets[0].id for node in tree.body if isinstance(node, ast.Assign)
               and isinstance(node.value, ast.Name) and node.value.id in stubs}
    tree.body = [node for node in tree.body
                 if not (isinstance(node, ast.FunctionDef) and node.name in stubs)
                 and not (isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in aliases)]
    return ast.unparse(tree), (stubs | aliases) & set(CONTRACT_FUNCTIONS)


def earned(check: Check, implemented: set[str]) -> float:
    """What a correct implementation of ``implemented`` (and nothing else) earns on ``check``."""
    if not check.needs_any:
        return check.points if set(check.needs) <= implemented else 0.0
    parts = check.parts or tuple((function,) for function in check.needs)
    return check.points * sum(set(part) <= implemented for part in parts) / len(parts)


def scores(grade: Grade) -> dict[str, float]:
    return {r.check.name: r.score for r in grade.results}


def test_the_corpus_covers_several_combinations_of_stubs(rnn_checks):
    combinations = {frozenset(declared_stubs(path.read_text())) for path in PARTIAL}
    assert len(PARTIAL) >= 6 and len(combinations) == len(PARTIAL)
    vanilla = vanilla_functions(rnn_checks)
    assert vanilla == set(CONTRACT_FUNCTIONS[:10])  # the contract lists the vanilla RNN's ten first
    assert frozenset(vanilla) in combinations  # the vanilla RNN's starter, as handed out
    assert any(len(stubs) == 1 for stubs in combinations)


@pytest.mark.parametrize("path", PARTIAL, ids=lambda p: p.stem)
def test_a_partial_submission_scores_exactly_what_its_functions_earn(path: Path, tmp_path: Path, rnn_checks):
    checks = rnn_checks
    source = path.read_text()
    deleted_source, stubs = without_stubs(source)
    assert stubs == declared_stubs(source), "STUBBED must name exactly the functions that raise NotImplementedError"
    implemented = vanilla_functions(checks) - stubs
    deleted = tmp_path / path.name
    deleted.write_text(deleted_source)

    grade = grade_submission(path, checks)
    expected = {c.name: earned(c, implemented) for c in checks}
    assert scores(grade) == pytest.approx(expected), "\n".join(
        f"{r.check.name}: {r.score:g}, expected {expected[r.check.name]:g}: {r.message[:300]}"
        for r in grade.results if r.score != pytest.approx(expected[r.check.name]))
    # Deleting the stubs changes nothing, check by check.
    assert scores(grade_submission(deleted, checks)) == pytest.approx(scores(grade))
    for result in grade.results:
        if result.score < result.check.points:
            lines = [line for line in result.message.splitlines() if line.startswith("not implemented: ")]
            assert lines, f"{result.check.name} lost points without saying what is not implemented: {result.message}"
            named = {name for line in lines for name in line.removeprefix("not implemented: ").split(", ")}
            assert named <= stubs, result.message


def test_each_hygiene_check_judges_exactly_its_registered_parts(checks, monkeypatch):
    """The shares the runner takes off (the registered parts) are the probes the check runs, in order."""
    seen: list = []
    monkeypatch.setattr(hygiene, "examine", lambda sub, probes: seen.append([probe.functions for probe in probes]))
    anything = {"p": DEGENERATE, "grads": {"W": DEGENERATE.Wx}, "bp": find(birnn_problems(), lambda _: True),
                "cp": find(classifier_problems(), lambda _: True)}
    hygiene_checks = [c for c in checks if c.group == "hygiene"]
    assert len(hygiene_checks) == 3 and all(c.needs_any and c.parts for c in hygiene_checks)
    for check in hygiene_checks:
        seen.clear()
        body = check.function.hypothesis.inner_test
        body(sub=BodyOnly(), **{name: anything[name] for name in body.__code__.co_varnames[1:body.__code__.co_argcount]})
        assert seen == [[set(part) for part in check.parts]], check.name


class BodyOnly:
    """What a hygiene check's body touches of a submission besides ``examine``."""

    def exact_shapes(self):
        return nullcontext()


CORPUS = Path(__file__).resolve().parent / "corpus"


def hygiene_results(path: Path, checks) -> dict[str, tuple[float, str]]:
    grade = grade_submission(path, [c for c in checks if c.group == "hygiene"])
    return {r.check.name: (r.score, r.message) for r in grade.results}


def test_a_function_that_modifies_its_input_costs_only_its_own_part(checks):
    """inplace_dnext_h: rnn_step_backward scales dnext_h in place; the three other rnn functions are clean."""
    results = hygiene_results(CORPUS / "buggy" / "inplace_dnext_h.py", checks)
    score, message = results["rnn_functions_leave_inputs_unchanged"]
    assert score == pytest.approx(1.5)  # 3 of 4 parts
    assert message.startswith("rnn_step_backward modified its input dnext_h"), message
    assert results["other_functions_leave_inputs_unchanged"] == (2, "")


def test_a_function_that_raises_costs_its_parts_and_the_others_are_still_judged(tmp_path: Path, checks):
    """The worker stops a batch at a call that raises; the probes after it are sent again, and judged."""
    source = (CORPUS / "correct" / "cs231n_style.py").read_text()
    raising = tmp_path / "raising_step_backward.py"
    raising.write_text(source.replace('    """Backward pass of one timestep. Returns dx, dprev_h, dWx, dWh, db."""\n',
                                      '    """Not finished."""\n    raise ValueError("not finished")\n', 1))
    assert raising.read_text() != source
    results = hygiene_results(raising, checks)
    # rnn_backward calls rnn_step_backward, so its parts fail too; the forward passes' parts pass.
    score, message = results["rnn_functions_leave_inputs_unchanged"]
    assert score == pytest.approx(1.0) and message.startswith("rnn_step_backward raised ValueError"), message
    score, message = results["shapes_and_dtypes_are_exact_at_size_one"]
    assert score == pytest.approx(2 * 3 / 7), message  # rnn_step_forward, rnn_forward, birnn_forward
    assert "not implemented" not in message


def test_an_assignment_splits_hygiene_among_the_parts_it_asks_for():
    """--assignment cs231n asks for the four rnn functions: the shapes check judges those four parts only,
    so a correct solution of them earns its 2 points (tests/test_profiles.py grades one)."""
    scoped = {c.name: c for c in load_checks(points_table=assignment_table(None, "cs231n"), assignment=True)}
    shapes = scoped["shapes_and_dtypes_are_exact_at_size_one"]
    assert shapes.parts == hygiene.SHAPED_PARTS[:4] == hygiene.RNN_PARTS
    assert set(shapes.needs) == set(hygiene.RNN_FUNCTIONS)
    assert shapes.share_judged(set(hygiene.RNN_FUNCTIONS)) == 1


def test_parts_must_cover_exactly_the_functions_a_check_needs():
    for needs, parts, needs_any in [(("rnn_forward",), (("rnn_forward",),), False),
                                    (("rnn_forward",), (("rnn_forward", "rnn_backward"),), True),
                                    (("rnn_forward", "rnn_backward"), (("rnn_forward",),), True),
                                    (("rnn_forward",), ((),), True)]:
        with pytest.raises(CheckDefinitionError, match="parts="):
            check(group="hygiene", points=1, needs=needs, needs_any=needs_any, parts=parts)
