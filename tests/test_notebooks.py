"""Notebook submissions (checks.engine.inputs.notebook): a .ipynb read as Python, its demos never run.

Most tests read a notebook built here with nbformat and look at the module made of it: which
statements were kept (parsed back with ``ast``), what running that module does (it is this test's
own code, run in this process), and the account the student reads. A few grade through the
command line: a correct notebook with magics, a training loop and a broken cell scores full marks
with the real checks, and one class of notebooks, graded with the three tiny checks, shows later
definitions winning, a broken cell costing only its function, a notebook global left out, and
class discovery of ``alice.ipynb`` and ``bob/rnn.ipynb``.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import os
import sys
import time
import traceback
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from checks.engine.course.classroom import discover
from checks.engine.inputs.intake import read_submission
from checks.engine.inputs.notebook import IMPORT_WRAPPER, MAX_CODE_BYTES, MAX_NOTEBOOK_BYTES, NotebookUnreadable, \
    is_constant, read_notebook
from tiny_grading import CORRECT, REPO, rnn_grade, tiny_options

CORRECT_FILE = REPO / "tests" / "corpus" / "correct" / "cs231n_style.py"


def notebook_bytes(*cells: str | object) -> bytes:
    """A notebook of ``cells`` (a string is a code cell), as Jupyter saves it (sources as lists of lines)."""
    made = [new_code_cell(cell) if isinstance(cell, str) else cell for cell in cells]
    return nbformat.writes(new_notebook(cells=made)).encode()


def read(*cells: str | object, name: str = "rnn.ipynb"):
    return read_notebook(notebook_bytes(*cells), name)


def top_level(source: str) -> list[str]:
    """What the module defines or imports at top level, in order: 'def f', 'class C', 'import x', 'X ='; an
    import made through the wrapper is '(wrapped) import x'."""
    kinds = []
    for node in ast.parse(source).body[1:]:  # the first is the import wrapper of the preamble
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            kinds.append(f"{'class' if isinstance(node, ast.ClassDef) else 'def'} {node.name}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            kinds.append(ast.unparse(node))
        elif isinstance(node, ast.Expr) and ast.unparse(node.value.func) == IMPORT_WRAPPER:
            kinds.append(f"(wrapped) {ast.unparse(ast.parse(node.value.args[0].value))}")
        elif isinstance(node, ast.Expr):
            kinds.append(ast.unparse(node.value))  # a definition undone: globals().pop(...)
        else:
            kinds.append(", ".join(ast.unparse(target) for target in node.targets) + " ="
                         if isinstance(node, ast.Assign) else f"{ast.unparse(node.target)} =")
    return kinds


def run_module(source: str, name: str = "notebook_module.py") -> dict:
    """Run the module read from a notebook (in this process: the tests' own notebooks); its globals."""
    namespace = {"__name__": "notebook_module"}
    exec(compile(source, name, "exec"), namespace)
    return namespace


# -- the statement filter -------------------------------------------------------------------------------


def test_only_top_level_definitions_imports_and_constants_are_kept_in_order(capsys):
    module = read(
        "import numpy as np\nfrom math import pi as PI, tau\nEPS = 1e-8\nSHAPE: tuple = (2, -3)\nA = B = 'ab' * 2\n",
        "@staticmethod\ndef decorated(x):\n    return x\n\nasync def later():\n    return 1\n\n"
        "class Cell:\n    H = 4\n",
        "print('demo ran')\nnp.random.seed(1)\nparameters = {'Wax': np.random.randn(5, 3)}\nx_tmp = np.zeros(3)\n"
        "for t in range(10**9):\n    pass\nif __name__ == '__main__':\n    print('main ran')\ncount += 1\n"
        "W: print('annotation ran') = 3\nfrom . import sibling\nfrom __future__ import annotations\n",
    ).source
    assert top_level(module) == ["import numpy as np", "(wrapped) from math import pi as PI, tau", "EPS =", "SHAPE =",
                                 "A, B =",
                                 "def decorated", "def later", "class Cell"]
    names = run_module(module)
    assert (names["EPS"], names["SHAPE"], names["A"], names["B"], names["Cell"].H) == (1e-8, (2, -3), "abab", "abab", 4)
    assert "parameters" not in names and "x_tmp" not in names and "W" not in names
    assert capsys.readouterr().out == ""  # no demo, loop, main block or annotation was run


@pytest.mark.parametrize("expression", ["1", "-1", "1e-8", "'text'", "b'bytes'", "None", "True", "(1, 'a')",
                                        "[1, -2.5]", "{'a': 1, 2: (3,)}", "{1, 2}", "2 ** -10", "not True", "~1",
                                        "(1 + 2) * 3 / 4 // 5 % 6", "..."])
def test_a_constant_expression_is_literals_and_arithmetic(expression):
    assert is_constant(ast.parse(expression, mode="eval").body)


@pytest.mark.parametrize("expression", ["np.pi", "x", "f()", "[f()]", "{**d}", "a[0]", "f'{x}'", "[*a]",
                                        "lambda: 1", "1 if x else 2", "1 < 2", "(y := 1)", "[i for i in range(3)]",
                                        "1 @ 2", "1 << 2", "-x"])
def test_a_name_call_attribute_or_anything_else_is_not_constant(expression):
    assert not is_constant(ast.parse(expression, mode="eval").body)


def test_ipython_syntax_is_read_as_calls_and_left_out():
    reading = read("%matplotlib inline\nimport numpy as np\n!pip install numpy\nfiles = !ls\nnp.zeros?\n",
                   "%%time\ndef timed():\n    return 1\ntimed()\n",
                   "%load_ext autoreload\ndef kept():\n    return 2\n", "%%bash\ndef not_python():\n")
    assert top_level(reading.source) == ["import numpy as np", "def timed", "def kept"]  # %%time runs its cell
    assert run_module(reading.source)["timed"]() == 1
    assert reading.account[1] == ("Not run: 7 top-level statements in cells 1-4 (only definitions, imports "
                                  "and constants are read); a function that uses a global they set (files) fails "
                                  "with a NameError.")


def test_the_globals_said_to_fail_are_those_left_unbound():
    reading = read("x = make()\ny = make()\n", "x = 3\n")
    assert reading.account[1].endswith("a function that uses a global they set (y) fails with a NameError.")


def test_later_definitions_win_as_in_the_notebook():
    names = run_module(read("def f():\n    return 'first'\nK = 1\n", "def f():\n    return 'second'\n",
                            "K = 2\n").source)
    assert (names["f"](), names["K"]) == ("second", 2)
    names = run_module(read("def f():\n    return 'second'\n", "def f():\n    return 'first'\n").source)
    assert names["f"]() == "first"


def test_a_kept_global_rebound_by_a_statement_left_out_is_unbound_as_in_the_notebook():
    names = run_module(read("N = 5\nimport json as codec\ndef f():\n    return N\n",
                            "N = len('data')\ncodec = make()\n", "def g():\n    return 1\ng = g()\n").source)
    with pytest.raises(NameError, match="'N' is not defined"):
        names["f"]()
    assert "codec" not in names and "g" not in names


def test_a_cell_that_does_not_parse_is_named_and_skipped():
    reading = read(new_markdown_cell("# not counted"), "def f():\n    return 1\n", "cd data\n", "x = (\n")
    assert reading.account[1:3] == ("Cell 2 does not parse (SyntaxError on its line 1: invalid syntax) and was "
                                    "skipped.", "Cell 3 does not parse (SyntaxError on its line 1: '(' was never "
                                                "closed) and was skipped.")
    assert run_module(reading.source)["f"]() == 1


def test_a_cell_is_read_if_what_is_kept_of_it_compiles():
    reading = read("def kept():\n    return 1\nreturn 2\n", "def f():\n    nonlocal x\n")
    assert run_module(reading.source)["kept"]() == 1  # the demo's top-level return is not kept
    assert reading.account[2] == ("Cell 2 does not parse (SyntaxError on its line 2: no binding for nonlocal 'x' "
                                  "found): f could not be read, so it is missing.")


def test_a_function_in_a_cell_that_does_not_parse_is_missing_even_if_an_earlier_cell_defined_it():
    reading = read("def rnn_step_forward():\n    return 1\ndef rnn_step_backward():\n    return 'old'\n",
                   "import json\ndef rnn_step_backward(:\n    pass\n\nclass Helper:\n    pass\n",
                   "def rnn_forward():\n    return 3\n")
    names = run_module(reading.source)
    assert "rnn_step_backward" not in names and "Helper" not in names
    assert (names["rnn_step_forward"](), names["rnn_forward"]()) == (1, 3)
    assert reading.account[0].startswith("Read the notebook rnn.ipynb: used code cells 1 and 3 (")
    assert reading.account[0].endswith("which define rnn_step_forward and rnn_forward.")
    assert reading.account[1] == ("Cell 2 does not parse (SyntaxError on its line 2: invalid syntax): "
                                  "rnn_step_backward and Helper could not be read, so they are missing.")


def test_a_line_number_in_a_traceback_is_found_from_the_account():
    reading = read("import numpy as np\n",
                   "print('demo')\nK = 2\n\ndef g(x):\n    y = x + 1\n    raise ValueError(y)\n")
    with pytest.raises(ValueError) as raised:
        run_module(reading.source)["g"](1)
    line = traceback.extract_tb(raised.tb)[-1].lineno
    assert reading.account[-1].startswith("Line numbers in messages count lines of the Python read from the notebook: ")
    assert reading.account[-1].endswith(f", cell 2 at line {line - 5}.")  # g raises on line 6 of cell 2


def test_an_import_the_grader_cannot_make_is_left_out_and_said(monkeypatch):
    reading = read("import numpy as np\nimport json, no_such_module_here as gone\nfrom public_tests import *\n",
                   "import matplotlib_is_not_here.pyplot as plt\n"
                   "def f():\n    return json.dumps(np.ones(1).tolist())\n")
    names = run_module(reading.source)
    assert names["f"]() == "[1.0]" and "gone" not in names and "plt" not in names
    assert reading.account[1] == ("Cells 1 and 2 import json, no_such_module_here, public_tests and "
                                  "matplotlib_is_not_here.pyplot: an import the grader cannot make is left out, "
                                  "and the names it would provide are then missing.")
    assert "import numpy as np\n" in reading.source  # numpy (and torch, rnn_utils) as in a .py file
    monkeypatch.setitem(sys.modules, "public_tests", None)  # an import of it now fails as a missing module does
    monkeypatch.setitem(sys.modules, "rnn_utils", None)  # missing here, whatever an earlier test of this process imported
    required = read("from rnn_utils import sigmoid\nfrom public_tests import *\n").source
    with pytest.raises(ModuleNotFoundError, match="rnn_utils"):
        run_module(required)


# -- hostile notebooks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "reason"), [
    (b"def rnn_step_forward(x):\n    pass\n", "it is not JSON"),
    (b"{}", "it is not in the notebook format"),
    (b"[1, 2]", "it is not in the notebook format"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": "x"}', "it is not in the notebook format"),
    (b"[" * 100_000, "it is nested too deeply"),
    (b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, "x": "\xff"}', "it is not UTF-8 text"),
])
def test_bytes_that_are_not_a_notebook_are_a_sentence_not_a_traceback(content, reason):
    with pytest.raises(NotebookUnreadable) as raised:
        read_notebook(content, "my\x1b[31m$'rnn\".ipynb")
    assert str(raised.value) == (f"my\\x1b[31m$'rnn\".ipynb could not be read as a notebook ({reason}). "
                                 "Save it again from Jupyter and submit it.")


def test_hostile_cells_are_read_as_text_and_shown_escaped():
    terminal = new_code_cell("BANNER = '\x1b[2J\x1b]0;owned\x07'\n")
    nul = new_code_cell("def rnn_step_forward(x):\n    return x\x00\n")
    surrogate = new_code_cell("S = 'SURROGATE'\n")  # made a lone surrogate in the JSON below
    listed = new_code_cell("")
    listed.source = ["def listed():\n", "    return 'lines'\n"]  # as Jupyter saves it; nbformat joins them
    content = notebook_bytes(terminal, nul, surrogate, listed).replace(b"SURROGATE", b"\\udc80")
    reading = read_notebook(content, "rnn.ipynb")
    names = run_module(reading.source)
    assert names["BANNER"] == "\x1b[2J\x1b]0;owned\x07" and names["listed"]() == "lines"
    assert "rnn_step_forward" not in names
    assert reading.account[1].startswith("Cell 2 does not parse (")  # Python's own words vary by version
    assert reading.account[1].endswith("null bytes): rnn_step_forward could not be read, so it is missing.")
    assert reading.account[2] == "Cell 3 does not parse (it holds a character that is not text) and was skipped."
    assert not any(ord(c) < 32 for sentence in reading.account for c in sentence)


def test_a_huge_notebook_is_read_up_to_the_limit_of_code_and_quickly():
    line = "x = [" + "1, " * 30_000 + "]\n"  # 90 kB a line, past what IPython is asked to transform
    cells = ["def first():\n    return 1\n", *([line * 3 + "%magic\n"] * 4), "def last():\n    return 2\n"]
    started = time.perf_counter()
    reading = read(*cells)
    assert time.perf_counter() - started < 10
    assert 3 * 4 * len(line) > MAX_CODE_BYTES
    names = run_module(reading.source)
    assert "first" in names and "last" not in names
    assert "Cells 5-6 were not read: the code cells together pass 1 MiB, the limit for a submission's code." \
        in reading.account


# -- intake and discovery ------------------------------------------------------------------------------------


def test_intake_holds_the_python_read_from_the_notebook_with_its_helpers(tmp_path):
    outputs = [new_output("display_data", data={"image/png": "A" * (2 * 1024 * 1024)})]  # past the 1 MiB of a .py
    (tmp_path / "rnn.ipynb").write_bytes(notebook_bytes(new_code_cell(CORRECT, outputs=outputs)))
    (tmp_path / "rnn_utils.py").write_text("def sigmoid(x):\n    return x\n")
    (tmp_path / "rnn.ipynb.py").write_text("stale = True\n")
    snapshot = read_submission(tmp_path / "rnn.ipynb")
    files = dict(snapshot.files)
    assert snapshot.name == "rnn.ipynb.py" and snapshot.complete and sorted(files) == ["rnn.ipynb.py", "rnn_utils.py"]
    assert top_level(files["rnn.ipynb.py"].decode()) == ["import numpy as np", "def rnn_step_forward",
                                                         "def rnn_step_backward"]
    assert any(note.startswith("Read the notebook rnn.ipynb: used code cells 1 (") for note in snapshot.left_out)
    assert "rnn.ipynb.py was left out: the Python read from your notebook rnn.ipynb takes its name" in snapshot.left_out


def test_intake_leaves_out_a_notebook_past_its_limit(tmp_path):
    with open(tmp_path / "big.ipynb", "wb") as big:
        big.truncate(MAX_NOTEBOOK_BYTES + 1)
    snapshot = read_submission(tmp_path / "big.ipynb")
    assert not snapshot.complete
    assert snapshot.left_out == ("big.ipynb was left out: it is larger than 20 MiB, the limit for a notebook",)


def test_discovery_takes_notebooks_as_submissions(tmp_path):
    for path in ("alice.ipynb", "bob/rnn.ipynb", "carol/rnn.ipynb", "carol/rnn_utils.py", "dave/rnn.py",
                 "erin/a.ipynb", "erin/b.ipynb", "frank/cs231n/__init__.py", "frank/RNN_Captioning.ipynb",
                 "notes.txt"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    entries = {entry.id: entry for entry in discover([tmp_path])}
    graded = {id_: str(entry.path.relative_to(tmp_path)) for id_, entry in entries.items() if not entry.problem}
    assert graded == {"alice": "alice.ipynb", "bob": "bob/rnn.ipynb", "carol": "carol/rnn.ipynb",
                      "dave": "dave/rnn.py", "frank": "frank/cs231n"}
    assert entries["alice"].alone and not entries["carol"].alone  # carol's rnn_utils.py is her notebook's helper
    assert "expected its only .py file, or rnn_layers.py, or its only notebook" in entries["erin"].problem
    assert discover([tmp_path / "alice.ipynb"])[0].id == "alice"


# -- graded through the command line -------------------------------------------------------------------------


def correct_notebook() -> bytes:
    """The correct corpus submission, one function a cell, among what students' notebooks hold."""
    source = CORRECT_FILE.read_text()
    functions = [ast.get_source_segment(source, node) for node in ast.parse(source).body
                 if isinstance(node, ast.FunctionDef)]
    return notebook_bytes(
        new_markdown_cell("# Recurrent networks\nRun every cell."),
        "%matplotlib inline\nimport numpy as np\nimport matplotlib.pyplot as plt\nfrom public_tests import *\n"
        "!pip install tqdm\n",
        *functions,
        "%%time\nh, cache = rnn_forward(np.ones((2, 3, 4)), np.zeros((2, 5)), np.ones((4, 5)), np.ones((5, 5)), "
        "np.ones(5))\n",
        "while True:  # training\n    pass\n",
        "cd data\nls\n",
        new_code_cell("print(h.shape)", outputs=[new_output("stream", name="stdout", text="(2, 3, 5)\n")]),
    )


def test_a_notebook_with_magics_a_training_loop_and_a_broken_cell_scores_full_marks(tmp_path):
    notebook = tmp_path / "rnn.ipynb"
    notebook.write_bytes(correct_notebook())
    run = rnn_grade(str(notebook), "--assignment", "rnn", "--results", str(tmp_path / "results.json"))
    results = json.loads((tmp_path / "results.json").read_text())
    assert run.returncode == 0, run.stderr
    assert results["score"] == 100 and results["extra_data"]["import_error"] is None
    assert "Your notebook was read as Python: only its definitions were graded" in run.stdout
    notes = results["extra_data"]["files_left_out"]
    assert notes[0].startswith("Read the notebook rnn.ipynb: used code cells 1-25 (")
    assert "Cell 28 does not parse (SyntaxError on its line 1: invalid syntax) and was skipped." in notes


def test_the_course_package_s_functions_in_a_notebook_score_full_marks_under_cs231n(tmp_path):
    """--assignment cs231n from a notebook: the layers and the captioning model, defined in cells, score 100/100."""
    notebook = tmp_path / "RNN_Captioning.ipynb"
    notebook.write_bytes(notebook_bytes("%load_ext autoreload\n%autoreload 2",
                                        CORRECT_FILE.read_text(),
                                        "!ls", "while True:\n    pass"))
    run = rnn_grade(str(notebook), "--assignment", "cs231n", "--results", str(tmp_path / "results.json"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads((tmp_path / "results.json").read_text())["score"] == 100


HEAD, BACKWARD = CORRECT.split("def rnn_step_backward")
STEP_FORWARD = "def rnn_step_forward" + HEAD.split("def rnn_step_forward")[1]
STEP_BACKWARD = "def rnn_step_backward" + BACKWARD
WRONG_FORWARD = STEP_FORWARD.replace("prev_h @ Wh + b", "prev_h @ Wh")  # forgets the bias
GLOBAL_FORWARD = STEP_FORWARD.replace("prev_h @ Wh + b", "prev_h @ parameters['Wh'] + b")


@pytest.fixture(scope="module")
def notebook_class(tmp_path_factory) -> tuple[Path, list[dict], Path]:
    """One class of notebooks graded with the tiny checks (forward 2 points, backward 3, hygiene 1)."""
    folder = tmp_path_factory.mktemp("class")
    students = {
        "alice.ipynb": ["import numpy as np", WRONG_FORWARD, STEP_FORWARD, STEP_BACKWARD],  # the right one last
        "bob/rnn.ipynb": ["import numpy as np", STEP_FORWARD, STEP_BACKWARD, WRONG_FORWARD],  # the wrong one last
        "carol.ipynb": ["import numpy as np", STEP_FORWARD,
                        STEP_BACKWARD.replace("(dnext_h, cache)", "(dnext_h, cache")],  # does not parse
        "dave.ipynb": ["import numpy as np", "parameters = {'Wh': np.eye(4)}", GLOBAL_FORWARD, STEP_BACKWARD],
        "erin/my $ 'rnn\".ipynb": ["import numpy as np", STEP_FORWARD, STEP_BACKWARD],
        # A decorator from a module the grader cannot import: the import is left out, so the module fails.
        "frank.ipynb": ["import numpy as np\nfrom ipywidgets import interact", STEP_FORWARD, STEP_BACKWARD,
                        "@interact(n=(1, 10))\ndef demo(n):\n    print(rnn_step_forward)\n"],
    }
    # The course's helpers beside the notebook, as deeplearning.ai's rnn_utils.py: imported by the notebook.
    students["gina/rnn.ipynb"] = ["from rnn_utils import *", STEP_FORWARD.replace("np.tanh", "tanh"), STEP_BACKWARD]
    for name, cells in students.items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_bytes(notebook_bytes(*cells))
    (folder / "gina" / "rnn_utils.py").write_text("import numpy as np\n\n\ndef tanh(x):\n    return np.tanh(x)\n")
    out = folder.parent / f"{folder.name}-grades"
    run = rnn_grade(str(folder), "--out", str(out), *tiny_options(folder.parent / f"{folder.name}-tiny"))
    assert run.returncode in (0, 1), run.stderr
    return out, list(csv.DictReader(io.StringIO((out / "grades.csv").read_text()))), folder


def test_a_class_of_notebooks_is_graded_later_definitions_winning(notebook_class):
    out, rows, _ = notebook_class
    # Each check calls rnn_step_forward: bob's last definition (no bias) and dave's (a notebook global) lose them all.
    assert {row["submission"]: (row["score"], row["forward"], row["backward"], row["hygiene"], row["status"])
            for row in rows} == {"alice": ("6", "2", "3", "1", "graded"), "bob": ("0", "0", "0", "0", "graded"),
                                 "carol": ("3", "2", "0", "1", "graded"), "dave": ("0", "0", "0", "0", "graded"),
                                 "erin": ("6", "2", "3", "1", "graded"),
                                 "frank": ("0", "0", "0", "0", "import-error"),
                                 "gina": ("6", "2", "3", "1", "graded")}
    assert "Read the notebook my $ 'rnn\".ipynb: used code cells 1-3" in (out / "erin" / "feedback.md").read_text()


def test_a_broken_cell_costs_only_its_function(notebook_class):
    out, _, _ = notebook_class
    feedback = (out / "carol" / "feedback.md").read_text()
    assert "Cell 3 does not parse (SyntaxError on its line 1: '(' was never closed): rnn_step_backward could not be " \
           "read, so it is missing." in feedback
    assert "not implemented: rnn_step_backward" in feedback  # missing, as a function left out is


def test_a_function_that_reads_a_notebook_global_fails_with_a_name_error_naming_it(notebook_class):
    out, _, _ = notebook_class
    feedback = (out / "dave" / "feedback.md").read_text()
    assert "rnn_step_forward raised NameError: name 'parameters' is not defined (rnn_step_forward line 14: " \
           "next_h = np.tanh(x @ Wx + prev_h @ parameters['Wh'] + b))" in feedback
    assert "cell 3 at line 13" in feedback  # so line 14 is the line 2 of cell 3 that reads the global
    assert "a function that uses a global they set (parameters) fails with a NameError" in feedback


def test_the_account_explains_an_import_error(notebook_class):
    out, _, _ = notebook_class
    feedback = (out / "frank" / "feedback.md").read_text()
    assert "NameError: name 'interact' is not defined" in feedback
    # The import error says what the notebook's account says: the import of interact may be left out.
    assert "Cell 1 imports ipywidgets: an import the grader cannot make is left out, and the names it would " \
           "provide are then missing." in feedback
