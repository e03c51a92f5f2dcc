"""A second correct CS231n 2025 PyTorch file, written unlike the first: the input side of every step projected
at once, torch.nn.functional's embedding, the LSTM's gates by chunk, and each sequence's steps written into a
preallocated buffer of the inputs' dtype. That write is in place, and autograd accepts it: no step reads the
buffer back (prev_h is the step's own output), so nothing autograd saved is changed.
"""

import torch
import torch.nn.functional as F


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,) -> next_h (N, H)."""
    return torch.tanh(torch.addmm(b, x, Wx) + prev_h @ Wh)


def rnn_forward(x, h0, Wx, Wh, b):
    """x (N, T, D), h0 (N, H) -> h (N, T, H); the input side of all steps in one product."""
    N, T, _ = x.shape
    xw = torch.einsum("ntd,dh->nth", x, Wx) + b
    h = x.new_zeros((N, T, h0.shape[1]))
    prev_h = h0
    for t in range(T):
        prev_h = torch.tanh(xw[:, t] + prev_h @ Wh)
        h[:, t] = prev_h
    return h


def word_embedding_forward(x, W):
    """x (N, T) word indices, W (V, D) -> out (N, T, D)."""
    return F.embedding(x, W)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Gates i, f, o, g: x (N, D), prev_h, prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) -> (next_h, next_c)."""
    i, f, o, g = (x @ Wx + prev_h @ Wh + b).chunk(4, dim=1)
    next_c = torch.sigmoid(f) * prev_c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(next_c), next_c


def lstm_forward(x, h0, Wx, Wh, b):
    """x (N, T, D), h0 (N, H) -> h (N, T, H), from c0 = 0."""
    T = x.shape[1]
    h = torch.empty(x.shape[0], T, h0.shape[1], dtype=x.dtype)
    prev_h, prev_c = h0, torch.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
    return h
