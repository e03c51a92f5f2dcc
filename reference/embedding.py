"""Word embedding and the temporal layers of CS231n's captioning model, forward and
backward.

Row-vector convention, as in CS231n's ``rnn_layers.py``; x[n, t] is word t of caption n.

Word embedding (a table lookup, W of shape (V, D)):

    out[n, t] = W[x[n, t]]
    dW[v]     = Σ_{(n, t) : x[n, t] = v} dout[n, t]

A word that occurs k times receives k gradients, which must all be added:
``np.add.at`` does that, while ``dW[x] += dout`` keeps only one of them (buffered fancy
indexing writes each repeated row once).

Temporal affine layer (the same affine map at every timestep, w of shape (D, M)):

    out[n, t] = x[n, t]·w + b
    dx[n, t]  = dout[n, t]·wᵀ      dw = Σ_{n,t} x[n, t]ᵀ·dout[n, t]      db = Σ_{n,t} dout[n, t]

Temporal softmax loss (scores x of shape (N, T, V), labels y, boolean mask):

    log p[n, t]  = x[n, t] - logsumexp(x[n, t])
    loss         = -(1/N) Σ_{n,t} mask[n, t] · log p[n, t, y[n, t]]
    dx[n, t]     = (1/N) · mask[n, t] · (softmax(x[n, t]) - onehot(y[n, t]))

normalised by the batch size N, as CS231n does, not by the number of unmasked
positions. logsumexp is computed after subtracting each row's maximum, and the loss
uses log p directly (never log(softmax)), so scores in the thousands give a finite
loss and gradient. Masked positions contribute exactly nothing to either.

No function here modifies its inputs, and the backward functions only read their
cache, so a cache can be back-propagated more than once.
"""

from __future__ import annotations

import numpy as np

EmbeddingCache = tuple[np.ndarray, tuple[int, int]]
AffineCache = tuple[np.ndarray, np.ndarray, np.ndarray]


# --------------------------------------------------------------------------- embedding


def word_embedding_forward(x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, EmbeddingCache]:
    """Look up the vector of every word: minibatches of N sequences of length T, each
    word an index into a vocabulary of V words, each vector of dimension D.

    Inputs:
    - x: Integer array of shape (N, T) giving indices of words, each 0 <= idx < V
    - W: Weight matrix of shape (V, D) giving word vectors for all words

    Returns a tuple of:
    - out: Array of shape (N, T, D) giving word vectors for all input words,
      out[n, t] = W[x[n, t]]
    - cache: (x, W.shape), what the backward pass needs
    """
    out = W[x]  # fancy indexing copies: out shares no memory with W
    # The backward needs only which row every position read, and W's shape.
    cache = (np.array(x), W.shape)
    return out, cache


def word_embedding_backward(dout: np.ndarray, cache: EmbeddingCache) -> np.ndarray:
    """Backward pass for word embeddings. Only the word vectors are differentiated:
    the indices are integers.

    Inputs:
    - dout: Upstream gradients of out, of shape (N, T, D)
    - cache: Cache from word_embedding_forward (only read, never modified)

    Returns:
    - dW: Gradient of the word embedding matrix, of shape (V, D); a word that occurs
      several times in x receives the sum of the gradients of all its occurrences
    """
    x, W_shape = cache
    dW = np.zeros(W_shape)
    # Unbuffered: every (n, t) adds its dout[n, t] to row x[n, t], repeats included.
    np.add.at(dW, x, dout)
    return dW


# --------------------------------------------------------------------------- temporal affine


def temporal_affine_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, AffineCache]:
    """The same affine layer applied at every timestep of every sequence.

    Inputs:
    - x: Input data, of shape (N, T, D)
    - w: Weights, of shape (D, M)
    - b: Biases, of shape (M,)

    Returns a tuple of:
    - out: Output data, out[n, t] = x[n, t]·w + b, of shape (N, T, M)
    - cache: (x, w, b), what the backward pass needs
    """
    N, T, D = x.shape
    M = b.shape[0]
    # Timesteps are independent here: fold time into the batch, one matrix product.
    out = (x.reshape(N * T, D) @ w + b).reshape(N, T, M)
    cache = (x, w, b)
    return out, cache


def temporal_affine_backward(
    dout: np.ndarray, cache: AffineCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass for the temporal affine layer.

    Inputs:
    - dout: Upstream gradients of out, of shape (N, T, M)
    - cache: Cache from temporal_affine_forward (only read, never modified)

    Returns a tuple of:
    - dx: Gradient of the input, of shape (N, T, D)
    - dw: Gradient of the weights, of shape (D, M)
    - db: Gradient of the biases, of shape (M,)
    """
    x, w, b = cache
    N, T, D = x.shape
    M = b.shape[0]
    x_rows = x.reshape(N * T, D)
    dout_rows = dout.reshape(N * T, M)

    dx = (dout_rows @ w.T).reshape(N, T, D)
    # w and b are shared by every (n, t): their gradients sum over batch *and* time.
    dw = x_rows.T @ dout_rows
    db = dout_rows.sum(axis=0)
    return dx, dw, db


# --------------------------------------------------------------------------- softmax loss


def temporal_softmax_loss(
    x: np.ndarray, y: np.ndarray, mask: np.ndarray, verbose: bool = False
) -> tuple[float, np.ndarray]:
    """A softmax classifier at every timestep, over a vocabulary of size V, summed over
    the unmasked timesteps and averaged over the minibatch (divided by N).

    At a timestep where mask is False (a <NULL> token after the caption's end) the
    scores are ignored: they change neither the loss nor dx, and dx is 0 there.

    Inputs:
    - x: Input scores, of shape (N, T, V); finite, of any magnitude
    - y: Ground-truth indices, of shape (N, T), each 0 <= y[n, t] < V
    - mask: Boolean array of shape (N, T), mask[n, t] telling whether the scores at
      x[n, t] contribute to the loss
    - verbose: If True, print the shape of the flattened gradient (as CS231n's does)

    Returns a tuple of:
    - loss: Scalar giving the loss, a float
    - dx: Gradient of the loss with respect to the scores x, of shape (N, T, V)
    """
    N, T, V = x.shape
    x_rows = x.reshape(N * T, V)
    y_rows = y.reshape(N * T)
    keep = mask.reshape(N * T).astype(bool)
    rows = np.arange(N * T)

    # Shift each row by its maximum: exp never overflows and the largest term is 1.
    shifted = x_rows - x_rows.max(axis=1, keepdims=True)
    exp_shifted = np.exp(shifted)
    sum_exp = exp_shifted.sum(axis=1, keepdims=True)  # in [1, V]
    log_probs = shifted - np.log(sum_exp)  # finite even where a probability underflows
    probs = exp_shifted / sum_exp

    # np.where rather than multiplying by the mask: masked rows add an exact 0.
    nll = np.where(keep, -log_probs[rows, y_rows], 0.0)
    loss = float(nll.sum() / N)

    dx_rows = probs.copy()
    dx_rows[rows, y_rows] -= 1.0  # softmax - onehot(y), one row per (n, t)
    dx_rows = np.where(keep[:, None], dx_rows, 0.0) / N
    if verbose:
        print("dx_flat: ", dx_rows.shape)
    dx = dx_rows.reshape(N, T, V)
    return loss, dx
