"""Reproduction scripts of the PyTorch checks (``checks.engine.run.repro_torch``, ``repro_torch_cells``): torch
and numpy only.

Each bug of the torch corpora (tests/corpus/torch/, tests/corpus/torch_cells/) is graded once, on the checks it
fails, which get their scripts (``attach_scripts``, as ``--repro-dir`` does); then every script runs on its bug
(exit 1, naming the cause as the check does) and on the correct files (exit 0). Scripts run in this process
(``run_script``: torch is imported once), but for one, run as a student runs it.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from checks.engine.isolation.boundary import WorkerOptions  # noqa: E402
from checks.engine.run.counterexample import Counterexample  # noqa: E402
from checks.engine.run.repro import MARKER, attach_scripts  # noqa: E402
from checks.engine.run.repro_torch import TORCH_FUNCTION_SCRIPTS, torch_script_for  # noqa: E402
from checks.engine.isolation.trace import Trace  # noqa: E402
from checks.engine.run.runner import grade_submission  # noqa: E402
from checks.gradcheck import joint_direction  # noqa: E402
from checks.registry import ASSIGNMENTS_FOLDER, load_checks, self_check_split  # noqa: E402
from checks.strategies import Dims, rnn_problem_from_seed  # noqa: E402
from checks.lstm_problems import lstm_problem_from_seed  # noqa: E402
from checks.torch_cell_problems import cell_problem_from_seed  # noqa: E402
from checks.torch_problems import rnn_case  # noqa: E402
from test_checks_torch_cells import CAUGHT, NAMED  # noqa: E402  (each cell bug's failing checks, and its cause)
from repro_scripts import run_script, script_imports
from test_checks_torch import affected  # noqa: E402  (each bug file's failing checks)

ROOT = Path(__file__).resolve().parent.parent
TORCH = ROOT / "tests" / "corpus" / "torch"
CELLS = ROOT / "tests" / "corpus" / "torch_cells"
CORRECT = [TORCH / "rnn_layers_pytorch_correct.py", TORCH / "rnn_layers_pytorch_alternative.py"]
OPTIONS = WorkerOptions(preload=("torch",), allowed_packages=("torch",))
LSTM = lstm_problem_from_seed(Dims(N=2, T=3, D=2, H=2), seed=3)  # large enough that the gate orders differ everywhere
ALLOWED_IMPORTS = {"base64", "importlib", "linecache", "signal", "sys", "traceback", "types", "pathlib", "numpy", "torch"}
#: Each bug, and words its scripts' output must hold: the cause, as the check names it.
CAUSES = {
    "detach": [".detach()", "between steps"],
    "float32": ["float32", "dtype=x.dtype"],
    "gate_order": ["torch.nn's order i, f, g, o"],
    "inplace": ["an in-place write", "autograd said:"],
    "numpy": ["no grad_fn", ".numpy() round trip"],
}


@pytest.fixture(scope="module")
def checks():
    return load_checks(points_table=ASSIGNMENTS_FOLDER / "cs231n-pytorch.toml", assignment=True)


@pytest.fixture(scope="module")
def scripts(checks, tmp_path_factory) -> dict[str, list[Path]]:
    """{bug: the scripts of its failing checks}, written as --repro-dir writes them (each bug graded on the checks
    it fails only: the scripts are the same, the grade shorter)."""
    folder = tmp_path_factory.mktemp("repro_torch")
    written = {}
    for bug in CAUSES:
        path = TORCH / f"rnn_layers_pytorch_{bug}.py"
        grade = grade_submission(path, [c for c in checks if c.name in affected(path)], options=OPTIONS)
        missing = attach_scripts(grade, folder / bug)
        assert missing == [], missing  # every failing check got its script
        written[bug] = sorted((folder / bug).glob("*.py"))
        assert [p.stem for p in written[bug]] == sorted(affected(path))
    return written


@pytest.fixture(scope="module")
def runs(scripts) -> dict[tuple[Path, Path], tuple[int, str]]:
    """Every script on its own bug and on each correct file: {(script, submission): (exit status, output)}."""
    pairs = [(script, TORCH / f"rnn_layers_pytorch_{bug}.py") for bug, paths in scripts.items() for script in paths]
    pairs += [(script, correct) for paths in scripts.values() for script in paths for correct in CORRECT]
    return {(script, submission): run_script(script, str(submission)) for script, submission in pairs}


def test_the_scripts_cover_each_property(scripts):
    names = {path.stem for paths in scripts.values() for path in paths}
    assert names <= set(TORCH_FUNCTION_SCRIPTS)
    assert {"torch_rnn_forward_gradients_match_finite_differences", "torch_rnn_functions_keep_float64",
            "torch_lstm_forward_matches_reference"} <= names  # gradients, float64, forward


@pytest.mark.parametrize("bug", sorted(CAUSES))
def test_a_script_fails_on_its_bug_and_names_the_cause(scripts, runs, bug):
    for script in scripts[bug]:
        code, output = runs[(script, TORCH / f"rnn_layers_pytorch_{bug}.py")]
        assert code == 1, output
        assert "WRONG" in output and "The check fails on your code." in output
        assert all(words in " ".join(output.split()) for words in CAUSES[bug]), (script.name, output)


@pytest.mark.parametrize("correct", CORRECT, ids=lambda path: path.stem)
def test_every_script_passes_on_a_correct_file(scripts, runs, correct):
    wrong = {script.name: runs[(script, correct)] for paths in scripts.values() for script in paths
             if runs[(script, correct)][0] != 0}
    assert wrong == {}


def test_a_self_checks_stand_ins_get_scripts_from_the_lecture_s_definitions(checks, tmp_path):
    """Without the reference (a self-check), the stand-ins' scripts embed the lecture's LSTM: the gate-order bug
    fails them, named; the correct files pass them."""
    stand_ins = {c.name: c for c in self_check_split(checks)[0] if "follows_the_definition" in c.name}
    bug = TORCH / "rnn_layers_pytorch_gate_order.py"
    for name in ("torch_lstm_step_forward_follows_the_definition", "torch_lstm_forward_follows_the_definition"):
        script = tmp_path / f"{name}.py"
        script.write_text(torch_script_for(stand_ins[name], Counterexample({"p": LSTM}, Trace([]), "")))
        code, output = run_script(script, str(bug))
        assert code == 1 and "torch.nn's order i, f, g, o" in output, output
        assert all(run_script(script, str(correct))[0] == 0 for correct in CORRECT)


def test_scripts_import_only_the_standard_library_numpy_and_torch(scripts):
    for script in (script for paths in scripts.values() for script in paths):
        text = script.read_text()
        assert text.splitlines()[0] == MARKER  # rnn-grade's own file: --repro-dir may write over it
        imported = script_imports(text)
        assert imported <= ALLOWED_IMPORTS, (script.name, imported - ALLOWED_IMPORTS)


# -- one script, without a worker --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gradient_script(checks, tmp_path_factory) -> tuple[Path, dict, int]:
    """The rnn_forward gradient check's script on a drawn problem (N=2, T=3, D=2, H=3), its problem and seed."""
    check = next(c for c in checks if c.name == "torch_rnn_forward_gradients_match_finite_differences")
    p, seed = rnn_problem_from_seed(Dims(2, 3, 2, 3), seed=5), 1234
    path = tmp_path_factory.mktemp("one") / f"{check.name}.py"
    path.write_text(torch_script_for(check, Counterexample({"p": p, "seed": seed}, Trace([]), "")))
    return path, p, seed


def test_a_script_embeds_the_example_and_the_checks_direction_exactly(gradient_script):
    path, p, seed = gradient_script
    script = runpy.run_path(str(path))  # not as __main__: its definitions only
    case = rnn_case(p)
    (embedded,) = script["CASES"]
    assert all(np.array_equal(embedded["arguments"][name], value) for name, value in case.arguments.items())
    assert list(embedded["arguments"]) == list(case.arguments)  # the call order
    assert np.array_equal(embedded["upstream"][0], p.dh)
    direction = joint_direction(case.arguments, seed)
    assert all(np.array_equal(script["DIRECTION"][name], v) for name, v in direction.items())


# A correct PyTorch rnn_forward; its bug ``h.detach() @ Wh`` keeps the values and cuts the gradient through h_{t-1}.
RIGHT_FORWARD = textwrap.dedent("""
        import torch

        def rnn_forward(x, h0, Wx, Wh, b):
            h, hs = h0, []
            for t in range(x.shape[1]):
                h = torch.tanh(x[:, t] @ Wx + h @ Wh + b)
                hs.append(h)
            return torch.stack(hs, dim=1)
    """)


def test_a_gradient_script_catches_a_wrong_gradient_and_passes_a_right_one(gradient_script, tmp_path):
    """The script's own finite differences bite: a forward whose bias passes through a detached copy (its
    gradient through h_{t-1} lost, its values right) fails; the same forward without the bug passes; bad usage 2."""
    path, _, _ = gradient_script
    right = tmp_path / "right.py"
    right.write_text(RIGHT_FORWARD)
    wrong = tmp_path / "wrong.py"
    wrong.write_text(right.read_text().replace("h @ Wh", "h.detach() @ Wh"))
    (right_code, right_out), (wrong_code, wrong_out) = run_script(path, str(right)), run_script(path, str(wrong))
    assert right_code == 0, right_out
    assert wrong_code == 1 and "h0.grad: WRONG" in wrong_out and "cut" not in wrong_out.split("\n")[0], wrong_out
    assert run_script(path)[0] == run_script(path, str(tmp_path / "nothing.py"))[0] == 2


def test_a_script_reads_the_students_notebook_as_the_grader_does(gradient_script, tmp_path):
    """The report's command passes the notebook the student handed in: its definitions are read (its demo cell is
    not run), so the script fails on the bug and passes once it is fixed."""
    import nbformat

    path, _, _ = gradient_script
    right = RIGHT_FORWARD
    for name, source, expected in (("right", right, 0), ("wrong", right.replace("h @ Wh", "h.detach() @ Wh"), 1)):
        cells = ["%matplotlib inline", source, "print(rnn_forward(torch.ones(1, 1, 1), *[torch.ones(1, 1)] * 4))"]
        notebook = tmp_path / f"{name}.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), str(notebook))
        code, output = run_script(path, str(notebook))
        assert code == expected, output


def test_a_script_runs_standalone_as_a_student_runs_it(gradient_script, tmp_path):
    """``python script.py SUBMISSION`` in a folder of its own: only torch and numpy needed."""
    path, _, _ = gradient_script
    run = subprocess.run([sys.executable, str(path), str(CORRECT[0])], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "The property holds on this example." in run.stdout


# -- torch-cells: nn.Module cells against torch.nn (checks/torch_cells.py) ---------------------------------------------


@pytest.fixture(scope="module")
def cell_checks(tmp_path_factory):
    """Every check of both cells, the unbatched ones at 1 point (the shipped table leaves them out, unrun)."""
    table = tmp_path_factory.mktemp("table") / "torch-cells-unbatched.toml"
    shipped = (ASSIGNMENTS_FOLDER / "torch-cells.toml").read_text()
    table.write_text(shipped.replace("accepts_unbatched_input = 0", "accepts_unbatched_input = 1"))
    return load_checks(points_table=table, assignment=True)


@pytest.fixture(scope="module")
def cell_scripts(cell_checks, tmp_path_factory) -> dict[str, list[Path]]:
    """{bug: the scripts of its failing checks} for each cell bug of the corpus (graded on those checks only)."""
    folder = tmp_path_factory.mktemp("repro_cells")
    written = {}
    for bug, caught in CAUGHT.items():
        grade = grade_submission(CELLS / f"{bug}.py", [c for c in cell_checks if c.name in caught], options=OPTIONS)
        assert attach_scripts(grade, folder / bug) == []  # every failing check got its script
        written[bug] = sorted((folder / bug).glob("*.py"))
        assert {path.stem for path in written[bug]} == caught
    return written


@pytest.mark.parametrize("bug", sorted(CAUGHT))
def test_a_cell_script_fails_on_its_bug_and_passes_on_the_correct_cells(cell_scripts, bug):
    """Exit 1 on the bug; the script of the check whose message names the cause (NAMED) names it too."""
    named_check, phrase = NAMED[bug]
    for script in cell_scripts[bug]:
        code, output = run_script(script, str(CELLS / f"{bug}.py"))
        assert code == 1 and "The check fails on your code." in output, (script.name, output)
        if script.stem == named_check:
            assert phrase.lower() in output.lower(), output
        code, output = run_script(script, str(CELLS / "cells_correct.py"))
        assert code == 0 and "The property holds on this example." in output, (script.name, output)


def test_cell_scripts_import_only_the_standard_library_numpy_and_torch(cell_scripts):
    for script in (script for paths in cell_scripts.values() for script in paths):
        imported = script_imports(script.read_text())
        assert imported <= ALLOWED_IMPORTS, (script.name, imported - ALLOWED_IMPORTS)


def test_a_gradcheck_script_embeds_the_checks_direction_and_catches_a_wrong_gradient(cell_checks, tmp_path):
    """The cell's gradcheck script: its DIRECTION is the check's (joint_direction of the seed, over input, hx and
    the weights); a cell whose h enters through a detached copy fails it, naming hx; the correct cells pass."""
    check = next(c for c in cell_checks if c.name == "rnn_cell_gradients_match_finite_differences")
    p, seed = cell_problem_from_seed("RNNCell", 2, 3, 2, seed=4), 99
    script = tmp_path / f"{check.name}.py"
    script.write_text(torch_script_for(check, Counterexample({"p": p, "seed": seed}, Trace([]), "")))
    embedded = runpy.run_path(str(script))["DIRECTION"]
    expected = joint_direction({"input": p.input, **p.state, **p.params}, seed)
    assert list(embedded) == list(expected) and all(np.array_equal(embedded[n], v) for n, v in expected.items())
    wrong = tmp_path / "cells_detached.py"
    wrong.write_text((CELLS / "cells_correct.py").read_text().replace("hx @ self.weight_hh.T", "hx.detach() @ self.weight_hh.T"))
    assert wrong.read_text() != (CELLS / "cells_correct.py").read_text()
    code, output = run_script(script, str(wrong))
    assert code == 1 and "hx.grad: WRONG" in output and "input.grad: correct" in output, output
    assert run_script(script, str(CELLS / "cells_correct.py"))[0] == 0
