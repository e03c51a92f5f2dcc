"""Self-tests of checks/finite_differences.py against functions with known derivatives."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checks.strategies import float_arrays
from checks.finite_differences import (
    central_difference,
    difference_quotient,
    numerical_gradient,
    perturbed_pair,
)

U = np.finfo(np.float64).eps / 2  # unit roundoff

small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)


@st.composite
def points_and_directions(draw):
    shape = draw(small_shapes)
    return draw(float_arrays(shape)), draw(float_arrays(shape))


def read_only(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.flags.writeable = False  # an in-place write raises ValueError
    return a


@given(theta=float_arrays((2, 3)), eps=st.sampled_from([1e-3, 1e-6]))
def test_quadratic_has_no_truncation_error(theta, eps):
    # The eps² term involves f''', which is 0 for a quadratic: only rounding is left,
    # about u·|f|/eps.
    A = np.arange(36.0).reshape(6, 6) / 36
    A = A + A.T
    bias = np.linspace(-1, 1, 6)

    def f(t):
        v = t.ravel()
        return float(0.5 * v @ A @ v + bias @ v)

    expected = (A @ theta.ravel() + bias).reshape(theta.shape)
    rounding = 100 * U * (1 + abs(f(theta))) / eps
    np.testing.assert_allclose(numerical_gradient(f, theta, eps), expected, rtol=0, atol=rounding)


@given(x=float_arrays((5,)), eps=st.sampled_from([1e-2, 1e-3]))
def test_cubic_truncation_error_is_eps_squared(x, eps):
    # For f(x) = Σ x³: (f(x + eps·e_i) - f(x - eps·e_i)) / (2 eps) = 3x_i² + eps² exactly.
    # A forward difference or a wrong denominator would be off by O(eps) or by 2×.
    def f(t):
        return float(np.sum(t**3))

    error = numerical_gradient(f, x, eps) - 3 * x**2
    np.testing.assert_allclose(error, eps**2, rtol=1e-4)


@given(pd=points_and_directions())
def test_directional_derivative_of_a_smooth_function(pd):
    theta, d = pd

    def f(t):
        return float(np.sum(np.sin(t)))

    exact = float(np.sum(np.cos(theta) * d))
    # truncation eps²/6·|f'''| (|sin'''| <= 1 per coordinate) plus rounding u·|f|/eps
    eps = 1e-6
    size = max(theta.size, 1)
    bound = eps**2 / 6 * np.sum(np.abs(d) ** 3) + 10 * U * size / eps
    assert abs(central_difference(f, theta, d, eps) - exact) <= bound


@given(pd=points_and_directions(), eps=st.sampled_from([1e-4, 1e-6]))
def test_central_difference_is_perturbed_pair_then_quotient(pd, eps):
    theta, d = pd

    def f(t):
        return float(np.sum(np.exp(t) * np.arange(1, t.size + 1).reshape(t.shape)))

    plus, minus = perturbed_pair(theta, d, eps)
    assert central_difference(f, theta, d, eps) == difference_quotient(f(plus), f(minus), eps)


@given(pd=points_and_directions(), eps=st.sampled_from([1e-4, 1e-6]))
def test_perturbed_pair_leaves_theta_alone_and_returns_new_arrays(pd, eps):
    theta, d = pd
    frozen = read_only(theta)
    plus, minus = perturbed_pair(frozen, d, eps)
    np.testing.assert_array_equal(plus, theta + eps * d, strict=True)
    np.testing.assert_array_equal(minus, theta - eps * d, strict=True)
    assert not np.shares_memory(plus, frozen) and not np.shares_memory(minus, frozen)


def test_difference_quotient_formula():
    assert difference_quotient(3.0, 1.0, 0.5) == 2.0
    assert difference_quotient(1.0, 3.0, 1e-6) == -1e6


@given(x=small_shapes.flatmap(float_arrays))
def test_numerical_gradient_shape_dtype_and_purity(x):
    frozen = read_only(x)
    grad = numerical_gradient(lambda t: float(np.sum(t**2)), frozen)
    assert isinstance(grad, np.ndarray)
    assert grad.shape == x.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, 2 * x, rtol=0, atol=1e-8)
