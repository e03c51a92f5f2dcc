"""Recurrent layers in NumPy: the file you start from.

Implement the functions below and hand in this file: the vanilla RNN's ten functions first, then
the LSTM, the GRU, the word embedding, the temporal layers and the CaptioningRNN model (its loss
and sample methods). The grader (rnn-grade) calls each function on many random inputs and
compares what it returns with a reference implementation, finite differences and a few exact
identities. docs/contract.md is the authoritative statement of the contract; the docstrings below
repeat it. sigmoid is provided, as in CS231n's starter.

Conventions (as in CS231n's rnn_layers.py):
- Row vectors: a minibatch of N vectors of size D is an array of shape (N, D), and a layer
  computes x.dot(W), not W.dot(x).
- Sizes: N minibatch size, T number of timesteps, D input dimension, H hidden dimension; V
  vocabulary size and M output dimension for the word embedding and temporal layers.
- All arrays are float64, and every returned array must have exactly the shape stated here
  (for example db is (H,), not (1, H)).
- A cache is whatever your forward pass wants to hand to its backward pass; the grader never
  looks inside it, never reuses it, and always passes it back to your own backward function.
- No function may modify its inputs (not x, not dh, not the arrays in a grads dict, ...).

Only numpy may be imported.
"""
import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """
    Run the forward pass for a single timestep of a vanilla RNN with a tanh activation.

    next_h = tanh(x.dot(Wx) + prev_h.dot(Wh) + b)

    Inputs:
    - x: Input data for this timestep, of shape (N, D)
    - prev_h: Hidden state from the previous timestep, of shape (N, H)
    - Wx: Weight matrix for input-to-hidden connections, of shape (D, H)
    - Wh: Weight matrix for hidden-to-hidden connections, of shape (H, H)
    - b: Biases, of shape (H,)

    Returns a tuple of:
    - next_h: Next hidden state, of shape (N, H)
    - cache: Values needed for the backward pass (your choice)
    """
    raise NotImplementedError("rnn_step_forward")


def rnn_step_backward(dnext_h, cache):
    """
    Backward pass for a single timestep of a vanilla RNN.

    Hint: the derivative of tanh can be written with its output: if next_h = tanh(a), then
    d next_h / d a = 1 - next_h ** 2.

    Inputs:
    - dnext_h: Gradient of the loss with respect to next_h, of shape (N, H)
    - cache: Cache object from rnn_step_forward

    Returns a tuple of:
    - dx: Gradient of the input data, of shape (N, D)
    - dprev_h: Gradient of the previous hidden state, of shape (N, H)
    - dWx: Gradient of the input-to-hidden weights, of shape (D, H)
    - dWh: Gradient of the hidden-to-hidden weights, of shape (H, H)
    - db: Gradient of the biases, of shape (H,)
    """
    raise NotImplementedError("rnn_step_backward")


def rnn_forward(x, h0, Wx, Wh, b):
    """
    Run a vanilla RNN forward on an entire sequence of data. The input sequence has T
    timesteps of vectors of dimension D; the RNN has hidden size H and works over a
    minibatch of N sequences. h_0 = h0 and, for t = 1..T,
    h_t = tanh(x_t.dot(Wx) + h_{t-1}.dot(Wh) + b).

    Inputs:
    - x: Input data for the entire timeseries, of shape (N, T, D)
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Weight matrix for input-to-hidden connections, of shape (D, H)
    - Wh: Weight matrix for hidden-to-hidden connections, of shape (H, H)
    - b: Biases, of shape (H,)

    Returns a tuple of:
    - h: Hidden states for the entire timeseries, of shape (N, T, H). h[:, t] is the state
      after reading x[:, t]: h holds h_1 .. h_T and does NOT include h0.
    - cache: Values needed in the backward pass
    """
    raise NotImplementedError("rnn_forward")


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


def sigmoid(x):
    """
    A numerically stable version of the logistic sigmoid function, 1 / (1 + exp(-x)), elementwise.
    Provided (as in CS231n's starter): exp is only ever taken of -|x|, so it never overflows.
    """
    pos_mask = x >= 0
    neg_mask = x < 0
    z = np.zeros_like(x)
    z[pos_mask] = np.exp(-x[pos_mask])
    z[neg_mask] = np.exp(x[neg_mask])
    top = np.ones_like(x)
    top[neg_mask] = z[neg_mask]
    return top / (1 + z)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """
    Forward pass for a single timestep of an LSTM. The input data has dimension D, the hidden
    state has dimension H, and we use a minibatch size of N.

        a      = x.dot(Wx) + prev_h.dot(Wh) + b              of shape (N, 4H)
        i = sigmoid(a[:, :H])        input gate
        f = sigmoid(a[:, H:2H])      forget gate
        o = sigmoid(a[:, 2H:3H])     output gate
        g = tanh(a[:, 3H:])          block input
        next_c = f * prev_c + i * g
        next_h = o * tanh(next_c)

    The gate order is i, f, o, g (CS231n's; torch.nn.LSTM's is i, f, g, o). Use the provided
    sigmoid: it must stay finite and warning-free for pre-activations in the thousands.

    Inputs:
    - x: Input data for this timestep, of shape (N, D)
    - prev_h: Previous hidden state, of shape (N, H)
    - prev_c: Previous cell state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, 4H)
    - Wh: Hidden-to-hidden weights, of shape (H, 4H)
    - b: Biases, of shape (4H,)

    Returns a tuple of:
    - next_h: Next hidden state, of shape (N, H)
    - next_c: Next cell state, of shape (N, H)
    - cache: Values needed for the backward pass (your choice)
    """
    raise NotImplementedError("lstm_step_forward")


def lstm_step_backward(dnext_h, dnext_c, cache):
    """
    Backward pass for a single timestep of an LSTM.

    next_c reaches the loss twice: through next_h = o * tanh(next_c) and through the next
    timestep (dnext_c). Its total gradient is dnext_c + dnext_h * o * (1 - tanh(next_c) ** 2).
    Make that a new array: never add to dnext_c in place (it belongs to the caller). The
    derivatives can be written with the gate values: sigmoid' = s * (1 - s), tanh' = 1 - t ** 2.

    Inputs:
    - dnext_h: Gradients of next hidden state, of shape (N, H)
    - dnext_c: Gradients of next cell state, of shape (N, H)
    - cache: Values from the forward pass

    Returns a tuple of:
    - dx: Gradient of input data, of shape (N, D)
    - dprev_h: Gradient of previous hidden state, of shape (N, H)
    - dprev_c: Gradient of previous cell state, of shape (N, H)
    - dWx: Gradient of input-to-hidden weights, of shape (D, 4H)
    - dWh: Gradient of hidden-to-hidden weights, of shape (H, 4H)
    - db: Gradient of biases, of shape (4H,)
    dWx, dWh and db keep the gate order i, f, o, g.
    """
    raise NotImplementedError("lstm_step_backward")


def lstm_forward(x, h0, Wx, Wh, b):
    """
    Forward pass for an LSTM over an entire sequence of data. We assume an input sequence
    composed of T vectors, each of dimension D. The LSTM uses a hidden size of H, and we work
    over a minibatch containing N sequences. After running the LSTM forward, we return the
    hidden states for all timesteps.

    The initial cell state is zero (c0 = 0, not an argument); the initial hidden state is h0.
    The cell states are not returned.

    Inputs:
    - x: Input data, of shape (N, T, D)
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Weights for input-to-hidden connections, of shape (D, 4H)
    - Wh: Weights for hidden-to-hidden connections, of shape (H, 4H)
    - b: Biases, of shape (4H,)

    Returns a tuple of:
    - h: Hidden states for all timesteps of all sequences, of shape (N, T, H): h_1 .. h_T,
      not h0
    - cache: Values needed for the backward pass
    """
    raise NotImplementedError("lstm_forward")


def lstm_backward(dh, cache):
    """
    Backward pass for an LSTM over an entire sequence of data (full backpropagation through
    time). Two gradients travel back through time, of h and of c; beyond the last timestep
    both are zero. As for the vanilla RNN, dh[:, t] comes from above only: the gradient that
    reaches h_t from step t+1 is yours to add. The weights are shared: sum their gradients.

    Inputs:
    - dh: Upstream gradients of hidden states, of shape (N, T, H)
    - cache: Values from the forward pass

    Returns a tuple of:
    - dx: Gradient of input data of shape (N, T, D)
    - dh0: Gradient of initial hidden state of shape (N, H)
    - dWx: Gradient of input-to-hidden weight matrix of shape (D, 4H)
    - dWh: Gradient of hidden-to-hidden weight matrix of shape (H, 4H)
    - db: Gradient of biases, of shape (4H,)
    There is no dc0: c0 = 0 is a constant.
    """
    raise NotImplementedError("lstm_backward")


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    """
    Forward pass for a single timestep of a GRU, with exactly torch.nn.GRU's equations in
    row-vector form. Every weight and bias is three blocks of H columns in the order r, z, n
    (Wx_r = Wx[:, :H], Wx_z = Wx[:, H:2H], Wx_n = Wx[:, 2H:], and the same for Wh, bx, bh):

        r      = sigmoid(x.dot(Wx_r) + bx_r + prev_h.dot(Wh_r) + bh_r)        reset gate
        z      = sigmoid(x.dot(Wx_z) + bx_z + prev_h.dot(Wh_z) + bh_z)        update gate
        n      = tanh(x.dot(Wx_n) + bx_n + r * (prev_h.dot(Wh_n) + bh_n))     candidate state
        next_h = (1 - z) * n + z * prev_h

    Note that r multiplies the hidden side of n after its bias bh_n is added. Write next_h as
    above: with z exactly 1 it is then exactly prev_h.

    Inputs:
    - x: Input data for this timestep, of shape (N, D)
    - prev_h: Previous hidden state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, 3H)
    - Wh: Hidden-to-hidden weights, of shape (H, 3H)
    - bx: Input-side biases, of shape (3H,)
    - bh: Hidden-side biases, of shape (3H,)

    Returns a tuple of:
    - next_h: Next hidden state, of shape (N, H)
    - cache: Values needed for the backward pass (your choice)
    """
    raise NotImplementedError("gru_step_forward")


def gru_step_backward(dnext_h, cache):
    """
    Backward pass for a single timestep of a GRU. prev_h reaches next_h directly (through
    z * prev_h) and through all three gates. The r and z blocks of dbx and dbh are equal; the
    n blocks differ, because r multiplies the hidden side of n.

    Inputs:
    - dnext_h: Gradient of the loss with respect to next_h, of shape (N, H)
    - cache: Values from the forward pass

    Returns a tuple of:
    - dx: Gradient of input data, of shape (N, D)
    - dprev_h: Gradient of previous hidden state, of shape (N, H)
    - dWx: Gradient of input-to-hidden weights, of shape (D, 3H)
    - dWh: Gradient of hidden-to-hidden weights, of shape (H, 3H)
    - dbx: Gradient of input-side biases, of shape (3H,)
    - dbh: Gradient of hidden-side biases, of shape (3H,)
    """
    raise NotImplementedError("gru_step_backward")


def gru_forward(x, h0, Wx, Wh, bx, bh):
    """
    Run a GRU forward on an entire sequence of data: h_0 = h0 and, for t = 1..T, h_t is
    gru_step_forward's next_h from x_t and h_{t-1}.

    Inputs:
    - x: Input data, of shape (N, T, D)
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, 3H)
    - Wh: Hidden-to-hidden weights, of shape (H, 3H)
    - bx: Input-side biases, of shape (3H,)
    - bh: Hidden-side biases, of shape (3H,)

    Returns a tuple of:
    - h: Hidden states for the entire sequence, of shape (N, T, H): h_1 .. h_T, not h0
    - cache: Values needed for the backward pass
    """
    raise NotImplementedError("gru_forward")


def gru_backward(dh, cache):
    """
    Backward pass for a GRU over an entire sequence of data (full backpropagation through
    time, as rnn_backward: dh[:, t] comes from above only, and the gradients of the shared
    weights and biases are summed over time).

    Inputs:
    - dh: Upstream gradients of all hidden states, of shape (N, T, H)
    - cache: Values from the forward pass

    Returns a tuple of:
    - dx: Gradient of input data, of shape (N, T, D)
    - dh0: Gradient of the initial hidden state, of shape (N, H)
    - dWx: Gradient of input-to-hidden weights, of shape (D, 3H)
    - dWh: Gradient of hidden-to-hidden weights, of shape (H, 3H)
    - dbx: Gradient of input-side biases, of shape (3H,)
    - dbh: Gradient of hidden-side biases, of shape (3H,)
    """
    raise NotImplementedError("gru_backward")


def word_embedding_forward(x, W):
    """
    Forward pass for word embeddings. We operate on minibatches of size N where each sequence
    has length T. We assume a vocabulary of V words, assigning each word to a vector of
    dimension D: out[n, t] = W[x[n, t]].

    Inputs:
    - x: Integer array of shape (N, T) giving indices of words. Each element idx of x must be
      in the range 0 <= idx < V.
    - W: Weight matrix of shape (V, D) giving word vectors for all words.

    Returns a tuple of:
    - out: Array of shape (N, T, D) giving word vectors for all input words (a new array,
      not a view of W)
    - cache: Values needed for the backward pass
    """
    raise NotImplementedError("word_embedding_forward")


def word_embedding_backward(dout, cache):
    """
    Backward pass for word embeddings. We cannot back-propagate into the words since they are
    integers, so we only return the gradient for the word embedding matrix.

    dW[v] is the sum of dout[n, t] over every (n, t) with x[n, t] = v: a word that occurs k
    times receives all k gradients, and a word that does not occur gets a zero row.
    HINT: Look up the function np.add.at (dW[x] += dout keeps only one of the repeats).

    Inputs:
    - dout: Upstream gradients of shape (N, T, D)
    - cache: Values from the forward pass

    Returns:
    - dW: Gradient of word embedding matrix, of shape (V, D): the only return value, not a
      tuple
    """
    raise NotImplementedError("word_embedding_backward")


def temporal_affine_forward(x, w, b):
    """
    Forward pass for a temporal affine layer. The input is a set of D-dimensional vectors
    arranged into a minibatch of N timeseries, each of length T. We use an affine function to
    transform each of those vectors into a new vector of dimension M:
    out[n, t] = x[n, t].dot(w) + b.

    Inputs:
    - x: Input data of shape (N, T, D)
    - w: Weights of shape (D, M)
    - b: Biases of shape (M,)

    Returns a tuple of:
    - out: Output data of shape (N, T, M)
    - cache: Values needed for the backward pass
    """
    raise NotImplementedError("temporal_affine_forward")


def temporal_affine_backward(dout, cache):
    """
    Backward pass for temporal affine layer. w and b are shared by every (n, t), so their
    gradients sum over the batch and over time.

    Inputs:
    - dout: Upstream gradients of shape (N, T, M)
    - cache: Values from forward pass

    Returns a tuple of:
    - dx: Gradient of input, of shape (N, T, D)
    - dw: Gradient of weights, of shape (D, M)
    - db: Gradient of biases, of shape (M,)
    """
    raise NotImplementedError("temporal_affine_backward")


def temporal_softmax_loss(x, y, mask, verbose=False):
    """
    A temporal version of softmax loss for use in RNNs. We assume that we are making
    predictions over a vocabulary of size V for each timestep of a timeseries of length T,
    over a minibatch of size N. The input x gives scores for all vocabulary elements at all
    timesteps, and y gives the indices of the ground-truth element at each timestep. We use a
    cross-entropy loss at each timestep, summing the loss over all timesteps and averaging
    across the minibatch. The mask tells which positions count: a position where mask is
    False (a <NULL> after the caption's end) changes neither the loss nor dx, and dx is 0 there.

        log p[n, t] = x[n, t] - logsumexp(x[n, t])
        loss        = -(1/N) * sum over (n, t) of mask[n, t] * log p[n, t, y[n, t]]
        dx[n, t]    = (1/N) * mask[n, t] * (softmax(x[n, t]) - onehot(y[n, t]))

    Divide by N, not by the number of unmasked positions. Compute it stably: scores in the
    thousands must give a finite loss and dx (subtract each row's maximum, and never take the
    log of a softmax that underflowed to 0).

    Inputs:
    - x: Input scores, of shape (N, T, V)
    - y: Ground-truth indices, of shape (N, T) where each element is in the range
         0 <= y[i, t] < V (also where mask is False)
    - mask: Boolean array of shape (N, T) where mask[i, t] tells whether or not the scores at
      x[i, t] should contribute to the loss.
    - verbose: If True, you may print debugging information; it changes nothing returned

    Returns a tuple of:
    - loss: Scalar giving loss, a float
    - dx: Gradient of loss with respect to scores x, of shape (N, T, V)
    """
    raise NotImplementedError("temporal_softmax_loss")


class CaptioningRNN:
    """
    A CaptioningRNN produces captions from image features using a recurrent neural network
    (CS231n's classifiers/rnn.py).

    The RNN receives input vectors of size D, has a vocab size of V, works on sequences of
    length T, has an RNN hidden dimension of H, uses word vectors of dimension W, and operates
    on minibatches of size N. Build it from the functions above: rnn_* for cell_type 'rnn',
    lstm_* for 'lstm'. There is no regularization.
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128, cell_type="rnn",
                 dtype=np.float32):
        """
        Construct a new CaptioningRNN instance (provided: the grader replaces the values of
        self.params with its own arrays, of the same keys and shapes).

        Inputs:
        - word_to_idx: A dictionary giving the vocabulary. It contains V entries, and maps
          each string to a unique integer in the range [0, V); it holds '<NULL>', and
          '<START>' and '<END>' for sampling.
        - input_dim: Dimension D of input image feature vectors.
        - wordvec_dim: Dimension W of word vectors.
        - hidden_dim: Dimension H for the hidden state of the RNN.
        - cell_type: What type of RNN to use; either 'rnn' or 'lstm'.
        - dtype: numpy datatype to use; use float32 for training and float64 for numeric
          gradient checking.
        """
        if cell_type not in {"rnn", "lstm"}:
            raise ValueError('Invalid cell_type "%s"' % cell_type)
        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self.params = {}

        vocab_size = len(word_to_idx)
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)

        # Initialize word vectors, of shape (V, W)
        self.params["W_embed"] = np.random.randn(vocab_size, wordvec_dim) / 100

        # Initialize CNN -> hidden state projection parameters, of shapes (D, H) and (H,)
        self.params["W_proj"] = np.random.randn(input_dim, hidden_dim) / np.sqrt(input_dim)
        self.params["b_proj"] = np.zeros(hidden_dim)

        # Initialize parameters for the RNN, of shapes (W, kH), (H, kH), (kH,): k = 4 for the LSTM
        dim_mul = {"lstm": 4, "rnn": 1}[cell_type]
        self.params["Wx"] = np.random.randn(wordvec_dim, dim_mul * hidden_dim) / np.sqrt(wordvec_dim)
        self.params["Wh"] = np.random.randn(hidden_dim, dim_mul * hidden_dim) / np.sqrt(hidden_dim)
        self.params["b"] = np.zeros(dim_mul * hidden_dim)

        # Initialize output to vocab weights, of shapes (H, V) and (V,)
        self.params["W_vocab"] = np.random.randn(hidden_dim, vocab_size) / np.sqrt(hidden_dim)
        self.params["b_vocab"] = np.zeros(vocab_size)

        # Cast parameters to correct dtype
        for k, v in self.params.items():
            self.params[k] = v.astype(self.dtype)

    def loss(self, features, captions):
        """
        Compute training-time loss for the RNN. We input image features and ground-truth
        captions for those images, and use an RNN (or LSTM) to compute loss and gradients on
        all parameters.

        The model reads captions_in = captions[:, :-1] and predicts
        captions_out = captions[:, 1:] (word t+1 from the words up to t); positions where
        captions_out is <NULL> are masked out. The forward pass:
        (1) h0 = features.dot(W_proj) + b_proj, of shape (N, H)
        (2) word_embedding_forward: captions_in to word vectors, of shape (N, T, W)
        (3) rnn_forward or lstm_forward from h0 (the LSTM from c0 = 0), of shape (N, T, H)
        (4) temporal_affine_forward with W_vocab, b_vocab: scores of shape (N, T, V)
        (5) temporal_softmax_loss(scores, captions_out, mask)
        then the backward pass through the same layers, in reverse.

        Inputs:
        - features: Input image features, of shape (N, D)
        - captions: Ground-truth captions; an integer array of shape (N, T + 1) where each
          element is in the range 0 <= y[i, t] < V

        Returns a tuple of:
        - loss: Scalar loss, a float
        - grads: Dictionary of gradients parallel to self.params: the same eight keys, each
          of the shape of its parameter
        """
        raise NotImplementedError("CaptioningRNN.loss")

    def sample(self, features, max_length=30):
        """
        Run a test-time forward pass for the model, sampling captions for input feature
        vectors.

        At each timestep, we embed the current word, pass it and the previous hidden state to
        the RNN (or LSTM) step to get the next hidden state, use the hidden state to get
        scores for all vocab words, and choose the word with the highest score as the next
        word. The initial hidden state is features.dot(W_proj) + b_proj (the LSTM's initial
        cell state is zero), and the initial word is the <START> token. You may stop a
        caption once it has sampled <END>, leaving <NULL> after it, or sample all max_length
        words: both are correct.

        Inputs:
        - features: Array of input image features of shape (N, D).
        - max_length: Maximum length T of generated captions.

        Returns:
        - captions: Array of shape (N, max_length) giving sampled captions, where each
          element is an integer in the range [0, V). captions[:, 0] is the first sampled
          word, not <START>. Start from an int32 array filled with <NULL>.
        """
        raise NotImplementedError("CaptioningRNN.sample")
