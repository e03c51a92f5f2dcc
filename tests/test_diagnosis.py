"""Diagnosis names a misconception only when it fits (issue 9 §3).

- every model really makes its mistake: it differs from the reference on generic inputs;
- bugs of the corpus that have a model get its id on their failing checks;
- bugs with no model, and correct implementations on the same examples, get none;
- without a second example nothing is named.

Two failing examples per check come from tests/diagnosis_examples.py (a stand-in for the
runner's CheckResult.example). bench/diagnosis.py measures the figures on the whole corpus.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

import reference
from checks.engine.isolation.contract import Submission
from checks.engine.run.counterexample import Counterexample, record_example
from checks.engine.run.diagnosis import diagnose, same
from checks.engine.report import gradescope, junit
from checks.engine.run.results import CheckResult, Grade
from checks.engine.run.runner import with_diagnosis
from checks.registry import load_checks
from checks.strategies import Dims, rnn_problem_from_seed
from reference.misconceptions import IDS, LIBRARY
from diagnosis_examples import confirming, diagnosed, failing_arguments
from test_diagnosis_gated import NEW_MODELS

CORPUS = Path(__file__).resolve().parent / "corpus"
ISSUE_IDS = {
    "tanh-derivative-from-preactivation", "no-recurrent-carry", "weights-overwritten-not-summed",
    "wrong-state-in-dWh", "missing-transpose", "batch-mean-not-sum", "first-step-skipped", "ignores-h0",
    "wrong-activation", "unstable-tanh", "truncation-ignores-window", "truncation-window-misaligned",
    "per-tensor-clipping", "elementwise-clipping", "clip-always-rescales", "clip-not-normalised",
    "birnn-not-rereversed", "birnn-directions-swapped", "birnn-shared-parameters", "birnn-dx-not-flipped",
    "classifier-gradient-sign", "classifier-sum-not-mean", "unstable-cross-entropy", "batches-interleaved",
    "mutates-input", "shape-keepdims", "degenerate-size-squeeze",
}


def declared(path: Path) -> tuple[str, str | None]:
    """(BUG_GROUP, MISCONCEPTION) of a corpus bug, read without importing it."""
    values = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(path.read_text()).body
              if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in ("BUG_GROUP", "MISCONCEPTION")}
    return values["BUG_GROUP"], values["MISCONCEPTION"]


def test_every_issue_id_has_a_model_or_is_seen_in_the_calls():
    assert ISSUE_IDS <= IDS


def test_every_buggy_file_declares_a_known_misconception_or_none():
    for path in sorted((CORPUS / "buggy").glob("*.py")):
        misconception = declared(path)[1]
        assert misconception is None or misconception in IDS, path.name


# -- every model makes its mistake --------------------------------------------------------------

def generic_calls() -> list[tuple[str, tuple]]:
    """Calls of every contract function on generic inputs (window not dividing T, norms above, below, zero)."""
    p = rnn_problem_from_seed(Dims(N=3, T=5, D=4, H=2), seed=7)
    big = rnn_problem_from_seed(Dims(N=2, T=2, D=2, H=2), seed=8)
    thin = rnn_problem_from_seed(Dims(N=3, T=2, D=2, H=1), seed=9)  # H = 1: what np.squeeze breaks
    narrow = rnn_problem_from_seed(Dims(N=3, T=2, D=1, H=2), seed=10)  # D = 1: what squeezing x_t breaks
    grads = {"W": np.arange(6.0).reshape(2, 3) - 2.5, "b": np.array([0.5, -3.0])}
    h0_b, Wx_b, Wh_b, b_b = p.h0[:, ::-1] * 0.5, p.Wx * -0.7, p.Wh.T, p.b + 0.3
    y = np.array([1.0, 0.0, 1.0])
    return [
        ("rnn_step_forward", (p.x[:, 0], p.h0, p.Wx, p.Wh, p.b)),
        ("rnn_step_forward", (p.x[:, 0] * 1e4, p.h0, p.Wx, p.Wh, p.b)),  # saturated
        ("rnn_forward", (p.x, p.h0, p.Wx, p.Wh, p.b)),
        ("rnn_forward", (p.x * 1e4, p.h0, p.Wx, p.Wh, p.b)),
        ("rnn_forward", (narrow.x, narrow.h0, narrow.Wx, narrow.Wh, narrow.b)),
        ("rnn_backward", (p.dh, ("rnn_forward", (p.x, p.h0, p.Wx, p.Wh, p.b)))),
        ("rnn_backward", (thin.dh, ("rnn_forward", (thin.x, thin.h0, thin.Wx, thin.Wh, thin.b)))),
        ("rnn_backward_truncated", (p.dh, ("rnn_forward", (p.x, p.h0, p.Wx, p.Wh, p.b)), 2)),
        ("clip_grad_norm", (grads, 1.0)),
        ("clip_grad_norm", (grads, 100.0)),
        ("clip_grad_norm", ({name: g * 0 for name, g in grads.items()}, 1.0)),
        ("birnn_forward", (p.x, p.h0, p.Wx, p.Wh, p.b, h0_b, Wx_b, Wh_b, b_b)),
        ("birnn_backward", (np.concatenate([p.dh, p.dh[:, ::-1] * 2], axis=2),
                            ("birnn_forward", (p.x, p.h0, p.Wx, p.Wh, p.b, h0_b, Wx_b, Wh_b, b_b)))),
        ("rnn_classifier_loss", (p.x, y, p.h0, p.Wx, p.Wh, p.b, np.array([0.7, -1.1]), np.array([0.2]))),
        ("rnn_classifier_loss", (big.x, y[:2], big.h0, big.Wx, big.Wh, big.b, np.array([900.0, -900.0]),
                                 np.array([0.0]))),
        ("tbptt_batches", (np.arange(26.0), 2, 3)),
    ]


def outputs(functions, function: str, args: tuple) -> list:
    """The outputs of one call (a cache argument given as the forward call that makes it), or the error's type."""
    args = tuple(outputs(functions, *arg)[1] if isinstance(arg, tuple) and isinstance(arg[0], str) else arg
                 for arg in args)
    try:
        result = functions[function](*args)
    except Exception as error:  # noqa: BLE001 - a model may raise, as the student's code does
        return [type(error).__name__, None]
    return list(result) if isinstance(result, tuple) else [result]


def leaves(values: list) -> list:
    flat = []
    for value in values:
        flat += list(value.values()) if isinstance(value, dict) else [value]
    return flat


def differs(model_outputs: list, reference_outputs: list) -> bool:
    a, b = leaves(model_outputs), leaves(reference_outputs)
    return len(a) != len(b) or any(isinstance(x, str) != isinstance(y, str) or
                                   (not isinstance(x, (str, list)) and not same(x, y)) for x, y in zip(a, b))


def visible(functions, function: str, args: tuple) -> list:
    """The outputs of a call but a forward function's cache (its own business)."""
    values = outputs(functions, function, args)
    return values[:1] if function.endswith("forward") else values


REFERENCE = {name: getattr(reference, name) for name in reference.__all__}


# The models of the LSTM, GRU, embedding and temporal softmax are checked on calls of their own functions:
# tests/test_diagnosis_gated.py, test_model_differs_from_the_reference_on_generic_inputs.
@pytest.mark.parametrize("model", [m for m in LIBRARY if m not in NEW_MODELS], ids=lambda m: f"{m.id}[{m.variant}]")
def test_model_differs_from_the_reference_on_generic_inputs(model):
    changed = [function for function, args in generic_calls() if function in model.affects
               and differs(visible(model.functions, function, args), visible(REFERENCE, function, args))]
    assert changed, "the model gives the reference's outputs everywhere: it makes no mistake"


def test_a_step_mistake_shows_in_every_caller():
    model = next(m for m in LIBRARY if m.id == "tanh-derivative-parenthesis")
    for function, args in generic_calls():
        if function in ("rnn_backward", "rnn_backward_truncated", "birnn_backward", "rnn_classifier_loss"):
            assert differs(outputs(model.functions, function, args), outputs(REFERENCE, function, args)), function
    assert reference.rnn.rnn_step_backward is reference.rnn_step_backward  # the reference itself is untouched


# -- the corpus ---------------------------------------------------------------------------------

# One bug per kind of mistake (step, sequence, shape, hygiene, truncation, clipping, bidirectional,
# classifier, batching), and the bugs with no model; bench/diagnosis.py runs the whole corpus.
NAMED = ["tanh_derivative_from_preactivation", "no_recurrent_gradient", "dWh_overwritten", "db_keepdims",
         "inplace_dnext_h", "truncation_windows_from_end", "per_tensor_clipping", "birnn_states_not_rereversed",
         "classifier_gradient_sign_flipped", "tbptt_rows_interleaved", "forward_ignores_h0",
         "tanh_typo_written_twice",
         # issue 22: the gated cells, the embedding and the temporal softmax
         "lstm_gate_order_ifgo", "lstm_sigma_prime_one_minus_sigma_squared",
         "lstm_sigma_prime_output_gate_one_minus_o_squared", "gru_update_sigma_prime_one_minus_sigma_squared",
         "lstm_dprev_c_without_forget_gate", "lstm_dc_forgets_dnext_h", "gru_update_gate_swapped",
         "gru_reset_outside_hidden_bias", "gru_dWh_overwritten", "gru_forward_ignores_h0",
         "embedding_dW_fancy_index_assignment", "temporal_loss_divided_by_unmasked_count", "lstm_inplace_dnext_c",
         "lstm_db_keepdims"]
# lstm_c0_from_h0 is named lstm-c0-from-h0 on every check that compares values, but its composition check compares
# the student's lstm_forward with the student's own steps, which no model replays: tests/test_diagnosis_gated.py.
UNNAMED = ["dWh_one_entry_one_percent_off", "clipping_norm_plus_epsilon", "clipping_epsilon_in_denominator",
           "is_identity_last_step",
           "gru_bias_gradients_keepdims", "gru_dbh_candidate_missing_reset", "temporal_affine_db_overwritten_over_time",
           "temporal_dx_mask_forgotten", "temporal_softmax_without_max_shift",
           # issue 20: named from an exception type alone, or by a coincidence at T = 1
           "ragged_tuple_append", "dx_zeros_like_dh", "truncation_drops_last_window", "dh0_from_last_step",
           "stale_cache_view", "squeeze_upstream_gradient", "forward_squeezed_input"]


@pytest.fixture(scope="module")
def checks():
    return load_checks()


@pytest.fixture(scope="module")
def found(checks):
    """For each bug above: its BUG_GROUP's failing checks, with their failing arguments and diagnosis."""
    results = {}
    for stem in NAMED + UNNAMED:
        path = CORPUS / "buggy" / f"{stem}.py"
        group, _ = declared(path)
        sub = Submission(path)
        try:
            for check in (c for c in checks if c.group == group):
                arguments = failing_arguments(check, sub)
                if len(arguments) == 2:
                    results[stem, check.name] = (check, arguments, diagnosed(check, sub, arguments))
        finally:
            sub.close()
    return results


@pytest.mark.parametrize("stem", NAMED)
def test_bug_with_a_model_gets_its_id(stem, found):
    due = declared(CORPUS / "buggy" / f"{stem}.py")[1]
    named = {check: diagnosis and diagnosis.misconception for (bug, check), (_, _, diagnosis) in found.items()
             if bug == stem}
    assert named and set(named.values()) == {due}, named


@pytest.mark.parametrize("stem", UNNAMED)
def test_bug_with_no_model_gets_none(stem, found):
    for (bug, check), (_, _, diagnosis) in found.items():
        if bug == stem:
            assert diagnosis is None or diagnosis.misconception is None, (check, diagnosis)


def test_one_entry_off_lists_that_entry(found):
    diagnosis = found["dWh_one_entry_one_percent_off", "sequence_backward_matches_reference"][2]
    assert diagnosis.explanation == "no known misconception matches; the gradient is wrong in these entries: dWh[0, 0]"


@pytest.mark.parametrize("path", [Path(reference.__file__).parent, *sorted((CORPUS / "correct").glob("*.py"))],
                         ids=lambda p: p.stem)
def test_correct_implementation_gets_no_diagnosis_on_the_failing_examples(path, found):
    sub = Submission(path)
    try:
        for check, arguments, _ in found.values():
            traces = [record_example(check, sub, a)[0] for a in arguments]
            assert diagnose(Counterexample(arguments[0], traces[0], "", second=traces[1])) is None, check.name
    finally:
        sub.close()


def test_nothing_is_named_without_a_second_or_a_confirming_example(found):
    check, arguments, diagnosis = found["dWh_overwritten", "sequence_backward_matches_reference"]
    assert diagnosis.misconception == "weights-overwritten-not-summed"
    sub = Submission(CORPUS / "buggy" / "dWh_overwritten.py")
    try:
        trace = record_example(check, sub, arguments[0])[0]
        assert diagnose(Counterexample(arguments[0], trace, "", second=None)) is None
        second = record_example(check, sub, arguments[1])[0]
        unconfirmed = diagnose(Counterexample(arguments[0], trace, "", second=second))
        result = with_diagnosis(CheckResult(check, 0.0, "wrong", example=Counterexample(
            arguments[0], trace, "", second=second, confirming=confirming(check, sub))))
    finally:
        sub.close()
    assert unconfirmed.misconception is None  # without the larger confirming example no model is named
    assert result.misconception == "weights-overwritten-not-summed"
    assert result.misconception_explanation.startswith("your dWh equals what you get when dWh is assigned")


def test_results_json_and_junit_carry_the_id(checks):
    named = CheckResult(checks[0], 0.0, "wrong", misconception="no-recurrent-carry")
    grade = Grade(Path("student.py"), "default", 0, results=[named, CheckResult(checks[1], 0.0, "wrong")])
    tests = json.loads(gradescope.render(grade))["tests"]
    assert tests[0]["extra_data"]["misconception"] == "no-recurrent-carry"
    assert "misconception" not in tests[1]["extra_data"]
    case = ElementTree.fromstring(junit.render(grade)).find(".//testcase")
    assert {p.get("name"): p.get("value") for p in case.iter("property")}["misconception"] == "no-recurrent-carry"


def test_runner_leaves_a_result_without_example_alone(checks):
    result = with_diagnosis(CheckResult(checks[0], 0.0, "wrong"))
    assert result.misconception is None and result.misconception_explanation == ""


def test_a_coincidence_at_t_1_is_not_confirmed_by_the_runner(checks):
    """Issue 20: at T = 1 a stale cache view (every step's prev_h is h_T) gives exactly the "dWh from h_t"
    model's numbers, on the simple example and on the main run's shrunk one alike. The runner confirms a
    model on a larger failing example (T >= 3, N >= 2, D != H), where the two differ: nothing is named."""
    from checks.engine.run.runner import grade_submission

    grade = grade_submission(CORPUS / "buggy" / "stale_cache_view.py", [c for c in checks if c.group == "backward"])
    failing = [r for r in grade.results if not r.passed]
    assert failing and all(r.example is not None and r.example.confirming is not None for r in failing)
    assert [r.misconception for r in failing] == [None] * len(failing)
    assert all(r.misconception_explanation.startswith("no known misconception matches") for r in failing)
