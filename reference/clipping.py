"""Gradient clipping by global norm (as ``torch.nn.utils.clip_grad_norm_``, but pure).

    total_norm = sqrt(Σ_name Σ_i grads[name]_i²)          (all arrays together)
    scale      = max_norm / total_norm   if total_norm > max_norm   else 1

Every array is multiplied by the *same* scale, so the direction of the whole gradient
vector is preserved and, when clipped, its norm becomes max_norm.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """L2 norm of all arrays of ``grads`` taken together, as one long vector.

    Inputs:
    - grads: dict of name -> array of any shape

    Returns:
    - total_norm: a float >= 0 (0.0 for an empty dict)
    """
    # Plain sum of squares: float64 holds it without overflow for gradient entries
    # up to ~1e150, far beyond anything a training run survives.
    sum_of_squares = sum(float(np.sum(np.square(g))) for g in grads.values())
    return float(np.sqrt(sum_of_squares))


def clip_grad_norm(
    grads: Mapping[str, np.ndarray], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    """Rescale a dict of gradients so that their global L2 norm is at most max_norm.

    Inputs:
    - grads: dict of name -> gradient array, any shapes (not modified)
    - max_norm: maximum allowed global norm, a float > 0

    Returns a tuple of:
    - clipped: a new dict with the same keys (same order); each value is a new float64
      array of the same shape, multiplied by max_norm / total_norm if
      total_norm > max_norm and an unchanged copy otherwise
    - total_norm: the global norm of ``grads`` *before* clipping, a float
    """
    total_norm = global_norm(grads)
    # Scaling only when strictly above the threshold keeps a zero gradient zero
    # (no 0/0) and leaves gradients that are already small enough untouched.
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    clipped = {}
    for name, g in grads.items():
        new_g = np.array(g, dtype=np.float64)  # a copy, so the input is never touched
        new_g *= scale  # in place on the copy: a 0-d array stays an array
        clipped[name] = new_g
    return clipped, total_norm
