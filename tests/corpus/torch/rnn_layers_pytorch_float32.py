"""Buggy CS231n 2025 PyTorch file (bug group: torch_rnn): a float32 buffer (dtype drift).

rnn_forward collects the steps in torch.zeros(N, T, H), which is float32 whatever the inputs are: h comes
back float32 from float64 inputs, right to float32's precision only, and too coarse for the gradients to be
checked by finite differences (the course's own gradient check fails on it).

Otherwise identical to tests/corpus/torch/rnn_layers_pytorch_correct.py.
"""

import torch

BUG_GROUP = 'torch_rnn'
AFFECTED = ('torch_rnn_forward_gradients_match_finite_differences', 'torch_rnn_functions_keep_float64')


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One step of a vanilla RNN: next_h = tanh(x Wx + prev_h Wh + b).

    Inputs: x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,). Returns next_h (N, H)."""
    next_h = torch.tanh(x.mm(Wx) + prev_h.mm(Wh) + b)
    return next_h


def rnn_forward(x, h0, Wx, Wh, b):
    """A vanilla RNN over a whole sequence: x (N, T, D), h0 (N, H) -> h (N, T, H)."""
    N, T, _ = x.shape
    h = torch.zeros(N, T, h0.shape[1])
    prev_h = h0
    for t in range(T):
        next_h = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = next_h
        prev_h = next_h
    return h


def word_embedding_forward(x, W):
    """Word embeddings: x (N, T) integer indices into W (V, D) -> out (N, T, D)."""
    out = W[x]
    return out


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step, gates in the order i, f, o, g: x (N, D), prev_h, prev_c (N, H), Wx (D, 4H), Wh (H, 4H),
    b (4H,) -> (next_h, next_c), each (N, H)."""
    H = prev_h.shape[1]
    a = x.mm(Wx) + prev_h.mm(Wh) + b
    i = torch.sigmoid(a[:, :H])
    f = torch.sigmoid(a[:, H:2 * H])
    o = torch.sigmoid(a[:, 2 * H:3 * H])
    g = torch.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * torch.tanh(next_c)
    return next_h, next_c


def lstm_forward(x, h0, Wx, Wh, b):
    """An LSTM over a whole sequence from c0 = 0: x (N, T, D), h0 (N, H) -> h (N, T, H)."""
    N, T, _ = x.shape
    prev_h, prev_c = h0, torch.zeros_like(h0)
    hs = []
    for t in range(T):
        prev_h, prev_c = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        hs.append(prev_h)
    h = torch.stack(hs, dim=1)
    return h
