"""An error from the submission names the chain of the student's own frames (issue 9 §6).

The mistake is often in the caller: tests/corpus/buggy/forward_squeezed_input.py squeezes x_t in
rnn_forward and rnn_step_forward raises. The grader's message and the reproduction script both say
"rnn_forward line A → rnn_step_forward line B: <code>", outermost first, with the right lines.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from checks.engine.isolation.caller_chain import caller_chain
from checks.engine.isolation.contract import Submission
from checks.engine.run.repro import script_for
from checks.engine.run.runner import run_check
from checks.registry import load_checks

CORPUS = Path(__file__).resolve().parent / "corpus"
SQUEEZED = CORPUS / "buggy" / "forward_squeezed_input.py"


def line_of(path: Path, text: str) -> int:
    """The number of the one line of ``path`` that contains ``text``."""
    [number] = [i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return number


def expected_chain() -> str:
    caller = line_of(SQUEEZED, "rnn_step_forward(x_t, prev_h, Wx, Wh, b)")
    raising = line_of(SQUEEZED, "a = x.dot(Wx) + prev_h.dot(Wh) + b")
    return f"rnn_forward line {caller} → rnn_step_forward line {raising}: a = x.dot(Wx) + prev_h.dot(Wh) + b"


@pytest.fixture(scope="module")
def squeezed_result():
    check = next(c for c in load_checks() if c.name == "sequence_forward_matches_reference")
    sub = Submission(SQUEEZED)
    try:
        yield run_check(check, sub)
    finally:
        sub.close()


def test_the_message_names_caller_and_callee_in_order_with_their_lines(squeezed_result):
    assert squeezed_result.score == 0
    assert squeezed_result.message.startswith("rnn_forward raised ValueError: ")
    assert squeezed_result.message.endswith(f"({expected_chain()})"), squeezed_result.message


def test_the_reproduction_script_tells_the_same_chain(squeezed_result, tmp_path):
    script = tmp_path / "repro.py"
    script.write_text(script_for(squeezed_result.check, squeezed_result.example))
    done = subprocess.run([sys.executable, str(script), str(SQUEEZED)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"    at {expected_chain()}\n" in done.stdout, done.stdout
    fixed = subprocess.run([sys.executable, str(script), str(CORPUS / "correct" / "cs231n_style.py")],
                           capture_output=True, text=True, timeout=120)
    assert fixed.returncode == 0, fixed.stdout


# -- the chain itself, on code that raises here ---------------------------------------------------

def raised_in(tmp_path: Path, files: dict[str, str], call: str) -> BaseException:
    """The exception that ``call`` raises in a package made of ``files`` under tmp_path/pkg."""
    package = tmp_path / "pkg"
    package.mkdir()
    for name, text in files.items():
        (package / name).write_text(textwrap.dedent(text))
    sys.path.insert(0, str(tmp_path))
    try:
        namespace: dict = {}
        with pytest.raises(Exception) as raised:
            exec(call, namespace)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "pkg" or m.startswith("pkg.")]:
            del sys.modules[name]
    return raised.value


def test_frames_outside_the_submission_are_left_out(tmp_path):
    error = raised_in(tmp_path, {"__init__.py": """\
        import numpy as np
        def outer(x):
            return inner(x)
        def inner(x):
            return np.reshape(x, (5,))
    """}, "import pkg; pkg.outer([1, 2])")
    assert caller_chain(error, str(tmp_path / "pkg")) == "outer line 3 → inner line 5: return np.reshape(x, (5,))"
    assert caller_chain(error, str(tmp_path / "elsewhere")) == ""


def test_a_chain_through_two_files_names_each_file_where_it_changes(tmp_path):
    error = raised_in(tmp_path, {
        "__init__.py": "from .helpers import step\ndef forward(x):\n    return step(x)\n",
        "helpers.py": "def step(x):\n    return 1 / x\n",
    }, "import pkg; pkg.forward(0)")
    assert caller_chain(error, str(tmp_path / "pkg")) == \
        "__init__.py, forward line 3 → helpers.py, step line 2: return 1 / x"
    # A file under the root that is not the student's (the grader, a reproduction script) is left out.
    assert caller_chain(error, str(tmp_path / "pkg"), outside=(str(tmp_path / "pkg" / "helpers.py"),)) == \
        "forward line 3: return step(x)"


def test_a_long_chain_keeps_its_first_and_last_two_frames(tmp_path):
    error = raised_in(tmp_path, {"__init__.py": """\
        def countdown(n):
            if n == 0:
                raise ValueError("done")
            return countdown(n - 1)
    """}, "import pkg; pkg.countdown(6)")
    assert caller_chain(error, str(tmp_path / "pkg")) == \
        'countdown line 4 → countdown line 4 → … → countdown line 4 → countdown line 3: raise ValueError("done")'


def test_an_error_at_import_is_at_the_top_level(tmp_path):
    error = raised_in(tmp_path, {"__init__.py": "x = 1\ny = x / 0\n"}, "import pkg")
    assert caller_chain(error, str(tmp_path / "pkg")) == "top level line 2: y = x / 0"
