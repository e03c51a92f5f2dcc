"""Tests of --assignment dlai-c5w1 (checks/dlai.py, its strategies and its column-major view).

- A correct course-style file scores full marks (100, and the backward groups' 24 points of extra credit), and
  so does the same code handed in as a notebook with magics, a demo cell using a notebook global and a training
  loop.
- Each buggy corpus file tests/corpus/dlai/*.py loses points exactly in the groups it declares (AFFECTED: its
  function's group, and the groups whose checks call that function), fails exactly the checks of CAUGHT, and the
  message names the cause. Every check of the assignment bites on a corpus file or a one-line variant of the
  correct file (VARIANTS).
- lstm_backward is graded against the mathematics: the implementation the course's printed expectation comes from
  fails, and is told so; the misconception models reproduce the buggy files' gradients, wrong and right alike.
- The tanh and σ identities hold for the reference's gradients (no false failure, saturated gates included), and
  fail, naming the gate and the wrong derivative, for each known wrong derivative in each gate; the LSTM's cache
  must be the course's tuple, and the message says so.
- The view validates replies (keys, shapes, keepdims) and names a notebook global in plain words; the strategies
  refuse bad arguments, naming the value.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis.errors import InvalidArgument

from checks.column_major_problems import SMALL_LSTM, SMALL_RNN, column_problem_from_seed, column_problems
from checks.engine.isolation.boundary import WorkerOptions
from checks.dlai_gradients import (GATES, LSTM_PARTS, WRONG_SIGMOID, WRONG_TANH, assert_lstm_cell_obeys_identities,
                                   gate_upstreams, gate_weight_gradients, rnn_cell_identity_gradients,
                                   rnn_pre_activation, rnn_tanh_note)
from checks.engine.isolation.column_major import (forward_sizes, undefined_name_hint, validate_gradients,
                                                  validate_lstm_cache)
from checks.engine.isolation.validation import ContractViolation
from checks.engine.run.runner import grade_submission
from checks.verdicts import PartialFailure, mismatch
from checks.registry import load_checks
from reference import column_major
from reference.misconceptions.column_major import MODELS

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus" / "dlai"
TABLE = ROOT / "checks" / "assignments" / "dlai-c5w1.toml"
HELPERS = ROOT / "checks" / "assignments" / "dlai-c5w1"
GROUPS = ("rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward", "lstm_cell_forward", "lstm_forward",
          "lstm_cell_backward", "lstm_backward")


def names(group: str, *checks: str) -> set[str]:
    """The full names of checks of ``group``: "matches_reference" → "dlai_<group>_matches_reference"."""
    return {f"dlai_{group}_{check}" for check in checks}


FD, REF, SHAPES = "matches_finite_differences", "matches_reference", "shapes_are_exact_at_size_one"
TANH_ID, GATE_ID = "obeys_the_tanh_identity", "obeys_the_gate_identities"
HOLD = {"dlai_lstm_cell_with_open_forget_gate_keeps_the_cell"}
RNN_COMPOSED = {"dlai_rnn_forward_is_the_cell_composed"}
LSTM_COMPOSED = {"dlai_lstm_forward_is_the_cell_composed_from_a_zero_cell"}
SOFTMAX = "yt_pred_is_a_softmax_of_each_column"

# The checks each corpus file fails, and only those.
CAUGHT = {
    "lstm_backward_no_gradient_between_steps": names("lstm_backward", FD, REF),
    "rnn_backward_no_gradient_between_steps": names("rnn_backward", FD, REF),
    # The backward is the course's, given the swapped forward's cache: it differentiates neither.
    "lstm_cell_forward_gates_swapped": (names("lstm_cell_forward", REF) | HOLD | names("lstm_forward", REF)
                                        | names("lstm_cell_backward", FD, REF) | names("lstm_backward", FD, REF)),
    # Judged by value elsewhere (shape_mistakes = "charged_once"); rnn_backward's dba += dbat cannot broadcast.
    "rnn_cell_backward_dba_without_keepdims": names("rnn_cell_backward", SHAPES) | names("rnn_backward", FD, REF),
    # (1, m) cannot be judged by value: every check that reads dba fails, except at size one, where it is right.
    "rnn_cell_backward_dba_wrong_axis": names("rnn_cell_backward", FD, REF, TANH_ID) | names("rnn_backward", FD, REF),
    "rnn_cell_backward_tanh_from_preactivation": names("rnn_cell_backward", FD, REF, TANH_ID)
                                                 | names("rnn_backward", FD, REF),
    # One gate's σ′ is wrong: the cell's identities name it, and lstm_backward, which calls the cell, is wrong too.
    "lstm_cell_backward_sigmoid_derivative_squared": names("lstm_cell_backward", FD, REF, GATE_ID)
                                                     | names("lstm_backward", FD, REF),
    "lstm_forward_reads_global_parameters": names("lstm_forward", REF, SHAPES) | LSTM_COMPOSED
                                            | names("lstm_backward", FD, REF, SHAPES),
    # y is not differentiated: the backward groups are untouched. The composition uses the same wrong cell.
    "rnn_cell_forward_softmax_wrong_axis": names("rnn_cell_forward", REF, SOFTMAX) | names("rnn_forward", REF),
    "lstm_forward_c0_from_a0": names("lstm_forward", REF) | LSTM_COMPOSED | names("lstm_backward", FD, REF),
}

# The cause each corpus file's messages must name, in the check that shows it.
CAUSES = {
    "lstm_backward_no_gradient_between_steps": ("dlai_lstm_backward_matches_reference",
                                                "The course notebook's printed expected output for lstm_backward is "
                                                "that of this same implementation"),
    "rnn_backward_no_gradient_between_steps": ("dlai_rnn_backward_matches_reference",
                                               "passes no gradient between steps"),
    "lstm_cell_forward_gates_swapped": ("dlai_lstm_cell_with_open_forget_gate_keeps_the_cell",
                                        "Check that the forget gate (Wf, bf) multiplies c_prev and the input gate"),
    "rnn_cell_backward_dba_without_keepdims": ("dlai_rnn_cell_backward_shapes_are_exact_at_size_one",
                                               "gradients['dba'] returned by rnn_cell_backward has shape (1,); the "
                                               "contract says (n_a, 1)"),
    "rnn_cell_backward_dba_wrong_axis": ("dlai_rnn_cell_backward_matches_reference",
                                         "gradients['dba'] returned by rnn_cell_backward has shape (1, "),
    "lstm_forward_reads_global_parameters": ("dlai_lstm_forward_matches_reference",
                                             "Your function uses parameters_tmp, which is neither one of its arguments "
                                             "nor defined in your file"),
    "rnn_cell_backward_tanh_from_preactivation": ("dlai_rnn_cell_backward_obeys_the_tanh_identity",
                                                  "Your gradients are those of 1 − z² of the pre-activation z"),
    "lstm_cell_backward_sigmoid_derivative_squared": ("dlai_lstm_cell_backward_obeys_the_gate_identities",
                                                      "Yours follow σ′ written as σ² (g ⊙ g)"),
    "rnn_cell_forward_softmax_wrong_axis": ("dlai_rnn_cell_forward_yt_pred_is_a_softmax_of_each_column",
                                            "Each row sums to 1 instead of each column"),
    "lstm_forward_c0_from_a0": ("dlai_lstm_forward_is_the_cell_composed_from_a_zero_cell",
                                "the cell state starts at c0 = np.zeros((n_a, m)), not a0"),
}

# One-line variants of correct.py for the checks no corpus bug reaches: (old, new, the checks it fails). A squeezed
# (1, 1) array breaks the sequence that stores it where n_y or m is 1 (could not broadcast (2,) into (2, 1)): those
# variants fail their shapes check, and may fail checks of the sequence forward and backward (SQUEEZE_ALSO).
VARIANTS = {
    "rnn_cell_forward_squeezes_yt_pred": ("    return a_next, yt_pred, cache",
                                          "    return a_next, np.squeeze(yt_pred), cache",
                                          names("rnn_cell_forward", SHAPES)),
    "rnn_forward_float32": ("    a = np.zeros((n_a, m, T_x))\n    y_pred", "    a = np.zeros((n_a, m, T_x), "
                            "dtype=np.float32)\n    y_pred", names("rnn_forward", REF, SHAPES) | RNN_COMPOSED
                            | names("rnn_backward", FD, REF, SHAPES)),
    "rnn_forward_reuses_a0": ("a_next, yt_pred, cache = rnn_cell_forward(xt, a_next, parameters)",
                              "a_next, yt_pred, cache = rnn_cell_forward(xt, a0, parameters)",
                              names("rnn_forward", REF) | RNN_COMPOSED | names("rnn_backward", FD, REF)),
    "rnn_backward_squeezes_da0": ("    da0 = da_prevt\n", "    da0 = np.squeeze(da_prevt)\n",
                                  names("rnn_backward", SHAPES)),
    "lstm_cell_forward_sigmoid_output": ("yt_pred = softmax(np.dot(Wy, a_next) + by)",
                                         "yt_pred = sigmoid(np.dot(Wy, a_next) + by)",
                                         names("lstm_cell_forward", REF, SOFTMAX) | names("lstm_forward", REF)),
    "lstm_cell_forward_squeezes_yt_pred": ("    return a_next, c_next, yt_pred, cache",
                                           "    return a_next, c_next, np.squeeze(yt_pred), cache",
                                          names("lstm_cell_forward", SHAPES)),
    "lstm_forward_float32": ("    y = np.zeros((n_y, m, T_x))", "    y = np.zeros((n_y, m, T_x), dtype=np.float32)",
                             names("lstm_forward", REF, SHAPES) | LSTM_COMPOSED
                             | names("lstm_backward", FD, REF, SHAPES)),
    "lstm_cell_backward_dbo_without_keepdims": ("dbo = np.sum(dot, axis=1, keepdims=True)", "dbo = np.sum(dot, axis=1)",
                                                names("lstm_cell_backward", SHAPES) | names("lstm_backward", FD, REF)),
    "lstm_backward_squeezes_da0": ('    da0 = gradients["da_prev"]', '    da0 = np.squeeze(gradients["da_prev"])',
                                   names("lstm_backward", SHAPES)),
}
SQUEEZE_ALSO = {"rnn_cell_forward_squeezes_yt_pred": ("rnn_forward", "rnn_backward"),
                "lstm_cell_forward_squeezes_yt_pred": ("lstm_forward", "lstm_backward")}


@pytest.fixture(scope="module")
def dlai_checks():
    """The assignment's checks, with its table's points (the backward groups' as extra credit)."""
    return load_checks(points_table=TABLE, assignment=True)


_grades: dict[Path, object] = {}


def graded(path: Path, checks) -> object:
    """The grade of ``path`` with the course's helpers importable (as [course] paths gives them); once per file."""
    if path not in _grades:
        _grades[path] = grade_submission(path, checks, options=WorkerOptions(import_paths=(HELPERS,)))
    return _grades[path]


def declared(path: Path) -> dict:
    """BUG_GROUP, AFFECTED and MISCONCEPTION, read without importing the file."""
    tree = ast.parse(path.read_text())
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in ("BUG_GROUP", "AFFECTED", "MISCONCEPTION")}


def failed(grade) -> set[str]:
    return {r.check.name for r in grade.results if not r.passed}


def report(grade) -> str:
    return "\n".join(f"{r.check.name}: {r.score:g}/{r.check.points:g} {r.message[:300]}"
                     for r in grade.results if not r.passed)


# -- the assignment ------------------------------------------------------------------------------------------------


def test_the_assignment_has_a_group_per_function_forwards_out_of_100(dlai_checks):
    by_group = {group: [c for c in dlai_checks if c.group == group] for group in GROUPS}
    assert {c.group for c in dlai_checks} == set(GROUPS) and len(dlai_checks) == 27
    assert all(sum(c.points for c in by_group[g]) == 25 and not any(c.extra_credit for c in by_group[g])
               for g in GROUPS if g.endswith("forward"))
    # The cells' backward groups also carry their identities (2 points each): 7 and 5 of extra credit.
    assert all(sum(c.points for c in by_group[g]) == (7 if "cell" in g else 5) and all(c.extra_credit
                                                                                    for c in by_group[g])
               for g in GROUPS if g.endswith("backward"))


def test_correct_file_scores_full_marks(dlai_checks):
    grade = graded(CORPUS / "correct.py", dlai_checks)
    assert failed(grade) == set(), report(grade)
    assert grade.max_score == 100 and grade.score == 124  # the backward groups' extra credit on top


def as_notebook(source_file: Path, folder: Path) -> Path:
    """The file's functions as a notebook, as students hand it in: a magic, the helpers' import, one function a
    cell, a demo cell that uses a notebook global, a training loop and a cell that does not parse."""
    import nbformat

    functions = source_file.read_text().split("\n\n\ndef ")
    cells = ["%matplotlib inline\nimport numpy as np\nfrom rnn_utils import *",
             *("def " + f for f in functions[1:]),
             "np.random.seed(1)\nparameters_tmp = {'Wax': np.random.randn(5, 3)}\n"
             "a_next_tmp, yt_tmp, cache_tmp = rnn_cell_forward(np.random.randn(3, 10), np.random.randn(5, 10), "
             "parameters_tmp)\nprint(a_next_tmp[4])",
             "for epoch in range(10 ** 9):\n    pass",
             "cd ../data  # automagic: not Python"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in cells])
    path = folder / "Building_a_Recurrent_Neural_Network_Step_by_Step.ipynb"
    nbformat.write(notebook, str(path))
    return path


def test_correct_notebook_scores_full_marks(dlai_checks, tmp_path):
    """Only the notebook's definitions are graded: its demo cells and training loop are not run."""
    grade = graded(as_notebook(CORPUS / "correct.py", tmp_path), dlai_checks)
    assert failed(grade) == set(), report(grade)
    assert grade.score == 124


def test_a_notebook_whose_lstm_backward_passes_no_gradient_between_steps(dlai_checks, tmp_path):
    """The course's printed expectation, handed in as a notebook: it loses the lstm_backward points it loses as a
    .py file, and the report says why matching the notebook is not enough."""
    bug = CORPUS / "lstm_backward_no_gradient_between_steps.py"
    grade = graded(as_notebook(bug, tmp_path), dlai_checks)
    assert failed(grade) == failed(graded(bug, dlai_checks)) != set()
    assert any("matching it is not enough" in r.message for r in grade.results if not r.passed), report(grade)


# -- the buggy corpus ------------------------------------------------------------------------------------------------


def test_every_corpus_file_is_listed_and_every_check_bites(dlai_checks):
    assert {path.stem for path in CORPUS.glob("*.py")} - {"correct"} == set(CAUGHT) == set(CAUSES)
    assert set().union(*CAUGHT.values(), *(v[2] for v in VARIANTS.values())) == {c.name for c in dlai_checks}


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_buggy_file_loses_points_only_where_it_should(name, dlai_checks):
    bug = declared(CORPUS / f"{name}.py")
    grade = graded(CORPUS / f"{name}.py", dlai_checks)
    assert failed(grade) == CAUGHT[name], report(grade)
    assert {r.check.group for r in grade.results if not r.passed} == set(bug["AFFECTED"])
    assert bug["BUG_GROUP"] in bug["AFFECTED"]
    check, cause = CAUSES[name]
    message = next(r.message for r in grade.results if r.check.name == check)
    assert cause in message, message


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_fails_exactly_its_checks(name, dlai_checks, tmp_path):
    old, new, caught = VARIANTS[name]
    source = (CORPUS / "correct.py").read_text()
    assert source.count(old) == 1
    path = tmp_path / f"{name}.py"
    path.write_text(source.replace(old, new))
    grade = grade_submission(path, dlai_checks, options=WorkerOptions(import_paths=(HELPERS,)))
    if name not in SQUEEZE_ALSO:
        assert failed(grade) == caught, report(grade)
    allowed = {c.group for c in dlai_checks if c.name in caught} | set(SQUEEZE_ALSO.get(name, ()))
    assert caught <= failed(grade) and {r.check.group for r in grade.results if not r.passed} <= allowed, report(grade)


# -- lstm_backward against the mathematics, and the misconception models -----------------------------------------------


def imported(path: Path):
    """A corpus file imported in this process (trusted test data), with the course's helpers on the path."""
    sys.path.insert(0, str(HELPERS))
    try:
        spec = importlib.util.spec_from_file_location(f"dlai_corpus_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(HELPERS))


@pytest.mark.parametrize("model_id, forward", [("lstm-backward-no-gradient-between-steps", "lstm_forward"),
                                               ("dlai-rnn-backward-no-gradient-between-steps", "rnn_forward")])
def test_models_reproduce_the_buggy_files_gradients_right_and_wrong(model_id, forward):
    path = next(p for p in CORPUS.glob("*.py") if declared(p).get("MISCONCEPTION") == model_id)
    student = imported(path)
    model, explanation = MODELS[model_id]
    backward = forward.replace("forward", "backward")
    for seed, sizes in enumerate([(2, 3, 2, 2, 3), (3, 2, 1, 1, 4), (1, 1, 1, 1, 1)]):
        p = column_problem_from_seed(forward.split("_")[0], sizes, seed)
        *_, caches = getattr(student, forward)(*p.sequence_args)
        got = getattr(student, backward)(p.da, caches)
        *_, reference_caches = getattr(column_major, forward)(*p.sequence_args)
        expected = model(p.da, reference_caches)
        assert set(got) == set(expected)
        for key in expected:
            np.testing.assert_allclose(got[key], expected[key], rtol=1e-12, atol=1e-14, err_msg=key)
    assert "no gradient between steps" in explanation


def test_the_no_gradient_model_differs_from_the_mathematics_whenever_a_later_step_matters():
    """So the note cannot be given to a correct lstm_backward: with T_x >= 2, dx at the first step differs."""
    for seed in range(5):
        p = column_problem_from_seed("lstm", (2, 3, 2, 2, 2), seed)
        *_, caches = column_major.lstm_forward(*p.sequence_args)
        wrong, right = MODELS["lstm-backward-no-gradient-between-steps"][0](p.da, caches), column_major.lstm_backward(
            p.da, caches)
        assert np.abs(wrong["dx"][:, :, 0] - right["dx"][:, :, 0]).max() > 1e-6


# -- the view and the strategies ------------------------------------------------------------------------------------


def test_gradient_dicts_are_validated_key_by_key_with_keepdims_shapes():
    sizes = {"n_x": 2, "n_a": 3, "m": 4, "n_a+n_x": 5, "1": 1}
    good = {"dxt": np.zeros((2, 4)), "da_prev": np.zeros((3, 4)), "dWax": np.zeros((3, 2)), "dWaa": np.zeros((3, 3)),
            "dba": np.zeros((3, 1))}
    assert validate_gradients("rnn_cell_backward", good, sizes).keys() == good.keys()
    with pytest.raises(ContractViolation, match=r"gradients\['dba'\] returned by rnn_cell_backward has shape \(3,\); "
                                                r"the contract says \(n_a, 1\) = \(3, 1\)"):
        validate_gradients("rnn_cell_backward", {**good, "dba": np.zeros(3)}, sizes)
    with pytest.raises(ContractViolation, match=r"missing \['dba'\], unexpected \['db'\]"):
        validate_gradients("rnn_cell_backward", {**{k: v for k, v in good.items() if k != "dba"}, "db": good["dba"]},
                           sizes)
    assert validate_gradients("rnn_cell_backward", {**good, "dba": np.zeros(3)}, sizes,
                              allow_unit_axes=True)["dba"].shape == (3, 1)  # judged by value under charged_once


def test_a_name_error_is_explained_and_other_errors_are_left_alone():
    raised = "rnn_cell_forward raised NameError: name 'parameters_tmp' is not defined (line 3)"
    assert "Your function uses parameters_tmp, which is neither one of its arguments" in undefined_name_hint(raised)
    assert undefined_name_hint("rnn_forward raised ValueError: shapes") == "rnn_forward raised ValueError: shapes"


@pytest.mark.parametrize("build, named", [
    (lambda: column_problems("gru"), "cell='gru'"),
    (lambda: column_problems("rnn", gates="hold"), "gates='hold'"),
    (lambda: column_problems("lstm", max_m=0), "max_m=0"),
    (lambda: column_problems("lstm", max_a=6), "max_a=6"),
    (lambda: column_problems("rnn", min_t=3, max_t=2), "min_t=3"),
    (lambda: column_problem_from_seed("rnn", (1, 0, 1, 1, 1), seed=0), "n_a=0"),
])
def test_strategies_refuse_bad_arguments_naming_the_value(build, named):
    with pytest.raises(InvalidArgument, match=named.replace("(", r"\(")):
        strategy = build()
        strategy.example()


def test_problems_have_the_course_shapes_and_held_gates_saturate():
    assert SMALL_RNN.parameters["ba"].shape == (3, 1) and SMALL_RNN.x.shape == (2, 2, 3)
    assert SMALL_LSTM.parameters["Wf"].shape == (3, 5) and SMALL_LSTM.parameters["Wy"].shape == (2, 3)
    held = column_problem_from_seed("lstm", (5, 5, 2, 3, 1), seed=3, gates="hold")
    a_next, c_next, _, cache = column_major.lstm_cell_forward(*held.step_args())
    ft, it = cache[4], cache[5]
    assert np.all(ft == 1.0) and np.all(it < 1e-40) and np.array_equal(c_next, held.c_prev)


def test_the_command_grades_the_assignment_with_its_helpers_and_says_what_the_course_expects(tmp_path):
    """rnn-grade --assignment dlai-c5w1, with no --path (the table's [course] paths give rnn_utils): the report of the
    course-expected lstm_backward prints in full (feedback is best effort: no stage may break it) and says why
    matching the notebook is not enough; each failing check's reproduction script is written and offered."""
    from tiny_grading import rnn_grade

    scripts = tmp_path / "scripts"
    run = rnn_grade(str(CORPUS / "lstm_backward_no_gradient_between_steps.py"), "--assignment", "dlai-c5w1", "-v",
                    "--repro-dir", str(scripts))
    text = " ".join((run.stdout + run.stderr).split())  # the report wraps lines
    assert run.returncode == 1 and "Traceback" not in text, text
    assert "TOTAL 120 / 100" in text
    assert "matching it is not enough" in text and "FAIL lstm_backward/dlai_lstm_backward_matches_reference" in text
    # Each failing check's script checks its property on the example (checks.engine.run.repro_column_major), is
    # offered to the student, and fails on this file (tests/test_repro_dlai.py runs every corpus bug's scripts).
    written = {path.stem for path in scripts.glob("*.py")}
    assert written == {"dlai_lstm_backward_matches_reference", "dlai_lstm_backward_matches_finite_differences"}
    assert "To reproduce it, run:" in text and "dlai_lstm_backward_matches_reference.py" in text
    assert "no reproduction script" not in text
    brief = rnn_grade(str(CORPUS / "lstm_backward_no_gradient_between_steps.py"), "--assignment", "dlai-c5w1",
                      "--repro-dir", str(scripts))  # without -v: each failing check in brief, with its command
    assert "Reproduce:" in brief.stdout and "dlai_lstm_backward_matches_reference.py" in brief.stdout, brief.stdout
    script = scripts / "dlai_lstm_backward_matches_reference.py"
    rerun = subprocess.run([sys.executable, str(script), str(CORPUS / "lstm_backward_no_gradient_between_steps.py")],
                           capture_output=True, text=True, cwd=tmp_path)
    assert rerun.returncode == 1 and "matching it is not enough" in " ".join(rerun.stdout.split()), rerun.stdout


def test_feedback_uses_the_one_vocabulary(dlai_checks):
    """tests/test_wording.py's rules on every failing dlai check's feedback: "correct" and "wrong" only, and no
    Hypothesis jargon (the example is the drawn problem's sizes and values)."""
    from checks.engine.report.feedback import plain_feedback
    from test_wording import JARGON, OTHER_WORDS

    for name in sorted(CAUGHT):
        for result in (r for r in graded(CORPUS / f"{name}.py", dlai_checks).results if not r.passed):
            text = plain_feedback(result, f"{name}.py")
            assert not OTHER_WORDS.search(text) and not [word for word in JARGON if word in text], text


# -- the tanh and σ identities, on the student's own values ---------------------------------------------------------

IDENTITY_CASES = [("free", (2, 3, 2, 2, 1)), ("free", (1, 1, 1, 1, 1)), ("free", (4, 5, 1, 3, 1)),
                  ("hold", (3, 2, 2, 2, 1))]


def lstm_cell_case(seed: int, gates: str = "free", sizes=(2, 3, 2, 2, 1)):
    """(problem, its cache as the view returns it, the reference's gradients) of one LSTM step."""
    p = column_problem_from_seed("lstm", sizes, seed, gates)
    *_, cache = column_major.lstm_cell_forward(*p.step_args())
    own = validate_lstm_cache(cache, forward_sizes("lstm_cell_forward", p.step_args()))
    return p, own, column_major.lstm_cell_backward(*p.step_upstream, cache)


@pytest.mark.parametrize("gates, sizes", IDENTITY_CASES)
def test_the_reference_obeys_the_identities(gates, sizes):
    """No false failure: the reference's gradients pass, at every size and with saturated gates (ft = 1, it = 0)."""
    for seed in range(3):
        p, own, right = lstm_cell_case(seed, gates, sizes)
        assert_lstm_cell_obeys_identities(right, own, p.step_args(), *p.step_upstream)
        if gates == "free":
            r = column_problem_from_seed("rnn", sizes, seed)
            a_next, _, cache = column_major.rnn_cell_forward(*r.step_args())
            expected = rnn_cell_identity_gradients(*r.step_args(), a_next, *r.step_upstream)
            got = column_major.rnn_cell_backward(*r.step_upstream, cache)
            assert all(mismatch(got[key], expected[key]) is None for key in expected)


def with_wrong_derivative(p, own: dict, right: dict, k: str, factor) -> dict:
    """The reference's gradients with gate k's derivative replaced by ``factor``: dW_k, db_k, and the da_prev and dxt
    they reach (W_kᵀ·dg), as a backward with that one mistake returns them."""
    xt, a_prev, c_prev, parameters = p.step_args()
    value = next(v for letter, _, v, _ in GATES if letter == k)
    z = parameters[f"W{k}"] @ np.concatenate([a_prev, xt], axis=0) + parameters[f"b{k}"]
    upstream, _ = gate_upstreams(own, c_prev, *p.step_upstream)
    dg_right = upstream[k] * ((1 - own["cct"]**2) if k == "c" else own[value] * (1 - own[value]))
    dg_wrong = upstream[k] * factor(own[value], z)
    stacked = parameters[f"W{k}"].T @ (dg_wrong - dg_right)
    n_a = a_prev.shape[0]
    return {**right, **gate_weight_gradients(k, dg_wrong, xt, a_prev), "da_prev": right["da_prev"] + stacked[:n_a],
            "dxt": right["dxt"] + stacked[n_a:]}


@pytest.mark.parametrize("k, gate", [(k, gate) for k, gate, *_ in GATES])
def test_each_wrong_derivative_in_each_gate_is_named(k, gate):
    """The check bites gate by gate: one gate's wrong σ′ (or tanh′) fails the gate, da_prev and dxt, and the message
    names the gate and the mistake; the other gates are reported correct."""
    for what, factor in (WRONG_TANH if k == "c" else WRONG_SIGMOID):
        p, own, right = lstm_cell_case(seed=4)
        got = with_wrong_derivative(p, own, right, k, factor)
        with pytest.raises(PartialFailure) as failure:
            assert_lstm_cell_obeys_identities(got, own, p.step_args(), *p.step_upstream)
        message = str(failure.value)
        assert f"the {gate}'s dW{k}, db{k}: " in message and f"Yours follow {what}" in message, message
        assert failure.value.credit == pytest.approx(1 - 3 / len(LSTM_PARTS))
        others = [f"dW{j}, db{j}" for j, *_ in GATES if j != k]
        assert all(part in message.split("correct: ")[1] for part in others), message


def test_each_wrong_tanh_derivative_of_the_rnn_cell_is_named():
    r = column_problem_from_seed("rnn", (3, 2, 2, 2, 1), seed=5)
    a_next, _, _ = column_major.rnn_cell_forward(*r.step_args())
    z = rnn_pre_activation(*r.step_args())
    right = rnn_cell_identity_gradients(*r.step_args(), a_next, *r.step_upstream)
    for what, factor in WRONG_TANH:
        got = rnn_cell_identity_gradients(*r.step_args(), a_next, *r.step_upstream, tanh_prime=factor(a_next, z))
        assert mismatch(got["dba"], right["dba"]) is not None  # the check fails on it
        assert rnn_tanh_note(got, *r.step_args(), a_next, *r.step_upstream) == f"Your gradients are those of {what}."
    assert "those of" not in rnn_tanh_note({**right, "dba": -right["dba"]}, *r.step_args(), a_next, *r.step_upstream)


def test_the_lstm_cache_must_be_the_course_tuple():
    p = column_problem_from_seed("lstm", (2, 3, 2, 2, 1), seed=0)
    sizes = forward_sizes("lstm_cell_forward", p.step_args())
    *_, cache = column_major.lstm_cell_forward(*p.step_args())
    with pytest.raises(ContractViolation, match=r"must be the course's tuple \(a_next, c_next, a_prev, c_prev, ft, it, "
                                                r"cct, ot, xt, parameters\), but is a dict"):
        validate_lstm_cache(dict(enumerate(cache)), sizes)
    with pytest.raises(ContractViolation, match=r"but is a tuple of length 9"):
        validate_lstm_cache(cache[:9], sizes)
    with pytest.raises(ContractViolation, match=r"cache\[4\] \(ft\) returned by lstm_cell_forward has shape \(3,\)"):
        validate_lstm_cache((*cache[:4], cache[4][:, 0], *cache[5:]), sizes)
    with pytest.raises(ContractViolation, match=r"cache\[9\] \(parameters\) returned by lstm_cell_forward must be a "
                                                r"dict"):
        validate_lstm_cache((*cache[:9], list(cache[9])), sizes)


def test_a_cache_in_another_layout_fails_the_gate_identities_saying_why(dlai_checks, tmp_path):
    """Graded: a cache kept as a dict cannot be judged, and the student reads that the course's layout is required."""
    source = (CORPUS / "correct.py").read_text()
    old = "    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)\n"
    assert source.count(old) == 1
    path = tmp_path / "lstm_cache_as_a_dict.py"
    path.write_text(source.replace(old, "    cache = {'a_next': a_next, 'ft': ft, 'parameters': parameters}\n"))
    grade = grade_submission(path, dlai_checks, options=WorkerOptions(import_paths=(HELPERS,)))
    message = next(r.message for r in grade.results
                   if r.check.name == "dlai_lstm_cell_backward_obeys_the_gate_identities")
    assert "must be the course's tuple" in message and "read the cache by position" in message, message
    assert {r.check.group for r in grade.results if not r.passed} <= {"lstm_cell_backward", "lstm_backward"}


def test_the_identities_need_no_reference_so_a_self_check_runs_them(dlai_checks):
    identities = [c for c in dlai_checks if "identit" in c.name]
    assert len(identities) == 2 and not any(c.reference for c in identities)
