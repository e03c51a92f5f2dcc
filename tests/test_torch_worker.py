"""The worker with torch preloaded (issue 23 §1): confined as any worker, capped in memory, pinned to one
thread, and speaking plain data (``checks.engine.isolation.torch_calls``, ``torch_contract``).

Two workers serve the whole module (about 2 s each with torch): one preloads torch, the other does not,
and the same hostile functions (tests/corpus/torch/hostile/escapes.py) are called on both, so "refused as
a NumPy submission is" is compared, not assumed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from checks.engine.isolation.boundary import DEFAULT_MEMORY_LIMIT, WorkerOptions  # noqa: E402
from checks.engine.isolation.confinement import ACTIVE  # noqa: E402
from checks.engine.isolation.contract import NotImplementedInSubmission, Submission, SubmissionRaised  # noqa: E402
from checks.engine.isolation.torch_contract import (NotATensor, TensorOut, TorchView, parsed_grads,  # noqa: E402
                                                   parsed_module_grads, parsed_output)
from checks.engine.isolation.validation import ContractViolation  # noqa: E402

TORCH = Path(__file__).resolve().parent / "corpus" / "torch"
ESCAPES = TORCH / "hostile" / "escapes.py"
CORRECT = TORCH / "rnn_layers_pytorch_correct.py"
WITH_TORCH = WorkerOptions(preload=("torch",), allowed_packages=("torch",))


@pytest.fixture(scope="module")
def torch_sub():
    sub = Submission(ESCAPES, WITH_TORCH)
    yield sub
    sub.close()


@pytest.fixture(scope="module")
def numpy_sub():
    sub = Submission(ESCAPES)
    yield sub
    sub.close()


def torch_raised(sub: Submission, fn: str) -> str:
    with pytest.raises(SubmissionRaised) as raised:
        TorchView(sub).call(fn, [np.zeros(1)])
    return str(raised.value)


def numpy_raised(sub: Submission, fn: str) -> str:
    with pytest.raises(SubmissionRaised) as raised:
        sub.send({"op": "call", "fn": fn, "args": [np.zeros(1)], "cache_at": None}, fn)
    return str(raised.value)


def active(sub: Submission) -> set[str]:
    return {layer.name for layer in sub.confinement.layers if layer.state == ACTIVE}


def test_torch_preloaded_keeps_every_layer_a_numpy_worker_has(torch_sub, numpy_sub):
    # torch's import starts no thread that would make the lock-down refuse (it needs one thread), and
    # reads its files before Landlock: every layer the kernel gives a NumPy worker, it gives this one.
    assert active(numpy_sub), "no layer of confinement on this machine: nothing to compare"
    assert active(torch_sub) == active(numpy_sub)
    assert not torch_sub.import_error


@pytest.mark.parametrize("fn, layer", [("read_passwd", "landlock-fs"), ("open_socket", "seccomp")])
def test_escapes_are_refused_with_torch_as_without(torch_sub, numpy_sub, fn, layer):
    if layer not in active(numpy_sub):
        pytest.skip(f"{layer} is not available here")
    with_torch, without = torch_raised(torch_sub, fn), numpy_raised(numpy_sub, fn)
    assert "PermissionError" in with_torch and "PermissionError" in without, (with_torch, without)


def test_threads_are_pinned_to_one(torch_sub):
    result = TorchView(torch_sub).call("threads", [np.zeros(1)])
    assert result.outputs[0].array.tolist() == [1, 1]


@pytest.mark.parametrize("fn", ["allocate_huge", "allocate_huge_numpy"])
def test_a_huge_allocation_is_the_submissions_fault_and_the_worker_lives_on(torch_sub, fn):
    # torch's allocator reports RLIMIT_AS with a RuntimeError, not a MemoryError: both read alike.
    assert torch_raised(torch_sub, fn) == f"memory limit exceeded in {fn}"
    assert TorchView(torch_sub).call("threads", [np.zeros(1)]).outputs[0].array.tolist() == [1, 1]


def test_a_students_error_and_stub_read_as_for_a_numpy_call(torch_sub):
    text = torch_raised(torch_sub, "fails")
    assert text.startswith("fails raised ValueError: a message of the student's own (")
    assert "escapes.py" in text or "fails line" in text
    with pytest.raises(NotImplementedInSubmission):
        TorchView(torch_sub).call("stub", [np.zeros(1)])


def test_a_torch_grade_runs_under_the_default_memory_cap_and_sends_plain_data():
    assert WITH_TORCH.memory_limit == DEFAULT_MEMORY_LIMIT
    sub = Submission(CORRECT, WITH_TORCH)
    try:
        rng = np.random.default_rng(0)
        x, h, Wx, Wh, b = (rng.normal(size=s) for s in [(2, 3), (2, 4), (3, 4), (4, 4), (4,)])
        upstream = rng.normal(size=(2, 4))
        result = TorchView(sub).call("rnn_step_forward", [x, h, Wx, Wh, b], grad_of=range(5), upstream=[upstream])
        out, = result.outputs
        assert type(out.array) is np.ndarray and out.dtype == "float64" and out.has_grad_fn and out.requires_grad
        np.testing.assert_allclose(out.array, np.tanh(x @ Wx + h @ Wh + b), rtol=1e-12)
        da = upstream * (1 - out.array ** 2)  # tanh' = 1 − h²: the gradients autograd must give
        np.testing.assert_allclose(result.grads[0], da @ Wx.T, rtol=1e-12)
        np.testing.assert_allclose(result.grads[4], da.sum(axis=0), rtol=1e-12)
        words = TorchView(sub).call("word_embedding_forward", [np.array([[0, 2]]), Wx], grad_of=[1],
                                    upstream=[np.ones((1, 2, 4))])
        assert words.grads[0].tolist() == [[1.0] * 4, [0.0] * 4, [1.0] * 4]  # int64 indices stayed indices
    finally:
        sub.close()


@pytest.mark.parametrize("forged", [
    {"array": [1.0], "dtype": "float64", "requires_grad": False, "has_grad_fn": False},
    {"array": np.zeros(1), "dtype": "float32", "requires_grad": False, "has_grad_fn": False},
    {"array": np.zeros(1), "dtype": "object", "requires_grad": False, "has_grad_fn": False},
    {"array": np.zeros(1), "dtype": "float64", "requires_grad": 1, "has_grad_fn": False},
    {"array": np.zeros(1), "dtype": "float64", "requires_grad": False},
    {"not_a_tensor": 3},
    [np.zeros(1)],
])
def test_a_forged_output_description_fails_the_check_not_the_grader(forged):
    with pytest.raises(ContractViolation):
        parsed_output(forged, "rnn_step_forward")


def test_honest_descriptions_parse():
    out = parsed_output({"array": np.zeros(2, np.float32), "dtype": "float32", "requires_grad": True,
                         "has_grad_fn": False}, "f")
    assert isinstance(out, TensorOut) and out.dtype == "float32"
    assert parsed_output({"not_a_tensor": "tuple"}, "f") == NotATensor("tuple")


@pytest.mark.parametrize("grads", [
    [np.zeros((2, 3))],                        # one gradient short
    [np.zeros((2, 3)), np.zeros((3, 3))],      # the second of another argument's shape
    [np.zeros((2, 3)), np.zeros(4, np.int64)],  # not a float array
    [np.zeros((2, 3)), "none"],
])
def test_forged_gradients_fail_the_check(grads):
    with pytest.raises(ContractViolation):
        parsed_grads(grads, [(2, 3), (4,)], "rnn_step_forward")


def test_gradients_of_the_right_shapes_or_none_parse():
    x, none = parsed_grads([np.ones((2, 3)), None], [(2, 3), (4,)], "f")
    assert x.shape == (2, 3) and none is None
    shapes = {"input": (2, 3), "weight_ih": (4, 3)}
    good = {"input": np.zeros((2, 3)), "hx": [None], "weight_ih": np.zeros((4, 3))}
    assert parsed_module_grads(good, shapes, [(2, 4)], "RNNCell")["hx"] == [None]
    for forged in ({**good, "weight_ih": np.zeros((3, 4))}, {**good, "hx": []}, {**good, "extra": None}):
        with pytest.raises(ContractViolation):
            parsed_module_grads(forged, shapes, [(2, 4)], "RNNCell")


def test_a_torch_view_of_a_worker_without_torch_is_the_graders_error(numpy_sub):
    """A check of a table that forgot [course] requires = ["torch"] raises in its own code (a grader error, exit 2)
    rather than calling the student's functions with numpy arrays and charging the student."""
    with pytest.raises(RuntimeError, match=r'requires = \["torch"\]'):
        TorchView(numpy_sub)
