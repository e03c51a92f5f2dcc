"""The same seed draws the same examples, whatever else the grading process has loaded.

Hypothesis (6.131 on) mixes into its draws constants from the source of "local" modules in
``sys.modules``; ``checks.engine.run.profiles.draw_without_local_constants`` turns that off, so that a
failing check (which loads the misconception models), an in-process import of a submission or an
editable install cannot change what later checks draw.
"""

from __future__ import annotations

import importlib.util
import pickle
import sys
from pathlib import Path

import pytest
from hypothesis.internal.conjecture import providers

from checks.engine.run.lookahead import draw_examples
from checks.engine.run.profiles import DEFAULT_SEED
from checks.registry import Check, load_checks

# A module full of integers a size or a seed could be: were its constants drawn, dims and seeds would change.
CONSTANTS_MODULE = "SIZES = [" + ", ".join(str(k) for k in range(1, 40)) + "]\nSEEDS = [" + \
    ", ".join(str(7919 * k + 104729) for k in range(1, 200)) + "]\n"


def drawn_examples(check: Check) -> list[bytes]:
    """Every example Hypothesis gives ``check`` under the default seed (its body skipped), pickled
    without the submission."""
    seen: list[bytes] = []
    assert draw_examples(check, DEFAULT_SEED, lambda payload: seen.append(pickle.dumps(payload[1])))
    return seen


def import_local_module(folder: Path, name: str) -> None:
    path = folder / f"{name}.py"
    path.write_text(CONSTANTS_MODULE)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


@pytest.fixture
def sized_checks() -> list[Check]:
    """The default checks whose examples draw sizes and seeds (every @given check)."""
    return [check for check in load_checks(profile="default") if getattr(check.function, "hypothesis", None)]


def test_loading_a_module_does_not_change_what_is_drawn(sized_checks, tmp_path):
    before = [drawn_examples(check) for check in sized_checks]
    import_local_module(tmp_path, "rnn_grade_constants_probe")
    try:
        assert [drawn_examples(check) for check in sized_checks] == before
    finally:
        sys.modules.pop("rnn_grade_constants_probe", None)


def test_the_check_bites_without_the_patch(sized_checks, tmp_path, monkeypatch):
    """With Hypothesis's own collector back, the same module does change the examples (so the test
    above would fail if the patch stopped working)."""
    patched = providers._get_local_constants
    assert getattr(patched, "finds_none", False), "draw_without_local_constants did not take effect"
    original = patched.__wrapped__
    monkeypatch.setattr(providers, "_get_local_constants", original)
    before = [drawn_examples(check) for check in sized_checks]
    import_local_module(tmp_path, "rnn_grade_constants_probe_2")
    try:
        providers.CONSTANTS_CACHE.cache.clear()
        assert [drawn_examples(check) for check in sized_checks] != before
    finally:
        sys.modules.pop("rnn_grade_constants_probe_2", None)
        providers.CONSTANTS_CACHE.cache.clear()
