"""CS231n's image-captioning model, CaptioningRNN, built from the reference layers.

Row-vector convention of CS231n's ``classifiers/rnn.py``. With features (N, D),
captions (N, T + 1), vocabulary size V, word vectors of size W, hidden size H and
k = 1 (RNN) or 4 (LSTM):

    captions_in  = captions[:, :-1]        (N, T)   the words fed in
    captions_out = captions[:, 1:]         (N, T)   the words to predict (shifted by one)
    mask         = captions_out != <NULL>  (N, T)   padding contributes nothing

    h0     = features·W_proj + b_proj                  (N, H)
    x      = W_embed[captions_in]                       (N, T, W)
    h      = rnn_forward / lstm_forward(x, h0, Wx, Wh, b)   (N, T, H), LSTM from c0 = 0
    scores = h·W_vocab + b_vocab                        (N, T, V)
    loss   = temporal_softmax_loss(scores, captions_out, mask)   (divided by N)

The backward runs the same chain in reverse, each step written beside its forward in
``loss``. There is no regularisation.

``sample`` is greedy: from h0 and the word <START>, each step feeds the previous word's
vector to one RNN/LSTM step, takes the argmax of the scores, stores it and feeds it
back. Column 0 is the first sampled word (not <START>). This reference runs all
``max_length`` steps, even after <END> (the course accepts both that and stopping at
<END> with <NULL> after it).

All arithmetic runs in the reference layers' float64; ``params`` are stored in
``dtype``. No method modifies its inputs or ``params``.
"""

from __future__ import annotations

import numpy as np

from .embedding import (
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from .lstm import lstm_backward, lstm_forward, lstm_step_forward
from .rnn import rnn_backward, rnn_forward, rnn_step_forward

PARAM_NAMES = ("W_embed", "W_proj", "b_proj", "Wx", "Wh", "b", "W_vocab", "b_vocab")


class CaptioningRNN:
    """Produces captions from image features with a vanilla RNN or an LSTM.

    The RNN reads input vectors of size D, has a vocabulary of size V, works on
    sequences of length T, has word vectors of size W and hidden size H.
    """

    def __init__(
        self,
        word_to_idx: dict[str, int],
        input_dim: int = 512,
        wordvec_dim: int = 128,
        hidden_dim: int = 128,
        cell_type: str = "rnn",
        dtype: type = np.float32,
    ) -> None:
        """Construct a new CaptioningRNN instance, with CS231n's initialisation
        (drawn from np.random, in CS231n's order).

        Inputs:
        - word_to_idx: A dictionary giving the vocabulary. It contains V entries and
          maps each string to a unique integer in [0, V); <NULL> is required,
          <START> and <END> are looked up if present
        - input_dim: Dimension D of input image feature vectors
        - wordvec_dim: Dimension W of word vectors
        - hidden_dim: Dimension H of the hidden state of the RNN
        - cell_type: What type of RNN to use; either 'rnn' or 'lstm'
        - dtype: numpy datatype of params; float32 for training, float64 for gradient
          checking
        """
        if cell_type not in {"rnn", "lstm"}:
            raise ValueError(f'Invalid cell_type "{cell_type}"')
        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self.params: dict[str, np.ndarray] = {}

        vocab_size = len(word_to_idx)
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)

        k = {"lstm": 4, "rnn": 1}[cell_type]
        # Word vectors (V, W)
        self.params["W_embed"] = np.random.randn(vocab_size, wordvec_dim) / 100
        # Feature projection to the initial hidden state: (D, H), (H,)
        self.params["W_proj"] = np.random.randn(input_dim, hidden_dim) / np.sqrt(input_dim)
        self.params["b_proj"] = np.zeros(hidden_dim)
        # RNN / LSTM parameters: (W, kH), (H, kH), (kH,)
        self.params["Wx"] = np.random.randn(wordvec_dim, k * hidden_dim) / np.sqrt(wordvec_dim)
        self.params["Wh"] = np.random.randn(hidden_dim, k * hidden_dim) / np.sqrt(hidden_dim)
        self.params["b"] = np.zeros(k * hidden_dim)
        # Hidden-to-vocabulary scores: (H, V), (V,)
        self.params["W_vocab"] = np.random.randn(hidden_dim, vocab_size) / np.sqrt(hidden_dim)
        self.params["b_vocab"] = np.zeros(vocab_size)

        for name, value in self.params.items():
            self.params[name] = value.astype(self.dtype)

    def loss(self, features: np.ndarray, captions: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Training-time loss and gradients of the model.

        Inputs:
        - features: Input image features, of shape (N, D)
        - captions: Ground-truth captions, an integer array of shape (N, T + 1), each
          element in [0, V); the input is captions[:, :-1], the target captions[:, 1:],
          and target positions equal to <NULL> are ignored

        Returns a tuple of:
        - loss: Scalar loss, a float (masked cross-entropy summed over time, divided by N)
        - grads: Dictionary with the same keys as self.params, each gradient of the shape
          of its parameter (float64)
        """
        captions = np.asarray(captions)
        captions_in = captions[:, :-1]  # (N, T)
        captions_out = captions[:, 1:]  # (N, T): word t+1 is predicted from words ≤ t
        mask = captions_out != self._null  # (N, T)

        p = {name: np.asarray(value, dtype=np.float64) for name, value in self.params.items()}
        features = np.asarray(features, dtype=np.float64)
        sequence_forward, sequence_backward = {
            "rnn": (rnn_forward, rnn_backward),
            "lstm": (lstm_forward, lstm_backward),
        }[self.cell_type]

        # Forward, in the order of the math.
        h0 = features @ p["W_proj"] + p["b_proj"]  # (N, H)
        x, embed_cache = word_embedding_forward(captions_in, p["W_embed"])  # (N, T, W)
        h, seq_cache = sequence_forward(x, h0, p["Wx"], p["Wh"], p["b"])  # (N, T, H)
        scores, affine_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])  # (N, T, V)
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)  # dscores (N, T, V)

        # Backward, the same chain in reverse.
        grads: dict[str, np.ndarray] = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, affine_cache)
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = sequence_backward(dh, seq_cache)
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        # h0 = features·W_proj + b_proj: b_proj is broadcast over the batch.
        grads["W_proj"] = features.T @ dh0
        grads["b_proj"] = dh0.sum(axis=0)
        return loss, grads

    def sample(self, features: np.ndarray, max_length: int = 30) -> np.ndarray:
        """Greedy test-time sampling of captions.

        From h0 = features·W_proj + b_proj (and c0 = 0 for the LSTM) and the input word
        <START>, each of the max_length steps embeds the previous word, runs one
        RNN/LSTM step, scores the vocabulary with W_vocab, b_vocab and takes the argmax,
        which is stored and becomes the next input word.

        Inputs:
        - features: Array of input image features, of shape (N, D)
        - max_length: Maximum length T of generated captions

        Returns:
        - captions: int32 array of shape (N, max_length); captions[:, t] is the word
          sampled at step t (column 0 is the first sampled word, not <START>). The
          array starts filled with <NULL>; all max_length steps are sampled.
        """
        if self._start is None:
            raise ValueError("sample needs a <START> token in word_to_idx")
        p = {name: np.asarray(value, dtype=np.float64) for name, value in self.params.items()}
        features = np.asarray(features, dtype=np.float64)
        N = features.shape[0]
        captions = self._null * np.ones((N, max_length), dtype=np.int32)

        prev_h = features @ p["W_proj"] + p["b_proj"]  # (N, H)
        prev_c = np.zeros_like(prev_h)  # (N, H), used by the LSTM only
        word = np.full(N, self._start, dtype=np.int64)  # (N,)
        for t in range(max_length):
            x = p["W_embed"][word]  # (N, W)
            if self.cell_type == "rnn":
                prev_h, _ = rnn_step_forward(x, prev_h, p["Wx"], p["Wh"], p["b"])
            else:
                prev_h, prev_c, _ = lstm_step_forward(x, prev_h, prev_c, p["Wx"], p["Wh"], p["b"])
            scores = prev_h @ p["W_vocab"] + p["b_vocab"]  # (N, V)
            word = np.argmax(scores, axis=1)  # (N,)
            captions[:, t] = word
        return captions
