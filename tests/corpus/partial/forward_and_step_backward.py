"""Partial submission: rnn_step_forward, rnn_step_backward and rnn_forward; every other
function still raises NotImplementedError.

Built from the reference solution (reference/), standalone; the stubs are the starter's.
"""
from __future__ import annotations

import numpy as np

STUBBED = ('rnn_backward', 'rnn_backward_truncated', 'clip_grad_norm', 'birnn_forward', 'birnn_backward', 'rnn_classifier_loss', 'tbptt_batches')

StepCache = tuple  # (x, prev_h, Wx, Wh, next_h)
SequenceCache = tuple  # (x, h0, Wx, Wh, step caches)
BiCache = tuple  # (H, forward cache, backward cache)


def rnn_step_forward(
    x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, StepCache]:
    """One timestep of a tanh RNN.

    Inputs:
    - x: Input data for this timestep, of shape (N, D)
    - prev_h: Hidden state from the previous timestep, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, H)
    - Wh: Hidden-to-hidden weights, of shape (H, H)
    - b: Biases, of shape (H,)

    Returns a tuple of:
    - next_h: Next hidden state, tanh(x·Wx + prev_h·Wh + b), of shape (N, H)
    - cache: (x, prev_h, Wx, Wh, next_h), what the backward pass needs
    """
    a = x @ Wx + prev_h @ Wh + b
    next_h = np.tanh(a)
    # next_h (not a) is kept: tanh'(a) = 1 - tanh(a)**2 = 1 - next_h**2.
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def rnn_step_backward(
    dnext_h: np.ndarray, cache: StepCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass for one timestep of a tanh RNN.

    Inputs:
    - dnext_h: Gradient of the loss with respect to next_h, of shape (N, H)
    - cache: Cache from rnn_step_forward (only read, never modified)

    Returns a tuple of:
    - dx: Gradient of the input data, of shape (N, D)
    - dprev_h: Gradient of the previous hidden state, of shape (N, H)
    - dWx: Gradient of the input-to-hidden weights, of shape (D, H)
    - dWh: Gradient of the hidden-to-hidden weights, of shape (H, H)
    - db: Gradient of the biases, of shape (H,)
    """
    x, prev_h, Wx, Wh, next_h = cache
    dtanh = 1 - next_h**2
    da = dnext_h * dtanh  # pre-activation gradient, (N, H)

    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da  # the weight multiplies h_{t-1}, the state *entering* the step
    db = da.sum(axis=0)  # b is broadcast over the batch, so its gradient sums over it
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, SequenceCache]:
    """Run a tanh RNN over a whole sequence of T timesteps.

    Inputs:
    - x: Input data for the entire sequence, of shape (N, T, D)
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, H)
    - Wh: Hidden-to-hidden weights, of shape (H, H)
    - b: Biases, of shape (H,)

    Returns a tuple of:
    - h: Hidden states h_1 … h_T for the entire sequence (h0 excluded), of shape (N, T, H)
    - cache: (x, h0, Wx, Wh, step_caches), what the backward pass needs
    """
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.empty((N, T, H))
    step_caches = []
    prev_h = h0
    for t in range(T):
        next_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = next_h
        step_caches.append(step_cache)
        prev_h = next_h
    # x, h0 and the weights are kept so that the backward pass knows every shape,
    # even for T = 0.
    cache = (x, h0, Wx, Wh, step_caches)
    return h, cache


def rnn_backward(dh, cache):
    """
    Compute the backward pass for a vanilla RNN over an entire sequence of data (full
    backpropagation through time).

    Inputs:
    - dh: Upstream gradients of all hidden states, of shape (N, T, H). dh[:, t] is the
      gradient of the loss with respect to h[:, t] coming from above only (for example
      from an output layer); it does not yet include the gradient that reaches h[:, t]
      through the later timesteps: that part is yours to add.
    - cache: Cache object from rnn_forward

    Returns a tuple of:
    - dx: Gradient of inputs, of shape (N, T, D)
    - dh0: Gradient of initial hidden state, of shape (N, H)
    - dWx: Gradient of input-to-hidden weights, of shape (D, H)
    - dWh: Gradient of hidden-to-hidden weights, of shape (H, H)
    - db: Gradient of biases, of shape (H,)
    """
    raise NotImplementedError("rnn_backward")


def rnn_backward_truncated(dh, cache, window):
    """
    Truncated backpropagation through time, chunked.

    The forward pass (rnn_forward, which made `cache`) ran over the whole sequence. For the
    backward pass the T timesteps are cut into consecutive windows of `window` steps
    starting at t = 0: steps [0, window), [window, 2*window), ...; the last window may be
    shorter. The gradient never crosses a window boundary: the hidden state entering every
    window after the first is treated as a constant (like calling .detach() between chunks
    in PyTorch), so no gradient flows from a window into the steps before it. Within a
    window, backpropagate fully, using the upstream gradients dh of that window's steps.
    Gradients of the shared weights are summed over all windows.

    Equivalently: the result is the sum, over the windows, of full BPTT of each window on
    its own, with the state entering the window held constant. A window >= T gives exactly
    the same result as rnn_backward.

    Inputs:
    - dh: Upstream gradients of all hidden states, of shape (N, T, H)
    - cache: Cache object from rnn_forward
    - window: Window length, an int >= 1

    Returns a tuple of:
    - dx: Gradient of inputs, of shape (N, T, D)
    - dh0: Gradient of the initial hidden state through the first window, of shape (N, H)
    - dWx: Gradient of input-to-hidden weights, of shape (D, H)
    - dWh: Gradient of hidden-to-hidden weights, of shape (H, H)
    - db: Gradient of biases, of shape (H,)
    """
    raise NotImplementedError("rnn_backward_truncated")


def clip_grad_norm(grads, max_norm):
    """
    Clip gradients by their global norm (as torch.nn.utils.clip_grad_norm_ does).

    total_norm is the L2 norm of all the arrays in `grads` taken together, i.e.
    sqrt(sum over all arrays of the sum of their squared entries), computed before clipping.
    If total_norm > max_norm, every array is multiplied by max_norm / total_norm (so the
    clipped gradients have global norm max_norm and the same direction as before);
    otherwise every array is returned unchanged. A zero gradient stays zero (and never
    becomes NaN).

    Inputs:
    - grads: Dictionary mapping names to gradient arrays (float64, any shapes). Do not
      modify the dictionary or its arrays.
    - max_norm: Maximum allowed global norm, a float

    Returns a tuple of:
    - clipped: A new dictionary with the same keys, whose values are NEW float64 arrays
      with the same shapes as the inputs (never the input arrays themselves, also when
      nothing is clipped)
    - total_norm: The global norm before clipping, a float
    """
    raise NotImplementedError("clip_grad_norm")


def birnn_forward(x, h0_f, Wx_f, Wh_f, b_f, h0_b, Wx_b, Wh_b, b_b):
    """
    Forward pass of a bidirectional vanilla RNN: two independent RNNs with the same hidden
    size H, one reading the sequence forward in time (parameters *_f) and one reading it
    backward in time, from x[:, T-1] to x[:, 0] (parameters *_b, starting from h0_b).

    The output uses the torch.nn.RNN(bidirectional=True) layout: both directions are aligned
    to input time. h[:, t, :H] is the forward direction's state after reading
    x[:, 0..t]; h[:, t, H:] is the backward direction's state after reading x[:, T-1..t].

    Inputs:
    - x: Input data, of shape (N, T, D)
    - h0_f, Wx_f, Wh_f, b_f: Initial state (N, H) and parameters (D, H), (H, H), (H,) of the
      forward direction
    - h0_b, Wx_b, Wh_b, b_b: The same for the backward direction

    Returns a tuple of:
    - h: Hidden states of both directions, of shape (N, T, 2H)
    - cache: Values needed in the backward pass
    """
    raise NotImplementedError("birnn_forward")


def birnn_backward(dh, cache):
    """
    Backward pass of a bidirectional vanilla RNN (full backpropagation through time in
    both directions).

    Inputs:
    - dh: Upstream gradients of h from birnn_forward, of shape (N, T, 2H), in the same
      layout as h (dh[..., :H] forward direction, dh[..., H:] backward direction, both
      aligned to input time)
    - cache: Cache object from birnn_forward

    Returns a tuple of:
    - dx: Gradient of the input, of shape (N, T, D) (both directions read x)
    - dh0_f, dWx_f, dWh_f, db_f: Gradients of the forward direction's initial state and
      parameters, of shapes (N, H), (D, H), (H, H), (H,)
    - dh0_b, dWx_b, dWh_b, db_b: The same for the backward direction
    """
    raise NotImplementedError("birnn_backward")


def rnn_classifier_loss(x, y, h0, Wx, Wh, b, W2, b2):
    """
    Loss and gradients of a many-to-one binary classifier: a vanilla RNN reads the whole
    sequence and its last hidden state h_T = h[:, -1] is mapped to one logit per sequence,

        z = h_T.dot(W2) + b2,            of shape (N,)
        loss = mean over the minibatch of the binary cross-entropy of sigmoid(z):
             = mean_n -[y_n log sigmoid(z_n) + (1 - y_n) log(1 - sigmoid(z_n))]

    The loss must be computed stably: it must be finite (and correct) for logits with |z|
    in the thousands. Hint: -log sigmoid(z) = log(1 + exp(-z)); see np.logaddexp.

    Inputs:
    - x: Input data, of shape (N, T, D)
    - y: Labels in {0, 1}, of shape (N,)
    - h0, Wx, Wh, b: Initial state and parameters of the RNN, as in rnn_forward
    - W2: Output weights, of shape (H,)
    - b2: Output bias, of shape (1,)

    Returns a tuple of:
    - loss: Scalar loss, a float
    - grads: Dictionary with the gradients of the loss, keyed by argument name:
      'x', 'h0', 'Wx', 'Wh', 'b', 'W2', 'b2', each of the same shape as that argument
    """
    raise NotImplementedError("rnn_classifier_loss")


def tbptt_batches(series, batch_size, window):
    """
    Lay out one long series as minibatches for truncated BPTT.

    The series has length L along its first axis (any trailing feature axes are carried
    along). It is cut into batch_size rows of stride = L // batch_size steps each: row i
    starts at offset i * stride. Window k of row i is
    series[i * stride + k * window : i * stride + k * window + window]. There are
    num_windows = stride // window windows per row; whatever does not fit is dropped.
    Example: L = 1000, batch_size = 2, window = 10 gives rows starting at 0 and 500 and
    50 windows.

    Inputs:
    - series: Array of shape (L, *features)
    - batch_size: Number of rows, an int >= 1
    - window: Window length, an int >= 1

    Returns:
    - batches: Array of shape (num_windows, batch_size, window, *features) with
      batches[k, i] = window k of row i
    """
    raise NotImplementedError("tbptt_batches")
