"""bidirectional: a forward RNN and a backward RNN, both aligned to input time.

    h[..., :H] = rnn_forward(x; forward parameters)
    h[..., H:] = flip_t(rnn_forward(flip_t(x); backward parameters))

(the torch.nn.RNN bidirectional layout). Its backward pass is the two directions' backward
passes, the second on the time-reversed gradient, with the two dx added.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given

from checks.engine.isolation.batch_calls import forward_then_backward, in_sequence
from checks.gradcheck import assert_backprop_matches_own_forward, probe_seeds
from checks.registry import check
from checks.strategies import birnn_problems
from checks.verdicts import assert_all_close, assert_close

GRADIENTS = ("dx", "dh0_f", "dWx_f", "dWh_f", "db_f", "dh0_b", "dWx_b", "dWh_b", "db_b")
DIRECTION_GRADIENTS = ("dx", "dh0", "dWx", "dWh", "db")


def flip_t(a: np.ndarray) -> np.ndarray:
    """Reverse the time axis (axis 1) of an (N, T, ·) array."""
    return a[:, ::-1]


def forward_parameters(p) -> tuple:
    return p.h0_f, p.Wx_f, p.Wh_f, p.b_f


def backward_parameters(p) -> tuple:
    return p.h0_b, p.Wx_b, p.Wh_b, p.b_b


def birnn_inputs(p) -> dict:
    return dict(zip(("x", "h0_f", "Wx_f", "Wh_f", "b_f", "h0_b", "Wx_b", "Wh_b", "b_b"), p[:9]))


@check(group="bidirectional", points=4, needs=("birnn_forward", "rnn_forward"))
@given(p=birnn_problems())
def birnn_output_is_concatenation_of_directions(sub, p):
    """birnn_forward = concat(your rnn_forward(x), flip_t(your rnn_forward(flip_t(x))))."""
    (h, _), (h_f, _), (h_b_reversed, _) = sub.batch([
        ("birnn_forward", p[:9]),
        ("rnn_forward", (p.x, *forward_parameters(p))),
        ("rnn_forward", (np.ascontiguousarray(flip_t(p.x)), *backward_parameters(p))),
    ])
    expected = np.concatenate([h_f, flip_t(h_b_reversed)], axis=-1)
    assert_close(h, expected, "h", "concat(forward direction, re-reversed backward direction) along the last axis")


@check(group="bidirectional", points=3, needs=("birnn_forward",), reference=True)
@given(p=birnn_problems())
def birnn_forward_matches_reference(sub, p):
    """birnn_forward returns the reference's (N, T, 2H) output."""
    import reference

    h, _ = sub.birnn_forward(*p[:9])
    expected, _ = reference.birnn_forward(*p[:9])
    assert_close(h, expected, "h", "the reference bidirectional forward pass")


@check(group="bidirectional", points=3, needs=("birnn_forward", "birnn_backward"))
@given(p=birnn_problems(), seed=probe_seeds())
def birnn_backward_matches_finite_differences(sub, p, seed):
    """birnn_backward's nine gradients equal central differences of your own birnn_forward."""
    assert_backprop_matches_own_forward(sub, "birnn_forward", "birnn_backward", birnn_inputs(p), p.dh, seed, GRADIENTS)


@check(group="bidirectional", points=2, needs=("birnn_forward", "birnn_backward", "rnn_forward", "rnn_backward"))
@given(p=birnn_problems())
def birnn_backward_is_sum_of_directions(sub, p):
    """birnn_backward = your rnn_backward of each direction (the backward one on flipped dh), dx summed."""
    H = p.h0_f.shape[1]
    reversed_x = np.ascontiguousarray(flip_t(p.x))
    _, gradients, _, gradients_f, _, gradients_b = sub.batch(in_sequence(
        forward_then_backward("birnn_forward", p[:9], "birnn_backward", p.dh),
        forward_then_backward("rnn_forward", (p.x, *forward_parameters(p)), "rnn_backward",
                              np.ascontiguousarray(p.dh[..., :H])),
        forward_then_backward("rnn_forward", (reversed_x, *backward_parameters(p)), "rnn_backward",
                              np.ascontiguousarray(flip_t(p.dh[..., H:]))),
    ))
    actual = dict(zip(GRADIENTS, gradients))
    forward = dict(zip(DIRECTION_GRADIENTS, gradients_f))
    backward = dict(zip(DIRECTION_GRADIENTS, gradients_b))
    expected = {"dx": forward["dx"] + flip_t(backward["dx"])}
    expected |= {f"{name}_f": forward[name] for name in DIRECTION_GRADIENTS[1:]}
    expected |= {f"{name}_b": backward[name] for name in DIRECTION_GRADIENTS[1:]}
    assert_all_close(actual, expected, "the sum of your own rnn_backward over the two directions")
