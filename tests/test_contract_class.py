"""The contract's class, CaptioningRNN, and the new functions' returns, end to end through a real worker.

Every test grades small submissions written to ``tmp_path`` through ``Submission`` (a real, confined worker
process), most of them a copy of the reference's layers and ``CaptioningRNN`` as a student's package, with
a variant of the class appended to its ``__init__``. What is proved:

- The worker builds a fresh object for every call, from the constructor keywords (plain data) and
  ``dtype=np.float64``, and replaces its ``params`` by the grader's arrays: a constructor that draws
  random parameters gives the same loss on every call, equal to the reference's on the same params.
- A ``loss`` that updates ``self.params`` in place (an SGD step inside ``loss``) changes the grader's
  arrays of that call only: the next call gets fresh ones; ``Call(..., arguments_after=True)`` shows
  exactly what the call did to them.
- Hostile or odd classes are the submission's fault, never a grader error: ``SubmissionRaised`` or
  ``ContractViolation`` with a sentence naming what is wrong; a ``CaptioningRNN`` that is not a class,
  or a method that is not callable or raises NotImplementedError, is simply not implemented.
- What crosses the wire is plain data both ways: grads arrive as validated float64 arrays, an object or
  an array subclass arrives as a description and is a contract violation.
- The new functions' returns: the LSTM step's two outputs through ``outputs_of_many``, the embedding's
  backward returning dW alone, temporal_softmax_loss's (loss, dx), sampled captions of any integer dtype.
- ``entered``: CaptioningRNN.loss and sample report the layers they ran, in a package and in the course's
  layout (rnn_layers.py, classifiers/rnn.py with relative imports); a missing or broken module costs only
  what it defines, and a broken one's import error is in the submission's printed output.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

import reference
from checks.engine.isolation.batch_calls import Call
from checks.engine.isolation.contract import NotImplementedInSubmission, Submission, SubmissionRaised
from checks.engine.isolation.validation import ContractViolation

REFERENCE = Path(reference.__file__).parent
LAYERS = ("rnn.py", "lstm.py", "embedding.py", "captioning.py")
PACKAGE_INIT = ("from .rnn import *\nfrom .lstm import *\nfrom .embedding import *\n"
                "from .captioning import CaptioningRNN\n")
# A variant of the class is written after this, in the package's __init__.
VARIANT = "import numpy as np\nfrom .captioning import CaptioningRNN as Reference\n\n\n"

VOCABULARY = {"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3, "cat": 4, "sat": 5}  # V = 6
V, I, W, H, N = 6, 3, 4, 5, 2  # words, image features (input_dim), word vectors, hidden units, batch
MAX_LENGTH = 5
# (N, T + 1) = (2, 5): <START> first, <NULL> padding after <END> (masked out of the loss).
CAPTIONS = np.array([[1, 3, 4, 5, 2], [1, 4, 2, 0, 0]])


def model(cell_type: str = "rnn") -> dict:
    """The constructor's keywords, as a check sends them (dtype is the worker's to add)."""
    return {"word_to_idx": dict(VOCABULARY), "input_dim": I, "wordvec_dim": W, "hidden_dim": H,
            "cell_type": cell_type}


def params(cell_type: str = "rnn", seed: int = 0) -> dict[str, np.ndarray]:
    """The grader's 8 float64 parameter arrays, of the shapes of CAPTIONING_PARAMS (k = 1 or 4)."""
    k = {"rnn": 1, "lstm": 4}[cell_type]
    shapes = {"W_embed": (V, W), "W_proj": (I, H), "b_proj": (H,), "Wx": (W, k * H), "Wh": (H, k * H),
              "b": (k * H,), "W_vocab": (H, V), "b_vocab": (V,)}
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape) for name, shape in shapes.items()}


def features(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((N, I))


def reference_model(cell_type: str, values: dict[str, np.ndarray]) -> reference.CaptioningRNN:
    """The reference's object with the grader's params, as the worker builds the student's."""
    built = reference.CaptioningRNN(**model(cell_type), dtype=np.float64)
    built.params.update({name: value.copy() for name, value in values.items()})
    return built


def captioning_package(tmp_path: Path, variant: str = "", name: str = "student") -> Path:
    """A student's package: the reference's layers and CaptioningRNN, and ``variant`` (a class that
    replaces it, built on ``Reference``) at the end of its ``__init__``."""
    folder = tmp_path / name
    folder.mkdir()
    for layer in LAYERS:
        shutil.copy(REFERENCE / layer, folder / layer)
    (folder / "__init__.py").write_text(PACKAGE_INIT + (VARIANT + variant if variant else ""))
    return folder


@contextmanager
def submission(path: Path) -> Iterator[Submission]:
    sub = Submission(path)
    try:
        yield sub
    finally:
        sub.close()


def assert_same_grads(actual: dict, expected: dict) -> None:
    assert set(actual) == set(expected)
    for name in expected:
        assert type(actual[name]) is np.ndarray and actual[name].dtype == np.float64, name
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


# -- a fresh object per call, with the grader's params ---------------------------------------------------------


# The class counts the objects built in the worker, and each object its own calls: loss returns them.
COUNTING = '''
class CaptioningRNN(Reference):
    built = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        type(self).built += 1
        self.calls = 0

    def loss(self, features, captions):
        self.calls += 1
        return float(100 * type(self).built + self.calls), super().loss(features, captions)[1]
'''


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_each_call_builds_a_fresh_object_whose_random_initialisation_the_graders_params_replace(tmp_path, cell_type):
    values, x = params(cell_type), features()
    # The constructor does draw random parameters: two objects differ before the grader's replace them.
    drawn = [reference.CaptioningRNN(**model(cell_type), dtype=np.float64).params["Wx"] for _ in range(2)]
    assert not np.array_equal(*drawn)
    expected_loss, expected_grads = reference_model(cell_type, values).loss(x, CAPTIONS)
    expected_captions = reference_model(cell_type, values).sample(x, MAX_LENGTH)
    with submission(captioning_package(tmp_path)) as sub:
        assert {"CaptioningRNN.loss", "CaptioningRNN.sample"} <= sub.functions
        for _ in range(2):  # the second object draws other random numbers: the result is the same
            loss, grads = sub.captioning_loss(model(cell_type), values, x, CAPTIONS)
            assert type(loss) is float and loss == expected_loss
            assert_same_grads(grads, expected_grads)
            (captions,) = sub.captioning_sample(model(cell_type), values, x, MAX_LENGTH)
            np.testing.assert_array_equal(captions, expected_captions)


def test_no_object_outlives_its_call(tmp_path):
    with submission(captioning_package(tmp_path, COUNTING)) as sub:
        losses = [sub.captioning_loss(model(), params(), features(), CAPTIONS)[0] for _ in range(3)]
    assert losses == [101.0, 201.0, 301.0]  # object k built for call k, which is its first and only call


# An SGD step inside loss: the params are updated in place, with the gradients just computed.
SGD_IN_LOSS = '''
class CaptioningRNN(Reference):
    def loss(self, features, captions):
        loss, grads = super().loss(features, captions)
        for name, grad in grads.items():
            self.params[name] -= 0.5 * grad
        return loss, grads
'''


def test_a_loss_that_updates_its_params_in_place_changes_only_the_arrays_of_its_own_call(tmp_path):
    values, x = params(), features()
    kept = {name: value.copy() for name, value in values.items()}
    expected_loss, expected_grads = reference_model("rnn", values).loss(x, CAPTIONS)
    args = (model(), values, x, CAPTIONS)
    with submission(captioning_package(tmp_path, SGD_IN_LOSS)) as sub:
        after, (loss, grads), (again, _) = sub.batch([Call("CaptioningRNN.loss", args, arguments_after=True),
                                                      Call("CaptioningRNN.loss", args),
                                                      Call("CaptioningRNN.loss", args)])
    model_after, params_after, features_after, captions_after = after
    for name, value in kept.items():  # what the call did to the grader's arrays, in the worker
        np.testing.assert_array_equal(params_after[name], value - 0.5 * expected_grads[name], err_msg=name)
    assert model_after == model() and np.array_equal(features_after, x) and np.array_equal(captions_after, CAPTIONS)
    assert loss == again == expected_loss  # each later call had fresh arrays: the step did not carry over
    assert_same_grads(grads, expected_grads)
    for name, value in kept.items():  # and the grader's own arrays never left this process
        np.testing.assert_array_equal(values[name], value)


# The constructor and the methods inspect what they are given: anything else than plain data, or
# other keywords than the model's and dtype=np.float64, raises (and the test fails).
INSPECTING = '''
PLAIN = (dict, str, int)


class CaptioningRNN(Reference):
    def __init__(self, *args, **kwargs):
        assert not args, f"positional arguments {args!r}"
        assert set(kwargs) == {"word_to_idx", "input_dim", "wordvec_dim", "hidden_dim", "cell_type", "dtype"}, kwargs
        assert kwargs["dtype"] is np.float64, kwargs["dtype"]
        words = kwargs["word_to_idx"]
        assert type(words) is dict and all(type(w) is str and type(i) is int for w, i in words.items()), words
        assert all(type(kwargs[k]) is int for k in ("input_dim", "wordvec_dim", "hidden_dim")), kwargs
        super().__init__(*args, **kwargs)

    def loss(self, features, captions):
        for name, value in self.params.items():
            assert type(value) is np.ndarray and value.dtype == np.float64, (name, type(value), value.dtype)
        assert type(features) is np.ndarray and type(captions) is np.ndarray
        return super().loss(features, captions)
'''


def test_the_constructor_gets_the_models_keywords_as_plain_data_and_dtype_float64_and_grads_come_back_as_arrays(
        tmp_path):
    values, x = params("lstm"), features()
    expected_loss, expected_grads = reference_model("lstm", values).loss(x, CAPTIONS)
    with submission(captioning_package(tmp_path, INSPECTING)) as sub:
        loss, grads = sub.captioning_loss(model("lstm"), values, x, CAPTIONS)
    assert loss == expected_loss
    assert_same_grads(grads, expected_grads)


def test_int32_captions_are_accepted_as_input_and_as_sampled_output(tmp_path):
    values, x = params(), features()
    expected_loss = reference_model("rnn", values).loss(x, CAPTIONS)[0]
    with submission(captioning_package(tmp_path)) as sub:
        assert sub.captioning_loss(model(), values, x, CAPTIONS.astype(np.int32))[0] == expected_loss
        (captions,) = sub.captioning_sample(model(), values, x, MAX_LENGTH)
    assert captions.dtype == np.int32  # the reference's, as CS231n's starter fills it


# -- hostile and odd classes: the submission's fault, in a sentence ------------------------------------------

def returning(method: str, body: str) -> str:
    """A class whose ``method`` returns the reference's result transformed by ``body`` (in terms of
    ``loss, grads`` or ``captions``)."""
    if method == "loss":
        return (f"class CaptioningRNN(Reference):\n    def loss(self, features, captions):\n"
                f"        loss, grads = super().loss(features, captions)\n{body}")
    return (f"class CaptioningRNN(Reference):\n    def sample(self, features, max_length=30):\n"
            f"        captions = super().sample(features, max_length)\n{body}")


HOSTILE = {
    "constructor-raises": (
        "class CaptioningRNN(Reference):\n    def __init__(self, *args, **kwargs):\n"
        "        raise RuntimeError('no GPU found')\n",
        "loss", SubmissionRaised, "CaptioningRNN.loss raised RuntimeError: no GPU found (__init__ line "),
    "no-params-attribute": (
        "class CaptioningRNN(Reference):\n    def __init__(self, *args, **kwargs):\n        self.weights = {}\n",
        "loss", SubmissionRaised, "CaptioningRNN.loss raised TypeError: CaptioningRNN's constructor must set "
                                  "self.params to a dict of the model's arrays"),
    "params-a-list": (
        "class CaptioningRNN(Reference):\n    def __init__(self, *args, **kwargs):\n"
        "        super().__init__(*args, **kwargs)\n        self.params = list(self.params.values())\n",
        "sample", SubmissionRaised, "CaptioningRNN.sample raised TypeError: CaptioningRNN's constructor must set "
                                    "self.params to a dict of the model's arrays"),
    "params-a-property-that-raises": (
        "class CaptioningRNN(Reference):\n    params = property(lambda self: {}['W_embed'], lambda self, value: None)\n",
        "loss", SubmissionRaised, "CaptioningRNN.loss raised KeyError: 'W_embed'"),
    "grads-missing-a-key": (
        returning("loss", "        del grads['b']\n        return loss, grads\n"),
        "loss", ContractViolation, "grads returned by CaptioningRNN.loss has keys ['W_embed', 'W_proj', 'W_vocab', "
                                   "'Wh', 'Wx', 'b_proj', 'b_vocab']; missing ['b'], unexpected []"),
    "grads-an-extra-key": (
        returning("loss", "        grads['features'] = np.zeros(3)\n        return loss, grads\n"),
        "loss", ContractViolation, "missing [], unexpected ['features']"),
    "grads-of-a-wrong-shape": (
        returning("loss", "        grads['b'] = grads['b'][None, :]\n        return loss, grads\n"),
        "loss", ContractViolation, "grads['b'] returned by CaptioningRNN.loss has shape (1, 5); the contract says "
                                   "the shape of params['b'] (kH) = (5,)"),
    "grads-float32": (
        returning("loss", "        grads['Wx'] = grads['Wx'].astype(np.float32)\n        return loss, grads\n"),
        "loss", ContractViolation, "grads['Wx'] returned by CaptioningRNN.loss has dtype float32; the contract says "
                                   "float64"),
    "grads-an-array-subclass": (
        returning("loss", "        grads['Wh'] = np.ma.masked_array(grads['Wh'])\n        return loss, grads\n"),
        "loss", ContractViolation, "grads['Wh'] returned by CaptioningRNN.loss must be a float64 numpy array, but is "),
    "loss-an-array": (
        returning("loss", "        return np.array([loss]), grads\n"),
        "loss", ContractViolation, "loss returned by CaptioningRNN.loss must be a float, but is an array of dtype "
                                   "float64 and shape (1,)"),
    "loss-float32": (
        returning("loss", "        return np.float32(loss), grads\n"),
        "loss", ContractViolation, "loss returned by CaptioningRNN.loss must be a float, but is a NumPy scalar of "
                                   "type float32"),
    "loss-the-object-itself": (
        returning("loss", "        return self, grads\n"),
        "loss", ContractViolation, "loss returned by CaptioningRNN.loss must be a float, but is an object of type "
                                   "submission.CaptioningRNN"),
    "loss-without-grads": (
        returning("loss", "        return loss\n"),
        "loss", ContractViolation, "CaptioningRNN.loss must return a tuple (loss, grads), but returned a float"),
    "captions-float": (
        returning("sample", "        return captions.astype(float)\n"),
        "sample", ContractViolation, "captions returned by CaptioningRNN.sample has dtype float64; the contract says "
                                     "an integer dtype (int32)"),
    "captions-with-start-column": (
        returning("sample", "        return np.hstack([np.ones((len(captions), 1), dtype=np.int32), captions])\n"),
        "sample", ContractViolation, "captions returned by CaptioningRNN.sample has shape (2, 6); the contract says "
                                     "(N, max_length) = (2, 5)"),
    "captions-out-of-range": (
        returning("sample", "        return captions + 6\n"),
        "sample", ContractViolation, "which is not a word index 0 … 5"),
    "captions-negative": (
        returning("sample", "        return np.full_like(captions, -1)\n"),
        "sample", ContractViolation, "captions returned by CaptioningRNN.sample holds -1, which is not a word index 0 … 5"),
    "captions-a-list": (
        returning("sample", "        return captions.tolist()\n"),
        "sample", ContractViolation, "captions returned by CaptioningRNN.sample must be an integer numpy array, but "
                                     "is a list"),
    "sample-exits": (
        returning("sample", "        raise SystemExit(3)\n"),
        "sample", SubmissionRaised, "CaptioningRNN.sample raised SystemExit (sys.exit(3) was called)"),
}


def call(sub: Submission, method: str, cell_type: str = "rnn"):
    if method == "loss":
        return sub.captioning_loss(model(cell_type), params(cell_type), features(), CAPTIONS)
    return sub.captioning_sample(model(cell_type), params(cell_type), features(), MAX_LENGTH)


@pytest.mark.parametrize("case", HOSTILE, ids=HOSTILE)
def test_an_odd_class_is_the_submissions_fault_in_a_sentence_and_the_worker_goes_on(tmp_path, case):
    variant, method, fault, message = HOSTILE[case]
    with submission(captioning_package(tmp_path, variant)) as sub:
        process = sub._worker.process  # the worker's process (private: only its identity is looked at)
        with pytest.raises(fault) as raised:
            call(sub, method)
        assert message in str(raised.value)
        # The same worker still answers: the other method (where the variant left it as it was) works.
        other = "sample" if method == "loss" else "loss"
        if f"def {other}" not in variant and "__init__" not in variant and "params" not in variant:
            call(sub, other)
        assert sub._worker.process is process and process.poll() is None  # nothing crashed: one worker all along


@pytest.mark.parametrize("method", ["loss", "sample"])
def test_a_method_raising_not_implemented_error_is_not_implemented_and_the_other_is_graded(tmp_path, method):
    stub = (f"class CaptioningRNN(Reference):\n    def {method}(self, *args, **kwargs):\n"
            "        raise NotImplementedError('TODO')\n")
    other = "sample" if method == "loss" else "loss"
    with submission(captioning_package(tmp_path, stub)) as sub:
        assert f"CaptioningRNN.{method}" in sub.functions  # it is defined: only calling it tells
        with pytest.raises(NotImplementedInSubmission):
            call(sub, method)
        assert sub.stubs_met == {f"CaptioningRNN.{method}"}
        call(sub, other)


@pytest.mark.parametrize("variant", [
    "def CaptioningRNN(word_to_idx, **kwargs):\n    return None\n",
    "CaptioningRNN = Reference(dict(<VOCABULARY>), 3, 4, 5)  # an object, not the class\n",
    "class CaptioningRNN(Reference):\n    loss = 'TODO'\n    sample = None\n",
], ids=["a-function", "an-instance", "methods-not-callable"])
def test_captioning_rnn_that_is_not_a_class_with_the_methods_has_them_not_implemented(tmp_path, variant):
    variant = variant.replace("<VOCABULARY>", repr(VOCABULARY))
    with submission(captioning_package(tmp_path, variant)) as sub:
        process = sub._worker.process
        assert "CaptioningRNN.loss" not in sub.functions and "CaptioningRNN.sample" not in sub.functions
        assert "rnn_forward" in sub.functions  # the rest of the package is there
        for method in ("loss", "sample"):
            with pytest.raises(NotImplementedInSubmission):
                call(sub, method)
        assert sub._worker.process is process and process.poll() is None


# A metaclass whose __getattr__ raises: looking up a method the class does not define raises RuntimeError,
# not AttributeError (getattr's default catches only that). An object posing as a class (its __class__
# is type) does the same for every attribute.
METACLASS = '''
class Meta(type):
    def __getattr__(cls, name):
        raise RuntimeError("no attribute " + name)


class CaptioningRNN(metaclass=Meta):  # no sample: looking it up raises
    def __init__(self, *args, **kwargs):
        self.reference = Reference(*args, **kwargs)
        self.params = self.reference.params

    def loss(self, features, captions):
        return self.reference.loss(features, captions)
'''
POSING = '''
class Posing:
    __class__ = property(lambda self: type)

    def __getattr__(self, name):
        raise RuntimeError("no attribute " + name)


CaptioningRNN = Posing()
'''


@pytest.mark.parametrize(("variant", "implemented"), [(METACLASS, {"loss"}), (POSING, set())],
                         ids=["metaclass-getattr-raises", "object-posing-as-class"])
def test_a_class_whose_attribute_lookup_raises_is_graded_not_a_worker_crash(tmp_path, variant, implemented):
    with submission(captioning_package(tmp_path, variant)) as sub:
        assert "rnn_forward" in sub.functions
        assert {m for m in ("loss", "sample") if f"CaptioningRNN.{m}" in sub.functions} == implemented
        for method in ("loss", "sample"):
            if method in implemented:  # the metaclass's class has the reference's loss: it is graded
                assert call(sub, method)[0] == reference_model("rnn", params()).loss(features(), CAPTIONS)[0]
            else:
                with pytest.raises(NotImplementedInSubmission):
                    call(sub, method)


# -- the new functions' returns ---------------------------------------------------------------------------

def layer_file(tmp_path: Path, layer: str, replace: tuple[str, str] | None = None) -> Path:
    """One of the reference's layer files as a student's single file (``replace``: one bug put in)."""
    source = (REFERENCE / layer).read_text()
    if replace is not None:
        assert replace[0] in source
        source = source.replace(*replace)
    path = tmp_path / layer
    path.write_text(source)
    return path


def test_the_lstm_steps_two_outputs_come_back_as_a_pair_through_outputs_of_many(tmp_path):
    rng = np.random.default_rng(3)
    calls = [(rng.standard_normal((N, 3)), rng.standard_normal((N, H)), rng.standard_normal((N, H)),
              rng.standard_normal((3, 4 * H)), rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H))
             for _ in range(3)]
    with submission(layer_file(tmp_path, "lstm.py")) as sub:
        outputs = sub.outputs_of_many("lstm_step_forward", calls)
        by_name = sub.evaluator("lstm_step_forward")(
            [dict(zip(("x", "prev_h", "prev_c", "Wx", "Wh", "b"), args)) for args in calls])
    for got, named, args in zip(outputs, by_name, calls, strict=True):
        next_h, next_c, _ = reference.lstm_step_forward(*args)
        assert type(got) is tuple and len(got) == 2
        np.testing.assert_array_equal(got[0], next_h)
        np.testing.assert_array_equal(got[1], next_c)
        np.testing.assert_array_equal(named[0], next_h)


def embedding_example() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x (N, T) = (2, 3) with a repeated word, W (V, D) = (6, 4), dout (N, T, D)."""
    rng = np.random.default_rng(5)
    return np.array([[1, 3, 3], [0, 5, 3]]), rng.standard_normal((V, 4)), rng.standard_normal((N, 3, 4))


def test_word_embedding_backward_returning_dw_alone_validates_to_a_tuple_of_one(tmp_path):
    x, W_, dout = embedding_example()
    with submission(layer_file(tmp_path, "embedding.py")) as sub:
        (out, cache), validated = sub.forward_and_backward("word_embedding_forward", (x, W_),
                                                           "word_embedding_backward", dout)
    expected_out, expected_cache = reference.word_embedding_forward(x, W_)
    np.testing.assert_array_equal(out, expected_out)
    assert type(validated) is tuple and len(validated) == 1
    np.testing.assert_array_equal(validated[0], reference.word_embedding_backward(dout, expected_cache))


def test_word_embedding_backward_returning_a_tuple_is_a_contract_violation_saying_so(tmp_path):
    path = layer_file(tmp_path, "embedding.py", ("    return dW\n", "    return (dW,)\n"))
    x, W_, dout = embedding_example()
    with submission(path) as sub, pytest.raises(ContractViolation) as raised:
        sub.forward_and_backward("word_embedding_forward", (x, W_), "word_embedding_backward", dout)
    assert str(raised.value) == ("word_embedding_backward must return dW alone, an array, but returned a tuple "
                                 "of length 1")


def test_word_embedding_backward_returning_a_tuple_is_told_to_return_dw_alone(tmp_path):
    path = layer_file(tmp_path, "embedding.py", ("    return dW\n", "    return (dW,)\n"))
    x, W_, dout = embedding_example()
    with submission(path) as sub, pytest.raises(ContractViolation) as raised:
        sub.forward_and_backward("word_embedding_forward", (x, W_), "word_embedding_backward", dout)
    assert "np.asarray" not in str(raised.value) and "dW alone" in str(raised.value)


def softmax_example() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x (N, T, V) = (2, 3, 6) scores, y (N, T) labels, mask (N, T) with a masked position."""
    rng = np.random.default_rng(7)
    return (rng.standard_normal((N, 3, V)), rng.integers(0, V, (N, 3)),
            np.array([[True, True, False], [True, False, False]]))


SOFTMAX_VARIANTS = {
    "dx-float32": (("    return loss, dx\n", "    return loss, dx.astype(np.float32)\n"),
                   "dx returned by temporal_softmax_loss has dtype float32; the contract says float64"),
    "dx-flattened": (("    return loss, dx\n", "    return loss, dx.reshape(-1, dx.shape[-1])\n"),
                     "dx returned by temporal_softmax_loss has shape (6, 6); the contract says (N, T, V) = (2, 3, 6)"),
    "loss-an-array": (("    return loss, dx\n", "    return np.array([loss]), dx\n"),
                      "loss returned by temporal_softmax_loss must be a float, but is an array of dtype float64 and "
                      "shape (1,)"),
    "loss-alone": (("    return loss, dx\n", "    return loss\n"),
                   "temporal_softmax_loss must return a tuple (loss, dx), but returned a float"),
}


def test_temporal_softmax_loss_comes_back_as_a_float_and_dx(tmp_path):
    x, y, mask = softmax_example()
    with submission(layer_file(tmp_path, "embedding.py")) as sub:
        loss, dx = sub.temporal_softmax_loss(x, y, mask)
    expected_loss, expected_dx = reference.temporal_softmax_loss(x, y, mask)
    assert type(loss) is float and loss == expected_loss
    np.testing.assert_array_equal(dx, expected_dx)


@pytest.mark.parametrize("case", SOFTMAX_VARIANTS, ids=SOFTMAX_VARIANTS)
def test_temporal_softmax_loss_of_a_wrong_kind_is_a_contract_violation(tmp_path, case):
    replace, message = SOFTMAX_VARIANTS[case]
    with submission(layer_file(tmp_path, "embedding.py", replace)) as sub, pytest.raises(ContractViolation) as raised:
        sub.temporal_softmax_loss(*softmax_example())
    assert message in str(raised.value)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
def test_sampled_captions_of_any_integer_dtype_are_accepted(tmp_path, dtype):
    variant = returning("sample", f"        return captions.astype(np.{dtype})\n")
    expected = reference_model("rnn", params()).sample(features(), MAX_LENGTH)
    with submission(captioning_package(tmp_path, variant)) as sub:
        (captions,) = call(sub, "sample")
    assert captions.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(captions, expected)


# -- entered, and the course's package layout ----------------------------------------------------------------

LOSS_ENTERS = {
    "rnn": ("rnn_backward", "rnn_forward", "rnn_step_backward", "rnn_step_forward"),
    "lstm": ("lstm_backward", "lstm_forward", "lstm_step_backward", "lstm_step_forward"),
}
LAYERS_ENTERED = ("temporal_affine_backward", "temporal_affine_forward", "temporal_softmax_loss",
                  "word_embedding_backward", "word_embedding_forward")


def entered(sub: Submission, cell_type: str) -> dict[str, tuple[str, ...]]:
    """What CaptioningRNN.loss and sample entered, as each answer says."""
    with sub.recording() as trace:
        call(sub, "loss", cell_type)
        call(sub, "sample", cell_type)
    return {c.function: c.entered for c in trace.calls}


def course_package(tmp_path: Path, modules: tuple[str, ...] = ("rnn_layers", "classifiers.rnn"),
                   broken: str = "") -> Path:
    """CS231n's layout: cs231n/rnn_layers.py (the reference's layers, concatenated) and
    cs231n/classifiers/rnn.py (the reference's CaptioningRNN, importing ``from ..rnn_layers import *`` and
    ``from ..layers import *`` as the course's does), with an empty ``__init__``, and no layers.py (the course
    provides it). ``broken``: a line put at the top of classifiers/rnn.py."""
    folder = tmp_path / "cs231n"
    (folder / "classifiers").mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "classifiers" / "__init__.py").write_text("")
    future = "from __future__ import annotations\n"
    if "rnn_layers" in modules:
        layers = "\n\n".join((REFERENCE / f).read_text().replace(future, "") for f in LAYERS[:3])
        (folder / "rnn_layers.py").write_text(future + layers)
    if "classifiers.rnn" in modules:
        source = (REFERENCE / "captioning.py").read_text()
        head, _, body = source.partition("import numpy as np\n")
        body = body[body.index("PARAM_NAMES"):]  # the reference's own relative imports left out
        (folder / "classifiers" / "rnn.py").write_text(
            head + broken + "import numpy as np\n\nfrom ..layers import *\nfrom ..rnn_layers import *\n\n" + body)
    return folder


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
@pytest.mark.parametrize("layout", ["package", "course"])
def test_the_methods_report_the_layers_they_entered(tmp_path, layout, cell_type):
    path = captioning_package(tmp_path) if layout == "package" else course_package(tmp_path)
    with submission(path) as sub:
        assert entered(sub, cell_type) == {
            "CaptioningRNN.loss": tuple(sorted(LOSS_ENTERS[cell_type] + LAYERS_ENTERED)),
            "CaptioningRNN.sample": (f"{cell_type}_step_forward",),  # the greedy loop: one step at a time
        }


def test_the_course_layout_is_graded_like_the_reference(tmp_path):
    values, x = params("lstm"), features()
    expected_loss, expected_grads = reference_model("lstm", values).loss(x, CAPTIONS)
    with submission(course_package(tmp_path)) as sub:
        assert {"CaptioningRNN.loss", "lstm_step_forward", "word_embedding_backward"} <= sub.functions
        assert sub.import_error is None
        loss, grads = sub.captioning_loss(model("lstm"), values, x, CAPTIONS)
    assert loss == expected_loss
    assert_same_grads(grads, expected_grads)


def test_a_missing_course_module_costs_only_what_it_defines(tmp_path):
    with submission(course_package(tmp_path, modules=("rnn_layers",))) as sub:
        assert sub.import_error is None
        assert "CaptioningRNN.loss" not in sub.functions and "CaptioningRNN" not in sub.functions
        assert {"rnn_forward", "lstm_backward", "temporal_softmax_loss"} <= sub.functions


def test_a_course_module_that_fails_to_import_costs_only_what_it_defines_and_its_error_is_printed(tmp_path):
    broken = "raise ImportError('cannot import name sigmoid')\n"
    with submission(course_package(tmp_path, broken=broken)) as sub:
        assert sub.import_error is None
        assert "CaptioningRNN" not in sub.functions
        assert {"rnn_forward", "lstm_backward", "temporal_softmax_loss"} <= sub.functions
        printed = sub.take_output()
    assert "classifiers/rnn.py could not be imported, so what it defines is graded as missing" in printed
    assert "ImportError: cannot import name sigmoid" in printed


def test_a_classifier_without_its_layers_module_is_missing_and_says_why(tmp_path):
    with submission(course_package(tmp_path, modules=("classifiers.rnn",))) as sub:
        assert sub.import_error is None
        assert not {"CaptioningRNN", "CaptioningRNN.loss", "rnn_forward"} & sub.functions
        printed = sub.take_output()
    assert "classifiers/rnn.py could not be imported" in printed and "rnn_layers" in printed
