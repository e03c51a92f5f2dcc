"""Hypothesis profiles for grading.

``default`` is what students and course CI get: a fixed seed, no example database, 50 examples
per property, so the same submission gets the same grade on every run. ``thorough`` draws many
more examples, for instructors validating the harness. Pick one with ``--profile`` or the
environment variable ``RNN_GRADE_PROFILE``; the report records the profile and the seed.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

PROFILE_ENVIRONMENT = "RNN_GRADE_PROFILE"
DEFAULT_SEED = 0

MAX_EXAMPLES = {"default": 50, "thorough": 1000}


def profile_from_environment() -> str:
    return os.environ.get(PROFILE_ENVIRONMENT, "default")


def hypothesis_settings(profile: str, fraction: float = 1.0) -> settings:
    """The settings every check runs under; ``fraction`` scales the example count for costly checks."""
    if profile not in MAX_EXAMPLES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(MAX_EXAMPLES)}")
    draw_without_local_constants()
    return settings(
        max_examples=max(1, round(MAX_EXAMPLES[profile] * fraction)),
        database=None,  # no memory between runs: determinism comes from the seed alone
        deadline=None,  # timing belongs to the worker's per-call timeout, not to Hypothesis
        # Health checks judge the harness, never the student: a slow but correct submission
        # must not fail a check because data generation looked slow.
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        print_blob=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
    )


def draw_without_local_constants() -> None:
    """Make what Hypothesis draws depend on the seed, the profile and the strategies alone.

    Since 6.131 Hypothesis also draws, now and then (about one integer drawn in twenty, one float
    in seven), a constant it found in the source of a "local" module: any module in ``sys.modules``
    outside the standard library and site-packages. Which modules those are changes as a grade goes
    (a failing check loads the misconception models, ``bench/in_process.py`` imports the submission)
    and between installs (an editable install makes ``checks`` local, a wheel does not), so the same
    seed could draw other examples and a check could give another verdict. Hypothesis has no
    setting for it; this replaces its collector with one that finds none. Idempotent; nothing to do
    on a Hypothesis without the feature. ``tests/test_profiles.py`` fails if the patch stops working.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - internals moved: tests/test_profiles.py says whether it matters
        return
    collector = getattr(providers, "_get_local_constants", None)
    if collector is None or getattr(collector, "finds_none", False):
        return
    none_found = providers.Constants()

    def no_local_constants():
        return none_found

    no_local_constants.finds_none = True
    no_local_constants.__wrapped__ = collector  # for the test that the patch matters
    providers._get_local_constants = no_local_constants
    providers.CONSTANTS_CACHE.cache.clear()  # what was cached holds the constants found so far
