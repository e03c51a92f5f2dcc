"""Mistakes of the many-to-one classifier (reference/classifier.py): the logit gradient and the loss."""

from __future__ import annotations

import numpy as np

from reference.classifier import sigmoid, softplus
from reference.rnn import rnn_backward, rnn_forward


def classifier_with(loss_of, logit_gradient):
    """rnn_classifier_loss with its loss ``loss_of(z, y)`` and logit gradient ``logit_gradient(z, y)`` chosen."""

    def classifier_loss(x, y, h0, Wx, Wh, b, W2, b2):
        y = np.asarray(y, dtype=np.float64)
        h, cache = rnn_forward(x, h0, Wx, Wh, b)
        h_T = h[:, -1, :]
        z = h_T @ W2 + b2
        loss = float(loss_of(z, y))
        dz = logit_gradient(z, y)
        dh = np.zeros(h.shape)
        dh[:, -1, :] = np.outer(dz, W2)
        dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
        grads = {"x": dx, "h0": dh0, "Wx": dWx, "Wh": dWh, "b": db, "W2": h_T.T @ dz, "b2": np.array([dz.sum()])}
        return loss, grads

    return classifier_loss


def mean_loss(z, y):
    return np.mean(y * softplus(-z) + (1 - y) * softplus(z))


def summed_loss(z, y):
    return np.sum(y * softplus(-z) + (1 - y) * softplus(z))  # mistake: summed over the batch


def naive_loss(z, y):
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        s = 1.0 / (1.0 + np.exp(-z))
        return -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))  # mistake: log(0) = -inf for large |z|


def mean_gradient(z, y):
    return (sigmoid(z) - y) / len(y)


def flipped_gradient(z, y):
    return (y - sigmoid(z)) / len(y)  # mistake: y - σ(z) for σ(z) - y


def summed_gradient(z, y):
    return sigmoid(z) - y  # mistake: no 1/N, the gradient of the summed loss


MODELS = [
    ("classifier-gradient-sign", "dz = (y - σ(z)) / N",
     "your {outputs} {equal} what you get when the logit gradient is y - σ(z) instead of σ(z) - y",
     {"rnn_classifier_loss": classifier_with(mean_loss, flipped_gradient)}),
    ("classifier-sum-not-mean", "gradient of the summed loss",
     "your {outputs} {equal} the gradient of the summed loss, N times too large for the mean loss",
     {"rnn_classifier_loss": classifier_with(mean_loss, summed_gradient)}),
    ("classifier-sum-not-mean", "loss and gradient summed",
     "your {outputs} {equal} what you get when the loss is summed over the batch instead of averaged",
     {"rnn_classifier_loss": classifier_with(summed_loss, summed_gradient)}),
    ("unstable-cross-entropy", "log(sigmoid(z)) computed naively",
     "your {outputs} {equal} what you get when the loss takes log(σ(z)) directly, which is log(0) = -inf "
     "for large |z|; write it with np.logaddexp",
     {"rnn_classifier_loss": classifier_with(naive_loss, mean_gradient)}),
]
