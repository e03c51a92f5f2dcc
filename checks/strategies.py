"""Hypothesis strategies for RNN grading problems, in the style of hypothesis.extra.numpy.

Small composable pieces: ``dims`` draws sizes, ``float_arrays`` draws one array,
``rnn_parameters`` one RNN's (h0, Wx, Wh, b), and the ``*_problems`` strategies put
them together into complete inputs for one contract function. Every array is float64.

Value scales are chosen so that bugs show:

- x, h0, dh have entries in [-1, 1]; Wx in [-1, 1]/sqrt(D), Wh in [-1, 1]/sqrt(H),
  b in [-0.5, 0.5]. Pre-activations then stay O(1), where tanh is *not* saturated:
  with saturated units 1 - h² ≈ 0 and almost every gradient bug is multiplied by zero.
- ``saturated=True`` multiplies weights and bias by SATURATION_GAIN = 1e3, so that
  pre-activations reach magnitudes ~1e2 … 1e3 (tests overflow / NaN robustness, not
  gradient values).
- D = H and D ≠ H both occur, so a transposed Wx (D, H) / Wh (H, H) mix-up, which is
  invisible when D = H, is caught.

Two ways to make values:

- ``float_arrays`` draws every element through Hypothesis (``hnp.arrays`` with
  ``fill=st.nothing()``), so Hypothesis explores and shrinks the values themselves
  (0, ±1, tiny numbers). It costs one choice per element: Hypothesis's per-example
  budget is about 8 KiB of choices, i.e. ~1000 floats.
- The ``*_problems`` strategies draw one seed (``SEEDS``) and make every value of a
  problem with NumPy's ``default_rng(seed)``; Hypothesis then shrinks only the sizes.
  That is what makes a full grade run fast enough. ``long_rnn_problems`` and
  ``rnn_problem_from_seed`` do the same for sequences of hundreds of steps.

Simple values (``with simple_values():``, read at draw time: strategies are built at import and
drawn later). In the block the same strategies, at the same sizes, draw every value through
Hypothesis instead of from a seed, so that its shrinker simplifies values as well as sizes (the
runner's search for the simplest failing example of a failing check, ``checks.engine.run.runner``):

- x, h0, Wx, Wh, dh and the head W2 have entries in {-1, -0.5, 0, 0.5, 1} (``HALVES``), b and b2
  in {-0.5, 0, 0.5}; a drawn entry shrinks towards 0, then ±0.5, then ±1. The 1/sqrt(D),
  1/sqrt(H) scales are left out (they would make the halves unreadable; at the small sizes shrinking
  reaches, pre-activations stay within a few units). ``saturated=True`` still multiplies
  weights and bias by SATURATION_GAIN, and a ``logit_scale`` still scales W2 and b2.
- y is drawn entry by entry from {0, 1}; gradient_dicts' tensors are halves times the tensor's own
  10**k (k shrinks towards 0); max_norms are m·10**k with m in {1, 1.5, …, 9.5}.
- Arrays of at most ``SIMPLE_DRAWN_LIMIT`` = 64 entries have every entry drawn; larger ones (a
  long sequence) draw one fill value and a few entries (``hnp.arrays`` with a ``fill``), to stay
  within Hypothesis's per-example choice budget.
- series_layouts' values are 0, 1, 2, … in both modes.
- ``simple_values(max_size)`` also caps every size at max_size (the strategy's own minimum if larger:
  T >= 2 stays T >= 2), so a search can try the smallest sizes first.

Every strategy checks its arguments when it is built, as ``hypothesis.extra.numpy`` does, and
raises ``hypothesis.errors.InvalidArgument`` naming the bad argument and value. Strategies are
built when a check module is imported (``@given(p=rnn_problems(max_n=0))``), so a misuse is an
error of the check at load time, never a failure inside a check run charged to the student.
"""

from __future__ import annotations

import functools
import math
from contextlib import contextmanager
from numbers import Integral, Real
from typing import Iterator, NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

#: Multiplier of weights and biases for saturated problems.
SATURATION_GAIN = 1e3

Shape = int | tuple[int, ...]


# --------------------------------------------------------------------------- argument checks
# Hypothesis's own helpers (check_type, check_valid_size, ...) live in hypothesis.internal, which
# is not public API; these are the few this module needs, with messages in the same style.
# Each strategy below is a plain function that runs these checks eagerly and then returns a
# private composite: calling an @st.composite function only builds a lazy strategy, whose body
# (and so any check inside it) runs at the first draw.


def _check_int(value: object, name: str, minimum: int) -> None:
    """``value`` must be an int (numpy integers too, bools not) >= minimum."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InvalidArgument(f"{name} must be an int, but got {name}={value!r} "
                              f"(type {type(value).__name__})")
    if value < minimum:
        raise InvalidArgument(f"{name} must be at least {minimum}, but got {name}={value!r}")


def _check_order(low: int, high: int, low_name: str, high_name: str) -> None:
    """low <= high, for the two ends of a size range."""
    if high < low:
        raise InvalidArgument(f"{high_name} must be at least {low_name}, but got "
                              f"{low_name}={low!r} > {high_name}={high!r}")


def _check_bool(value: object, name: str) -> None:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name} must be True or False, but got {name}={value!r} "
                              f"(type {type(value).__name__})")


def _check_scale(value: object, name: str) -> None:
    """``value`` must be a finite real number > 0 (numpy floats too, bools not)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidArgument(f"{name} must be a real number, but got {name}={value!r} "
                              f"(type {type(value).__name__})")
    if not (math.isfinite(value) and value > 0):
        raise InvalidArgument(f"{name} must be finite and > 0, but got {name}={value!r}")


def _checked_shape(shape: object) -> tuple[int, ...]:
    """``shape`` as a tuple of ints; it must be an int >= 0 or a tuple of them (numpy integers
    too, which ``hnp.arrays`` itself does not take)."""
    sides = shape if isinstance(shape, tuple) else (shape,)
    if not all(isinstance(side, Integral) and not isinstance(side, bool) and side >= 0 for side in sides):
        raise InvalidArgument(f"shape must be an int >= 0 or a tuple of them, but got shape={shape!r}")
    return tuple(int(side) for side in sides)


# --------------------------------------------------------------------------- simple values

#: Entries of simple-value arrays: halves in [-1, 1], shrinking towards 0 (integers k/2).
HALVES = st.integers(-2, 2).map(lambda k: k / 2)
SIMPLE_DRAWN_LIMIT = 64
_simple: list[int | None] = [None]  # the size cap while in simple-value mode, else None


@contextmanager
def simple_values(max_size: int = 6) -> Iterator[None]:
    """In the block, every strategy of this module draws its values through Hypothesis from halves
    (see the module docstring) instead of from one seed, and every size (N, T, D, H, tensor sides
    and counts, batch, window) is at most ``max_size`` (or the strategy's own minimum if larger)."""
    _check_int(max_size, "max_size", minimum=1)
    previous, _simple[0] = _simple[0], max_size
    try:
        yield
    finally:
        _simple[0] = previous


def in_simple_mode() -> bool:
    return _simple[0] is not None


def _capped(high: int, low: int = 1) -> int:
    """``high``, or in simple-value mode at most the mode's size cap (never below ``low``)."""
    return high if _simple[0] is None else max(low, min(high, _simple[0]))


def _simple_array(draw: st.DrawFn, shape: Shape, scale: float = 1.0) -> np.ndarray:
    """float64 array of halves in [-1, 1] times ``scale``, drawn entry by entry (a fill for large ones)."""
    shape = shape if isinstance(shape, tuple) else (shape,)
    return np.asarray(draw(_halves_arrays(shape)) * scale, dtype=np.float64)


@functools.lru_cache(maxsize=None)
def _halves_arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """The strategy of ``_simple_array``'s arrays of ``shape``: one object per shape, built once. A search for
    a simple example draws thousands of arrays, and a new strategy object each time was validated and had its
    properties computed again, for the very same draws (about a tenth of a search's time, under a profiler)."""
    fill = st.nothing() if math.prod(shape) <= SIMPLE_DRAWN_LIMIT else HALVES
    return hnp.arrays(np.float64, shape, elements=HALVES, fill=fill)


class _Values:
    """Where a problem's values come from: a seeded generator, or Hypothesis (simple-value mode)."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.rng = None if in_simple_mode() else np.random.default_rng(draw(SEEDS))

    def uniform(self, shape: Shape, scale: float = 1.0, simple_scale: float = 1.0) -> np.ndarray:
        """Uniform in [-scale, scale) from the seed; halves times ``simple_scale`` in simple mode."""
        if self.rng is None:
            return _simple_array(self.draw, shape, simple_scale)
        return _uniform(self.rng, shape, scale)

    def bias(self, shape: Shape, scale: float, gain: float = 1.0) -> np.ndarray:
        """Uniform in [-scale, scale); {-0.5, 0, 0.5}·gain in simple mode."""
        if self.rng is None:
            return np.clip(_simple_array(self.draw, shape), -0.5, 0.5) * gain
        return _uniform(self.rng, shape, scale)

    def parameters(self, N: int, D: int, H: int, saturated: bool) -> "RNNParameters":
        if self.rng is not None:
            return parameters_from(self.rng, N, D, H, saturated)
        gain = SATURATION_GAIN if saturated else 1.0
        return RNNParameters(self.uniform((N, H)), self.uniform((D, H), simple_scale=gain),
                             self.uniform((H, H), simple_scale=gain), self.bias((H,), 0.5, gain))


# --------------------------------------------------------------------------- sizes


class Dims(NamedTuple):
    """Sizes of an RNN problem: N batch, T steps, D input features, H hidden units."""

    N: int
    T: int
    D: int
    H: int


def dims(
    max_n: int = 4,
    max_t: int = 12,
    max_d: int = 6,
    max_h: int = 6,
    min_t: int = 1,
) -> st.SearchStrategy[Dims]:
    """Draw Dims with 1 <= N <= max_n, min_t <= T <= max_t, 1 <= D <= max_d,
    1 <= H <= max_h.

    A boolean ``square`` is drawn first: when True, D = H (drawn up to
    min(max_d, max_h)); otherwise D and H are drawn independently. So both D = H and
    D ≠ H appear regularly, rather than D = H only by coincidence.

    Raises InvalidArgument unless every argument is an int >= 1 and min_t <= max_t: every
    problem has at least one example, step, input feature and hidden unit.
    """
    for name, value in dict(max_n=max_n, max_t=max_t, max_d=max_d, max_h=max_h, min_t=min_t).items():
        _check_int(value, name, minimum=1)
    _check_order(min_t, max_t, "min_t", "max_t")
    return _dims(max_n, max_t, max_d, max_h, min_t)


@st.composite
def _dims(draw: st.DrawFn, max_n: int, max_t: int, max_d: int, max_h: int, min_t: int) -> Dims:
    max_n, max_t, max_d, max_h = _capped(max_n), _capped(max_t, min_t), _capped(max_d), _capped(max_h)
    square = draw(st.booleans())
    N = draw(st.integers(1, max_n))
    T = draw(st.integers(min_t, max_t))
    if square:
        D = H = draw(st.integers(1, min(max_d, max_h)))
    else:
        D = draw(st.integers(1, max_d))
        H = draw(st.integers(1, max_h))
    return Dims(N, T, D, H)


# --------------------------------------------------------------------------- arrays


def float_arrays(shape: Shape, scale: float = 1.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of the given shape, each element drawn individually from
    [-1, 1] (no NaN, no inf, no subnormals) and then multiplied by ``scale``.

    The result is always an ndarray, also for shape ().

    Raises InvalidArgument unless shape is an int >= 0 or a tuple of them, and scale is
    finite and > 0.
    """
    shape = _checked_shape(shape)
    _check_scale(scale, "scale")
    # fill=st.nothing() makes Hypothesis draw every element. Its default "fill"
    # optimisation repeats one value over most of the array, which produces constant
    # and symmetric matrices: a transposed Wh or a swapped index is then invisible.
    unit = hnp.arrays(
        np.float64,
        shape,
        elements=st.floats(-1, 1, allow_subnormal=False),
        fill=st.nothing(),
    )
    # np.asarray: a 0-d array times a float is a NumPy scalar, not an array.
    return unit.map(lambda a: np.asarray(a * scale))


#: Seeds for numpy's default_rng. One shared strategy object: Hypothesis computes a
#: strategy's properties once per object, so building one per draw would cost ~1 ms each.
SEEDS = st.integers(0, 2**32 - 1)


def rnn_scales(D: int, H: int, saturated: bool = False) -> tuple[float, float, float]:
    """(Wx scale, Wh scale, b scale): 1/sqrt(D), 1/sqrt(H), 0.5, all times
    SATURATION_GAIN when saturated."""
    gain = SATURATION_GAIN if saturated else 1.0
    return gain / math.sqrt(D), gain / math.sqrt(H), 0.5 * gain


def rnn_parameters(
    N: int, D: int, H: int, saturated: bool = False
) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """One RNN's (h0, Wx, Wh, b): h0 (N, H) in [-1, 1], Wx (D, H), Wh (H, H) and
    b (H,) at the scales of ``rnn_scales(D, H, saturated)``.

    Raises InvalidArgument unless N, D and H are ints >= 1 and saturated is a bool."""
    for name, value in dict(N=N, D=D, H=H).items():
        _check_int(value, name, minimum=1)
    _check_bool(saturated, "saturated")
    return _rnn_parameters(N, D, H, saturated)


class RNNParameters(NamedTuple):
    """One RNN's initial state and parameters: h0 (N, H), Wx (D, H), Wh (H, H), b (H,)."""

    h0: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    b: np.ndarray


@st.composite
def _rnn_parameters(draw: st.DrawFn, N: int, D: int, H: int, saturated: bool) -> RNNParameters:
    return _Values(draw).parameters(N, D, H, saturated)


def parameters_from(
    rng: np.random.Generator, N: int, D: int, H: int, saturated: bool = False
) -> RNNParameters:
    """``rnn_parameters``' distribution, from an existing generator."""
    wx_scale, wh_scale, b_scale = rnn_scales(D, H, saturated)
    return RNNParameters(_uniform(rng, (N, H)), _uniform(rng, (D, H), wx_scale), _uniform(rng, (H, H), wh_scale),
                         _uniform(rng, (H,), b_scale))


# --------------------------------------------------------------------------- RNN problems


class RNNProblem(NamedTuple):
    """Inputs of rnn_forward (x, h0, Wx, Wh, b) and an upstream gradient dh (N, T, H)."""

    x: np.ndarray
    h0: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    b: np.ndarray
    dh: np.ndarray

    @property
    def dims(self) -> Dims:
        N, T, D = self.x.shape
        return Dims(N, T, D, self.h0.shape[1])


def rnn_problems(
    max_n: int = 4,
    max_t: int = 12,
    max_d: int = 6,
    max_h: int = 6,
    min_t: int = 1,
    saturated: bool = False,
) -> st.SearchStrategy[RNNProblem]:
    """An RNNProblem with sizes from ``dims(max_n, max_t, max_d, max_h, min_t)`` and
    values from ``rnn_problem_from_seed`` with a drawn seed: x (N, T, D) and h0 (N, H) in [-1, 1];
    Wx in [-1, 1]/sqrt(D), Wh in [-1, 1]/sqrt(H), b in [-0.5, 0.5] (times 1e3 if
    saturated); dh (N, T, H) in [-1, 1].

    Raises InvalidArgument for sizes that ``dims`` refuses, or a saturated that is not a bool."""
    _check_bool(saturated, "saturated")
    return _rnn_problems(dims(max_n, max_t, max_d, max_h, min_t), saturated)


@st.composite
def _rnn_problems(draw: st.DrawFn, sizes: st.SearchStrategy[Dims], saturated: bool) -> RNNProblem:
    if not in_simple_mode():
        return rnn_problem_from_seed(draw(sizes), draw(SEEDS), saturated)
    N, T, D, H = draw(sizes)
    values = _Values(draw)
    x = values.uniform((N, T, D))
    return RNNProblem(x, *values.parameters(N, D, H, saturated), dh=values.uniform((N, T, H)))


def _uniform(rng: np.random.Generator, shape: Shape, scale: float = 1.0) -> np.ndarray:
    """float64 array of the given shape, uniform in [-scale, scale)."""
    return scale * rng.uniform(-1.0, 1.0, size=shape)


def rnn_problem_from_seed(dims: Dims, seed: int, saturated: bool = False) -> RNNProblem:
    """The distribution of ``rnn_problems`` (uniform instead of Hypothesis-chosen
    values) for fixed sizes, made by ``np.random.default_rng(seed)``: the same seed
    gives the same problem, and numpy's global random state is never used.

    For explicit examples (e.g. the degenerate N = D = H = T = 1) and for sequences
    too long to draw element by element.
    """
    N, T, D, H = dims
    rng = np.random.default_rng(seed)
    x = _uniform(rng, (N, T, D))
    h0, Wx, Wh, b = parameters_from(rng, N, D, H, saturated)
    return RNNProblem(x, h0, Wx, Wh, b, dh=_uniform(rng, (N, T, H)))


def long_rnn_problems(
    min_t: int = 200,
    max_t: int = 400,
    max_n: int = 2,
    max_d: int = 3,
    max_h: int = 3,
) -> st.SearchStrategy[RNNProblem]:
    """An RNNProblem with min_t <= T <= max_t (hundreds of steps). Hypothesis draws
    only the sizes and a seed; the values come from ``rnn_problem_from_seed``, because
    drawing thousands of floats one by one overruns Hypothesis's per-example buffer.
    It is ``rnn_problems`` with other default sizes.

    Raises InvalidArgument for sizes that ``dims`` refuses."""
    return _rnn_problems(dims(max_n, max_t, max_d, max_h, min_t), saturated=False)


def truncation_windows(T: int) -> st.SearchStrategy[int]:
    """Truncation windows 1 <= window <= T-1 for a sequence of T >= 2 steps that do
    NOT divide T, so that the last window is shorter than the others. Only T = 2 has
    no such window (1 divides every T); there it gives window = 1.

    Raises InvalidArgument unless T is an int >= 2 (a window shorter than the sequence)."""
    _check_int(T, "T", minimum=2)
    non_divisors = [w for w in range(1, T) if T % w != 0]
    return st.sampled_from(non_divisors or list(range(1, T)))


# --------------------------------------------------------------------------- bidirectional


class BiRNNProblem(NamedTuple):
    """Inputs of birnn_forward and an upstream gradient dh of shape (N, T, 2H)."""

    x: np.ndarray
    h0_f: np.ndarray
    Wx_f: np.ndarray
    Wh_f: np.ndarray
    b_f: np.ndarray
    h0_b: np.ndarray
    Wx_b: np.ndarray
    Wh_b: np.ndarray
    b_b: np.ndarray
    dh: np.ndarray

    @property
    def dims(self) -> Dims:
        N, T, D = self.x.shape
        return Dims(N, T, D, self.h0_f.shape[1])


def birnn_problems(
    max_n: int = 3,
    max_t: int = 8,
    max_d: int = 5,
    max_h: int = 5,
    min_t: int = 1,
    saturated: bool = False,
) -> st.SearchStrategy[BiRNNProblem]:
    """A BiRNNProblem with sizes from ``dims(max_n, max_t, max_d, max_h, min_t)``:
    x (N, T, D) in [-1, 1]; two independent parameter sets, each as in
    ``rnn_parameters``; dh (N, T, 2H) in [-1, 1].

    The default sizes are smaller than rnn_problems': two directions and a (N, T, 2H)
    gradient cost twice as much per example.

    Raises InvalidArgument for sizes that ``dims`` refuses, or a saturated that is not a bool.
    """
    _check_bool(saturated, "saturated")
    return _birnn_problems(dims(max_n, max_t, max_d, max_h, min_t), saturated)


@st.composite
def _birnn_problems(draw: st.DrawFn, sizes: st.SearchStrategy[Dims], saturated: bool) -> BiRNNProblem:
    N, T, D, H = draw(sizes)
    values = _Values(draw)
    x = values.uniform((N, T, D))
    h0_f, Wx_f, Wh_f, b_f = values.parameters(N, D, H, saturated)
    h0_b, Wx_b, Wh_b, b_b = values.parameters(N, D, H, saturated)
    dh = values.uniform((N, T, 2 * H))
    return BiRNNProblem(x, h0_f, Wx_f, Wh_f, b_f, h0_b, Wx_b, Wh_b, b_b, dh)


# --------------------------------------------------------------------------- classifier


class ClassifierProblem(NamedTuple):
    """Inputs of rnn_classifier_loss: x (N, T, D), y (N,) in {0, 1}, h0, Wx, Wh, b,
    W2 (H,), b2 (1,)."""

    x: np.ndarray
    y: np.ndarray
    h0: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    b: np.ndarray
    W2: np.ndarray
    b2: np.ndarray

    @property
    def dims(self) -> Dims:
        N, T, D = self.x.shape
        return Dims(N, T, D, self.h0.shape[1])


def binary_labels(N: int) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of shape (N,) with every entry 0.0 or 1.0.

    Raises InvalidArgument unless N is an int >= 1."""
    _check_int(N, "N", minimum=1)
    return hnp.arrays(np.float64, (N,), elements=st.sampled_from([0.0, 1.0]), fill=st.nothing())


def classifier_problems(
    max_n: int = 4,
    max_t: int = 8,
    max_d: int = 5,
    max_h: int = 5,
    min_t: int = 1,
    logit_scale: float | None = None,
) -> st.SearchStrategy[ClassifierProblem]:
    """A ClassifierProblem with sizes from ``dims(max_n, max_t, max_d, max_h, min_t)``
    (min_t >= 1: the head reads h_T). x, h0, Wx, Wh, b as in rnn_problems, y in {0, 1}.

    By default W2 is in [-1, 1]/sqrt(H) and b2 in [-0.5, 0.5], so the logits z are O(1).
    With a logit_scale s (e.g. 1e3), W2 and b2 are in [-s, s]: since |h_T| < 1,
    |z| < s·(H + 1) and typically reaches the hundreds to thousands for s = 1e3, where
    a naive log(sigmoid(z)) gives log(0).

    Raises InvalidArgument for sizes that ``dims`` refuses, or a logit_scale that is neither
    None nor finite and > 0.
    """
    if logit_scale is not None:
        _check_scale(logit_scale, "logit_scale")
    return _classifier_problems(dims(max_n, max_t, max_d, max_h, min_t), logit_scale)


@st.composite
def _classifier_problems(
    draw: st.DrawFn, sizes: st.SearchStrategy[Dims], logit_scale: float | None
) -> ClassifierProblem:
    N, T, D, H = draw(sizes)
    values = _Values(draw)
    x = values.uniform((N, T, D))
    y = values.rng.integers(0, 2, size=N).astype(np.float64) if values.rng else draw(binary_labels(N))
    h0, Wx, Wh, b = values.parameters(N, D, H, saturated=False)
    W2_scale, b2_scale = (1 / math.sqrt(H), 0.5) if logit_scale is None else (logit_scale, logit_scale)
    gain = 1.0 if logit_scale is None else logit_scale
    W2 = values.uniform((H,), W2_scale, simple_scale=gain)
    b2 = values.bias((1,), b2_scale, gain) if logit_scale is None else values.uniform((1,), b2_scale, gain)
    return ClassifierProblem(x, y, h0, Wx, Wh, b, W2, b2)


# --------------------------------------------------------------------------- clipping


GRADIENT_SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)


def gradient_dicts(max_tensors: int = 4, min_tensors: int = 1) -> st.SearchStrategy[dict[str, np.ndarray]]:
    """dicts of min_tensors … max_tensors float64 arrays of 1 to 3 dimensions (each
    side 1 … 3), named "W<i>" (2 or more dimensions) or "b<i>" (1 dimension), i = 0, 1, ….

    Each tensor has entries in [-1, 1] times its own 10**k, k in -6 … 6, so one dict
    mixes very different magnitudes (a per-tensor instead of a global norm shows).

    Raises InvalidArgument unless both are ints >= 1 (a model has at least one parameter)
    and min_tensors <= max_tensors.
    """
    _check_int(max_tensors, "max_tensors", minimum=1)
    _check_int(min_tensors, "min_tensors", minimum=1)
    _check_order(min_tensors, max_tensors, "min_tensors", "max_tensors")
    return _gradient_dicts(max_tensors, min_tensors)


@st.composite
def _gradient_dicts(draw: st.DrawFn, max_tensors: int, min_tensors: int) -> dict[str, np.ndarray]:
    n = draw(st.integers(min_tensors, _capped(max_tensors, min_tensors)))
    values = _Values(draw)
    shapes = GRADIENT_SHAPES if values.rng else hnp.array_shapes(min_dims=1, max_dims=3, max_side=_capped(3))
    grads = {}
    for i in range(n):
        shape = draw(shapes)
        k = draw(st.integers(-6, 6))
        name = f"{'W' if len(shape) >= 2 else 'b'}{i}"
        grads[name] = values.uniform(shape, 10.0**k, simple_scale=10.0**k)
    return grads


def max_norms() -> st.SearchStrategy[float]:
    """Positive finite floats m·10**k with 1 <= m < 10 and k in -6 … 6, i.e. spread
    evenly over thirteen orders of magnitude (1e-6 … 1e7). It takes no arguments."""
    return _max_norms()


@st.composite
def _max_norms(draw: st.DrawFn) -> float:
    mantissa = draw(st.integers(2, 19)) / 2 if in_simple_mode() else draw(st.floats(1, 10, exclude_max=True))
    return mantissa * 10.0 ** draw(st.integers(-6, 6))


# --------------------------------------------------------------------------- batching


class SeriesLayout(NamedTuple):
    """Arguments of tbptt_batches: series (L, *features), batch_size, window."""

    series: np.ndarray
    batch_size: int
    window: int


def series_layouts(
    max_batch: int = 4,
    max_window: int = 6,
    max_windows: int = 5,
    max_features: int = 3,
) -> st.SearchStrategy[SeriesLayout]:
    """A SeriesLayout with 1 <= batch_size <= max_batch, 1 <= window <= max_window and
    a series long enough for 1 … max_windows windows per row, plus leftover steps at
    the end of each row (< window) and of the series (< batch_size) that must be
    dropped. The feature shape is () or (F,) with 1 <= F <= max_features.

    Values are 0, 1, 2, … in C order (float64), all distinct, so any misplaced
    element is visible and its value tells where it came from.

    Raises InvalidArgument unless every argument is an int >= 1.
    """
    for name, value in dict(max_batch=max_batch, max_window=max_window, max_windows=max_windows,
                            max_features=max_features).items():
        _check_int(value, name, minimum=1)
    return _series_layouts(max_batch, max_window, max_windows, max_features)


@st.composite
def _series_layouts(
    draw: st.DrawFn, max_batch: int, max_window: int, max_windows: int, max_features: int
) -> SeriesLayout:
    batch_size = draw(st.integers(1, _capped(max_batch)))
    window = draw(st.integers(1, _capped(max_window)))
    num_windows = draw(st.integers(1, _capped(max_windows)))
    row_leftover = draw(st.integers(0, window - 1))
    series_leftover = draw(st.integers(0, batch_size - 1))
    L = batch_size * (num_windows * window + row_leftover) + series_leftover
    features = (draw(st.integers(1, max_features)),) if draw(st.booleans()) else ()
    size = L * math.prod(features)
    series = np.arange(size, dtype=np.float64).reshape((L, *features))
    return SeriesLayout(series, batch_size, window)
