"""Gradient oracle: the word embedding, the temporal affine layer and the temporal
softmax loss written with ``autograd.numpy`` and differentiated by reverse-mode
automatic differentiation (``autograd.grad``).

As in autograd_rnn, nothing is shared with the hand-written backward passes of
reference/embedding.py: only the forward math is restated. Upstream gradients are
turned into a scalar the usual way, L = ⟨out, dout⟩ (summed over every entry), whose
gradient is what a backward pass given dout must return.

- Embedding: written as a product with the one-hot matrix of x, out = onehot(x)·W,
  so the forward contains no indexing at all; a word occurring k times has k ones in
  its column, and autograd's gradient of the product sums over them.
- Softmax loss: the per-row log-normaliser is logsumexp(s) = m + log Σ exp(s - m)
  with m the row's maximum, held constant (its value, not a traced quantity): the
  expression equals log Σ exp(s) for every m, so its gradient is unchanged, and
  exp never overflows. (scipy's logsumexp is not used: scipy is not a dependency.)
  The mask enters as a 0/1 weight and y as a one-hot matrix, so the loss is
  -(1/N) Σ_{n,t} mask[n,t] Σ_v onehot[n,t,v] · log p[n,t,v].

All functions accept NumPy arrays of consistent shapes and return new float64 arrays.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import grad
from autograd.tracer import getval


def _one_hot(indices: np.ndarray, size: int) -> np.ndarray:
    """float64 array of shape indices.shape + (size,), 1 at each index, else 0."""
    indices = np.asarray(indices)
    if indices.size and (indices.min() < 0 or indices.max() >= size):
        raise ValueError(f"indices must lie in [0, {size}), got {indices.min()}..{indices.max()}")
    return (indices[..., None] == np.arange(size)).astype(np.float64)


def autograd_embedding_gradient(x: np.ndarray, W: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """Gradient of L = ⟨out, dout⟩ for out = word_embedding_forward(x, W).

    Inputs:
    - x: Integer indices of shape (N, T), each in [0, V)
    - W: Word vectors, of shape (V, D)
    - dout: Upstream gradient of out, of shape (N, T, D)

    Returns:
    - dW: Gradient of W, of shape (V, D)
    """
    W = np.asarray(W, dtype=np.float64)
    onehot = _one_hot(x, W.shape[0])  # (N, T, V)

    def loss(W_):
        return anp.sum(anp.dot(onehot, W_) * dout)  # out = onehot·W, (N, T, D)

    return np.asarray(grad(loss)(W), dtype=np.float64)


def autograd_temporal_affine_gradients(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, dout: np.ndarray
) -> dict[str, np.ndarray]:
    """Gradients of L = ⟨out, dout⟩ for out = temporal_affine_forward(x, w, b).

    Inputs:
    - x: Input data, of shape (N, T, D)
    - w: Weights, of shape (D, M)
    - b: Biases, of shape (M,)
    - dout: Upstream gradient of out, of shape (N, T, M)

    Returns:
    - dict with keys x, w, b, each of the shape of that argument
    """
    params = {name: np.asarray(value, dtype=np.float64) for name, value in dict(x=x, w=w, b=b).items()}

    def loss(p):
        return anp.sum((anp.dot(p["x"], p["w"]) + p["b"]) * dout)

    grads = grad(loss)(params)
    return {name: np.asarray(grads[name], dtype=np.float64) for name in params}


def _masked_softmax_loss(x, onehot, weight, N):
    """-(1/N) Σ weight[n,t] · ⟨onehot[n,t], log softmax(x[n,t])⟩, stable for any finite x."""
    m = np.max(getval(x), axis=-1, keepdims=True)  # a constant: see the module docstring
    log_norm = m + anp.log(anp.sum(anp.exp(x - m), axis=-1, keepdims=True))
    log_probs = x - log_norm
    return -anp.sum(weight[..., None] * onehot * log_probs) / N


def autograd_temporal_softmax_loss(
    x: np.ndarray, y: np.ndarray, mask: np.ndarray
) -> tuple[float, np.ndarray]:
    """Loss and gradient of temporal_softmax_loss(x, y, mask).

    Inputs:
    - x: Scores, of shape (N, T, V), finite
    - y: Integer labels, of shape (N, T), each in [0, V)
    - mask: Boolean array of shape (N, T)

    Returns a tuple of:
    - loss: The masked cross-entropy summed over (n, t) and divided by N, a float
    - dx: Its gradient with respect to x, of shape (N, T, V)
    """
    x = np.asarray(x, dtype=np.float64)
    N, _, V = x.shape
    onehot = _one_hot(y, V)
    weight = np.asarray(mask, dtype=bool).astype(np.float64)

    def loss(x_):
        return _masked_softmax_loss(x_, onehot, weight, N)

    return float(loss(x)), np.asarray(grad(loss)(x), dtype=np.float64)
