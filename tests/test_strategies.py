"""Self-tests of checks/strategies.py: every strategy generates what its docstring says,
and refuses bad arguments when it is built.

``can_generate`` checks that something *can* be generated (Hypothesis searches for it),
the ``@given`` tests check that everything generated is within bounds.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import re

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from checks import gradcheck, strategies
from checks.gradcheck import probe_seeds
from checks.strategies import (
    SATURATION_GAIN,
    BiRNNProblem,
    ClassifierProblem,
    Dims,
    RNNProblem,
    SeriesLayout,
    binary_labels,
    birnn_problems,
    classifier_problems,
    dims,
    float_arrays,
    gradient_dicts,
    long_rnn_problems,
    max_norms,
    rnn_parameters,
    rnn_problem_from_seed,
    rnn_problems,
    series_layouts,
    truncation_windows,
)


def can_generate(strategy: st.SearchStrategy, condition) -> None:
    """Fail unless Hypothesis generates an example satisfying condition within 500 tries.

    Only the generate phase runs: the example is not shrunk (shrinking hundreds of
    floats takes a minute and tells us nothing here)."""
    find(
        strategy,
        condition,
        settings=settings(
            max_examples=500, phases=[Phase.generate], derandomize=True, database=None
        ),
    )


def within(a: np.ndarray, bound: float) -> bool:
    return bool(np.all(np.abs(a) <= bound * (1 + 1e-12)))


def pre_activations(p: RNNProblem) -> np.ndarray:
    """Every a_t = x_t·Wx + h_{t-1}·Wh + b of the problem's forward pass."""
    h, a_all = p.h0, []
    for t in range(p.x.shape[1]):
        a = p.x[:, t, :] @ p.Wx + h @ p.Wh + p.b
        h = np.tanh(a)
        a_all.append(a)
    return np.stack(a_all, axis=1)


def check_rnn_problem(p: RNNProblem, saturated: bool = False) -> None:
    N, T, D, H = p.dims
    gain = SATURATION_GAIN if saturated else 1.0
    shapes = dict(x=(N, T, D), h0=(N, H), Wx=(D, H), Wh=(H, H), b=(H,), dh=(N, T, H))
    for name, shape in shapes.items():
        value = getattr(p, name)
        assert isinstance(value, np.ndarray) and value.dtype == np.float64, name
        assert value.shape == shape, name
        assert np.all(np.isfinite(value)), name
    assert within(p.x, 1) and within(p.h0, 1) and within(p.dh, 1)
    assert within(p.Wx, gain / math.sqrt(D)) and within(p.Wh, gain / math.sqrt(H))
    assert within(p.b, 0.5 * gain)


# --------------------------------------------------------------------------- dims


@given(d=dims(max_n=3, max_t=5, max_d=4, max_h=6, min_t=2))
def test_dims_are_within_bounds(d):
    assert isinstance(d, Dims)
    assert 1 <= d.N <= 3 and 2 <= d.T <= 5 and 1 <= d.D <= 4 and 1 <= d.H <= 6


def test_dims_produce_square_and_non_square_problems():
    can_generate(dims(), lambda d: d.D == d.H)
    can_generate(dims(), lambda d: d.D != d.H)


# --------------------------------------------------------------------------- float_arrays


@given(
    shape=st.sampled_from([(), (3,), (2, 3), (2, 1, 4)]),
    scale=st.sampled_from([1.0, 1e-3, 7.5]),
    data=st.data(),
)
def test_float_arrays_shape_dtype_and_range(shape, scale, data):
    a = data.draw(float_arrays(shape, scale))
    assert isinstance(a, np.ndarray) and a.shape == shape and a.dtype == np.float64
    assert np.all(np.isfinite(a)) and within(a, scale)


def test_float_arrays_produce_non_symmetric_matrices():
    # fill=st.nothing(): elements are drawn one by one, so asymmetric matrices with
    # all-distinct entries are easy to find.
    can_generate(float_arrays((3, 3)), lambda a: len(np.unique(a)) == 9 and not np.allclose(a, a.T))


# --------------------------------------------------------------------------- RNN problems


@given(p=rnn_problems())
def test_rnn_problems_shapes_and_scales(p):
    assert isinstance(p, RNNProblem)
    check_rnn_problem(p)
    assert p.dims.N <= 4 and p.dims.T <= 12 and p.dims.D <= 6 and p.dims.H <= 6


@given(p=rnn_problems())
def test_rnn_problems_keep_tanh_unsaturated(p):
    # |a| <= D·1/sqrt(D) + H·1/sqrt(H) + 0.5 <= sqrt(6) + sqrt(6) + 0.5 < 5.5
    assert np.max(np.abs(pre_activations(p)), initial=0) < 5.5


@given(p=rnn_problems(saturated=True))
def test_saturated_problems_shapes_and_scales(p):
    check_rnn_problem(p, saturated=True)


def test_saturated_problems_reach_large_pre_activations():
    can_generate(rnn_problems(saturated=True), lambda p: np.max(np.abs(pre_activations(p))) > 1e2)


@pytest.mark.parametrize("saturated", [False, True])
def test_rnn_problem_from_seed_is_deterministic_and_in_range(saturated):
    d = Dims(N=2, T=5, D=3, H=4)
    global_state = np.random.get_state()
    p = rnn_problem_from_seed(d, seed=7, saturated=saturated)
    q = rnn_problem_from_seed(d, seed=7, saturated=saturated)
    r = rnn_problem_from_seed(d, seed=8, saturated=saturated)
    after = np.random.get_state()
    assert global_state[0] == after[0] and np.array_equal(global_state[1], after[1])
    for a, b in zip(p, q):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(p.x, r.x)
    assert p.dims == d
    check_rnn_problem(p, saturated)


def test_degenerate_problem_from_seed():
    p = rnn_problem_from_seed(Dims(1, 1, 1, 1), seed=0)
    check_rnn_problem(p)
    assert p.dims == Dims(1, 1, 1, 1)


@given(p=long_rnn_problems(min_t=50, max_t=80))
def test_long_rnn_problems(p):
    check_rnn_problem(p)
    assert 50 <= p.dims.T <= 80 and p.dims.N <= 2 and p.dims.D <= 3 and p.dims.H <= 3


@settings(max_examples=5)
@given(p=long_rnn_problems())
def test_long_rnn_problems_default_length(p):
    assert 200 <= p.dims.T <= 400


@given(T=st.integers(2, 40), data=st.data())
def test_truncation_windows_do_not_divide_T(T, data):
    window = data.draw(truncation_windows(T))
    assert 1 <= window <= T - 1
    if T >= 3:  # T - 1 never divides T >= 3, so a non-divisor exists
        assert T % window != 0




# --------------------------------------------------------------------------- BiRNN


@given(p=birnn_problems())
def test_birnn_problems_shapes_and_scales(p):
    assert isinstance(p, BiRNNProblem)
    N, T, D, H = p.dims
    for direction in ("f", "b"):
        params = (getattr(p, f"{name}_{direction}") for name in ("h0", "Wx", "Wh", "b"))
        one_way = RNNProblem(p.x, *params, p.dh[..., :H])
        check_rnn_problem(one_way)
    assert p.dh.shape == (N, T, 2 * H) and within(p.dh, 1)


def test_birnn_directions_have_independent_parameters():
    can_generate(birnn_problems(), lambda p: not np.array_equal(p.Wx_f, p.Wx_b))


# --------------------------------------------------------------------------- classifier


def logits(p: ClassifierProblem) -> np.ndarray:
    h = p.h0
    for t in range(p.x.shape[1]):
        h = np.tanh(p.x[:, t, :] @ p.Wx + h @ p.Wh + p.b)
    return h @ p.W2 + p.b2


@given(p=classifier_problems())
def test_classifier_problems_shapes_and_labels(p):
    assert isinstance(p, ClassifierProblem)
    N, T, D, H = p.dims
    assert T >= 1
    assert p.y.shape == (N,) and p.y.dtype == np.float64 and set(np.unique(p.y)) <= {0.0, 1.0}
    assert p.W2.shape == (H,) and p.b2.shape == (1,)
    assert within(p.W2, 1 / math.sqrt(H)) and within(p.b2, 0.5)


def test_classifier_problems_have_both_labels():
    can_generate(classifier_problems(), lambda p: set(np.unique(p.y)) == {0.0, 1.0})


def test_logit_scale_reaches_logits_in_the_thousands():
    can_generate(classifier_problems(logit_scale=1e3), lambda p: np.max(np.abs(logits(p))) > 1e3)


# --------------------------------------------------------------------------- clipping


@given(grads=gradient_dicts(max_tensors=5))
def test_gradient_dicts(grads):
    assert 1 <= len(grads) <= 5
    for i, (name, g) in enumerate(grads.items()):
        assert isinstance(g, np.ndarray) and g.dtype == np.float64 and g.ndim <= 3
        assert name == f"{'W' if g.ndim >= 2 else 'b'}{i}"
        assert all(1 <= side <= 3 for side in g.shape)
        assert within(g, 1e6) and np.all(np.isfinite(g))


def test_gradient_dicts_mix_scales_and_ranks():
    def spread(grads):
        sizes = [np.max(np.abs(g)) for g in grads.values()]
        return min(sizes) > 0 and max(sizes) / min(sizes) > 1e6

    can_generate(gradient_dicts(), spread)
    can_generate(gradient_dicts(), lambda g: any(a.ndim == 1 for a in g.values()))
    can_generate(gradient_dicts(), lambda g: any(a.ndim == 3 for a in g.values()))


@given(m=max_norms())
def test_max_norms_are_positive_and_finite(m):
    assert isinstance(m, float) and 1e-6 <= m < 1e7


def test_max_norms_span_orders_of_magnitude():
    can_generate(max_norms(), lambda m: m < 1e-4)
    can_generate(max_norms(), lambda m: m > 1e5)


# --------------------------------------------------------------------------- batching


@given(layout=series_layouts())
def test_series_layouts(layout):
    assert isinstance(layout, SeriesLayout)
    series, batch_size, window = layout
    assert series.dtype == np.float64 and series.ndim in (1, 2)
    assert (series.shape[0] // batch_size) // window >= 1
    assert len(np.unique(series)) == series.size  # distinct values


def test_series_layouts_have_features_and_remainders():
    can_generate(series_layouts(), lambda s: s.series.ndim == 2 and s.series.shape[1] > 1)
    can_generate(series_layouts(), lambda s: s.series.shape[0] % s.batch_size != 0)
    can_generate(series_layouts(), lambda s: (s.series.shape[0] // s.batch_size) % s.window != 0)


# --------------------------------------------------------------------------- argument checks
# A misused strategy must fail when it is built, i.e. when a check module is imported and its
# @given decorator runs, not at the first draw inside a check run (charged to the student). Each
# test below calls the strategy and nothing else: no example is ever drawn.

SIZES = ("max_n", "max_t", "max_d", "max_h", "min_t")
NOT_INTS = (2.5, np.float64(2.0), "3", None, True)
NOT_BOOLS = (1, 0, "yes", None, np.True_)
BAD_SCALES = (0.0, -1.0, math.nan, math.inf, -math.inf, True, "1", np.float64(0.0))
BAD_SHAPES = (-1, (2, -1), (2.0,), (True,), "3", [2, 3], None)

#: Arguments every strategy needs (its required ones), beside the one under test.
REQUIRED = {rnn_parameters: dict(N=2, D=2, H=2), binary_labels: dict(N=2),
            truncation_windows: dict(T=5), float_arrays: dict(shape=(2,))}
#: Each public strategy's size arguments and the least value each accepts.
SIZE_ARGUMENTS = {
    dims: dict.fromkeys(SIZES, 1),
    rnn_problems: dict.fromkeys(SIZES, 1),
    long_rnn_problems: dict.fromkeys(SIZES, 1),
    birnn_problems: dict.fromkeys(SIZES, 1),
    classifier_problems: dict.fromkeys(SIZES, 1),
    rnn_parameters: dict(N=1, D=1, H=1),
    binary_labels: dict(N=1),
    truncation_windows: dict(T=2),
    gradient_dicts: dict(max_tensors=1, min_tensors=1),
    series_layouts: dict.fromkeys(("max_batch", "max_window", "max_windows", "max_features"), 1),
}
RANGES = {strategy: ("min_t", "max_t") for strategy in
          (dims, rnn_problems, long_rnn_problems, birnn_problems, classifier_problems)}
RANGES[gradient_dicts] = ("min_tensors", "max_tensors")
FLAGS = {rnn_problems: "saturated", birnn_problems: "saturated", rnn_parameters: "saturated"}
SCALES = {float_arrays: "scale", classifier_problems: "logit_scale"}


def bad_call(strategy, name: str, value: object, **more: object):
    """One call of ``strategy`` with ``name=value``; the message must contain "name=value"."""
    arguments = {**REQUIRED.get(strategy, {}), **more, name: value}
    return pytest.param(strategy, arguments, f"{name}={value!r}", id=f"{strategy.__name__}({name}={value!r})")


def bad_calls():
    for strategy, sizes in SIZE_ARGUMENTS.items():
        for name, least in sizes.items():
            for value in (least - 1, -5, *NOT_INTS):
                yield bad_call(strategy, name, value)
    for strategy, (low, high) in RANGES.items():
        yield bad_call(strategy, high, 3, **{low: 4})
    for strategy, name in FLAGS.items():
        for value in NOT_BOOLS:
            yield bad_call(strategy, name, value)
    for strategy, name in SCALES.items():
        for value in BAD_SCALES:
            yield bad_call(strategy, name, value)
    for value in BAD_SHAPES:
        yield bad_call(float_arrays, "shape", value)


@pytest.mark.parametrize(("strategy", "arguments", "named"), list(bad_calls()))
def test_strategies_refuse_bad_arguments_when_built(strategy, arguments, named):
    with pytest.raises(InvalidArgument, match=re.escape(named)):
        strategy(**arguments)


BROKEN_CHECK = """\
from hypothesis import given
from checks.strategies import rnn_problems

@given(p=rnn_problems(max_n=0))
def check(sub, p):
    pass
"""


def test_a_misused_strategy_fails_when_its_check_module_is_imported(tmp_path):
    path = tmp_path / "broken_check.py"
    path.write_text(BROKEN_CHECK)
    spec = importlib.util.spec_from_file_location("broken_check", path)
    with pytest.raises(InvalidArgument, match="max_n=0") as raised:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    # The traceback runs through the check's own line, so the error can name it.
    assert any(entry.path == path and entry.lineno + 1 == 4 for entry in raised.traceback)


#: Valid calls at the edges of what is accepted (the least sizes, numpy numbers, empty arrays).
VALID_CALLS = [
    (dims, dict(max_n=1, max_t=3, max_d=1, max_h=1, min_t=3)),
    (dims, dict(max_n=np.int64(2), max_t=np.int32(2))),
    (float_arrays, dict(shape=())),
    (float_arrays, dict(shape=(0, 3), scale=np.float64(1e-3))),
    (float_arrays, dict(shape=np.int64(2), scale=7)),
    (rnn_parameters, dict(N=1, D=1, H=1, saturated=True)),
    (rnn_problems, dict(max_n=1, max_t=1, max_d=1, max_h=1, saturated=True)),
    (long_rnn_problems, dict(min_t=3, max_t=3)),
    (truncation_windows, dict(T=2)),
    (birnn_problems, dict(max_n=1, max_t=2, min_t=2, saturated=True)),
    (binary_labels, dict(N=1)),
    (classifier_problems, dict(logit_scale=None)),
    (classifier_problems, dict(max_t=1, logit_scale=np.float64(1e3))),
    (gradient_dicts, dict(max_tensors=2, min_tensors=2)),
    (max_norms, {}),
    (series_layouts, dict(max_batch=1, max_window=1, max_windows=1, max_features=1)),
    (probe_seeds, {}),
]


@pytest.mark.parametrize(("strategy", "arguments"), VALID_CALLS,
                         ids=[f"{s.__name__}{sorted(a.items())}" for s, a in VALID_CALLS])
def test_valid_arguments_build_and_draw(strategy, arguments):
    can_generate(strategy(**arguments), lambda _: True)


def public_strategies(module) -> set:
    """Functions of ``module`` that say they return a SearchStrategy."""
    return {f for name, f in vars(module).items() if inspect.isfunction(f) and not name.startswith("_")
            and f.__module__ == module.__name__
            and str(inspect.signature(f).return_annotation).startswith("st.SearchStrategy")}


def test_every_public_strategy_is_tested():
    public = public_strategies(strategies) | public_strategies(gradcheck)
    assert public == {strategy for strategy, _ in VALID_CALLS}
    assert public - {max_norms, probe_seeds} == set(SIZE_ARGUMENTS) | set(SCALES)  # both take no arguments
