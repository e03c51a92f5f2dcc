"""Reaching the network: at import and on the first call of rnn_step_forward, the submission opens a
TCP connection to a loopback port the test itself listens on (@TCP_PORT@, on 127.0.0.1) and sends its
token, sends the token in a UDP datagram to another port the test listens on (@UDP_PORT@), and tries
the same TCP port on ::1 and through the name "localhost".

Nothing may arrive at the test's listeners (test_hostile checks both, after every case): the worker
has its own network namespace, whose loopback is down, and seccomp refuses it any socket (Landlock
refuses TCP connect on top). If a message goes out, rnn_step_forward returns a wrong next_h. The
first call prints each attempt ("NETWORK what: outcome"). Otherwise the functions are correct: full
marks.
"""

import socket

import numpy as np

EXPECTED_SCORES = {"tiny_step_forward": 2, "tiny_step_backward": 3, "tiny_clip_grad_norm": 4, "tiny_size_one": 1}
EXPECTED_OUTPUTS = {"tiny_step_forward": "NETWORK tcp 127.0.0.1:@TCP_PORT@:"}
CONFINED_BY = ("namespaces", "seccomp")

TOKEN = b"HOSTILE-@HOSTILE_TOKEN@"
TCP_PORT, UDP_PORT = int("@TCP_PORT@"), int("@UDP_PORT@")
LOG: list[str] = []


def tcp(host: str) -> None:
    with socket.create_connection((host, TCP_PORT), timeout=2) as connection:
        connection.sendall(TOKEN)


def udp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
        datagram.sendto(TOKEN, ("127.0.0.1", UDP_PORT))


def reach_out() -> bool:
    """True if any message left the worker."""
    sent = False
    for label, attempt in ((f"tcp 127.0.0.1:{TCP_PORT}", lambda: tcp("127.0.0.1")),
                           (f"tcp [::1]:{TCP_PORT}", lambda: tcp("::1")),
                           (f"tcp localhost:{TCP_PORT}", lambda: tcp("localhost")),
                           (f"udp 127.0.0.1:{UDP_PORT}", udp)):
        try:
            attempt()
            LOG.append(f"NETWORK {label}: sent")
            sent = True
        except OSError as error:
            LOG.append(f"NETWORK {label}: {type(error).__name__}")
    return sent


SENT = reach_out()


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    global SENT
    if LOG:
        SENT = reach_out() or SENT
        print("\n".join(LOG))
        LOG.clear()
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return (next_h + 1.0 if SENT else next_h), (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def clip_grad_norm(grads, max_norm):
    total_norm = float(np.sqrt(np.sum([np.sum(g * g) for g in grads.values()])))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm
