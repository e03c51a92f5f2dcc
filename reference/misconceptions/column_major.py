"""Mistakes of deeplearning.ai's column-major backward passes (``--assignment dlai-c5w1``).

Each function is the reference's (reference/column_major.py) with one line changed, marked "mistake". They are
called by the checks of checks/dlai.py, on the reference's own caches, to say which known mistake a student's
wrong gradients are. The row-vector diagnosis (``checks.engine.run.diagnosis``) replays the row-vector contract,
whose rnn_forward and lstm_forward share these functions' names but not their arguments, so these models are not
in its LIBRARY.

The course's printed expected output for lstm_backward is that of ``lstm_backward_no_gradient_between_steps``:
every step's cell backward is given da[:, :, t] alone and dc_prev = 0, so nothing flows from step t + 1 back to
step t. A student whose lstm_backward matches the notebook's expected numbers has made this mistake.
"""

from __future__ import annotations

import numpy as np

from reference.column_major import (LSTM_GRADIENTS, RNN_GRADIENTS, Gradients, lstm_cell_backward,
                                    rnn_cell_backward)

NO_GRADIENT_BETWEEN_STEPS = (
    "Likely mistake: your gradients equal those of an lstm_backward that passes no gradient between steps (each "
    "step given da[:, :, t] alone, without the da_prev and dc_prev of step t + 1). The course notebook's printed "
    "expected output for lstm_backward is that of this same implementation, so matching it is not enough: a_t "
    "feeds step t + 1, so its gradient is da[:, :, t] + da_prevt, and dc_prevt must be carried back too.")

RNN_NO_GRADIENT_BETWEEN_STEPS = (
    "Likely mistake: your gradients equal those of an rnn_backward that passes no gradient between steps: each "
    "step must be given da[:, :, t] + da_prevt, the gradient from step t + 1 added to the loss's.")


def lstm_backward_no_gradient_between_steps(da: np.ndarray, caches: tuple) -> Gradients:
    """lstm_backward as the course's printed expectation computes it: da (n_a, m, T_x), caches (list, x);
    returns the course's gradient dict, every step back-propagated on its own."""
    steps, x = caches
    dx = np.zeros_like(x)
    names = LSTM_GRADIENTS[2:]
    total = {key: np.zeros_like(steps[0][-1][key[1:]]) for key in names}
    zero = np.zeros_like(da[:, :, 0])
    for t in reversed(range(x.shape[2])):
        g = lstm_cell_backward(da[:, :, t], zero, steps[t])  # mistake: no da_prev, no dc_prev from step t + 1
        dx[:, :, t] = g["dxt"]
        da0 = g["da_prev"]
        for key in names:
            total[key] = total[key] + g[key]
    return {"dx": dx, "da0": da0, **total}


def rnn_backward_no_gradient_between_steps(da: np.ndarray, caches: tuple) -> Gradients:
    """rnn_backward with every step given da[:, :, t] alone: da (n_a, m, T_x), caches (list, x)."""
    steps, x = caches
    dx = np.zeros_like(x)
    total = {key: np.zeros_like(steps[0][3][key[1:]]) for key in RNN_GRADIENTS[2:]}
    for t in reversed(range(x.shape[2])):
        g = rnn_cell_backward(da[:, :, t], steps[t])  # mistake: da_prev of step t + 1 not added
        dx[:, :, t] = g["dxt"]
        da0 = g["da_prev"]
        for key in total:
            total[key] = total[key] + g[key]
    return {"dx": dx, "da0": da0, **total}


#: The models by id, for the checks and the tests (tests/test_checks_dlai.py): id → (function, explanation).
MODELS = {
    "lstm-backward-no-gradient-between-steps": (lstm_backward_no_gradient_between_steps, NO_GRADIENT_BETWEEN_STEPS),
    "dlai-rnn-backward-no-gradient-between-steps": (rnn_backward_no_gradient_between_steps,
                                                   RNN_NO_GRADIENT_BETWEEN_STEPS),
}
