"""--assignment cs231n-pytorch (checks/torch_functions.py) on the torch corpus (tests/corpus/torch/).

The correct file scores 100/100; each buggy file holds one bug, declares the checks it must fail
(``AFFECTED``), loses points there and nowhere else, and every failing message names the cause in plain
words. Each file is graded once, in a module-scoped fixture (a torch worker starts in about 2 s); the
in-place bug is graded through the command line instead, for the report a student reads.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from checks.engine.isolation.boundary import WorkerOptions  # noqa: E402
from checks.engine.isolation.torch_contract import NotATensor, TensorOut  # noqa: E402
from checks.engine.run.runner import grade_submission  # noqa: E402
from checks.registry import ASSIGNMENTS_FOLDER, load_checks, self_check_split  # noqa: E402
from checks.strategies import rnn_problem_from_seed, Dims  # noqa: E402
from checks.torch_functions import backward_refused, tensors  # noqa: E402
from checks.torch_problems import lstm_step_case, rnn_step_case, torch_gate_order  # noqa: E402
from checks.lstm_problems import DEGENERATE_LSTM  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TORCH = ROOT / "tests" / "corpus" / "torch"
CORRECT = TORCH / "rnn_layers_pytorch_correct.py"
TABLE = ASSIGNMENTS_FOLDER / "cs231n-pytorch.toml"
OPTIONS = WorkerOptions(preload=("torch",), allowed_packages=("torch",))

#: Each bug's file, and words its failing messages must hold: the cause, named.
CAUSES = {
    "detach": [".detach()", "between steps"],
    "float32": ["float32", "torch.zeros(N, T, H) is float32", "dtype=x.dtype"],
    "gate_order": ["torch.nn's order i, f, g, o", "CS231n's order is i, f, o, g"],
    "numpy": ["no grad_fn", ".numpy() round trip"],
}


def affected(path: Path) -> tuple[str, ...]:
    """The file's AFFECTED constant, read without importing it."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "AFFECTED":
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path.name} declares no AFFECTED")


@pytest.fixture(scope="module")
def checks():
    return load_checks(points_table=TABLE, assignment=True)


@pytest.fixture(scope="module")
def grades(checks):
    """Each file graded once (no search for a simpler example: the score and the main run's message are the same)."""
    files = {"correct": CORRECT, "alternative": TORCH / "rnn_layers_pytorch_alternative.py", **{bug: TORCH / f"rnn_layers_pytorch_{bug}.py" for bug in CAUSES}}
    return {name: grade_submission(path, checks, options=OPTIONS, simplify=False) for name, path in files.items()}


def test_the_assignment_is_out_of_100_in_three_groups(checks):
    totals = {group: sum(c.points for c in checks if c.group == group) for group in {c.group for c in checks}}
    assert totals == {"torch_rnn": 45, "torch_embedding": 14, "torch_lstm": 41}


@pytest.mark.parametrize("name", ["correct", "alternative"])
def test_correct_files_score_full_marks(grades, name):
    # "alternative" writes its steps into a buffer in place, which autograd accepts: not the in-place bug
    grade = grades[name]
    assert grade.score == grade.max_score == 100, [(r.check.name, r.message) for r in grade.results if not r.passed]


@pytest.mark.parametrize("bug", sorted(CAUSES))
def test_each_bug_loses_points_where_it_belongs_and_names_its_cause(grades, bug):
    path = TORCH / f"rnn_layers_pytorch_{bug}.py"
    grade = grades[bug]
    failed = {r.check.name for r in grade.results if not r.passed}
    assert failed == set(affected(path)), [(r.check.name, r.message) for r in grade.results if not r.passed]
    for result in grade.results:
        if not result.passed:
            assert result.score < result.check.points
            opening = result.message.splitlines()[0]  # what a short report shows: the cause comes first
            assert all(words in opening for words in CAUSES[bug]), result.message
            assert result.misconception is None  # no NumPy model judges a torch call: absent, never wrong
            assert not result.grader_error


@pytest.mark.parametrize("name, lost", [("correct", {}), ("gate_order", {"torch_lstm": 16})])
def test_the_self_check_loses_what_the_full_grade_loses(checks, grades, name, lost):
    # The forward checks' stand-ins compare with the lecture's definitions (no reference): the same points.
    run, left_out = self_check_split(checks)
    assert not left_out and {c.name for c in run} != {c.name for c in checks}
    path = CORRECT if name == "correct" else TORCH / f"rnn_layers_pytorch_{name}.py"
    grade = grade_submission(path, run, options=OPTIONS, simplify=False)
    by_group = {g: sum(c.points for c in checks if c.group == g) for g in ("torch_rnn", "torch_embedding", "torch_lstm")}
    scored = {g: sum(r.score for r in grade.results if r.check.group == g) for g in by_group}
    assert scored == {g: by_group[g] - lost.get(g, 0) for g in by_group}
    assert grade.score == grades[name].score
    if lost:
        assert all("torch.nn's order i, f, g, o" in r.message for r in grade.results if not r.passed)


@pytest.fixture(scope="module")
def in_place_report(tmp_path_factory):
    """``rnn-grade`` on the in-place bug with --repro-dir, as a student's course runs it: (the run, the repro folder)."""
    repro = tmp_path_factory.mktemp("torch") / "repro"
    run = subprocess.run([sys.executable, "-m", "checks.engine.cli", str(TORCH / "rnn_layers_pytorch_inplace.py"),
                          "--assignment", "cs231n-pytorch", "--repro-dir", str(repro), "-v"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    return run, repro


def test_the_in_place_bug_is_told_to_the_student_with_its_example(in_place_report):
    run, _ = in_place_report
    assert run.returncode == 1, run.stderr
    report = " ".join(run.stdout.split())  # the report wraps lines at 80 columns
    assert "TOTAL 86 / 100" in report
    assert "an in-place write (h[:, t] = …, +=, *=" in report and "autograd had saved for the backward" in report
    assert "Hint:" not in report  # torch's hint about its anomaly mode is not the student's business
    assert "fails for N=1, T=2" in report and "x = np.array(" in report  # the counterexample, to paste


def test_the_reproduction_command_offered_reproduces_the_failure(in_place_report):
    """The report's command to reproduce the failure runs as printed (torch and numpy only, checks.engine.run.repro_torch):
    exit 1 on the in-place bug, naming it; the same script on the correct file, exit 0."""
    run, repro = in_place_report
    report = " ".join(run.stdout.replace("\\\n", "").split())  # long words wrap with a backslash
    command = re.search(r"To reproduce it, run: python (\S+) (\S+)", report)  # -v's wording of "Reproduce:"
    assert command, run.stdout
    script = Path(command.group(1))
    assert script.parent == repro and [p.name for p in repro.glob("*.py")] == [script.name]
    on_bug = subprocess.run([sys.executable, *command.groups()], capture_output=True, text=True, cwd=TORCH,
                            timeout=120)  # the report names the submission by its file name
    assert on_bug.returncode == 1 and "an in-place write" in on_bug.stdout, on_bug.stdout + on_bug.stderr
    on_correct = subprocess.run([sys.executable, str(script), str(CORRECT)], capture_output=True, text=True, timeout=120)
    assert on_correct.returncode == 0, on_correct.stdout + on_correct.stderr


# -- the verdicts' pieces, without a worker ------------------------------------------------------------


def tensor(array: np.ndarray, dtype: str = "float64") -> TensorOut:
    return TensorOut(array, dtype, True, True)


def test_a_tuple_from_rnn_step_forward_is_said_plainly():
    case = rnn_step_case(rnn_problem_from_seed(Dims(2, 1, 3, 4), seed=0))
    with pytest.raises(AssertionError, match=r"returned 2 values; CS231n's PyTorch rnn_step_forward returns "
                                             r"next_h alone \(a tensor, not a tuple\)"):
        tensors((tensor(np.zeros((2, 4))), tensor(np.zeros((2, 4)))), case)
    assert tensors((tensor(np.zeros((2, 4))),), case)


def test_lstm_step_forward_must_return_two_tensors_of_shape_n_h():
    case = lstm_step_case(DEGENERATE_LSTM)
    with pytest.raises(AssertionError, match="returns next_h and next_c"):
        tensors((tensor(np.zeros((1, 1))),), case)
    with pytest.raises(AssertionError, match="returned a ndarray as next_c"):
        tensors((tensor(np.zeros((1, 1))), NotATensor("ndarray")), case)
    with pytest.raises(AssertionError, match=r"next_h from lstm_step_forward has shape \(1,\), expected \(1, 1\)"):
        tensors((tensor(np.zeros(1)), tensor(np.zeros((1, 1)))), case)


def test_autograds_refusals_are_translated_to_their_cause():
    in_place = backward_refused("rnn_forward", "one of the variables needed for gradient computation has been "
                                "modified by an inplace operation: [...] Hint: enable anomaly detection")
    assert "an in-place write" in in_place and "Hint" not in in_place
    cut = backward_refused("rnn_forward", "element 0 of tensors does not require grad and does not have a grad_fn")
    assert ".detach()" in cut and ".numpy() round trip" in cut
    other = backward_refused("rnn_forward", "something else")
    assert "in-place" not in other and ".detach()" not in other and "something else" in other


def test_torch_gate_order_swaps_the_o_and_g_blocks_only():
    W = np.arange(8.0).reshape(1, 8)  # H = 2: blocks i [0, 1], f [2, 3], o [4, 5], g [6, 7]
    assert torch_gate_order(W).tolist() == [[0, 1, 2, 3, 6, 7, 4, 5]]
    assert W.tolist() == [list(range(8))]  # the argument is left alone


def test_a_course_package_is_graded_through_its_rnn_layers_pytorch(checks, tmp_path):
    """A cs231n/ folder as the course lays it out: the functions are found in cs231n/rnn_layers_pytorch.py."""
    package = tmp_path / "cs231n"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "rnn_layers_pytorch.py").write_text(CORRECT.read_text())
    grade = grade_submission(package, checks, options=OPTIONS, simplify=False)
    assert grade.score == grade.max_score == 100


def test_a_notebook_of_the_correct_functions_scores_full_marks(checks, tmp_path):
    """The same file handed in as a notebook, with a magic, a training loop, an automagic cell and a demo cell
    that would call the functions on tensors: only the definitions are read, and nothing else is run."""
    nbformat = pytest.importorskip("nbformat")
    cells = ["%matplotlib inline", CORRECT.read_text(), "for step in range(10 ** 9):\n    pass", "cd ..",
             "x = torch.randn(3)\nprint(rnn_step_forward(x, x, x, x, x))"]
    path = tmp_path / "rnn_layers_pytorch.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in cells]), str(path))
    grade = grade_submission(path, checks, options=OPTIONS, simplify=False)
    assert grade.score == grade.max_score == 100
