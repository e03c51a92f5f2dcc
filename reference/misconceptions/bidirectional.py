"""Mistakes of the bidirectional RNN (reference/birnn.py): time order, layout, parameters."""

from __future__ import annotations

import numpy as np

from reference.birnn import flip_time
from reference.rnn import rnn_backward, rnn_forward


def birnn_forward_not_rereversed(x, h0_f, Wx_f, Wh_f, b_f, h0_b, Wx_b, Wh_b, b_b):
    h_f, cache_f = rnn_forward(x, h0_f, Wx_f, Wh_f, b_f)
    h_b_reversed, cache_b = rnn_forward(flip_time(x), h0_b, Wx_b, Wh_b, b_b)
    h = np.concatenate([h_f, h_b_reversed], axis=2)  # mistake: left in reversed time order
    return h, (h0_f.shape[1], cache_f, cache_b)


def birnn_forward_swapped(x, h0_f, Wx_f, Wh_f, b_f, h0_b, Wx_b, Wh_b, b_b):
    h_f, cache_f = rnn_forward(x, h0_f, Wx_f, Wh_f, b_f)
    h_b_reversed, cache_b = rnn_forward(flip_time(x), h0_b, Wx_b, Wh_b, b_b)
    h = np.concatenate([flip_time(h_b_reversed), h_f], axis=2)  # mistake: backward direction first
    return h, (h0_f.shape[1], cache_f, cache_b)


def birnn_backward_swapped(dh, cache):
    H, cache_f, cache_b = cache
    dh_b, dh_f = dh[..., :H], dh[..., H:]  # consistent with the swapped forward
    dx_f, dh0_f, dWx_f, dWh_f, db_f = rnn_backward(dh_f, cache_f)
    dx_b_reversed, dh0_b, dWx_b, dWh_b, db_b = rnn_backward(flip_time(dh_b), cache_b)
    return dx_f + flip_time(dx_b_reversed), dh0_f, dWx_f, dWh_f, db_f, dh0_b, dWx_b, dWh_b, db_b


def birnn_forward_shared_parameters(x, h0_f, Wx_f, Wh_f, b_f, h0_b, Wx_b, Wh_b, b_b):
    h_f, cache_f = rnn_forward(x, h0_f, Wx_f, Wh_f, b_f)
    h_b_reversed, cache_b = rnn_forward(flip_time(x), h0_b, Wx_f, Wh_f, b_f)  # mistake: the forward parameters
    h = np.concatenate([h_f, flip_time(h_b_reversed)], axis=2)
    return h, (h0_f.shape[1], cache_f, cache_b)


def birnn_backward_dx_not_flipped(dh, cache):
    H, cache_f, cache_b = cache
    dx_f, dh0_f, dWx_f, dWh_f, db_f = rnn_backward(dh[..., :H], cache_f)
    dx_b_reversed, dh0_b, dWx_b, dWh_b, db_b = rnn_backward(flip_time(dh[..., H:]), cache_b)
    dx = dx_f + dx_b_reversed  # mistake: the backward direction's dx is left in reversed time order
    return dx, dh0_f, dWx_f, dWh_f, db_f, dh0_b, dWx_b, dWh_b, db_b


def birnn_backward_dh_not_flipped(dh, cache):
    H, cache_f, cache_b = cache
    dx_f, dh0_f, dWx_f, dWh_f, db_f = rnn_backward(dh[..., :H], cache_f)
    dx_b_reversed, dh0_b, dWx_b, dWh_b, db_b = rnn_backward(dh[..., H:], cache_b)  # mistake: dh not flipped
    dx = dx_f + flip_time(dx_b_reversed)
    return dx, dh0_f, dWx_f, dWh_f, db_f, dh0_b, dWx_b, dWh_b, db_b


MODELS = [
    ("birnn-not-rereversed", "backward states in reversed time",
     "your {outputs} {equal} what you get when the backward direction's states are left in reversed time "
     "order instead of flipped back to input time",
     {"birnn_forward": birnn_forward_not_rereversed}),
    ("birnn-directions-swapped", "backward direction first (forward only)",
     "your {outputs} {equal} what you get when the backward direction is concatenated first; the forward "
     "direction's states come first, h[..., :H]",
     {"birnn_forward": birnn_forward_swapped}),
    ("birnn-directions-swapped", "backward direction first (forward and backward)",
     "your {outputs} {equal} what you get when the backward direction is concatenated first; the forward "
     "direction's states come first, h[..., :H]",
     {"birnn_forward": birnn_forward_swapped, "birnn_backward": birnn_backward_swapped}),
    ("birnn-shared-parameters", "backward direction with Wx_f, Wh_f, b_f",
     "your {outputs} {equal} what you get when the backward direction is run with the forward "
     "direction's parameters",
     {"birnn_forward": birnn_forward_shared_parameters}),
    ("birnn-dx-not-flipped", "dx of the backward direction not flipped",
     "your {outputs} {equal} what you get when the backward direction's dx is not flipped back to input "
     "time before it is added",
     {"birnn_backward": birnn_backward_dx_not_flipped}),
    ("birnn-dh-not-flipped", "dh of the backward direction not flipped",
     "your {outputs} {equal} what you get when the backward direction's upstream gradient dh[..., H:] is "
     "not flipped in time before its BPTT",
     {"birnn_backward": birnn_backward_dh_not_flipped}),
]
