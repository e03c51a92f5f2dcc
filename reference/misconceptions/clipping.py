"""Mistakes of clipping by global norm (reference/clipping.py): which norm, and which scale."""

from __future__ import annotations

import numpy as np

from reference.clipping import global_norm


def scaled_copies(grads, scale) -> dict:
    """Every gradient multiplied by ``scale`` (a float, or a function of the gradient array)."""
    clipped = {}
    for name, g in grads.items():
        new_g = np.array(g, dtype=np.float64)
        with np.errstate(invalid="ignore"):  # inf · 0 = NaN is the mistake clip-always-rescales makes
            new_g *= scale(new_g) if callable(scale) else scale
        clipped[name] = new_g
    return clipped


def clip_per_tensor(grads, max_norm):
    def own_scale(g):
        norm = float(np.sqrt(np.sum(np.square(g))))
        return max_norm / norm if norm > max_norm else 1.0  # mistake: each tensor by its own norm

    return scaled_copies(grads, own_scale), global_norm(grads)


def clip_elementwise(grads, max_norm):
    clipped = {name: np.clip(np.array(g, dtype=np.float64), -max_norm, max_norm) for name, g in grads.items()}
    return clipped, global_norm(grads)  # mistake: entries clipped, not the norm


def clip_always(grads, max_norm):
    total_norm = global_norm(grads)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.float64(max_norm) / total_norm  # mistake: also when total_norm <= max_norm
    return scaled_copies(grads, scale), total_norm


def clip_not_normalised(grads, max_norm):
    total_norm = global_norm(grads)
    scale = max_norm if total_norm > max_norm else 1.0  # mistake: max_norm, not max_norm / total_norm
    return scaled_copies(grads, scale), total_norm


def clip_returning_clipped_norm(grads, max_norm):
    total_norm = global_norm(grads)
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return scaled_copies(grads, scale), total_norm * scale  # mistake: the norm after clipping


def clip_dividing_by_zero_norm(grads, max_norm):
    total_norm = global_norm(grads)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.minimum(total_norm, max_norm) / np.float64(total_norm)  # mistake: 0/0 = NaN for zero gradients
    return scaled_copies(grads, scale), total_norm


MODELS = [
    ("per-tensor-clipping", "each array by its own norm",
     "your {outputs} {equal} what you get when each array is clipped by its own norm instead of all "
     "arrays by their global norm",
     {"clip_grad_norm": clip_per_tensor}),
    ("elementwise-clipping", "np.clip(g, -max_norm, max_norm)",
     "your {outputs} {equal} what you get when each entry is clipped to [-max_norm, max_norm] "
     "(np.clip) instead of scaling all arrays by max_norm / total_norm",
     {"clip_grad_norm": clip_elementwise}),
    ("clip-always-rescales", "scaled even below max_norm",
     "your {outputs} {equal} what you get when the gradients are rescaled even though their norm is "
     "already below max_norm",
     {"clip_grad_norm": clip_always}),
    ("clip-not-normalised", "multiplied by max_norm",
     "your {outputs} {equal} what you get when the gradients are multiplied by max_norm without being "
     "divided by their norm",
     {"clip_grad_norm": clip_not_normalised}),
    ("clip-returns-clipped-norm", "total_norm after clipping",
     "your {outputs} {equal} what you get when the norm returned is the one after clipping; the norm "
     "before clipping is due",
     {"clip_grad_norm": clip_returning_clipped_norm}),
    ("clip-zero-norm-division", "min(total, max) / total",
     "your {outputs} {equal} what you get when the scale is min(total_norm, max_norm) / total_norm, "
     "which is 0/0 = NaN for an all-zero gradient",
     {"clip_grad_norm": clip_dividing_by_zero_norm}),
]
