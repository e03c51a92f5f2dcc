"""Self-tests of reference/captioning.py, CS231n's CaptioningRNN, for cell_type 'rnn'
and 'lstm':

- the notebook's fixed losses on the linspace-initialised model (9.83235591003 for the
  RNN, 9.82445935443 for the LSTM);
- the gradients of ``loss`` over ALL eight params equal the autograd oracle
  (reference/oracles/autograd_captioning.py), float64 params, captions padded with
  <NULL> and with repeated words;
- the loss is teacher forcing shifted by one: it equals Σ -log p(captions[n, t+1] |
  captions[n, ≤t]) computed by a hand-written step loop, skipping <NULL> targets;
- <NULL> is ignored: a padded batch's loss and grads are the mean of each caption's
  own, truncated after its <END>, and extra <NULL> columns change nothing;
- ``sample`` is greedy from <START>: equal to a hand-written argmax loop (its own
  tanh-RNN / LSTM step), int32 (N, max_length), column 0 the first sampled word.

The last section shows the checks bite: a loss that forgets the shift, one that forgets
the mask, and a sampler that starts from <NULL>, each fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from reference.captioning import PARAM_NAMES, CaptioningRNN
from reference.oracles.autograd_captioning import autograd_captioning_loss

CELLS = ("rnn", "lstm")
WORDS = {"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3, "cat": 4, "dog": 5}
NULL, START, END = 0, 1, 2
N, D, W, H = 4, 5, 3, 6


def _model(cell_type: str, seed: int = 0, scale: float = 1.0) -> CaptioningRNN:
    """A float64 model with O(1) random params (so every gradient is non-trivial)."""
    np.random.seed(seed)
    model = CaptioningRNN(WORDS, input_dim=D, wordvec_dim=W, hidden_dim=H,
                          cell_type=cell_type, dtype=np.float64)
    rng = np.random.default_rng(seed)
    for name, value in model.params.items():
        model.params[name] = scale * rng.standard_normal(value.shape)
    return model


def _features(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((N, D))


# Variable lengths, <NULL> padding, repeated words; (N, T + 1) with T = 6.
CAPTIONS = np.array([
    [START, 3, 4, 3, 5, END, NULL],
    [START, 5, END, NULL, NULL, NULL, NULL],
    [START, 4, 4, 4, 4, 4, END],
    [START, END, NULL, NULL, NULL, NULL, NULL],
])


# --------------------------------------------------------------------------- helpers


def _np_sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _step(cell_type, p, x, h, c):
    """One hand-written tanh-RNN or LSTM (i, f, o, g) step, independent of reference/."""
    a = x @ p["Wx"] + h @ p["Wh"] + p["b"]
    if cell_type == "rnn":
        return np.tanh(a), c
    i, f, o, g = np.split(a, 4, axis=1)
    c = _np_sigmoid(f) * c + _np_sigmoid(i) * np.tanh(g)
    return _np_sigmoid(o) * np.tanh(c), c


def _teacher_forced_loss(cell_type, params, features, captions):
    """Σ_n Σ_t [captions[n, t+1] != NULL] · -log p(captions[n, t+1] | captions[n, ≤t]) / N."""
    p = params
    h = features @ p["W_proj"] + p["b_proj"]
    c = np.zeros_like(h)
    total = 0.0
    for t in range(captions.shape[1] - 1):
        h, c = _step(cell_type, p, p["W_embed"][captions[:, t]], h, c)
        s = h @ p["W_vocab"] + p["b_vocab"]
        log_p = s - s.max(axis=1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        target = captions[:, t + 1]
        total -= np.where(target != NULL, log_p[np.arange(len(target)), target], 0.0).sum()
    return total / features.shape[0]


def _greedy(cell_type, params, features, max_length):
    """Hand-written greedy loop: from <START>, feed back the argmax word each step."""
    p = params
    h = features @ p["W_proj"] + p["b_proj"]
    c = np.zeros_like(h)
    word = np.full(features.shape[0], START)
    out = []
    for _ in range(max_length):
        h, c = _step(cell_type, p, p["W_embed"][word], h, c)
        word = np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1)
        out.append(word)
    return np.stack(out, axis=1)


def _check_oracle(model):
    features = _features()
    loss, grads = model.loss(features, CAPTIONS)
    want_loss, want = autograd_captioning_loss(model.params, features, CAPTIONS, NULL, model.cell_type)
    assert set(grads) == set(PARAM_NAMES) == set(model.params)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    for name in PARAM_NAMES:
        assert grads[name].shape == model.params[name].shape, name
        assert np.abs(want[name]).max() > 1e-6, name  # every gradient is exercised
        np.testing.assert_allclose(grads[name], want[name], rtol=1e-9, atol=1e-12, err_msg=name)


def _check_teacher_forcing(model):
    features = _features()
    loss, _ = model.loss(features, CAPTIONS)
    want = _teacher_forced_loss(model.cell_type, model.params, features, CAPTIONS)
    assert loss == pytest.approx(want, rel=1e-12)


def _check_null_ignored(model):
    features = _features()
    loss, grads = model.loss(features, CAPTIONS)
    # Each caption alone, truncated right after its <END>: the batch is their mean.
    singles = []
    for n in range(N):
        length = int(np.flatnonzero(CAPTIONS[n] == END)[0]) + 1
        singles.append(model.loss(features[n:n + 1], CAPTIONS[n:n + 1, :length]))
    assert loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-12)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(grads[name], np.mean([s[1][name] for s in singles], axis=0),
                                   rtol=1e-9, atol=1e-13, err_msg=name)
    # Extra <NULL> columns change nothing.
    padded = np.hstack([CAPTIONS, np.full((N, 3), NULL)])
    loss2, grads2 = model.loss(features, padded)
    assert loss2 == pytest.approx(loss, rel=1e-12)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(grads2[name], grads[name], rtol=1e-9, atol=1e-13, err_msg=name)


def _check_sample(model, max_length=7):
    features = _features(2)
    got = model.sample(features, max_length=max_length)
    assert got.dtype == np.int32 and got.shape == (N, max_length)
    np.testing.assert_array_equal(got, _greedy(model.cell_type, model.params, features, max_length))


# --------------------------------------------------------------------------- the reference


@pytest.mark.parametrize("cell_type, low, high, expected", [
    ("rnn", -1.5, 0.3, 9.83235591003),
    ("lstm", -0.5, 1.7, 9.82445935443),
])
def test_notebook_loss_on_linspace_model(cell_type, low, high, expected):
    n, d, w, h, t = 10, 20, 30, 40, 13
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}  # the notebook's: no <START>/<END>
    v = len(word_to_idx)
    model = CaptioningRNN(word_to_idx, input_dim=d, wordvec_dim=w, hidden_dim=h,
                          cell_type=cell_type, dtype=np.float64)
    for name, value in model.params.items():
        model.params[name] = np.linspace(-1.4, 1.3, num=value.size).reshape(*value.shape)
    features = np.linspace(low, high, num=n * d).reshape(n, d)
    captions = (np.arange(n * t) % v).reshape(n, t)
    loss, _ = model.loss(features, captions)
    assert abs(loss - expected) < 1e-9


@pytest.mark.parametrize("cell_type", CELLS)
def test_init_shapes_dtype_and_special_tokens(cell_type):
    k = 4 if cell_type == "lstm" else 1
    model = CaptioningRNN(WORDS, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell_type)
    V = len(WORDS)
    shapes = dict(W_embed=(V, W), W_proj=(D, H), b_proj=(H,), Wx=(W, k * H), Wh=(H, k * H),
                  b=(k * H,), W_vocab=(H, V), b_vocab=(V,))
    assert {name: value.shape for name, value in model.params.items()} == shapes
    assert all(value.dtype == np.float32 for value in model.params.values())
    with pytest.raises(ValueError):
        CaptioningRNN(WORDS, cell_type="gru")


@pytest.mark.parametrize("cell_type", CELLS)
def test_gradients_of_all_params_equal_autograd(cell_type):
    _check_oracle(_model(cell_type))


@pytest.mark.parametrize("cell_type", CELLS)
def test_loss_is_teacher_forcing_shifted_by_one(cell_type):
    _check_teacher_forcing(_model(cell_type))


@pytest.mark.parametrize("cell_type", CELLS)
def test_null_targets_are_ignored(cell_type):
    _check_null_ignored(_model(cell_type))


@pytest.mark.parametrize("cell_type", CELLS)
def test_loss_modifies_neither_inputs_nor_params(cell_type):
    model = _model(cell_type)
    features, captions = _features(), CAPTIONS.copy()
    before = {name: value.copy() for name, value in model.params.items()}
    model.loss(features, captions)
    model.sample(features)
    np.testing.assert_array_equal(captions, CAPTIONS)
    np.testing.assert_array_equal(features, _features())
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(model.params[name], before[name])


@pytest.mark.parametrize("cell_type", CELLS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sample_is_greedy_from_start(cell_type, seed):
    model = _model(cell_type, seed=seed, scale=2.0)
    _check_sample(model)
    # Several different words are sampled, so the argmax comparison is not trivial.
    assert len(np.unique(model.sample(_features(2), max_length=7))) > 1


@pytest.mark.parametrize("cell_type", CELLS)
def test_sample_runs_to_max_length_past_end(cell_type):
    model = _model(cell_type)
    model.params["b_vocab"] = np.where(np.arange(len(WORDS)) == END, 100.0, 0.0)
    got = model.sample(_features(2), max_length=5)
    np.testing.assert_array_equal(got, np.full((N, 5), END))  # column 0 is a sampled word


# --------------------------------------------------------------------------- the checks bite


class _NoMask(CaptioningRNN):
    """Bug: <NULL> targets are scored too (mask ignored)."""

    def loss(self, features, captions):
        self._null = -1  # no token equals -1, so nothing is masked
        try:
            return super().loss(features, captions)
        finally:
            self._null = NULL


class _StartFromNull(CaptioningRNN):
    """Bug: the first input word is <NULL>, not <START>."""

    def sample(self, features, max_length=30):
        self._start = NULL
        try:
            return super().sample(features, max_length)
        finally:
            self._start = START


def _buggy(cls, cell_type, scale=1.0):
    model = _model(cell_type, scale=scale)
    bug = cls(WORDS, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell_type, dtype=np.float64)
    bug.params = model.params
    return bug


@pytest.mark.parametrize("cell_type", CELLS)
def test_checks_catch_a_loss_that_forgets_the_shift(cell_type, monkeypatch):
    """Bug: each position is scored against its own input word (captions_out =
    captions_in), made by handing the softmax loss the inputs instead of the targets
    (captions_in[:, t] is <START> for t = 0, captions_out[:, t - 1] after)."""
    import reference.captioning as captioning

    real = captioning.temporal_softmax_loss

    def unshifted(scores, y, mask, verbose=False):
        y_in = np.hstack([np.full((y.shape[0], 1), START), y[:, :-1]])
        return real(scores, y_in, y_in != NULL, verbose)

    monkeypatch.setattr(captioning, "temporal_softmax_loss", unshifted)
    bug = _model(cell_type)
    with pytest.raises(AssertionError):
        _check_teacher_forcing(bug)
    with pytest.raises(AssertionError):
        _check_oracle(bug)


@pytest.mark.parametrize("cell_type", CELLS)
def test_checks_catch_a_loss_that_forgets_the_mask(cell_type):
    bug = _buggy(_NoMask, cell_type)
    for check in (_check_null_ignored, _check_teacher_forcing, _check_oracle):
        with pytest.raises(AssertionError):
            check(bug)


@pytest.mark.parametrize("cell_type", CELLS)
def test_checks_catch_a_sampler_that_starts_from_null(cell_type):
    with pytest.raises(AssertionError):
        _check_sample(_buggy(_StartFromNull, cell_type, scale=2.0))
