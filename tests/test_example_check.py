"""The example check of docs/authors/adding-a-check.md is the file docs/examples/vanishing_gradient.py, word for word
(less its docstring), and it does what the page says: the reference passes it, the 1 − a² bug fails it."""

from __future__ import annotations

import re

from checks.engine.run.runner import grade_submission
from checks.registry import load_checks
from tiny_grading import REPO

EXAMPLE = REPO / "docs" / "examples" / "vanishing_gradient.py"
PAGE = REPO / "docs" / "authors" / "adding-a-check.md"


def test_the_authors_page_shows_the_example_check_unchanged():
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    shown = next(block for block in blocks if block.startswith("# docs/examples/vanishing_gradient.py"))
    # The file adds only its module docstring in front of what the page shows.
    assert EXAMPLE.read_text().endswith(shown.removeprefix("# docs/examples/vanishing_gradient.py\n"))


def test_the_example_check_passes_the_reference_and_fails_the_tanh_bug():
    checks = load_checks([EXAMPLE.parent], points_table=None, builtin=False)
    assert [c.name for c in checks] == ["gradient_vanishes_through_time"]
    assert grade_submission(REPO / "reference", checks).score == 5
    buggy = grade_submission(REPO / "tests" / "corpus" / "buggy" / "tanh_derivative_from_preactivation.py", checks)
    assert buggy.score == 0 and "exceeds ρ^T‖dh_T‖" in buggy.results[0].message
