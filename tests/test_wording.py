"""One vocabulary in everything a student reads (issue 9 §6), and the clipping factor (issue 9, "Why").

A few corpus bugs are graded on the groups that catch them (one of each kind of message: reference
comparisons, finite differences, clipping, hygiene, the classifier's grads dict, batching, a call
that raises, a shape) and every failing check's feedback is read as the student reads it:

- "correct" and "wrong", never "agree"/"disagree"/"differ(s)";
- no Hypothesis internals ("Falsifying", "explicit example", "seed=", "RNNProblem(", "sub=<");
- every result named as the contract returns it (``OUTPUT_NAMES``: dx, dh0, dprev_h, grads['Wx'],
  clipped['W'], batches, ...), never an argument's name such as x or h0 where dx or dh0 is meant;
- verbs that agree with what they follow ("1 result of 5 is wrong", "your h and db equal").
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from checks.engine.isolation.contract_functions import CONTRACT_FUNCTIONS
from checks.engine.isolation.contract_returns import CLASSIFIER_GRADIENTS, OUTPUT_NAMES
from checks.engine.report.feedback import plain_feedback
from checks.engine.run.runner import grade_submission
from checks.registry import load_checks
from checks.verdicts import assert_all_close, digits_to_tell_apart, how_many_wrong, mismatch

BUGGY = Path(__file__).resolve().parent / "corpus" / "buggy"

# bug -> the groups graded (the ones whose messages it shows)
GRADED = {
    "dWh_overwritten": ("backward",),  # the reference and finite differences, one gradient wrong
    "clipping_epsilon_in_denominator": ("clipping",),
    "clipping_in_place": ("hygiene",),
    "classifier_gradient_sign_flipped": ("classifier",),
    "tbptt_axes_swapped": ("batching",),
    "squeeze_upstream_gradient": ("backward",),  # the call raises
    "db_keepdims": ("hygiene",),  # a shape
}

JARGON = ("Falsifying", "explicit example", "seed=", "RNNProblem(", "sub=<")
OTHER_WORDS = re.compile(r"\b(agree\w*|disagree\w*|differs?|agreeing)\b", re.IGNORECASE)
SINGULAR_WORDS_IN_S = {"this", "its", "is", "was", "has", "does", "as", "bias", "axis", "thus", "us"}


@pytest.fixture(scope="module")
def feedback() -> dict[str, list[str]]:
    """bug -> the feedback of each failing check, as plain text (what every report format carries)."""
    checks = load_checks()
    texts = {}
    for bug, groups in GRADED.items():
        path = BUGGY / f"{bug}.py"
        grade = grade_submission(path, [c for c in checks if c.group in groups])
        texts[bug] = [plain_feedback(r, path.name) for r in grade.results if not r.passed]
        assert texts[bug], f"{bug} fails none of {groups}"
    return texts


def all_text(feedback) -> list[tuple[str, str]]:
    return [(bug, text) for bug, texts in feedback.items() for text in texts]


NAME = r"([A-Za-z_]\w*(?:\['[^']*'\])?)"  # dWh, grads['Wx']
INDEX = r"(?:\[[\d, ]*\])?"  # [0, 1]


def result_names(text: str) -> set[str]:
    """Every name the feedback gives a result: in lists of wrong and correct results, worst entries,
    finite-difference lines, validation messages and the misconception's sentence."""
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if match := re.match(NAME + INDEX + r": (off by up to|shape \(|expected |backprop gives|along a )", line):
            names.add(match.group(1))
        if match := re.match(r"correct: (.+)$", line):
            names |= set(match.group(1).split(", "))
        names |= set(re.findall(NAME + INDEX + r" returned by \w+", line))
    for match in re.finditer(r"Likely mistake: your (.+?) (?:equals|equal|is|has|have) ", " ".join(text.split())):
        names |= set(re.split(r", | and ", match.group(1)))
    return names


def is_contract_name(name: str) -> bool:
    """dx, dprev_h, next_h, batches; grads['Wx'] (a key of the classifier's grads) or clipped['W'];
    "rnn_backward's ValueError" for a call that raised."""
    if "'s " in name:
        return name.split("'s ")[0] in CONTRACT_FUNCTIONS
    outputs = {output for names in OUTPUT_NAMES.values() for output in names} - {"cache"}
    if match := re.fullmatch(r"(grads|clipped)\['([^']+)'\].*", name):
        return match.group(1) == "clipped" or match.group(2) in CLASSIFIER_GRADIENTS
    return re.sub(r"\[.*$", "", name) in outputs


def test_no_other_words_for_correct_and_wrong(feedback):
    for bug, text in all_text(feedback):
        assert not OTHER_WORDS.search(text), (bug, OTHER_WORDS.search(text).group(0), text)


def test_no_hypothesis_jargon(feedback):
    for bug, text in all_text(feedback):
        assert not [word for word in JARGON if word in text], (bug, text)


def test_results_are_named_as_the_contract_returns_them(feedback):
    seen = set()
    for bug, text in all_text(feedback):
        names = result_names(text)
        assert all(is_contract_name(name) for name in names), (bug, sorted(n for n in names if not is_contract_name(n)))
        seen |= names
    # the parsing found names of every kind: a gradient, a dict entry of each dict result, batches, an exception
    assert {"dWh", "batches"} <= seen and any(n.startswith("grads['") for n in seen), seen
    assert any(n.startswith("clipped['") for n in seen), seen
    # a call that raised names no misconception from its exception's type alone (issue 20)
    assert not any("Likely mistake" in text for text in feedback["squeeze_upstream_gradient"])


def test_verbs_agree_with_their_subjects(feedback):
    for bug, text in all_text(feedback):
        flat = " ".join(text.split())
        plurals = [m.group(0) for m in re.finditer(r"\b(\w+s) (is|differs|has|was|equals)\b", flat)
                   if m.group(1).lower() not in SINGULAR_WORDS_IN_S and m.group(1) not in CONTRACT_FUNCTIONS]
        assert not plurals, (bug, plurals)
        assert not re.search(r"\band \S+ (equals|is|has)\b", flat), (bug, flat)
        assert not re.search(r"\b1 \w+s of\b|\bof 1 \w+s\b", flat), (bug, flat)


def test_a_count_of_results_agrees_with_its_verb():
    assert how_many_wrong(1, 5, "result") == "1 result of 5 is wrong"
    assert how_many_wrong(2, 5, "gradient") == "2 gradients of 5 are wrong"
    assert how_many_wrong(5, 5, "result") == "All 5 results are wrong"
    assert how_many_wrong(1, 1, "result") == "The result is wrong"


def test_one_wrong_result_of_several_is_named_with_the_correct_ones():
    with pytest.raises(AssertionError) as failure:
        assert_all_close({"dx": np.ones(2), "db": np.zeros(1)}, {"dx": np.ones(2), "db": np.ones(1)}, "the reference")
    assert str(failure.value).splitlines() == [
        "1 result of 2 is wrong, compared with the reference:",
        "  db: off by up to 1 at index (0,): expected 1, got 0 (largest entry 1, relative tolerance 1e-06)",
        "  correct: dx"]


def test_expected_and_got_are_never_shown_equal():
    problem = mismatch(np.array([0.49999982]), np.array([0.5]), rtol=1e-8)  # 0.5 and 0.5 at six digits
    assert "expected 0.5, got 0.4999998 " in problem
    assert digits_to_tell_apart([0.49999982], 0.5) == 7 and digits_to_tell_apart([0.25], 0.5) == 6
    assert digits_to_tell_apart([1.0 + 1e-15], 1.0) == 16


FACTOR = re.compile(r"the factor applied \(clipped / grads\): (\S+) for every tensor; "
                    r"expected max_norm / total_norm = (\S+) / (\S+) = (\S+)")


def test_a_clipping_failure_shows_the_factor_applied_against_the_one_due(feedback):
    [direction] = [t for t in feedback["clipping_epsilon_in_denominator"] if "max_norm / total_norm" in t]
    match = FACTOR.search(" ".join(direction.split()))
    assert match, direction
    applied, max_norm, total, due = match.groups()
    assert float(due) == pytest.approx(float(max_norm) / float(total), rel=1e-6) == pytest.approx(0.5)
    assert applied != due  # digits enough to tell them apart: 0.499002 (or 0.4999982), not 0.5
    # max_norm / (total_norm + 1e-6): the factor the bug applied, to the digits shown
    assert float(applied) == pytest.approx(float(max_norm) / (float(total) + 1e-6), rel=1e-6)


def test_clipping_twice_shows_the_second_factor(feedback):
    [again] = [t for t in feedback["clipping_epsilon_in_denominator"] if "clipping twice" in t]
    match = re.search(r"the factor applied when clipping again \(twice / once\): (\S+) for every tensor; expected 1",
                      " ".join(again.split()))
    assert match and float(match.group(1)) < 1, again


def test_no_misconception_is_named_for_the_epsilon_in_the_denominator(feedback):
    for text in feedback["clipping_epsilon_in_denominator"]:
        assert "Likely mistake:" not in text and "no known misconception matches" in text, text
