"""Deliberately buggy nn.Module cells for the harness tests (bug group: torch_lstm_cell).

hx is detached on the way in (h, c = h.detach(), c.detach(), meant as truncated backpropagation
but done inside the cell): no gradient reaches hx, so nothing flows back between steps.

Otherwise tests/corpus/torch_cells/cells_correct.py, which scores full marks without this bug.
"""
import math

import torch
from torch import nn

BUG_GROUP = "torch_lstm_cell"
AFFECTED = ('LSTMCell',)


class RNNCell(nn.Module):
    """h' = tanh(input W_ih^T + b_ih + h W_hh^T + b_hh)."""

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(hidden_size))
            self.bias_hh = nn.Parameter(torch.empty(hidden_size))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def forward(self, input, hx=None):
        if hx is None:
            hx = torch.zeros(*input.shape[:-1], self.hidden_size, dtype=input.dtype, device=input.device)
        a = input @ self.weight_ih.T + hx @ self.weight_hh.T
        if self.bias:
            a = a + self.bias_ih + self.bias_hh
        return torch.tanh(a)


class LSTMCell(nn.Module):
    """Gates i, f, g, o from a = input W_ih^T + b_ih + h W_hh^T + b_hh; c' = f c + i g, h' = o tanh(c')."""

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size))
            self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def forward(self, input, hx=None):
        if hx is None:
            zeros = torch.zeros(*input.shape[:-1], self.hidden_size, dtype=input.dtype, device=input.device)
            hx = (zeros, zeros)
        h, c = hx
        h, c = h.detach(), c.detach()
        a = input @ self.weight_ih.T + h @ self.weight_hh.T
        if self.bias:
            a = a + self.bias_ih + self.bias_hh
        i, f, g, o = a.chunk(4, dim=-1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        next_c = f * c + i * g
        next_h = o * torch.tanh(next_c)
        return next_h, next_c
