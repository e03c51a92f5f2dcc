"""Central finite differences in float64, for checking analytic gradients.

For a scalar function f of an array θ and a direction d, the central difference

    D_eps = (f(θ + eps·d) - f(θ - eps·d)) / (2·eps)

approximates the directional derivative ∇f(θ)·d. With d = e_i (the i-th unit
vector) it approximates ∂f/∂θ_i.

Error analysis (float64, unit roundoff u = 2**-53 ≈ 1.1e-16):

- Truncation. Taylor expansion around θ: the even terms cancel, so
      D_eps - ∇f·d = eps²/6 · f'''(θ)[d, d, d] + O(eps⁴),
  i.e. O(eps²). (For a cubic the eps² term is the whole error; for a quadratic
  the truncation error is exactly zero.)
- Rounding. f(θ ± eps·d) are each computed with an absolute error of about u·|f|
  (more if f sums many terms), and θ ± eps·d is itself rounded, so the difference
  of the two carries an absolute error of about u·|f|, which the division by 2·eps
  amplifies to O(u·|f| / eps).

The total, eps²·|f'''|/6 + u·|f|/eps, is smallest near eps ≈ (3u·|f|/|f'''|)^(1/3),
about 1e-5 … 1e-6 for well-scaled problems. With the default eps = 1e-6 and |f|, |f'''|
of order 1 the error is about 1e-10 absolute, so comparisons against analytic
gradients use a tolerance around 1e-6 relative, never 1e-12.

``perturbed_pair`` and ``difference_quotient`` split the formula in two, so that a
caller who evaluates f elsewhere (e.g. in a batch, in another process) uses exactly
the same perturbation and quotient.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ScalarFunction = Callable[[np.ndarray], float]


def perturbed_pair(
    theta: np.ndarray, direction: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """The two evaluation points of a central difference.

    Inputs:
    - theta: Point of any shape (not modified)
    - direction: Direction d, broadcastable to theta's shape
    - eps: Step size, a float > 0

    Returns a tuple of:
    - theta_plus: New float64 array theta + eps·d, of theta's shape
    - theta_minus: New float64 array theta - eps·d, of theta's shape
    """
    theta = np.asarray(theta, dtype=np.float64)
    step = eps * np.asarray(direction, dtype=np.float64)
    return theta + step, theta - step


def difference_quotient(f_plus: float, f_minus: float, eps: float) -> float:
    """(f_plus - f_minus) / (2·eps): the central difference from the two evaluations.

    Inputs:
    - f_plus: f(theta + eps·d), a float
    - f_minus: f(theta - eps·d), a float
    - eps: The step size used by perturbed_pair

    Returns:
    - The approximate directional derivative ∇f(theta)·d, a float
    """
    return (float(f_plus) - float(f_minus)) / (2.0 * eps)


def central_difference(
    f: ScalarFunction, theta: np.ndarray, direction: np.ndarray, eps: float = 1e-6
) -> float:
    """Central-difference approximation of the directional derivative ∇f(theta)·d.

    Inputs:
    - f: Function mapping an array of theta's shape to a float
    - theta: Point of any shape (not modified)
    - direction: Direction d, broadcastable to theta's shape
    - eps: Step size (see the module docstring for the error it gives)

    Returns:
    - (f(theta + eps·d) - f(theta - eps·d)) / (2·eps), a float
    """
    theta_plus, theta_minus = perturbed_pair(theta, direction, eps)
    return difference_quotient(f(theta_plus), f(theta_minus), eps)


def numerical_gradient(f: ScalarFunction, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Gradient of f at x by central differences, one coordinate at a time.

    Costs 2·x.size evaluations of f.

    Inputs:
    - f: Function mapping an array of x's shape to a float
    - x: Point of any shape (not modified)
    - eps: Step size (see the module docstring for the error it gives)

    Returns:
    - grad: New float64 array of x's shape, grad[i] ≈ ∂f/∂x[i]
    """
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        unit = np.zeros(x.shape)
        unit[i] = 1.0
        grad[i] = central_difference(f, x, unit, eps)
    return grad
