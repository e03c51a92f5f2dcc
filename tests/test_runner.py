"""checks.engine.run.runner in process: partial credit, on made-up checks and a stand-in submission."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from checks.engine.run.runner import run_check
from checks.registry import Check
from checks.verdicts import PartialFailure


class Answers:
    """Just what the runner reads of a submission; the checks below never call it."""

    import_error = None
    functions = frozenset()

    def take_output(self) -> str:
        return ""


def a_check(function) -> Check:
    return Check(function.__name__, "backward", 4.0, (), function, 1.0)


@settings(database=None, max_examples=50)
@given(n=st.integers(0, 1000))
def right_on_small_inputs(sub, n):
    # Fails from n = 3 on: shrinking ends at n = 3, where 3/4 of the parts are right; the larger
    # failing examples tried before it have only 1/4 right.
    if n >= 3:
        raise PartialFailure(f"n = {n}", credit=0.75 if n < 5 else 0.25)


def test_the_lowest_credit_over_every_failing_example_counts_not_the_shrunk_ones():
    result = run_check(a_check(right_on_small_inputs), Answers())
    assert "n = 3" in result.message  # the shrunk example is the one shown ...
    assert result.score == 4.0 * 0.25  # ... but the worst example tried sets the credit


@settings(database=None, max_examples=50)
@given(n=st.integers(0, 1000))
def three_quarters_right(sub, n):
    raise PartialFailure(f"n = {n}", credit=0.75)


def test_credits_stay_with_their_run_and_the_check_is_left_as_it_was():
    inner = right_on_small_inputs.hypothesis.inner_test
    run_check(a_check(right_on_small_inputs), Answers())
    assert right_on_small_inputs.hypothesis.inner_test is inner
    assert run_check(a_check(three_quarters_right), Answers()).score == 3.0  # not the 1/4 seen before


def test_a_check_without_hypothesis_earns_the_credit_of_its_one_failure():
    def half_right(sub):
        raise PartialFailure("dx differs", credit=0.5)

    result = run_check(a_check(half_right), Answers())
    assert result.score == 2.0 and result.message == "dx differs"
