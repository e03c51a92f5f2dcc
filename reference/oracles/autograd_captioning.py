"""Gradient oracle: the loss of CS231n's CaptioningRNN (reference/captioning.py)
written with ``autograd.numpy`` and differentiated by reverse-mode automatic
differentiation (``autograd.grad``), for cell_type 'rnn' and 'lstm'.

Only the forward math is restated, from the other autograd oracles' forward pieces
(nothing from reference/):

    captions_in, captions_out = captions[:, :-1], captions[:, 1:]
    mask = captions_out != null
    h0     = features·W_proj + b_proj
    x      = onehot(captions_in)·W_embed           (no indexing, as autograd_embedding)
    h      = autograd_rnn._rnn_states / autograd_lstm._lstm_states(x, h0, Wx, Wh, b)
    scores = h·W_vocab + b_vocab
    loss   = -(1/N) Σ_{n,t} mask · log softmax(scores)[captions_out]

All parameters are taken as float64; the gradients come back as new float64 arrays.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import grad

from reference.oracles.autograd_embedding import _masked_softmax_loss, _one_hot
from reference.oracles.autograd_lstm import _lstm_states
from reference.oracles.autograd_rnn import _rnn_states

CAPTIONING_PARAMS = ("W_embed", "W_proj", "b_proj", "Wx", "Wh", "b", "W_vocab", "b_vocab")


def autograd_captioning_loss(
    params: dict[str, np.ndarray], features: np.ndarray, captions: np.ndarray,
    null: int, cell_type: str,
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of CaptioningRNN.loss(features, captions).

    Inputs:
    - params: dict with the keys of CAPTIONING_PARAMS: W_embed (V, W), W_proj (D, H),
      b_proj (H,), Wx (W, kH), Wh (H, kH), b (kH,), W_vocab (H, V), b_vocab (V,),
      k = 1 for 'rnn' and 4 for 'lstm'
    - features: Image features, of shape (N, D)
    - captions: Integer captions, of shape (N, T + 1), each in [0, V)
    - null: Index of the <NULL> token
    - cell_type: 'rnn' or 'lstm'

    Returns a tuple of:
    - loss: The masked cross-entropy summed over time and divided by N, a float
    - grads: dict with the keys of params, each of its parameter's shape, float64
    """
    states = {"rnn": _rnn_states, "lstm": _lstm_states}[cell_type]
    p = {name: np.asarray(params[name], dtype=np.float64) for name in CAPTIONING_PARAMS}
    features = np.asarray(features, dtype=np.float64)
    captions = np.asarray(captions)
    N = features.shape[0]
    V = p["W_embed"].shape[0]
    captions_in, captions_out = captions[:, :-1], captions[:, 1:]
    onehot_in = _one_hot(captions_in, V)  # (N, T, V)
    onehot_out = _one_hot(captions_out, V)  # (N, T, V)
    weight = (captions_out != null).astype(np.float64)  # (N, T)

    def loss(q):
        h0 = anp.dot(features, q["W_proj"]) + q["b_proj"]
        x = anp.dot(onehot_in, q["W_embed"])
        h = states(x, h0, q["Wx"], q["Wh"], q["b"])
        scores = anp.dot(h, q["W_vocab"]) + q["b_vocab"]
        return _masked_softmax_loss(scores, onehot_out, weight, N)

    grads = grad(loss)(p)
    return float(loss(p)), {name: np.asarray(grads[name], dtype=np.float64) for name in p}
