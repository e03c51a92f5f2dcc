"""Shared Hypothesis settings and the tolerance assertion of the self-tests.

Hypothesis profiles, chosen with the environment variable RNN_GRADE_PROFILE (the same
variable and the same two names as the grader's --profile, see checks/profiles.py):

- ``default``: derandomized, so every run (and every CI run) tries the same examples;
  no example database, so nothing is stored between runs; no deadline (timings vary
  with machine load); 50 examples per test.
- ``thorough``: the same with 1000 examples per test, for a long run before a release:
  ``RNN_GRADE_PROFILE=thorough .venv/bin/python -m pytest tests``.

They are registered as ``rnn-grade-default`` / ``rnn-grade-thorough``, so that
Hypothesis's own ``default`` profile is left alone.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import settings

PROFILES = {"default": "rnn-grade-default", "thorough": "rnn-grade-thorough"}
settings.register_profile(
    PROFILES["default"], derandomize=True, database=None, deadline=None, max_examples=50
)
settings.register_profile(
    PROFILES["thorough"], parent=settings.get_profile(PROFILES["default"]), max_examples=1000
)
_requested = os.environ.get("RNN_GRADE_PROFILE", "default")
if _requested not in PROFILES:
    raise pytest.UsageError(
        f"RNN_GRADE_PROFILE={_requested!r}: choose one of {', '.join(PROFILES)}"
    )
settings.load_profile(PROFILES[_requested])


def _assert_close(actual, expected, *, rtol: float, floor: float = 0.0, err_msg: str = "") -> None:
    """Assert that actual has expected's shape and dtype and that, elementwise,

        |actual - expected| <= rtol · (|expected| + max(max|expected|, floor))

    i.e. a relative tolerance plus an absolute one scaled to the array's magnitude.
    The absolute part is needed because gradient entries that cancel to ~0 carry the
    rounding error of the large terms they were summed from. ``floor`` bounds that
    magnitude from below when the inputs set a natural scale (1.0 for O(1) inputs);
    with floor = 0 the comparison is scale-invariant.
    """
    expected = np.asarray(expected)
    magnitude = max(float(np.max(np.abs(expected), initial=0.0)), floor)
    np.testing.assert_allclose(
        actual, expected, rtol=rtol, atol=rtol * magnitude, err_msg=err_msg, strict=True
    )


@pytest.fixture(scope="session")
def assert_close():
    """The tolerance assertion ``assert_close(actual, expected, *, rtol, floor=0.0,
    err_msg="")``. Session-scoped, so Hypothesis tests may use it."""
    return _assert_close
