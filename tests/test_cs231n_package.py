"""A CS231n package as a student hands it in is graded as one submission (tests/corpus/cs231n_package/cs231n/).

The package has CS231n's layout, in the 2017-2024 starter's style: ``rnn_layers.py`` holds the vanilla
RNN, the word embedding, ``sigmoid`` and the LSTM, and the temporal layers as the course provides them
(no GRU: CS231n has none); ``classifiers/rnn.py`` holds ``CaptioningRNN`` and starts, as the course's
file does, with ``from ..layers import *`` and ``from ..rnn_layers import *``. It has no ``layers.py``
(the course provides one): the grader gives it an empty module in its place
(checks/engine/isolation/course_package.py). The tests show:

- the worker imports the package and finds every contract function it defines, and CaptioningRNN's
  ``loss`` and ``sample``, and nothing of the GRU;
- graded with each group whose functions it has, the captioning model's included, it scores full marks;
- without ``classifiers/rnn.py`` it still imports, and only the captioning model is missing: the
  checks that need it score 0, the others still grade;
- with a syntax error in ``classifiers/rnn.py`` the rest is graded, and the student reads the error in
  the submission's printed output;
- with or without a ``layers.py`` of its own, ``classifiers/rnn.py`` is imported.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from checks.engine.isolation.contract import Submission
from checks.engine.isolation.contract_functions import CONTRACT_FUNCTIONS, CONTRACT_METHODS
from checks.engine.run.runner import grade_submission
from checks.registry import load_checks

PACKAGE = Path(__file__).resolve().parent / "corpus" / "cs231n_package" / "cs231n"

# What rnn_layers.py defines of the contract, and what classifiers/rnn.py adds.
LAYER_FUNCTIONS = frozenset({
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "word_embedding_forward", "word_embedding_backward",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
    "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
})
MODEL_METHODS = frozenset({"CaptioningRNN.loss", "CaptioningRNN.sample"})
# The groups whose functions the package has: every check in them needs only LAYER_FUNCTIONS and MODEL_METHODS.
GROUPS = ("forward", "backward", "tanh", "lstm", "embedding", "temporal", "captioning")
SYNTAX_ERROR = "\n\ndef sample_with_beam(self, features:\n    pass\n"


@pytest.fixture(scope="module")
def checks():
    """Every built-in check, the captioning model's included (the default assignment leaves those out)."""
    return load_checks(points_table=None)


@contextmanager
def opened(path: Path) -> Iterator[Submission]:
    """The package behind its own worker, stopped afterwards."""
    sub = Submission(path)
    try:
        yield sub
    finally:
        sub.close()


def copy_of_package(tmp_path: Path) -> Path:
    """A copy of the package to break, in a folder of its own (named cs231n, as the course's)."""
    copy = tmp_path / "cs231n"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def full_marks_group(checks, group: str) -> list:
    """The checks of a group that grades the package fully."""
    chosen = [c for c in checks if c.group == group]
    assert chosen, f"no {group} checks"
    return chosen


def failures(grade) -> str:
    return "\n".join(f"{r.check.group}/{r.check.name}: {r.score:g}/{r.check.points:g} {r.message[:400]}"
                     for r in grade.results if not r.passed)


def test_the_worker_imports_the_package_and_finds_every_function_and_the_model():
    assert LAYER_FUNCTIONS <= set(CONTRACT_FUNCTIONS) and MODEL_METHODS <= set(CONTRACT_METHODS)
    assert not (PACKAGE / "layers.py").exists()  # the grader's empty stand-in is what ``from ..layers import *`` reads
    with opened(PACKAGE) as sub:
        assert sub.import_error is None
        assert LAYER_FUNCTIONS | MODEL_METHODS <= sub.functions
        assert not {name for name in sub.functions if name.startswith("gru_")}  # CS231n has no GRU
        assert sub.take_output() == ""


@pytest.mark.parametrize("group", GROUPS)
def test_each_group_whose_functions_the_package_has_gives_full_marks(group, checks):
    chosen = full_marks_group(checks, group)
    assert all(set(c.needs) <= LAYER_FUNCTIONS | MODEL_METHODS for c in chosen), "a check needs what the package lacks"
    grade = grade_submission(PACKAGE, chosen)
    assert grade.score == grade.max_score > 0, failures(grade)


def test_without_the_model_file_the_package_imports_and_loses_only_the_captioning_model(tmp_path, checks):
    package = copy_of_package(tmp_path)
    (package / "classifiers" / "rnn.py").unlink()
    with opened(package) as sub:
        assert sub.import_error is None
        functions = sub.functions
    # Every other check sees exactly the functions it saw in the whole package, so it grades the same.
    assert "CaptioningRNN.loss" not in functions and "CaptioningRNN.sample" not in functions
    assert functions & set(CONTRACT_FUNCTIONS) == LAYER_FUNCTIONS
    needing_model = [c for c in checks if set(c.needs) & MODEL_METHODS]
    assert {c.group for c in needing_model} == {"captioning"}
    grade = grade_submission(package, needing_model)
    assert grade.score == 0 and all(not r.passed for r in grade.results)
    embedding = full_marks_group(checks, "embedding")
    grade = grade_submission(package, embedding)
    assert grade.score == grade.max_score > 0, failures(grade)


def test_a_syntax_error_in_the_model_file_costs_the_model_only_and_is_printed_for_the_student(tmp_path, checks):
    package = copy_of_package(tmp_path)
    model_file = package / "classifiers" / "rnn.py"
    model_file.write_text(model_file.read_text() + SYNTAX_ERROR)
    with opened(package) as sub:
        assert sub.import_error is None
        assert sub.functions & set(CONTRACT_FUNCTIONS) == LAYER_FUNCTIONS
        assert not sub.functions & MODEL_METHODS
        printed = sub.take_output()
    assert "classifiers/rnn.py could not be imported" in printed and "SyntaxError in rnn.py" in printed, printed
    assert "def sample_with_beam(self, features:" in printed
    temporal = full_marks_group(checks, "temporal")
    grade = grade_submission(package, temporal)
    assert grade.score == grade.max_score > 0, failures(grade)


@pytest.mark.parametrize("own_layers", [False, True], ids=["without layers.py", "with the course's layers.py"])
def test_the_model_file_is_imported_with_or_without_a_layers_module(tmp_path, own_layers):
    package = copy_of_package(tmp_path)
    if own_layers:  # a student who hands in the course's whole folder: layers.py is the real one
        (package / "layers.py").write_text(
            "import numpy as np\n\n\ndef affine_forward(x, w, b):\n"
            "    out = x.reshape(x.shape[0], -1).dot(w) + b\n    return out, (x, w, b)\n")
    assert (package / "layers.py").exists() == own_layers
    with opened(package) as sub:
        assert sub.import_error is None
        assert MODEL_METHODS <= sub.functions
        assert sub.take_output() == ""
