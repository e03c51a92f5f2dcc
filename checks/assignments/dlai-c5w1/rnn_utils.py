"""The helpers deeplearning.ai's Sequence Models week 1 notebook imports (``from rnn_utils import *``).

Made importable by a submission with ``--path checks/assignments/dlai-c5w1``. The same functions as the course's
``rnn_utils.py``, with its names and results; softmax and sigmoid are written to stay finite for any input (the
course's take exp of the raw values). Column-major: softmax normalises every column (axis 0).
"""

import numpy as np


def softmax(x):
    """The softmax of every column of x (n, m): over axis 0."""
    e_x = np.exp(x - np.max(x, axis=0, keepdims=True))
    return e_x / e_x.sum(axis=0, keepdims=True)


def sigmoid(x):
    """σ(x) = 1 / (1 + exp(−x)), elementwise; exp is only taken of −|x|."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def initialize_adam(parameters):
    """Adam's moving averages v and s: zeros shaped as the "W1", "b1", … "WL", "bL" entries of parameters."""
    L = len(parameters) // 2
    v, s = {}, {}
    for l in range(L):
        for name in ("W", "b"):
            key = f"{name}{l + 1}"
            v["d" + key] = np.zeros(parameters[key].shape)
            s["d" + key] = np.zeros(parameters[key].shape)
    return v, s


def update_parameters_with_adam(parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9, beta2=0.999,
                                epsilon=1e-8):
    """One Adam step on "W1", "b1", … with grads "dW1", "db1", …; returns (parameters, v, s)."""
    L = len(parameters) // 2
    v_corrected, s_corrected = {}, {}
    for l in range(L):
        for name in ("W", "b"):
            key, grad_key = f"{name}{l + 1}", f"d{name}{l + 1}"
            v[grad_key] = beta1 * v[grad_key] + (1 - beta1) * grads[grad_key]
            v_corrected[grad_key] = v[grad_key] / (1 - beta1 ** t)
            s[grad_key] = beta2 * s[grad_key] + (1 - beta2) * grads[grad_key] ** 2
            s_corrected[grad_key] = s[grad_key] / (1 - beta2 ** t)
            parameters[key] = parameters[key] - learning_rate * v_corrected[grad_key] / (
                np.sqrt(s_corrected[grad_key]) + epsilon)
    return parameters, v, s
