"""Self-tests of the SymPy oracles (reference/oracles/sympy_rnn.py, identities.py), and
of the reference's rnn_backward and rnn_classifier_loss against them.

Three independent routes to the same gradients meet here: symbolic differentiation
of the unrolled forward pass (SymPy), central differences of a NumPy forward pass
written in this file, and the reference's hand-written BPTT.

Cache: these tests use the oracle's default disk cache (``$RNN_GRADE_CACHE_DIR``, else
``~/.cache/rnn-grade/sympy``), not a per-session temporary one, so that a second run,
and the second pytest-xdist worker, reuse the formulas instead of deriving them again.
Shapes are drawn from the small set SYMPY_DIMS for the same reason. A cold run (as in
CI) derives 2 · len(SYMPY_DIMS) = 12 formulas once, about 15 s of CPU in all (see
bench/sympy_oracle.py); a warm run loads them in milliseconds. The cache tests
themselves use private temporary directories.

Settings are applied explicitly (derandomize, no database, no deadline — the first
example of a shape may spend seconds deriving); the example count comes from the
active profile in tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

import reference
from checks.strategies import (
    ClassifierProblem,
    Dims,
    RNNProblem,
    binary_labels,
    float_arrays,
    rnn_parameters,
    rnn_problem_from_seed,
)
from checks.finite_differences import numerical_gradient
from checks.tanh import TANH_IDENTITY
from reference.oracles import identities
from reference.oracles.sympy_rnn import (
    CACHE_DIR_ENV,
    CLASSIFIER_ARGS,
    RNN_ARGS,
    SYMPY_AFFORDABLE,
    sympy_affordable,
    sympy_classifier_gradients,
    sympy_rnn_gradients,
)

REPO = Path(__file__).resolve().parents[1]

ORACLE_SETTINGS = settings(derandomize=True, database=None, deadline=None)

# Every boundary of the affordable box (N = 2, T = 4, D = 2, H = 2) appears, and both
# D = H and D ≠ H (a transposed Wx is invisible when D = H).
SYMPY_DIMS = (
    Dims(N=1, T=1, D=1, H=1),
    Dims(N=1, T=2, D=1, H=2),
    Dims(N=2, T=2, D=2, H=1),
    Dims(N=1, T=3, D=2, H=2),
    Dims(N=1, T=4, D=1, H=2),
    Dims(N=2, T=4, D=2, H=2),
)

# Reference vs SymPy. Both are exact formulas evaluated in float64, on inputs of O(1)
# (x, h0, dh in [-1, 1], weights ~1/sqrt(fan-in), logits O(1)); with T <= 4 every
# gradient entry is a sum of at most a few hundred products of O(1) factors, so each
# side carries a rounding error of at most ~1e-14 and in practice ~1e-16: over 9000
# random examples on SYMPY_DIMS the largest |ref - sympy| / (|sympy| + max(1, max|sympy|))
# was 8e-16. rtol 1e-12, with an absolute part of 1e-12 · max(1, max|expected|) for
# entries that cancel to ~0, leaves a margin of 1e3 and flags not only wrong formulas
# (errors of 1e-3 and more on these inputs) but also lost precision, e.g. a float32
# intermediate (~1e-8), which a finite-difference check (rtol 1e-6) cannot see.
RTOL_EXACT = 1e-12
# SymPy vs central differences (eps = 1e-6): error ~ eps²·|f'''| + u·|f|/eps ≈ 1e-10
# (see checks/finite_differences.py).
RTOL_FD = 1e-6


# The corner of the affordable box is always tried, whatever Hypothesis draws.
CORNER = Dims(N=2, T=4, D=2, H=2)
RNN_CORNER = rnn_problem_from_seed(CORNER, seed=0)


def classifier_problem_from_seed(dims: Dims, seed: int) -> ClassifierProblem:
    """A ClassifierProblem at the scales of sympy_classifier_problems, from a seed."""
    N, _, _, H = dims
    x, h0, Wx, Wh, b, _ = rnn_problem_from_seed(dims, seed)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, N).astype(np.float64)
    W2, b2 = rng.uniform(-1, 1, H) / np.sqrt(H), rng.uniform(-0.5, 0.5, 1)
    return ClassifierProblem(x, y, h0, Wx, Wh, b, W2, b2)


CLASSIFIER_CORNER = classifier_problem_from_seed(CORNER, seed=0)


# --------------------------------------------------------------------------- strategies


@st.composite
def sympy_rnn_problems(draw: st.DrawFn) -> RNNProblem:
    """An RNNProblem whose dims come from SYMPY_DIMS, values as in checks.strategies."""
    N, T, D, H = dims = draw(st.sampled_from(SYMPY_DIMS))
    event(f"dims {tuple(dims)}")
    x = draw(float_arrays((N, T, D)))
    h0, Wx, Wh, b = draw(rnn_parameters(N, D, H))
    dh = draw(float_arrays((N, T, H)))
    return RNNProblem(x, h0, Wx, Wh, b, dh)


@st.composite
def sympy_classifier_problems(draw: st.DrawFn) -> ClassifierProblem:
    """A ClassifierProblem with dims from SYMPY_DIMS; W2 in [-1, 1]/sqrt(H) and b2 in
    [-0.5, 0.5], so |z| < 1.5 + sqrt(H): well inside the oracle's domain."""
    N, T, D, H = dims = draw(st.sampled_from(SYMPY_DIMS))
    event(f"dims {tuple(dims)}")
    x = draw(float_arrays((N, T, D)))
    y = draw(binary_labels(N))
    h0, Wx, Wh, b = draw(rnn_parameters(N, D, H))
    W2 = draw(float_arrays((H,), 1 / np.sqrt(H)))
    b2 = draw(float_arrays((1,), 0.5))
    return ClassifierProblem(x, y, h0, Wx, Wh, b, W2, b2)


# --------------------------------------------------------------------------- NumPy forward
# Only for the finite differences: the contract's forward math, restated.


def hidden_states(x, h0, Wx, Wh, b) -> np.ndarray:
    """h_1 … h_T of shape (N, T, H), h_t = tanh(x_t·Wx + h_{t-1}·Wh + b)."""
    h_t, states = h0, []
    for t in range(x.shape[1]):
        a_t = x[:, t, :] @ Wx + h_t @ Wh + b
        h_t = np.tanh(a_t)
        states.append(h_t)
    return np.stack(states, axis=1)


def rnn_objective(params: dict[str, np.ndarray], dh: np.ndarray) -> float:
    """L = Σ_t ⟨h_t, dh_t⟩."""
    return float(np.sum(hidden_states(**params) * dh))


def classifier_objective(params: dict[str, np.ndarray], y: np.ndarray) -> float:
    """mean_n [softplus(z_n) - y_n·z_n] with z = h_T·W2 + b2."""
    rnn_params = {name: params[name] for name in RNN_ARGS}
    h_T = hidden_states(**rnn_params)[:, -1, :]
    z = h_T @ params["W2"] + params["b2"]
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def finite_difference_gradients(objective, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Central-difference gradient of objective(params) with respect to each entry."""
    def varying(name):
        return lambda value: objective({**params, name: value})

    return {name: numerical_gradient(varying(name), value) for name, value in params.items()}


# --------------------------------------------------------------------------- identities


def test_tanh_derivative_identity():
    z = identities.z
    assert identities.tanh_derivative() == 1 - sp.tanh(z) ** 2
    assert identities.tanh_identity_text() == "d/dz tanh(z) = 1 - tanh(z)**2"
    assert identities.TANH_IDENTITY_TEXT == identities.tanh_identity_text()
    # The tanh checks quote it without SymPy (a student's self-check has none): the same text.
    assert TANH_IDENTITY == identities.tanh_identity_text()
    # The expression is usable numerically, e.g. against np.tanh's slope.
    slope = sp.lambdify(z, identities.tanh_derivative(), "numpy")
    a = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(slope(a), 1 / np.cosh(a) ** 2, rtol=1e-14)


def test_bce_logit_derivative_identity():
    z, y = identities.z, identities.y
    derivative = identities.bce_logit_derivative()
    assert derivative == identities.sigmoid(z) - y
    assert sp.simplify(derivative.rewrite(sp.exp) - (1 / (1 + sp.exp(-z)) - y)) == 0
    assert identities.BCE_LOGIT_IDENTITY_TEXT == "d/dz [softplus(z) - y*z] = sigmoid(z) - y"


def test_softplus_reflection_identity():
    z = identities.z
    assert identities.softplus_reflection() == identities.softplus(z) - z
    assert identities.SOFTPLUS_REFLECTION_TEXT == "softplus(-z) = softplus(z) - z"


def test_a_false_identity_is_not_proved():
    # Guards against a vacuous proof: the same machinery must reject a wrong claim.
    z = identities.z
    tanh_def = sp.tanh(z).rewrite(sp.exp)
    with pytest.raises(AssertionError, match="could not prove"):
        identities._prove_equal(sp.diff(tanh_def, z), 1 + tanh_def**2, "a wrong tanh'")


# --------------------------------------------------------------------------- affordability


def test_affordable_box():
    assert all(sympy_affordable(*dims) for dims in SYMPY_DIMS)
    assert SYMPY_AFFORDABLE(2, 4, 2, 2) and sympy_affordable(2, 4, 2, 2)
    for too_big in [(3, 4, 2, 2), (2, 5, 2, 2), (2, 4, 3, 2), (2, 4, 2, 3), (1, 0, 1, 1)]:
        assert not sympy_affordable(*too_big)


# --------------------------------------------------------------------------- SymPy vs FD


@ORACLE_SETTINGS
@given(p=sympy_rnn_problems())
@example(p=RNN_CORNER)
def test_sympy_rnn_gradients_match_finite_differences(p, assert_close):
    params = {name: getattr(p, name) for name in RNN_ARGS}
    symbolic = sympy_rnn_gradients(*p)
    numeric = finite_difference_gradients(lambda q: rnn_objective(q, p.dh), params)
    assert symbolic.keys() == numeric.keys()
    for name in RNN_ARGS:
        assert_close(symbolic[name], numeric[name], rtol=RTOL_FD, floor=1.0, err_msg=name)


@ORACLE_SETTINGS
@given(p=sympy_classifier_problems())
@example(p=CLASSIFIER_CORNER)
def test_sympy_classifier_gradients_match_finite_differences(p, assert_close):
    params = {name: getattr(p, name) for name in CLASSIFIER_ARGS}
    loss, symbolic = sympy_classifier_gradients(*p)
    assert loss == pytest.approx(classifier_objective(params, p.y), rel=1e-13, abs=0)
    numeric = finite_difference_gradients(lambda q: classifier_objective(q, p.y), params)
    assert symbolic.keys() == numeric.keys()
    for name in CLASSIFIER_ARGS:
        assert_close(symbolic[name], numeric[name], rtol=RTOL_FD, floor=1.0, err_msg=name)


@pytest.mark.parametrize("y", [0.0, 1.0])
@pytest.mark.parametrize("z", [-700.0, -40.0, 0.0, 40.0, 700.0])
def test_sympy_classifier_is_accurate_for_large_logits(z, y):
    # h_T = 0 (all inputs 0), so z = b2 exactly. Expected values from the branch of
    # y·softplus(-z) + (1 - y)·softplus(z) that is active, each without cancellation.
    zeros = {"x": np.zeros((1, 1, 1)), "h0": np.zeros((1, 1)), "Wx": np.zeros((1, 1)),
             "Wh": np.zeros((1, 1)), "b": np.zeros(1), "W2": np.zeros(1)}
    loss, grads = sympy_classifier_gradients(
        zeros["x"], np.array([y]), zeros["h0"], zeros["Wx"], zeros["Wh"], zeros["b"],
        zeros["W2"], np.array([z]))
    if y == 1.0:
        expected_loss, expected_dz = np.logaddexp(0.0, -z), -1 / (1 + np.exp(z))
    else:
        expected_loss, expected_dz = np.logaddexp(0.0, z), 1 / (1 + np.exp(-z))
    assert loss == pytest.approx(expected_loss, rel=1e-14, abs=0)
    assert grads["b2"][0] == pytest.approx(expected_dz, rel=1e-14, abs=0)


def test_sympy_classifier_refuses_logits_outside_its_domain():
    one = np.ones
    with pytest.raises(ValueError, match="outside its domain"):
        sympy_classifier_gradients(one((1, 1, 1)), one(1), one((1, 1)), one((1, 1)),
                                   one((1, 1)), one(1), one(1), np.array([800.0]))


# --------------------------------------------------------------------------- reference vs SymPy


@ORACLE_SETTINGS
@given(p=sympy_rnn_problems())
@example(p=RNN_CORNER)
def test_reference_rnn_backward_equals_sympy(p, assert_close):
    # Looked up on the package at call time, so a scratch plugin can patch it.
    _, cache = reference.rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    got = dict(zip(RNN_ARGS, reference.rnn_backward(p.dh, cache)))
    expected = sympy_rnn_gradients(*p)
    for name in RNN_ARGS:
        assert_close(got[name], expected[name], rtol=RTOL_EXACT, floor=1.0,
                     err_msg=f"d{name}: rnn_backward vs SymPy, dims {tuple(p.dims)}")


@ORACLE_SETTINGS
@given(p=sympy_classifier_problems())
@example(p=CLASSIFIER_CORNER)
def test_reference_classifier_equals_sympy(p, assert_close):
    loss, got = reference.rnn_classifier_loss(*p)
    expected_loss, expected = sympy_classifier_gradients(*p)
    assert isinstance(loss, float)
    assert loss == pytest.approx(expected_loss, rel=RTOL_EXACT, abs=RTOL_EXACT)
    assert set(got) == set(CLASSIFIER_ARGS)
    for name in CLASSIFIER_ARGS:
        assert_close(got[name], expected[name], rtol=RTOL_EXACT, floor=1.0,
                     err_msg=f"d{name}: rnn_classifier_loss vs SymPy, dims {tuple(p.dims)}")


# --------------------------------------------------------------------------- disk cache

# A child process computes one gradient and reports how the formula was obtained.
CHILD = """
import json, numpy as np
from reference.oracles import sympy_rnn
N, T, D, H = 1, 2, 1, 2
rng = np.random.default_rng(0)
args = [rng.uniform(-1, 1, s) for s in [(N, T, D), (N, H), (D, H), (H, H), (H,), (N, T, H)]]
grads = sympy_rnn.sympy_rnn_gradients(*args)
print(json.dumps({"stats": sympy_rnn.cache_stats(),
                  "grads": {k: v.tolist() for k, v in grads.items()}}))
"""


def start_child(cache_dir: Path) -> subprocess.Popen:
    env = {**os.environ, CACHE_DIR_ENV: str(cache_dir)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.Popen([sys.executable, "-c", CHILD], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def child_report(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out)


def run_child(cache_dir: Path) -> dict:
    return child_report(start_child(cache_dir))


def test_second_process_loads_the_formula_from_disk(tmp_path):
    cold = run_child(tmp_path)
    assert cold["stats"] == {"derived": 1, "loaded_from_disk": 0}
    [cached] = tmp_path.glob("rnn-N1-T2-D1-H2-*.py")

    warm = run_child(tmp_path)
    assert warm["stats"] == {"derived": 0, "loaded_from_disk": 1}
    assert warm["grads"] == cold["grads"]  # the same code, so bit-for-bit equal

    # A damaged file is not trusted: derived again, and replaced by a good one.
    cached.write_text(cached.read_text()[:-40])
    repaired = run_child(tmp_path)
    assert repaired["stats"] == {"derived": 1, "loaded_from_disk": 0}
    assert repaired["grads"] == cold["grads"]
    assert run_child(tmp_path)["stats"] == {"derived": 0, "loaded_from_disk": 1}


def test_concurrent_cold_processes_derive_once(tmp_path):
    # Two workers needing the same formula at once: one derives it under the lock, the
    # other waits and loads the file. No temporary files are left behind.
    children = [start_child(tmp_path) for _ in range(2)]
    reports = [child_report(child) for child in children]
    assert sorted(r["stats"]["derived"] for r in reports) == [0, 1]
    assert sorted(r["stats"]["loaded_from_disk"] for r in reports) == [0, 1]
    assert reports[0]["grads"] == reports[1]["grads"]
    assert list(tmp_path.glob("*.tmp")) == []
    assert run_child(tmp_path)["stats"] == {"derived": 0, "loaded_from_disk": 1}
