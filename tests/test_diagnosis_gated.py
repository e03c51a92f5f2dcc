"""Diagnosis of the LSTM, the GRU, the word embedding and the temporal softmax loss (issue 22 §5).

- every new model really makes its mistake: it differs from the reference on generic inputs, and a
  step mistake shows in the sequence functions and in CaptioningRNN's loss that call the step;
- the models are built from the reference's lstm, gru and embedding modules, each keeping its own
  helpers (three modules define a ``sigmoid``), and the captioning methods replay as the grader calls them;
- a student-style file making one of the mistakes (tests/diagnosis_gated_examples/), graded by its
  group's checks through the runner, gets exactly that misconception's id on its failing checks;
- a different bug (one entry of a gradient 1 % off, a gradient halved or doubled) and a correct
  implementation get none: a diagnosis is never false.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import reference
from checks.engine.isolation.contract import Submission
from checks.engine.run.counterexample import Counterexample, record_example
from checks.engine.run.diagnosis import REFERENCE, diagnose, same
from checks.engine.run.results import Grade
from checks.engine.run.runner import grade_submission
from checks.registry import load_checks
from reference.misconceptions import IDS, LIBRARY
from reference.misconceptions.composition import compose

EXAMPLES = Path(__file__).resolve().parent / "diagnosis_gated_examples"

# Each student-style file: (the group whose checks grade it, the misconception it makes).
NAMED = {
    "lstm_gate_order_torch": ("lstm", "lstm-gate-order"),
    "lstm_sigmoid_prime_squared": ("lstm", "sigmoid-derivative-squared"),
    "lstm_dprev_c_without_forget_gate": ("lstm", "lstm-dprev-c-without-forget-gate"),
    "lstm_dc_forgets_dnext_h": ("lstm", "lstm-dc-forgets-dnext-h"),
    "gru_sigmoid_prime_squared": ("gru", "sigmoid-derivative-squared"),
    "gru_update_gate_swapped": ("gru", "gru-update-gate-swapped"),
    "gru_reset_outside": ("gru", "gru-reset-outside"),
    "gru_reset_before_matmul": ("gru", "gru-reset-before-matmul"),
    "lstm_c0_from_h0": ("lstm", "lstm-c0-from-h0"),
    "gru_dWh_overwritten": ("gru", "weights-overwritten-not-summed"),
    "gru_forward_ignores_h0": ("gru", "ignores-h0"),
    "embedding_fancy_index": ("embedding", "embedding-fancy-index-accumulate"),
    "temporal_softmax_by_mask_sum": ("temporal", "softmax-normalised-by-unmasked"),
}
# Bugs no model describes, by group: nothing may be named on them.
UNNAMED = {
    "lstm_dWx_one_entry_off": "lstm",
    "gru_dWh_one_entry_off": "gru",
    "embedding_dW_halved": "embedding",
    "temporal_softmax_dx_doubled": "temporal",
    "temporal_softmax_dx_by_mask_sum": "temporal",  # half the mistake of a model: its loss is right
}
NEW_IDS = {id for _, id in NAMED.values()}
NEW_FUNCTIONS = frozenset({
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward", "gru_step_forward",
    "gru_step_backward", "gru_forward", "gru_backward", "word_embedding_forward", "word_embedding_backward",
    "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss", "CaptioningRNN.loss",
    "CaptioningRNN.sample"})
# The models of these functions (reference/misconceptions/gated.py and embedding.py), and no vanilla RNN's.
NEW_MODELS = [m for m in LIBRARY if m.affects <= NEW_FUNCTIONS]


# -- every model makes its mistake --------------------------------------------------------------

def gated_generic_calls() -> list[tuple[str, tuple]]:
    """Calls of every new contract function on generic inputs (a cache given as the forward call that
    makes it): N = 3, T = 4, D = 5, H = 2, V = 6, words repeated, some positions masked."""
    rng = np.random.default_rng(22)
    N, T, D, H, V = 3, 4, 5, 2, 6

    def r(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape)

    x, h0, c0, dh = r(N, T, D), r(N, H), r(N, H), r(N, T, H)
    lstm = (r(D, 4 * H), r(H, 4 * H), r(4 * H))
    gru = (r(D, 3 * H), r(H, 3 * H), r(3 * H), r(3 * H))
    words = np.array([[0, 2, 2, 5], [1, 2, 0, 0], [3, 4, 5, 5]])
    W = r(V, D)
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]], dtype=bool)
    model = {"word_to_idx": {"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3, "b": 4, "c": 5}, "input_dim": 3,
             "wordvec_dim": D, "hidden_dim": H, "cell_type": "lstm"}
    params = {"W_embed": r(V, D), "W_proj": r(3, H), "b_proj": r(H), "Wx": lstm[0], "Wh": lstm[1], "b": lstm[2],
              "W_vocab": r(H, V), "b_vocab": r(V)}
    captions = np.array([[1, 3, 4, 4, 2], [1, 5, 2, 0, 0], [1, 3, 3, 5, 2]])
    lstm_step = ("lstm_step_forward", (x[:, 0], h0, c0, *lstm))
    gru_step = ("gru_step_forward", (x[:, 0], h0, *gru))
    return [
        lstm_step,
        ("lstm_step_backward", (dh[:, 0], dh[:, 1], lstm_step)),
        ("lstm_forward", (x, h0, *lstm)),
        ("lstm_backward", (dh, ("lstm_forward", (x, h0, *lstm)))),
        gru_step,
        ("gru_step_backward", (dh[:, 0], gru_step)),
        ("gru_forward", (x, h0, *gru)),
        ("gru_backward", (dh, ("gru_forward", (x, h0, *gru)))),
        ("word_embedding_forward", (words, W)),
        ("word_embedding_backward", (r(N, T, D), ("word_embedding_forward", (words, W)))),
        ("temporal_softmax_loss", (r(N, T, V), words, mask)),
        ("CaptioningRNN.loss", (model, params, r(N, 3), captions)),
        ("CaptioningRNN.sample", (model, params, r(N, 3), 4)),
    ]


def outputs(functions: dict, function: str, args: tuple) -> list:
    """The outputs of one call but a cache (the last output of a forward), or the error's type name;
    a cache argument given as the forward call that makes it."""
    args = tuple(made_cache(functions, *arg) if isinstance(arg, tuple) and isinstance(arg[0], str) else arg
                 for arg in args)
    try:
        result = functions[function](*args)
    except Exception as error:  # noqa: BLE001 - a model may raise, as a student's code does
        return [type(error).__name__]
    values = list(result) if isinstance(result, tuple) else [result]
    return values[:-1] if function.endswith("forward") else values


def made_cache(functions: dict, function: str, args: tuple) -> Any:
    return functions[function](*args)[-1]


def leaves(values: list) -> list:
    return [leaf for value in values for leaf in (value.values() if isinstance(value, dict) else [value])]


def differs(a: list, b: list) -> bool:
    a, b = leaves(a), leaves(b)
    return len(a) != len(b) or any(isinstance(x, str) or isinstance(y, str) or not same(x, y) for x, y in zip(a, b))


def test_every_new_id_is_known_and_has_a_model():
    assert NEW_IDS <= IDS
    assert {m.id for m in NEW_MODELS} == NEW_IDS
    assert len(NEW_MODELS) == 26  # 17 of new mistakes, 9 of the vanilla RNN's (h0 ignored, weights overwritten) in their loops


def test_the_reference_model_is_the_reference():
    """compose({}) (diagnosis's REFERENCE) gives the reference's outputs, the captioning methods included,
    called as the grader calls them, and leaves np.random's stream alone (the constructor draws from it)."""
    real = {name: getattr(reference, name) for name in reference.__all__ if name != "CaptioningRNN"}
    for function, args in gated_generic_calls():
        if "." in function:
            model, params, *rest = args
            obj = reference.CaptioningRNN(**model, dtype=np.float64)
            obj.params.update(params)
            expected = list(getattr(obj, function.split(".")[1])(*rest))
            expected = expected if function.endswith("loss") else [np.array(expected)]
        else:
            expected = outputs(real, function, args)
        state = np.random.get_state()[1].copy()
        assert not differs(outputs(REFERENCE, function, args), expected), function
        assert np.array_equal(np.random.get_state()[1], state), function


def test_each_module_keeps_its_own_sigmoid():
    """reference.classifier, reference.lstm and reference.gru each define a sigmoid: composing must not point
    one module's functions at another's."""
    model = compose({})
    for function, module in (("lstm_step_forward", reference.lstm), ("gru_step_forward", reference.gru),
                             ("rnn_classifier_loss", reference.classifier)):
        assert model[function].__globals__["sigmoid"].__code__ is module.sigmoid.__code__, function


@pytest.mark.parametrize("model", NEW_MODELS, ids=lambda m: f"{m.id}[{m.variant}]")
def test_model_differs_from_the_reference_on_generic_inputs(model):
    changed = [function for function, args in gated_generic_calls() if function in model.affects
               and differs(outputs(model.functions, function, args), outputs(REFERENCE, function, args))]
    assert changed, "the model gives the reference's outputs everywhere: it makes no mistake"


@pytest.mark.parametrize("id, variant, callers", [
    ("sigmoid-derivative-squared", "LSTM σ' = 1 - σ² for i, f, o", {"lstm_backward", "CaptioningRNN.loss"}),
    ("sigmoid-derivative-squared", "GRU σ' = 1 - σ² for r, z", {"gru_backward"}),
    ("lstm-dc-forgets-dnext-h", "dc = dnext_c", {"lstm_backward", "CaptioningRNN.loss"}),
    ("gru-reset-outside", "n = tanh(x·Wx_n + bx_n + r ⊙ (prev_h·Wh_n) + bh_n), forward and backward",
     {"gru_forward", "gru_backward"}),
    ("embedding-fancy-index-accumulate", "dW[x] += dout", {"CaptioningRNN.loss"}),
    ("softmax-normalised-by-unmasked", "loss and dx divided by mask.sum()", {"CaptioningRNN.loss"}),
])
def test_a_layer_mistake_shows_in_every_caller(id, variant, callers):
    """A mistake in a step or a layer shows in the functions that call it, CaptioningRNN's loss included
    (built on the model's layers), and the reference itself stays untouched."""
    model = next(m for m in NEW_MODELS if (m.id, m.variant) == (id, variant))
    for function, args in gated_generic_calls():
        if function in callers:
            assert differs(outputs(model.functions, function, args), outputs(REFERENCE, function, args)), function
    assert reference.lstm.lstm_step_backward is reference.lstm_step_backward
    assert reference.captioning.temporal_softmax_loss is reference.embedding.temporal_softmax_loss


# -- student-style files, graded by the runner ----------------------------------------------------

@lru_cache(maxsize=None)
def checks_of(group: str) -> tuple:
    checks = tuple(c for c in load_checks() if c.group == group)
    if not checks:
        pytest.skip(f"the {group} group has no checks yet")
    return checks


@pytest.fixture(scope="module")
def correct():
    """Correct implementations to replay failing examples on: the reference, and a student-style GRU."""
    subs = {"reference": Submission(Path(reference.__file__).parent), "gru": Submission(EXAMPLES / "gru_correct.py")}
    yield subs
    for sub in subs.values():
        sub.close()


def graded(stem: str, group: str) -> Grade:
    return grade_submission(EXAMPLES / f"{stem}.py", list(checks_of(group)))


def failing(grade: Grade) -> list:
    """The checks that failed on an example (not those of a function the file does not define)."""
    return [r for r in grade.results if not r.passed and r.example is not None]


def assert_correct_code_gets_no_diagnosis(lost: list, correct: dict[str, Submission], group: str) -> None:
    """Each failing example, replayed on correct code (the reference; for the GRU a student's too): no output
    differs from the reference's, so diagnosis says nothing."""
    subs = [correct["reference"], *([correct["gru"]] if group == "gru" else [])]
    for result in lost:
        for sub in subs:
            trace = record_example(result.check, sub, result.example.arguments)[0]
            example = Counterexample(result.example.arguments, trace, "", second=trace, confirming=trace)
            assert diagnose(example) is None, (sub, result.check.name)


@pytest.mark.parametrize("stem", sorted(NAMED))
def test_bug_with_a_model_gets_its_id(stem, correct):
    group, due = NAMED[stem]
    lost = failing(graded(stem, group))
    named = {r.check.name: r.misconception for r in lost}
    assert lost, "the group's checks do not catch the bug"
    assert set(named.values()) <= {due, None} and due in named.values(), named
    for r in lost:
        if r.misconception == due:
            assert r.misconception_explanation.startswith("your ") and "{" not in r.misconception_explanation
    assert_correct_code_gets_no_diagnosis(lost, correct, group)


@pytest.mark.parametrize("stem", sorted(UNNAMED))
def test_bug_with_no_model_gets_none(stem, correct):
    lost = failing(graded(stem, UNNAMED[stem]))
    assert lost, "the group's checks do not catch the bug"
    assert [r.misconception for r in lost] == [None] * len(lost), {r.check.name: r.misconception for r in lost}
    assert all(r.misconception_explanation.startswith("no known misconception matches") for r in lost
               if r.misconception_explanation)
    assert_correct_code_gets_no_diagnosis(lost, correct, UNNAMED[stem])


def test_the_students_correct_gru_passes_its_group():
    """The correct GRU the failing examples are replayed on is correct by the group's own checks."""
    assert not failing(grade_submission(EXAMPLES / "gru_correct.py", list(checks_of("gru"))))


# -- CaptioningRNN's calls replay on the models' layers ---------------------------------------------

def captioning_problem(seed: int, N: int, T: int, cell_type: str) -> tuple:
    """(model, params, features, captions) as the grader passes them: V = 6 words (<NULL> 0, <START> 1,
    <END> 2), input_dim 3, wordvec_dim 4, hidden_dim 3; every caption repeats a word and ends in <NULL>
    padding (so mask.sum() is neither N nor N·T)."""
    rng = np.random.default_rng(seed)
    V, I, W, H = 6, 3, 4, 3
    k = 4 if cell_type == "lstm" else 1
    model = {"word_to_idx": {"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3, "b": 4, "c": 5}, "input_dim": I,
             "wordvec_dim": W, "hidden_dim": H, "cell_type": cell_type}
    shapes = {"W_embed": (V, W), "W_proj": (I, H), "b_proj": (H,), "Wx": (W, k * H), "Wh": (H, k * H), "b": (k * H,),
              "W_vocab": (H, V), "b_vocab": (V,)}
    params = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
    captions = np.zeros((N, T + 1), dtype=np.int64)
    for n in range(N):
        length = T - n % 2  # the odd captions end one word early: <NULL> after it
        captions[n, :length + 1] = [1, *rng.integers(3, 6, size=length - 1), 2]
        captions[n, 2] = captions[n, 1]  # a repeated word: dW[x] += dout keeps one of its gradients
    return model, params, rng.standard_normal((N, I)), captions


def captioning_diagnosis(path: Path):
    """Diagnosis of CaptioningRNN.loss calls of ``path`` on three problems (shown, second, confirming)."""
    sub = Submission(path)
    try:
        problems = [captioning_problem(1, 2, 4, "rnn"), captioning_problem(2, 3, 4, "lstm"),
                    captioning_problem(3, 4, 5, "lstm")]
        traces = []
        for problem in problems:
            with sub.recording() as trace:
                sub.captioning_loss(*problem)
            traces.append(trace)
    finally:
        sub.close()
    return diagnose(Counterexample({}, traces[0], "", second=traces[1], confirming=traces[2]))


@pytest.mark.parametrize("stem, due", [("captioning_softmax_by_mask_sum", "softmax-normalised-by-unmasked"),
                                       ("captioning_embedding_fancy_index", "embedding-fancy-index-accumulate")])
def test_a_layer_mistake_is_named_on_captioning_calls(stem, due):
    """CaptioningRNN.loss of a whole assignment whose layer makes a known mistake: diagnosis replays the call
    on every model, whose CaptioningRNN calls the model's layers, and names the mistake."""
    diagnosis = captioning_diagnosis(EXAMPLES / f"{stem}.py")
    assert diagnosis is not None and diagnosis.misconception == due, diagnosis


def test_correct_captioning_gets_no_diagnosis():
    assert captioning_diagnosis(Path(reference.__file__).parent) is None
    assert captioning_diagnosis(EXAMPLES.parent / "corpus" / "correct" / "cs231n_style.py") is None
