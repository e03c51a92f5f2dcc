"""The problems of CS231n 2025's PyTorch functions (``checks.torch_functions``), from the NumPy groups' strategies.

The functions are the NumPy ones' forwards, so their problems are too: ``rnn_problems``, ``lstm_problems`` and
``embedding_problems`` (float64 values, int64 word indices). Here: each function's arguments by name and in
call order, the upstream gradients of its outputs, the shapes its outputs must have, and the other gate
order (torch.nn's i, f, g, o) a student may have read CS231n's blocks in, and the lecture's definitions of the
forward passes in NumPy (the assignment's statement, not its solution: what a self-check compares with).

Shapes: N batch, T steps, D input features, H hidden units, V words (row-vector layout, as the NumPy file).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from checks.embedding_problems import EmbeddingProblem
from checks.lstm import lecture_gates
from checks.lstm_problems import LSTMProblem, gate_block
from checks.strategies import RNNProblem


class TorchCase(NamedTuple):
    """One call of a torch function: its arguments by name in call order, the arguments that get no gradient
    (word indices), the upstream gradient of each output, and each output's name and shape."""

    function: str
    arguments: dict[str, np.ndarray]
    constants: tuple[str, ...]
    upstream: tuple[np.ndarray, ...]
    outputs: tuple[tuple[str, tuple[int, ...]], ...]


def rnn_step_case(p: RNNProblem) -> TorchCase:
    """rnn_step_forward(x (N, D), prev_h (N, H), Wx, Wh, b) -> next_h (N, H), at the problem's first step."""
    arguments = {"x": p.x[:, 0], "prev_h": p.h0, "Wx": p.Wx, "Wh": p.Wh, "b": p.b}
    return TorchCase("rnn_step_forward", arguments, (), (p.dh[:, 0],), (("next_h", p.h0.shape),))


def rnn_case(p: RNNProblem) -> TorchCase:
    """rnn_forward(x (N, T, D), h0 (N, H), Wx, Wh, b) -> h (N, T, H)."""
    arguments = {"x": p.x, "h0": p.h0, "Wx": p.Wx, "Wh": p.Wh, "b": p.b}
    return TorchCase("rnn_forward", arguments, (), (p.dh,), (("h", p.dh.shape),))


def embedding_case(p: EmbeddingProblem) -> TorchCase:
    """word_embedding_forward(x (N, T) int64, W (V, D)) -> out (N, T, D); x gets no gradient."""
    return TorchCase("word_embedding_forward", {"x": p.x, "W": p.W}, ("x",), (p.dout,), (("out", p.dout.shape),))


def lstm_step_case(p: LSTMProblem) -> TorchCase:
    """lstm_step_forward(x (N, D), prev_h, prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,)) -> (next_h, next_c)."""
    upstream = p.step_upstream
    return TorchCase("lstm_step_forward", p.step_inputs(), (), upstream,
                     (("next_h", p.h0.shape), ("next_c", p.h0.shape)))


def lstm_case(p: LSTMProblem) -> TorchCase:
    """lstm_forward(x (N, T, D), h0 (N, H), Wx, Wh, b) -> h (N, T, H), from c0 = 0."""
    return TorchCase("lstm_forward", p.sequence_inputs, (), (p.dh,), (("h", p.dh.shape),))


def torch_gate_order(W: np.ndarray) -> np.ndarray:
    """``W`` (…, 4H) with its blocks o and g swapped: CS231n's LSTM on these parameters computes what an LSTM
    reading CS231n's blocks in torch.nn's order i, f, g, o computes on the original ones."""
    H = W.shape[-1] // 4
    swapped = W.copy()
    swapped[..., gate_block(2, H)], swapped[..., gate_block(3, H)] = W[..., gate_block(3, H)], W[..., gate_block(2, H)]
    return swapped


# -- the lecture's definitions -----------------------------------------------------------------------


def lecture_lstm_step(x: np.ndarray, prev_h: np.ndarray, prev_c: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                      b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(next_h, next_c), each (N, H): next_c = f ⊙ prev_c + i ⊙ g, next_h = o ⊙ tanh(next_c), gates i, f, o, g."""
    i, f, o, g = lecture_gates(x, prev_h, Wx, Wh, b)
    next_c = f * prev_c + i * g
    return o * np.tanh(next_c), next_c


def lecture_lstm(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> np.ndarray:
    """h (N, T, H): the lecture's LSTM step over x (N, T, D) from h0 (N, H) and c0 = 0."""
    h, c, hs = h0, np.zeros_like(h0), []
    for t in range(x.shape[1]):
        h, c = lecture_lstm_step(x[:, t], h, c, Wx, Wh, b)
        hs.append(h)
    return np.stack(hs, axis=1)
