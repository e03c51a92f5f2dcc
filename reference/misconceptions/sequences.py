"""Mistakes over the whole sequence: how BPTT carries and sums gradients, and where the forward starts.

Each function is the reference's (reference/rnn.py) with one line changed, marked "mistake".
The step functions they call are the model's (``composition``), i.e. the reference's here.
"""

from __future__ import annotations

import numpy as np

from reference.rnn import rnn_backward, rnn_step_backward, rnn_step_forward


def backward_without_recurrent_carry(dh, cache):
    x, h0, Wx, Wh, step_caches = cache
    dx, dWx, dWh, db = np.zeros(x.shape), np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wh.shape[0])
    dprev_h = np.zeros(h0.shape)
    for t in reversed(range(x.shape[1])):
        dnext_h = dh[:, t, :]  # mistake: dprev_h of step t+1 is not added
        dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dnext_h, step_caches[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def backward_overwriting(weight: int):
    """rnn_backward where the gradient of parameter number ``weight`` (0 dWx, 1 dWh, 2 db) is assigned per step."""

    def backward_overwriting_weight(dh, cache):
        x, h0, Wx, Wh, step_caches = cache
        dx = np.zeros(x.shape)
        sums = [np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wh.shape[0])]
        dprev_h = np.zeros(h0.shape)
        for t in reversed(range(x.shape[1])):
            dx[:, t, :], dprev_h, *grads_t = rnn_step_backward(dh[:, t, :] + dprev_h, step_caches[t])
            for i, grad_t in enumerate(grads_t):
                # mistake: one parameter's gradient is overwritten (=) instead of summed (+=)
                sums[i] = grad_t if i == weight else sums[i] + grad_t
        return dx, dprev_h, *sums

    return backward_overwriting_weight


def backward_skipping_first_step(dh, cache):
    x, h0, Wx, Wh, step_caches = cache
    dx, dWx, dWh, db = np.zeros(x.shape), np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wh.shape[0])
    dprev_h = np.zeros(h0.shape)
    for t in range(x.shape[1] - 1, 0, -1):  # mistake: stops at t = 1, step 0 is never visited
        dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev_h, step_caches[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def backward_only_last_upstream(dh, cache):
    x, h0, Wx, Wh, step_caches = cache
    dx, dWx, dWh, db = np.zeros(x.shape), np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wh.shape[0])
    dprev_h = dh[:, -1, :]  # mistake: only the last state's upstream gradient enters, once
    for t in reversed(range(x.shape[1])):
        dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dprev_h, step_caches[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def backward_squeezing_upstream(dh, cache):
    x, h0, Wx, Wh, step_caches = cache
    dx, dWx, dWh, db = np.zeros(x.shape), np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wh.shape[0])
    dprev_h = np.zeros(h0.shape)
    for t in reversed(range(x.shape[1])):
        dnext_h = np.squeeze(dh[:, t, :]) + dprev_h  # mistake: squeeze drops the axis of H = 1 (or N = 1)
        dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dnext_h, step_caches[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def forward_from_zeros(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h, step_caches = np.empty((N, T, h0.shape[1])), []
    prev_h = np.zeros(h0.shape)  # mistake: h0 is ignored
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
        step_caches.append(step_cache)
    return h, (x, h0, Wx, Wh, step_caches)


def forward_squeezing_input(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h, step_caches = np.empty((N, T, h0.shape[1])), []
    prev_h = h0
    for t in range(T):
        x_t = np.squeeze(x[:, t:t + 1, :])  # mistake: drops N or D as well when it is 1
        prev_h, step_cache = rnn_step_forward(x_t, prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
        step_caches.append(step_cache)
    return h, (x, h0, Wx, Wh, step_caches)


def forward_recurring_on_h0(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h, step_caches = np.empty((N, T, h0.shape[1])), []
    prev_h = h0
    for t in range(T):
        next_h, _ = rnn_step_forward(x[:, t, :], h0, Wx, Wh, b)  # mistake: h0 where h_{t-1} belongs
        # The backward of such a student is a correct one: it pairs each step with the state before it.
        step_caches.append((x[:, t, :], prev_h, Wx, Wh, next_h))
        h[:, t, :] = prev_h = next_h
    return h, (x, h0, Wx, Wh, step_caches)


def forward_including_h0(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.empty((N, T + 1, h0.shape[1]))
    h[:, 0, :] = h0  # mistake: h0 is returned as the first state, T + 1 in all
    step_caches, prev_h = [], h0
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t + 1, :] = prev_h
        step_caches.append(step_cache)
    return h, (x, h0, Wx, Wh, step_caches)


def forward_in_single_precision(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.empty((N, T, h0.shape[1]), dtype=np.float32)  # mistake: the states are stored in float32
    step_caches, prev_h = [], h0
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
        step_caches.append(step_cache)
    return h, (x, h0, Wx, Wh, step_caches)


def truncated_by_windows(dh, cache, window):
    """Truncated BPTT as rnn_backward on each window (the CS231n way): a mistake in rnn_backward shows here too."""
    x, h0, Wx, Wh, step_caches = cache
    T = x.shape[1]
    dx, dh0 = np.zeros(x.shape), np.zeros(h0.shape)
    sums = [np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wh.shape[0])]
    for start in range(0, T, window):
        stop = min(start + window, T)
        entering = h0 if start == 0 else step_caches[start - 1][4]
        window_cache = (x[:, start:stop], entering, Wx, Wh, step_caches[start:stop])
        dx[:, start:stop], dh_enter, *grads = rnn_backward(dh[:, start:stop], window_cache)
        sums = [total + grad for total, grad in zip(sums, grads)]
        if start == 0:
            dh0 = dh_enter
    return dx, dh0, *sums


BACKWARD_MODELS = [
    ("no-recurrent-carry", "each step gets only dh[:, t]",
     "your {outputs} {equal} what you get when the gradient from step t+1 is not added into step t",
     {"rnn_backward": backward_without_recurrent_carry}),
    *[("weights-overwritten-not-summed", f"{name} assigned per step",
       "your {outputs} {equal} what you get when " + name + " is assigned at each step instead of summed "
       "over time (the same weights are used at every step)",
       {"rnn_backward": backward_overwriting(weight)})
      for weight, name in enumerate(("dWx", "dWh", "db"))],
    ("first-step-skipped", "loop stops at t = 1",
     "your {outputs} {equal} what you get when the backward loop never visits the first step (t = 0)",
     {"rnn_backward": backward_skipping_first_step}),
    ("upstream-only-last-step", "only dh[:, -1] enters",
     "your {outputs} {equal} what you get when only the last state's upstream gradient dh[:, -1] is used "
     "and the upstream gradients of the other steps are left out",
     {"rnn_backward": backward_only_last_upstream}),
    ("degenerate-size-squeeze", "np.squeeze(dh[:, t]) in rnn_backward",
     "your {outputs} {equal} what you get when np.squeeze(dh[:, t]) drops an axis of length 1 "
     "(N = 1 or H = 1); index or reshape instead of squeezing",
     {"rnn_backward": backward_squeezing_upstream}),
]

# Each mistake in rnn_backward also as a student who builds truncated BPTT from rnn_backward has it.
MODELS = [
    *BACKWARD_MODELS,
    *[(id, variant + ", truncated BPTT by windows", explanation, {**replaces, "rnn_backward_truncated": truncated_by_windows})
      for id, variant, explanation, replaces in BACKWARD_MODELS],
    ("ignores-h0", "rnn_forward starts from zeros",
     "your {outputs} {equal} what you get when the forward pass starts from zeros instead of h0",
     {"rnn_forward": forward_from_zeros}),
    ("degenerate-size-squeeze", "np.squeeze(x[:, t:t + 1]) in rnn_forward",
     "your {outputs} {equal} what you get when np.squeeze(x[:, t:t + 1, :]) drops an axis of length 1 "
     "(N = 1 or D = 1) besides the time axis; index with x[:, t, :] instead of squeezing",
     {"rnn_forward": forward_squeezing_input}),
    ("recurrence-from-h0", "every step multiplies h0 by Wh",
     "your {outputs} {equal} what you get when every step uses h0 where the previous state h_{{t-1}} belongs",
     {"rnn_forward": forward_recurring_on_h0}),
    ("states-include-h0", "h has T + 1 states",
     "your {outputs} {equal} what you get when h0 is returned as the first of T + 1 states; h holds "
     "h_1 … h_T only",
     {"rnn_forward": forward_including_h0}),
    ("single-precision-states", "h stored in float32",
     "your {outputs} {equal} what you get when the states are stored in a float32 array; keep float64",
     {"rnn_forward": forward_in_single_precision}),
]
