"""Many-to-one binary classifier on top of a tanh RNN.

    h       = rnn_forward(x, h0, Wx, Wh, b)            (N, T, H)
    z       = h_T·W2 + b2                              (N,)   logits, from the last state
    loss    = mean_n BCE(sigmoid(z_n), y_n)

The binary cross-entropy of a logit is written with softplus(u) = log(1 + e^u):

    -log sigmoid(z)     = softplus(-z)
    -log(1 - sigmoid(z)) = softplus(z)
    BCE(sigmoid(z), y)  = y·softplus(-z) + (1 - y)·softplus(z)

softplus is evaluated as np.logaddexp(0, u), which never overflows, so the loss is
finite for logits in the thousands (log(sigmoid(z)) computed naively gives log(0)).

Backward: dloss/dz_n = (sigmoid(z_n) - y_n) / N. Only h_T receives gradient from the
head; BPTT carries it back through the sequence.
"""

from __future__ import annotations

import numpy as np

from .rnn import rnn_backward, rnn_forward


def softplus(u: np.ndarray) -> np.ndarray:
    """log(1 + exp(u)), elementwise, without overflow for any float u."""
    return np.logaddexp(0.0, u)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), elementwise, written as exp(-softplus(-z)) to avoid overflow."""
    return np.exp(-softplus(-z))


def rnn_classifier_loss(
    x: np.ndarray,
    y: np.ndarray,
    h0: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    W2: np.ndarray,
    b2: np.ndarray,
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of a many-to-one RNN binary classifier.

    Inputs:
    - x: Input data, of shape (N, T, D) with T >= 1
    - y: Labels in {0, 1}, of shape (N,)
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, H)
    - Wh: Hidden-to-hidden weights, of shape (H, H)
    - b: Biases, of shape (H,)
    - W2: Output weights, of shape (H,)
    - b2: Output bias, of shape (1,)

    Returns a tuple of:
    - loss: Mean binary cross-entropy over the batch, a float
    - grads: dict with keys x, h0, Wx, Wh, b, W2, b2; each gradient has the shape of
      the argument of the same name
    """
    N, T, _ = x.shape
    if T < 1:
        raise ValueError("the classifier reads h_T, so it needs T >= 1")
    y = np.asarray(y, dtype=np.float64)

    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    h_T = h[:, -1, :]  # (N, H)
    z = h_T @ W2 + b2  # (N,); b2 of shape (1,) broadcasts over the batch
    loss = float(np.mean(y * softplus(-z) + (1 - y) * softplus(z)))

    dz = (sigmoid(z) - y) / N  # (N,)
    dW2 = h_T.T @ dz  # (H,)
    db2 = np.array([dz.sum()])  # (1,), the shape of b2
    dh = np.zeros(h.shape)
    dh[:, -1, :] = np.outer(dz, W2)  # only the last state feeds the head
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)

    grads = {"x": dx, "h0": dh0, "Wx": dWx, "Wh": dWh, "b": db, "W2": dW2, "b2": db2}
    return loss, grads
